import { ChainFollower, KafkaIngestStore } from "@chainscreen/ingest";
import { KafkaBus } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { counter, Shutdown, startOpsServer } from "@chainscreen/runtime";
import { TronBlockSource, TronHttpClient } from "@chainscreen/tron";
import { env } from "./env.js";

const log = createLogger({ service: "ingest-tron", level: env.LOG_LEVEL });
const shutdown = new Shutdown(log, 30_000).install();

const apiRetries = counter("chainscreen_tron_api_retries_total", "Failed Tron API attempts", [
  "path",
]);
const client = new TronHttpClient({
  urls: env.TRON_API_URLS,
  apiKey: env.TRON_API_KEY,
  timeoutMs: env.TRON_REQUEST_TIMEOUT_MS,
  maxAttempts: env.TRON_MAX_ATTEMPTS,
  log,
  onRetry: ({ path }) => apiRetries.inc({ path }),
});
const source = new TronBlockSource({
  client,
  finality: env.TRON_FINALITY,
  lag: env.TRON_LAG_BLOCKS,
  concurrency: env.TRON_CONCURRENCY,
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

const startBlock = env.TRON_START_BLOCK ?? (await source.safeHead());
// Finality comes from the node: the solidified block is the safe head, so confirmations are
// not used. Early (pending) events only make sense when following the tip.
const follower = new ChainFollower({
  source,
  store,
  log,
  confirmations: 0,
  useSafeHead: true,
  emitPending: env.TRON_FINALITY === "head" && env.TRON_EMIT_PENDING,
  startBlock,
  window: env.TRON_REORG_WINDOW,
  batchSize: env.TRON_BATCH_SIZE,
  pollIntervalMs: env.TRON_POLL_INTERVAL_MS,
});
log.info(
  {
    finality: env.TRON_FINALITY,
    lag: env.TRON_LAG_BLOCKS,
    urls: env.TRON_API_URLS.length,
    startBlock,
  },
  "tron ingester starting",
);

const ops = env.OPS_PORT
  ? await startOpsServer({
      port: env.OPS_PORT,
      isReady: () => follower.tip !== null,
      details: () => ({ tip: follower.tip?.number ?? null, endpoint: client.currentUrl }),
    })
  : null;

const stop = new AbortController();
const running = follower.run(stop.signal).catch((err: unknown) => {
  // Non-retryable (e.g. a reorg deeper than the window): stop loudly, the supervisor restarts.
  log.fatal({ err }, "tron follower stopped");
  void shutdown.run("follower failed").then(() => process.exit(1));
});

// Order: stop intake (no new tick; the tick in flight finishes and commits its Kafka transaction,
// so the checkpoint and the events stay together), then close the producer, the bus and the ops
// server. There is nothing to flush: each commit is already durable.
shutdown.add("stop follower", async () => {
  stop.abort();
  await running;
});
shutdown.add("kafka store", () => store.close());
shutdown.add("tron api connections", () => client.close());
shutdown.add("kafka bus", () => bus.close());
if (ops) shutdown.add("ops server", () => ops.close());
