import { rmSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { MemoryAlertsStore } from "@chainscreen/alerts";
import { createLogger } from "@chainscreen/logger";
import { AlertV1, Topics } from "@chainscreen/schema";
import { collectTopic, repoRoot, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { verify, WebhookHeaders } from "@chainscreen/webhook-verify";
import { afterAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../../infra/local/proc.js";
import { startRedis, stopRedis } from "../../infra/local/redis.js";
import { makeFlag } from "./fixtures.js";
import { startTestAlerter, subscribe, testSettings } from "./harness.js";
import { Receiver } from "./receiver.js";

const CUSTOMER_A = "0x00000000000000000000000000000000000000aa";
const CUSTOMER_C = "0x00000000000000000000000000000000000000cc";
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (closers.length) await closers.pop()?.();
});

describe("alerter service: flag.v1 from Kafka to webhooks", () => {
  it("consumes flags, publishes alert.v1, delivers to matching tenants only, never twice", async () => {
    const bus = testBus(inject("kafkaBrokers"));
    closers.push(() => bus.close());
    const prefix = uniqueName("alerts");
    const flagsTopic = `${prefix}.${Topics.flags}`;
    const alertsTopic = `${prefix}.${Topics.alerts}`;
    const dlq = `${prefix}.${Topics.deadLetter}`;
    await bus.ensureTopics([
      { topic: flagsTopic, partitions: 2 },
      { topic: alertsTopic, partitions: 2 },
      { topic: dlq, partitions: 1 },
    ]);
    const store = new MemoryAlertsStore();
    const [ra, rb, rc] = [
      await new Receiver().start(),
      await new Receiver().start(),
      await new Receiver().start(),
    ];
    closers.push(
      () => ra.stop(),
      () => rb.stop(),
      () => rc.stop(),
    );
    const a = await subscribe(store, "bank-a", {
      url: ra.url,
      filters: { addresses: [CUSTOMER_A] },
    });
    const b = await subscribe(store, "bank-b", {
      url: rb.url,
      filters: { programmes: ["CYBER2"] },
    });
    await subscribe(store, "bank-c", { url: rc.url, filters: { addresses: [CUSTOMER_C] } });
    const settings = testSettings();
    const kafka = {
      bus,
      flagsTopic,
      alertsTopic,
      deadLetterTopic: dlq,
      groupId: `${prefix}.alerter`,
    };

    const app1 = await startTestAlerter(inject("redisUrl"), store, settings, { kafka });
    const producer = await bus.producer();
    closers.push(() => producer.disconnect());
    const flag = makeFlag({ n: 7 });
    await producer.send(flagsTopic, [
      { key: flag.transferId, value: flag },
      { key: "bad", value: { type: "flag.v1", id: "not-a-flag" } },
    ]);
    await waitFor(() => ra.delivered.length === 1 && rb.delivered.length === 1, {
      timeoutMs: 60_000,
    });
    for (const [r, s] of [
      [ra, a],
      [rb, b],
    ] as const) {
      const req = r.requests[0];
      expect(
        verify(req?.body ?? "", req?.headers[WebhookHeaders.signature] as string, s.secret).ok,
      ).toBe(true);
    }
    const published = await collectTopic(bus, alertsTopic, {
      until: (m) => m.length >= 2,
      timeoutMs: 30_000,
    });
    expect(published.map((m) => AlertV1.parse(m.value).tenantId).sort()).toEqual([
      "bank-a",
      "bank-b",
    ]);
    expect(published.map((m) => m.key).sort()).toEqual(["bank-a", "bank-b"]);
    const dead = await collectTopic(bus, dlq, { until: (m) => m.length >= 1, timeoutMs: 30_000 });
    expect(dead).toHaveLength(1);
    await app1.stop();

    // A new alerter instance receives the same flag again (as after a crash before commit).
    const app2 = await startTestAlerter(inject("redisUrl"), store, settings, { kafka });
    closers.push(() => app2.stop());
    await producer.send(flagsTopic, [
      { key: flag.transferId, value: flag },
      { key: "next", value: makeFlag({ n: 8 }) },
    ]);
    await waitFor(() => ra.delivered.length === 2 && rb.delivered.length === 2, {
      timeoutMs: 60_000,
    });
    expect(new Set(ra.delivered).size).toBe(2);
    expect(new Set(rb.delivered).size).toBe(2);
    expect(rc.requests).toHaveLength(0);
  });

  it("a flag consumed while Redis is down is not lost: the batch is retried until Redis is back", async () => {
    const dataDir = join(repoRoot, ".data", uniqueName("alerts-kafka-redis"));
    closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    let redis = await startRedis({ port, dataDir, persistence: true });
    closers.push(() => stopRedis(redis.pid));
    // The consumer's log tells us when it tried, and failed, to handle the batch.
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString("utf8"));
        cb();
      },
    });
    const bus = testBus(
      inject("kafkaBrokers"),
      uniqueName("alerter"),
      createLogger({ service: "test", destination: sink }),
    );
    closers.push(() => bus.close());
    const prefix = uniqueName("alerts");
    const flagsTopic = `${prefix}.${Topics.flags}`;
    await bus.ensureTopics([{ topic: flagsTopic, partitions: 1 }]);
    const store = new MemoryAlertsStore();
    const r = await new Receiver().start();
    closers.push(() => r.stop());
    await subscribe(store, "bank-a", { url: r.url });
    const kafka = { bus, flagsTopic, alertsTopic: null, groupId: `${prefix}.alerter` };
    const app = await startTestAlerter(redis.url, store, testSettings(), { kafka });
    closers.push(() => app.stop());
    const producer = await bus.producer();
    closers.push(() => producer.disconnect());
    await producer.send(flagsTopic, [{ key: "1", value: makeFlag({ n: 900 }) }]);
    await waitFor(() => r.delivered.length === 1, { timeoutMs: 60_000 });

    await stopRedis(redis.pid);
    await producer.send(flagsTopic, [{ key: "2", value: makeFlag({ n: 901 }) }]);
    // Let the consumer take the message and fail to enqueue it at least once.
    await waitFor(async () => (await bus.lag(kafka.groupId, flagsTopic)) === 1, {
      timeoutMs: 30_000,
    });
    await new Promise((res) => setTimeout(res, 2_000));
    redis = await startRedis({ port, dataDir, persistence: true });
    await waitFor(() => r.delivered.length === 2, { timeoutMs: 120_000 });
    await waitFor(async () => (await bus.lag(kafka.groupId, flagsTopic)) === 0, {
      timeoutMs: 30_000,
    });
    expect(new Set(r.delivered).size).toBe(2);
  });
});
