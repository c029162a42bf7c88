import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { topicName } from "@chainscreen/kafka";
import { Topics, type WatchlistEntryV1, watchlistKey } from "@chainscreen/schema";
import { migrate } from "@chainscreen/store";
import { repoRoot, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { afterAll, describe, expect, inject, it } from "vitest";

const brokers = inject("kafkaBrokers");
const bus = testBus(brokers);
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await bus.close();
});

const store = {
  url: inject("clickhouseUrl"),
  username: inject("clickhouseUser"),
  password: inject("clickhousePassword"),
  database: uniqueName("sink_watchlist"),
};

/**
 * Starts the sink as its own process with its default routes (SINK_TOPICS unset), so the test
 * also checks that watchlist.v1 is stored without configuration.
 */
function startSink(prefix: string, group: string): ChildProcess {
  const tsx = join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs");
  const { SINK_TOPICS: _unset, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    ["--import", tsx, join(repoRoot, "services", "sink", "src", "main.ts")],
    {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...inherited,
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKAJS_NO_PARTITIONER_WARNING: "1",
        SINK_GROUP_ID: group,
        SINK_MAX_RETRY_DELAY_MS: "1000",
        SINK_OPS_PORT: "0",
        CLICKHOUSE_URL: store.url,
        CLICKHOUSE_USER: store.username,
        CLICKHOUSE_PASSWORD: store.password,
        CLICKHOUSE_DATABASE: store.database,
        LOG_LEVEL: "warn",
      },
    },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

const ms = (iso: string) => Date.parse(`${iso}Z`);
const LIST = "ofac-sdn";
const A = "149w62rY42aZBox8fGcmqNsXUzSStKeq8C";
const B = "0x7f367cc41522ce07553e823bf3be79a889debe1b";

/** A watchlist.v1 state as watchlist-sync publishes it. */
function entry(
  family: string,
  address: string,
  listVersion: number,
  listedFrom: number | null,
  listedUntil: number | null,
  publishedAt: number,
): WatchlistEntryV1 {
  const record = {
    code: family === "bitcoin" ? "XBT" : "ETH",
    entityName: `ENTITY ${address.slice(0, 6)}`,
    entityId: "1",
    programmes: ["CYBER2"],
    category: "sanctioned" as const,
    severity: "severe" as const,
    label: null,
    designatedAt: listedFrom,
  };
  return {
    type: "watchlist.v1",
    listId: LIST,
    listVersion,
    listHash: String(listVersion).repeat(64).slice(0, 64),
    family,
    address,
    code: record.code,
    entityName: record.entityName,
    programmes: record.programmes,
    category: record.category,
    severity: record.severity,
    records: [record],
    listedFrom,
    listedUntil,
    publishedAt,
  };
}

/** "Was `address` listed on `at`?" — the analysts' point-in-time query (infra/clickhouse/README.md). */
async function listedAt(ch: ClickHouseClient, address: string, at: string): Promise<boolean> {
  const rs = await ch.query({
    query: `SELECT count() AS n FROM watchlist_entries FINAL
            WHERE list_id = {list:String} AND address = {address:String}
              AND listed_from <= toDateTime64({at:String}, 3, 'UTC')
              AND (listed_until IS NULL OR listed_until > toDateTime64({at:String}, 3, 'UTC'))`,
    query_params: { list: LIST, address, at },
    format: "JSONEachRow",
  });
  const [r] = await rs.json<{ n: string }>();
  return Number(r?.n) > 0;
}

async function count(ch: ClickHouseClient, sql: string): Promise<number> {
  const [r] = await (await ch.query({ query: sql, format: "JSONEachRow" })).json<{ n: string }>();
  return Number(r?.n);
}

describe("sink: watchlist.v1 → watchlist_entries (listing history)", () => {
  it("keeps a listing, its delisting and a relisting across a tombstone and a SIGKILL", async () => {
    await migrate(store, { maxVersion: 99 });
    const ch = createClient({ ...store, log: { level: ClickHouseLogLevel.OFF } });
    const prefix = uniqueName("sinkwl");
    const topic = topicName(Topics.watchlist, prefix);
    const group = uniqueName("sink");

    // The sink creates its topics itself (the watchlist one compacted) before subscribing.
    let sink = startSink(prefix, group);
    const admin = bus.kafka.admin();
    await admin.connect();
    await waitFor(async () => (await admin.listTopics()).includes(topic), {
      timeoutMs: 60_000,
      message: "sink created the watchlist topic",
    });
    const described = await admin.describeConfigs({
      resources: [{ type: 2, name: topic, configNames: ["cleanup.policy"] }],
      includeSynonyms: false,
    });
    await admin.disconnect();
    expect(described.resources[0]?.configEntries[0]?.configValue).toBe("compact");

    // Version 1 lists A (designated 2024-01-01) and B (start unknown).
    const producer = await bus.producer();
    const p1 = ms("2024-01-02T00:00:00");
    await producer.send(topic, [
      {
        key: watchlistKey(LIST, "bitcoin", A),
        value: entry("bitcoin", A, 1, ms("2024-01-01T00:00:00"), null, p1),
      },
      { key: watchlistKey(LIST, "evm", B), value: entry("evm", B, 1, null, null, p1) },
    ]);
    await waitFor(
      async () => (await count(ch, "SELECT count() AS n FROM watchlist_entries")) === 2,
      {
        timeoutMs: 120_000,
        message: "listings stored",
      },
    );
    // Killed without a chance to commit: the restarted sink must not store these twice.
    sink.kill("SIGKILL");
    await new Promise((r) => sink.once("exit", r));

    // Version 2 (2024-03-01) delists A: last state with listedUntil, then a tombstone.
    // Version 3 (2024-05-01) lists A again: a new interval.
    const p2 = ms("2024-03-01T00:00:00");
    const p3 = ms("2024-05-01T00:00:00");
    await producer.send(topic, [
      {
        key: watchlistKey(LIST, "bitcoin", A),
        value: entry("bitcoin", A, 2, ms("2024-01-01T00:00:00"), p2, p2),
      },
      { key: watchlistKey(LIST, "bitcoin", A), value: null },
      { key: watchlistKey(LIST, "bitcoin", A), value: entry("bitcoin", A, 3, p3, null, p3) },
    ]);
    await producer.disconnect();
    sink = startSink(prefix, group);
    await waitFor(
      async () => (await count(ch, "SELECT count() AS n FROM watchlist_entries")) >= 4,
      {
        timeoutMs: 120_000,
        message: "delisting and relisting stored",
      },
    );
    // The tombstone was committed with its batch and wrote nothing; nothing was stored twice.
    await waitFor(async () => (await bus.lag(`${group}.${Topics.watchlist}`, topic)) === 0, {
      timeoutMs: 60_000,
      message: "sink committed the whole watchlist topic",
    });
    expect(await count(ch, "SELECT count() AS n FROM watchlist_entries")).toBe(4);
    expect(
      await count(
        ch,
        "SELECT count() AS n FROM (SELECT kafka_offset FROM watchlist_entries GROUP BY kafka_offset HAVING count() > 1)",
      ),
    ).toBe(0);

    // Both intervals of A survive (the delisting replaced the open state of the first one).
    const rows = await (
      await ch.query({
        query: `SELECT list_version, toString(listed_from) AS from, toString(listed_until) AS until
                FROM watchlist_entries FINAL WHERE address = {a:String} ORDER BY listed_from`,
        query_params: { a: A },
        format: "JSONEachRow",
      })
    ).json<{ list_version: number; from: string; until: string | null }>();
    expect(rows).toEqual([
      { list_version: 2, from: "2024-01-01 00:00:00.000", until: "2024-03-01 00:00:00.000" },
      { list_version: 3, from: "2024-05-01 00:00:00.000", until: null },
    ]);

    // Point in time: listed on D1, not on D2, listed again after the relisting.
    expect(await listedAt(ch, A, "2024-02-01 00:00:00")).toBe(true);
    expect(await listedAt(ch, A, "2024-04-01 00:00:00")).toBe(false);
    expect(await listedAt(ch, A, "2024-06-01 00:00:00")).toBe(true);
    expect(await listedAt(ch, A, "2023-12-01 00:00:00")).toBe(false);
    // An unknown listing start counts as "since always".
    expect(await listedAt(ch, B, "2000-01-01 00:00:00")).toBe(true);

    sink.kill("SIGTERM");
    await new Promise((r) => sink.once("exit", r));
    await ch.close();
  });
});
