/**
 * Alert delivery: flag.v1 produced to Kafka → alerter (match, alert.v1, BullMQ job) → signed
 * webhook received by local HTTP receivers. Prints end-to-end latency percentiles at a steady
 * flag rate, then the maximum deliveries/s with jobs enqueued as fast as possible.
 *
 *   npm run bench -- alerts [--rate 1000] [--seconds 20] [--burst 20000] [--endpoints 4]
 */
import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { createSubscription, DEFAULT_QUEUE_SETTINGS, MemoryAlertsStore } from "@chainscreen/alerts";
import { KafkaBus } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { type FlagV1, flagHash, flagId } from "@chainscreen/schema";
import { Redis } from "ioredis";
import { startAlerter } from "../services/alerter/src/app.js";
import { benchInfra, percentile, rssMb, table } from "./lib.js";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RATE = arg("rate", 1_000);
const SECONDS = arg("seconds", 20);
const BURST = arg("burst", 20_000);
const ENDPOINTS = arg("endpoints", 4);

const LISTED = "0x8589427373d6d84e98730d7795d8f6f8731fda16";
const customer = (e: number) => `0x${(0xc000 + e).toString(16).padStart(40, "0")}`;

function flag(n: number, endpoint: number, createdAt: number): FlagV1 {
  const txHash = `0x${n.toString(16).padStart(64, "0")}`;
  const transferId = `ethereum:${txHash}:native:0`;
  return {
    type: "flag.v1",
    id: flagId(transferId, "direct-sanctioned", ["from"], LISTED),
    transferId,
    transfer: {
      id: transferId,
      chain: "ethereum",
      kind: "native",
      txHash,
      index: "0",
      blockNumber: 19_000_000 + n,
      blockHash: null,
      timestamp: createdAt,
      from: [LISTED],
      inputs: null,
      to: customer(endpoint),
      asset: { symbol: "ETH", contract: null, decimals: 18 },
      amount: "1000000000000000000",
      status: "confirmed",
      source: "bench",
    },
    rule: { id: "direct-sanctioned", kind: "direct", configVersion: "bench" },
    severity: "severe",
    sides: ["from"],
    address: LISTED,
    family: "evm",
    counterparty: customer(endpoint),
    entries: [
      {
        listId: "ofac-sdn",
        listVersion: "bench",
        family: "evm",
        address: LISTED,
        entityName: "Bench Entity",
        programmes: ["CYBER2"],
        category: "sanctioned",
        listedFrom: null,
        listedUntil: null,
        listedAt: null,
        listedAtTransferTime: true,
      },
    ],
    listedAtTransferTime: true,
    exposure: "direct",
    hops: 0,
    weight: 1,
    path: [],
    valueUsd: "3000",
    evidence: [],
    incidentId: flagHash("bench", String(n)),
    retro: false,
    listedAt: null,
    status: "active",
    createdAt,
  };
}

/**
 * The banks' receivers run in a child process (as they would on other machines), so the figures
 * are the alerter's: each verifies every signature with @chainscreen/webhook-verify, answers 204
 * and reports (event id, latency since the flag was created) back over IPC in batches.
 */
const RECEIVER = `
import { createServer } from "node:http";
import { verify } from ${JSON.stringify(`${import.meta.dirname}/../packages/webhook-verify/src/index.ts`)};
const secrets = JSON.parse(process.env.SECRETS);
let pending = [];
let bad = 0;
setInterval(() => { if (pending.length) { process.send({ got: pending, bad }); pending = []; } }, 100);
const urls = [];
for (const secret of secrets) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (!verify(body, req.headers["chainscreen-signature"], secret).ok) bad++;
      const createdAt = JSON.parse(body.toString("utf8")).createdAt;
      pending.push([String(req.headers["chainscreen-event-id"]), Date.now() - createdAt]);
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  urls.push("http://127.0.0.1:" + server.address().port + "/hook");
}
process.send({ urls });
`;

function startReceivers(secrets: string[], onGot: (id: string, ms: number) => void) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", RECEIVER],
    {
      env: { ...process.env, SECRETS: JSON.stringify(secrets) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  let bad = 0;
  const ready = new Promise<string[]>((resolve) => {
    child.on("message", (m: { urls?: string[]; got?: [string, number][]; bad?: number }) => {
      if (m.urls) resolve(m.urls);
      for (const [id, ms] of m.got ?? []) onGot(id, ms);
      if (m.bad !== undefined) bad = m.bad;
    });
  });
  return { child, ready, bad: () => bad };
}

const infra = await benchInfra("alerts");
const bus = new KafkaBus(
  { brokers: [infra.kafkaBrokers], clientId: "bench-alerts" },
  silentLogger(),
);
const run = `bench.alerts.${Date.now()}`;
const flagsTopic = `${run}.flag.v1`;
await bus.ensureTopics([{ topic: flagsTopic, partitions: 4 }]);

const store = new MemoryAlertsStore();
let latencies: number[] = [];
let intake: number[] = [];
let delivery: number[] = [];
const seen = new Set<string>();
const subs: { id: string; secret: string }[] = [];
for (let e = 0; e < ENDPOINTS; e++) {
  const { subscription, secret } = await createSubscription({ store }, `bench-bank-${e}`, {
    url: "http://127.0.0.1:1/placeholder",
    filters: { addresses: [customer(e)] },
    limits: { maxConcurrency: 32, ratePerSecond: 10_000 },
  });
  subs.push({ id: subscription.id, secret });
}
const receivers = startReceivers(
  subs.map((s) => s.secret),
  (id, ms) => {
    seen.add(id);
    latencies.push(ms);
  },
);
const urls = await receivers.ready;
for (const [e, s] of subs.entries()) {
  const sub = await store.getSubscription(s.id);
  if (sub) await store.putSubscription({ ...sub, url: urls[e] ?? "", version: sub.version + 1 });
}

const app = await startAlerter({
  redisUrl: infra.redisUrl,
  store,
  log: silentLogger(),
  settings: { ...DEFAULT_QUEUE_SETTINGS, prefix: run.replaceAll(".", "_") },
  ssrf: { allow: ["loopback"] },
  kafka: { bus, flagsTopic, groupId: `${run}.alerter`, alertsTopic: null },
  worker: {
    // Splits the end-to-end latency: flag → job enqueued (Kafka + matching), job → 2xx (queue + HTTP).
    onAttempt: (row, data) => {
      if (row.status !== "delivered") return;
      const createdAt = (JSON.parse(data.body) as { createdAt: number }).createdAt;
      intake.push(data.enqueuedAt - createdAt);
      delivery.push(row.at - data.enqueuedAt);
    },
  },
});

// Phase 1: steady rate through Kafka.
const producer = await bus.producer();
const total = RATE * SECONDS;
const tick = 50; // ms per send: RATE/20 flags each
const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
const t0 = performance.now();
let sent = 0;
while (sent < total) {
  const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE) + perTick);
  const batch = [];
  const now = Date.now();
  for (; sent < due; sent++)
    batch.push({ key: String(sent), value: flag(sent, sent % ENDPOINTS, now) });
  if (batch.length) await producer.send(flagsTopic, batch);
  await new Promise((r) => setTimeout(r, tick));
}
const sendSecs = (performance.now() - t0) / 1000;
const deadline = Date.now() + 120_000;
while (seen.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (xs: number[], p: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  );
console.log(
  `\nflag produced → webhook received, ${total} alerts at ${(total / sendSecs).toFixed(0)}/s over ${ENDPOINTS} endpoints`,
);
table([
  {
    delivered: seen.size,
    "p50 ms": percentile(sorted, 50),
    "p95 ms": percentile(sorted, 95),
    "p99 ms": percentile(sorted, 99),
    "max ms": sorted[sorted.length - 1] ?? Number.NaN,
    "intake p50/p99": `${pct(intake, 50)}/${pct(intake, 99)}`,
    "queue+http p50/p99": `${pct(delivery, 50)}/${pct(delivery, 99)}`,
    "bad signatures": receivers.bad(),
    "rss MB": rssMb(),
  },
]);

// Phase 2: burst straight into the queues (match + enqueue as fast as possible), count deliveries/s.
latencies = [];
intake = [];
delivery = [];
seen.clear();
const base = total + 1;
const redisInfo = new Redis(infra.redisUrl);
const redisCpu = async () => {
  const info = await redisInfo.info("cpu");
  const f = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return f("used_cpu_user") + f("used_cpu_sys");
};
const cpu0 = process.cpuUsage();
const rcpu0 = await redisCpu();
const b0 = performance.now();
for (let i = 0; i < BURST; i += 1_000) {
  const now = Date.now();
  const chunk = [];
  for (let j = i; j < Math.min(BURST, i + 1_000); j++)
    chunk.push(flag(base + j, j % ENDPOINTS, now));
  await app.alerter.handleFlags(chunk);
}
const enqueueSecs = (performance.now() - b0) / 1000;
const deadline2 = Date.now() + 300_000;
while (seen.size < BURST && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
const burstSecs = (performance.now() - b0) / 1000;
const cpu = process.cpuUsage(cpu0);
const alerterCpuUs = (cpu.user + cpu.system) / Math.max(1, seen.size);
const redisCpuUs = (((await redisCpu()) - rcpu0) * 1e6) / Math.max(1, seen.size);
redisInfo.disconnect();
console.log(
  `\nburst of ${BURST} alerts enqueued directly (${ENDPOINTS} endpoints × concurrency 32)`,
);
table([
  {
    delivered: seen.size,
    "enqueue/s": Math.round(BURST / enqueueSecs),
    "deliveries/s": Math.round(seen.size / burstSecs),
    seconds: burstSecs.toFixed(1),
    "alerter CPU µs/delivery": Math.round(alerterCpuUs),
    "redis CPU µs/delivery": Math.round(redisCpuUs),
    "rss MB": rssMb(),
  },
]);
// CPU per delivery does not depend on what else runs on the machine; it bounds the rate one
// alerter core (and one Redis core) can sustain.
console.log(
  `capacity per core: alerter ≈ ${Math.round(1e6 / alerterCpuUs)} deliveries/s, ` +
    `redis ≈ ${Math.round(1e6 / Math.max(1, redisCpuUs))} deliveries/s ` +
    `(load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores during the run)`,
);

await producer.disconnect();
await app.stop();
receivers.child.kill();
await bus.close();
await infra.cleanup();
process.exit(0);
