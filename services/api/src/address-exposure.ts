import type { FlowRow } from "./flows-query.js";

/**
 * Exposure summary of the address page: the flags in which the address is the exposed party
 * (`counterparty`), per exposure kind. Two ways to the same answer: {@link exposureSql}, a query
 * over the address's flags, and {@link exposureFromFlows}, the same figures from the page's flows
 * when those already hold every flag of the address (most addresses have fewer flags than a page).
 * Both are deterministic — sources and entities are the 50 smallest in byte order, the USD value
 * an exact sum of micro-dollars — so the two agree to the last bit; keep them in step.
 */
export interface ExposureRow {
  exposure: string;
  /** Smallest hop count. */
  minHops: number;
  flows: number;
  valueUsd: number;
  sources: string[];
  entities: string[];
  firstMs: number;
  lastMs: number;
}

/** Sources and entities listed per exposure kind, at most. */
export const EXPOSURE_LIST_MAX = 50;

/**
 * The query, over `relation` (the address-ordered flows relation) with `where` selecting the
 * address's flags (every condition but `counterparty`, which this adds).
 */
export function exposureSql(relation: string, where: string): string {
  return `SELECT exposure, min(hops) AS min_hops, count() AS flows,
     toString(sum(toInt64(round(value_usd * 1000000)))) AS usd_micro,
     arraySlice(arraySort(groupUniqArray(listed_address)), 1, ${EXPOSURE_LIST_MAX}) AS srcs,
     arraySlice(arraySort(groupUniqArrayArray(entities)), 1, ${EXPOSURE_LIST_MAX}) AS ents,
     toUnixTimestamp64Milli(min(ts)) AS first, toUnixTimestamp64Milli(max(ts)) AS last
   FROM ${relation}
   WHERE ${where} AND counterparty = {addr:String}
   GROUP BY exposure ORDER BY min_hops, exposure`;
}

/** A row of {@link exposureSql} as ClickHouse returns it (JSONEachRow). */
export interface ExposureSqlRow {
  exposure: string;
  min_hops: number | string;
  flows: number | string;
  usd_micro: string;
  srcs: string[];
  ents: string[];
  first: number | string;
  last: number | string;
}

/** Parses rows of {@link exposureSql}. */
export function exposureFromSql(rows: ExposureSqlRow[]): ExposureRow[] {
  return rows.map((r) => ({
    exposure: r.exposure,
    minHops: Number(r.min_hops),
    flows: Number(r.flows),
    valueUsd: Number(BigInt(r.usd_micro)) / 1e6,
    sources: r.srcs,
    entities: r.ents,
    firstMs: Number(r.first),
    lastMs: Number(r.last),
  }));
}

/** Byte order of the UTF-8 encodings, as ClickHouse compares strings (arraySort, ORDER BY). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** The smallest `n` distinct strings in byte order. */
function smallestDistinct(values: Iterable<string>, n: number): string[] {
  return [...new Set(values)].sort(compareUtf8).slice(0, n);
}

/**
 * {@link exposureSql}'s answer computed from the address's flows (as the page reads them), which
 * must be every flag of the address the query would read.
 */
export function exposureFromFlows(flows: FlowRow[], addr: string): ExposureRow[] {
  const groups = new Map<
    string,
    {
      minHops: number;
      flows: number;
      micro: bigint;
      sources: string[];
      entities: string[];
      firstMs: number;
      lastMs: number;
    }
  >();
  for (const f of flows) {
    if (f.counterparty !== addr) continue;
    const hops = Number(f.hops);
    const ts = Number(f.ts_ms);
    // The same double and the same rounding as round(value_usd * 1000000) in SQL.
    const micro = BigInt(Math.round(Number(f.value_usd) * 1000000));
    const g = groups.get(f.exposure);
    if (!g) {
      groups.set(f.exposure, {
        minHops: hops,
        flows: 1,
        micro,
        sources: [f.listed_address],
        entities: [...f.entities],
        firstMs: ts,
        lastMs: ts,
      });
      continue;
    }
    g.minHops = Math.min(g.minHops, hops);
    g.flows++;
    g.micro += micro;
    g.sources.push(f.listed_address);
    g.entities.push(...f.entities);
    g.firstMs = Math.min(g.firstMs, ts);
    g.lastMs = Math.max(g.lastMs, ts);
  }
  return [...groups.entries()]
    .map(([exposure, g]) => ({
      exposure,
      minHops: g.minHops,
      flows: g.flows,
      valueUsd: Number(g.micro) / 1e6,
      sources: smallestDistinct(g.sources, EXPOSURE_LIST_MAX),
      entities: smallestDistinct(g.entities, EXPOSURE_LIST_MAX),
      firstMs: g.firstMs,
      lastMs: g.lastMs,
    }))
    .sort((a, b) => a.minHops - b.minHops || compareUtf8(a.exposure, b.exposure));
}
