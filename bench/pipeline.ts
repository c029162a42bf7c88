/**
 * The whole pipeline under a large generated workload: transfer.v1 → Kafka → tagger (1M-entry
 * watchlist, indirect exposure on) → sink → embedded ClickHouse, and flags → alerter → signed
 * webhooks. The services run as real child processes (same mains and env as `npm start`).
 *
 * Transfers are produced straight to transfer.v1 (what ingest-evm writes), not mined on anvil:
 * anvil mines a few hundred transactions per second at best, so millions of transfers can only be
 * generated at the bus. Ingest has its own benchmark (`npm run bench -- evm`).
 *
 * Phases, all in one run:
 *   1. bus ceiling (bench/kafka.ts logic), measured after the pipeline drained: validated consume
 *      of the same transfer topic by a fresh group, so it reads exactly the bytes the pipeline
 *      read; producing alone (up to 1M of the same transfers, to a topic no service reads); and
 *      the round trip N / (produce s + consume s), the figure end to end is compared with (every
 *      transfer is produced once and consumed); the ratio to consume alone is printed too;
 *   2. throughput: N transfers produced as fast as the producer goes; end-to-end = N / (first
 *      produce → last transfer row stored and all flags stored);
 *   3. latency: paced listed-sender transfers on top of light traffic; block-to-alert = webhook
 *      arrival − the transfer's timestamp (set at production, i.e. at "confirmation").
 *
 *   npm run bench -- pipeline [--transfers 5000000] [--entries 1000000] [--pool 1000000]
 *                              [--latency-seconds 30] [--latency-rate 200] [--service-log FILE]
 */
import { createWriteStream, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ClickHouseAlertsStore, createSubscription } from "@chainscreen/alerts";
import { KafkaBus, standardTopics, topicName } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { Topics, TransferV1, watchlistKey } from "@chainscreen/schema";
import { createStoreClient, migrate } from "@chainscreen/store";
import { WebhookHeaders } from "@chainscreen/webhook-verify";
import { startClickHouse, stopClickHouse } from "../infra/local/clickhouse.js";
import { freePort, repoRoot, serviceNodeOptions, sleep } from "../infra/local/index.js";
import { Supervisor } from "../infra/local/supervisor.js";
import { benchInfra, benchTransfer, cpuSeconds, percentile, table, timedConsume } from "./lib.js";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const N = Number(arg("transfers", "5000000"));
const ENTRIES = Number(arg("entries", "1000000"));
const POOL = Number(arg("pool", "1000000"));
const LAT_S = Number(arg("latency-seconds", "30"));
const LAT_RATE = Number(arg("latency-rate", "200"));
const LISTED_SENDERS = 1_000;
const say = (m: string) => console.error(`[bench] ${m}`);

const hex40 = (prefix: string, i: number) =>
  `0x${prefix}${i.toString(16).padStart(40 - prefix.length, "0")}`;
const listedAddr = (i: number) => hex40("a", i);
const poolAddr = (i: number) => hex40("b", i);

/** ~1 in 1,000 transfers leaves a listed address (direct flag, seeds exposure); the rest are pool noise. */
function transfer(i: number, ts: number, listed = i % 1_000 === 7) {
  return benchTransfer(i, {
    timestamp: ts,
    observedAt: ts,
    from: listed ? listedAddr((i * 7919) % LISTED_SENDERS) : poolAddr((i * 2654435761) % POOL),
    to: poolAddr((i * 40503 + 17) % POOL),
  });
}

const PARTITIONS = 8;

/**
 * Produces `n` generated transfers to `topic` as fast as the producer goes (4 sends in flight,
 * 100k messages each), with a progress line every 500k. Used by the throughput phase and by the
 * produce-alone measurement of the bus ceiling, so both produce the same way.
 */
async function produceTransfers(
  producer: Awaited<ReturnType<KafkaBus["producer"]>>,
  topic: string,
  n: number,
  make: (i: number) => ReturnType<typeof transfer>,
): Promise<void> {
  const t0 = performance.now();
  const lanes = 4;
  const chunk = 100_000;
  let next = 0;
  let produced = 0;
  let lastReport = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (;;) {
        const s = next;
        next += chunk;
        if (s >= n) return;
        const msgs = [];
        for (let i = s; i < Math.min(n, s + chunk); i++) {
          const e = make(i);
          msgs.push({ key: e.id, value: JSON.stringify(e) });
        }
        await producer.send(topic, msgs);
        produced += msgs.length;
        if (produced - lastReport >= 500_000 || produced === n) {
          lastReport = produced;
          const secs = (performance.now() - t0) / 1000;
          say(`produced ${produced.toLocaleString()} (${Math.round(produced / secs)} tx/s)`);
        }
      }
    }),
  );
}

function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds a process has used so far; 0 once it is gone. */
const cpuOf = (pid: number | null | undefined): number => cpuSeconds(pid) ?? 0;

const infra = await benchInfra("pipeline");
const dataDir = join(repoRoot, ".data", `bench-pipeline-ch-${process.pid}`);
const chPort = await freePort();
const ch = await startClickHouse({ port: chPort, dataDir, writerPool: 4 }, say);
const prefix = `bench${Date.now()}`;
const database = prefix;
const t = (n: string) => topicName(n, prefix);
const bus = new KafkaBus(
  { brokers: infra.kafkaBrokers.split(","), clientId: "bench-pipeline" },
  silentLogger(),
);
// Service output (warnings and errors: LOG_LEVEL=warn) goes to --service-log FILE, else nowhere.
const serviceLog = arg("service-log", "");
const sup = new Supervisor(
  serviceLog
    ? createWriteStream(serviceLog)
    : ({ write: () => true } as unknown as NodeJS.WritableStream),
);
/** Transfer ids of the latency phase; only their webhooks are timed. */
const latencyIds = new Set<string>();
const deliveries: number[] = [];
/** Per delivery: transfer timestamp → flag created by the tagger, and flag → webhook arrival. */
const stages: { toFlag: number[]; toWebhook: number[] } = { toFlag: [], toWebhook: [] };
let received = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const at = Date.now();
    received++;
    try {
      const a = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        transfer: { id: string; timestamp: number };
        createdAt: number;
      };
      if (req.headers[WebhookHeaders.eventId] && latencyIds.has(a.transfer.id)) {
        deliveries.push(at - a.transfer.timestamp);
        stages.toFlag.push(a.createdAt - a.transfer.timestamp);
        stages.toWebhook.push(at - a.createdAt);
      }
    } catch {
      // counted as nothing: the bench only measures well-formed deliveries
    }
    res.writeHead(200).end("ok");
  });
});

// Stops every process the bench started, once: at the end, and on Ctrl-C / SIGTERM (a 5M run
// takes long enough to be interrupted; the services and the broker must not outlive it).
let cleaning: Promise<void> | null = null;
const cleanup = () => {
  cleaning ??= (async () => {
    await sup.stopAll(20_000).catch(() => {});
    receiver.close();
    await bus.close().catch(() => {});
    await stopClickHouse(ch.pid, 10_000).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    await infra.cleanup();
  })();
  return cleaning;
};
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    console.error(`[bench] ${sig}: stopping the services and the infrastructure`);
    void cleanup().finally(() => process.exit(130));
  });

try {
  const store = {
    url: ch.url,
    username: ch.users.writer.user,
    password: ch.users.writer.password,
    database,
  };
  await migrate(store);
  const client = createStoreClient(store);
  await bus.ensureTopics(
    standardTopics(prefix, PARTITIONS).filter((x) => x.topic !== t(Topics.exposure)),
  );
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  // Only severe (direct sanctioned) flags become webhooks: ~1 per 1,000 transfers.
  await createSubscription({ store: new ClickHouseAlertsStore(client) }, "bench-bank", {
    name: "bench",
    url: hook,
    filters: { minSeverity: "severe" },
  });

  // 1M-entry watchlist on the compacted topic (the first LISTED_SENDERS of them actually send).
  say(`publishing ${ENTRIES.toLocaleString()} watchlist entries`);
  const wl = await bus.producer({ chunkSize: 10_000 });
  const now = Date.now();
  for (let s = 0; s < ENTRIES; s += 50_000) {
    const batch = [];
    for (let i = s; i < Math.min(ENTRIES, s + 50_000); i++) {
      const address = listedAddr(i);
      batch.push({
        key: watchlistKey("bench", "evm", address),
        value: {
          type: "watchlist.v1",
          listId: "bench",
          listVersion: 1,
          listHash: "0".repeat(64),
          family: "evm",
          address,
          code: null,
          entityName: `ENTITY ${i}`,
          programmes: ["CYBER2"],
          category: "sanctioned",
          severity: "severe",
          records: [
            {
              code: null,
              entityName: `ENTITY ${i}`,
              entityId: null,
              programmes: ["CYBER2"],
              category: "sanctioned",
              severity: "severe",
              label: null,
              designatedAt: null,
            },
          ],
          listedFrom: null,
          listedUntil: null,
          publishedAt: now,
        },
      });
    }
    await wl.send(t(Topics.watchlist), batch);
  }
  await wl.disconnect();

  const rulesFile = join(dataDir, "rules.json");
  writeFileSync(
    rulesFile,
    JSON.stringify({ indirect: { maxSourcesPerAddress: 10_000, maxOutflowsPerAddress: 10_000 } }),
  );
  const tsx = join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs");
  const common = {
    KAFKA_BROKERS: infra.kafkaBrokers,
    LOG_LEVEL: "warn",
    KAFKAJS_NO_PARTITIONER_WARNING: "1",
    NODE_OPTIONS: serviceNodeOptions(),
  };
  const chEnv = {
    CLICKHOUSE_URL: ch.url,
    CLICKHOUSE_USER: store.username,
    CLICKHOUSE_PASSWORD: store.password,
    CLICKHOUSE_DATABASE: database,
  };
  const svc = (name: string, env: Record<string, string>) =>
    sup.start({
      name,
      command: process.execPath,
      args: ["--import", tsx, join(repoRoot, "services", name, "src", "main.ts")],
      cwd: repoRoot,
      env: { ...common, ...env },
    });
  svc("sink", {
    ...chEnv,
    KAFKA_TOPIC_PREFIX: prefix,
    SINK_GROUP_ID: `${prefix}.sink`,
    SINK_OPS_PORT: "0",
  });
  svc("tagger", {
    ...chEnv,
    KAFKA_TOPIC_PREFIX: prefix,
    TAGGER_OPS_PORT: "0",
    TAGGER_RETRO: "false",
    TAGGER_RULES_FILE: rulesFile,
    TAGGER_WATCHLIST_TIMEOUT_S: "900",
  });
  svc("alerter", {
    ...chEnv,
    KAFKA_TOPIC_PREFIX: prefix,
    ALERTER_GROUP_ID: `${prefix}.alerter`,
    REDIS_URL: infra.redisUrl,
    QUEUE_PREFIX: prefix,
    WEBHOOK_ALLOW_RANGES: "loopback",
    WEBHOOK_ALLOW_HTTP: "true",
    OPS_PORT: "0",
  });
  const pids = () => Object.fromEntries(sup.running().map((r) => [r.name, r.pid]));
  const peakRss: Record<string, number> = {};
  const rssTimer = setInterval(() => {
    for (const [name, pid] of Object.entries(pids()))
      peakRss[name] = Math.max(peakRss[name] ?? 0, rssOf(pid));
    peakRss["clickhouse-embedded"] = Math.max(peakRss["clickhouse-embedded"] ?? 0, rssOf(ch.pid));
  }, 1_000);

  const count = async (q: string) => {
    const rs = await client.query({ query: q, format: "JSONEachRow" });
    const [row] = await rs.json<{ n: string }>();
    return Number(row?.n ?? 0);
  };
  // Wait until the tagger loaded the list (it publishes nothing before): probe with one transfer.
  say("waiting for the tagger to load the watchlist");
  const probe = await bus.producer();
  await probe.send(t(Topics.transfers), [
    { key: "probe", value: transfer(N + 1, Date.now(), true) },
  ]);
  for (;;) {
    if (
      (await bus.messageCount(t(Topics.flags))) > 0 &&
      (await count("SELECT count() AS n FROM flags")) > 0
    )
      break;
    await sleep(1_000);
  }
  // Storing the list (1M watchlist_entries rows, by the sink) is set-up, not throughput: let it
  // finish so the throughput phase measures transfers only (retro-screening is off here).
  say("waiting for the sink to store the watchlist");
  while ((await bus.lag(`${prefix}.sink.watchlist.v1`, t(Topics.watchlist)).catch(() => 1)) > 0)
    await sleep(1_000);
  const idle = { ...peakRss };
  /** CPU seconds per process: the services, the engine, the broker, Redis and this process (the producer). */
  const cpuNow = (): Record<string, number> => {
    const own = process.cpuUsage();
    return {
      ...Object.fromEntries(Object.entries(pids()).map(([name, pid]) => [name, cpuOf(pid)])),
      "clickhouse-embedded": cpuOf(ch.pid),
      kafka: cpuOf(infra.kafkaPid),
      redis: cpuOf(infra.redisPid),
      "bench (producer)": (own.user + own.system) / 1e6,
    };
  };
  const cpuStart = cpuNow();

  // Phase 2: throughput.
  say(`producing ${N.toLocaleString()} transfers`);
  const producer = await bus.producer({ chunkSize: 5_000 });
  const t0 = performance.now();
  const base = Date.now();
  const t0Wall = base;
  // Timestamps 1 ms apart ending now: in the past, in order, inside the exposure window.
  await produceTransfers(producer, t(Topics.transfers), N, (i) => transfer(i, base - N + i));
  const produceS = (performance.now() - t0) / 1000;
  say(`produced in ${produceS.toFixed(1)} s; waiting for the store`);
  let lastLog = 0;
  for (;;) {
    const n = await count("SELECT count() AS n FROM transfers");
    if (n >= N + 1) break;
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      say(`stored ${n.toLocaleString()} / ${N.toLocaleString()} transfers`);
    }
    await sleep(1_000);
  }
  // The sink stores transfers independently of the tagger: the run is over only when both tagger
  // stages (transfer screening, then exposure) have consumed everything and the sink has stored
  // every flag they produced. Waiting on the stored transfers alone measured the sink path and
  // left the tagger's backlog to spill into the latency phase.
  say("waiting for the tagger (both stages) and the flag sink");
  let flags = -1;
  for (;;) {
    const f = await count("SELECT count() AS n FROM flags");
    const lags = await Promise.all([
      bus.lag(`${prefix}.tagger`, t(Topics.transfers)).catch(() => 1),
      bus.lag(`${prefix}.tagger-exposure`, t(Topics.exposure)).catch(() => 1),
      bus.lag(`${prefix}.sink.flag.v1`, t(Topics.flags)).catch(() => 1),
    ]);
    if (f === flags && lags.every((l) => l === 0)) break;
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      say(`tagger lag ${lags[0]} transfers, ${lags[1]} exposure records; ${f} flags stored`);
    }
    flags = f;
    await sleep(3_000);
  }
  const rsIns = await client.query({
    // Rows of the throughput phase only (the probe transfer was stored long before it).
    query: `SELECT count() AS n, toUnixTimestamp64Milli(min(inserted_at)) AS a, toUnixTimestamp64Milli(max(inserted_at)) AS b,
              (SELECT toUnixTimestamp64Milli(max(inserted_at)) FROM flags) AS f FROM transfers
            WHERE inserted_at >= fromUnixTimestamp64Milli(toInt64(${t0Wall}), 'UTC')`,
    format: "JSONEachRow",
  });
  const [ins] = await rsIns.json<{ n: string; a: string; b: string; f: string }>();
  // End to end: first produce → last transfer or flag row inserted (the store's own clock, same
  // machine), so the polling above does not add to the figure.
  const e2eS = (Math.max(Number(ins?.b ?? 0), Number(ins?.f ?? 0)) - t0Wall) / 1000;
  const chRowsS = ins ? Number(ins.n) / Math.max(0.001, (Number(ins.b) - Number(ins.a)) / 1000) : 0;
  const busyRss = { ...peakRss };
  const cpuEnd = cpuNow();

  // Phase 3: latency, paced, the pipeline otherwise idle but for light noise.
  say(`latency phase: ${LAT_S} s at ${LAT_RATE} transfers/s, 1 in 10 from a listed address`);
  // Let the webhooks of the throughput phase drain first (no delivery for 5 s).
  for (let last = -1; last !== received; ) {
    last = received;
    await sleep(5_000);
  }
  deliveries.length = 0;
  stages.toFlag.length = 0;
  stages.toWebhook.length = 0;
  const sentListed = { n: 0 };
  const latStart = Date.now();
  let j = N + 10;
  while (Date.now() - latStart < LAT_S * 1000) {
    const tick = Date.now();
    const msgs = [];
    for (let k = 0; k < LAT_RATE / 10; k++) {
      const listed = j % 10 === 0;
      if (listed) sentListed.n++;
      const e = transfer(j++, Date.now(), listed);
      if (listed) latencyIds.add(e.id);
      msgs.push({ key: e.id, value: e });
    }
    await producer.send(t(Topics.transfers), msgs);
    await sleep(Math.max(0, 100 - (Date.now() - tick)));
  }
  const latDeadline = Date.now() + 120_000;
  while (deliveries.length < sentListed.n && Date.now() < latDeadline) await sleep(500);
  clearInterval(rssTimer);
  await producer.disconnect();
  await probe.disconnect();

  // Phase 1 (measured last, on the same topic): the bus ceiling for a validated consumer.
  say("bus ceiling: validated consume of the same topic");
  const total = await bus.messageCount(t(Topics.transfers));
  const ceiling =
    total /
    (await timedConsume(bus, {
      topic: t(Topics.transfers),
      schema: TransferV1,
      expected: total,
      partitions: 8,
    }));

  // The other half of the bus ceiling: producing alone, the same way and the same transfers as
  // the throughput phase, to a topic no service reads. The foundation bench's round trip is
  // N / (produce s + consume s): the rate at which the bus takes a message in and gives it out,
  // which is what an end-to-end pipeline does with every transfer.
  const ceilingN = Math.min(N, 1_000_000);
  say(`bus ceiling: producing ${ceilingN.toLocaleString()} transfers alone`);
  const produceTopic = `${prefix}.bench.produce-ceiling`;
  await bus.ensureTopics([{ topic: produceTopic, partitions: PARTITIONS }]);
  const soloProducer = await bus.producer({ chunkSize: 5_000 });
  const tp = performance.now();
  const soloBase = Date.now();
  await produceTransfers(soloProducer, produceTopic, ceilingN, (i) =>
    transfer(i, soloBase - ceilingN + i),
  );
  const produceAlone = ceilingN / ((performance.now() - tp) / 1000);
  await soloProducer.disconnect();
  await bus.deleteTopics([produceTopic]).catch(() => {});
  const roundTrip = 1 / (1 / produceAlone + 1 / ceiling);

  const lat = [...deliveries].sort((a, b) => a - b);
  const e2e = N / e2eS;
  console.log(
    `\npipeline: ${N.toLocaleString()} transfers, ${ENTRIES.toLocaleString()}-entry watchlist, pool ${POOL.toLocaleString()} addresses, indirect exposure on (2 hops)\n`,
  );
  table([
    {
      "produce tx/s": Math.round(N / produceS),
      "end-to-end tx/s": Math.round(e2e),
      "ClickHouse rows/s": Math.round(chRowsS),
      "flags stored": flags,
      "end-to-end s": e2eS.toFixed(1),
    },
  ]);
  console.log(
    "\nbus ceiling, same run (the foundation bench's figures: each alone, nothing else moving)",
  );
  table([
    {
      "produce msg/s": Math.round(produceAlone),
      "consume msg/s (validated)": Math.round(ceiling),
      "round trip msg/s": Math.round(roundTrip),
      "end-to-end / round trip": `${((100 * e2e) / roundTrip).toFixed(0)}%`,
      "end-to-end / consume": `${((100 * e2e) / ceiling).toFixed(0)}%`,
    },
  ]);
  console.log("\nblock-to-alert latency (webhook arrival − transfer timestamp), paced phase");
  const latRow = (stage: string, values: number[]) => {
    const v = [...values].sort((a, b) => a - b);
    return {
      stage,
      alerts: `${v.length} / ${sentListed.n}`,
      "p50 ms": percentile(v, 50),
      "p95 ms": percentile(v, 95),
      "p99 ms": percentile(v, 99),
      "max ms": v.at(-1) ?? Number.NaN,
    };
  };
  // The flag's createdAt (the tagger's clock, same machine) splits the path in two.
  table([
    latRow("transfer → webhook", lat),
    latRow("transfer → flag (tagger)", stages.toFlag),
    latRow("flag → webhook (alerter)", stages.toWebhook),
  ]);
  // Where the throughput phase's CPU went: on a machine with few cores every process of the
  // pipeline shares them, so µs per transfer summed over processes bounds the end-to-end rate.
  console.log("\nCPU per process over the throughput phase (user + system, all threads)");
  const cpuUsed = Object.keys(cpuEnd).map(
    (name) => [name, Math.max(0, (cpuEnd[name] ?? 0) - (cpuStart[name] ?? 0))] as const,
  );
  const cpuTotal = cpuUsed.reduce((a, [, s]) => a + s, 0);
  table(
    [...cpuUsed, ["total", cpuTotal] as const].map(([process, s]) => ({
      process,
      "CPU s": s.toFixed(1),
      "µs per transfer": ((s * 1e6) / N).toFixed(1),
    })),
  );
  console.log(`(${(cpuTotal / e2eS).toFixed(2)} cores busy on average over ${e2eS.toFixed(1)} s)`);
  console.log("\nresident memory per process (MB): idle after list load / peak over the run");
  table(
    Object.keys(busyRss).map((name) => ({
      process: name,
      "idle MB": idle[name] ?? 0,
      "peak MB": busyRss[name] ?? 0,
    })),
  );
  await client.close();
} finally {
  await cleanup();
}
