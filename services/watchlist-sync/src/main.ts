import { join, resolve } from "node:path";
import { kafkaConnection } from "@chainscreen/config";
import { KafkaBus } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { Shutdown, startOpsServer } from "@chainscreen/runtime";
import { createStoreClient, Store } from "@chainscreen/store";
import { FileWatchlistStore } from "@chainscreen/watchlist";
import { env } from "./env.js";
import { WatchlistSync } from "./sync.js";

const log = createLogger({ service: "watchlist-sync", level: env.LOG_LEVEL });
process.on("uncaughtException", (err) => {
  log.fatal({ err }, "uncaught exception");
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  log.fatal({ err }, "unhandled rejection");
  process.exit(1);
});
const shutdown = new Shutdown(log, 30_000).install();

const bus = new KafkaBus(kafkaConnection(env), log);
await bus.ensureTopics([
  { topic: env.WATCHLIST_TOPIC, partitions: 1, compacted: true },
  { topic: env.OPS_TOPIC, partitions: 1 },
]);
const producer = await bus.producer();
const dataDir = resolve(env.WATCHLIST_DATA_DIR);
// Optional: without a store the lists still refresh and publish; only list_versions stays empty.
const chClient = env.CLICKHOUSE_URL
  ? createStoreClient({
      url: env.CLICKHOUSE_URL,
      username: env.CLICKHOUSE_USER,
      password: env.CLICKHOUSE_PASSWORD ?? "",
      database: env.CLICKHOUSE_DATABASE,
      // A store that does not answer delays only recording (retried next cycle), and shutdown.
      requestTimeoutMs: 10_000,
    })
  : null;
if (!chClient) log.info("CLICKHOUSE_URL unset: list versions are not recorded in list_versions");
const sync = new WatchlistSync({
  sources: env.WATCHLIST_SOURCES,
  store: new FileWatchlistStore(dataDir),
  producer,
  topics: { watchlist: env.WATCHLIST_TOPIC, ops: env.OPS_TOPIC },
  statePath: join(dataDir, "sync-state.json"),
  log,
  listVersions: chClient ? new Store(chClient) : undefined,
  maxShrink: env.WATCHLIST_MAX_SHRINK,
  fetchTimeoutMs: env.WATCHLIST_FETCH_TIMEOUT_MS,
});

let ready = false;
const ops = env.OPS_PORT
  ? await startOpsServer({ port: env.OPS_PORT, isReady: () => ready })
  : null;

// A topic that lost data (or a publish that failed before a restart) is healed from the store.
await sync.publishActive(env.WATCHLIST_PUBLISH_FULL_ON_START);
ready = true;
sync.start(env.WATCHLIST_REFRESH_INTERVAL_MS);
log.info(
  {
    sources: env.WATCHLIST_SOURCES.map((s) => s.listId),
    intervalMs: env.WATCHLIST_REFRESH_INTERVAL_MS,
    store: chClient ? env.CLICKHOUSE_URL : null,
  },
  "watchlist sync started",
);

// Shutdown order: stop scheduling and wait for a refresh in progress (intake and in-flight work,
// including its list_versions insert), then the producer, the store client, then the bus and the
// ops server (clients).
shutdown
  .add("stop refresh", () => sync.stop())
  .add("producer", () => producer.disconnect())
  .add("store client", async () => {
    await chClient?.close();
  })
  .add("kafka", () => bus.close())
  .add("ops server", async () => {
    await ops?.close();
  });
