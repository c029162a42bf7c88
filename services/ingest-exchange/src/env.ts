import { envInt, envList, envPort, parseEnv } from "@chainscreen/config";
import { z } from "zod";

/** Environment of ingest-exchange. */
export const env = parseEnv(
  z.object({
    /** Kafka bootstrap servers, comma-separated. */
    KAFKA_BROKERS: envList(["127.0.0.1:9092"]),
    /** Prefix applied to every topic name (isolates environments on one cluster). */
    KAFKA_TOPIC_PREFIX: z.string().default(""),
    /** Port of /healthz, /readyz and /metrics. */
    OPS_PORT: envPort(9471),
    /** pino log level. */
    LOG_LEVEL: z.string().default("info"),
    /** Where poller checkpoints are kept. */
    EXCHANGE_DATA_DIR: z.string().default(".data/ingest-exchange"),
    /**
     * Accounts to poll, comma-separated `<exchange>:<account>` (exchange binance, okx or kucoin).
     * For each, EXCHANGE_<ACCOUNT>_API_KEY, _API_SECRET, _PASSPHRASE (OKX/KuCoin), _BASE_URL
     * (default the exchange's public API) and _TENANT (tenant id the reports belong to).
     */
    EXCHANGE_ACCOUNTS: envList([]),
    /** Seconds between polls. */
    EXCHANGE_POLL_INTERVAL_S: envInt(60, 1),
    /** First run starts this many days back (ms precision not needed). */
    EXCHANGE_BACKFILL_DAYS: envInt(30, 0),
  }),
);
