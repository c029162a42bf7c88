import { silentLogger } from "@chainscreen/logger";
import type { AlertV1 } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import { makeFlag } from "../../../test/alerts/fixtures.js";
import { Alerter } from "./alerter.js";
import type { DeliveryQueues } from "./queues.js";
import { MemoryAlertsStore } from "./store.js";
import { createSubscription, SubscriptionCache } from "./subscriptions.js";

/** An alerter over an in-memory store with one subscription to every flag; queues recorded. */
async function setup(opts: { publish: boolean; storeAlerts?: boolean; enqueueFails?: boolean }) {
  const store = new MemoryAlertsStore();
  await createSubscription({ store }, "bank-a", { url: "https://a.example/hook" });
  const cache = new SubscriptionCache(store, silentLogger(), 60_000);
  await cache.refresh();
  const enqueued: AlertV1[] = [];
  const published: AlertV1[] = [];
  const queues = {
    enqueue: async (alerts: readonly AlertV1[]) => {
      if (opts.enqueueFails) throw new Error("redis unavailable");
      enqueued.push(...alerts);
    },
  } as unknown as DeliveryQueues;
  const publish = opts.publish
    ? async (alerts: AlertV1[]) => {
        published.push(...alerts);
      }
    : undefined;
  const alerter = new Alerter(cache, store, queues, silentLogger(), publish, opts.storeAlerts);
  const stored = async () => store.findAlerts({ from: 0, to: 2 ** 42 });
  return { alerter, enqueued, published, stored };
}

describe("Alerter.handleFlags", () => {
  it("stores, publishes and enqueues each alert by default", async () => {
    const s = await setup({ publish: true });
    const alerts = await s.alerter.handleFlags([makeFlag({ n: 1 }), makeFlag({ n: 2 })]);
    expect(alerts).toHaveLength(2);
    expect(s.enqueued).toEqual(alerts);
    expect(s.published).toEqual(alerts);
    expect((await s.stored()).map((a) => a.id).sort()).toEqual(alerts.map((a) => a.id).sort());
  });

  it("leaves storing to the alert topic's consumer when told to, but only if it publishes", async () => {
    const off = await setup({ publish: true, storeAlerts: false });
    const alerts = await off.alerter.handleFlags([makeFlag({ n: 3 })]);
    expect(off.published).toEqual(alerts);
    expect(off.enqueued).toEqual(alerts);
    expect(await off.stored()).toEqual([]);

    // Nothing published: the alerter is the only writer, so it stores them anyway.
    const unpublished = await setup({ publish: false, storeAlerts: false });
    const again = await unpublished.alerter.handleFlags([makeFlag({ n: 3 })]);
    expect((await unpublished.stored()).map((a) => a.id)).toEqual(again.map((a) => a.id));
  });

  it("fails the batch when any step fails, even after the others succeeded", async () => {
    const s = await setup({ publish: true, enqueueFails: true });
    await expect(s.alerter.handleFlags([makeFlag({ n: 4 })])).rejects.toThrow("redis unavailable");
    // Stored and published already: a retry of the batch repeats them under the same alert id.
    expect(s.published).toHaveLength(1);
    expect(await s.stored()).toHaveLength(1);
  });
});
