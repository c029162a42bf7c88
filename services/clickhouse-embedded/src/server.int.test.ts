import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { migrate } from "@chainscreen/store";
import { uniqueName } from "@chainscreen/testing";
import {
  type ClickHouseClient,
  ClickHouseError,
  ClickHouseLogLevel,
  createClient,
} from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startClickHouse, stopClickHouse } from "../../../infra/local/clickhouse.js";
import { freePort, pidAlive } from "../../../infra/local/proc.js";
import { defaultSpoolDir } from "./spool.js";

const url = inject("clickhouseUrl");
const writer = { username: inject("clickhouseUser"), password: inject("clickhousePassword") };
const analyst = {
  username: inject("clickhouseAnalystUser"),
  password: inject("clickhouseAnalystPassword"),
};
const database = uniqueName("ch_server");
// The store's own migrations (001–099); views other services add on top are tested by them.
const maxVersion = 99;

const client = (auth: { username: string; password: string }, db = database): ClickHouseClient =>
  createClient({ url, ...auth, database: db, log: { level: ClickHouseLogLevel.OFF } });

let w: ClickHouseClient;
let a: ClickHouseClient;

async function chError(p: Promise<unknown>): Promise<ClickHouseError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ClickHouseError) return err;
    throw err;
  }
  throw new Error("expected a ClickHouse error, the request succeeded");
}

const basic = (u: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${u.username}:${u.password}`).toString("base64")}`;

beforeAll(async () => {
  await migrate({ url, ...writer, database }, { maxVersion });
  w = client(writer);
  a = client(analyst);
});
afterAll(async () => {
  await w?.close();
  await a?.close();
});

describe("embedded ClickHouse over HTTP with @clickhouse/client", () => {
  it("answers ping, runs migrations idempotently, inserts and queries with bound parameters", async () => {
    expect((await w.ping()).success).toBe(true);
    const again = await migrate({ url, ...writer, database }, { maxVersion });
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied.length).toBeGreaterThanOrEqual(5);

    const tables = await (await w.query({ query: "SHOW TABLES", format: "JSONEachRow" })).json<{
      name: string;
    }>();
    const names = tables.map((t) => t.name);
    for (const t of [
      "transfers",
      "transfers_by_address",
      "flags",
      "watchlist_entries",
      "list_versions",
      "alerts",
    ]) {
      expect(names).toContain(t);
    }
    for (const t of [
      "webhook_deliveries",
      "audit_log",
      "tenants",
      "api_keys",
      "subscriptions",
      "cases",
    ]) {
      expect(names).toContain(t);
    }

    await w.command({
      query:
        "CREATE TABLE kv (k String, v UInt256, at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY k",
    });
    await w.insert({
      table: "kv",
      values: [
        {
          k: "a",
          v: "115792089237316195423570985008687907853269984665640564039457584007913129639935",
          at: "2024-01-01 00:00:00.123",
        },
        { k: "b\t'quoted'", v: "2", at: "2024-01-02 00:00:00.000" },
      ],
      format: "JSONEachRow",
    });
    const rs = await w.query({
      query: "SELECT k, v, at FROM kv WHERE k = {k:String} OR v = {v:UInt256} ORDER BY k",
      query_params: {
        k: "b\t'quoted'",
        v: "115792089237316195423570985008687907853269984665640564039457584007913129639935",
      },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([
      {
        k: "a",
        v: "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        at: "2024-01-01 00:00:00.123",
      },
      { k: "b\t'quoted'", v: "2", at: "2024-01-02 00:00:00.000" },
    ]);
    // Formats other than JSON pass through as the engine writes them.
    const csv = await (
      await w.query({ query: "SELECT k FROM kv ORDER BY k LIMIT 1", format: "CSVWithNames" })
    ).text();
    expect(csv).toBe('"k"\n"a"\n');
  });

  it("surfaces engine errors with their ClickHouse code and type", async () => {
    const e1 = await chError(w.query({ query: "SELECT * FROM no_such_table" }));
    expect([e1.code, e1.type]).toEqual(["60", "UNKNOWN_TABLE"]);
    const e2 = await chError(w.query({ query: "SELEC 1" }));
    expect([e2.code, e2.type]).toEqual(["62", "SYNTAX_ERROR"]);
    const e3 = await chError(w.command({ query: "SELECT 1; DROP TABLE kv" }));
    expect(e3.code).toBe("62");
    const e4 = await chError(
      w.query({ query: "SELECT {x:UInt8} + {missing:UInt8}", query_params: { x: 1 } }),
    );
    expect([e4.code, e4.type]).toEqual(["456", "UNKNOWN_QUERY_PARAMETER"]);
  });

  it("refuses a wrong password with 516 AUTHENTICATION_FAILED and an unknown user the same way", async () => {
    const bad = client({ username: writer.username, password: "wrong" });
    const e = await chError(bad.query({ query: "SELECT 1" }));
    expect([e.code, e.type]).toEqual(["516", "AUTHENTICATION_FAILED"]);
    await bad.close();
    const res = await fetch(`${url}/?query=SELECT+1`, {
      headers: { authorization: basic({ username: "nobody", password: "x" }) },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-clickhouse-exception-code")).toBe("516");
    expect(await res.text()).toMatch(/^Code: 516\. DB::Exception: nobody: Authentication failed/);
    const anon = await fetch(`${url}/?query=SELECT+1`);
    expect(anon.headers.get("x-clickhouse-exception-code")).toBe("516");
  });

  it("keeps analysts read-only: no INSERT, ALTER, DROP, CREATE, SET readonly, files or URLs", async () => {
    expect(
      await (await a.query({ query: "SELECT count() AS c FROM kv", format: "JSONEachRow" })).json(),
    ).toEqual([{ c: "2" }]);
    const denied: Array<[string, string[]]> = [
      ["INSERT INTO kv (k, v, at) VALUES ('x', 1, now())", ["164"]],
      ["ALTER TABLE kv DELETE WHERE 1", ["164"]],
      ["ALTER TABLE kv ADD COLUMN z UInt8", ["164"]],
      ["DROP TABLE kv", ["164"]],
      ["TRUNCATE TABLE kv", ["164"]],
      ["CREATE TABLE evil (a UInt8) ENGINE = Memory", ["164"]],
      ["CREATE DATABASE evil", ["164"]],
      ["SET readonly = 0", ["164"]],
      ["SELECT * FROM file('/etc/passwd', 'LineAsString')", ["497", "164"]],
      ["SELECT file('/etc/hostname')", ["497"]],
      ["SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String')", ["497", "164"]],
      ["SELECT * FROM s3('http://127.0.0.1:1/b/k.csv', 'CSV', 'a String')", ["497", "164"]],
      ["SELECT * FROM remote('127.0.0.1:9000', system.one)", ["497", "164"]],
      ["SELECT 1 INTO OUTFILE '/tmp/chainscreen-evil.txt'", ["497"]],
      ["SYSTEM DROP DNS CACHE", ["164"]],
    ];
    for (const [query, codes] of denied) {
      const e = await chError(a.command({ query }));
      expect(codes, `${query} → ${e.code} ${e.message}`).toContain(e.code);
    }
    // Settings cannot be loosened per request either: not readonly, not the limits.
    for (const s of [{ readonly: "0" }, { max_execution_time: 100000 }, { max_result_rows: "0" }]) {
      const e = await chError(a.query({ query: "SELECT 1", clickhouse_settings: s as never }));
      expect(e.code).toBe("164");
    }
    const e = await chError(a.query({ query: "SELECT 1 SETTINGS readonly = 0" }));
    expect(e.code).toBe("164");
    // The writer is unaffected and the table is intact.
    expect(
      await (await w.query({ query: "SELECT count() AS c FROM kv", format: "JSONEachRow" })).json(),
    ).toEqual([{ c: "2" }]);
  });

  it("enforces the analyst result limit", async () => {
    const e = await chError(a.query({ query: "SELECT number FROM system.numbers LIMIT 2000000" }));
    expect(e.type).toBe("TOO_MANY_ROWS_OR_BYTES");
    // The failed query's unsent output must not leak into later answers on the same engine session.
    for (let i = 0; i < 4; i++) {
      const r = await (await a.query({ query: `SELECT ${i} AS x`, format: "JSONEachRow" })).json();
      expect(r).toEqual([{ x: i }]);
    }
  });

  it("does not leak one request's settings, parameters or database into the next", async () => {
    await w.query({
      query: "SELECT 1",
      clickhouse_settings: { max_result_rows: "1", result_overflow_mode: "throw" },
    });
    const rows = await (
      await w.query({ query: "SELECT number FROM numbers(10)", format: "JSONEachRow" })
    ).json();
    expect(rows).toHaveLength(10);
    const other = client(writer, "system");
    const r = await (
      await other.query({ query: "SELECT currentDatabase() AS d", format: "JSONEachRow" })
    ).json();
    expect(r).toEqual([{ d: "system" }]);
    const r2 = await (
      await w.query({ query: "SELECT currentDatabase() AS d", format: "JSONEachRow" })
    ).json();
    expect(r2).toEqual([{ d: database }]);
    await other.close();
    // SET without a session is forgotten after the request, as on a real server.
    await w.command({ query: "SET max_result_rows = 1" });
    expect(
      await (
        await w.query({ query: "SELECT number FROM numbers(3)", format: "JSONEachRow" })
      ).json(),
    ).toHaveLength(3);
  });

  it("speaks the raw HTTP interface: query in URL or body, headers, X-ClickHouse-User/Key, gzip", async () => {
    const h = { "x-clickhouse-user": writer.username, "x-clickhouse-key": writer.password };
    const r1 = await fetch(
      `${url}/?database=${database}&query=${encodeURIComponent("SELECT count() FROM kv")}`,
      { headers: h },
    );
    expect(r1.status).toBe(200);
    expect(await r1.text()).toBe("2\n");
    expect(r1.headers.get("x-clickhouse-format")).toBe("TabSeparated");
    expect(r1.headers.get("x-clickhouse-query-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(r1.headers.get("x-clickhouse-summary") ?? "{}")).toHaveProperty("read_rows");

    // INSERT with the statement in the URL and the rows in the body.
    const ins = await fetch(
      `${url}/?database=${database}&query=${encodeURIComponent("INSERT INTO kv FORMAT JSONEachRow")}`,
      {
        method: "POST",
        headers: { authorization: basic(writer) },
        body: '{"k":"c","v":"3","at":"2024-01-03 00:00:00"}\n{"k":"d","v":"4","at":"2024-01-04 00:00:00"}\n',
      },
    );
    expect(ins.status).toBe(200);
    expect(JSON.parse(ins.headers.get("x-clickhouse-summary") ?? "{}").written_rows).toBe("2");

    // Query in the body, default_format, gzip when asked; GET is read-only.
    const r2 = await fetch(
      `${url}/?database=${database}&default_format=JSONCompact&enable_http_compression=1&query_id=q-1`,
      {
        method: "POST",
        headers: { authorization: basic(writer), "accept-encoding": "gzip" },
        body: "SELECT count() AS c FROM kv",
      },
    );
    expect(r2.headers.get("content-encoding")).toBe("gzip");
    expect(r2.headers.get("x-clickhouse-query-id")).toBe("q-1");
    const body = Buffer.from(await r2.arrayBuffer());
    // fetch may already have decoded it; both are fine as long as the JSON is right.
    const text = body[0] === 0x1f ? gunzipSync(body).toString() : body.toString();
    expect(JSON.parse(text).data).toEqual([["4"]]);
    const get = await fetch(
      `${url}/?database=${database}&query=${encodeURIComponent("DROP TABLE kv")}`,
      {
        headers: { authorization: basic(writer) },
      },
    );
    expect(get.status).toBe(403);
    expect(get.headers.get("x-clickhouse-exception-code")).toBe("164");
  });

  it("hands an INSERT's rows to the engine as bytes: settings, dedup, errors, MVs as before", async () => {
    await w.command({
      query: `CREATE TABLE raw_src (k String, n UInt64) ENGINE = MergeTree ORDER BY k
              SETTINGS non_replicated_deduplication_window = 100`,
    });
    // The view's table deduplicates too (as transfers_by_address does): without its own window a
    // retried insert reaches it twice, whatever path the rows take.
    await w.command({
      query: `CREATE TABLE raw_mv_dst (k String, n2 UInt64) ENGINE = MergeTree ORDER BY k
              SETTINGS non_replicated_deduplication_window = 100`,
    });
    await w.command({
      query: "CREATE MATERIALIZED VIEW raw_mv TO raw_mv_dst AS SELECT k, n * 2 AS n2 FROM raw_src",
    });
    const rows = [
      ["a", "1"],
      ['b\t"é"\n', "2"],
    ];
    const insert = (token: string, values = rows) =>
      w.insert({
        table: "raw_src",
        columns: ["k", "n"],
        values,
        format: "JSONCompactEachRow",
        clickhouse_settings: { insert_deduplication_token: token },
      });
    const r = await insert("t1");
    expect(r.summary?.written_rows).toBe("2");
    await insert("t1"); // a retried insert with the same token is dropped by the engine
    await insert("t2", [["c", "3"]]);
    const q = async (query: string) =>
      (await w.query({ query, format: "JSONCompactEachRow" })).json<unknown[]>();
    expect(await q("SELECT k, n FROM raw_src ORDER BY n")).toEqual([
      ["a", "1"],
      ['b\t"é"\n', "2"],
      ["c", "3"],
    ]);
    expect(await q("SELECT sum(n2) FROM raw_mv_dst")).toEqual([["12"]]);
    // The settings were the insert's only: the session is back to its defaults.
    expect(
      await q("SELECT value FROM system.settings WHERE name = 'insert_deduplication_token'"),
    ).toEqual([[""]]);
    // Bad rows, unknown settings and a read-only user fail with the engine's codes.
    const bad = await chError(insert("t3", [["d", "not a number"]]));
    expect(["27", "72", "6"]).toContain(bad.code);
    const unknown = await chError(
      w.insert({
        table: "raw_src",
        values: [{ k: "e", n: 1 }],
        format: "JSONEachRow",
        clickhouse_settings: { no_such_setting: 1 } as never,
      }),
    );
    expect(unknown.code).toBe("115");
    const ro = await chError(
      a.insert({ table: "raw_src", values: [{ k: "f", n: 1 }], format: "JSONEachRow" }),
    );
    expect(ro.code).toBe("164");
    expect(await q("SELECT count() FROM raw_src")).toEqual([["3"]]);
  });

  it("never queues a writer behind a 10 s analyst query", async () => {
    // Five single-row parts → five blocks of one row, each sleeping 2 s on one analyst thread.
    await w.command({
      query:
        "CREATE TABLE slow (n UInt8) ENGINE = MergeTree ORDER BY n SETTINGS parts_to_delay_insert = 1000",
    });
    await w.command({ query: "SYSTEM STOP MERGES slow" });
    for (let i = 0; i < 5; i++)
      await w.insert({ table: "slow", values: [{ n: i }], format: "JSONEachRow" });
    await w.command({
      query: "CREATE TABLE fast (i UInt32, payload String) ENGINE = MergeTree ORDER BY i",
    });
    const rows = Array.from({ length: 1000 }, (_, i) => ({ i, payload: "x".repeat(100) }));
    const insertOnce = async () => {
      const t0 = performance.now();
      await w.insert({ table: "fast", values: rows, format: "JSONEachRow" });
      return performance.now() - t0;
    };
    const idle: number[] = [];
    for (let i = 0; i < 10; i++) idle.push(await insertOnce());

    let analystDone = false;
    const analystStart = performance.now();
    const slowQuery = a
      .query({ query: "SELECT sum(sleepEachRow(2)) AS s FROM slow", format: "JSONEachRow" })
      .then((r) => r.text())
      .finally(() => {
        analystDone = true;
      });
    const during: number[] = [];
    while (!analystDone) {
      during.push(await insertOnce());
      await new Promise((r) => setTimeout(r, 50));
    }
    const analystMs = performance.now() - analystStart;
    expect(await slowQuery).toBe('{"s":"0"}\n');
    const p50 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    console.log(
      `analyst query ${analystMs.toFixed(0)} ms; insert p50 idle ${p50(idle).toFixed(1)} ms, ` +
        `during ${p50(during).toFixed(1)} ms, max during ${Math.max(...during).toFixed(1)} ms over ${during.length} inserts`,
    );
    // Ordering, not timing: many inserts completed while the analyst query was still running.
    expect(during.length).toBeGreaterThanOrEqual(20);
    const count = await (
      await w.query({ query: "SELECT count() AS c FROM fast", format: "JSONEachRow" })
    ).json();
    expect(count).toEqual([{ c: String(1000 * (idle.length + during.length)) }]);
  });

  it("keeps data across restarts and finishes requests in flight on SIGTERM", async () => {
    const dataDir = join(
      resolve(import.meta.dirname, "..", "..", ".."),
      ".data",
      uniqueName("ch-restart"),
    );
    const port = await freePort();
    let server = await startClickHouse({ port, dataDir });
    const cfg = {
      url: server.url,
      username: server.users.writer.user,
      password: server.users.writer.password,
    };
    const own = (db = "default") =>
      createClient({ ...cfg, database: db, log: { level: ClickHouseLogLevel.OFF } });
    try {
      let c = own();
      await c.command({ query: "CREATE TABLE kept (n UInt32) ENGINE = MergeTree ORDER BY n" });
      await c.insert({ table: "kept", values: [{ n: 1 }, { n: 2 }], format: "JSONEachRow" });
      // The rows went through the spool directory, which keeps no payload once it is inserted.
      const spool = defaultSpoolDir(join(dataDir, "data"));
      expect(readdirSync(spool)).toEqual([]);
      await c.command({ query: "CREATE TABLE slow (n UInt8) ENGINE = MergeTree ORDER BY n" });
      await c.insert({ table: "slow", values: [{ n: 1 }], format: "JSONEachRow" });
      // A 2 s query is running when SIGTERM arrives: it still gets its answer, then the process exits.
      const inFlight = c
        .query({ query: "SELECT sleepEachRow(2) AS s FROM slow", format: "JSONEachRow" })
        .then((r) => r.json());
      await new Promise((r) => setTimeout(r, 300));
      process.kill(server.pid, "SIGTERM");
      expect(await inFlight).toEqual([{ s: 0 }]);
      await c.close();
      for (let i = 0; i < 200 && pidAlive(server.pid); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(pidAlive(server.pid)).toBe(false);
      expect(existsSync(spool)).toBe(false); // removed at shutdown

      server = await startClickHouse({ port, dataDir });
      c = own();
      expect(
        await (
          await c.query({ query: "SELECT sum(n) AS s FROM kept", format: "JSONEachRow" })
        ).json(),
      ).toEqual([{ s: "3" }]);
      await c.close();
    } finally {
      await stopClickHouse(server.pid);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
