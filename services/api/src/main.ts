import { hostname } from "node:os";
import { resolve } from "node:path";
import { ClickHouseAlertsStore, DEFAULT_QUEUE_SETTINGS, DeliveryQueues } from "@chainscreen/alerts";
import { ClickHouseKeyStore } from "@chainscreen/auth";
import { ExchangeWalletTags } from "@chainscreen/exchange";
import {
  type ConsumerHandle,
  consume,
  KafkaBus,
  type Producer,
  topicName,
} from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { Shutdown } from "@chainscreen/runtime";
import { Topics, WatchlistEntryV1 } from "@chainscreen/schema";
import { createStoreClient } from "@chainscreen/store";
import { FileWatchlistStore, Matcher, publishVersion } from "@chainscreen/watchlist";
import { Redis } from "ioredis";
import { buildApi } from "./app.js";
import { ClickHouseAuditSink } from "./audit.js";
import { env } from "./env.js";
import { MatcherLookup } from "./screening.js";
import { applyFollowedWatchlist } from "./watchlist-follow.js";

const log = createLogger({ service: "api", level: env.LOG_LEVEL });
const shutdown = new Shutdown(log).install();
process.on("uncaughtException", (err) => {
  log.fatal({ err }, "uncaught exception");
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  log.fatal({ err }, "unhandled rejection");
  process.exit(1);
});

const base = { url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE };
const ch = createStoreClient({
  ...base,
  username: env.CLICKHOUSE_USER,
  password: env.CLICKHOUSE_PASSWORD,
});
const chSql = createStoreClient({
  ...base,
  username: env.CLICKHOUSE_SQL_USER,
  password: env.CLICKHOUSE_SQL_PASSWORD,
  requestTimeoutMs: 15 * 60_000,
});

// Watchlist: start from the stored list states, then follow watchlist.v1 live (when Kafka is
// configured) so list updates apply without restart.
const lists = new FileWatchlistStore(resolve(env.WATCHLIST_DIR));
async function matcherFromStore(): Promise<Matcher> {
  const inputs = [];
  for (const id of await lists.listIds()) {
    const s = await lists.getState(id);
    if (s?.activeVersion) inputs.push({ listId: id, listVersion: s.activeVersion, keys: s.keys });
  }
  return Matcher.fromLists(inputs);
}
let matcher = await matcherFromStore();
log.info({ addresses: matcher.keyCount }, "watchlist loaded");

let bus: KafkaBus | null = null;
let producer: Producer | null = null;
let follower: ConsumerHandle | null = null;
let wallets: ExchangeWalletTags | null = null;
if (env.KAFKA_BROKERS.length > 0) {
  bus = new KafkaBus(
    { brokers: env.KAFKA_BROKERS, clientId: `api-${hostname()}-${process.pid}` },
    log,
  );
  producer = await bus.producer();
  const watchlistTopic = topicName(Topics.watchlist, env.TOPIC_PREFIX);
  if (env.EXCHANGE_WALLET_TAGS) wallets = new ExchangeWalletTags(producer, watchlistTopic);
  follower = await consume(bus, {
    // Every instance needs the whole compacted topic: one group per process.
    groupId: `api-watchlist-${hostname()}-${process.pid}`,
    topics: [watchlistTopic],
    schema: WatchlistEntryV1,
    allowTombstones: true,
    fromBeginning: true,
    handleBatch: async (messages) => {
      for (const m of messages)
        applyFollowedWatchlist(matcher, m.key, m.value, m.timestamp, (k, v) =>
          wallets?.observe(k, v),
        );
    },
  });
}

const redis = env.REDIS_URL
  ? new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2, enableOfflineQueue: false })
  : null;
redis?.on("error", (err) => log.warn({ err: err.message }, "redis error"));
const queues = redis
  ? new DeliveryQueues(redis, { ...DEFAULT_QUEUE_SETTINGS, prefix: env.ALERTS_QUEUE_PREFIX }, log)
  : undefined;
const audit = new ClickHouseAuditSink(ch, log);
const transfersTopic = topicName(Topics.transfers, env.TOPIC_PREFIX);

const app = await buildApi({
  ch,
  chSql,
  keys: new ClickHouseKeyStore(ch),
  watchlist: new MatcherLookup(() => matcher),
  audit,
  log,
  ...(redis ? { redis } : {}),
  ...(producer
    ? {
        transfers: {
          publish: async (t) => {
            await producer?.send(transfersTopic, [{ key: t.id, value: t }]);
          },
        },
      }
    : {}),
  ...(wallets ? { exchangeWallets: wallets } : {}),
  alerts: {
    store: new ClickHouseAlertsStore(ch),
    ...(queues ? { queues } : {}),
    ssrf: env.ALERTS_ALLOW_PRIVATE_TARGETS
      ? { allow: ["loopback", "private"], allowHttp: true }
      : {},
  },
  lists: {
    store: lists,
    onImported: async (r) => {
      if (r.status !== "activated") return;
      matcher = await matcherFromStore();
      if (producer)
        await publishVersion(
          producer,
          topicName(Topics.watchlist, env.TOPIC_PREFIX),
          r.state,
          r.version,
        );
    },
  },
  options: {
    rateLimitPerMinute: env.API_RATE_LIMIT_PER_MINUTE,
    keyCacheMs: env.API_KEY_CACHE_SECONDS * 1000,
    ...(env.API_CONSOLE_DIR ? { consoleDir: resolve(env.API_CONSOLE_DIR) } : {}),
  },
});
await app.listen({ host: env.API_HOST, port: env.API_PORT });
log.info({ host: env.API_HOST, port: env.API_PORT }, "api listening");

// Order: stop taking requests (in-flight ones finish), stop following the watchlist, flush the
// audit log, then close producers and clients.
shutdown.add("http server", () => app.close());
if (follower) shutdown.add("watchlist follower", () => follower?.stop());
shutdown.add("audit log", () => audit.close());
if (producer) shutdown.add("kafka producer", () => producer?.disconnect());
if (redis)
  shutdown.add("redis", async () => {
    await redis.quit();
  });
shutdown.add("clickhouse clients", async () => {
  await ch.close();
  await chSql.close();
});
