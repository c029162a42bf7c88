import type { Logger } from "@chainscreen/logger";
import type { AlertV1, FlagV1 } from "@chainscreen/schema";
import { buildAlert } from "./match.js";
import type { DeliveryQueues } from "./queues.js";
import type { AlertsStore } from "./store.js";
import type { SubscriptionCache } from "./subscriptions.js";

/** Turns flags into alerts and delivery jobs. */
export class Alerter {
  constructor(
    private readonly cache: SubscriptionCache,
    private readonly store: AlertsStore,
    private readonly queues: DeliveryQueues,
    private readonly log: Logger,
    /** Publishes the alerts (e.g. to the `alert.v1` topic). */
    private readonly publish?: (alerts: AlertV1[]) => Promise<void>,
    /**
     * Insert the alerts into the store here (default). With false, and only when they are
     * published, storing them is left to whoever consumes the publication (the sink stores
     * alert.v1), so no webhook and no Kafka batch waits for a ClickHouse insert.
     */
    private readonly storeAlerts = true,
  ) {}

  /**
   * Matches flags against the subscriptions, then stores the alerts, publishes them and enqueues
   * one delivery job per alert, the three at once: the caller commits the Kafka offsets only
   * after all of them resolved, and each is idempotent on the deterministic alert id, so a crash
   * or a failure of any one leads to the flags being processed again without duplicates. (Run
   * one after the other, the ClickHouse insert — tens to hundreds of ms while the store is busy
   * with the sink — sat in front of every webhook.) A delivery may therefore be attempted a moment
   * before its alert row is visible in the store.
   */
  async handleFlags(flags: readonly FlagV1[], now = Date.now()): Promise<AlertV1[]> {
    const index = this.cache.index;
    const alerts: AlertV1[] = [];
    for (const f of flags) for (const m of index.match(f)) alerts.push(buildAlert(f, m));
    if (alerts.length === 0) return alerts;
    const store = this.storeAlerts || !this.publish;
    const steps = await Promise.allSettled([
      store ? this.store.insertAlerts(alerts) : Promise.resolve(),
      this.publish ? this.publish(alerts) : Promise.resolve(),
      this.queues.enqueue(alerts, now),
    ]);
    for (const s of steps) if (s.status === "rejected") throw s.reason;
    this.log.debug({ flags: flags.length, alerts: alerts.length }, "alerts enqueued");
    return alerts;
  }
}
