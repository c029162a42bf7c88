import { AddressCategory } from "@chainscreen/alerts";
import { envBool, envInt, envList, envPort, parseEnv } from "@chainscreen/config";
import { z } from "zod";

const categories = Object.values(AddressCategory) as [AddressCategory, ...AddressCategory[]];

/** The alerter's environment, parsed once (exits 1 listing every problem). */
export function loadEnv(env: Record<string, string | undefined> = process.env) {
  return parseEnv(
    z.object({
      /** Kafka bootstrap servers, comma-separated. */
      KAFKA_BROKERS: envList(["127.0.0.1:9092"]),
      /** Prefix for every topic name (empty in production). */
      KAFKA_TOPIC_PREFIX: z.string().default(""),
      /** Consumer group of the flag consumer. */
      ALERTER_GROUP_ID: z.string().min(1).default("alerter"),
      /** Partitions of the flag topic handled at once (each keeps its order). */
      ALERTER_PARTITIONS_IN_PARALLEL: envInt(4, 1),
      /** Publish every alert to the alert.v1 topic (alongside its delivery job). */
      ALERTER_PUBLISH_ALERTS: envBool(true),
      /**
       * Also insert alerts into ClickHouse from the alerter. Off by default: the sink stores
       * alert.v1 (its default SINK_TOPICS), and no webhook waits for an insert. Turn it on when
       * no sink stores alert.v1; without ALERTER_PUBLISH_ALERTS the alerter always stores them.
       */
      ALERTER_STORE_ALERTS: envBool(false),
      /** What this instance runs: intake (Kafka → jobs), delivery (jobs → webhooks) or both. */
      ALERTER_ROLE: z.enum(["all", "intake", "delivery"]).default("all"),
      /** Redis for BullMQ; AOF persistence on (appendonly yes) so jobs survive a restart. */
      REDIS_URL: z.string().url(),
      /** BullMQ key prefix (separates environments sharing one Redis). */
      QUEUE_PREFIX: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/)
        .default("chainscreen"),
      /** ClickHouse HTTP endpoint holding subscriptions, alerts and webhook_deliveries. */
      CLICKHOUSE_URL: z.string().url(),
      CLICKHOUSE_USER: z.string().min(1).default("default"),
      /** No default: secrets are always given explicitly. */
      CLICKHOUSE_PASSWORD: z.string(),
      CLICKHOUSE_DATABASE: z.string().min(1).default("chainscreen"),
      /** Base64 32-byte key encrypting webhook signing secrets at rest (AES-256-GCM); the API must use the same. */
      ALERTER_SECRETS_KEY: z
        .string()
        .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64")
        .optional(),
      /** How often the subscription version is polled (ms); changes apply without restart. */
      SUBSCRIPTION_POLL_MS: envInt(2_000, 100),
      /**
       * How often delivery attempts are written to webhook_deliveries (ms): one insert per flush,
       * and each insert writes a part, a fixed cost for ClickHouse whatever its size (bench/README.md,
       * pipeline, session 5). The delivery itself never waits for it.
       */
      ALERTER_DELIVERY_LOG_FLUSH_MS: envInt(2_000, 10),
      /** Whole-request timeout of one webhook POST (ms). */
      WEBHOOK_TIMEOUT_MS: envInt(10_000, 100),
      /** Response bytes read at most (the body is never stored or logged). */
      WEBHOOK_MAX_RESPONSE_BYTES: envInt(65_536, 0),
      /** Attempts per delivery including the first; with the defaults about 10 hours of retries. */
      WEBHOOK_ATTEMPTS: envInt(20, 1),
      /** First retry delay (ms); doubles per attempt. */
      WEBHOOK_BACKOFF_BASE_MS: envInt(5_000, 1),
      /** Cap of one retry delay (ms). */
      WEBHOOK_BACKOFF_MAX_MS: envInt(3_600_000, 1),
      /** Randomised fraction of each delay, 0 … 1. */
      WEBHOOK_BACKOFF_JITTER: z.coerce.number().min(0).max(1).default(0.5),
      /** Non-public ranges webhooks may reach (comma-separated: loopback, private, …); empty in production. */
      WEBHOOK_ALLOW_RANGES: envList([]).pipe(z.array(z.enum(categories))),
      /** Allow plain http:// targets (default only when loopback is allowed). */
      WEBHOOK_ALLOW_HTTP: envBool(false),
      /** Completed job ids kept this long (s): redelivered flags within it are not re-sent. */
      QUEUE_KEEP_COMPLETED_S: envInt(7 * 86_400, 60),
      /** Dead letters kept in Redis this long (s); webhook_deliveries keeps the record longer. */
      QUEUE_KEEP_FAILED_S: envInt(30 * 86_400, 60),
      /** Port of /healthz, /readyz, /metrics. */
      OPS_PORT: envPort(9474),
      /** pino level. */
      LOG_LEVEL: z.string().default("info"),
    }),
    env,
  );
}

/** Parsed environment. */
export type Env = ReturnType<typeof loadEnv>;
