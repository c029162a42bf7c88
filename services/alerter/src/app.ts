import {
  Alerter,
  type AlertsStore,
  DeliveryLog,
  DeliveryQueues,
  type DeliveryWorkerOptions,
  DeliveryWorkers,
  type QueueSettings,
  type SsrfPolicy,
  SubscriptionCache,
} from "@chainscreen/alerts";
import { type ConsumerHandle, consume, type KafkaBus, type Producer } from "@chainscreen/kafka";
import type { Logger } from "@chainscreen/logger";
import { FlagV1 } from "@chainscreen/schema";
import { Redis } from "ioredis";

/** Everything the alerter needs; main.ts fills it from the environment, tests directly. */
export interface AlerterOptions {
  redisUrl: string;
  store: AlertsStore;
  log: Logger;
  settings: QueueSettings;
  ssrf: SsrfPolicy;
  /** Kafka intake; without it only the delivery workers run (a delivery-only instance). */
  kafka?: {
    bus: KafkaBus;
    flagsTopic: string;
    groupId: string;
    deadLetterTopic?: string;
    /** Partitions handled at once (default 4; order is kept within each). */
    partitionsInParallel?: number;
    /** Publish alerts to this topic (alert.v1) alongside delivery; null to skip. */
    alertsTopic: string | null;
    /**
     * Also insert the alerts into ClickHouse here (default true); false leaves it to the sink,
     * which stores alert.v1. Ignored (always stored) without an alerts topic.
     */
    storeAlerts?: boolean;
    fromBeginning?: boolean;
  };
  /** Run the delivery workers in this process (default true). */
  deliver?: boolean;
  subscriptionPollMs?: number;
  /** How often delivery attempts are written to webhook_deliveries (ms, default 200). */
  deliveryLogFlushMs?: number;
  worker?: Omit<DeliveryWorkerOptions, "settings" | "ssrf">;
}

/** A running alerter. */
export interface AlerterApp {
  alerter: Alerter;
  cache: SubscriptionCache;
  queues: DeliveryQueues;
  workers: DeliveryWorkers | null;
  /** Graceful stop, in order: intake, in-flight deliveries, attempt log, clients. */
  stop(): Promise<void>;
  /** Crash simulation for tests: drops everything without waiting for in-flight work. */
  kill(): Promise<void>;
}

/** Starts subscription cache, producer queues, delivery workers and the flag consumer. */
export async function startAlerter(o: AlerterOptions): Promise<AlerterApp> {
  const log = o.log;
  // Producer connection fails fast: an unavailable Redis makes handleFlags throw, so the Kafka
  // batch is retried (offsets not committed) instead of hanging on an offline queue.
  const producerRedis = new Redis(o.redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: false,
  });
  producerRedis.on("error", (err) =>
    log.warn({ err: err.message }, "redis producer connection error"),
  );
  // Workers block on Redis: BullMQ requires maxRetriesPerRequest null for them.
  const workerRedis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  workerRedis.on("error", (err) => log.warn({ err: err.message }, "redis worker connection error"));

  const cache = new SubscriptionCache(o.store, log, o.subscriptionPollMs ?? 2_000);
  await cache.start();
  const queues = new DeliveryQueues(producerRedis, o.settings, log);

  let workers: DeliveryWorkers | null = null;
  if (o.deliver ?? true) {
    workers = new DeliveryWorkers(
      workerRedis,
      cache,
      new DeliveryLog(o.store, log, o.deliveryLogFlushMs),
      { ...o.worker, settings: o.settings, ssrf: o.ssrf },
      log,
    );
    await workers.start();
  }

  let producer: Producer | null = null;
  let consumer: ConsumerHandle | null = null;
  let alerter: Alerter;
  if (o.kafka) {
    const k = o.kafka;
    if (k.alertsTopic) producer = await k.bus.producer();
    const alertsTopic = k.alertsTopic;
    const p = producer;
    alerter = new Alerter(
      cache,
      o.store,
      queues,
      log,
      p && alertsTopic
        ? (alerts) =>
            p.send(
              alertsTopic,
              alerts.map((a) => ({ key: a.tenantId, value: a })),
            )
        : undefined,
      k.storeAlerts ?? true,
    );
    consumer = await consume(k.bus, {
      groupId: k.groupId,
      topics: [k.flagsTopic],
      schema: FlagV1,
      ...(k.deadLetterTopic ? { deadLetterTopic: k.deadLetterTopic } : {}),
      fromBeginning: k.fromBeginning ?? true,
      // Each batch waits for a ClickHouse insert: one partition's batch must not hold up the
      // flags of the others.
      partitionsConsumedConcurrently: k.partitionsInParallel ?? 4,
      handleBatch: async (messages) => {
        await alerter.handleFlags(messages.map((m) => m.value));
      },
    });
  } else {
    alerter = new Alerter(cache, o.store, queues, log);
  }

  const closeClients = async () => {
    await queues.close();
    await producer?.disconnect();
    producerRedis.disconnect();
    workerRedis.disconnect();
  };
  return {
    alerter,
    cache,
    queues,
    workers,
    async stop() {
      cache.stop();
      await consumer?.stop();
      await workers?.close();
      await closeClients();
    },
    async kill() {
      cache.stop();
      await consumer?.stop();
      await workers?.kill();
      await closeClients().catch(() => {});
    },
  };
}
