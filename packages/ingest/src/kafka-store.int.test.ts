import { silentLogger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { collectTopic, testBus, uniqueName } from "@chainscreen/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { blockScopedId, ChainFollower } from "./follower.js";
import { KafkaIngestStore } from "./kafka-store.js";
import { netConfirmed } from "./memory-store.js";
import { SimChain } from "./sim-chain.js";

const bus = testBus(inject("kafkaBrokers"));
const log = silentLogger();
afterAll(() => bus.close());

function setup(topics: { transfers: string; blocks: string }, txid: string, chain: SimChain) {
  const store = new KafkaIngestStore({ bus, log, transactionalId: txid, topics, tailOffsets: 200 });
  const follower = new ChainFollower({
    source: chain,
    store,
    log,
    confirmations: 2,
    emitPending: true,
    startBlock: 0,
    window: 16,
    batchSize: 5,
  });
  return { store, follower };
}

async function drain(f: ChainFollower) {
  for (let i = 0; i < 500; i++) {
    const r = await f.tick();
    if (r.ingested + r.retracted + r.promoted === 0) return;
  }
}

describe("KafkaIngestStore on the real broker", () => {
  it("restores the window (pending included) after a restart and retracts across it", async () => {
    const topics = { transfers: uniqueName("transfers"), blocks: uniqueName("blocks") };
    const txid = uniqueName("txid");
    const chain = new SimChain(40);
    const a = setup(topics, txid, chain);
    await drain(a.follower);
    const before = a.follower.remembered.map(
      (b) => `${b.ref.number}:${b.ref.hash}:${b.status}:${b.transfers.length}`,
    );
    await a.store.close();

    const b = setup(topics, txid, chain);
    await b.follower.restore();
    expect(
      b.follower.remembered.map(
        (x) => `${x.ref.number}:${x.ref.hash}:${x.status}:${x.transfers.length}`,
      ),
    ).toEqual(before);
    chain.reorg(6, 7);
    await drain(b.follower);
    await b.store.close();

    const events = (
      await collectTopic(bus, topics.transfers, {
        until: (m) => m.some((x) => (x.value as TransferV1).status === "retracted"),
        timeoutMs: 30_000,
      })
    ).map((m) => m.value as TransferV1);
    const all = (
      await collectTopic(bus, topics.transfers, {
        until: (m) => m.length >= events.length + 100,
        timeoutMs: 3_000,
      })
    ).map((m) => m.value as TransferV1);
    const head = (await chain.head()) - 2;
    const canonical = chain.list
      .filter((x) => x.ref.number <= head)
      .flatMap((x) => x.transfers.map((t) => blockScopedId(t.id, x.ref.hash)))
      .sort();
    expect([...netConfirmed(all).keys()].sort()).toEqual(canonical);
    // Pending ids of orphaned blocks were retracted too.
    expect(all.filter((e) => e.status === "retracted").length).toBeGreaterThanOrEqual(12);
  });
});
