import { envBool, envInt, envPort, kafkaEnv, parseEnv } from "@chainscreen/config";
import { z } from "zod";
import { parseSources } from "./sources.js";

/** OFAC Sanctions List Service export of SDN_ADVANCED.XML (the default source). */
export const OFAC_ADVANCED_URL =
  "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_ADVANCED.XML";

/** Environment of the watchlist sync, parsed once at start (every problem listed, exit 1). */
export const env = parseEnv(
  z
    .object({
      /** Lists to refresh: ";"-separated `<listId>|<format>|<url or path>[|<comments url or path>]`. */
      WATCHLIST_SOURCES: z
        .string()
        .default(`ofac-sdn|ofac-advanced|${OFAC_ADVANCED_URL}`)
        .transform((s, ctx) => {
          try {
            return parseSources(s);
          } catch (err) {
            ctx.addIssue({
              code: "custom",
              message: err instanceof Error ? err.message : String(err),
            });
            return z.NEVER;
          }
        }),
      /** Time between refreshes of every source, ms. */
      WATCHLIST_REFRESH_INTERVAL_MS: envInt(3_600_000, 1_000),
      /** Directory of the file-backed version store (shared with `chainscreen lists`). */
      WATCHLIST_DATA_DIR: z.string().default(".data/watchlists"),
      /** Largest accepted drop in addresses against the active version, fraction 0–1 (else held). */
      WATCHLIST_MAX_SHRINK: z.coerce.number().min(0).max(1).default(0.2),
      /** Download timeout per source, ms. */
      WATCHLIST_FETCH_TIMEOUT_MS: envInt(120_000, 1_000),
      /** Publish every listed key of each active version at start (heals a topic that lost data). */
      WATCHLIST_PUBLISH_FULL_ON_START: envBool(true),
      /** Kafka connection: KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SASL_* (see kafkaEnv). */
      ...kafkaEnv("watchlist-sync"),
      /** Compacted topic of watchlist.v1 entries. */
      WATCHLIST_TOPIC: z.string().default("watchlist.v1"),
      /** Topic of operational events (fetch/parse failures, held versions). */
      OPS_TOPIC: z.string().default("ops.v1"),
      /** Port for /healthz, /readyz and /metrics; 0 disables it. */
      OPS_PORT: envPort(0),
      /** ClickHouse HTTP endpoint where activated versions are recorded (`list_versions`); empty disables. */
      CLICKHOUSE_URL: z.string().default(""),
      CLICKHOUSE_USER: z.string().default("default"),
      /** Password of CLICKHOUSE_USER (no default: secrets never have one; required with a URL). */
      CLICKHOUSE_PASSWORD: z.string().optional(),
      CLICKHOUSE_DATABASE: z.string().default("chainscreen"),
      /** pino level. */
      LOG_LEVEL: z.string().default("info"),
    })
    .refine((e) => e.CLICKHOUSE_URL === "" || e.CLICKHOUSE_PASSWORD !== undefined, {
      message: "CLICKHOUSE_PASSWORD is required when CLICKHOUSE_URL is set",
      path: ["CLICKHOUSE_PASSWORD"],
    }),
);
