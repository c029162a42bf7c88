/**
 * Watchlist matcher benchmark: lookups/s on one core and bytes per entry at 1M and 10M entries,
 * beside a plain Map<string, entry[]> baseline in the same run.
 *
 *   npx tsx bench/watchlist.ts [sizes, default 1000000,10000000]
 *
 * Entries: 70% EVM, 20% Bitcoin bech32-shaped, 10% Tron-shaped addresses (random, canonical), each
 * with one listing interval; 1 entity record per 100 addresses (shared metadata, as real lists have
 * many addresses per entity). Queries: 50% hits, 50% misses, pre-generated, in random order.
 * Memory: V8 heap + ArrayBuffer growth across the build, after a forced GC (the script re-runs
 * itself with --expose-gc). Figures only; nothing here is a pass/fail threshold.
 */
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { loadavg } from "node:os";
import type { Family } from "@chainscreen/addresses";
import type { WatchlistRecord } from "@chainscreen/schema";
import { Matcher, type MatchMeta } from "@chainscreen/watchlist";
import { table } from "./lib.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  const r = spawnSync(
    process.execPath,
    [
      "--expose-gc",
      "--max-old-space-size=16000",
      "--import",
      "tsx",
      import.meta.filename,
      ...process.argv.slice(2),
    ],
    { stdio: "inherit" },
  );
  process.exit(r.status ?? 1);
}

const sizes = (process.argv[2] ?? "1000000,10000000").split(",").map(Number);
const QUERIES = 2_000_000;
const B32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function randomAddresses(n: number): { families: Family[]; addresses: string[] } {
  const families: Family[] = new Array(n);
  const addresses: string[] = new Array(n);
  // One small reused buffer: no large allocation is left for the GC to free during a measurement.
  const buf = Buffer.alloc(20 * 4096);
  for (let i = 0; i < n; i++) {
    const slot = i % 4096;
    if (slot === 0) randomFillSync(buf);
    const o = slot * 20;
    const r = i % 10;
    if (r < 7) {
      families[i] = "evm";
      addresses[i] = `0x${buf.toString("hex", o, o + 20)}`;
    } else if (r < 9) {
      families[i] = "bitcoin";
      // Built as bytes so the string is flat, as a decoded address would be (not a rope).
      const b = Buffer.from(`bc1q${"q".repeat(38)}`, "latin1");
      for (let j = 0; j < 38; j++)
        b[4 + j] = B32.charCodeAt(((buf[o + (j % 20)] as number) + j * 7) % 32);
      addresses[i] = b.toString("latin1");
    } else {
      families[i] = "tron";
      const b = Buffer.from("T".repeat(34), "latin1");
      for (let j = 0; j < 33; j++)
        b[1 + j] = B58.charCodeAt(((buf[o + (j % 20)] as number) + j * 13) % 58);
      addresses[i] = b.toString("latin1");
    }
  }
  return { families, addresses };
}

function metas(n: number): MatchMeta[] {
  const out: MatchMeta[] = [];
  for (let i = 0; i < Math.max(1, Math.floor(n / 100)); i++) {
    const rec: WatchlistRecord = {
      code: "ETH",
      entityName: `Entity ${i}`,
      entityId: String(i),
      programmes: ["CYBER2"],
      category: "sanctioned",
      severity: "severe",
      label: null,
      designatedAt: 1_600_000_000_000,
    };
    out.push({ listId: "bench", listVersion: 1, records: [rec] });
  }
  return out;
}

function heapBytes(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

interface BaselineEntry {
  meta: MatchMeta;
  from: number | null;
  until: number | null;
}

/**
 * Runs `fn` over all queries once to warm up, then times a second pass. The rate is per second of
 * this thread's CPU time (process.cpuUsage), so other processes on a shared machine do not count
 * against it; `wall` is the same pass in wall-clock time.
 */
function timed(fn: () => number): { perSec: number; wallPerSec: number; hits: number } {
  fn();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const hits = fn();
  const ns = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  return { perSec: QUERIES / cpuS, wallPerSec: QUERIES / (ns / 1e9), hits };
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`);
const rows: Record<string, string | number>[] = [];

for (const n of sizes) {
  console.error(`[bench] generating ${n} entries and ${QUERIES} queries`);
  const { families, addresses } = randomAddresses(n);
  const ms = metas(n);
  const miss = randomAddresses(QUERIES / 2);
  const qFam: Family[] = new Array(QUERIES);
  const qAddr: string[] = new Array(QUERIES);
  for (let i = 0; i < QUERIES; i++) {
    if (i % 2 === 0) {
      const j = Math.floor(Math.random() * n);
      qFam[i] = families[j] as Family;
      // A fresh string, as a decoded transfer would give (not the interned key object).
      qAddr[i] = (addresses[j] as string).split("").join("");
    } else {
      qFam[i] = miss.families[i >> 1] as Family;
      qAddr[i] = miss.addresses[i >> 1] as string;
    }
  }

  // --- Matcher
  let before = heapBytes();
  let t0 = Date.now();
  let m: Matcher | null = new Matcher();
  for (let i = 0; i < n; i++) {
    m.add(
      families[i] as Family,
      addresses[i] as string,
      ms[i % ms.length] as MatchMeta,
      1_600_000_000_000,
      null,
    );
  }
  m.compact(); // what Matcher.fromLists does after a bulk load
  const buildMs = Date.now() - t0;
  const matcherBytes = heapBytes() - before;
  const mm = m;
  // One loop per figure (no shared callback), so each call site stays monomorphic.
  const listed = timed(() => {
    let h = 0;
    for (let i = 0; i < QUERIES; i++) if (mm.isListed(qFam[i] as Family, qAddr[i] as string)) h++;
    return h;
  });
  const at = timed(() => {
    let h = 0;
    for (let i = 0; i < QUERIES; i++) {
      if (mm.isListedAt(qFam[i] as Family, qAddr[i] as string, 1_700_000_000_000)) h++;
    }
    return h;
  });
  const full = timed(() => {
    let h = 0;
    for (let i = 0; i < QUERIES; i++)
      if (mm.lookup(qFam[i] as Family, qAddr[i] as string).length) h++;
    return h;
  });
  rows.push({
    impl: "Matcher",
    entries: fmt(n),
    "build s": (buildMs / 1000).toFixed(1),
    "bytes/entry (heap)": (matcherBytes / n).toFixed(1),
    "bytes/entry (arrays)": (mm.byteSize() / n).toFixed(1),
    "isListed/s": fmt(listed.perSec),
    "isListed/s wall": fmt(listed.wallPerSec),
    "isListedAt/s": fmt(at.perSec),
    "lookup/s": fmt(full.perSec),
    "hit %": ((100 * listed.hits) / QUERIES).toFixed(0),
  });
  console.error(`[bench] ${JSON.stringify(rows[rows.length - 1])}`);
  m = null;

  // --- Baseline: Map<string, entry[]>
  before = heapBytes();
  t0 = Date.now();
  let map: Map<string, BaselineEntry[]> | null = new Map();
  for (let i = 0; i < n; i++) {
    const k = `${families[i]}:${addresses[i]}`;
    const e: BaselineEntry = {
      meta: ms[i % ms.length] as MatchMeta,
      from: 1_600_000_000_000,
      until: null,
    };
    const cur = map.get(k);
    if (cur) cur.push(e);
    else map.set(k, [e]);
  }
  const mapBuildMs = Date.now() - t0;
  const mapBytes = heapBytes() - before;
  const mp = map;
  const mapListed = timed(() => {
    let h = 0;
    for (let i = 0; i < QUERIES; i++) if (mp.get(`${qFam[i]}:${qAddr[i]}`) !== undefined) h++;
    return h;
  });
  const mapAt = timed(() => {
    let h = 0;
    const t = 1_700_000_000_000;
    for (let i = 0; i < QUERIES; i++) {
      const es = mp.get(`${qFam[i]}:${qAddr[i]}`);
      if (es?.some((e) => (e.from === null || e.from <= t) && (e.until === null || t < e.until)))
        h++;
    }
    return h;
  });
  rows.push({
    impl: "Map<string, entry[]>",
    entries: fmt(n),
    "build s": (mapBuildMs / 1000).toFixed(1),
    "bytes/entry (heap)": (mapBytes / n).toFixed(1),
    "bytes/entry (arrays)": "-",
    "isListed/s": fmt(mapListed.perSec),
    "isListed/s wall": fmt(mapListed.wallPerSec),
    "isListedAt/s": fmt(mapAt.perSec),
    "lookup/s": fmt(mapListed.perSec),
    "hit %": ((100 * mapListed.hits) / QUERIES).toFixed(0),
  });
  console.error(`[bench] ${JSON.stringify(rows[rows.length - 1])}`);
  map = null;
}

const load = loadavg()[0]?.toFixed(1);
console.log(
  `node ${process.version}, one core, ${QUERIES} queries per figure (50% hits), rates per CPU-second unless 'wall', load average ${load}`,
);
table(rows);
