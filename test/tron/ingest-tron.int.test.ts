import { blockScopedId, ChainFollower, KafkaIngestStore } from "@chainscreen/ingest";
import type { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { readBack, testBus, uniqueName } from "@chainscreen/testing";
import { TronBlockSource, TronHttpClient } from "@chainscreen/tron";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { interruptedBackfill, tick } from "../lib/ingest.js";
import { account, FIXTURE_BLOCK, TronTestChain } from "./chain.js";
import { startTronTestServer, type TronTestServer } from "./server.js";

// Restart mid-range against the Tron test server and the real Kafka broker: whatever point the
// process dies at, the transfer topic holds every transfer of every solidified block exactly once.

const USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";
const FIRST = FIXTURE_BLOCK - 10;
const SOLID = FIXTURE_BLOCK + 15;
const FIXTURE_ID =
  "tron:e122cba603b48ee234807f91859a04dbc4728f1b215d5c9c05385733bca674bc:token:0@0000000004b3532c";

function buildChain(): TronTestChain {
  const chain = new TronTestChain();
  const [a, b, c, pool] = ["alice", "bob", "carol", "pool"].map(account) as [
    string,
    string,
    string,
    string,
  ];
  const txs = (i: number) => [
    { kind: "trx" as const, from: a, to: b, amount: 1_000 + i },
    { kind: "trc20" as const, from: b, token: USDT_HEX, to: c, amount: BigInt(2_000 + i) },
    { kind: "trc20" as const, from: b, token: USDT_HEX, to: a, amount: 1n, failed: true },
    {
      kind: "call" as const,
      from: c,
      contract: pool,
      callValue: 10,
      internal: [{ from: pool, to: a, value: 3 + i }],
    },
  ];
  for (let n = FIRST; n < FIXTURE_BLOCK - 1; n++) chain.add(txs(n), { number: n });
  chain.add(txs(FIXTURE_BLOCK - 1), {
    hash: "0000000004b3532bbf50c7ec18ad8985176f507a15c48d2a583bc8e5130c9e67",
  });
  chain.addFixture();
  for (let n = FIXTURE_BLOCK + 1; n <= SOLID + 5; n++) chain.add(n % 3 === 0 ? [] : txs(n));
  chain.solidify(SOLID);
  return chain;
}

/** What must land on the topic: every transfer of FIRST..to, block-scoped ids. */
async function expected(source: TronBlockSource, to: number): Promise<Map<string, TransferV1>> {
  const out = new Map<string, TransferV1>();
  for (const b of await source.blocks(FIRST, to)) {
    for (const t of b.transfers) out.set(blockScopedId(t.id, b.ref.hash), t);
  }
  return out;
}

describe("Tron ingestion through Kafka, restarted mid-range", () => {
  let server: TronTestServer;
  let bus: KafkaBus;
  beforeAll(async () => {
    server = await startTronTestServer({ chain: buildChain(), apiKey: "int-key" });
    bus = testBus(inject("kafkaBrokers"));
  });
  afterAll(async () => {
    await bus?.close();
    await server?.close();
  });
  const source = () =>
    new TronBlockSource({
      client: new TronHttpClient({ urls: [server.url], apiKey: "int-key", baseDelayMs: 1 }),
    });

  it("the live follower resumes from its checkpoint with no gap and no duplicate", async () => {
    const topics = { transfers: uniqueName("tron_transfers"), blocks: uniqueName("tron_blocks") };
    const transactionalId = uniqueName("ingest-tron");
    const mk = (store: KafkaIngestStore) =>
      new ChainFollower({
        source: source(),
        store,
        log: silentLogger(),
        confirmations: 0,
        useSafeHead: true,
        startBlock: FIRST,
        batchSize: 4,
      });
    // First process: three batches (one with malformed and rate-limited answers), then it dies
    // without closing anything.
    const store1 = new KafkaIngestStore({ bus, log: silentLogger(), topics, transactionalId });
    const f1 = mk(store1);
    await tick(f1);
    server.fault({ path: "gettransactioninfobyblocknum", kind: "truncated", times: 1 });
    server.fault({ path: "getblockbynum", kind: "429", times: 2 });
    await tick(f1);
    await tick(f1);
    expect(f1.tip?.number).toBe(FIRST + 11);

    // Second process: same transactional id fences the first; restores the window from Kafka.
    const store2 = new KafkaIngestStore({ bus, log: silentLogger(), topics, transactionalId });
    const f2 = mk(store2);
    for (let i = 0; i < 20 && (f2.tip?.number ?? 0) < SOLID; i++) await tick(f2);
    expect(f2.tip?.number).toBe(SOLID);
    await store2.close();

    const want = await expected(source(), SOLID);
    const { msgs, total } = await readBack(bus, topics.transfers, want.size);
    const ids = msgs.map((m) => m.key as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(total).toBe(want.size);
    expect(new Set(ids)).toEqual(new Set(want.keys()));
    const fx = msgs.find((m) => m.key === FIXTURE_ID)?.value as TransferV1 | undefined;
    expect(fx).toMatchObject({
      from: "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
      to: "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx",
      amount: "30401259",
      blockNumber: FIXTURE_BLOCK,
      timestamp: 1767246213000,
      status: "confirmed",
    });
  });

  it("early events: a tip block replaced before solidification is retracted on the topic", async () => {
    const chain = new TronTestChain("early");
    const [a, b] = ["x", "y"].map(account) as [string, string];
    chain.add([{ kind: "trx", from: a, to: b, amount: 100 }], { number: 5000 });
    chain.add([{ kind: "trx", from: a, to: b, amount: 101 }]);
    chain.add([{ kind: "trx", from: a, to: b, amount: 102 }]);
    chain.solidify(5001);
    const srv = await startTronTestServer({ chain });
    const topics = { transfers: uniqueName("tron_early"), blocks: uniqueName("tron_early_blocks") };
    const store = new KafkaIngestStore({
      bus,
      log: silentLogger(),
      topics,
      transactionalId: uniqueName("early"),
    });
    try {
      const follower = new ChainFollower({
        source: new TronBlockSource({
          client: new TronHttpClient({ urls: [srv.url], baseDelayMs: 1 }),
          finality: "head",
        }),
        store,
        log: silentLogger(),
        confirmations: 0,
        useSafeHead: true,
        emitPending: true,
        startBlock: 5000,
      });
      await tick(follower);
      chain.reorg(5002);
      chain.add([{ kind: "trx", from: a, to: b, amount: 202 }], { tag: "fork" });
      chain.solidify(5002);
      for (let i = 0; i < 4; i++) await tick(follower);
      const { msgs, total } = await readBack(bus, topics.transfers, 5);
      expect(total).toBe(5);
      const seen = msgs
        .map((m) => m.value as TransferV1)
        .map((t) => `${t.amount}:${t.status}`)
        .sort();
      expect(seen).toEqual(
        ["100:confirmed", "101:confirmed", "102:pending", "102:retracted", "202:confirmed"].sort(),
      );
    } finally {
      await store.close();
      await srv.close();
    }
  });

  it("a backfill aborted after its first batch resumes with no gap and no duplicate", async () => {
    const topics = {
      transfers: uniqueName("tron_bf_transfers"),
      progress: uniqueName("tron_bf_progress"),
    };
    const to = FIXTURE_BLOCK + 10;
    const { first, resume, second } = await interruptedBackfill(
      () => ({ source: source(), bus, log: silentLogger(), from: FIRST, to, batchSize: 5, topics }),
      { first: { concurrency: 1 } },
    );
    // The resume point must include the batch committed just before: a restart right after a
    // commit may not lose it (if this fails with `from`, the progress read missed the last
    // committed transaction — its commit markers were not yet written when the end offset was
    // read — and the batch would be emitted twice).
    expect(first.done).toBeLessThan(first.total);
    expect(resume).toBe(FIRST + first.done);
    expect(second.done).toBe(second.total);

    const want = await expected(source(), to);
    const { msgs, total } = await readBack(bus, topics.transfers, want.size);
    expect(total).toBe(want.size);
    expect(new Set(msgs.map((m) => m.key))).toEqual(new Set(want.keys()));
    expect(msgs.some((m) => m.key === FIXTURE_ID)).toBe(true);
  });
});
