import { kafkaConnection } from "@chainscreen/config";
import { startFollowerService } from "@chainscreen/ingest";
import { createLogger } from "@chainscreen/logger";
import { counter, Shutdown } from "@chainscreen/runtime";
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
const startBlock = env.TRON_START_BLOCK ?? (await source.safeHead());
log.info(
  {
    finality: env.TRON_FINALITY,
    lag: env.TRON_LAG_BLOCKS,
    urls: env.TRON_API_URLS.length,
    startBlock,
  },
  "tron ingester starting",
);

await startFollowerService({
  name: "tron",
  log,
  shutdown,
  kafka: kafkaConnection(env),
  topics: { transfers: env.TRANSFERS_TOPIC, blocks: env.INGEST_BLOCKS_TOPIC },
  transactionalId: env.INGEST_TRANSACTIONAL_ID,
  // Finality comes from the node: the solidified block is the safe head, so confirmations are
  // not used. Early (pending) events only make sense when following the tip.
  follower: {
    source,
    confirmations: 0,
    useSafeHead: true,
    emitPending: env.TRON_FINALITY === "head" && env.TRON_EMIT_PENDING,
    startBlock,
    window: env.TRON_REORG_WINDOW,
    batchSize: env.TRON_BATCH_SIZE,
    pollIntervalMs: env.TRON_POLL_INTERVAL_MS,
  },
  opsPort: env.OPS_PORT,
  opsDetails: () => ({ endpoint: client.currentUrl }),
  sourceClients: [["tron api connections", () => client.close()]],
});
