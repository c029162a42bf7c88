/**
 * Query API latency and throughput on 10M stored transfers (embedded ClickHouse, real API over
 * HTTP): p50/p95/p99 and requests/s for /v1/flows with typical filters, /v1/addresses/{chain}/{a}
 * and /v1/screen with 1,000 addresses.
 *
 *   npx tsx bench/api.ts [transfers=10000000] [seconds per case=20] [concurrency=8]
 *
 * The data set is generated inside ClickHouse once and kept in .data/bench-api (delete it to
 * regenerate). Targets (issue 9): /v1/screen (1,000 addresses) p95 < 50 ms; /v1/flows and
 * address pages p95 < 100 ms. BENCH_API_CASES=word,… runs only the cases whose name contains one
 * of the words (e.g. `BENCH_API_CASES=addresses`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ClickHouseKeyStore, generateApiKey } from "@chainscreen/auth";
import { createLogger } from "@chainscreen/logger";
import { loadMigrations, migrate } from "@chainscreen/store";
import { importList, Matcher, MemoryWatchlistStore } from "@chainscreen/watchlist";
import { createClient } from "@clickhouse/client";
import { Pool } from "undici";
import { freePort, waitForPort } from "../infra/local/proc.js";
import { buildApi } from "../services/api/src/app.js";
import { ClickHouseAuditSink } from "../services/api/src/audit.js";
import { MatcherLookup } from "../services/api/src/screening.js";
import { cpuSeconds } from "./lib.js";

const TRANSFERS = Number(process.argv[2] ?? 10_000_000);
const SECONDS = Number(process.argv[3] ?? 20);
const CONCURRENCY = Number(process.argv[4] ?? 8);
const ADDRESSES = 200_000;
const FLAG_EVERY = 10; // one flagged flow per 10 transfers

const root = resolve(import.meta.dirname, "..");
const dir = join(root, ".data", "bench-api");
mkdirSync(dir, { recursive: true });
const usersFile = join(dir, "users.json");
writeFileSync(
  usersFile,
  JSON.stringify({
    profiles: {
      writer: { readonly: false, pool: 4 },
      analyst: { readonly: true, pool: 1, settings: { max_execution_time: 60, max_threads: 1 } },
    },
    users: {
      writer: { password: "bench", profile: "writer" },
      analyst: { password: "bench", profile: "analyst" },
    },
  }),
);
const port = await freePort();
const child: ChildProcess = spawn(
  process.execPath,
  ["--import", "tsx", join(root, "services/clickhouse-embedded/src/main.ts")],
  {
    cwd: root,
    env: {
      ...process.env,
      UV_THREADPOOL_SIZE: "16",
      CLICKHOUSE_EMBEDDED_DATA_DIR: join(dir, "data"),
      CLICKHOUSE_EMBEDDED_PORT: String(port),
      CLICKHOUSE_EMBEDDED_USERS_FILE: usersFile,
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  },
);
const stopChild = () => child.kill("SIGTERM");
process.on("exit", stopChild);
await waitForPort(port, 180_000);
const url = `http://127.0.0.1:${port}`;
const database = "bench_api";
try {
  await migrate({
    url,
    username: "writer",
    password: "bench",
    database,
    requestTimeoutMs: 3_600_000,
  });
} catch (err) {
  // A kept data set made with an earlier revision of a migration: measure it as it is.
  process.stdout.write(`  migrate: ${(err as Error).message}; using the existing data set as it is
`);
  await applyLaterMigrations();
}

/**
 * migrate() stops at the changed migration, so a kept data set gets no later one. The one kept
 * in .data/bench-api was brought to migration 102 by hand (bench/README.md); the migrations after
 * it that it has not recorded are applied here and recorded as migrate() records them.
 */
async function applyLaterMigrations(after = 102): Promise<void> {
  const c = createClient({
    url,
    username: "writer",
    password: "bench",
    database,
    request_timeout: 3_600_000,
  });
  try {
    const rs = await c.query({
      query: "SELECT version FROM schema_migrations",
      format: "JSONEachRow",
    });
    const done = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)));
    for (const m of loadMigrations()) {
      if (m.version <= after || done.has(m.version)) continue;
      const t0 = Date.now();
      for (const statement of m.statements) await c.command({ query: statement });
      await c.insert({
        table: "schema_migrations",
        values: [{ version: m.version, name: m.name, checksum: m.checksum }],
        format: "JSONEachRow",
      });
      process.stdout.write(
        `  migrate: applied ${m.name} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
      );
    }
  } finally {
    await c.close();
  }
}
const ch = createClient({
  url,
  username: "writer",
  password: "bench",
  database,
  request_timeout: 3_600_000,
});
const chSql = createClient({ url, username: "analyst", password: "bench", database });

const addr = (expr: string) =>
  `concat('0x', lower(hex(substring(SHA256(toString(${expr})), 1, 20))))`;
const count = async (q: string) =>
  Number(
    (await (await ch.query({ query: q, format: "JSONEachRow" })).json<{ c: string }>())[0]?.c ?? 0,
  );

// --- data set -----------------------------------------------------------------------------------
if ((await count("SELECT count() AS c FROM transfers")) < TRANSFERS) {
  const t0 = Date.now();
  const step = 1_000_000;
  for (let off = 0; off < TRANSFERS; off += step) {
    const n = Math.min(step, TRANSFERS - off);
    await ch.command({
      query: `INSERT INTO transfers (id, chain, kind, tx_hash, position, block_number, ts, senders, to_address, asset,
                asset_contract, asset_decimals, amount, status, source, observed_at, version)
              SELECT concat(c, ':', toString(number), ':native:0') AS id, ['ethereum','tron','bitcoin','bsc'][number % 4 + 1] AS c,
                'native', lower(hex(SHA256(concat('tx', toString(number))))), '0', number,
                toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(number * 3),
                [${addr(`number % ${ADDRESSES}`)}], ${addr(`(number * 7919 + 13) % ${ADDRESSES}`)},
                ['ETH','USDT','BTC','BNB'][number % 4 + 1], '', 18, toUInt256(number % 100000) * 1000000000000, 'confirmed', 'bench',
                toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(number * 3), 1
              FROM numbers(${off}, ${n})`,
    });
    process.stdout.write(
      `  transfers ${(off + n).toLocaleString()} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
    );
  }
  await ch.command({
    query: `INSERT INTO flags (id, transfer_id, incident_id, chain, kind, tx_hash, ts, senders, to_address, asset, asset_contract,
              amount, value_usd, rule_id, rule_kind, rule_config_version, severity, sides, address, family, counterparty,
              exposure, hops, weight, entity_names, programmes, list_ids, categories, entries, path, evidence,
              listed_at_transfer_time, retro, status, exchange, created_at, version)
            SELECT lower(hex(MD5(toString(number)))), concat(c, ':', toString(number), ':native:0'),
              lower(hex(MD5(concat('i', toString(number))))), ['ethereum','tron','bitcoin','bsc'][number % 4 + 1] AS c, 'native',
              lower(hex(SHA256(concat('tx', toString(number))))), toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(number * 3),
              [${addr(`number % ${ADDRESSES}`)}], ${addr(`(number * 7919 + 13) % ${ADDRESSES}`)}, ['ETH','USDT','BTC','BNB'][number % 4 + 1], '',
              toUInt256(number % 100000) * 1000000000000, toDecimal128(number % 100000, 6),
              if(number % 3 = 0, 'indirect-sanctioned', 'direct-sanctioned'), if(number % 3 = 0, 'indirect', 'direct'), 'bench',
              ['low','medium','high','severe'][number % 4 + 1], ['from'], ${addr(`number % ${ADDRESSES}`)}, 'evm',
              ${addr(`(number * 7919 + 13) % ${ADDRESSES}`)}, if(number % 3 = 0, 'indirect', 'direct'), if(number % 3 = 0, 1 + number % 2, 0), 1,
              [['GARANTEX EUROPE OU','LAZARUS GROUP','SUEX OTC'][number % 3 + 1]], [['RUSSIA-EO14024','DPRK3','CYBER2'][number % 3 + 1]],
              ['ofac-sdn'], ['sanctioned'], '[]', '[]', [], true, number % 10 = 0, 'active', ['', 'binance', 'okx', ''][number % 4 + 1],
              now64(3), 1
            FROM numbers(0, ${TRANSFERS}) WHERE number % ${FLAG_EVERY} = 0`,
  });
  process.stdout.write(`  data set generated in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}
const nTransfers = await count("SELECT count() AS c FROM transfers");
const nByAddress = await count("SELECT count() AS c FROM transfers_by_address");
const nFlags = await count("SELECT count() AS c FROM flags");

// --- API ----------------------------------------------------------------------------------------
const log = createLogger({ service: "bench-api", level: "warn" });
const lists = new MemoryWatchlistStore();
const ofac = join(root, "..", "shared", "fixtures", "sanctions", "ofac-0xB10C-lists-2024-09-27");
const imported = await importList(lists, {
  listId: "ofac-sdn",
  format: "ofac-codes-dir",
  path: ofac,
});
const matcher = Matcher.fromLists([
  { listId: "ofac-sdn", listVersion: imported.version.version, keys: imported.state.keys },
]);
const keys = new ClickHouseKeyStore(ch);
const audit = new ClickHouseAuditSink(ch, log);
const app = await buildApi({
  ch,
  chSql,
  keys,
  watchlist: new MatcherLookup(() => matcher),
  audit,
  log,
  options: { rateLimitPerMinute: 10_000_000 },
});
await app.listen({ port: 0, host: "127.0.0.1" });
const apiPort = (app.server.address() as { port: number }).port;
const key = generateApiKey({ tenantId: "bench", role: "regulator", name: "bench" });
await keys.put(key.record);
const bankKey = generateApiKey({ tenantId: "bench-bank", role: "bank", name: "bench" });
await keys.put(bankKey.record);

const pool = new Pool(`http://127.0.0.1:${apiPort}`, { connections: CONCURRENCY, pipelining: 1 });
const listedEvm = readFileSync(join(ofac, "sanctioned_addresses_ETH.txt"), "utf8")
  .split("\n")
  .filter(Boolean);
// Same derivation as the generator: sha256(decimal string) → first 20 bytes.
const randomAddress = (i: number) =>
  `0x${createHash("sha256").update(String(i)).digest().subarray(0, 20).toString("hex")}`;

const screenBody = (seed: number) =>
  JSON.stringify({
    addresses: Array.from({ length: 1000 }, (_, i) =>
      i % 20 === 0
        ? (listedEvm[(seed + i) % listedEvm.length] as string)
        : randomAddress((seed * 1000 + i) % ADDRESSES),
    ),
  });
// Made before timing: the load generator shares the API's process, and 1,000 SHA-256 per request
// (about 1 ms) would otherwise delay the requests in flight and count as API latency.
const screenBodies = Array.from({ length: 200 }, (_, seed) => screenBody(seed));

interface Case {
  name: string;
  req: (i: number) => { method: "GET" | "POST"; path: string; body?: string; key: string };
}
const month = (i: number) => {
  const m = 1 + (i % 10);
  return `from=2024-${String(m).padStart(2, "0")}-01&to=2024-${String(m + 1).padStart(2, "0")}-01`;
};
const cases: Case[] = [
  {
    name: "GET /v1/flows (latest 100, no filter)",
    req: () => ({ method: "GET", path: "/v1/flows?limit=100", key: key.key }),
  },
  {
    name: "GET /v1/flows (chain + minSeverity + month)",
    req: (i) => ({
      method: "GET",
      path: `/v1/flows?chain=tron&minSeverity=high&${month(i)}&limit=100`,
      key: key.key,
    }),
  },
  {
    name: "GET /v1/flows (programme + exposure, sort amount)",
    req: () => ({
      method: "GET",
      path: "/v1/flows?programme=DPRK3&exposure=indirect&sort=amount&order=desc&limit=100",
      key: key.key,
    }),
  },
  {
    name: "GET /v1/flows (address)",
    req: (i) => ({
      method: "GET",
      path: `/v1/flows?address=${randomAddress((i * 37) % ADDRESSES)}&limit=100`,
      key: key.key,
    }),
  },
  {
    name: "GET /v1/addresses/{chain}/{address}",
    req: (i) => ({
      method: "GET",
      path: `/v1/addresses/evm/${randomAddress((i * 101) % ADDRESSES)}`,
      key: key.key,
    }),
  },
  {
    name: "POST /v1/screen (1,000 addresses)",
    req: (i) => ({
      method: "POST",
      path: "/v1/screen",
      body: screenBodies[i % screenBodies.length] as string,
      key: bankKey.key,
    }),
  },
];

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

process.stdout.write(
  `\nbench/api: ${nTransfers.toLocaleString()} transfers (${nByAddress.toLocaleString()} address rows), ${nFlags.toLocaleString()} flags; ` +
    `${CONCURRENCY} concurrent clients, ${SECONDS} s per case\n\n`,
);
/**
 * CPU time (ms) the store's process has used so far, from /proc (Linux; NaN elsewhere): with the
 * API process's own, the CPU cost per request, which other work on the machine inflates much
 * less than it does latency.
 */
const storeCpuMs = (): number => (cpuSeconds(child.pid) ?? Number.NaN) * 1000;
const apiCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

process.stdout.write(
  "case                                                   reqs     req/s    p50 ms   p95 ms   p99 ms  errors  store ms/req  api ms/req\n",
);
// BENCH_API_CASES=address,screen runs only the cases whose name contains one of the words.
const only = (process.env.BENCH_API_CASES ?? "").split(",").filter(Boolean);
for (const c of cases.filter((k) => only.length === 0 || only.some((w) => k.name.includes(w)))) {
  // Warm-up (caches, JIT), not measured.
  for (let i = 0; i < 5; i++) {
    const r = c.req(i);
    const res = await pool.request({
      method: r.method,
      path: r.path,
      headers: { authorization: `Bearer ${r.key}`, "content-type": "application/json" },
      ...(r.body ? { body: r.body } : {}),
    });
    await res.body.arrayBuffer();
  }
  const lat: number[] = [];
  let errors = 0;
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  const store0 = storeCpuMs();
  const api0 = apiCpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const r = c.req(n++);
        const s = performance.now();
        const res = await pool.request({
          method: r.method,
          path: r.path,
          headers: { authorization: `Bearer ${r.key}`, "content-type": "application/json" },
          ...(r.body ? { body: r.body } : {}),
        });
        await res.body.arrayBuffer();
        lat.push(performance.now() - s);
        if (res.statusCode !== 200) errors++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  // The API process's CPU includes the load generator's (same process).
  const storePerReq = (storeCpuMs() - store0) / lat.length;
  const apiPerReq = (apiCpuMs() - api0) / lat.length;
  lat.sort((a, b) => a - b);
  process.stdout.write(
    `${c.name.padEnd(52)} ${String(lat.length).padStart(6)} ${(lat.length / secs).toFixed(1).padStart(9)} ${pct(lat, 50).toFixed(1).padStart(9)} ${pct(lat, 95).toFixed(1).padStart(8)} ${pct(lat, 99).toFixed(1).padStart(8)} ${String(errors).padStart(7)} ${storePerReq.toFixed(1).padStart(13)} ${apiPerReq.toFixed(1).padStart(11)}\n`,
  );
}
const mem = process.memoryUsage();
process.stdout.write(
  `\napi process RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB\n`,
);
await pool.close();
await app.close();
await audit.close();
await ch.close();
await chSql.close();
stopChild();
process.exit(0);
