import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consume, type Producer } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { WatchlistEntryV1 } from "@chainscreen/schema";
import { createStoreClient, migrate, Store, StoreSink, watchlistTarget } from "@chainscreen/store";
import { fixturesDir, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { FileWatchlistStore } from "@chainscreen/watchlist";
import { afterAll, describe, expect, inject, it } from "vitest";
import { WatchlistSync } from "./sync.js";

const ms = (iso: string) => Date.parse(`${iso}Z`);
const sdn = join(fixturesDir, "sanctions/ofac-sdn-csv-2024-05-03/sdn.csv");
// KHORASHADIZADEH (ent 26137) has one XBT address; version 2 drops the entity (a delisting).
const DELISTED = "149w62rY42aZBox8fGcmqNsXUzSStKeq8C";

interface ListVersionRow {
  list_id: string;
  list_version: number;
  list_hash: string;
  source_url: string;
  fetched_at: string;
  published_at: string | null;
  entries: number;
  added: number;
  removed: number;
  unknown_codes: string[];
  problems: string;
}

describe("watchlist-sync records activated versions in list_versions", () => {
  const dir = mkdtempSync(join(tmpdir(), "watchlist-versions-"));
  const bus = testBus(inject("kafkaBrokers"));
  const config = {
    url: inject("clickhouseUrl"),
    username: inject("clickhouseUser"),
    password: inject("clickhousePassword"),
    // Not created yet: the first recording fails against the real server, as when it is down.
    database: uniqueName("wl_versions"),
  };
  const client = createStoreClient(config);
  const topics = { watchlist: uniqueName("watchlist_v1"), ops: uniqueName("ops_v1") };
  let producer: Producer | undefined;

  afterAll(async () => {
    await producer?.disconnect();
    await bus.deleteTopics([topics.watchlist, topics.ops]).catch(() => undefined);
    await bus.close();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes one row per activated version with its counts, retries after a store failure, and the sink turns the topic into point-in-time history", async () => {
    await bus.ensureTopics([
      { topic: topics.watchlist, partitions: 1, compacted: true },
      { topic: topics.ops, partitions: 1 },
    ]);
    producer = await bus.producer();
    const listFile = join(dir, "sdn.csv");
    copyFileSync(sdn, listFile);
    const store = new FileWatchlistStore(join(dir, "store"));
    const statePath = join(dir, "sync-state.json");
    let now = ms("2024-05-03T12:00:00");
    const sync = new WatchlistSync({
      sources: [{ listId: "ofac-sdn", format: "ofac-csv", location: listFile }],
      store,
      producer,
      topics,
      statePath,
      log: silentLogger(),
      listVersions: new Store(client),
      now: () => now,
    });
    const rows = async () =>
      (
        await client.query({
          query: "SELECT * FROM list_versions FINAL ORDER BY list_version",
          format: "JSONEachRow",
        })
      ).json<ListVersionRow>();

    // 1. Version 1 is activated and published although the store cannot take its row.
    const [first] = await sync.runOnce();
    expect(first).toMatchObject({ outcome: "activated", version: 1, published: 280 });
    expect(await bus.messageCount(topics.watchlist)).toBe(280);
    const pending = JSON.parse(readFileSync(statePath, "utf8"))["ofac-sdn"];
    expect(pending.recordedVersion).toBeUndefined();
    expect(Object.keys(pending.publishTimes)).toEqual(["1"]);

    // 2. The store comes up; version 2 (one entity delisted) is activated a month later, and the
    // cycle records both versions.
    await migrate(config, { maxVersion: 99 });
    const text = readFileSync(sdn, "latin1");
    writeFileSync(listFile, Buffer.from(text.replace(/^26137,.*\r\n/m, ""), "latin1"));
    now = ms("2024-06-01T12:00:00");
    const [second] = await sync.runOnce();
    expect(second).toMatchObject({ outcome: "activated", version: 2, published: 2 });
    const state = await store.getState("ofac-sdn");
    const v1 = state?.versions.find((v) => v.version === 1);
    const v2 = state?.versions.find((v) => v.version === 2);
    const recorded = await rows();
    expect(recorded).toHaveLength(2);
    expect(recorded[0]).toMatchObject({
      list_id: "ofac-sdn",
      list_version: 1,
      list_hash: v1?.hash,
      source_url: listFile,
      fetched_at: "2024-05-03 12:00:00.000",
      entries: 280,
      added: 280,
      removed: 0,
      unknown_codes: Object.keys(v1?.report.unknownCodes ?? {}).sort(),
    });
    expect(recorded[0]?.published_at).not.toBeNull();
    expect(recorded[1]).toMatchObject({
      list_version: 2,
      list_hash: v2?.hash,
      fetched_at: "2024-06-01 12:00:00.000",
      entries: 279,
      added: 0,
      removed: 1,
    });
    const problems = JSON.parse(recorded[1]?.problems ?? "{}");
    expect(problems.fragments).toEqual(v2?.report.fragments);
    expect(problems.invalid).toEqual(v2?.report.invalid);

    // 3. Nothing new, nothing recorded again; a held version (no addresses) gets no row.
    expect(await sync.runOnce()).toEqual([{ listId: "ofac-sdn", outcome: "unchanged" }]);
    writeFileSync(listFile, Buffer.from(text.split("\r\n").slice(0, 3).join("\r\n"), "latin1"));
    expect((await sync.runOnce())[0]).toMatchObject({ outcome: "held", version: 3 });
    expect((await rows()).map((r) => r.list_version)).toEqual([1, 2]);
    const done = JSON.parse(readFileSync(statePath, "utf8"))["ofac-sdn"];
    expect(done).toMatchObject({ recordedVersion: 3, publishTimes: {} });

    // 4. What the sync published, stored by the sink's watchlist route: the delisted address was
    // listed in May (listed since before anything known), not in July; the tombstone after its
    // last state deleted nothing.
    const sink = new StoreSink(new Store(client), watchlistTarget, silentLogger());
    const group = uniqueName("sink");
    const consumer = await consume(bus, {
      groupId: group,
      topics: [topics.watchlist],
      schema: WatchlistEntryV1.nullable(),
      allowTombstones: true,
      fromBeginning: true,
      handleBatch: sink.handleBatch,
    });
    try {
      await waitFor(async () => (await bus.lag(group, topics.watchlist)) === 0, {
        timeoutMs: 60_000,
        message: "sink consumed the watchlist topic",
      });
    } finally {
      await consumer.stop();
    }
    const listed = async (at: string) => {
      const rs = await client.query({
        query: `SELECT list_version, toString(listed_until) AS until FROM watchlist_entries FINAL
                WHERE list_id = 'ofac-sdn' AND address = {a:String}
                  AND listed_from <= toDateTime64({at:String}, 3, 'UTC')
                  AND (listed_until IS NULL OR listed_until > toDateTime64({at:String}, 3, 'UTC'))`,
        query_params: { a: DELISTED, at },
        format: "JSONEachRow",
      });
      return (await rs.json()).length > 0;
    };
    expect(await listed("2024-05-15 00:00:00")).toBe(true);
    expect(await listed("2024-07-01 00:00:00")).toBe(false);
    const [history] = await (
      await client.query({
        query: `SELECT count() AS n, uniqExact(address) AS addresses,
                       countIf(listed_until IS NOT NULL) AS ended
                FROM watchlist_entries FINAL WHERE list_id = 'ofac-sdn'`,
        format: "JSONEachRow",
      })
    ).json<{ n: string; addresses: string; ended: string }>();
    expect(history).toEqual({ n: "280", addresses: "280", ended: "1" });
  });
});
