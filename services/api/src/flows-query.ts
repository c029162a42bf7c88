import { chainFamily } from "@chainscreen/addresses";
import { badRequest } from "./problem.js";
import { normalizeAddress } from "./screening.js";

/**
 * The API reads flagged flows from one flat relation, `api_flows` (a view defined in the API's
 * migrations over the store's `flags` table). Its columns are the contract between this module
 * and the store; only the view changes when the store's layout does.
 */
export const FLOWS_RELATION = "api_flows";

/**
 * Settings for reads of the ReplacingMergeTree-backed views: FINAL is applied per partition (a
 * flag and its retraction share the transfer's month partition), so already merged partitions are
 * read without merging.
 */
export const FLOW_QUERY_SETTINGS = { do_not_merge_across_partitions_select_final: 1 } as const;

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
export function flowsWhere(q: FlowsQuery): Sql {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  let fromMs: number | undefined;
  if (q.from !== undefined) {
    fromMs = parseTime("from", q.from);
    where.push("ts >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')");
    params.fromMs = fromMs;
  }
  if (q.to !== undefined) {
    const toMs = parseTime("to", q.to);
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
    // The address table's primary key finds the address's transfers; their flags are then found
    // through the bloom index on transfer_id (every flagged transfer is stored by the sink).
    where.push(
      "transfer_id IN (SELECT id FROM transfers_by_address WHERE address = {addr:String}) AND (has(senders, {addr:String}) OR to_address = {addr:String})",
    );
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
  return { sql: where.length ? where.join(" AND ") : "1", params };
}

function castCursorValue(kind: (typeof SORT_FIELDS)[SortField]["kind"]): string {
  switch (kind) {
    case "time":
      return "fromUnixTimestamp64Milli(toInt64({cv:String}), 'UTC')";
    case "uint256":
      return "toUInt256({cv:String})";
    case "float":
      return "toFloat64({cv:String})";
    case "int":
      return "toInt64({cv:String})";
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

/**
 * Full page query: filters, keyset condition from the cursor, ORDER BY (sort column, id) so the
 * order is total and pages are stable while new rows arrive, LIMIT n+1 to know if there is more.
 */
export function flowsPageQuery(
  q: FlowsQuery,
  columns = FLOW_COLUMNS,
): Sql & { sort: SortField; order: "asc" | "desc"; limit: number } {
  const w = flowsWhere(q);
  const sort: SortField = q.sort ?? "timestamp";
  const order = q.order ?? "desc";
  const limit = q.limit ?? 100;
  const { col, kind } = SORT_FIELDS[sort];
  const dir = order === "asc" ? "ASC" : "DESC";
  let where = w.sql;
  const params = { ...w.params };
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor);
    if (c.s !== sort || c.o !== order) {
      throw badRequest("cursor belongs to a different sort order; start again without cursor", [
        { field: "cursor", message: "sort mismatch" },
      ]);
    }
    const cmp = order === "asc" ? ">" : "<";
    where += ` AND (${col}, id) ${cmp} (${castCursorValue(kind)}, {cid:String})`;
    params.cv = c.v;
    params.cid = c.id;
  }
  return {
    sql: `SELECT ${columns} FROM ${FLOWS_RELATION} WHERE ${where} ORDER BY ${col} ${dir}, id ${dir}`,
    params,
    sort,
    order,
    limit,
  };
}
