import {
  type ConsumerHandle,
  consume,
  KafkaBus,
  standardTopics,
  topicName,
} from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { gauge, Shutdown, startOpsServer } from "@chainscreen/runtime";
import { Topics } from "@chainscreen/schema";
import {
  alertsTarget,
  createStoreClient,
  flagsTarget,
  migrate,
  type SinkTarget,
  Store,
  StoreSink,
  transfersTarget,
  watchlistTarget,
} from "@chainscreen/store";
import { env } from "./env.js";

const log = createLogger({ service: "sink", level: env.LOG_LEVEL });
const shutdown = new Shutdown(log).install();
const lagGauge = gauge(
  "chainscreen_sink_lag",
  "Messages not yet stored (end offset - committed offset)",
  ["topic"],
);

const storeConfig = {
  url: env.CLICKHOUSE_URL,
  username: env.CLICKHOUSE_USER,
  password: env.CLICKHOUSE_PASSWORD,
  database: env.CLICKHOUSE_DATABASE,
};
if (env.SINK_MIGRATE) {
  const r = await migrate(storeConfig, { log: (m, f) => log.info(f ?? {}, m) });
  log.info({ applied: r.applied.length }, "migrations checked");
}
const client = createStoreClient(storeConfig);
const store = new Store(client);
const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS, clientId: "sink" }, log);

const consumers: ConsumerHandle[] = [];
const topics: string[] = [];
let ready = false;

async function startRoute<T>(
  name: string,
  target: SinkTarget<T>,
  allowTombstones = false,
): Promise<void> {
  const sink = new StoreSink(
    store,
    target,
    log.child({ table: target.table }),
    env.SINK_MAX_BATCH_ROWS,
  );
  const topic = topicName(name, env.KAFKA_TOPIC_PREFIX);
  topics.push(topic);
  for (let i = 0; i < env.SINK_CONSUMERS; i++) {
    consumers.push(
      await consume(bus, {
        groupId: `${env.SINK_GROUP_ID}.${name}`,
        topics: [topic],
        schema: target.schema,
        deadLetterTopic: env.SINK_DEAD_LETTER_TOPIC
          ? topicName(env.SINK_DEAD_LETTER_TOPIC, env.KAFKA_TOPIC_PREFIX)
          : undefined,
        fromBeginning: true,
        allowTombstones,
        maxBytesPerPartition: env.SINK_FETCH_BYTES_PER_PARTITION,
        minBytes: env.SINK_FETCH_MIN_BYTES,
        maxWaitTimeInMs: env.SINK_FETCH_MAX_WAIT_MS,
        partitionsConsumedConcurrently: env.SINK_PARTITIONS_IN_PARALLEL,
        maxRetryDelayMs: env.SINK_MAX_RETRY_DELAY_MS,
        // After a rebalance another instance may have stored more of a partition: re-read marks.
        onRebalance: () => sink.reset(),
        // One sink for all of them: it runs the batches of a partition one after the other.
        handleBatch: sink.handleBatch,
      }),
    );
  }
}

// Create the routed topics that are missing with their proper settings before subscribing:
// subscribing first would let the broker auto-create them with its defaults (a watchlist topic
// that is not compacted).
const routed = new Set(env.SINK_TOPICS.map((n) => topicName(n, env.KAFKA_TOPIC_PREFIX)));
await bus.ensureTopics(standardTopics(env.KAFKA_TOPIC_PREFIX).filter((t) => routed.has(t.topic)));

// Which topic goes to which table.
for (const name of env.SINK_TOPICS) {
  if (name === Topics.transfers) await startRoute(name, transfersTarget);
  else if (name === Topics.flags) await startRoute(name, flagsTarget);
  else if (name === Topics.alerts) await startRoute(name, alertsTarget);
  // Compacted, with tombstones after each delisting: they write nothing, so history stays.
  else if (name === Topics.watchlist) await startRoute(name, watchlistTarget, true);
  else {
    log.fatal({ topic: name }, "no table for topic");
    process.exit(1);
  }
}
ready = true;

const lagTimer = setInterval(() => {
  for (const [i, name] of env.SINK_TOPICS.entries()) {
    const topic = topics[i];
    if (!topic) continue;
    bus.lag(`${env.SINK_GROUP_ID}.${name}`, topic).then(
      (lag) => lagGauge.set({ topic }, lag),
      (err) => log.debug({ err: (err as Error).message }, "lag not measured"),
    );
  }
}, env.SINK_LAG_INTERVAL_S * 1000);
lagTimer.unref();

const ops = await startOpsServer({ port: env.SINK_OPS_PORT, isReady: () => ready });
log.info({ topics, opsPort: ops.port, store: env.CLICKHOUSE_URL }, "sink running");

// Shutdown order: stop intake (consumers stop fetching; the batch in flight finishes its insert
// and commits its offsets inside stop()), then close the store client, Kafka, and the ops server.
shutdown.add("stop consumers (finish insert, commit)", async () => {
  clearInterval(lagTimer);
  await Promise.all(consumers.map((c) => c.stop()));
});
shutdown.add("close store client", () => client.close());
shutdown.add("close kafka", () => bus.close());
shutdown.add("ops server", () => ops.close());
