import {
  DeliveryStatus,
  deleteSubscription,
  listDeadLetters,
  MemoryAlertsStore,
  queueName,
  replayAlert,
  replayAlerts,
  rotateSecret,
} from "@chainscreen/alerts";
import { AlertV1 } from "@chainscreen/schema";
import { waitFor } from "@chainscreen/testing";
import { parseSignatureHeader, verify, WebhookHeaders } from "@chainscreen/webhook-verify";
import { Queue } from "bullmq";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { AlerterApp } from "../../services/alerter/src/app.js";
import { makeFlag } from "./fixtures.js";
import { startTestAlerter, subscribe, testSettings } from "./harness.js";
import { Receiver } from "./receiver.js";

const CUSTOMER_A = "0x00000000000000000000000000000000000000aa";
const CUSTOMER_C = "0x00000000000000000000000000000000000000cc";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.();
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  cleanup.push(() => r.stop());
  return r;
}

async function alerter(...args: Parameters<typeof startTestAlerter>): Promise<AlerterApp> {
  const app = await startTestAlerter(...args);
  cleanup.push(() => app.stop());
  return app;
}

const eventIds = (r: Receiver) => r.requests.map((q) => String(q.headers[WebhookHeaders.eventId]));

describe("webhook delivery (real Redis)", () => {
  it("delivers a flag to both matching tenants, signed; a non-matching tenant gets nothing", async () => {
    const store = new MemoryAlertsStore();
    const [ra, rb, rc] = [await receiver(), await receiver(), await receiver()];
    const a = await subscribe(store, "bank-a", {
      url: ra.url,
      filters: { addresses: [CUSTOMER_A] },
    });
    const b = await subscribe(store, "bank-b", { url: rb.url, filters: { minSeverity: "high" } });
    const c = await subscribe(store, "bank-c", {
      url: rc.url,
      filters: { addresses: [CUSTOMER_C] },
    });
    const app = await alerter(inject("redisUrl"), store, testSettings());

    const flag = makeFlag({ n: 1 });
    const alerts = await app.alerter.handleFlags([flag]);
    expect(alerts.map((x) => x.tenantId).sort()).toEqual(["bank-a", "bank-b"]);
    await waitFor(() => ra.delivered.length === 1 && rb.delivered.length === 1, {
      timeoutMs: 20_000,
    });

    for (const [r, sub, tenant] of [
      [ra, a, "bank-a"],
      [rb, b, "bank-b"],
    ] as const) {
      const req = r.requests[0];
      if (!req) throw new Error("no request");
      expect(
        verify(req.body, req.headers[WebhookHeaders.signature] as string, sub.secret),
      ).toMatchObject({ ok: true });
      // The other tenant's secret does not verify: each endpoint gets its own signature.
      const other = sub === a ? b : a;
      expect(
        verify(req.body, req.headers[WebhookHeaders.signature] as string, other.secret).ok,
      ).toBe(false);
      const body = AlertV1.parse(JSON.parse(req.body));
      expect(body.tenantId).toBe(tenant);
      expect(body.flagId).toBe(flag.id);
      expect(req.headers[WebhookHeaders.eventId]).toBe(body.id);
      expect(req.headers[WebhookHeaders.timestamp]).toBe(
        String(parseSignatureHeader(req.headers[WebhookHeaders.signature] as string)?.timestamp),
      );
    }
    expect(JSON.parse(ra.requests[0]?.body ?? "{}").matchedAddresses).toEqual([CUSTOMER_A]);

    // The same flag again (Kafka redelivery) adds no job; a later flag proves the queue moved on.
    await app.alerter.handleFlags([flag]);
    await app.alerter.handleFlags([makeFlag({ n: 2 })]);
    await waitFor(() => ra.delivered.length === 2 && rb.delivered.length === 2, {
      timeoutMs: 20_000,
    });
    expect(new Set(eventIds(ra)).size).toBe(2);
    expect(rc.requests).toHaveLength(0);
    await app.workers?.close();
    expect(await store.listDeliveries({ tenantId: "bank-c" })).toHaveLength(0);
    expect(await store.listDeliveries({ subscriptionId: c.id })).toHaveLength(0);
    const rowsA = await store.listDeliveries({ tenantId: "bank-a" });
    expect(rowsA.map((d) => d.status)).toEqual([
      DeliveryStatus.delivered,
      DeliveryStatus.delivered,
    ]);
    expect(rowsA.every((d) => d.responseCode === 200 && d.latencyMs >= 0)).toBe(true);
  });

  it("retries 500s and timeouts until the endpoint recovers; every attempt is recorded", async () => {
    const store = new MemoryAlertsStore();
    const r = await receiver();
    // 500, 503, a timeout (answer after the 1 s client timeout), then 200.
    r.behaviour = (_req, n) =>
      n === 1
        ? { status: 500 }
        : n === 2
          ? { status: 503 }
          : n === 3
            ? { status: 200, delayMs: 2_500 }
            : { status: 200 };
    const s = await subscribe(store, "bank-a", { url: r.url });
    const app = await alerter(inject("redisUrl"), store, testSettings({ attempts: 8 }));
    const [alert] = await app.alerter.handleFlags([makeFlag({ n: 10 })]);
    await waitFor(() => r.delivered.length >= 1 && r.requests.length >= 4, { timeoutMs: 60_000 });
    await app.workers?.close();
    const rows = (await store.listDeliveries({ alertId: alert?.id })).reverse();
    expect(rows.map((d) => [d.attempt, d.status, d.responseCode, d.error])).toEqual([
      [1, "retrying", 500, "http 500"],
      [2, "retrying", 503, "http 503"],
      [3, "retrying", null, "timeout"],
      [4, "delivered", 200, null],
    ]);
    expect(rows.every((d) => d.subscriptionId === s.id && d.deliveryId === alert?.id)).toBe(true);
  });

  it("a 400 is not retried: the alert is a dead letter, and replay delivers it later", async () => {
    const store = new MemoryAlertsStore();
    const r = await receiver();
    r.behaviour = () => ({ status: 400 });
    await subscribe(store, "bank-a", { url: r.url });
    const settings = testSettings({ attempts: 5 });
    const app = await alerter(inject("redisUrl"), store, settings);
    const [alert] = await app.alerter.handleFlags([makeFlag({ n: 20 })]);
    if (!alert) throw new Error("no alert");
    const dead = await waitFor(
      async () => (await listDeadLetters(store, { tenantId: "bank-a" }))[0],
      { timeoutMs: 20_000 },
    );
    expect(dead).toMatchObject({
      alertId: alert.id,
      attempt: 1,
      status: "dead",
      responseCode: 400,
    });
    // Job is in BullMQ's failed set after one attempt.
    const q = new Queue(queueName(alert.subscriptionId), {
      connection: { url: inject("redisUrl") },
      prefix: settings.prefix,
    });
    cleanup.push(() => q.close());
    const job = await q.getJob(alert.id);
    expect(await job?.getState()).toBe("failed");
    expect(job?.attemptsMade).toBe(1);
    expect(r.requests).toHaveLength(1);
    // Another tenant cannot see or replay it.
    expect(await listDeadLetters(store, { tenantId: "bank-b" })).toHaveLength(0);
    await expect(
      replayAlert({ store, queues: app.queues }, { tenantId: "bank-b" }, alert.id),
    ).rejects.toThrow(/not found/);

    r.behaviour = () => ({ status: 204 });
    const deliveryId = await replayAlert(
      { store, queues: app.queues },
      { tenantId: "bank-a" },
      alert.id,
    );
    await waitFor(() => r.delivered.length === 1, { timeoutMs: 20_000 });
    expect(r.requests[1]?.headers[WebhookHeaders.eventId]).toBe(alert.id);
    expect(r.requests[1]?.headers[WebhookHeaders.deliveryId]).toBe(deliveryId);
  });

  it("replays every alert of a time range, only the tenant's own", async () => {
    const store = new MemoryAlertsStore();
    const [ra, rb] = [await receiver(), await receiver()];
    await subscribe(store, "bank-a", { url: ra.url });
    await subscribe(store, "bank-b", { url: rb.url });
    const app = await alerter(inject("redisUrl"), store, testSettings());
    await app.alerter.handleFlags([makeFlag({ n: 30, createdAt: 1_000 })]);
    await app.alerter.handleFlags([makeFlag({ n: 31, createdAt: 2_000 })]);
    await app.alerter.handleFlags([makeFlag({ n: 32, createdAt: 3_000 })]);
    await waitFor(() => ra.delivered.length === 3 && rb.delivered.length === 3, {
      timeoutMs: 20_000,
    });
    const r = await replayAlerts(
      { store, queues: app.queues },
      { tenantId: "bank-a" },
      { from: 1_500, to: 3_500 },
      1,
    );
    expect(r).toEqual({ enqueued: 2, skipped: 0 });
    await waitFor(() => ra.delivered.length === 5, { timeoutMs: 20_000 });
    const replayed = eventIds(ra).slice(3).sort();
    expect(replayed).toEqual(eventIds(ra).slice(1, 3).sort());
    expect(rb.requests).toHaveLength(3);
  });

  it("secret rotation: both signatures during the overlap, only the new one after", async () => {
    const store = new MemoryAlertsStore();
    const r = await receiver();
    const s = await subscribe(store, "bank-a", { url: r.url });
    const app = await alerter(inject("redisUrl"), store, testSettings());
    const { secret: fresh, previousExpireAt } = await rotateSecret({ store }, "bank-a", s.id, {
      overlapSec: 3,
    });
    await app.cache.refresh();
    await app.alerter.handleFlags([makeFlag({ n: 40 })]);
    await waitFor(() => r.delivered.length === 1, { timeoutMs: 20_000 });
    const during = r.requests[0];
    const h1 = String(during?.headers[WebhookHeaders.signature]);
    expect(parseSignatureHeader(h1)?.signatures).toHaveLength(2);
    expect(verify(during?.body ?? "", h1, s.secret).ok).toBe(true);
    expect(verify(during?.body ?? "", h1, fresh).ok).toBe(true);

    await waitFor(() => Date.now() > previousExpireAt, { timeoutMs: 10_000 });
    await app.alerter.handleFlags([makeFlag({ n: 41 })]);
    await waitFor(() => r.delivered.length === 2, { timeoutMs: 20_000 });
    const after = r.requests[1];
    const h2 = String(after?.headers[WebhookHeaders.signature]);
    expect(parseSignatureHeader(h2)?.signatures).toHaveLength(1);
    expect(verify(after?.body ?? "", h2, fresh).ok).toBe(true);
    expect(verify(after?.body ?? "", h2, s.secret).ok).toBe(false);
  });

  it("a slow endpoint does not hold back another tenant's deliveries", async () => {
    const store = new MemoryAlertsStore();
    const [slow, fast] = [await receiver(), await receiver()];
    slow.behaviour = () => ({ status: 200, delayMs: 400 });
    fast.behaviour = () => ({ status: 200, delayMs: 50 });
    await subscribe(store, "slow-bank", {
      url: slow.url,
      limits: { maxConcurrency: 1, ratePerSecond: 100 },
    });
    await subscribe(store, "fast-bank", {
      url: fast.url,
      limits: { maxConcurrency: 4, ratePerSecond: 1000 },
    });
    const app = await alerter(inject("redisUrl"), store, testSettings());
    const flags = Array.from({ length: 20 }, (_, i) => makeFlag({ n: 100 + i }));
    await app.alerter.handleFlags(flags);
    await waitFor(() => fast.delivered.length === 20, { timeoutMs: 30_000 });
    // The slow receiver handles one request at a time, so it is far from done.
    expect(slow.delivered.length).toBeLessThan(20);
    expect(slow.maxInFlight).toBe(1);
    expect(fast.maxInFlight).toBeGreaterThan(1);
  });

  it("refuses targets outside the SSRF policy without retrying", async () => {
    const store = new MemoryAlertsStore();
    const s = await subscribe(store, "bank-a", { url: "https://example.invalid/hook" });
    const sub = await store.getSubscription(s.id);
    if (!sub) throw new Error("missing");
    // Stored directly (the API would refuse it at creation): a private address.
    await store.putSubscription({
      ...sub,
      url: "http://10.1.2.3:8080/hook",
      version: sub.version + 1,
    });
    const app = await alerter(inject("redisUrl"), store, testSettings());
    const [alert] = await app.alerter.handleFlags([makeFlag({ n: 50 })]);
    const dead = await waitFor(
      async () => (await store.listDeliveries({ alertId: alert?.id }))[0],
      { timeoutMs: 20_000 },
    );
    expect(dead).toMatchObject({
      status: "dead",
      responseCode: null,
      error: "target refused",
      attempt: 1,
    });
  });

  it("deleting a subscription stops its worker and drops its pending deliveries", async () => {
    const store = new MemoryAlertsStore();
    const r = await receiver();
    r.behaviour = () => ({ status: 503 });
    const s = await subscribe(store, "bank-a", { url: r.url });
    const settings = testSettings({ attempts: 20, baseDelayMs: 60_000, maxDelayMs: 60_000 });
    const app = await alerter(inject("redisUrl"), store, settings);
    await app.alerter.handleFlags([makeFlag({ n: 70 }), makeFlag({ n: 71 })]);
    await waitFor(() => r.requests.length === 2, { timeoutMs: 20_000 });
    const q = new Queue(queueName(s.id), {
      connection: { url: inject("redisUrl") },
      prefix: settings.prefix,
    });
    cleanup.push(() => q.close());
    await waitFor(async () => (await q.getDelayedCount()) === 2, { timeoutMs: 10_000 });
    expect(app.workers?.size).toBe(1);

    expect(await deleteSubscription({ store }, "bank-a", s.id)).toBe(true);
    await app.cache.refresh();
    await waitFor(async () => app.workers?.size === 0 && (await q.getDelayedCount()) === 0, {
      timeoutMs: 10_000,
    });
    expect(await q.getWaitingCount()).toBe(0);
  });
});
