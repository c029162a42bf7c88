import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DeadLetterV1, TransferV1 } from "@chainscreen/schema";
import { FlagV1 } from "@chainscreen/schema";
import { makeTransfer, structuringSeries } from "@chainscreen/tagger";
import { collectTopic, fixturesDir } from "@chainscreen/testing";
import { describe, expect, inject, it } from "vitest";
import {
  active,
  CHAIN_OF,
  freshTopics,
  LISTS_DATE,
  loadOfacFixture,
  publishTransfers,
  publishWatchlist,
  readAllFlags,
  readFlags,
  startTagger,
  summarize,
  waitIdle,
  watchlistMessage,
} from "./harness.js";

const T0 = Date.UTC(2024, 9, 1);
const MIN = 60_000;

/** Real transactions of the clean Dencun block 19537146 as native transfers. */
function dencunTransfers(): TransferV1[] {
  const csv = readFileSync(
    join(
      fixturesDir,
      "ethereum",
      "ethereum-etl",
      "test_export_blocks_job",
      "blocks_with_dencun_transactions",
      "expected_transactions.csv",
    ),
    "utf8",
  );
  const [header, ...rows] = csv.trim().split("\n");
  const cols = (header ?? "").split(",");
  const at = (name: string) => cols.indexOf(name);
  return rows.map((r) => {
    const c = r.split(",");
    return makeTransfer({
      txHash: c[at("hash")] ?? "",
      from: c[at("from_address")] ?? null,
      to: c[at("to_address")] || null,
      amount: c[at("value")] ?? "0",
      timestamp: Number(c[at("block_timestamp")]) * 1000,
    });
  });
}

describe("tagger through the real broker", () => {
  it("flags exactly the listed counterparties of the 2024-09-27 OFAC lists, nothing in a clean block, and dead-letters malformed input", async () => {
    const brokers = inject("kafkaBrokers");
    const { bus, topics } = await freshTopics(brokers);
    const listed = loadOfacFixture();
    await publishWatchlist(
      bus,
      topics.watchlist,
      listed.map((l) => watchlistMessage(l.family, l.address, { code: l.codes[0] ?? null })),
    );
    const tagger = await startTagger(brokers, topics, {
      groupId: `${topics.transfers}.tagger`,
      rules: { p2p: { enabled: false } },
    });
    expect(tagger.runner.index.size).toBe(listed.length);

    // Every listed address receives once from a clean address (EVM in checksum-less upper case).
    const toListed = listed.map((l, i) =>
      makeTransfer({
        chain: CHAIN_OF[l.family] ?? l.family,
        txHash: `ofac-${i}`,
        from:
          l.family === "evm" ? "0x000000000000000000000000000000000000dead" : `clean-sender-${i}`,
        to: l.address,
        symbol: null,
        decimals: null,
        timestamp: T0,
      }),
    );
    const clean = dencunTransfers();
    expect(clean).toHaveLength(164);
    await publishTransfers(bus, topics.transfers, [...clean, ...toListed]);
    const p = await bus.producer();
    await p.send(topics.transfers, [
      { key: "bad-1", value: "{not json" },
      { key: "bad-2", value: { type: "transfer.v1", id: "x" } },
    ]);
    await p.disconnect();

    const flags = await readFlags(bus, topics.flags, (m) => m.size >= listed.length);
    const got = active(flags);
    expect(got).toHaveLength(listed.length);
    for (const f of got) FlagV1.parse(f);
    expect(new Set(got.map((f) => `${f.family}:${f.address}`))).toEqual(
      new Set(listed.map((l) => `${l.family}:${l.address}`)),
    );
    expect(
      got.every(
        (f) =>
          f.rule.kind === "direct" &&
          f.sides.join() === "to" &&
          f.transfer.txHash.startsWith("ofac-"),
      ),
    ).toBe(true);
    expect(
      got.every((f) => f.listedAtTransferTime && f.entries[0]?.listedFrom === LISTS_DATE),
    ).toBe(true);

    const dead = await collectTopic(bus, topics.deadLetter, {
      until: (m) => m.length >= 2,
      timeoutMs: 30_000,
    });
    expect(dead.map((d) => (d.value as DeadLetterV1).key).sort()).toEqual(["bad-1", "bad-2"]);
    expect((dead[0]?.value as DeadLetterV1 | undefined)?.sourceTopic).toBe(topics.transfers);

    await tagger.stop();
    await bus.close();
  });

  const A = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const B = "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  const C = "0xcccccccccccccccccccccccccccccccccccccccc";
  const D = "0xdddddddddddddddddddddddddddddddddddddddd";
  const E = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
  const X = "0x5555555555555555555555555555555555555555"; // exchange
  const Y = "0x6666666666666666666666666666666666666666";
  const Z = "0x7777777777777777777777777777777777777777";

  /** A → B → C → D → E (hop limit 2), and A → X(exchange) → Y → Z (stopped at X); plus noise. */
  function scenario(): TransferV1[] {
    const out = [
      makeTransfer({ txHash: "0x01", from: A, to: B, timestamp: T0 }),
      makeTransfer({ txHash: "0x02", from: B, to: C, timestamp: T0 + MIN }),
      makeTransfer({ txHash: "0x03", from: C, to: D, timestamp: T0 + 2 * MIN }),
      makeTransfer({ txHash: "0x04", from: D, to: E, timestamp: T0 + 3 * MIN }),
      makeTransfer({ txHash: "0x11", from: A, to: X, timestamp: T0 }),
      makeTransfer({ txHash: "0x12", from: X, to: Y, timestamp: T0 + MIN }),
      makeTransfer({ txHash: "0x13", from: Y, to: Z, timestamp: T0 + 2 * MIN }),
    ];
    for (let i = 0; i < 200; i++) {
      const a = `0x${(0x1000 + i).toString(16).padStart(40, "0")}`;
      const b = `0x${(0x2000 + i).toString(16).padStart(40, "0")}`;
      out.push(makeTransfer({ txHash: `0xn${i}`, from: a, to: b, timestamp: T0 + i }));
    }
    // Reverse order: downstream transfers arrive before the ones that expose their senders.
    return out.reverse();
  }
  const expected = ["0x01:direct:0", "0x02:indirect:1", "0x03:indirect:2", "0x11:direct:0"];

  /** Per instance of the last run: transfers screened and exposure facts applied. */
  let perInstance: { transfers: number; facts: number }[] = [];

  async function runScenario(instances: number): Promise<Map<string, FlagV1>> {
    const brokers = inject("kafkaBrokers");
    const { bus, topics } = await freshTopics(brokers, 4);
    await publishWatchlist(bus, topics.watchlist, [
      watchlistMessage("evm", A, { entityName: "LAZARUS GROUP", programmes: ["DPRK3"] }),
      watchlistMessage("evm", X, {
        listId: "services",
        category: "exchange",
        severity: "low",
        entityName: "Exchange X",
      }),
    ]);
    const taggers = [];
    for (let i = 0; i < instances; i++)
      taggers.push(
        await startTagger(brokers, topics, {
          groupId: `${topics.transfers}.tagger`,
          rules: { p2p: { enabled: false } },
        }),
      );
    await publishTransfers(bus, topics.transfers, scenario());
    await readFlags(bus, topics.flags, (m) => active(m).length >= expected.length);
    await waitIdle(bus, topics, `${topics.transfers}.tagger`);
    const settled = await readAllFlags(bus, topics.flags);
    perInstance = taggers.map((t) => ({
      transfers: t.runner.counters.transfers,
      facts: t.runner.counters.exposureFacts,
    }));
    for (const t of taggers) await t.stop();
    await bus.close();
    return settled;
  }

  it("2-hop scenario: B and C indirect at hops 1 and 2, not D; a service stops propagation", async () => {
    const flags = await runScenario(1);
    expect(summarize(active(flags))).toEqual(expected);
    const c = active(flags).find((f) => f.transfer.txHash === "0x03");
    expect(c?.path.map((p) => p.address)).toEqual([A, B, C]);
    expect(c?.entries[0]?.entityName).toBe("LAZARUS GROUP");
  });

  it.each([
    [100_000, 1],
    [0, 0],
  ])(
    "an outflow screened before a restart meets a later exposure fact (replay %i transfers → %i flags)",
    async (replay, flagsExpected) => {
      const brokers = inject("kafkaBrokers");
      const { bus, topics } = await freshTopics(brokers, 4);
      await publishWatchlist(bus, topics.watchlist, [watchlistMessage("evm", A)]);
      const groupId = `${topics.transfers}.tagger`;
      const rules = { p2p: { enabled: false } };
      // B pays C at T0 + 1 min; only later does the A → B transfer at T0 (which exposes B) arrive.
      const first = await startTagger(brokers, topics, { groupId, rules });
      await publishTransfers(bus, topics.transfers, [
        makeTransfer({ txHash: "0x02", from: B, to: C, timestamp: T0 + MIN }),
      ]);
      await waitIdle(bus, topics, groupId);
      await first.stop();
      // A new instance: it rebuilds the held outflow of B from the transfer topic (or not, with 0).
      const second = await startTagger(brokers, topics, {
        groupId,
        rules,
        replayTransfers: replay,
      });
      await publishTransfers(bus, topics.transfers, [
        makeTransfer({ txHash: "0x01", from: A, to: B, timestamp: T0 }),
      ]);
      await readFlags(bus, topics.flags, (m) => active(m).length >= 1);
      await waitIdle(bus, topics, groupId);
      // The follower's joins are published after the transfer stage's commit: give them a moment.
      await new Promise((r) => setTimeout(r, 1_000));
      const flags = active(await readAllFlags(bus, topics.flags));
      expect(second.runner.counters.replayedTransfers).toBe(replay > 0 ? 1 : 0);
      expect(flags.filter((f) => f.rule.kind === "direct")).toHaveLength(1);
      const indirect = flags.filter((f) => f.rule.kind === "indirect");
      expect(indirect).toHaveLength(flagsExpected);
      if (flagsExpected) expect(indirect[0]?.transfer.txHash).toBe("0x02");
      await second.stop();
      await bus.close();
    },
  );

  it("structuring across instances: in-band outflows of one sender meet at its exposure partition", async () => {
    const brokers = inject("kafkaBrokers");
    const { bus, topics } = await freshTopics(brokers, 4);
    await publishWatchlist(bus, topics.watchlist, [watchlistMessage("evm", A)]);
    const groupId = `${topics.transfers}.tagger`;
    const rules = {
      p2p: { enabled: false },
      structuring: { thresholdUsd: 10_000, marginPct: 10, minCount: 3, windowMs: 3_600_000 },
    };
    const taggers = [
      await startTagger(brokers, topics, { groupId, rules }),
      await startTagger(brokers, topics, { groupId, rules }),
    ];
    // Spread over every transfer partition (keys are transfer ids), so both instances screen some.
    const transfers = structuringSeries(B, T0);
    await publishTransfers(bus, topics.transfers, transfers);
    await readFlags(bus, topics.flags, (m) => active(m).length >= 1);
    await waitIdle(bus, topics, groupId);
    const flags = active(await readAllFlags(bus, topics.flags));
    expect(flags.map((f) => `${f.transfer.txHash}:${f.rule.kind}`)).toEqual(["0x54:structuring"]);
    expect(flags[0]?.evidence).toHaveLength(3);
    // Only the in-band outflows travelled to the structuring stage.
    const routed = taggers.reduce((n, t) => n + t.runner.counters.exposureRecords, 0);
    expect(routed).toBe(4);
    for (const t of taggers) await t.stop();
    await bus.close();
  });

  it("two instances in one group produce the same flag set as one", async () => {
    const one = await runScenario(1);
    const two = await runScenario(2);
    // The transfers were split between the instances (each screened once), and every instance
    // applied the exposure facts (each holds the outflows of its own transfers).
    expect(perInstance).toHaveLength(2);
    expect(perInstance.every((n) => n.transfers > 0 && n.facts > 0)).toBe(true);
    expect(perInstance.reduce((s, n) => s + n.transfers, 0)).toBeGreaterThanOrEqual(
      scenario().length,
    );
    expect(new Set(two.keys())).toEqual(new Set(one.keys()));
    expect(summarize(active(two))).toEqual(expected);
  });
});
