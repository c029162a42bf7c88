// Whole-pipeline harness for the fault-injection suite: its own Kafka, Redis and embedded
// ClickHouse (so scenarios can restart them without touching the shared test infrastructure),
// an anvil chain behind a fault proxy, every service as a real child process under the project's
// Supervisor (restart on crash, like `npm start`), a webhook receiver, deterministic traffic, and
// a reconciliation of what was stored and delivered against what the chain holds.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { ClickHouseAlertsStore, createSubscription } from "@chainscreen/alerts";
import { ClickHouseKeyStore, generateApiKey } from "@chainscreen/auth";
import {
  type DemoCast,
  demoCast,
  demoTokenArtifact,
  demoWatchlistCsv,
  TrafficGenerator,
} from "@chainscreen/demo";
import { EvmBlockSource, RpcClient } from "@chainscreen/evm";
import { blockScopedId } from "@chainscreen/ingest";
import { type KafkaBus, standardTopics, topicName } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { type FlagV1, Topics, type TransferV1, type WatchlistEntryV1 } from "@chainscreen/schema";
import { createStoreClient, migrate } from "@chainscreen/store";
import {
  applyWatchlistMessage,
  LocalTagger,
  MemoryEntryIndex,
  parseRules,
  Suppressions,
} from "@chainscreen/tagger";
import { collectTopic, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { verify, WebhookHeaders } from "@chainscreen/webhook-verify";
import type { ClickHouseClient } from "@clickhouse/client";
import { Interface, parseEther, parseUnits, toBeHex } from "ethers";
import { startClickHouse, stopClickHouse } from "../../infra/local/clickhouse.js";
import { kafkaLibDir } from "../../infra/local/index.js";
import { startKafka, stopKafka } from "../../infra/local/kafka.js";
import { freePort, pidAlive, sleep } from "../../infra/local/proc.js";
import { startRedis, stopRedis } from "../../infra/local/redis.js";
import { Supervisor } from "../../infra/local/supervisor.js";
import { type Anvil, startAnvil } from "../evm/anvil.js";
import { type FaultProxy, startFaultProxy } from "../evm/fault-proxy.js";

const root = resolve(import.meta.dirname, "..", "..");

/** Soak runs (`npm run soak`, CHAINSCREEN_SOAK=1) stretch every outage from seconds to minutes. */
export const SOAK = process.env.CHAINSCREEN_SOAK === "1";
/** CHAINSCREEN_E2E_VERBOSE=1 mirrors every service log line to stderr. */
const VERBOSE = process.env.CHAINSCREEN_E2E_VERBOSE === "1";
/** Outage length: `short` ms in the default run, `soak` ms in a soak run. */
export const outage = (short: number, soak: number) => (SOAK ? soak : short);

/** Services of the pipeline in start order (consumers before producers; shutdown reverses it). */
export const SERVICES = [
  "watchlist-sync",
  "sink",
  "tagger",
  "alerter",
  "api",
  "ingest-evm",
] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Confirmations the ingester waits for: traffic is confirmed once this many blocks follow it. */
const CONFIRMATIONS = 2;
/** Memory bounds high enough never to be hit, so the flag set does not depend on arrival order. */
const RULES = { indirect: { maxSourcesPerAddress: 100_000, maxOutflowsPerAddress: 100_000 } };

/** Seeded PRNG (mulberry32): the same scenario sends the same traffic every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One webhook delivery as the receiver saw it. */
export interface Delivery {
  eventId: string;
  validSignature: boolean;
  body: string;
}

/** Webhook receiver that records deliveries by event id; can be taken down and brought back. */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  secret = "";
  /** While true the receiver answers 503 (the bank's endpoint is down). */
  down = false;
  refused = 0;
  private server: Server | null = null;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (this.down) {
          this.refused++;
          res.writeHead(503).end("down");
          return;
        }
        const body = Buffer.concat(chunks).toString("utf8");
        this.deliveries.push({
          eventId: String(req.headers[WebhookHeaders.eventId] ?? ""),
          validSignature: verify(
            body,
            String(req.headers[WebhookHeaders.signature] ?? ""),
            this.secret,
          ).ok,
          body,
        });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => this.server?.listen(port, "127.0.0.1", () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Distinct event ids delivered with a valid signature. */
  deliveredIds(): Set<string> {
    return new Set(this.deliveries.filter((d) => d.validSignature).map((d) => d.eventId));
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** Collects supervisor output: per-service log lines and unexpected exits. */
class SupervisorLog extends Writable {
  readonly lines: string[] = [];
  readonly exits: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      this.lines.push(line);
      if (VERBOSE) process.stderr.write(`${line}\n`);
      if (this.lines.length > 20_000) this.lines.splice(0, 5_000);
      if (/\| exited \(/.test(line)) this.exits.push(line);
    }
    cb();
  }

  /** The last n lines a service printed before `exitLine` (what it said before it exited). */
  before(exitLine: string, n: number): string[] {
    const prefix = exitLine.slice(0, exitLine.indexOf("|") + 1);
    const end = this.lines.lastIndexOf(exitLine);
    const out: string[] = [];
    for (let i = end - 1; i >= 0 && out.length < n; i--) {
      const line = this.lines[i] as string;
      if (line.startsWith(prefix)) out.unshift(line);
    }
    return out;
  }
}

/** What the reconciliation found; every field is compared by the scenarios. */
export interface Reconciliation {
  expectedTransfers: number;
  storedRows: number;
  storedDistinct: number;
  /** Stored transfers whose latest version is `retracted` (orphaned by a reorg). */
  retractedTransfers: number;
  missingTransfers: string[];
  unexpectedTransfers: string[];
  perAssetExpected: Record<string, { count: number; sum: string }>;
  perAssetStored: Record<string, { count: number; sum: string }>;
  expectedFlags: number;
  missingFlags: string[];
  /** Rule, hops and transfer of the first missing flags (for failure messages). */
  missingFlagDetails: string[];
  unexpectedFlags: string[];
  flagRows: number;
  flagDistinct: number;
  alerts: number;
  /** Published alerts (alert.v1) that the sink has not stored in `alerts`, and the reverse. */
  unstoredAlerts: string[];
  unexpectedStoredAlerts: string[];
  undeliveredAlerts: string[];
  flagsWithoutAlert: string[];
  notRunning: string[];
}

/** A running pipeline. Call {@link Pipeline.start}, send traffic, inject faults, reconcile, stop. */
export class Pipeline {
  readonly prefix = uniqueName("e2e");
  readonly database = uniqueName("e2e");
  readonly dataDir = join(root, ".data", uniqueName("pipeline"));
  readonly receiver = new WebhookReceiver();
  readonly sup: Supervisor;
  readonly out = new SupervisorLog();
  /** Names of kills the harness did on purpose (excluded from unexpected exits). */
  readonly intendedExits: string[] = [];
  cast: DemoCast = demoCast(24);
  kafka = { port: 0, controllerPort: 0, pid: 0, brokers: "" };
  redis = { port: 0, pid: 0, url: "" };
  ch = { port: 0, pid: 0, url: "", user: "", password: "" };
  anvil!: Anvil;
  proxy!: FaultProxy;
  bus!: KafkaBus;
  client!: ClickHouseClient;
  apiPort = 0;
  apiKey = "";
  token = "";
  private rng = prng(12);
  private tokenIface = new Interface(demoTokenArtifact.abi as never);
  private rulesFile = "";
  /** Service exits while the pipeline was starting (see {@link start}). */
  startupExits: string[] = [];
  private expectedById = new Map<string, FlagV1>();
  /** Transactions sent by {@link traffic}. */
  sent = 0;

  constructor(
    private readonly log: (m: string) => void = (m) => process.stderr.write(`[pipeline] ${m}\n`),
  ) {
    this.sup = new Supervisor(this.out);
  }

  /** Broker/topic name with the scenario prefix. */
  topic(name: string): string {
    return topicName(name, this.prefix);
  }

  async startKafka(): Promise<void> {
    const k = await startKafka(
      {
        port: this.kafka.port,
        controllerPort: this.kafka.controllerPort,
        dataDir: join(this.dataDir, "kafka"),
        libDir: kafkaLibDir,
      },
      this.log,
    );
    this.kafka.pid = k.pid;
    this.kafka.brokers = k.brokers;
  }

  async startRedis(): Promise<void> {
    const r = await startRedis(
      { port: this.redis.port, dataDir: join(this.dataDir, "redis"), persistence: true },
      this.log,
    );
    this.redis.pid = r.pid;
    this.redis.url = r.url;
  }

  async startClickHouse(): Promise<void> {
    const c = await startClickHouse(
      { port: this.ch.port, dataDir: join(this.dataDir, "clickhouse") },
      this.log,
    );
    Object.assign(this.ch, {
      pid: c.pid,
      url: c.url,
      user: c.users.writer.user,
      password: c.users.writer.password,
    });
  }

  /** Starts infrastructure, chain, watchlist and every service; resolves once all are ready. */
  async start(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    this.kafka.port = await freePort();
    this.kafka.controllerPort = await freePort();
    this.redis.port = await freePort();
    this.ch.port = await freePort();
    this.apiPort = await freePort();
    await Promise.all([this.startKafka(), this.startRedis(), this.startClickHouse()]);
    this.bus = testBus(this.kafka.brokers);
    await this.bus.ensureTopics([
      ...standardTopics(this.prefix).filter((t) => t.topic !== this.topic(Topics.exposure)),
      // The ingester's checkpoint topic: compacted, one partition (it creates it otherwise, and
      // a read right after creation can hit "does not host this topic-partition").
      { topic: this.topic("ingest.blocks"), partitions: 1, compacted: true },
    ]);
    const store = {
      url: this.ch.url,
      username: this.ch.user,
      password: this.ch.password,
      database: this.database,
    };
    await migrate(store);
    this.client = createStoreClient(store);

    // Bank subscription and an API key for the push endpoint.
    await this.receiver.start();
    const sub = await createSubscription(
      { store: new ClickHouseAlertsStore(this.client) },
      "e2e-bank",
      {
        name: "e2e bank webhook",
        url: this.receiver.url,
        // Every flag becomes an alert (behavioural p2p/structuring flags too; the default omits them).
        filters: { minSeverity: "low", exposure: ["direct", "indirect", "behavioural"] },
      },
    );
    this.receiver.secret = sub.secret;
    const admin = generateApiKey({ tenantId: "e2e-bank", role: "admin", name: "e2e" });
    await new ClickHouseKeyStore(this.client).put(admin.record);
    this.apiKey = admin.key;

    // Chain: anvil (automine: one block per transaction) behind a fault proxy.
    this.anvil = await startAnvil();
    this.proxy = await startFaultProxy(this.anvil.url, 3_000);
    const gen = new TrafficGenerator({
      rpcUrl: this.anvil.url,
      cast: this.cast,
      token: demoTokenArtifact,
    });
    this.token = await gen.setup();

    const listFile = join(this.dataDir, "watchlist.csv");
    writeFileSync(listFile, demoWatchlistCsv(this.cast));
    this.rulesFile = join(this.dataDir, "rules.json");
    writeFileSync(this.rulesFile, JSON.stringify(RULES));

    const common = {
      KAFKA_BROKERS: this.kafka.brokers,
      LOG_LEVEL: "warn",
      KAFKAJS_NO_PARTITIONER_WARNING: "1",
    };
    const chEnv = {
      CLICKHOUSE_URL: this.ch.url,
      CLICKHOUSE_USER: this.ch.user,
      CLICKHOUSE_PASSWORD: this.ch.password,
      CLICKHOUSE_DATABASE: this.database,
    };
    const env: Record<ServiceName, Record<string, string>> = {
      "watchlist-sync": {
        WATCHLIST_SOURCES: `demo|csv|${listFile}`,
        WATCHLIST_DATA_DIR: join(this.dataDir, "watchlists"),
        WATCHLIST_TOPIC: this.topic(Topics.watchlist),
        OPS_TOPIC: this.topic(Topics.opsEvents),
        OPS_PORT: "0",
      },
      sink: {
        ...chEnv,
        KAFKA_TOPIC_PREFIX: this.prefix,
        SINK_GROUP_ID: `${this.prefix}.sink`,
        SINK_OPS_PORT: "0",
        SINK_MAX_RETRY_DELAY_MS: "2000",
      },
      tagger: {
        ...chEnv,
        KAFKA_TOPIC_PREFIX: this.prefix,
        TAGGER_GROUP_ID: "tagger",
        TAGGER_OPS_PORT: "0",
        TAGGER_RULES_FILE: this.rulesFile,
        // Retro-screening re-flags history when a list version adds addresses; the traffic starts
        // after the only list version, so it would find nothing — off keeps the oracle exact.
        TAGGER_RETRO: "false",
      },
      alerter: {
        ...chEnv,
        KAFKA_TOPIC_PREFIX: this.prefix,
        ALERTER_GROUP_ID: `${this.prefix}.alerter`,
        REDIS_URL: this.redis.url,
        QUEUE_PREFIX: this.prefix,
        WEBHOOK_ALLOW_RANGES: "loopback",
        WEBHOOK_ALLOW_HTTP: "true",
        SUBSCRIPTION_POLL_MS: "500",
        WEBHOOK_TIMEOUT_MS: "5000",
        // The production schedule (5 s doubling, ~10 h over 20 attempts) compressed: 20 attempts
        // must still outlast the receiver outage even when jitter halves every delay — at most
        // 83 s (at least 41 s) with a 5 s cap for the default run's 20 s, at most 784 s (at least
        // 392 s) with a 60 s cap for the soak's 300 s.
        WEBHOOK_BACKOFF_BASE_MS: "500",
        WEBHOOK_BACKOFF_MAX_MS: String(outage(5_000, 60_000)),
        OPS_PORT: "0",
      },
      api: {
        ...chEnv,
        CLICKHOUSE_SQL_USER: this.ch.user,
        CLICKHOUSE_SQL_PASSWORD: this.ch.password,
        TOPIC_PREFIX: this.prefix,
        REDIS_URL: this.redis.url,
        ALERTS_QUEUE_PREFIX: this.prefix,
        API_PORT: String(this.apiPort),
        WATCHLIST_DIR: join(this.dataDir, "watchlists"),
        ALERTS_ALLOW_PRIVATE_TARGETS: "true",
      },
      "ingest-evm": {
        INGEST_TRANSFERS_TOPIC: this.topic(Topics.transfers),
        INGEST_BLOCKS_TOPIC: this.topic("ingest.blocks"),
        INGEST_TRANSACTIONAL_ID: `${this.prefix}.ingest-evm`,
        EVM_CHAIN: "anvil",
        EVM_RPC_URLS: this.proxy.url,
        EVM_RPC_TIMEOUT_MS: "2000",
        EVM_CONFIRMATIONS: String(CONFIRMATIONS),
        EVM_START_BLOCK: "0",
        EVM_TRACES: "off",
        EVM_POLL_MS: "200",
        OPS_PORT: "0",
      },
    };
    const tsx = join(root, "node_modules", "tsx", "dist", "loader.mjs");
    for (const name of SERVICES) {
      this.sup.start({
        name,
        command: process.execPath,
        args: ["--import", tsx, join(root, "services", name, "src", "main.ts")],
        cwd: root,
        env: { ...common, ...env[name] },
      });
      // The tagger waits for the watchlist; the watchlist must be published before traffic.
      if (name === "watchlist-sync")
        await waitFor(
          async () =>
            (await this.bus.messageCount(this.topic(Topics.watchlist))) >= this.cast.listed.length,
          {
            timeoutMs: 180_000,
            intervalMs: 500,
            message: "watchlist-sync published nothing",
          },
        );
    }
    await this.waitReady();
    // Exits while everything was still starting (a broker still electing leaders of new topics)
    // are reported, not counted: the supervisor restarts them as it would under `npm start`.
    this.startupExits = [...this.out.exits];
    this.out.exits.length = 0;
    for (const exit of this.startupExits)
      this.log(`exit during start-up: ${[...this.out.before(exit, 3), exit].join("\n")}`);
  }

  /** Waits until the API answers and the ingester stored the setup blocks. */
  async waitReady(): Promise<void> {
    await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${this.apiPort}/healthz`).catch(() => null);
        return r !== null && r.status < 500;
      },
      { timeoutMs: 180_000, intervalMs: 500, message: "api did not start" },
    );
  }

  /** Pid of a supervised service (undefined while it is down or restarting). */
  pid(name: ServiceName): number | undefined {
    return this.sup.running().find((r) => r.name === name)?.pid;
  }

  /** kill -9 of a service; the supervisor restarts it (as under `npm start`). Resolves once it is back. */
  async kill9(name: ServiceName): Promise<void> {
    const pid = this.pid(name);
    if (!pid) throw new Error(`${name} is not running`);
    this.intendedExits.push(name);
    process.kill(pid, "SIGKILL");
    await waitFor(
      () => {
        const p = this.pid(name);
        return p !== undefined && p !== pid;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        message: `${name} was not restarted`,
      },
    );
  }

  /** Sends `rounds` rounds of deterministic traffic (noise, listed payouts, hop chains, deposits). */
  async traffic(rounds: number, perRoundNoise = 6): Promise<void> {
    const { users, listed, services } = this.cast;
    const pick = <T>(xs: T[]) => xs[Math.floor(this.rng() * xs.length)] as T;
    const eth = (from: string, to: string, milli: number) =>
      this.send({ from, to, value: toBeHex(parseEther("0.001") * BigInt(milli)) });
    const tok = (from: string, to: string, units: number) =>
      this.send({
        from,
        to: this.token,
        data: this.tokenIface.encodeFunctionData("transfer", [to, parseUnits(String(units), 6)]),
      });
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < perRoundNoise; i++) {
        const a = pick(users);
        let b = pick(users);
        if (a === b) b = users[(users.indexOf(a) + 1) % users.length] as string;
        if (i % 2) await eth(a, b, 1 + Math.floor(this.rng() * 2000));
        else await tok(a, b, 1 + Math.floor(this.rng() * 5000));
      }
      const src = listed[(this.sent + r) % listed.length]?.address as string;
      const hop = [pick(users), pick(users), pick(users), pick(users)];
      await tok(src, hop[0] as string, 25_000);
      if (hop[1] !== hop[0]) await tok(hop[0] as string, hop[1] as string, 20_000);
      if (hop[2] !== hop[1]) await tok(hop[1] as string, hop[2] as string, 15_000);
      await eth(src, hop[3] as string, 3_500);
      await tok(pick(users), pick(services).address, 1_200);
    }
  }

  private async send(tx: Record<string, string>): Promise<void> {
    // Straight to anvil (not through the fault proxy): the proxy only disturbs the ingester.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.anvil.rpc("eth_sendTransaction", [tx]);
        this.sent++;
        return;
      } catch (err) {
        if (attempt > 5) throw err;
        await sleep(200);
      }
    }
  }

  /** Mines empty blocks so everything sent so far is confirmed. */
  async confirmAll(): Promise<void> {
    for (let i = 0; i < CONFIRMATIONS + 1; i++) await this.anvil.rpc("evm_mine");
  }

  /** What the chain holds: confirmed transfers of blocks 0 … head − confirmations, with block-scoped ids. */
  async chainTransfers(): Promise<TransferV1[]> {
    const log = silentLogger();
    const source = new EvmBlockSource({
      chain: "anvil",
      rpc: new RpcClient({ urls: [this.anvil.url], log }),
      log,
      traces: "off",
    });
    const head =
      Number.parseInt(await this.anvil.rpc<string>("eth_blockNumber"), 16) - CONFIRMATIONS;
    const out: TransferV1[] = [];
    for (let s = 0; s <= head; s += 50) {
      for (const b of await source.blocks(s, Math.min(head, s + 49)))
        for (const t of b.transfers)
          out.push({ ...t, id: blockScopedId(t.id, b.ref.hash), status: "confirmed" });
    }
    return out;
  }

  /** Flags the tagger must produce for `transfers`: both stages in one process, no Kafka. */
  async expectedFlags(transfers: TransferV1[]): Promise<FlagV1[]> {
    const index = new MemoryEntryIndex();
    const msgs = await collectTopic(this.bus, this.topic(Topics.watchlist), {
      until: () => false,
      timeoutMs: 5_000,
    });
    for (const m of msgs) {
      if (m.key === null) continue;
      // Malformed messages of the burst scenario are not watchlist entries.
      if (
        m.value !== null &&
        (typeof m.value !== "object" || (m.value as { type?: string }).type !== "watchlist.v1")
      )
        continue;
      try {
        applyWatchlistMessage(index, m.key, m.value as WatchlistEntryV1 | null);
      } catch {
        // Same as the tagger: a message that does not apply is a dead letter there.
      }
    }
    const tagger = new LocalTagger({
      index,
      rules: parseRules(RULES),
      suppressions: new Suppressions(),
      exposurePartitions: 8,
      now: () => 0,
    });
    return tagger.run(transfers);
  }

  private async rows<T>(query: string): Promise<T[]> {
    const rs = await this.client.query({ query, format: "JSONEachRow" });
    return rs.json<T>();
  }

  /** Compares stored transfers, flags and deliveries with the chain; polls until they settle. */
  async reconcile(opts: { timeoutMs?: number } = {}): Promise<Reconciliation> {
    await this.confirmAll();
    const chain = await this.chainTransfers();
    const expectedFlags = await this.expectedFlags(chain);
    const expectedFlagIds = new Set(expectedFlags.map((f) => f.id));
    this.expectedById = new Map(expectedFlags.map((f) => [f.id, f]));
    const assetKey = (contract: string | null) => contract ?? "native";
    const perAssetExpected: Record<string, { count: number; sum: string }> = {};
    for (const t of chain) {
      const k = assetKey(t.asset.contract);
      const e = perAssetExpected[k] ?? { count: 0, sum: "0" };
      e.count++;
      e.sum = (BigInt(e.sum) + BigInt(t.amount)).toString();
      perAssetExpected[k] = e;
    }
    let last: Reconciliation | null = null;
    const settled = async () => {
      last = await this.snapshot(chain, expectedFlagIds, perAssetExpected);
      return (
        last.missingTransfers.length === 0 &&
        last.missingFlags.length === 0 &&
        last.undeliveredAlerts.length === 0 &&
        last.unstoredAlerts.length === 0 &&
        last.flagsWithoutAlert.length === 0
      );
    };
    await waitFor(settled, { timeoutMs: opts.timeoutMs ?? 300_000, intervalMs: 3_000 }).catch(
      () => {},
    );
    // One more look after a pause: nothing unexpected arrives late (duplicates, stray flags).
    await sleep(3_000);
    await settled().catch(() => {});
    if (!last) throw new Error("reconciliation never ran");
    return last;
  }

  private async snapshot(
    chain: TransferV1[],
    expectedFlagIds: Set<string>,
    perAssetExpected: Record<string, { count: number; sum: string }>,
  ): Promise<Reconciliation> {
    const chainIds = new Set(chain.map((t) => t.id));
    const stored = await this.rows<{ id: string }>(
      "SELECT id FROM transfers FINAL WHERE status = 'confirmed'",
    );
    const [counts] = await this.rows<{ rows: string; distinct: string }>(
      "SELECT count() AS rows, uniqExact(id) AS distinct FROM transfers FINAL WHERE status = 'confirmed'",
    );
    const [retracted] = await this.rows<{ n: string }>(
      "SELECT count() AS n FROM transfers FINAL WHERE status = 'retracted'",
    );
    const perAsset = await this.rows<{ asset: string; n: string; s: string }>(
      "SELECT if(asset_contract = '', 'native', asset_contract) AS asset, count() AS n, toString(sum(amount)) AS s FROM transfers FINAL WHERE status = 'confirmed' GROUP BY asset",
    );
    const storedIds = new Set(stored.map((r) => r.id));
    const flags = await this.rows<{ id: string }>(
      "SELECT id FROM flags FINAL WHERE status = 'active'",
    );
    const [fc] = await this.rows<{ rows: string; distinct: string }>(
      "SELECT count() AS rows, uniqExact(id) AS distinct FROM flags FINAL WHERE status = 'active'",
    );
    const flagIds = new Set(flags.map((r) => r.id));
    const alerts = await collectTopic(this.bus, this.topic(Topics.alerts), {
      until: () => false,
      timeoutMs: 3_000,
    });
    const alertIds = new Set<string>();
    const alertedFlags = new Set<string>();
    for (const a of alerts) {
      const v = a.value as { id?: string; flagId?: string; status?: string } | null;
      if (!v?.id) continue;
      alertIds.add(v.id);
      if (v.flagId && v.status === "active") alertedFlags.add(v.flagId);
    }
    const storedAlertIds = new Set(
      (await this.rows<{ id: string }>("SELECT id FROM alerts FINAL")).map((r) => r.id),
    );
    const delivered = this.receiver.deliveredIds();
    const perAssetStored: Record<string, { count: number; sum: string }> = {};
    for (const r of perAsset) perAssetStored[r.asset] = { count: Number(r.n), sum: r.s };
    return {
      expectedTransfers: chainIds.size,
      storedRows: Number(counts?.rows ?? 0),
      storedDistinct: Number(counts?.distinct ?? 0),
      retractedTransfers: Number(retracted?.n ?? 0),
      missingTransfers: [...chainIds].filter((id) => !storedIds.has(id)),
      unexpectedTransfers: [...storedIds].filter((id) => !chainIds.has(id)),
      perAssetExpected,
      perAssetStored,
      expectedFlags: expectedFlagIds.size,
      missingFlags: [...expectedFlagIds].filter((id) => !flagIds.has(id)),
      missingFlagDetails: [...expectedFlagIds]
        .filter((id) => !flagIds.has(id))
        .slice(0, 5)
        .map((id) => {
          const f = this.expectedById.get(id);
          return `${id} ${f?.rule.id} hops=${f?.hops} transfer=${f?.transferId} block=${f?.transfer.blockNumber}`;
        }),
      unexpectedFlags: [...flagIds].filter((id) => !expectedFlagIds.has(id)),
      flagRows: Number(fc?.rows ?? 0),
      flagDistinct: Number(fc?.distinct ?? 0),
      alerts: alertIds.size,
      unstoredAlerts: [...alertIds].filter((id) => !storedAlertIds.has(id)),
      unexpectedStoredAlerts: [...storedAlertIds].filter((id) => !alertIds.has(id)),
      undeliveredAlerts: [...alertIds].filter((id) => !delivered.has(id)),
      flagsWithoutAlert: [...expectedFlagIds].filter((id) => !alertedFlags.has(id)),
      notRunning: SERVICES.filter(
        (s) => this.pid(s) === undefined || !pidAlive(this.pid(s) as number),
      ),
    };
  }

  /**
   * An oracle independent of the tagger's code: every confirmed transfer out of or into a listed
   * demo address must carry an active direct flag. Returns the chain's such transfers and the ids
   * of those without one.
   */
  async directFlagGaps(): Promise<{ listedTransfers: number; missing: string[] }> {
    const listed = new Set(this.cast.listed.map((l) => l.address.toLowerCase()));
    const chain = await this.chainTransfers();
    const hits = chain.filter(
      (t) =>
        (typeof t.from === "string" && listed.has(t.from.toLowerCase())) ||
        (t.to !== null && listed.has(t.to.toLowerCase())),
    );
    const flagged = new Set(
      (
        await this.rows<{ t: string }>(
          "SELECT transfer_id AS t FROM flags FINAL WHERE rule_kind = 'direct' AND status = 'active'",
        )
      ).map((r) => r.t),
    );
    return {
      listedTransfers: hits.length,
      missing: hits.filter((t) => !flagged.has(t.id)).map((t) => t.id),
    };
  }

  /** Service exits the harness did not cause (crashes the supervisor had to restart). */
  unexpectedExits(): string[] {
    const intended = [...this.intendedExits];
    const out: string[] = [];
    for (const line of this.out.exits) {
      const name = line.split("|")[0]?.trim() ?? "";
      const i = intended.indexOf(name);
      if (i >= 0) intended.splice(i, 1);
      else out.push(line);
    }
    return out;
  }

  /** Last log lines of a service (for failure messages). */
  tail(service: string, n = 30): string {
    return this.out.lines
      .filter((l) => l.startsWith(service))
      .slice(-n)
      .join("\n");
  }

  /** Stops everything this harness started. */
  async stop(): Promise<void> {
    await this.sup.stopAll(15_000).catch(() => {});
    await this.receiver.stop().catch(() => {});
    await this.proxy?.close().catch(() => {});
    await this.anvil?.stop().catch(() => {});
    await this.bus?.close().catch(() => {});
    await this.client?.close().catch(() => {});
    await Promise.all([
      this.ch.pid ? stopClickHouse(this.ch.pid, 10_000) : null,
      this.kafka.pid ? stopKafka(this.kafka.pid) : null,
      this.redis.pid ? stopRedis(this.redis.pid) : null,
    ]);
    if (process.env.CHAINSCREEN_KEEP_DATA !== "1")
      rmSync(this.dataDir, { recursive: true, force: true });
  }
}
