import { AlertV1, FlagV1 } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import { LISTED, makeFlag } from "../../../test/alerts/fixtures.js";
import { alertId, buildAlert, SubscriptionIndex } from "./match.js";
import { MemoryAlertsStore } from "./store.js";
import { createSubscription, type SubscriptionInput } from "./subscriptions.js";
import type { Subscription } from "./types.js";

const CUSTOMER = "0x00000000000000000000000000000000000000aa";

async function subs(...inputs: [string, SubscriptionInput][]): Promise<Subscription[]> {
  const store = new MemoryAlertsStore();
  for (const [tenant, input] of inputs) await createSubscription({ store }, tenant, input);
  return store.loadSubscriptions();
}

describe("subscription matching", () => {
  it("the fixture flag is a valid flag.v1", () => {
    expect(FlagV1.safeParse(makeFlag()).success).toBe(true);
  });

  it("matches watched addresses case-insensitively (EVM) on either side of the transfer", async () => {
    const all = await subs(
      [
        "bank-a",
        {
          url: "https://a.example/h",
          filters: { addresses: [CUSTOMER.toUpperCase().replace("0X", "0x")] },
        },
      ],
      [
        "bank-b",
        {
          url: "https://b.example/h",
          filters: { addresses: ["0x00000000000000000000000000000000000000bb"] },
        },
      ],
    );
    const idx = new SubscriptionIndex(all);
    const m = idx.match(makeFlag());
    expect(m.map((x) => x.subscription.tenantId)).toEqual(["bank-a"]);
    expect(m[0]?.matchedAddresses).toEqual([CUSTOMER]);
    // As sender too.
    expect(
      idx.match(makeFlag({ from: CUSTOMER, to: LISTED })).map((x) => x.subscription.tenantId),
    ).toEqual(["bank-a"]);
  });

  it("applies chain, severity, exposure, retro, list and programme filters", async () => {
    const base = { addresses: [CUSTOMER] };
    const all = await subs(
      ["chains", { url: "https://x.example", filters: { ...base, chains: ["tron"] } }],
      ["high", { url: "https://x.example", filters: { ...base, minSeverity: "high" } }],
      ["direct", { url: "https://x.example", filters: { ...base, exposure: ["direct"] } }],
      ["noretro", { url: "https://x.example", filters: { ...base, includeRetro: false } }],
      ["custom", { url: "https://x.example", filters: { ...base, lists: ["custom-1"] } }],
      ["dprk", { url: "https://x.example", filters: { ...base, programmes: ["DPRK3"] } }],
      ["everything", { url: "https://x.example" }],
    );
    const idx = new SubscriptionIndex(all);
    const tenants = (f: FlagV1) =>
      idx
        .match(f)
        .map((m) => m.subscription.tenantId)
        .sort();
    expect(tenants(makeFlag())).toEqual(["direct", "everything", "high", "noretro"]);
    expect(tenants(makeFlag({ severity: "medium" }))).toEqual(["direct", "everything", "noretro"]);
    expect(tenants(makeFlag({ exposure: "indirect" }))).toEqual(["everything", "high", "noretro"]);
    expect(tenants(makeFlag({ retro: true }))).toEqual(["direct", "everything", "high"]);
    expect(tenants(makeFlag({ chain: "tron" }))).toContain("chains");
    expect(tenants(makeFlag({ listId: "custom-1" }))).toContain("custom");
    expect(tenants(makeFlag({ programmes: ["DPRK3"] }))).toContain("dprk");
    // Behavioural flags (no exposure) only reach subscriptions that ask for them.
    expect(tenants(makeFlag({ exposure: null }))).toEqual([]);
  });

  it("ignores inactive and deleted subscriptions", async () => {
    const all = await subs(["a", { url: "https://a.example", active: false }]);
    expect(new SubscriptionIndex(all).match(makeFlag())).toEqual([]);
    const deleted = all.map((s) => ({ ...s, active: true, deleted: true }));
    expect(new SubscriptionIndex(deleted).match(makeFlag())).toEqual([]);
  });

  it("builds a valid alert.v1 with a deterministic id per (subscription, flag, status)", async () => {
    const [s] = await subs(["a", { url: "https://a.example", filters: { addresses: [CUSTOMER] } }]);
    if (!s) throw new Error("no subscription");
    const flag = makeFlag();
    const a1 = buildAlert(flag, { subscription: s, matchedAddresses: [CUSTOMER] });
    const a2 = buildAlert(flag, { subscription: s, matchedAddresses: [CUSTOMER] });
    expect(AlertV1.parse(a1)).toEqual(a1);
    expect(a2).toEqual(a1);
    expect(a1.id).toBe(alertId(s.id, flag.id, "active"));
    expect(alertId(s.id, flag.id, "retracted")).not.toBe(a1.id);
    expect(alertId("other", flag.id, "active")).not.toBe(a1.id);
    expect(a1.tenantId).toBe("a");
  });
});
