import { chainFamily } from "@chainscreen/addresses";
import type { ClickHouseClient } from "@clickhouse/client";
import { badRequest } from "./problem.js";
import { normalizeAddress } from "./screening.js";

/**
 * The API reads flagged flows from flat relations, `api_flows` (a view defined in the API's
 * migrations over the store's `flags` table) and {@link FLOWS_BY_ADDRESS_RELATION}. Their columns
 * are the contract between this module and the store; only the views change when the store's
 * layout does.
 */
export const FLOWS_RELATION = "api_flows";

/**
 * The same rows filed under each party of the flagged transfer (its senders and receiver), with
 * the address in `party` (view over `flags_by_address`, migration 102). A filter on one address
 * reads this relation: `party = X` is a range of its primary key, where the same filter on
 * {@link FLOWS_RELATION} reads and merges every flag.
 */
export const FLOWS_BY_ADDRESS_RELATION = "api_flows_by_address";

/**
 * The rows of {@link FLOWS_RELATION} from a table ordered by (amount, id) (view over
 * `flags_by_amount` FINAL, migration 103). Pages sorted by amount over every flag read it
 * ({@link queryFlowsByAmount}).
 */
export const FLOWS_BY_AMOUNT_RELATION = "api_flows_by_amount";

/**
 * Every stored version of each flag (no FINAL), otherwise as {@link FLOWS_BY_AMOUNT_RELATION}:
 * the first step of {@link queryFlowsByAmount} reads it.
 */
export const FLOW_VERSIONS_BY_AMOUNT_RELATION = "api_flow_versions_by_amount";

/**
 * Settings for reads of the ReplacingMergeTree-backed views: FINAL is applied per partition (a
 * flag and its retraction share the transfer's month partition), so already merged partitions are
 * read without merging.
 */
export const FLOW_QUERY_SETTINGS = { do_not_merge_across_partitions_select_final: 1 } as const;

/**
 * Settings for queries that read one address's range of an address-ordered table (a few
 * granules): one thread. More threads only add pipeline work for so little data (measured: 10–20 %
 * more engine CPU per query), which concurrent requests pay for.
 */
export const ADDRESS_QUERY_SETTINGS = { ...FLOW_QUERY_SETTINGS, max_threads: 1 } as const;

/** Severity names in increasing order (rank = index + 1). */
export const SEVERITIES = ["low", "medium", "high", "severe"] as const;

/** Sortable fields and the column each sorts by. */
export const SORT_FIELDS = {
  timestamp: { col: "ts", kind: "time" },
  flaggedAt: { col: "flagged_at", kind: "time" },
  amount: { col: "amount", kind: "uint256" },
  valueUsd: { col: "value_usd", kind: "float" },
  severity: { col: "severity_rank", kind: "int" },
  hops: { col: "hops", kind: "int" },
} as const;
export type SortField = keyof typeof SORT_FIELDS;

/** Query string of GET /v1/flows after schema validation (all optional). */
export interface FlowsQuery {
  from?: string;
  to?: string;
  chain?: string[];
  asset?: string[];
  address?: string;
  entity?: string;
  list?: string[];
  programme?: string[];
  exposure?: "direct" | "indirect";
  hops?: number;
  maxHops?: number;
  severity?: string[];
  minSeverity?: string;
  retro?: boolean;
  minAmount?: string;
  maxAmount?: string;
  exchange?: string[];
  includeRetracted?: boolean;
  sort?: SortField;
  order?: "asc" | "desc";
  limit?: number;
  cursor?: string;
  format?: "json" | "csv" | "ndjson";
}

/** SQL fragment with its named parameters. */
export interface Sql {
  sql: string;
  params: Record<string, unknown>;
}

/** WHERE clause of a flows query and the relation it applies to. */
export interface FlowsWhere extends Sql {
  /** {@link FLOWS_BY_ADDRESS_RELATION} when the query names an address, else {@link FLOWS_RELATION}. */
  relation: string;
  /** `from` and `to` in Unix ms, when given. */
  fromMs?: number;
  toMs?: number;
}

/** Parses a time given as ISO 8601 or Unix milliseconds; throws a 400 naming the field. */
export function parseTime(field: string, v: string): number {
  const s = v.trim();
  const ms = /^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(ms) || ms < 0) {
    throw badRequest(`${field} must be an ISO 8601 time or Unix milliseconds, got "${v}"`, [
      { field, message: "not a time" },
    ]);
  }
  return ms;
}

const UINT = /^(0|[1-9]\d{0,77})$/;

/** Cursor content: last row's sort value and id, and the sort it belongs to. */
interface Cursor {
  s: SortField;
  o: "asc" | "desc";
  v: string;
  id: string;
}

/** Encodes a cursor (opaque to clients). */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), "utf8").toString("base64url");
}

function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Cursor;
    if (typeof c.v !== "string" || typeof c.id !== "string" || !(c.s in SORT_FIELDS))
      throw new Error();
    return c;
  } catch {
    throw badRequest("cursor is not one this API issued", [
      { field: "cursor", message: "invalid" },
    ]);
  }
}

/**
 * Builds the WHERE clause for the filters. Every value goes through a query parameter, never
 * into the SQL text.
 */
export function flowsWhere(q: FlowsQuery): FlowsWhere {
  const where: string[] = [];
  let relation = FLOWS_RELATION;
  const params: Record<string, unknown> = {};
  let fromMs: number | undefined;
  let toMs: number | undefined;
  if (q.from !== undefined) {
    fromMs = parseTime("from", q.from);
    where.push("ts >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')");
    params.fromMs = fromMs;
  }
  if (q.to !== undefined) {
    toMs = parseTime("to", q.to);
    if (fromMs !== undefined && toMs <= fromMs) {
      throw badRequest("to must be after from", [{ field: "to", message: "before from" }]);
    }
    where.push("ts < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')");
    params.toMs = toMs;
  }
  if (q.chain?.length) {
    const unknown = q.chain.filter((c) => chainFamily(c) === null);
    if (unknown.length > 0) {
      throw badRequest(
        `unknown chain ${unknown.map((c) => `"${c}"`).join(", ")}`,
        unknown.map((c) => ({ field: "chain", message: `unknown chain ${c}` })),
      );
    }
    where.push("chain IN {chains:Array(String)}");
    params.chains = q.chain.map((c) => c.toLowerCase());
  }
  if (q.asset?.length) {
    // An asset is named by symbol (case-insensitive) or by contract address.
    where.push(
      "(upper(asset) IN {assetSyms:Array(String)} OR asset_contract IN {assetContracts:Array(String)})",
    );
    params.assetSyms = q.asset.map((a) => a.toUpperCase());
    // EVM contracts are stored lowercase; Tron (base58) contracts are case-sensitive.
    params.assetContracts = [...new Set(q.asset.flatMap((a) => [a, a.toLowerCase()]))];
  }
  if (q.address !== undefined) {
    const chain = q.chain?.length === 1 ? q.chain[0] : undefined;
    const n = normalizeAddress(chain, q.address);
    if (!n.ok) throw badRequest(`address: ${n.error}`, [{ field: "address", message: n.error }]);
    // The flags whose transfer has the address as a sender or the receiver: one range of the
    // address-ordered relation's primary key.
    relation = FLOWS_BY_ADDRESS_RELATION;
    where.push("party = {addr:String}");
    params.addr = n.address;
  }
  if (q.entity !== undefined) {
    where.push("arrayExists(e -> positionCaseInsensitiveUTF8(e, {entity:String}) > 0, entities)");
    params.entity = q.entity;
  }
  if (q.list?.length) {
    where.push("hasAny(lists, {lists:Array(String)})");
    params.lists = q.list;
  }
  if (q.programme?.length) {
    where.push("hasAny(programmes, {programmes:Array(String)})");
    params.programmes = q.programme.map((p) => p.toUpperCase());
  }
  if (q.exposure !== undefined) {
    where.push("exposure = {exposure:String}");
    params.exposure = q.exposure;
  }
  if (q.hops !== undefined) {
    where.push("hops = {hops:UInt8}");
    params.hops = q.hops;
  }
  if (q.maxHops !== undefined) {
    where.push("hops <= {maxHops:UInt8}");
    params.maxHops = q.maxHops;
  }
  if (q.severity?.length) {
    where.push("severity IN {severities:Array(String)}");
    params.severities = q.severity;
  }
  if (q.minSeverity !== undefined) {
    where.push("severity_rank >= {minSev:UInt8}");
    params.minSev = SEVERITIES.indexOf(q.minSeverity as (typeof SEVERITIES)[number]) + 1;
  }
  if (q.retro !== undefined) {
    where.push("retro = {retro:Bool}");
    params.retro = q.retro;
  }
  for (const [field, op, name] of [
    ["minAmount", ">=", "minAmt"],
    ["maxAmount", "<=", "maxAmt"],
  ] as const) {
    const v = q[field];
    if (v === undefined) continue;
    if (!UINT.test(v)) {
      throw badRequest(`${field} must be a non-negative integer in base units, got "${v}"`, [
        { field, message: "not an integer amount" },
      ]);
    }
    where.push(`amount ${op} toUInt256({${name}:String})`);
    params[name] = v;
  }
  if (
    q.minAmount !== undefined &&
    q.maxAmount !== undefined &&
    BigInt(q.minAmount) > BigInt(q.maxAmount)
  ) {
    throw badRequest("minAmount must not exceed maxAmount", [
      { field: "minAmount", message: "> maxAmount" },
    ]);
  }
  if (q.exchange?.length) {
    where.push("exchange IN {exchanges:Array(String)}");
    params.exchanges = q.exchange.map((e) => e.toLowerCase());
  }
  if (!q.includeRetracted) where.push("status != 'retracted'");
  return {
    sql: where.length ? where.join(" AND ") : "1",
    params,
    relation,
    ...(fromMs !== undefined ? { fromMs } : {}),
    ...(toMs !== undefined ? { toMs } : {}),
  };
}

/** SQL of a sort value passed as the String parameter `param`, cast to the column's type. */
function castSortValue(kind: (typeof SORT_FIELDS)[SortField]["kind"], param: string): string {
  switch (kind) {
    case "time":
      return `fromUnixTimestamp64Milli(toInt64({${param}:String}), 'UTC')`;
    case "uint256":
      return `toUInt256({${param}:String})`;
    case "float":
      return `toFloat64({${param}:String})`;
    case "int":
      return `toInt64({${param}:String})`;
  }
}

/** Columns returned for each flow in JSON and NDJSON. */
export const FLOW_COLUMNS = `id, transfer_id, toUnixTimestamp64Milli(flagged_at) AS flagged_at_ms,
  toUnixTimestamp64Milli(ts) AS ts_ms, chain, tx_hash, kind, from_address, to_address,
  listed_address, counterparty, asset, asset_contract, toString(amount) AS amount_base_units, value_usd,
  exposure, hops, severity, retro, entities, programmes, lists, exchange, status`;

/** Columns for CSV export: flat, arrays joined with ';'. */
// Aliases never reuse a column name: ClickHouse resolves WHERE/ORDER BY names to SELECT aliases
// first, so `toString(amount) AS amount` would make the amount filter compare strings.
export const FLOW_CSV_COLUMNS = `id, transfer_id, formatDateTime(flagged_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS flagged_at_utc,
  formatDateTime(ts, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS timestamp_utc, chain, tx_hash, kind,
  from_address, to_address, listed_address, counterparty, asset, asset_contract,
  toString(amount) AS amount_base_units, value_usd, exposure, hops, severity, retro,
  arrayStringConcat(entities, ';') AS entity_names, arrayStringConcat(programmes, ';') AS programme_names,
  arrayStringConcat(lists, ';') AS list_ids, exchange, status`;

/** Row as ClickHouse returns it (JSONEachRow of {@link FLOW_COLUMNS}). */
export interface FlowRow {
  id: string;
  transfer_id: string;
  flagged_at_ms: string | number;
  ts_ms: string | number;
  chain: string;
  tx_hash: string;
  kind: string;
  from_address: string;
  to_address: string;
  listed_address: string;
  counterparty: string;
  asset: string;
  asset_contract: string;
  amount_base_units: string;
  value_usd: number;
  exposure: string;
  hops: number;
  severity: string;
  retro: boolean | number;
  entities: string[];
  programmes: string[];
  lists: string[];
  exchange: string;
  status: string;
}

/** API shape of a flow. */
export function flowFromRow(r: FlowRow) {
  return {
    id: r.id,
    transferId: r.transfer_id,
    flaggedAt: new Date(Number(r.flagged_at_ms)).toISOString(),
    timestamp: new Date(Number(r.ts_ms)).toISOString(),
    chain: r.chain,
    txHash: r.tx_hash,
    kind: r.kind,
    from: r.from_address,
    to: r.to_address,
    listedAddress: r.listed_address,
    counterparty: r.counterparty,
    asset: r.asset,
    assetContract: r.asset_contract || null,
    amount: r.amount_base_units,
    valueUsd: Number(r.value_usd),
    exposure: r.exposure,
    hops: Number(r.hops),
    severity: r.severity,
    retro: Boolean(r.retro),
    entities: r.entities,
    programmes: r.programmes,
    lists: r.lists,
    exchange: r.exchange || null,
    status: r.status,
  };
}
/** A flow as the API returns it. */
export type Flow = ReturnType<typeof flowFromRow>;

/** Sort value of a row, as stored in the cursor. */
export function sortValue(r: FlowRow, field: SortField): string {
  switch (field) {
    case "timestamp":
      return String(r.ts_ms);
    case "flaggedAt":
      return String(r.flagged_at_ms);
    case "amount":
      return r.amount_base_units;
    case "valueUsd":
      return String(r.value_usd);
    case "severity":
      return String(SEVERITIES.indexOf(r.severity as (typeof SEVERITIES)[number]) + 1);
    case "hops":
      return String(r.hops);
  }
}

/** A page query built by {@link flowsPageQuery}. */
export interface FlowsPage extends FlowsWhere {
  sort: SortField;
  order: "asc" | "desc";
  limit: number;
  /** The cursor's sort value when sorting by timestamp (Unix ms). */
  cursorMs?: number;
}

/** Options of {@link flowsPageQuery}. */
export interface FlowsPageOptions {
  /** Adds `ts >= sinceMs` (see {@link queryFlowsPage}). */
  sinceMs?: number;
  /** Reads this relation instead of the one the filters choose (same columns). */
  relation?: string;
  /**
   * Keeps the rows up to and including this (sort value, id) in the page's order: `(col, id) >=
   * (v, id)` when descending, `<=` when ascending (see {@link queryFlowsByAmount}).
   */
  through?: { v: string; id: string };
}

/**
 * Full page query: filters, keyset condition from the cursor, ORDER BY (sort column, id) so the
 * order is total and pages are stable while new rows arrive, LIMIT n+1 to know if there is more.
 * Each keyset condition on (sort column, id) comes with the same bound on the sort column alone,
 * which it implies: a tuple comparison does not narrow a read by the primary key, that one does.
 */
export function flowsPageQuery(
  q: FlowsQuery,
  columns = FLOW_COLUMNS,
  opts: FlowsPageOptions = {},
): FlowsPage {
  const w = flowsWhere(q);
  const sort: SortField = q.sort ?? "timestamp";
  const order = q.order ?? "desc";
  const limit = q.limit ?? 100;
  const { col, kind } = SORT_FIELDS[sort];
  const dir = order === "asc" ? "ASC" : "DESC";
  let where = w.sql;
  const params = { ...w.params };
  let cursorMs: number | undefined;
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor);
    if (c.s !== sort || c.o !== order) {
      throw badRequest("cursor belongs to a different sort order; start again without cursor", [
        { field: "cursor", message: "sort mismatch" },
      ]);
    }
    const cmp = order === "asc" ? ">" : "<";
    const cv = castSortValue(kind, "cv");
    where += ` AND ${col} ${cmp}= ${cv} AND (${col}, id) ${cmp} (${cv}, {cid:String})`;
    params.cv = c.v;
    params.cid = c.id;
    if (sort === "timestamp" && /^\d{1,15}$/.test(c.v)) cursorMs = Number(c.v);
  }
  if (opts.sinceMs !== undefined) {
    where += " AND ts >= fromUnixTimestamp64Milli({sinceMs:Int64}, 'UTC')";
    params.sinceMs = opts.sinceMs;
  }
  if (opts.through !== undefined) {
    const cmp = order === "asc" ? "<=" : ">=";
    const tv = castSortValue(kind, "tv");
    where += ` AND ${col} ${cmp} ${tv} AND (${col}, id) ${cmp} (${tv}, {tid:String})`;
    params.tv = opts.through.v;
    params.tid = opts.through.id;
  }
  const relation = opts.relation ?? w.relation;
  return {
    ...w,
    relation,
    sql: `SELECT ${columns} FROM ${relation} WHERE ${where} ORDER BY ${col} ${dir}, id ${dir}`,
    params,
    sort,
    order,
    limit,
    ...(cursorMs !== undefined ? { cursorMs } : {}),
  };
}

/** Recent windows {@link queryFlowsPage} tries, narrowest first, before the whole range (ms). */
export const RECENT_WINDOWS_MS = [86_400_000, 30 * 86_400_000] as const;

/**
 * Runs the JSON page query of GET /v1/flows: at most `limit + 1` rows, and the page they belong to.
 *
 * Newest first over every flag (the console's default view), FINAL would read and merge every
 * flag for one page (measured: ~50 ms of engine CPU per page of 100 on 1M flags) although the page
 * lies in the last hours. So, sorted by timestamp descending on {@link FLOWS_RELATION} without a
 * `from`, the query first runs on a recent window `ts >= upper − w`, where upper is just after the
 * newest stored flag, `to` or the cursor, whichever is earliest: only that window's partitions and
 * granules are read. A window is exact when it yields a full page (limit + 1 rows), since every
 * row outside it is older than every row in it; otherwise the next, wider window is tried, then
 * the query as it is (for a filter matching little, the windows add a read of the last month).
 * With a `from` the caller already bounded the range, and the query runs as it is: a
 * month of one chain is read in key order and stops early, where empty windows would only add
 * queries. The newest flag's time comes from the store's `flags` table, without FINAL (a bound
 * is enough: every version of a flag has the time of its transfer).
 *
 * Sorted by amount on {@link FLOWS_RELATION}, the page is read from the amount-ordered relation
 * ({@link queryFlowsByAmount}), or as it is when that cannot tell.
 */
export async function queryFlowsPage(
  ch: ClickHouseClient,
  q: FlowsQuery,
): Promise<{ page: FlowsPage; rows: FlowRow[] }> {
  const page = flowsPageQuery(q);
  if (page.relation === FLOWS_RELATION && page.sort === "amount") {
    const rows = await queryFlowsByAmount(ch, q, page.limit);
    if (rows) return { page, rows };
  }
  const run = async (sinceMs?: number): Promise<FlowRow[]> => {
    const p = sinceMs === undefined ? page : flowsPageQuery(q, FLOW_COLUMNS, { sinceMs });
    const rs = await ch.query({
      query: `${p.sql} LIMIT {lim:UInt32}`,
      query_params: { ...p.params, lim: page.limit + 1 },
      format: "JSONEachRow",
      clickhouse_settings: FLOW_QUERY_SETTINGS,
    });
    return rs.json<FlowRow>();
  };
  if (
    page.relation === FLOWS_RELATION &&
    page.sort === "timestamp" &&
    page.order === "desc" &&
    page.fromMs === undefined
  ) {
    const rs = await ch.query({
      query: "SELECT count() AS n, toUnixTimestamp64Milli(max(ts)) AS newest FROM flags",
      format: "JSONEachRow",
    });
    const [stored] = await rs.json<{ n: string; newest: string }>();
    if (stored && Number(stored.n) > 0) {
      const upper = Math.min(
        Number(stored.newest) + 1,
        page.toMs ?? Number.POSITIVE_INFINITY,
        page.cursorMs !== undefined ? page.cursorMs + 1 : Number.POSITIVE_INFINITY,
      );
      for (const w of RECENT_WINDOWS_MS) {
        const rows = await run(upper - w);
        if (rows.length > page.limit) return { page, rows };
      }
    }
  }
  return { page, rows: await run() };
}

/**
 * Candidate rows the first step of {@link queryFlowsByAmount} reads, as multiples of a page's
 * `limit + 1` rows: a second, larger try when the first range held too many stale versions.
 */
export const AMOUNT_CANDIDATE_FACTORS = [2, 16] as const;

/**
 * A page sorted by amount over every flag (no address): at most `limit + 1` rows, the same rows in
 * the same order as the page query on {@link FLOWS_RELATION}, or null when this path cannot tell
 * (the caller then runs that query).
 *
 * On {@link FLOWS_RELATION} such a page costs a FINAL read of every flag, whose rows lie anywhere
 * in the table. `flags_by_amount` (migration 103) holds every stored version of each flag ordered
 * by (amount, id), and the page is read in two steps:
 *
 * 1. candidates: the first `k` rows in the page's order among all stored versions that pass the
 *    filters (and the cursor), without FINAL ({@link FLOW_VERSIONS_BY_AMOUNT_RELATION}) — a read
 *    in key order that stops after `k` matches. Amount and id only. No candidate: no version
 *    matches, so no flag does; the page is empty.
 * 2. the page: the query with FINAL ({@link FLOWS_BY_AMOUNT_RELATION}), restricted to keys up to
 *    and including the last candidate (`(amount, id) >= (a, id)` descending, `<=` ascending — a
 *    range of the table's key, which also holds every version of each key in it, so FINAL merges
 *    them).
 *
 * Every flag passing the filters is, in its latest version, one of the stored versions step 1
 * ranks. So each one at or before the last candidate in the page's order was a candidate and is
 * in step 2's range, and step 2 returns every such flag; the flags outside the range all come
 * after them. When step 2 returns a full page (limit + 1 rows), or step 1 returned fewer than `k`
 * rows (then the range holds every flag passing the filters), its answer is exact. Otherwise older
 * versions (a flag active before its retraction, or not yet merged) took candidate places: the
 * next, larger `k` is tried, then null.
 */
export async function queryFlowsByAmount(
  ch: ClickHouseClient,
  q: FlowsQuery,
  limit: number,
): Promise<FlowRow[] | null> {
  for (const factor of AMOUNT_CANDIDATE_FACTORS) {
    const k = factor * (limit + 1);
    const c = flowsPageQuery(q, "toString(amount) AS amount_base_units, id", {
      relation: FLOW_VERSIONS_BY_AMOUNT_RELATION,
    });
    const candidates = await (
      await ch.query({
        query: `${c.sql} LIMIT {lim:UInt32}`,
        query_params: { ...c.params, lim: k },
        format: "JSONEachRow",
      })
    ).json<{ amount_base_units: string; id: string }>();
    const last = candidates[candidates.length - 1];
    if (!last) return [];
    const p = flowsPageQuery(q, FLOW_COLUMNS, {
      relation: FLOWS_BY_AMOUNT_RELATION,
      through: { v: last.amount_base_units, id: last.id },
    });
    const rows = await (
      await ch.query({
        query: `${p.sql} LIMIT {lim:UInt32}`,
        query_params: { ...p.params, lim: limit + 1 },
        format: "JSONEachRow",
      })
    ).json<FlowRow>();
    if (rows.length > limit || candidates.length < k) return rows;
  }
  return null;
}
