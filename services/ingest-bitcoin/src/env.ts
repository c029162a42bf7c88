import { envBool, envInt, envList, envPort, kafkaEnv, parseEnv } from "@chainscreen/config";
import { z } from "zod";

/** Environment of the Bitcoin ingester, parsed once at start (every problem listed, exit 1). */
export const env = parseEnv(
  z.object({
    /** `rpc`: Bitcoin Core JSON-RPC; `esplora`: Esplora REST (Blockstream / mempool.space shape). */
    BITCOIN_API: z.enum(["rpc", "esplora"]).default("rpc"),
    /** Node URLs, tried in order with failover (RPC: http://host:8332; Esplora: https://host/api). */
    BITCOIN_URLS: envList().refine((l) => l.length > 0, "at least one URL is required"),
    /** RPC user (Basic auth); may also be given inside the URLs. */
    BITCOIN_RPC_USER: z.string().optional(),
    /** RPC password; secret, no default. */
    BITCOIN_RPC_PASSWORD: z.string().optional(),
    /** Address encoding: bitcoin (mainnet), testnet or regtest. */
    BITCOIN_NETWORK: z.enum(["bitcoin", "testnet", "regtest"]).default("bitcoin"),
    /** Chain name in transfer.v1 events. */
    BITCOIN_CHAIN: z.string().default("bitcoin"),
    /** Blocks on top of a block before it is emitted as confirmed (count). */
    BITCOIN_CONFIRMATIONS: envInt(6),
    /** Emit blocks above the confirmation depth early as pending (later confirmed or retracted). */
    BITCOIN_EMIT_PENDING: envBool(false),
    /** First block when nothing is checkpointed; unset = head − confirmations. */
    BITCOIN_START_BLOCK: z.preprocess(
      (v) => (v === "" ? undefined : v),
      z.coerce.number().int().min(0).optional(),
    ),
    /** Input prevouts: auto (getblock verbosity 3 on Core ≥ 23), node (always), index (LMDB + getrawtransaction). */
    BITCOIN_PREVOUTS: z.enum(["auto", "node", "index"]).default("auto"),
    /** Directory of the LMDB outpoint index; empty = no index (misses go to getrawtransaction). */
    BITCOIN_OUTPOINT_DB: z.string().default(".data/bitcoin-outpoints"),
    /** Depth (blocks) after which outputs spent by a block leave the index; keep > BITCOIN_REORG_WINDOW. */
    BITCOIN_OUTPOINT_PRUNE_DEPTH: envInt(288, 1),
    /** Transactions kept in memory for getrawtransaction misses (count). */
    BITCOIN_TX_CACHE_SIZE: envInt(10_000, 0),
    /** Refuse a block whose inputs cannot all be resolved (true), or emit it with unknown fees. */
    BITCOIN_STRICT_INPUTS: envBool(true),
    /** Per-request timeout, ms. */
    BITCOIN_REQUEST_TIMEOUT_MS: envInt(30_000, 100),
    /** Attempts per node call across all URLs before the step fails and the follower backs off. */
    BITCOIN_MAX_ATTEMPTS: envInt(5, 1),
    /** Blocks fetched and committed per Kafka transaction while catching up. */
    BITCOIN_BATCH_SIZE: envInt(5, 1),
    /** Wait between polls at the head, ms. */
    BITCOIN_POLL_INTERVAL_MS: envInt(5_000, 10),
    /** Remembered blocks for reorg detection and retraction (count). */
    BITCOIN_REORG_WINDOW: envInt(144, 1),
    /** Kafka connection: KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SASL_* (see kafkaEnv). */
    ...kafkaEnv("ingest-bitcoin"),
    /** Topic for transfer.v1 events. */
    TRANSFERS_TOPIC: z.string().default("transfer.v1"),
    /** Compacted checkpoint topic of the follower. */
    INGEST_BLOCKS_TOPIC: z.string().default("ingest.blocks"),
    /** Stable Kafka transactional id: one per Bitcoin follower; a restart fences the old process. */
    INGEST_TRANSACTIONAL_ID: z.string().default("ingest-bitcoin"),
    /** Port for /healthz, /readyz and /metrics; 0 disables it. */
    OPS_PORT: envPort(0),
    /** pino level. */
    LOG_LEVEL: z.string().default("info"),
  }),
);
