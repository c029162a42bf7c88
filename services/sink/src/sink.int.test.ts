import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { topicName } from "@chainscreen/kafka";
import { Topics, type TransferV1, transferId } from "@chainscreen/schema";
import { migrate } from "@chainscreen/store";
import { testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startClickHouse, stopClickHouse } from "../../../infra/local/clickhouse.js";
import { freePort } from "../../../infra/local/proc.js";

const repoRoot = resolve(import.meta.dirname, "..", "..", "..");
const brokers = inject("kafkaBrokers");
const bus = testBus(brokers);
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await bus.close();
});

interface StoreAt {
  url: string;
  username: string;
  password: string;
  database: string;
}

/** Starts the sink as its own process (so it can be killed with SIGKILL). */
function startSink(
  store: StoreAt,
  prefix: string,
  group: string,
  extra: Record<string, string> = {},
): ChildProcess {
  const tsx = join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs");
  const child = spawn(
    process.execPath,
    ["--import", tsx, join(repoRoot, "services", "sink", "src", "main.ts")],
    {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKAJS_NO_PARTITIONER_WARNING: "1",
        SINK_GROUP_ID: group,
        SINK_TOPICS: Topics.transfers,
        SINK_MAX_BATCH_ROWS: "500",
        SINK_MAX_RETRY_DELAY_MS: "1000",
        SINK_OPS_PORT: "0",
        CLICKHOUSE_URL: store.url,
        CLICKHOUSE_USER: store.username,
        CLICKHOUSE_PASSWORD: store.password,
        CLICKHOUSE_DATABASE: store.database,
        LOG_LEVEL: "warn",
        ...extra,
      },
    },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

const ASSETS = [
  { symbol: "ETH", contract: null, decimals: 18 },
  { symbol: "USDT", contract: "0xdac17f958d2ee523a2206206994597c13d831ec7", decimals: 6 },
  { symbol: "USDC", contract: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", decimals: 6 },
] as const;

function transfer(
  i: number,
  status: TransferV1["status"] = "confirmed",
  observedAt = 1_700_000_000_000,
): TransferV1 {
  const txHash = `0x${i.toString(16).padStart(64, "0")}`;
  const asset = ASSETS[i % ASSETS.length] ?? ASSETS[0];
  return {
    type: "transfer.v1",
    id: transferId("ethereum", txHash, asset.contract ? "token" : "native", 0),
    chain: "ethereum",
    kind: asset.contract ? "token" : "native",
    txHash,
    index: "0",
    blockNumber: 1000 + Math.floor(i / 100),
    blockHash: `0x${"ab".repeat(32)}`,
    timestamp: 1_700_000_000_000 + i * 1000,
    from: `0x${(i % 997).toString(16).padStart(40, "0")}`,
    to: `0x${(i % 991).toString(16).padStart(40, "1")}`,
    asset: { ...asset },
    // Above 2^64 for some rows: UInt256 must carry them exactly.
    amount: (BigInt(i + 1) * 123_456_789_012_345_678_901n).toString(),
    status,
    source: "test",
    observedAt,
  };
}

/**
 * Produces `n` transfers in bursts while `during` runs, then retractions of every 10th one (a
 * later message with the same id), and returns what the store must hold afterwards.
 */
class Feed {
  readonly expected = new Map<string, TransferV1>();
  produced = 0;
  constructor(
    private readonly topic: string,
    private readonly n: number,
  ) {}

  /** Produces transfers [from, to) (default: all) in bursts. */
  async run(burst = 250, pauseMs = 40, from = 0, to = this.n): Promise<void> {
    const producer = await bus.producer();
    for (let i = from; i < to; i += burst) {
      const msgs: TransferV1[] = [];
      for (let j = i; j < Math.min(to, i + burst); j++) {
        msgs.push(transfer(j));
        // Every 10th transfer is later retracted (reorg): same id, higher version.
        if (j % 10 === 5) msgs.push(transfer(j, "retracted", 1_700_000_000_000 + 60_000));
      }
      await producer.send(
        this.topic,
        msgs.map((t) => ({ key: t.id, value: t })),
      );
      for (const t of msgs) this.expected.set(t.id, t);
      this.produced += msgs.length;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    await producer.disconnect();
  }

  totals(): Record<string, string> {
    const out: Record<string, bigint> = {};
    for (const t of this.expected.values()) {
      const k = t.asset.symbol ?? "";
      out[k] = (out[k] ?? 0n) + BigInt(t.amount);
    }
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.toString()]));
  }

  retracted(): number {
    return [...this.expected.values()].filter((t) => t.status === "retracted").length;
  }
}

async function storedState(ch: ClickHouseClient) {
  const q = async <T>(query: string) =>
    (await ch.query({ query, format: "JSONEachRow" })).json<T>();
  const [final] = await q<{ rows: string; ids: string; retracted: string }>(
    "SELECT count() AS rows, uniqExact(id) AS ids, countIf(status = 'retracted') AS retracted FROM transfers FINAL",
  );
  const perAsset = await q<{ asset: string; total: string }>(
    "SELECT asset, toString(sum(amount)) AS total FROM transfers FINAL GROUP BY asset ORDER BY asset",
  );
  // Merges can only hide duplicates, never create them: any (partition, offset) stored twice is a double insert.
  const [dups] = await q<{ d: string }>(
    "SELECT count() AS d FROM (SELECT kafka_partition, kafka_offset, count() AS c FROM transfers GROUP BY kafka_partition, kafka_offset HAVING c > 1)",
  );
  return {
    rows: Number(final?.rows),
    ids: Number(final?.ids),
    retracted: Number(final?.retracted),
    totals: Object.fromEntries(perAsset.map((r) => [r.asset, r.total])),
    duplicateOffsets: Number(dups?.d),
  };
}

function chClient(store: StoreAt): ClickHouseClient {
  return createClient({ ...store, log: { level: ClickHouseLogLevel.OFF } });
}

describe("sink: Kafka → embedded ClickHouse", () => {
  it("stores exactly what was produced although the sink is killed with SIGKILL mid-stream", async () => {
    const store: StoreAt = {
      url: inject("clickhouseUrl"),
      username: inject("clickhouseUser"),
      password: inject("clickhousePassword"),
      database: uniqueName("sink_kill"),
    };
    await migrate(store, { maxVersion: 99 });
    const prefix = uniqueName("sinkkill");
    const topic = topicName(Topics.transfers, prefix);
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    const group = uniqueName("sink");
    const ch = chClient(store);

    const feed = new Feed(topic, 20_000);
    const feeding = feed.run();
    // Two consumers sharing the sink: partitions move between them while the sink restarts.
    const twoConsumers = { SINK_CONSUMERS: "2", SINK_PARTITIONS_IN_PARALLEL: "2" };
    let sink = startSink(store, prefix, group, twoConsumers);
    // Let it store part of the stream, then kill it without any chance to commit or flush.
    await waitFor(
      async () => {
        const [r] = await (
          await ch.query({ query: "SELECT count() AS c FROM transfers", format: "JSONEachRow" })
        ).json<{ c: string }>();
        return Number(r?.c) >= 3_000;
      },
      { timeoutMs: 120_000, message: "sink stored 3,000 rows" },
    );
    sink.kill("SIGKILL");
    await new Promise((r) => sink.once("exit", r));
    const atKill = await storedState(ch);
    sink = startSink(store, prefix, group, twoConsumers);
    await feeding;

    await waitFor(async () => (await storedState(ch)).ids === feed.expected.size, {
      timeoutMs: 180_000,
      message: "every produced id stored",
    });
    const s = await storedState(ch);
    console.log(
      `killed at ${atKill.rows} stored rows; produced ${feed.produced} messages for ${feed.expected.size} ids`,
    );
    expect(s.ids).toBe(feed.expected.size);
    expect(s.rows).toBe(feed.expected.size); // FINAL: one row per id, no duplicates
    expect(s.retracted).toBe(feed.retracted());
    expect(s.totals).toEqual(feed.totals());
    expect(s.duplicateOffsets).toBe(0);
    sink.kill("SIGTERM");
    await new Promise((r) => sink.once("exit", r));
    await ch.close();
  });

  it("pauses while the store is down, then catches up without losing anything", async () => {
    // A store of its own: stopping the shared one would disturb other test files.
    const dataDir = join(repoRoot, ".data", uniqueName("ch-outage"));
    const port = await freePort();
    let server = await startClickHouse({ port, dataDir });
    const store: StoreAt = {
      url: server.url,
      username: server.users.writer.user,
      password: server.users.writer.password,
      database: "chainscreen",
    };
    await migrate(store, { maxVersion: 99 });
    const prefix = uniqueName("sinkoutage");
    const topic = topicName(Topics.transfers, prefix);
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    const ch = chClient(store);
    const outageMs = Number(process.env.CHAINSCREEN_TEST_CH_OUTAGE_MS ?? 5_000);

    const feed = new Feed(topic, 12_000);
    // First half while the store is up, second half while it is down.
    const firstHalf = feed.run(250, 60, 0, 6_000);
    // One consumer, four partitions at once (the kill test above runs two consumers × two).
    const sink = startSink(store, prefix, uniqueName("sink"), {
      SINK_CONSUMERS: "1",
      SINK_PARTITIONS_IN_PARALLEL: "4",
    });
    let sinkExited = false;
    sink.once("exit", () => {
      sinkExited = true;
    });
    await waitFor(
      async () => {
        const [r] = await (
          await ch.query({ query: "SELECT count() AS c FROM transfers", format: "JSONEachRow" })
        ).json<{ c: string }>();
        return Number(r?.c) >= 1_000;
      },
      { timeoutMs: 120_000 },
    );
    await firstHalf;
    await stopClickHouse(server.pid);
    const stoppedAt = Date.now();
    const producedBefore = feed.produced;
    await feed.run(250, 20, 6_000, 12_000);
    await new Promise((r) => setTimeout(r, Math.max(0, outageMs - (Date.now() - stoppedAt))));
    // The sink neither crashed nor dropped anything while the store was gone.
    expect(sinkExited).toBe(false);
    server = await startClickHouse({ port, dataDir });
    await waitFor(async () => (await storedState(ch)).ids === feed.expected.size, {
      timeoutMs: 180_000,
      message: "every produced id stored after the outage",
    });
    const s = await storedState(ch);
    console.log(
      `outage ${outageMs} ms; ${producedBefore} messages produced before it, ${feed.produced - producedBefore} during it; caught up to ${feed.expected.size} ids`,
    );
    expect(sinkExited).toBe(false);
    expect(s.rows).toBe(feed.expected.size);
    expect(s.retracted).toBe(feed.retracted());
    expect(s.totals).toEqual(feed.totals());
    expect(s.duplicateOffsets).toBe(0);
    sink.kill("SIGTERM");
    await new Promise((r) => sink.once("exit", r));
    await ch.close();
    await stopClickHouse(server.pid);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
