import { FlagV1 } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import { makeEntry, makeTransfer } from "./build.js";
import { MemoryEntryIndex } from "./entries.js";
import { parseRules } from "./rules.js";
import { type ScreenContext, screenTransfer } from "./screen.js";
import { Suppressions } from "./suppressions.js";

const LISTED = "0x8589427373d6d84e98730d7795d8f6f8731fda16"; // Tornado Cash (OFAC ETH list)
const ALICE = "0x1111111111111111111111111111111111111111";
const BOB = "0x2222222222222222222222222222222222222222";
const EXCHANGE = "0x3333333333333333333333333333333333333333";
const T0 = Date.UTC(2024, 9, 1);

function ctx(
  over: Partial<ScreenContext> = {},
  rules: unknown = {},
): ScreenContext & { index: MemoryEntryIndex } {
  const index = new MemoryEntryIndex();
  index.upsert(
    makeEntry("evm", LISTED, { entityName: "TORNADO CASH", listedFrom: Date.UTC(2022, 7, 8) }),
  );
  index.upsert(
    makeEntry("evm", EXCHANGE, {
      listId: "custom-services",
      category: "exchange",
      entityName: "Binance",
    }),
  );
  return {
    rules: parseRules({ prices: { usd: { ETH: 2000 } }, ...(rules as object) }),
    suppressions: new Suppressions(),
    exposurePartitions: 4,
    now: () => 1,
    ...over,
    index,
  };
}

describe("screenTransfer — direct exposure", () => {
  it("flags the receiver side with every matching entry and validates as flag.v1", () => {
    const c = ctx();
    const r = screenTransfer(
      makeTransfer({ txHash: "0xa", from: ALICE, to: LISTED, timestamp: T0 }),
      c,
    );
    const direct = r.flags.filter((f) => f.rule.kind === "direct");
    expect(direct).toHaveLength(1);
    const f = FlagV1.parse(direct[0]);
    expect(f.sides).toEqual(["to"]);
    expect(f.address).toBe(LISTED);
    expect(f.counterparty).toBe(ALICE);
    expect(f.exposure).toBe("direct");
    expect(f.hops).toBe(0);
    expect(f.severity).toBe("severe");
    expect(f.rule.id).toBe("direct-sanctioned");
    expect(f.entries.map((e) => e.entityName)).toEqual(["TORNADO CASH"]);
    expect(f.listedAtTransferTime).toBe(true);
    expect(f.valueUsd).toBe("2000.00");
    expect(f.retro).toBe(false);
  });

  it("flags the sender side, and seeds hop-1 exposure for the receiver", () => {
    const r = screenTransfer(
      makeTransfer({ txHash: "0xb", from: LISTED, to: BOB, timestamp: T0 }),
      ctx(),
    );
    expect(r.flags.filter((f) => f.rule.kind === "direct").map((f) => f.sides)).toEqual([["from"]]);
    const seeds = r.records.filter((x) => x.value.kind === "exposure");
    expect(seeds).toHaveLength(1);
    expect(seeds[0]?.value).toMatchObject({ address: BOB, hop: 1, weight: 0.5, since: T0 });
  });

  it("matches an EVM address on every EVM chain and in any case", () => {
    const c = ctx();
    for (const chain of ["bsc", "polygon", "arbitrum"]) {
      const r = screenTransfer(
        makeTransfer({
          chain,
          txHash: "0xc",
          from: ALICE,
          to: LISTED.toUpperCase().replace("0X", "0x"),
        }),
        c,
      );
      expect(r.flags.filter((f) => f.rule.kind === "direct")).toHaveLength(1);
    }
    // Same bytes on Tron's family do not match.
    const tron = screenTransfer(
      makeTransfer({
        chain: "tron",
        txHash: "c",
        from: ALICE,
        to: LISTED,
        symbol: "TRX",
        decimals: 6,
      }),
      c,
    );
    expect(tron.flags.filter((f) => f.rule.kind === "direct")).toHaveLength(0);
  });

  it("honours the validity interval: nothing before listing or after delisting", () => {
    const c = ctx();
    const before = screenTransfer(
      makeTransfer({ txHash: "0xd", from: ALICE, to: LISTED, timestamp: Date.UTC(2021, 0, 1) }),
      c,
    );
    expect(before.flags).toHaveLength(0);
    c.index.upsert(
      makeEntry("evm", LISTED, {
        entityName: "TORNADO CASH",
        listedFrom: Date.UTC(2022, 7, 8),
        listedUntil: Date.UTC(2025, 2, 21),
      }),
    );
    const after = screenTransfer(
      makeTransfer({ txHash: "0xe", from: ALICE, to: LISTED, timestamp: Date.UTC(2025, 3, 1) }),
      c,
    );
    expect(after.flags).toHaveLength(0);
    const during = screenTransfer(
      makeTransfer({ txHash: "0xf", from: ALICE, to: LISTED, timestamp: Date.UTC(2024, 0, 1) }),
      c,
    );
    expect(during.flags).toHaveLength(1);
  });

  it("flags a listed UTXO input address among several inputs", () => {
    const c = ctx();
    const listedBtc = "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h";
    c.index.upsert(makeEntry("bitcoin", listedBtc));
    const t = makeTransfer({
      chain: "bitcoin",
      txHash: "ab",
      from: [
        { address: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", value: "1000" },
        { address: listedBtc, value: "5000" },
        { address: null, value: "1" },
      ],
      to: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
      symbol: "BTC",
      decimals: 8,
    });
    const r = screenTransfer(t, c);
    const d = r.flags.filter((f) => f.rule.kind === "direct");
    expect(d).toHaveLength(1);
    expect(d[0]?.address).toBe(listedBtc);
    expect(d[0]?.sides).toEqual(["from"]);
    expect(d[0]?.transfer.inputs).toHaveLength(3);
  });

  it("does not flag service-tagged addresses directly nor expose them", () => {
    const r = screenTransfer(makeTransfer({ txHash: "0x10", from: LISTED, to: EXCHANGE }), ctx());
    expect(r.flags.map((f) => f.sides)).toEqual([["from"]]);
    expect(r.records.filter((x) => x.value.kind === "exposure")).toHaveLength(0);
  });

  it("treats the exchange wallet named by an exchange report as a service for that report", () => {
    const DEPOSIT = "0x4444444444444444444444444444444444444444"; // not tagged in the index
    const report = (
      kind: "exchange_deposit" | "exchange_withdrawal",
      from: string,
      to: string,
    ) => ({
      ...makeTransfer({ txHash: "0xe1", kind, from, to, timestamp: T0 }),
      exchange: {
        name: "acme",
        reference: "r-1",
        exchangeAddress: kind === "exchange_deposit" ? to : from,
      },
    });
    // Deposit from a listed address: flagged directly, but the deposit address holds no exposure.
    const dep = screenTransfer(report("exchange_deposit", LISTED, DEPOSIT), ctx());
    expect(dep.flags.map((f) => f.sides)).toEqual([["from"]]);
    expect(dep.records.filter((r) => r.value.kind === "exposure")).toHaveLength(0);
    expect(dep.records.find((r) => r.value.kind === "outflow")?.value).toMatchObject({
      address: LISTED,
      receiverIsService: true,
    });
    // Withdrawal from the exchange's wallet: no outflow of it (services hold no exposure).
    const wd = screenTransfer(report("exchange_withdrawal", DEPOSIT, BOB), ctx());
    expect(wd.records).toHaveLength(0);
    // The same movement without the report's attribution seeds hop-1 exposure as usual.
    const chain = screenTransfer(
      makeTransfer({ txHash: "0xe2", from: LISTED, to: DEPOSIT, timestamp: T0 }),
      ctx(),
    );
    expect(chain.records.filter((r) => r.value.kind === "exposure")).toHaveLength(1);
  });

  it("gives the same ids on redelivery and retracted flags with the same ids on retraction", () => {
    const c = ctx();
    const t = makeTransfer({ txHash: "0x11", from: ALICE, to: LISTED });
    const a = screenTransfer(t, c).flags;
    const b = screenTransfer(t, c).flags;
    expect(b.map((f) => f.id)).toEqual(a.map((f) => f.id));
    const r = screenTransfer({ ...t, status: "retracted" }, c).flags;
    expect(r.map((f) => f.id)).toEqual(a.map((f) => f.id));
    expect(r.every((f) => f.status === "retracted")).toBe(true);
  });

  it("keeps ids stable when the severity rules change", () => {
    const t = makeTransfer({ txHash: "0x12", from: ALICE, to: LISTED });
    const a = screenTransfer(t, ctx()).flags[0];
    const b = screenTransfer(t, ctx({}, { severity: [], defaultSeverity: "low" })).flags[0];
    expect(b?.id).toBe(a?.id);
    expect(b?.severity).toBe("low");
    expect(b?.rule.configVersion).not.toBe(a?.rule.configVersion);
  });

  it("honours address-pair suppressions", () => {
    const c = ctx({ suppressions: new Suppressions([{ family: "evm", a: LISTED, b: ALICE }]) });
    expect(
      screenTransfer(makeTransfer({ txHash: "0x13", from: ALICE, to: LISTED }), c).flags,
    ).toHaveLength(0);
    expect(
      screenTransfer(makeTransfer({ txHash: "0x14", from: BOB, to: LISTED }), c).flags,
    ).toHaveLength(1);
  });
});

describe("screenTransfer — peer-to-peer", () => {
  it("flags large transfers between non-service addresses only", () => {
    const c = ctx({}, { p2p: { minValueUsd: 50_000 } });
    const big = "30000000000000000000"; // 30 ETH = 60,000 USD
    const r = screenTransfer(
      makeTransfer({ txHash: "0x20", from: ALICE, to: BOB, amount: big }),
      c,
    );
    expect(r.flags.map((f) => f.rule.kind)).toEqual(["p2p"]);
    expect(r.flags[0]?.valueUsd).toBe("60000.00");
    expect(
      screenTransfer(makeTransfer({ txHash: "0x21", from: ALICE, to: EXCHANGE, amount: big }), c)
        .flags,
    ).toHaveLength(0);
    expect(
      screenTransfer(makeTransfer({ txHash: "0x22", from: ALICE, to: BOB, amount: "1" }), c).flags,
    ).toHaveLength(0);
  });

  it("values stablecoins 1:1 and skips unpriced assets", () => {
    const c = ctx({}, { p2p: { minValueUsd: 50_000 } });
    const usdt = makeTransfer({
      txHash: "0x23",
      from: ALICE,
      to: BOB,
      symbol: "USDT",
      contract: "0xdac17f958d2ee523a2206206994597c13d831ec7",
      decimals: 6,
      amount: "60000000000",
    });
    expect(screenTransfer(usdt, c).flags[0]?.valueUsd).toBe("60000.00");
    const junk = makeTransfer({
      txHash: "0x24",
      from: ALICE,
      to: BOB,
      symbol: "JUNK",
      contract: "0x99",
      decimals: 18,
      amount: "10".repeat(20),
    });
    expect(screenTransfer(junk, c).flags).toHaveLength(0);
  });
});
