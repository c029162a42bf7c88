// Backfill of a closed range on a live anvil chain: interrupted, resumed, no gap, no duplicate.
import { EvmBlockSource, RpcClient } from "@chainscreen/evm";
import { Backfill, type BackfillProgress } from "@chainscreen/ingest";
import { silentLogger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { collectTopic, testBus, uniqueName } from "@chainscreen/testing";
import { afterAll, expect, inject, it, vi } from "vitest";
import { interruptedBackfill } from "../lib/ingest.js";
import { startAnvil } from "./anvil.js";
import { oracleIds, sendEthTransfers } from "./chain.js";

const bus = testBus(inject("kafkaBrokers"));
const log = silentLogger();
afterAll(() => bus.close());

it("backfills a range, resumes after an interruption, and reports progress", async () => {
  const node = await startAnvil();
  try {
    await sendEthTransfers(node, 80);
    const rpc = new RpcClient({ urls: [node.url], log });
    const source = new EvmBlockSource({ chain: "anvil", rpc, log, traces: "callTracer" });
    const topics = { transfers: uniqueName("transfers"), progress: uniqueName("progress") };
    const [from, to] = [5, 70];
    const seen: BackfillProgress[] = [];
    const { first, resume, second } = await interruptedBackfill(
      () => ({
        source,
        bus,
        log,
        from,
        to,
        topics,
        batchSize: 4,
        concurrency: 3,
        onProgress: (p) => seen.push(p),
      }),
      { abortWhen: (p) => p.done >= 20 },
    );
    expect(first.done).toBeLessThan(first.total);
    expect(resume).toBe(from + first.done);
    expect(second.done).toBe(to - from + 1);
    expect(seen.at(-1)?.etaSeconds).toBe(0);
    expect(seen.every((p) => p.blocksPerSecond > 0)).toBe(true);
    const oracle = await oracleIds(source, from, to);
    const got = await collectTopic(bus, topics.transfers, {
      until: (m) => m.length >= oracle.length,
      timeoutMs: 30_000,
    });
    const ids = got.map((m) => (m.value as TransferV1).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(oracle);
    // A finished job resumes at its end and does nothing.
    expect(await new Backfill({ source, bus, log, from, to, topics }).resumePoint()).toBe(to + 1);

    // A range above the head is refused before anything is fetched or produced.
    const head = await source.head();
    const fetches = vi.spyOn(source, "blocks");
    const above = { transfers: uniqueName("transfers"), progress: uniqueName("progress") };
    await expect(
      new Backfill({ source, bus, log, from: head - 2, to: head + 5, topics: above }).run(),
    ).rejects.toThrow("above the safe head");
    expect(fetches).not.toHaveBeenCalled();
    const admin = bus.kafka.admin();
    await admin.connect();
    const existing = await admin.listTopics();
    await admin.disconnect();
    expect(existing).not.toContain(above.progress);
    await rpc.close();
  } finally {
    await node.stop();
  }
});
