import { FlagV1 } from "@chainscreen/schema";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeEntry, makeTransfer, structuringSeries } from "./build.js";
import { MemoryEntryIndex } from "./entries.js";
import { LocalTagger } from "./local.js";
import { parseRules } from "./rules.js";
import type { ScreenContext } from "./screen.js";
import { Suppressions } from "./suppressions.js";

const A = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; // listed
const B = "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C = "0xcccccccccccccccccccccccccccccccccccccccc";
const D = "0xdddddddddddddddddddddddddddddddddddddddd";
const E = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const X = "0x5555555555555555555555555555555555555555"; // exchange
const T0 = Date.UTC(2024, 9, 1);
const MIN = 60_000;

function ctx(rules: object = {}): ScreenContext {
  const index = new MemoryEntryIndex();
  index.upsert(makeEntry("evm", A, { entityName: "LAZARUS GROUP", programmes: ["DPRK3"] }));
  index.upsert(
    makeEntry("evm", X, { listId: "services", category: "exchange", entityName: "Exchange X" }),
  );
  return {
    index,
    rules: parseRules({
      prices: { usd: { ETH: 2000 } },
      p2p: { enabled: false },
      structuring: { enabled: false },
      ...rules,
    }),
    suppressions: new Suppressions(),
    exposurePartitions: 4,
    now: () => 42,
  };
}

/** A → B → C → D → E, one minute apart. */
const chain = [
  makeTransfer({ txHash: "0x01", from: A, to: B, timestamp: T0 }),
  makeTransfer({ txHash: "0x02", from: B, to: C, timestamp: T0 + MIN }),
  makeTransfer({ txHash: "0x03", from: C, to: D, timestamp: T0 + 2 * MIN }),
  makeTransfer({ txHash: "0x04", from: D, to: E, timestamp: T0 + 3 * MIN }),
];

function summary(flags: FlagV1[]) {
  return flags
    .map((f) => `${f.transfer.txHash}:${f.rule.kind}:${f.hops}:${f.sides.join("+")}`)
    .sort();
}

describe("indirect exposure (2-hop limit)", () => {
  it("flags B's and C's outgoing transfers at hops 1 and 2, not D's", () => {
    const t = new LocalTagger(ctx());
    const flags = t.run(chain);
    expect(summary(flags)).toEqual([
      "0x01:direct:0:from",
      "0x02:indirect:1:from",
      "0x03:indirect:2:from",
    ]);
    const c = flags.find((f) => f.transfer.txHash === "0x03");
    if (!c) throw new Error("missing");
    FlagV1.parse(c);
    expect(c.path.map((p) => [p.address, p.hop])).toEqual([
      [A, 0],
      [B, 1],
      [C, 2],
    ]);
    expect(c.path[2]?.viaTransferId).toBe(chain[1]?.id);
    expect(c.entries[0]?.entityName).toBe("LAZARUS GROUP");
    expect(c.weight).toBe(0.25);
    expect(c.severity).toBe("low");
    expect(flags.find((f) => f.transfer.txHash === "0x02")?.severity).toBe("medium");
  });

  it("gives the same flag set (by id) whatever order the records and transfers arrive in", () => {
    const reference = new Set(new LocalTagger(ctx()).run(chain).map((f) => f.id));
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 32, maxLength: 32 }),
        fc.boolean(),
        (picks, reverse) => {
          let i = 0;
          const t = new LocalTagger(ctx(), (n) => (picks[i++ % picks.length] ?? 0) % n);
          const transfers = reverse ? [...chain].reverse() : chain;
          // Screen one by one with drains in between so records interleave with later transfers.
          for (const tr of transfers) {
            t.screen([tr]);
            if ((picks[i] ?? 0) % 2 === 0) t.drain();
          }
          t.drain();
          expect(new Set(t.active().map((f) => f.id))).toEqual(reference);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reaches the same flags in any order on a 3,000-transfer random graph (no memory bound hit)", () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const listed = Array.from(
      { length: 10 },
      (_, i) => `0x${(0xa000 + i).toString(16).padStart(40, "0")}`,
    );
    const pool = Array.from(
      { length: 300 },
      (_, i) => `0x${(0x1000 + i).toString(16).padStart(40, "0")}`,
    );
    const transfers = Array.from({ length: 3_000 }, (_, i) =>
      makeTransfer({
        txHash: `0x${i.toString(16)}`,
        from: rnd(20) === 0 ? (listed[rnd(10)] ?? "") : (pool[rnd(300)] ?? ""),
        to: pool[rnd(300)] ?? "",
        timestamp: T0 + i * 1_000,
      }),
    );
    const run = (pick: ((n: number) => number) | undefined, reverse: boolean) => {
      const c = ctx({
        indirect: { maxSourcesPerAddress: 1_000_000, maxOutflowsPerAddress: 1_000_000 },
      });
      for (const a of listed) (c.index as MemoryEntryIndex).upsert(makeEntry("evm", a));
      const t = new LocalTagger(c, pick);
      for (const tr of reverse ? [...transfers].reverse() : transfers) t.screen([tr]);
      t.drain();
      const s = t.engine.stats();
      expect(s.cappedExposures + s.droppedOutflows + s.evictedAddresses).toBe(0);
      return new Set(t.active().map((f) => `${f.id}:${f.hops}`));
    };
    let r = 7;
    const reference = run(undefined, false);
    expect(reference.size).toBeGreaterThan(5_000);
    expect(
      run((n) => {
        r = (r * 1103515245 + 12345) & 0x7fffffff;
        return r % n;
      }, true),
    ).toEqual(reference);
  });

  it("stops at a service address", () => {
    const t = new LocalTagger(ctx());
    const flags = t.run([
      makeTransfer({ txHash: "0x11", from: A, to: X, timestamp: T0 }),
      makeTransfer({ txHash: "0x12", from: X, to: C, timestamp: T0 + MIN }),
      makeTransfer({ txHash: "0x13", from: C, to: D, timestamp: T0 + 2 * MIN }),
    ]);
    expect(summary(flags)).toEqual(["0x11:direct:0:from"]);
  });

  it("only flags outflows after the funds arrived and within the window", () => {
    const t = new LocalTagger(ctx({ indirect: { windowMs: 10 * MIN } }));
    const flags = t.run([
      makeTransfer({ txHash: "0x21", from: B, to: C, timestamp: T0 - MIN }), // before exposure
      makeTransfer({ txHash: "0x22", from: A, to: B, timestamp: T0 }),
      makeTransfer({ txHash: "0x23", from: B, to: D, timestamp: T0 + 20 * MIN }), // after window
      makeTransfer({ txHash: "0x24", from: B, to: E, timestamp: T0 + 5 * MIN }),
    ]);
    expect(summary(flags)).toEqual(["0x22:direct:0:from", "0x24:indirect:1:from"]);
  });

  it("ignores transfers below the minimum amount and exposure below the minimum weight", () => {
    const small = new LocalTagger(ctx({ indirect: { minValueUsd: 1_000 } }));
    const f1 = small.run([
      makeTransfer({ txHash: "0x31", from: A, to: B, amount: "100000000000000000", timestamp: T0 }), // 200 USD
      makeTransfer({ txHash: "0x32", from: B, to: C, timestamp: T0 + MIN }),
    ]);
    expect(summary(f1)).toEqual(["0x31:direct:0:from"]);
    const weak = new LocalTagger(ctx({ indirect: { decay: 0.5, minWeight: 0.3 } }));
    expect(summary(weak.run(chain))).toEqual(["0x01:direct:0:from", "0x02:indirect:1:from"]);
  });

  it("honours a larger hop limit", () => {
    const t = new LocalTagger(ctx({ indirect: { maxHops: 3 } }));
    expect(summary(t.run(chain))).toContain("0x04:indirect:3:from");
  });

  it("retracts the whole downstream chain when the first hop is retracted (reorg)", () => {
    const t = new LocalTagger(ctx());
    t.run(chain);
    const first = chain[0];
    if (!first) throw new Error("missing");
    t.run([{ ...first, status: "retracted" }]);
    expect(t.active()).toEqual([]);
    // Every formerly active id now has a retracted version.
    expect([...t.flags.values()].every((f) => f.status === "retracted")).toBe(true);
  });

  it("an outflow retracted before its sender became exposed is never flagged", () => {
    const t = new LocalTagger(ctx());
    const [ab, bc] = chain;
    if (!ab || !bc) throw new Error("missing");
    // B → C arrives first and waits (B has no exposure yet), then a reorg retracts it.
    t.run([bc, { ...bc, status: "retracted" }, ab]);
    expect(summary(t.active())).toEqual(["0x01:direct:0:from"]);
    // Without the retraction the late fact still finds the waiting outflow.
    expect(summary(new LocalTagger(ctx()).run([bc, ab]))).toEqual([
      "0x01:direct:0:from",
      "0x02:indirect:1:from",
    ]);
  });

  it("honours suppressions on indirect flags", () => {
    const c = ctx();
    c.suppressions.replace([{ family: "evm", a: B, b: C }]);
    const flags = new LocalTagger(c).run(chain);
    expect(summary(flags)).toEqual(["0x01:direct:0:from"]);
  });

  it("keeps memory bounded and reports it", () => {
    const t = new LocalTagger(ctx({ indirect: { maxAddresses: 100 } }));
    const transfers = [];
    for (let i = 0; i < 1_000; i++) {
      const to = `0x${(i + 1).toString(16).padStart(40, "0")}`;
      transfers.push(
        makeTransfer({ txHash: `0x${i.toString(16)}`, from: A, to, timestamp: T0 + i }),
      );
    }
    t.run(transfers);
    const s = t.engine.stats();
    expect(s.addresses).toBeLessThanOrEqual(100);
    // The 1,000 exposed receivers; A's own outflows wait in the ring (A has no exposure).
    expect(s.addresses + s.evictedAddresses).toBe(1_000);
    expect(s.addresses).toBe(100);
    expect(s.outflows).toBe(1_000);
    expect(s.approxBytes).toBeGreaterThan(0);
  });

  it("bounds held outflows in total, dropping the least recently used addresses' first", () => {
    const t = new LocalTagger(ctx({ indirect: { maxHeldOutflows: 500 } }));
    const transfers = [];
    for (let i = 0; i < 2_000; i++) {
      const from = `0x${((i % 700) + 1).toString(16).padStart(40, "0")}`;
      transfers.push(
        makeTransfer({ txHash: `0x${i.toString(16)}`, from, to: B, timestamp: T0 + i }),
      );
    }
    t.run(transfers);
    const s = t.engine.stats();
    expect(s.outflows).toBeLessThanOrEqual(500);
    expect(s.outflows + s.droppedOutflows).toBe(2_000);
  });
});

describe("structuring", () => {
  it("flags the third just-under-threshold transfer from one address within the window", () => {
    const t = new LocalTagger(
      ctx({
        indirect: { enabled: false },
        structuring: {
          enabled: true,
          thresholdUsd: 10_000,
          marginPct: 10,
          minCount: 3,
          windowMs: 3_600_000,
        },
      }),
    );
    const flags = t.run(structuringSeries(B, T0));
    expect(summary(flags)).toEqual(["0x54:structuring:null:from"]);
    expect(flags[0]?.evidence).toHaveLength(3);
    expect(flags[0]?.severity).toBe("high");
  });

  it("gives the same flag whatever order the outflows arrive in (all 120 orders)", () => {
    const rules = {
      indirect: { enabled: false },
      structuring: { thresholdUsd: 10_000, marginPct: 10, minCount: 3, windowMs: 3_600_000 },
    };
    const transfers = structuringSeries(B, T0);
    const orders = (xs: number[]): number[][] =>
      xs.length <= 1
        ? [xs]
        : xs.flatMap((x, i) =>
            orders([...xs.slice(0, i), ...xs.slice(i + 1)]).map((r) => [x, ...r]),
          );
    const seen = new Set<string>();
    for (const order of orders([0, 1, 2, 3, 4])) {
      const t = new LocalTagger(ctx(rules));
      const flags = t.run(order.map((i) => transfers[i] as (typeof transfers)[number]));
      seen.add(JSON.stringify(summary(flags)));
      expect(flags[0]?.evidence).toHaveLength(3);
    }
    expect([...seen]).toEqual([JSON.stringify(["0x54:structuring:null:from"])]);
  });
});
