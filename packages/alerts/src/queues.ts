import type { Logger } from "@chainscreen/logger";
import type { AlertV1 } from "@chainscreen/schema";
import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { DEFAULT_RETRY, type RetryPolicy } from "./backoff.js";

/** What a delivery job carries. Secrets are not in it: they are read at send time, so a rotation
 * applies to pending retries and Redis never holds a signing secret. */
export interface DeliveryJobData {
  alertId: string;
  subscriptionId: string;
  tenantId: string;
  /** The exact JSON body to send (signed per attempt). */
  body: string;
  /** When the job was enqueued (ms): end-to-end latency metrics. */
  enqueuedAt: number;
  replay: boolean;
}

/** Name of the backoff strategy registered by the delivery workers. */
export const WEBHOOK_BACKOFF = "webhook";

/** Settings shared by producers and workers. */
export interface QueueSettings {
  /** BullMQ key prefix (isolates environments and tests on one Redis). */
  prefix: string;
  retry: RetryPolicy;
  /** Completed jobs are kept this long: a redelivered flag within it is not delivered twice. */
  keepCompletedSec: number;
  /** Failed jobs (dead letters) are kept this long for inspection and replay. */
  keepFailedSec: number;
}

/** Defaults: keep completed job ids 7 days, dead letters 30 days. */
export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  prefix: "chainscreen",
  retry: DEFAULT_RETRY,
  keepCompletedSec: 7 * 86_400,
  keepFailedSec: 30 * 86_400,
};

/**
 * One BullMQ queue per subscription (endpoint): open-source BullMQ rate-limits and bounds
 * concurrency per queue, not per job group (groups are a BullMQ Pro feature), so separate queues
 * are what keeps a slow bank from delaying the others.
 */
export function queueName(subscriptionId: string): string {
  return `wh.${subscriptionId}`;
}

/** Job id of the first delivery of an alert: deterministic, so enqueuing twice adds one job. */
export function deliveryJobId(alertId: string): string {
  return alertId;
}

/** Producer side: adds delivery jobs to the per-endpoint queues. */
export class DeliveryQueues {
  readonly #queues = new Map<string, Queue<DeliveryJobData>>();

  /**
   * `connection` is shared by every queue; producers should fail fast (`enableOfflineQueue:
   * false`, small `maxRetriesPerRequest`) so an unavailable Redis surfaces as an error and the
   * Kafka batch is retried rather than stuck.
   */
  constructor(
    private readonly connection: Redis,
    readonly settings: QueueSettings,
    private readonly log: Logger,
  ) {}

  /** The queue of one subscription (created on first use). */
  queue(subscriptionId: string): Queue<DeliveryJobData> {
    let q = this.#queues.get(subscriptionId);
    if (!q) {
      q = new Queue<DeliveryJobData>(queueName(subscriptionId), {
        connection: this.connection,
        prefix: this.settings.prefix,
      });
      q.on("error", (err) =>
        this.log.warn({ err: err.message, subscriptionId }, "delivery queue error"),
      );
      this.#queues.set(subscriptionId, q);
    }
    return q;
  }

  /** Job options for a delivery: attempts, backoff and retention. */
  jobOptions(jobId: string): JobsOptions {
    return {
      jobId,
      attempts: this.settings.retry.attempts,
      backoff: { type: WEBHOOK_BACKOFF },
      removeOnComplete: { age: this.settings.keepCompletedSec },
      removeOnFail: { age: this.settings.keepFailedSec },
    };
  }

  /** Enqueues the first delivery of each alert (idempotent per alert id). */
  async enqueue(alerts: readonly AlertV1[], now = Date.now()): Promise<void> {
    const bySub = new Map<string, AlertV1[]>();
    for (const a of alerts) {
      const list = bySub.get(a.subscriptionId);
      if (list) list.push(a);
      else bySub.set(a.subscriptionId, [a]);
    }
    await Promise.all(
      [...bySub].map(([subId, list]) =>
        this.queue(subId).addBulk(
          list.map((a) => ({
            name: "deliver",
            data: {
              alertId: a.id,
              subscriptionId: a.subscriptionId,
              tenantId: a.tenantId,
              body: JSON.stringify(a),
              enqueuedAt: now,
              replay: false,
            },
            opts: this.jobOptions(deliveryJobId(a.id)),
          })),
        ),
      ),
    );
  }

  /** Enqueues a re-delivery under a new job id; returns that id. */
  async enqueueReplay(alert: AlertV1, now = Date.now()): Promise<string> {
    const jobId = `${alert.id}-replay-${now}-${Math.random().toString(36).slice(2, 8)}`;
    await this.queue(alert.subscriptionId).add(
      "deliver",
      {
        alertId: alert.id,
        subscriptionId: alert.subscriptionId,
        tenantId: alert.tenantId,
        body: JSON.stringify(alert),
        enqueuedAt: now,
        replay: true,
      },
      this.jobOptions(jobId),
    );
    return jobId;
  }

  /** Closes every queue (not the shared connection). */
  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
  }
}
