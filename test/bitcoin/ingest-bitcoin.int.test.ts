import {
  BitcoinBlockSource,
  BitcoinCoreRpc,
  EsploraClient,
  MemoryOutpointStore,
} from "@chainscreen/bitcoin";
import { blockScopedId, ChainFollower, KafkaIngestStore } from "@chainscreen/ingest";
import type { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { readBack, testBus, uniqueName } from "@chainscreen/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { interruptedBackfill, tick } from "../lib/ingest.js";
import { chain50000 } from "./chain.js";
import { type BitcoinTestServer, startBitcoinTestServer } from "./server.js";

// The Bitcoin source wired into the chain follower and the real Kafka broker, against the local
// test node serving recorded mainnet blocks 50000–50002: a reorg retracts the orphaned transfers
// and ingests the new branch; a restart mid-range leaves no gap and no duplicate.

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 5_000 };
const MOVED = [
  "7940cdde4d713e171849efc6bd89939185be270266c94e92369e3877ad89455a",
  "f84761459a00c6df3176ae5d94c99e69f25100d09548e5686bd0c354bb8cc60a",
];

describe("Bitcoin ingestion through the follower and Kafka", () => {
  let bus: KafkaBus;
  const servers: BitcoinTestServer[] = [];
  beforeAll(() => {
    bus = testBus(inject("kafkaBrokers"));
  });
  afterAll(async () => {
    await bus?.close();
    for (const s of servers) await s.close();
  });

  it("a reorg retracts the orphaned transfers and ingests the new branch, nothing duplicated", async () => {
    const server = await startBitcoinTestServer({
      chain: chain50000(),
      rpcAuth: { username: "rpc", password: "secret" },
    });
    servers.push(server);
    const topics = { transfers: uniqueName("btc_transfers"), blocks: uniqueName("btc_blocks") };
    const store = new KafkaIngestStore({
      bus,
      log: silentLogger(),
      topics,
      transactionalId: uniqueName("ingest-btc"),
    });
    const source = new BitcoinBlockSource({
      backend: new BitcoinCoreRpc([{ url: server.url, username: "rpc", password: "secret" }], fast),
    });
    const follower = new ChainFollower({
      source,
      store,
      log: silentLogger(),
      confirmations: 0,
      startBlock: 50000,
      batchSize: 2,
    });
    await tick(follower);
    await tick(follower);
    expect(follower.tip?.number).toBe(50002);
    const before = follower.remembered.map((b) => b.ref.hash);
    const originals = follower.remembered.flatMap((b) => b.transfers);
    expect(originals.length).toBe(5); // coinbases of 50000–50002 + two payments in 50001

    // Fork from 50001: both blocks replaced, the two payments re-mined in the new 50002.
    const { orphaned, fork } = server.chain.reorg(50001);
    expect(orphaned).toEqual(before.slice(1));
    const r = await tick(follower);
    expect(r.retracted).toBe(2);
    for (let i = 0; i < 5 && follower.tip?.hash !== fork[1]; i++) await tick(follower);
    expect(follower.remembered.map((b) => b.ref.hash)).toEqual([before[0], ...fork]);
    await store.close();

    const orphanedIds = originals.filter((t) => t.blockNumber !== 50000).map((t) => t.id);
    const newBranch = follower.remembered.slice(1).flatMap((b) => b.transfers);
    expect(newBranch.length).toBe(4);
    const want = originals.length + orphanedIds.length + newBranch.length;
    const { msgs, total } = await readBack(bus, topics.transfers, want);
    expect(total).toBe(want);
    const events = msgs.map((m) => m.value as TransferV1);
    // Every (id, status) pair exactly once.
    const pairs = events.map((e) => `${e.id}|${e.status}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    const last = new Map(events.map((e) => [e.id, e.status]));
    for (const id of orphanedIds) expect(last.get(id)).toBe("retracted");
    expect(last.get(originals[0]?.id as string)).toBe("confirmed");
    for (const t of newBranch) expect(last.get(t.id)).toBe("confirmed");
    // The re-mined payments keep their inputs and fees, under ids scoped to the new block.
    for (const txid of MOVED) {
      const moved = events.filter(
        (e) => e.txHash === txid && e.status === "confirmed" && e.blockHash === fork[1],
      );
      expect(moved.length).toBe(1);
      expect(moved[0]?.id).toBe(blockScopedId(`bitcoin:${txid}:utxo:0`, fork[1] as string));
      expect(moved[0]?.fee).toBe("0");
      expect(Array.isArray(moved[0]?.from) && moved[0]?.from.length).toBeGreaterThan(0);
    }
  });

  it("a follower killed mid-range resumes from its checkpoint with no gap and no duplicate", async () => {
    const server = await startBitcoinTestServer({ chain: chain50000(), coreVersion: 220000 });
    servers.push(server);
    const topics = { transfers: uniqueName("btc_transfers"), blocks: uniqueName("btc_blocks") };
    const transactionalId = uniqueName("ingest-btc");
    const mk = (store: KafkaIngestStore) =>
      new ChainFollower({
        source: new BitcoinBlockSource({
          backend: new EsploraClient([server.esploraUrl], fast),
          store: new MemoryOutpointStore(),
        }),
        store,
        log: silentLogger(),
        confirmations: 0,
        startBlock: 50000,
        batchSize: 1,
      });
    const store1 = new KafkaIngestStore({ bus, log: silentLogger(), topics, transactionalId });
    const f1 = mk(store1);
    await tick(f1);
    // A fault in the middle: the next block's raw answer is truncated once, then served.
    server.fault({ target: "/raw", kind: "truncated", times: 1 });
    await tick(f1);
    expect(f1.tip?.number).toBe(50001);
    // Dies here without closing anything; a new process with the same transactional id resumes.
    const store2 = new KafkaIngestStore({ bus, log: silentLogger(), topics, transactionalId });
    const f2 = mk(store2);
    for (let i = 0; i < 5 && (f2.tip?.number ?? 0) < 50002; i++) await tick(f2);
    expect(f2.tip?.number).toBe(50002);
    await store2.close();

    const expected = new Set<string>();
    const check = new BitcoinBlockSource({
      backend: new EsploraClient([server.esploraUrl], fast),
      store: new MemoryOutpointStore(),
    });
    for (const b of await check.blocks(50000, 50002))
      for (const t of b.transfers) expected.add(blockScopedId(t.id, b.ref.hash));
    const { msgs, total } = await readBack(bus, topics.transfers, expected.size);
    const ids = msgs.map((m) => m.key as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(total).toBe(expected.size);
    expect(new Set(ids)).toEqual(expected);
  });

  it("a backfill aborted after its first batch resumes with no gap and no duplicate", async () => {
    const server = await startBitcoinTestServer({ chain: chain50000() });
    servers.push(server);
    const topics = {
      transfers: uniqueName("btc_bf_transfers"),
      progress: uniqueName("btc_bf_progress"),
    };
    const source = () =>
      new BitcoinBlockSource({ backend: new BitcoinCoreRpc([server.url], fast) });
    const { first, resume, second } = await interruptedBackfill(
      () => ({
        source: source(),
        bus,
        log: silentLogger(),
        from: 50000,
        to: 50002,
        batchSize: 1,
        topics,
      }),
      { first: { concurrency: 1 } },
    );
    expect(first.done).toBeLessThan(first.total);
    // The first job committed its first batch (events + progress record in one transaction).
    expect(resume).toBe(50000 + first.done);
    expect(second.done).toBe(3);
    const { msgs, total } = await readBack(bus, topics.transfers, 5);
    expect(total).toBe(5);
    const ids = msgs.map((m) => m.key as string);
    expect(new Set(ids).size).toBe(5);
  });
});
