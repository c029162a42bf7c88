import {
  BitcoinBlockSource,
  createBackend,
  LmdbOutpointStore,
  Networks,
  ScriptTypes,
} from "@chainscreen/bitcoin";
import { kafkaConnection } from "@chainscreen/config";
import { startFollowerService } from "@chainscreen/ingest";
import { createLogger } from "@chainscreen/logger";
import { counter, Shutdown } from "@chainscreen/runtime";
import { env } from "./env.js";

const log = createLogger({ service: "ingest-bitcoin", level: env.LOG_LEVEL });
const shutdown = new Shutdown(log, 30_000).install();

// Outputs by script type: nulldata and nonstandard are the outputs that get no address.
const outputs = counter("chainscreen_bitcoin_outputs_total", "Block outputs by script type", [
  "type",
]);
const outputSats = counter(
  "chainscreen_bitcoin_output_sat_total",
  "Output value by script type, satoshi",
  ["type"],
);
const fetchedTxs = counter(
  "chainscreen_bitcoin_prevout_fetches_total",
  "Transactions fetched to resolve inputs",
);
const unresolved = counter(
  "chainscreen_bitcoin_unresolved_inputs_total",
  "Inputs emitted without their prevout",
);
for (const t of ScriptTypes) outputs.inc({ type: t }, 0);

const backend = createBackend({
  api: env.BITCOIN_API,
  urls: env.BITCOIN_URLS,
  username: env.BITCOIN_RPC_USER,
  password: env.BITCOIN_RPC_PASSWORD,
  retry: { attempts: env.BITCOIN_MAX_ATTEMPTS, timeoutMs: env.BITCOIN_REQUEST_TIMEOUT_MS },
  log,
});
const outpoints = env.BITCOIN_OUTPOINT_DB
  ? new LmdbOutpointStore(env.BITCOIN_OUTPOINT_DB, { pruneDepth: env.BITCOIN_OUTPOINT_PRUNE_DEPTH })
  : undefined;
const source = new BitcoinBlockSource({
  backend,
  chain: env.BITCOIN_CHAIN,
  network: Networks[env.BITCOIN_NETWORK],
  prevouts: env.BITCOIN_PREVOUTS,
  store: outpoints,
  txCacheSize: env.BITCOIN_TX_CACHE_SIZE,
  strictInputs: env.BITCOIN_STRICT_INPUTS,
  log,
  onBlock: (_height, stats, info) => {
    for (const [type, s] of Object.entries(stats.byType)) {
      outputs.inc({ type }, s.outputs);
      outputSats.inc({ type }, s.value);
    }
    fetchedTxs.inc(info.fetchedTxs);
    unresolved.inc(stats.unresolvedInputs);
  },
});
const startBlock =
  env.BITCOIN_START_BLOCK ?? Math.max(0, (await source.head()) - env.BITCOIN_CONFIRMATIONS);
log.info(
  {
    api: env.BITCOIN_API,
    urls: env.BITCOIN_URLS.length,
    confirmations: env.BITCOIN_CONFIRMATIONS,
    startBlock,
  },
  "bitcoin ingester starting",
);

// On shutdown the outpoint index closes after the Kafka store, before the bus (see
// startFollowerService for the order); its writes are committed per block.
await startFollowerService({
  name: "bitcoin",
  log,
  shutdown,
  kafka: kafkaConnection(env),
  topics: { transfers: env.TRANSFERS_TOPIC, blocks: env.INGEST_BLOCKS_TOPIC },
  transactionalId: env.INGEST_TRANSACTIONAL_ID,
  follower: {
    source,
    confirmations: env.BITCOIN_CONFIRMATIONS,
    emitPending: env.BITCOIN_EMIT_PENDING,
    startBlock,
    window: env.BITCOIN_REORG_WINDOW,
    batchSize: env.BITCOIN_BATCH_SIZE,
    pollIntervalMs: env.BITCOIN_POLL_INTERVAL_MS,
  },
  opsPort: env.OPS_PORT,
  opsDetails: () => ({ source: source.name }),
  sourceClients: outpoints ? [["outpoint index", () => outpoints.close()]] : [],
});
