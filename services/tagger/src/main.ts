import { statSync } from "node:fs";
import { hostname } from "node:os";
import { errorMessage } from "@chainscreen/errors";
import { KafkaBus } from "@chainscreen/kafka";
import { createLogger } from "@chainscreen/logger";
import { counter, gauge, Shutdown, startOpsServer } from "@chainscreen/runtime";
import { createStoreClient } from "@chainscreen/store";
import {
  ClickHouseHistory,
  type LoadedRules,
  loadRulesFile,
  loadSuppressionsFile,
  loadSuppressionsFromStore,
  parseRules,
  Suppressions,
  TaggerRunner,
  taggerTopicSpecs,
  taggerTopics,
} from "@chainscreen/tagger";
import { env } from "./env.js";

const log = createLogger({ service: "tagger", level: env.LOG_LEVEL });
process.on("uncaughtException", (err) => {
  log.fatal({ err }, "uncaught exception");
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  log.fatal({ err }, "unhandled rejection");
  process.exit(1);
});

const shutdown = new Shutdown(log);
shutdown.install();

const mtime = (path: string) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

// Rules: defaults, or a file reloaded when it changes (an invalid edit keeps the previous rules).
let rules: LoadedRules = env.TAGGER_RULES_FILE
  ? loadRulesFile(env.TAGGER_RULES_FILE)
  : parseRules({});
let rulesMtime = env.TAGGER_RULES_FILE ? mtime(env.TAGGER_RULES_FILE) : 0;
const suppressions = new Suppressions(
  env.TAGGER_SUPPRESSIONS_FILE ? loadSuppressionsFile(env.TAGGER_SUPPRESSIONS_FILE) : [],
);
let suppressionsMtime = env.TAGGER_SUPPRESSIONS_FILE ? mtime(env.TAGGER_SUPPRESSIONS_FILE) : 0;

const store = env.CLICKHOUSE_URL
  ? createStoreClient({
      url: env.CLICKHOUSE_URL,
      username: env.CLICKHOUSE_USER,
      password: env.CLICKHOUSE_PASSWORD ?? "",
      database: env.CLICKHOUSE_DATABASE,
    })
  : null;

const reload = async () => {
  if (env.TAGGER_RULES_FILE) {
    const m = mtime(env.TAGGER_RULES_FILE);
    if (m !== rulesMtime) {
      rulesMtime = m;
      try {
        rules = loadRulesFile(env.TAGGER_RULES_FILE);
        log.info({ version: rules.version }, "rules reloaded");
      } catch (err) {
        log.error({ err: errorMessage(err) }, "rules reload failed; keeping the previous rules");
      }
    }
  }
  if (env.TAGGER_SUPPRESSIONS_FILE) {
    const m = mtime(env.TAGGER_SUPPRESSIONS_FILE);
    if (m !== suppressionsMtime) {
      suppressionsMtime = m;
      try {
        suppressions.replace(loadSuppressionsFile(env.TAGGER_SUPPRESSIONS_FILE));
        log.info({ count: suppressions.size }, "suppressions reloaded");
      } catch (err) {
        log.error(
          { err: errorMessage(err) },
          "suppressions reload failed; keeping the previous ones",
        );
      }
    }
  } else if (store) {
    try {
      suppressions.replace(await loadSuppressionsFromStore(store));
    } catch (err) {
      log.warn({ err: errorMessage(err) }, "suppressions could not be read from the store");
    }
  }
};
await reload();
const reloadTimer = setInterval(() => void reload(), env.TAGGER_RELOAD_S * 1000);

const bus = new KafkaBus(
  { brokers: env.KAFKA_BROKERS, clientId: `tagger-${hostname()}-${process.pid}` },
  log,
);
const topics = taggerTopics(env.KAFKA_TOPIC_PREFIX);
// Groups are per topic prefix: members of one group must all read the same topics.
const groupId = env.KAFKA_TOPIC_PREFIX
  ? `${env.KAFKA_TOPIC_PREFIX}.${env.TAGGER_GROUP_ID}`
  : env.TAGGER_GROUP_ID;
await bus.ensureTopics(
  taggerTopicSpecs(topics, {
    exposurePartitions: env.TAGGER_EXPOSURE_PARTITIONS,
    exposureRetentionDays: env.TAGGER_EXPOSURE_RETENTION_DAYS,
  }),
);

const runner = new TaggerRunner({
  bus,
  log,
  topics,
  groupId,
  rules: () => rules,
  suppressions,
  history: store && env.TAGGER_RETRO ? new ClickHouseHistory(store) : null,
  retroLimit: env.TAGGER_RETRO_LIMIT,
  replayTransfers: env.TAGGER_REPLAY_TRANSFERS,
  reserveMemory: env.TAGGER_RESERVE_MEMORY,
});

// Metrics: counters are sampled from the runner (it keeps plain numbers; no prom-client in packages).
const g = {
  addresses: gauge(
    "tagger_exposure_addresses",
    "Addresses held in the exposure state of this instance",
  ),
  exposures: gauge("tagger_exposure_facts", "Exposure facts held by this instance"),
  outflows: gauge("tagger_exposure_outflows", "Recent outflows held for late exposures"),
  bytes: gauge("tagger_exposure_state_bytes", "Estimated heap bytes of the exposure state"),
  evicted: gauge(
    "tagger_exposure_evicted_addresses",
    "Addresses evicted by the memory bound since start",
  ),
  entries: gauge("tagger_watchlist_entries", "Watchlist entries loaded"),
  suppressions: gauge("tagger_suppressions", "False-positive suppressions loaded"),
};
const c = {
  transfers: counter("tagger_transfers_total", "Transfers screened"),
  flags: counter("tagger_flags_total", "Flags published (live and retro)"),
  retro: counter("tagger_retro_flags_total", "Retro flags found"),
  suppressed: counter("tagger_cooldown_suppressed_total", "Flags held back by cooldown"),
};
const last = { transfers: 0, flags: 0, retro: 0, suppressed: 0 };
const sample = () => {
  const s = runner.engine.stats();
  g.addresses.set(s.addresses);
  g.exposures.set(s.exposures);
  g.outflows.set(s.outflows);
  g.bytes.set(s.approxBytes);
  g.evicted.set(s.evictedAddresses);
  g.entries.set(runner.index.size);
  g.suppressions.set(suppressions.size);
  const k = runner.counters;
  c.transfers.inc(k.transfers - last.transfers);
  c.flags.inc(k.flags - last.flags);
  c.retro.inc(k.retroFlags - last.retro);
  c.suppressed.inc(k.cooldownSuppressed - last.suppressed);
  Object.assign(last, {
    transfers: k.transfers,
    flags: k.flags,
    retro: k.retroFlags,
    suppressed: k.cooldownSuppressed,
  });
};
const sampleTimer = setInterval(sample, 5_000);

const ops = await startOpsServer({
  port: env.TAGGER_OPS_PORT,
  isReady: () => runner.ready,
  details: () => ({
    ...runner.counters,
    exposure: runner.engine.stats(),
    watchlistEntries: runner.index.size,
  }),
});

// Shutdown order: stop intake (consumers finish their batch, publish its flags and commit),
// then timers, the ops server and finally the Kafka and ClickHouse clients.
shutdown.add("tagger consumers", () => runner.stop());
shutdown.add("timers", () => {
  clearInterval(reloadTimer);
  clearInterval(sampleTimer);
});
shutdown.add("ops server", () => ops.close());
shutdown.add("kafka", () => bus.close());
shutdown.add("clickhouse", async () => {
  await store?.close();
});

await runner.start({ watchlistTimeoutMs: env.TAGGER_WATCHLIST_TIMEOUT_S * 1000 });
log.info({ topics, groupId, opsPort: ops.port, rules: rules.version }, "tagger started");
