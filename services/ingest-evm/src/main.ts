import { errorMessage } from "@chainscreen/errors";
import { createEvmSource } from "@chainscreen/evm";
import { ChainFollower, KafkaIngestStore } from "@chainscreen/ingest";
import { KafkaBus } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { Shutdown, startOpsServer } from "@chainscreen/runtime";
import { loadEnv } from "./env.js";

const env = loadEnv();
const log = createLogger({ service: "ingest-evm", level: env.LOG_LEVEL }).child({
  chain: env.EVM_CHAIN,
});
process.on("uncaughtException", (err) => {
  log.fatal({ err: errorMessage(err) }, "uncaught exception");
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  log.fatal({ err: errorMessage(err) }, "unhandled rejection");
  process.exit(1);
});

const bus = new KafkaBus(
  { brokers: env.KAFKA_BROKERS, clientId: env.KAFKA_CLIENT_ID ?? `ingest-evm-${env.EVM_CHAIN}` },
  log,
);
const { rpc, source } = await createEvmSource(
  {
    chain: env.EVM_CHAIN,
    chainId: env.chainId,
    rpcUrls: env.EVM_RPC_URLS,
    nativeSymbol: env.nativeSymbol,
    traces: env.EVM_TRACES,
    rpcBlocksPerBatch: env.EVM_RPC_BLOCKS_PER_BATCH,
    concurrency: env.EVM_CONCURRENCY,
    rpcTimeoutMs: env.EVM_RPC_TIMEOUT_MS,
  },
  log,
);
const store = new KafkaIngestStore({
  bus,
  log,
  transactionalId: env.INGEST_TRANSACTIONAL_ID ?? `ingest-evm-${env.EVM_CHAIN}`,
  topics: { transfers: env.INGEST_TRANSFERS_TOPIC, blocks: env.INGEST_BLOCKS_TOPIC },
  tailOffsets: 4 * env.EVM_REORG_WINDOW + 64,
});
const useFinalized = env.EVM_FINALITY === "finalized";
let startBlock: number;
if (env.EVM_START_BLOCK === "latest") {
  const head = await source.head();
  startBlock = useFinalized ? await source.safeHead() : Math.max(0, head - env.EVM_CONFIRMATIONS);
} else startBlock = env.EVM_START_BLOCK;

const follower = new ChainFollower({
  source,
  store,
  log,
  confirmations: env.EVM_CONFIRMATIONS,
  useSafeHead: useFinalized,
  emitPending: env.EVM_EMIT_PENDING,
  startBlock,
  window: env.EVM_REORG_WINDOW,
  batchSize: env.EVM_BATCH_SIZE,
  pollIntervalMs: env.EVM_POLL_MS,
});
await follower.restore();

let ready = false;
const ops = await startOpsServer({
  port: env.OPS_PORT,
  isReady: () => ready,
  details: () => ({ chain: env.EVM_CHAIN, tip: follower.tip?.number ?? null }),
});
log.info({ opsPort: ops.port, startBlock, endpoints: rpc.endpoints }, "ingest-evm started");

const abort = new AbortController();
const running = follower.run(abort.signal).then(
  () => undefined,
  (err: unknown) => {
    // Non-retryable (e.g. a reorg deeper than the window): stop loudly, let the supervisor see it.
    log.fatal({ err: errorMessage(err) }, "follower stopped");
    process.exit(1);
  },
);
ready = true;

// Order: stop intake (no new block fetches) → drain the step in flight (its Kafka transaction
// commits or aborts) → close the producer → close RPC connections and the ops server.
const shutdown = new Shutdown(log);
shutdown
  .add("stop follower", async () => {
    ready = false;
    abort.abort();
    await running;
  })
  .add("close kafka", async () => {
    await store.close();
    await bus.close();
  })
  .add("close rpc", () => rpc.close())
  .add("close ops server", () => ops.close());
shutdown.install();
