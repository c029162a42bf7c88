import { envBool, envInt, envList, envPort, parseEnv } from "@chainscreen/config";
import { z } from "zod";

/** Environment of the API service (parsed once at start; every problem is listed, then exit 1). */
export const env = parseEnv(
  z.object({
    /** Interface to listen on; put a TLS proxy in front when exposing it. */
    API_HOST: z.string().default("127.0.0.1"),
    /** HTTP port of the API and console. */
    API_PORT: envPort(8080),
    /** ClickHouse HTTP endpoint (embedded server or a real one). */
    CLICKHOUSE_URL: z.string().url().default("http://127.0.0.1:8123"),
    /** Database holding the store's tables (migrated by `chainscreen db migrate`). */
    CLICKHOUSE_DATABASE: z.string().default("chainscreen"),
    /** Service user (reads flows, writes audit/cases/keys). */
    CLICKHOUSE_USER: z.string().default("writer"),
    /** Password of the service user (no default: secret). */
    CLICKHOUSE_PASSWORD: z.string(),
    /** Read-only user for POST /v1/sql, whose profile carries the limits. */
    CLICKHOUSE_SQL_USER: z.string().default("analyst"),
    /** Password of the read-only user (no default: secret). */
    CLICKHOUSE_SQL_PASSWORD: z.string(),
    /** Kafka brokers for the KYT-shaped endpoint and the live watchlist; empty disables both. */
    KAFKA_BROKERS: envList([]),
    /** Prefix of topic names (per environment). */
    TOPIC_PREFIX: z.string().default(""),
    /**
     * Publish the exchange wallets named by pushed reports (`exchangeAddress`) as service tags
     * (watchlist.v1, list exchange-wallets); they stop indirect exposure at those addresses, so
     * turn this off when reporting tenants are not trusted to name only their own wallets.
     */
    EXCHANGE_WALLET_TAGS: envBool(true),
    /** Redis for shared rate-limit counters and alert redelivery; empty = in-process counters, no redelivery. */
    REDIS_URL: z.string().default(""),
    /** BullMQ key prefix used by the alerter (redelivery enqueues there). */
    ALERTS_QUEUE_PREFIX: z.string().default("chainscreen"),
    /** Directory of the watchlist store (list versions, as written by `chainscreen lists import`). */
    WATCHLIST_DIR: z.string().default(".data/watchlists"),
    /** Requests per minute per key unless the key has its own limit. */
    API_RATE_LIMIT_PER_MINUTE: envInt(6000, 1),
    /** Seconds a revoked key may keep working on other instances (key cache TTL). */
    API_KEY_CACHE_SECONDS: envInt(5, 0),
    /** Allow webhook targets on private/loopback networks (development only). */
    ALERTS_ALLOW_PRIVATE_TARGETS: envBool(false),
    /** Built console directory (vite build output); default services/api/console/dist. */
    API_CONSOLE_DIR: z.string().optional(),
    /** pino level. */
    LOG_LEVEL: z.string().default("info"),
  }),
);
