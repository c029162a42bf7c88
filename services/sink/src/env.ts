import { envBool, envInt, envList, envPort, parseEnv } from "@chainscreen/config";
import { z } from "zod";

/** Environment of the sink. */
export const env = parseEnv(
  z.object({
    /** Kafka bootstrap servers, comma-separated (use 127.0.0.1, not localhost). */
    KAFKA_BROKERS: envList(["127.0.0.1:9092"]),
    /** Prefix applied to every topic name (tests, shared clusters); empty for none. */
    KAFKA_TOPIC_PREFIX: z.string().default(""),
    /** Consumer group prefix; each topic gets `<group>.<topic>`. */
    SINK_GROUP_ID: z.string().min(1).default("sink"),
    /**
     * Topics to store: any of transfer.v1 (→ transfers), flag.v1 (→ flags), alert.v1 (→ alerts,
     * as the alerter published them), watchlist.v1 (→ watchlist_entries, listing history for
     * point-in-time questions).
     */
    SINK_TOPICS: envList(["transfer.v1", "flag.v1", "alert.v1", "watchlist.v1"]),
    /** Where unparseable/invalid messages go (prefix applied); empty disables. */
    SINK_DEAD_LETTER_TOPIC: z.string().default("deadletter.v1"),
    /**
     * Kafka consumers per topic in this process (same group, sharing one sink, which runs the
     * batches of a partition one after the other): one fetches while another's insert runs.
     */
    SINK_CONSUMERS: envInt(2, 1),
    /**
     * Partitions each consumer processes at once: one batch is validated and encoded while
     * another's insert runs. bench/README.md (store, session 3): 2 consumers × 2 partitions
     * stored 45–59k rows/s across loads, 1 × 4 35–61k (best on an idle machine), 1 × 1 33–49k.
     */
    SINK_PARTITIONS_IN_PARALLEL: envInt(2, 1),
    /** Rows per insert at most (a fetched batch larger than this is split). */
    SINK_MAX_BATCH_ROWS: envInt(50_000, 1),
    /** Bytes fetched per partition per poll at most (with the two below: batches by size and time). */
    SINK_FETCH_BYTES_PER_PARTITION: envInt(8 * 1024 * 1024, 1024),
    /**
     * The broker holds a fetch until this many bytes are ready (or SINK_FETCH_MAX_WAIT_MS passed),
     * so that while the sink keeps up with a steady stream each insert still carries thousands of
     * rows. Each insert costs the engine a fixed ~30 ms beside its rows (measured on the embedded
     * engine, transfers: 77 µs per row in inserts of 500 rows, 33 at 2,000, 13 at 20,000).
     */
    SINK_FETCH_MIN_BYTES: envInt(16 * 1024 * 1024, 1),
    /**
     * Longest the broker holds a fetch for SINK_FETCH_MIN_BYTES (ms): the storage delay added at
     * low traffic. Low-volume topics (flags, alerts) are stored in one insert per partition per
     * wait, and a flags insert writes a part to six tables (its materialized views). Pipeline
     * bench, 1M transfers: engine CPU 42 µs per transfer at 250 ms (the old fixed wait), 23–26 at
     * 2 s, 19.5 at 5 s.
     */
    SINK_FETCH_MAX_WAIT_MS: envInt(5_000, 10),
    /** Upper bound of the retry backoff while the store is unreachable (ms). */
    SINK_MAX_RETRY_DELAY_MS: envInt(10_000, 100),
    /** ClickHouse HTTP endpoint: the embedded server or a real one. */
    CLICKHOUSE_URL: z.string().url().default("http://127.0.0.1:8123"),
    CLICKHOUSE_USER: z.string().min(1),
    /** Password of CLICKHOUSE_USER (no default: secrets never have one). */
    CLICKHOUSE_PASSWORD: z.string(),
    CLICKHOUSE_DATABASE: z.string().default("chainscreen"),
    /** Apply pending migrations at start (single-machine setups). */
    SINK_MIGRATE: envBool(false),
    /** Port for /healthz, /readyz, /metrics; 0 picks a free one. */
    SINK_OPS_PORT: envPort(9464),
    /** Seconds between consumer-lag measurements for the lag gauge. */
    SINK_LAG_INTERVAL_S: envInt(10, 1),
    LOG_LEVEL: z.string().default("info"),
  }),
);
