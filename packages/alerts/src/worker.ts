import type { Logger } from "@chainscreen/logger";
import { signatureHeader, WebhookHeaders } from "@chainscreen/webhook-verify";
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { retryDelayMs } from "./backoff.js";
import type { DeliveryLog } from "./delivery-log.js";
import { createAgents, postJson } from "./http.js";
import type { SubscriptionIndex } from "./match.js";
import { type DeliveryJobData, type QueueSettings, queueName, WEBHOOK_BACKOFF } from "./queues.js";
import { type ResolvedTarget, resolveTarget, type SsrfPolicy, SsrfRefusedError } from "./ssrf.js";
import { activeSecrets, type SubscriptionCache } from "./subscriptions.js";
import { type DeliveryAttempt, DeliveryStatus, type Subscription } from "./types.js";

/** Options of the delivery workers. */
export interface DeliveryWorkerOptions {
  settings: QueueSettings;
  ssrf: SsrfPolicy;
  /** Whole-request timeout (ms). */
  timeoutMs?: number;
  /** Response bytes read at most; the body itself is never stored or logged. */
  maxResponseBytes?: number;
  /** BullMQ job lock (ms): a crashed worker's jobs are retried by another after about this long. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Stalls (crashed workers) tolerated before a job fails; high so crashes never dead-letter. */
  maxStalledCount?: number;
  /** How long a checked DNS answer is reused (ms); the connection is pinned to it. */
  resolveTtlMs?: number;
  /** Called after each attempt (metrics, benchmarks). */
  onAttempt?: (row: DeliveryAttempt, data: DeliveryJobData) => void;
}

/** A retryable failure whose receiver asked for a delay (429/503 with Retry-After). */
export class RetryAfterError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = "RetryAfterError";
  }
}

/** Is this HTTP status worth retrying? 2xx never reaches here; 408/429 and 5xx are transient. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500 || status < 400;
}

interface Running {
  worker: Worker<DeliveryJobData>;
  limitsKey: string;
}

/**
 * Runs one BullMQ worker per subscription queue, with that subscription's concurrency and rate
 * limit, and keeps the set in step with the subscription cache (new subscriptions get a worker,
 * deleted ones are closed and their pending jobs dropped, inactive ones pause).
 */
export class DeliveryWorkers {
  readonly #running = new Map<string, Running>();
  readonly #agents = createAgents();
  /** Checked targets per URL for `resolveTtlMs`: saves a DNS lookup per delivery. */
  readonly #targets = new Map<string, { target: ResolvedTarget; at: number }>();
  #sync: Promise<void> = Promise.resolve();
  #closed = false;

  /** `connection` must have `maxRetriesPerRequest: null` (BullMQ blocking commands). */
  constructor(
    private readonly connection: Redis,
    private readonly cache: SubscriptionCache,
    private readonly deliveryLog: DeliveryLog,
    private readonly opts: DeliveryWorkerOptions,
    private readonly log: Logger,
  ) {}

  /** Starts workers for the current subscriptions and follows later changes. */
  async start(): Promise<void> {
    this.deliveryLog.start();
    this.cache.onChange((index) => {
      void this.sync(index);
    });
    await this.sync(this.cache.index);
  }

  /** Number of endpoint workers running. */
  get size(): number {
    return this.#running.size;
  }

  /** Brings the running workers in line with `index`; calls are serialised. */
  sync(index: SubscriptionIndex): Promise<void> {
    this.#sync = this.#sync
      .then(() => this.#doSync(index))
      .catch((err: unknown) =>
        this.log.error({ err: (err as Error).message }, "delivery worker sync failed"),
      );
    return this.#sync;
  }

  async #doSync(index: SubscriptionIndex): Promise<void> {
    if (this.#closed) return;
    const wanted = new Map<string, Subscription>();
    for (const s of index.all()) if (s.active) wanted.set(s.id, s);
    for (const [id, r] of this.#running) {
      const s = wanted.get(id);
      if (!s || limitsKey(s) !== r.limitsKey) {
        this.#running.delete(id);
        await r.worker.close();
        if (!index.get(id)) await this.#dropPending(id);
      }
    }
    for (const [id, s] of wanted) if (!this.#running.has(id)) this.#startWorker(s);
  }

  /** A deleted subscription's waiting and delayed jobs are removed (dead letters stay). */
  async #dropPending(subscriptionId: string): Promise<void> {
    const q = new Queue(queueName(subscriptionId), {
      connection: this.connection,
      prefix: this.opts.settings.prefix,
    });
    q.on("error", () => {});
    try {
      await q.drain(true);
    } finally {
      await q.close();
    }
  }

  #startWorker(s: Subscription): void {
    const worker = new Worker<DeliveryJobData>(queueName(s.id), (job) => this.process(job), {
      connection: this.connection,
      prefix: this.opts.settings.prefix,
      concurrency: s.limits.maxConcurrency,
      limiter: { max: s.limits.ratePerSecond, duration: 1000 },
      lockDuration: this.opts.lockDurationMs ?? 30_000,
      stalledInterval: this.opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: this.opts.maxStalledCount ?? 10,
      removeOnComplete: { age: this.opts.settings.keepCompletedSec },
      removeOnFail: { age: this.opts.settings.keepFailedSec },
      settings: {
        // The receiver's Retry-After wins over the schedule, but never beyond its cap.
        backoffStrategy: (attemptsMade, type, err) => {
          if (type !== WEBHOOK_BACKOFF) return 0;
          const retry = this.opts.settings.retry;
          if (err instanceof RetryAfterError) return Math.min(retry.maxDelayMs, err.retryAfterMs);
          return retryDelayMs(attemptsMade, retry);
        },
      },
    });
    worker.on("error", (err) =>
      this.log.warn({ err: err.message, subscriptionId: s.id }, "delivery worker error"),
    );
    this.#running.set(s.id, { worker, limitsKey: limitsKey(s) });
  }

  /** Delivers one job: sign, POST, record the attempt, and tell BullMQ whether to retry. */
  async process(job: Job<DeliveryJobData>): Promise<{ status: number }> {
    const d = job.data;
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const last = attempt >= maxAttempts;
    const base = {
      deliveryId: job.id ?? "",
      alertId: d.alertId,
      subscriptionId: d.subscriptionId,
      tenantId: d.tenantId,
      attempt,
    };
    const record = (row: Omit<DeliveryAttempt, keyof typeof base | "at">) => {
      const full: DeliveryAttempt = { ...base, ...row, at: Date.now() };
      this.deliveryLog.record(full);
      this.opts.onAttempt?.(full, d);
    };

    let sub = this.cache.index.get(d.subscriptionId);
    if (!sub) {
      await this.cache.refresh();
      sub = this.cache.index.get(d.subscriptionId);
    }
    // Tenancy is checked again here: a job is only ever sent to its own tenant's endpoint.
    if (!sub?.active || sub.tenantId !== d.tenantId) {
      record({
        status: DeliveryStatus.skipped,
        responseCode: null,
        latencyMs: 0,
        error: "subscription inactive",
        url: sub?.url ?? "",
      });
      return { status: 0 };
    }

    let target: ResolvedTarget;
    try {
      target = await this.#resolve(sub.url);
    } catch (err) {
      const refused = err instanceof SsrfRefusedError;
      const status = refused || last ? DeliveryStatus.dead : DeliveryStatus.retrying;
      record({
        status,
        responseCode: null,
        latencyMs: 0,
        error: refused ? "target refused" : "dns failure",
        url: sub.url,
      });
      if (refused) throw new UnrecoverableError("webhook target refused by SSRF policy");
      throw new Error("webhook host could not be resolved");
    }

    const secrets = activeSecrets(sub).map((s) => s.secret);
    if (secrets.length === 0) {
      record({
        status: DeliveryStatus.dead,
        responseCode: null,
        latencyMs: 0,
        error: "no active secret",
        url: sub.url,
      });
      throw new UnrecoverableError("subscription has no active signing secret");
    }
    const ts = Math.floor(Date.now() / 1000);
    const res = await postJson(
      target,
      d.body,
      {
        [WebhookHeaders.eventId]: d.alertId,
        [WebhookHeaders.timestamp]: String(ts),
        [WebhookHeaders.signature]: signatureHeader(d.body, secrets, ts),
        [WebhookHeaders.deliveryId]: base.deliveryId,
      },
      {
        timeoutMs: this.opts.timeoutMs ?? 10_000,
        maxResponseBytes: this.opts.maxResponseBytes ?? 64 * 1024,
        agents: this.#agents,
      },
    );
    const common = { responseCode: res.status, latencyMs: res.latencyMs, url: sub.url };
    if (res.status !== null && res.status >= 200 && res.status < 300) {
      record({ ...common, status: DeliveryStatus.delivered, error: null });
      return { status: res.status };
    }
    if (res.status !== null && !isRetryableStatus(res.status)) {
      record({ ...common, status: DeliveryStatus.dead, error: `http ${res.status}` });
      throw new UnrecoverableError(`receiver rejected the webhook with ${res.status}`);
    }
    const reason = res.status !== null ? `http ${res.status}` : (res.error ?? "no response");
    record({
      ...common,
      status: last ? DeliveryStatus.dead : DeliveryStatus.retrying,
      error: reason,
    });
    throw new Error(`webhook delivery failed: ${reason}`);
  }

  async #resolve(url: string): Promise<ResolvedTarget> {
    const now = Date.now();
    const hit = this.#targets.get(url);
    if (hit && now - hit.at < (this.opts.resolveTtlMs ?? 30_000)) return hit.target;
    const target = await resolveTarget(url, this.opts.ssrf);
    if (this.#targets.size > 10_000) this.#targets.clear();
    this.#targets.set(url, { target, at: now });
    return target;
  }

  /** Stops taking jobs, waits for in-flight ones, then writes the remaining attempt rows. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#sync;
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(all.map((r) => r.worker.close()));
    await this.deliveryLog.close();
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  /** Simulates a crash (tests): closes without waiting for in-flight jobs, which then stall. */
  async kill(): Promise<void> {
    this.#closed = true;
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(all.map((r) => r.worker.close(true)));
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }
}

function limitsKey(s: Subscription): string {
  return `${s.limits.maxConcurrency}/${s.limits.ratePerSecond}`;
}
