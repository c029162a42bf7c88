import { envBool, envInt, envList, envPort, kafkaEnv, parseEnv } from "@chainscreen/config";
import { z } from "zod";

/** Environment of the Tron ingester, parsed once at start (every problem listed, exit 1). */
export const env = parseEnv(
  z.object({
    /** Tron full-node HTTP API base URLs (TronGrid or own nodes), tried in order with failover. */
    TRON_API_URLS: envList().refine((l) => l.length > 0, "at least one URL is required"),
    /** TronGrid API key, sent as the TRON-PRO-API-KEY header; secret, no default. */
    TRON_API_KEY: z.string().optional(),
    /** `solidified`: only irreversible blocks (/walletsolidity); `head`: the tip (/wallet). */
    TRON_FINALITY: z.enum(["solidified", "head"]).default("solidified"),
    /** Blocks to stay behind the chosen head (count). */
    TRON_LAG_BLOCKS: envInt(0),
    /** With TRON_FINALITY=head: emit tip blocks as pending, confirmed or retracted at solidification. */
    TRON_EMIT_PENDING: envBool(false),
    /** First block when nothing is checkpointed; unset = the current solidified block. */
    TRON_START_BLOCK: z.preprocess(
      (v) => (v === "" ? undefined : v),
      z.coerce.number().int().min(0).optional(),
    ),
    /** Per-request timeout of the Tron API, ms. */
    TRON_REQUEST_TIMEOUT_MS: envInt(10_000, 100),
    /** Attempts per API call across all URLs before the step fails and the follower backs off. */
    TRON_MAX_ATTEMPTS: envInt(6, 1),
    /** Blocks fetched and committed per Kafka transaction while catching up. */
    TRON_BATCH_SIZE: envInt(20, 1),
    /** Blocks fetched in parallel inside a batch. */
    TRON_CONCURRENCY: envInt(8, 1),
    /** Wait between polls at the head, ms (Tron makes a block every 3 s). */
    TRON_POLL_INTERVAL_MS: envInt(1_000, 10),
    /** Remembered blocks for reorg detection and retraction (head mode), count. */
    TRON_REORG_WINDOW: envInt(128, 1),
    /** Kafka connection: KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SASL_* (see kafkaEnv). */
    ...kafkaEnv("ingest-tron"),
    /** Topic for transfer.v1 events. */
    TRANSFERS_TOPIC: z.string().default("transfer.v1"),
    /** Compacted checkpoint topic of the follower. */
    INGEST_BLOCKS_TOPIC: z.string().default("ingest.blocks"),
    /** Stable Kafka transactional id: one per Tron follower; a restart fences the old process. */
    INGEST_TRANSACTIONAL_ID: z.string().default("ingest-tron"),
    /** Port for /healthz, /readyz and /metrics; 0 disables it. */
    OPS_PORT: envPort(0),
    /** pino level. */
    LOG_LEVEL: z.string().default("info"),
  }),
);
