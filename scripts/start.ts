/**
 * The main command (`npm start`): the whole pipeline on one machine.
 *
 * Starts Kafka, Redis and the embedded ClickHouse, applies migrations, creates demo API keys and
 * a webhook subscription, and runs every service under one supervisor (prefixed logs, restart on
 * crash, ordered shutdown on Ctrl-C). With no configuration it runs offline: a local anvil chain
 * with a traffic generator (ETH and USDT-like token transfers, payments out of listed demo
 * addresses and multi-hop chains), a demo watchlist, and a demo webhook receiver whose
 * deliveries are printed. Real sources are configuration only (see README "Real networks").
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import {
  ClickHouseAlertsStore,
  createSubscription,
  deleteSubscription,
  listSubscriptions,
  rotateSecret,
  updateSubscription,
} from "@chainscreen/alerts";
import { ClickHouseKeyStore, generateApiKey } from "@chainscreen/auth";
import { demoCast, demoTokenArtifact, demoWatchlistCsv, TrafficGenerator } from "@chainscreen/demo";
import { KafkaBus, standardTopics } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { migrate } from "@chainscreen/store";
import { verify, WebhookHeaders } from "@chainscreen/webhook-verify";
import { createClient } from "@clickhouse/client";
import { startClickHouse, stopClickHouse } from "../infra/local/clickhouse.js";
import {
  canConnect,
  repoRoot,
  serviceNodeOptions,
  startLocalInfra,
  waitForPort,
} from "../infra/local/index.js";
import { Supervisor } from "../infra/local/supervisor.js";

const env = process.env;
const num = (v: string | undefined, d: number) => (v ? Number(v) : d);
const dataDir = env.CHAINSCREEN_DATA_DIR ?? join(repoRoot, ".data", "local");
const ports = {
  kafka: num(env.KAFKA_PORT, 9092),
  redis: num(env.REDIS_PORT, 6379),
  clickhouse: num(env.CLICKHOUSE_PORT, 8123),
  api: num(env.API_PORT, 8080),
  webhook: num(env.DEMO_WEBHOOK_PORT, 8099),
  anvil: num(env.ANVIL_PORT, 8545),
};
const evmRpc = env.EVM_RPC_URLS ?? "";
const demo = evmRpc === "" && env.CHAINSCREEN_DEMO !== "0";
const say = (m: string) => process.stdout.write(`\x1b[1m[chainscreen]\x1b[0m ${m}\n`);
const t0 = Date.now();

for (const [name, port] of Object.entries(ports)) {
  if (name === "anvil" && !demo) continue;
  if (await canConnect(port)) {
    say(
      `port ${port} (${name}) is already in use: stop what runs there or set ${name.toUpperCase()}_PORT`,
    );
    process.exit(1);
  }
}
mkdirSync(dataDir, { recursive: true });

// 1. Infrastructure.
say(`starting Kafka, Redis and embedded ClickHouse under ${dataDir}`);
const [infra, ch] = await Promise.all([
  startLocalInfra({
    dataDir,
    kafkaPort: ports.kafka,
    redisPort: ports.redis,
    redisPersistence: true,
    log: say,
  }),
  startClickHouse({ port: ports.clickhouse, dataDir: join(dataDir, "clickhouse") }, say),
]);
// Provision the shared topics once, so no service races another to create them.
const adminBus = new KafkaBus(
  { brokers: [infra.kafkaBrokers], clientId: "chainscreen-start" },
  silentLogger(),
);
await adminBus.ensureTopics(standardTopics());
await adminBus.close();
const chEnv = {
  CLICKHOUSE_DATABASE: env.CLICKHOUSE_DATABASE ?? "chainscreen",
  CLICKHOUSE_URL: ch.url,
  CLICKHOUSE_USER: ch.users.writer.user,
  CLICKHOUSE_PASSWORD: ch.users.writer.password,
};
const database = env.CLICKHOUSE_DATABASE ?? "chainscreen";
const migrated = await migrate({
  url: ch.url,
  username: ch.users.writer.user,
  password: ch.users.writer.password,
  database,
}).catch(async (err: unknown) => {
  // Stop what was started, so the next run does not find the ports taken.
  const ctx = (err as { context?: { migration?: string } }).context;
  say(
    `ClickHouse migrations failed: ${(err as Error).message}${ctx?.migration ? ` (${ctx.migration})` : ""}`,
  );
  if (ctx?.migration)
    say(
      `the store under ${join(dataDir, "clickhouse")} was migrated with a different version of that file; ` +
        `for the local demo store, delete ${dataDir} and start again`,
    );
  await stopClickHouse(ch.pid).catch(() => {});
  await infra.stop().catch(() => {});
  process.exit(1);
});
say(
  `ClickHouse migrations: ${migrated.applied.length} applied, ${migrated.alreadyApplied.length} already there`,
);

// 2. Demo keys and a webhook subscription for a demo bank.
const chClient = createClient({
  url: ch.url,
  username: ch.users.writer.user,
  password: ch.users.writer.password,
  database,
});
const keys = new ClickHouseKeyStore(chClient);
const admin = generateApiKey({
  tenantId: "demo-regulator",
  role: "admin",
  name: "demo admin (npm start)",
});
const bank = generateApiKey({ tenantId: "demo-bank", role: "bank", name: "demo bank (npm start)" });
await keys.put(admin.record);
await keys.put(bank.record);

const received: string[] = [];
let webhookSecret = "";
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const ok = verify(body, String(req.headers[WebhookHeaders.signature] ?? ""), webhookSecret).ok;
    const event = String(req.headers[WebhookHeaders.eventId] ?? "?");
    received.push(event);
    let summary = "";
    try {
      // The body is the alert.v1 itself.
      const a = JSON.parse(body) as {
        severity?: string;
        exposure?: string | null;
        hops?: number | null;
        retro?: boolean;
        rule?: { kind?: string };
        transfer?: { chain?: string; asset?: { symbol?: string | null }; amount?: string };
      };
      const how = a.exposure
        ? `${a.exposure}${a.hops ? ` hop ${a.hops}` : ""}`
        : (a.rule?.kind ?? "");
      summary = `${a.severity ?? "?"} ${how}${a.retro ? " retro" : ""} ${a.transfer?.chain ?? ""} ${a.transfer?.asset?.symbol ?? ""} ${a.transfer?.amount ?? ""}`;
    } catch {
      summary = "(unparsable body)";
    }
    process.stdout.write(
      `\x1b[32mdemo-webhook      |\x1b[0m alert ${event} ${summary} signature ${ok ? "valid" : "INVALID"}\n`,
    );
    res.writeHead(200);
    res.end("ok");
  });
});
await new Promise<void>((r) => receiver.listen(ports.webhook, "127.0.0.1", () => r()));
// One demo subscription across restarts: the data directory persists, and a new subscription per
// run would deliver every alert once per earlier run, signed with secrets this run never saw.
// The existing one gets this run's URL and a fresh secret (the old ones retired at once).
const subs = { store: new ClickHouseAlertsStore(chClient) };
const demoSub = { name: "demo bank webhook", url: `http://127.0.0.1:${ports.webhook}/chainscreen` };
const [kept, ...extra] = (await listSubscriptions(subs, "demo-bank")).filter(
  (s) => s.name === demoSub.name,
);
for (const s of extra) await deleteSubscription(subs, "demo-bank", s.id);
if (kept) {
  if (kept.url !== demoSub.url) await updateSubscription(subs, "demo-bank", kept.id, demoSub);
  webhookSecret = (await rotateSecret(subs, "demo-bank", kept.id, { overlapSec: 0 })).secret;
} else {
  const created = await createSubscription(subs, "demo-bank", {
    ...demoSub,
    filters: { minSeverity: "low" },
  });
  webhookSecret = created.secret;
}

// 3. Demo chain and watchlist.
const sup = new Supervisor();
const cast = demoCast(60);
let watchlistSources = env.WATCHLIST_SOURCES ?? "";
if (demo) {
  const listFile = join(dataDir, "demo-watchlist.csv");
  writeFileSync(listFile, demoWatchlistCsv(cast));
  watchlistSources = [`demo|csv|${listFile}`, watchlistSources].filter(Boolean).join(";");
  const anvilBin = join(
    repoRoot,
    "node_modules",
    "@foundry-rs",
    "anvil-linux-amd64",
    "bin",
    "anvil",
  );
  sup.start({
    name: "anvil",
    command: anvilBin,
    // Without --prune-history anvil writes every state older than 500 blocks to
    // ~/.foundry/anvil/tmp and never deletes it (gigabytes per hour at one block per second).
    args: [
      "--port",
      String(ports.anvil),
      "--block-time",
      "1",
      "--silent",
      "--prune-history",
      "500",
    ],
  });
  await waitForPort(ports.anvil, 20_000);
}
if (watchlistSources === "")
  watchlistSources =
    "ofac-sdn|ofac-advanced|https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_ADVANCED.XML";

// The console is a static build served by the API: build it once.
const consoleDist = join(repoRoot, "services", "api", "console", "dist", "index.html");
if (!existsSync(consoleDist)) {
  say("building the investigator console (first run only)");
  const r = spawnSync(
    join(repoRoot, "node_modules", ".bin", "vite"),
    ["build", "--config", join(repoRoot, "services", "api", "console", "vite.config.ts")],
    { cwd: repoRoot, stdio: "inherit" },
  );
  if (r.status !== 0) say("console build failed: the API still serves /docs and the JSON API");
}

// 4. Services, in start order: sinks and screeners before sources; shutdown runs in reverse.
const common = {
  KAFKA_BROKERS: infra.kafkaBrokers,
  LOG_LEVEL: env.LOG_LEVEL ?? "info",
  KAFKAJS_NO_PARTITIONER_WARNING: "1",
  NODE_OPTIONS: serviceNodeOptions(),
};
const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
const service = (name: string, extra: Record<string, string>) =>
  sup.start({
    name,
    command: tsx,
    args: [join(repoRoot, "services", name, "src", "main.ts")],
    cwd: repoRoot,
    env: { ...common, ...extra },
  });

service("watchlist-sync", {
  ...chEnv,
  WATCHLIST_SOURCES: watchlistSources,
  WATCHLIST_DATA_DIR: join(dataDir, "watchlists"),
  WATCHLIST_REFRESH_INTERVAL_MS: env.WATCHLIST_REFRESH_INTERVAL_MS ?? "3600000",
  OPS_PORT: "9460",
});
service("sink", { ...chEnv, SINK_OPS_PORT: "9465" });
service("tagger", { ...chEnv, TAGGER_OPS_PORT: "9466" });
service("alerter", {
  ...chEnv,
  REDIS_URL: infra.redisUrl,
  WEBHOOK_ALLOW_RANGES: "loopback",
  WEBHOOK_ALLOW_HTTP: "true",
  OPS_PORT: "9474",
});
service("api", {
  ...chEnv,
  CLICKHOUSE_SQL_USER: ch.users.analyst.user,
  CLICKHOUSE_SQL_PASSWORD: ch.users.analyst.password,
  REDIS_URL: infra.redisUrl,
  API_PORT: String(ports.api),
  WATCHLIST_DIR: join(dataDir, "watchlists"),
  ALERTS_ALLOW_PRIVATE_TARGETS: "true",
});
if (demo || evmRpc) {
  service("ingest-evm", {
    EVM_CHAIN: env.EVM_CHAIN ?? "ethereum",
    // anvil answers with chain id 31337; a real endpoint must match the configured chain.
    ...(demo
      ? { EVM_CHAIN_ID: "31337" }
      : env.EVM_CHAIN_ID
        ? { EVM_CHAIN_ID: env.EVM_CHAIN_ID }
        : {}),
    EVM_RPC_URLS: evmRpc || `http://127.0.0.1:${ports.anvil}`,
    // The demo's anvil chain is new at every start, while the checkpoint topic persists in the
    // data directory: the previous run's last blocks would look like a reorg deeper than the
    // remembered window, and the follower would stop at every restart. Each demo chain gets its
    // own checkpoint topic (a small compacted topic per start; the data directory is disposable).
    ...(demo ? { INGEST_BLOCKS_TOPIC: `ingest.blocks.demo-${Date.now().toString(36)}` } : {}),
    EVM_CONFIRMATIONS: env.EVM_CONFIRMATIONS ?? (demo ? "1" : "12"),
    EVM_TRACES: env.EVM_TRACES ?? (demo ? "callTracer" : "off"),
    ...(env.EVM_START_BLOCK ? { EVM_START_BLOCK: env.EVM_START_BLOCK } : {}),
    OPS_PORT: "9461",
  });
}
if (env.BITCOIN_URLS)
  service("ingest-bitcoin", { BITCOIN_URLS: env.BITCOIN_URLS, OPS_PORT: "9462" });
if (env.TRON_API_URLS)
  service("ingest-tron", { TRON_API_URLS: env.TRON_API_URLS, OPS_PORT: "9463" });
if (env.EXCHANGE_ACCOUNTS)
  service("ingest-exchange", {
    EXCHANGE_DATA_DIR: join(dataDir, "ingest-exchange"),
    OPS_PORT: "9471",
  });

// 5. Demo traffic once the chain answers.
let traffic: TrafficGenerator | null = null;
if (demo) {
  traffic = new TrafficGenerator({
    rpcUrl: `http://127.0.0.1:${ports.anvil}`,
    cast,
    token: demoTokenArtifact,
    log: (m) => say(m),
  });
  const token = await traffic.setup();
  say(
    `demo chain ready: USDT-like token at ${token}, ${cast.users.length} users, ${cast.listed.length} listed sources`,
  );
  void traffic.run();
}

await waitForPort(ports.api, 60_000).catch(() =>
  say("the API did not open its port yet; see its log lines"),
);
say(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.stdout.write(`
  Console        http://127.0.0.1:${ports.api}/          (sign in with the admin key)
  API docs       http://127.0.0.1:${ports.api}/docs
  ClickHouse     ${ch.url}   analyst user ${ch.users.analyst.user} / ${ch.users.analyst.password}
  Kafka          ${infra.kafkaBrokers}      Redis ${infra.redisUrl}
  Admin API key  ${admin.key}
  Bank API key   ${bank.key}   (tenant demo-bank, webhook → 127.0.0.1:${ports.webhook})
  Status         npx chainscreen status --brokers ${infra.kafkaBrokers} --clickhouse ${ch.url} --clickhouse-user ${ch.users.writer.user} --clickhouse-password ${ch.users.writer.password} --redis ${infra.redisUrl}

  Ctrl-C stops everything in order.
`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  say("stopping: traffic → sources → services → infrastructure");
  traffic?.stop();
  await sup.stopAll();
  receiver.close();
  await chClient.close();
  await stopClickHouse(ch.pid);
  await infra.stop();
  say(`stopped; ${received.length} webhook deliveries received this run`);
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
