import {
  ClickHouseAlertsStore,
  DEFAULT_QUEUE_SETTINGS,
  DeliveryQueues,
  queueName,
} from "@chainscreen/alerts";
import { silentLogger } from "@chainscreen/logger";
import type { AlertV1 } from "@chainscreen/schema";
import { uniqueName } from "@chainscreen/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ApiHarness, startHarness } from "./harness.js";

// Alert history and redelivery through the API: alerts in ClickHouse, redelivery jobs in real
// Redis (BullMQ), tenant isolation on both.

let h: ApiHarness;
let redis: Redis;
let queues: DeliveryQueues;
const prefix = uniqueName("apiq");

beforeAll(async () => {
  redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  queues = new DeliveryQueues(redis, { ...DEFAULT_QUEUE_SETTINGS, prefix }, silentLogger());
  h = await startHarness("alerts", 30, (stack) => ({
    alerts: { store: new ClickHouseAlertsStore(stack.writer), queues },
  }));
});
afterAll(async () => {
  await queues?.close();
  redis?.disconnect();
  await h?.close();
});

function alertFor(tenantId: string, subscriptionId: string, n: number): AlertV1 {
  const f = h.flags[n]?.flag;
  if (!f) throw new Error("no flag");
  return {
    type: "alert.v1",
    id: `alert-${tenantId}-${n}`,
    tenantId,
    subscriptionId,
    flagId: f.id,
    incidentId: f.incidentId,
    status: "active",
    rule: { id: f.rule.id, kind: f.rule.kind },
    severity: f.severity,
    exposure: f.exposure,
    hops: f.hops,
    retro: f.retro,
    transfer: {
      id: f.transfer.id,
      chain: f.transfer.chain,
      txHash: f.transfer.txHash,
      blockNumber: f.transfer.blockNumber,
      timestamp: f.transfer.timestamp,
      from: f.transfer.from,
      to: f.transfer.to,
      asset: f.transfer.asset,
      amount: f.transfer.amount,
      valueUsd: f.valueUsd,
    },
    address: f.address,
    counterparty: f.counterparty,
    entries: [],
    matchedAddresses: [],
    createdAt: Date.UTC(2024, 5, 1) + n * 1000,
  };
}

describe("alert history and redelivery", () => {
  it("lists a tenant's alerts, hides others', and redelivers through the queue", async () => {
    const subA = (await (
      await h.call("/v1/subscriptions", h.keys.bankA, {
        method: "POST",
        body: JSON.stringify({ url: "https://a.example/hook" }),
      })
    ).json()) as { subscription: { id: string } };
    const subB = (await (
      await h.call("/v1/subscriptions", h.keys.bankB, {
        method: "POST",
        body: JSON.stringify({ url: "https://b.example/hook" }),
      })
    ).json()) as { subscription: { id: string } };
    const store = new ClickHouseAlertsStore(h.stack.writer);
    await store.insertAlerts([
      alertFor("bank-a", subA.subscription.id, 0),
      alertFor("bank-a", subA.subscription.id, 1),
      alertFor("bank-b", subB.subscription.id, 2),
    ]);

    const listA = (await (
      await h.call("/v1/alerts?from=2024-06-01&to=2024-06-02", h.keys.bankA)
    ).json()) as { items: AlertV1[] };
    expect(listA.items.map((a) => a.id).sort()).toEqual(["alert-bank-a-0", "alert-bank-a-1"]);
    const listB = (await (
      await h.call("/v1/alerts?from=2024-06-01&to=2024-06-02", h.keys.bankB)
    ).json()) as { items: AlertV1[] };
    expect(listB.items.map((a) => a.id)).toEqual(["alert-bank-b-2"]);
    expect((await h.call("/v1/alerts/alert-bank-a-0", h.keys.bankB)).status).toBe(404);
    expect(
      (await h.call("/v1/alerts/alert-bank-a-0/redeliver", h.keys.bankB, { method: "POST" }))
        .status,
    ).toBe(404);

    const one = await h.call("/v1/alerts/alert-bank-a-0/redeliver", h.keys.bankA, {
      method: "POST",
    });
    expect(one.status).toBe(202);
    const { deliveryId } = (await one.json()) as { deliveryId: string };
    const q = new Queue(queueName(subA.subscription.id), { connection: redis, prefix });
    const job = await q.getJob(deliveryId);
    expect(job?.data).toMatchObject({
      alertId: "alert-bank-a-0",
      tenantId: "bank-a",
      replay: true,
    });

    const range = await h.call("/v1/alerts/redeliver", h.keys.bankA, {
      method: "POST",
      body: JSON.stringify({ from: "2024-06-01", to: "2024-06-02" }),
    });
    expect(await range.json()).toEqual({ enqueued: 2, skipped: 0 });
    expect(await q.getJobCountByTypes("waiting", "delayed", "prioritized")).toBe(3);
    await q.close();
  });
});
