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
    /** Publishes the alerts (e.g. to the `alert.v1` topic) before delivery jobs are added. */
    private readonly publish?: (alerts: AlertV1[]) => Promise<void>,
  ) {}

  /**
   * Matches flags against the subscriptions, stores the alerts, then enqueues one job per alert.
   * Order matters for at-least-once: the caller commits the Kafka offsets only after this
   * resolves, and every step is idempotent on the deterministic alert id, so a crash anywhere
   * leads to the flag being processed again without duplicates.
   */
  async handleFlags(flags: readonly FlagV1[], now = Date.now()): Promise<AlertV1[]> {
    const index = this.cache.index;
    const alerts: AlertV1[] = [];
    for (const f of flags) for (const m of index.match(f)) alerts.push(buildAlert(f, m));
    if (alerts.length === 0) return alerts;
    await this.store.insertAlerts(alerts);
    if (this.publish) await this.publish(alerts);
    await this.queues.enqueue(alerts, now);
    this.log.debug({ flags: flags.length, alerts: alerts.length }, "alerts enqueued");
    return alerts;
  }
}
