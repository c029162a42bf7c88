import { ClickHouseAlertsStore, SecretBox } from "@chainscreen/alerts";
import { errorMessage } from "@chainscreen/errors";
import { KafkaBus, standardTopics, topicName } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { counter, histogram, Shutdown, startOpsServer } from "@chainscreen/runtime";
import { Topics } from "@chainscreen/schema";
import { createStoreClient } from "@chainscreen/store";
import { startAlerter } from "./app.js";
import { loadEnv } from "./env.js";

const env = loadEnv();
const log = createLogger({ service: "alerter", level: env.LOG_LEVEL });
process.on("uncaughtException", (err) => {
  log.fatal({ err: errorMessage(err) }, "uncaught exception");
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  log.fatal({ err: errorMessage(err) }, "unhandled rejection");
  process.exit(1);
});

const attempts = counter("chainscreen_webhook_attempts_total", "Webhook delivery attempts", [
  "status",
]);
const latency = histogram(
  "chainscreen_webhook_end_to_end_seconds",
  "Enqueue to successful delivery (s)",
);

const client = createStoreClient({
  url: env.CLICKHOUSE_URL,
  username: env.CLICKHOUSE_USER,
  password: env.CLICKHOUSE_PASSWORD,
  database: env.CLICKHOUSE_DATABASE,
});
const store = new ClickHouseAlertsStore(
  client,
  env.ALERTER_SECRETS_KEY ? SecretBox.fromBase64(env.ALERTER_SECRETS_KEY) : null,
);
const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS, clientId: "alerter" }, log);
// The alerter writes alert.v1 and dead letters: make sure its topics exist (a fresh cluster has none).
await bus.ensureTopics(standardTopics(env.KAFKA_TOPIC_PREFIX));
const intake = env.ALERTER_ROLE !== "delivery";

const app = await startAlerter({
  redisUrl: env.REDIS_URL,
  store,
  log,
  settings: {
    prefix: env.QUEUE_PREFIX,
    retry: {
      attempts: env.WEBHOOK_ATTEMPTS,
      baseDelayMs: env.WEBHOOK_BACKOFF_BASE_MS,
      maxDelayMs: env.WEBHOOK_BACKOFF_MAX_MS,
      jitter: env.WEBHOOK_BACKOFF_JITTER,
    },
    keepCompletedSec: env.QUEUE_KEEP_COMPLETED_S,
    keepFailedSec: env.QUEUE_KEEP_FAILED_S,
  },
  ssrf: { allow: env.WEBHOOK_ALLOW_RANGES, allowHttp: env.WEBHOOK_ALLOW_HTTP },
  subscriptionPollMs: env.SUBSCRIPTION_POLL_MS,
  deliveryLogFlushMs: env.ALERTER_DELIVERY_LOG_FLUSH_MS,
  deliver: env.ALERTER_ROLE !== "intake",
  worker: {
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    maxResponseBytes: env.WEBHOOK_MAX_RESPONSE_BYTES,
    onAttempt: (row, data) => {
      attempts.inc({ status: row.status });
      if (row.status === "delivered") latency.observe((row.at - data.enqueuedAt) / 1000);
    },
  },
  ...(intake
    ? {
        kafka: {
          bus,
          flagsTopic: topicName(Topics.flags, env.KAFKA_TOPIC_PREFIX),
          alertsTopic: env.ALERTER_PUBLISH_ALERTS
            ? topicName(Topics.alerts, env.KAFKA_TOPIC_PREFIX)
            : null,
          deadLetterTopic: topicName(Topics.deadLetter, env.KAFKA_TOPIC_PREFIX),
          groupId: env.ALERTER_GROUP_ID,
          partitionsInParallel: env.ALERTER_PARTITIONS_IN_PARALLEL,
          storeAlerts: env.ALERTER_STORE_ALERTS,
        },
      }
    : {}),
});

const ops = await startOpsServer({
  port: env.OPS_PORT,
  isReady: () => true,
  details: () => ({
    role: env.ALERTER_ROLE,
    subscriptions: app.cache.index.size,
    endpointWorkers: app.workers?.size ?? 0,
  }),
});
log.info({ opsPort: ops.port, role: env.ALERTER_ROLE }, "alerter started");

// Order: stop intake (Kafka consumer) → let in-flight deliveries finish and write their attempt
// rows (app.stop does both, then closes Redis) → close Kafka and ClickHouse clients → ops server.
new Shutdown(log)
  .add("alerter", () => app.stop())
  .add("kafka", () => bus.close())
  .add("clickhouse", () => client.close())
  .add("ops", () => ops.close())
  .install();
