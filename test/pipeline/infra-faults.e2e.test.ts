// Fault-injection suite, part 2, on one pipeline run: RPC node errors and a 5-block reorg on the
// chain, Kafka broker restart, Redis restart, webhook receiver down. Each fault is followed by a
// full reconciliation of the whole chain so far (see harness.ts).
import { describe, expect, it } from "vitest";
import { stopKafka } from "../../infra/local/kafka.js";
import { sleep } from "../../infra/local/proc.js";
import { stopRedis } from "../../infra/local/redis.js";
import { outage } from "./harness.js";
import { expectClean, usePipeline } from "./suite.js";

const p = usePipeline();

describe("pipeline under chain and infrastructure faults", () => {
  it("RPC node errors (500, 429, JSON-RPC errors, hangs, truncated answers) during traffic", async () => {
    p.proxy.random = {
      kinds: ["http500", "http429", "rpcError", "timeout", "truncate"],
      probability: 0.3,
    };
    await p.traffic(4);
    await sleep(outage(5_000, 120_000));
    p.proxy.random = null;
    const r = await p.reconcile();
    expect(Object.values(p.proxy.injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expectClean(p, r, "rpc errors");
    expect(p.unexpectedExits()).toEqual([]);
  });

  it("anvil_reorg of 5 blocks during traffic: orphaned transfers retracted, flags follow the new chain", async () => {
    await p.traffic(2);
    await p.confirmAll();
    // Let the ingester confirm the tip, so the reorg orphans blocks it already published.
    await sleep(5_000);
    await p.anvil.rpc("anvil_reorg", [5, []]);
    await p.traffic(2);
    const r = await p.reconcile();
    expectClean(p, r, "reorg");
    // The reorg did hit blocks the pipeline had already stored: their transfers are retracted.
    expect(r.retractedTransfers).toBeGreaterThan(0);
    expect(p.unexpectedExits()).toEqual([]);
  });

  it(`Kafka broker restart (down ${outage(5, 120)} s) during traffic`, async () => {
    const traffic = p.traffic(3);
    await sleep(1_000);
    await stopKafka(p.kafka.pid);
    await sleep(outage(5_000, 120_000));
    await p.startKafka();
    await traffic;
    const r = await p.reconcile();
    expectClean(p, r, "kafka restart");
    expect(p.unexpectedExits()).toEqual([]);
  });

  it(`Redis restart (down ${outage(5, 120)} s) during traffic`, async () => {
    const traffic = p.traffic(3);
    await sleep(1_000);
    await stopRedis(p.redis.pid);
    await sleep(outage(5_000, 120_000));
    await p.startRedis();
    await traffic;
    const r = await p.reconcile();
    expectClean(p, r, "redis restart");
    expect(p.unexpectedExits()).toEqual([]);
  });

  it(
    `webhook receiver down for ${outage(20, 300)} s: every alert still delivered`,
    async () => {
      p.receiver.down = true;
      await p.traffic(3);
      await sleep(outage(20_000, 300_000));
      expect(p.receiver.refused).toBeGreaterThan(0);
      p.receiver.down = false;
      const r = await p.reconcile({ timeoutMs: outage(300_000, 900_000) });
      expectClean(p, r, "receiver down");
      expect(p.unexpectedExits()).toEqual([]);
    },
    outage(900_000, 1_800_000),
  ); // the outage plus the reconciliation's own limit
});
