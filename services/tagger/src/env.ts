import { envBool, envInt, envList, envPort, parseEnv } from "@chainscreen/config";
import { z } from "zod";

/** Environment of the tagger. */
export const env = parseEnv(
  z
    .object({
      /** Kafka bootstrap servers, comma-separated (use 127.0.0.1, not localhost). */
      KAFKA_BROKERS: envList(["127.0.0.1:9092"]),
      /** Prefix applied to every topic name (tests, shared clusters); empty for none. */
      KAFKA_TOPIC_PREFIX: z.string().default(""),
      /** Consumer group of the transfer stage (prefixed like topics); `-exposure`/`-retro` derive from it. */
      TAGGER_GROUP_ID: z.string().min(1).default("tagger"),
      /** Partitions of the exposure topic when this instance creates it (max instances that share state). */
      TAGGER_EXPOSURE_PARTITIONS: envInt(8, 1),
      /** Exposure records older than this (days) are deleted from the topic; 0 keeps them forever. */
      TAGGER_EXPOSURE_RETENTION_DAYS: envInt(90, 0),
      /** Rules file (YAML or JSON, see packages/tagger/README.md); empty uses the defaults. */
      TAGGER_RULES_FILE: z.string().default(""),
      /** Seconds between checks of the rules and suppressions files for changes (reload). */
      TAGGER_RELOAD_S: envInt(5, 1),
      /** JSON file of false-positive suppressions; empty disables (the store is used when set). */
      TAGGER_SUPPRESSIONS_FILE: z.string().default(""),
      /** Retro-screen stored history when list versions add addresses (needs ClickHouse). */
      TAGGER_RETRO: envBool(true),
      /** Most retro flags per newly listed address. */
      TAGGER_RETRO_LIMIT: envInt(10_000, 1),
      /** Transfers re-read per partition on assignment to rebuild the outflows held for late exposure. */
      TAGGER_REPLAY_TRANSFERS: envInt(100_000, 0),
      /**
       * Allocate the ring of held outflows (indirect.maxHeldOutflows × 1 KiB, 512 MB by default)
       * at start and make it resident, instead of faulting it in while it first fills: memory
       * use is fixed from the start, and the first pass is ~5 % faster (packages/tagger/README.md).
       */
      TAGGER_RESERVE_MEMORY: envBool(false),
      /** Seconds to wait for the watchlist to load before giving up (exit 1, supervisor restarts). */
      TAGGER_WATCHLIST_TIMEOUT_S: envInt(120, 1),
      /** ClickHouse HTTP endpoint for retro-screening and suppressions; empty disables both. */
      CLICKHOUSE_URL: z.string().default(""),
      CLICKHOUSE_USER: z.string().default("default"),
      /** Password of CLICKHOUSE_USER (no default: secrets never have one; required with a URL). */
      CLICKHOUSE_PASSWORD: z.string().optional(),
      CLICKHOUSE_DATABASE: z.string().default("chainscreen"),
      /** Port for /healthz, /readyz, /metrics; 0 picks a free one. */
      TAGGER_OPS_PORT: envPort(9466),
      LOG_LEVEL: z.string().default("info"),
    })
    .refine((e) => e.CLICKHOUSE_URL === "" || e.CLICKHOUSE_PASSWORD !== undefined, {
      message: "CLICKHOUSE_PASSWORD is required when CLICKHOUSE_URL is set",
      path: ["CLICKHOUSE_PASSWORD"],
    }),
);
