import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KafkaBus, Producer } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import { WatchlistEntryV1, WatchlistOpsEventV1 } from "@chainscreen/schema";
import { collectTopic, fixturesDir, testBus, uniqueName } from "@chainscreen/testing";
import { FileWatchlistStore } from "@chainscreen/watchlist";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { WatchlistSync } from "./sync.js";

// A local HTTP server plays OFAC's list service: it serves the real 2024-05-03 SDN.CSV bytes with
// an ETag and answers If-None-Match with 304, then serves a broken file, then a file with one
// designation removed (a delisting).
const sdn = readFileSync(join(fixturesDir, "sanctions/ofac-sdn-csv-2024-05-03/sdn.csv"));
let body: Buffer = sdn;
let etag = '"v1"';
const requests: Array<{ ifNoneMatch: string | undefined }> = [];

function handler(req: IncomingMessage, res: ServerResponse) {
  requests.push({ ifNoneMatch: req.headers["if-none-match"] as string | undefined });
  if (req.url !== "/SDN.CSV") {
    res.writeHead(404).end();
    return;
  }
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, { etag }).end();
    return;
  }
  res.writeHead(200, { etag, "content-type": "text/csv" }).end(body);
}

describe("watchlist-sync against a local list server and the real broker", () => {
  let server: Server;
  let bus: KafkaBus;
  let producer: Producer;
  let sync: WatchlistSync;
  let store: FileWatchlistStore;
  const dir = mkdtempSync(join(tmpdir(), "watchlist-sync-"));
  const topics = { watchlist: uniqueName("watchlist_v1"), ops: uniqueName("ops_v1") };

  beforeAll(async () => {
    server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/SDN.CSV`;
    bus = testBus(inject("kafkaBrokers"));
    await bus.ensureTopics([
      { topic: topics.watchlist, partitions: 1, compacted: true },
      { topic: topics.ops, partitions: 1 },
    ]);
    producer = await bus.producer();
    store = new FileWatchlistStore(join(dir, "store"));
    sync = new WatchlistSync({
      sources: [{ listId: "ofac-sdn", format: "ofac-csv", location: url }],
      store,
      producer,
      topics,
      statePath: join(dir, "sync-state.json"),
      log: silentLogger(),
    });
  });

  afterAll(async () => {
    await sync?.stop();
    await producer?.disconnect();
    await bus?.deleteTopics([topics.watchlist, topics.ops]).catch(() => undefined);
    await bus?.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("imports, publishes, fetches conditionally, survives a broken file and publishes a delisting", async () => {
    // 1. First refresh: the whole list is published, one message per (family, address).
    const [first] = await sync.runOnce();
    expect(first).toMatchObject({
      listId: "ofac-sdn",
      outcome: "activated",
      version: 1,
      published: 280,
    });
    const msgs = await collectTopic(bus, topics.watchlist, { until: (m) => m.length >= 280 });
    expect(msgs).toHaveLength(280);
    const values = msgs.map((m) => WatchlistEntryV1.parse(m.value));
    expect(new Set(msgs.map((m) => m.key)).size).toBe(280);
    const yan = values.find((v) => v.address === "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h");
    expect(yan).toMatchObject({
      family: "bitcoin",
      entityName: "YAN, Xiaobing",
      programmes: ["SDNTK"],
      listedUntil: null,
    });
    // No truncated fragment reached the topic.
    expect(values.some((v) => v.address === "1Gq" || v.address === "1B64QRxf")).toBe(false);

    // 2. Second refresh: conditional request, 304, nothing imported.
    const [second] = await sync.runOnce();
    expect(second).toEqual({ listId: "ofac-sdn", outcome: "not_modified" });
    expect(requests[requests.length - 1]?.ifNoneMatch).toBe('"v1"');

    // 3. A broken download: parse failure, ops event, active version untouched.
    body = Buffer.from(sdn.subarray(0, 4096).toString("latin1").replace(/,/g, "\u0000"), "latin1");
    etag = '"broken"';
    const [third] = await sync.runOnce();
    expect(third).toMatchObject({ outcome: "failed", stage: "parse" });
    expect((await store.getState("ofac-sdn"))?.activeVersion).toBe(1);
    const ops = await collectTopic(bus, topics.ops, {
      until: (m) => m.some((x) => (x.value as { event?: string }).event === "parse_failed"),
    });
    const failed = ops
      .map((m) => WatchlistOpsEventV1.parse(m.value))
      .find((e) => e.event === "parse_failed");
    expect(failed).toMatchObject({ listId: "ofac-sdn", level: "error" });
    expect(failed?.message).toMatch(/binary data/);

    // 4. KHORASHADIZADEH (ent 26137, one XBT address) is removed: diff publishes its end and a tombstone.
    const text = sdn.toString("latin1");
    body = Buffer.from(text.replace(/^26137,.*\r\n/m, ""), "latin1");
    expect(body.length).toBeLessThan(sdn.length);
    etag = '"v2"';
    const before = Date.now();
    const [fourth] = await sync.runOnce();
    expect(fourth).toMatchObject({ outcome: "activated", version: 2, published: 2 });
    const key = "ofac-sdn|bitcoin|149w62rY42aZBox8fGcmqNsXUzSStKeq8C";
    const all = await collectTopic(bus, topics.watchlist, { until: (m) => m.length >= 282 });
    const forKey = all.filter((m) => m.key === key);
    expect(forKey).toHaveLength(3); // listed (v1), last state with listedUntil (v2), tombstone
    const ended = WatchlistEntryV1.parse(forKey[1]?.value);
    expect(ended.listedUntil).toBeGreaterThanOrEqual(before);
    expect(forKey[2]?.value).toBeNull();
    const state = await store.getState("ofac-sdn");
    expect(state?.activeVersion).toBe(2);
    expect(state?.versions.find((v) => v.version === 2)?.diff.removed).toEqual([
      "bitcoin:149w62rY42aZBox8fGcmqNsXUzSStKeq8C",
    ]);
  });
});
