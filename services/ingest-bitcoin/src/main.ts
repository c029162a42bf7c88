import {
  BitcoinBlockSource,
  createBackend,
  LmdbOutpointStore,
  Networks,
  ScriptTypes,
} from "@chainscreen/bitcoin";
import { ChainFollower, KafkaIngestStore } from "@chainscreen/ingest";
import { KafkaBus } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { counter, Shutdown, startOpsServer } from "@chainscreen/runtime";
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
const sasl =
  env.KAFKA_SASL_MECHANISM && env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD
    ? {
        mechanism: env.KAFKA_SASL_MECHANISM,
        username: env.KAFKA_SASL_USERNAME,
        password: env.KAFKA_SASL_PASSWORD,
      }
    : undefined;
const bus = new KafkaBus(
  { brokers: env.KAFKA_BROKERS, clientId: env.KAFKA_CLIENT_ID, ssl: env.KAFKA_SSL, sasl },
  log,
);
const store = new KafkaIngestStore({
  bus,
  log,
  topics: { transfers: env.TRANSFERS_TOPIC, blocks: env.INGEST_BLOCKS_TOPIC },
  transactionalId: env.INGEST_TRANSACTIONAL_ID,
});

const startBlock =
  env.BITCOIN_START_BLOCK ?? Math.max(0, (await source.head()) - env.BITCOIN_CONFIRMATIONS);
const follower = new ChainFollower({
  source,
  store,
  log,
  confirmations: env.BITCOIN_CONFIRMATIONS,
  emitPending: env.BITCOIN_EMIT_PENDING,
  startBlock,
  window: env.BITCOIN_REORG_WINDOW,
  batchSize: env.BITCOIN_BATCH_SIZE,
  pollIntervalMs: env.BITCOIN_POLL_INTERVAL_MS,
});
log.info(
  {
    api: env.BITCOIN_API,
    urls: env.BITCOIN_URLS.length,
    confirmations: env.BITCOIN_CONFIRMATIONS,
    startBlock,
  },
  "bitcoin ingester starting",
);

const ops = env.OPS_PORT
  ? await startOpsServer({
      port: env.OPS_PORT,
      isReady: () => follower.tip !== null,
      details: () => ({ tip: follower.tip?.number ?? null, source: source.name }),
    })
  : null;

const stop = new AbortController();
const running = follower.run(stop.signal).catch((err: unknown) => {
  // Non-retryable (e.g. a reorg deeper than the window): stop loudly, the supervisor restarts.
  log.fatal({ err }, "bitcoin follower stopped");
  void shutdown.run("follower failed").then(() => process.exit(1));
});

// Order: stop intake (the tick in flight finishes and commits its Kafka transaction, so events
// and checkpoint stay together), then close the producer, the bus, the outpoint index (its
// writes are committed per block) and the ops server.
shutdown.add("stop follower", async () => {
  stop.abort();
  await running;
});
shutdown.add("kafka store", () => store.close());
shutdown.add("kafka bus", () => bus.close());
if (outpoints) shutdown.add("outpoint index", () => outpoints.close());
if (ops) shutdown.add("ops server", () => ops.close());
