// Shapes of the Tron full-node HTTP API responses (java-tron `/wallet/*` and `/walletsolidity/*`,
// as TronGrid serves them) with visible=false: addresses as 41-prefixed hex, bytes as hex, block
// timestamps in milliseconds. Only the fields the ingester reads are declared and checked.
//
// Validation is hand-written and in place (no copies): a block carries ~300 transactions and the
// ingester must keep up with ≥100 blocks/s, which a schema library that rebuilds every object
// could not do in the time budget (measured: zod 4 took longer than JSON.parse itself).

/** int64 as TronGrid prints it: a JSON number, or a decimal string once made exact by parseTronJson. */
export type Int64 = number | string;

/** One contract inside raw_data.contract. `value` is checked per type by the extractor. */
export interface TgContract {
  type: string;
  parameter: { type_url?: string; value: Record<string, unknown> };
  Permission_id?: number;
}

/** A transaction as returned inside getblockbynum. */
export interface TgTransaction {
  txID: string;
  ret?: { contractRet?: string }[];
  signature?: string[];
  raw_data: { contract: TgContract[]; timestamp?: number; expiration?: number };
  raw_data_hex: string;
}

/** getblockbynum / getnowblock. */
export interface TgBlock {
  blockID: string;
  block_header: {
    raw_data: {
      number?: number;
      parentHash?: string;
      timestamp?: number;
      witness_address?: string;
    };
  };
  transactions?: TgTransaction[];
}

/** One event log of a transaction info; `address` is the 20-byte contract address without 41. */
export interface TgLog {
  address?: string;
  topics?: string[];
  data?: string;
}

/** One internal transaction (call with value inside contract execution). */
export interface TgInternalTx {
  hash?: string;
  caller_address: string;
  transferTo_address: string;
  callValueInfo?: { callValue?: Int64; tokenId?: string }[];
  note?: string;
  rejected?: boolean;
}

/** One entry of gettransactioninfobyblocknum. */
export interface TgTxInfo {
  id: string;
  fee?: Int64;
  blockNumber?: number;
  blockTimeStamp?: number;
  contract_address?: string;
  receipt?: { result?: string };
  log?: TgLog[];
  result?: string;
  internal_transactions?: TgInternalTx[];
}

/** A response that does not have the documented shape; `path` says where. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path || "(root)"}: expected ${expected}`);
  }
}

const HASH32_RE = /^[0-9a-fA-F]{64}$/;
const HEX_RE = /^[0-9a-fA-F]*$/;
const DIGITS_RE = /^\d+$/;

type Obj = Record<string, unknown>;
function obj(v: unknown, path: string): Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new ShapeError(path, "an object");
  return v as Obj;
}
function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ShapeError(path, "an array");
  return v;
}
function optArr(v: unknown, path: string): unknown[] {
  return v === undefined ? [] : arr(v, path);
}
function str(v: unknown, path: string): string {
  if (typeof v !== "string") throw new ShapeError(path, "a string");
  return v;
}
function optStr(v: unknown, path: string): void {
  if (v !== undefined && typeof v !== "string") throw new ShapeError(path, "a string");
}
function hex(v: unknown, path: string): void {
  if (typeof v !== "string" || !HEX_RE.test(v)) throw new ShapeError(path, "a hex string");
}
function optHex(v: unknown, path: string): void {
  if (v !== undefined) hex(v, path);
}
function hash32(v: unknown, path: string): void {
  if (typeof v !== "string" || !HASH32_RE.test(v)) throw new ShapeError(path, "a 32-byte hex hash");
}
function optUint(v: unknown, path: string): void {
  if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v >= 0)) {
    throw new ShapeError(path, "a non-negative integer");
  }
}
function optInt64(v: unknown, path: string): void {
  if (v === undefined) return;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return;
  if (typeof v === "string" && DIGITS_RE.test(v)) return;
  throw new ShapeError(path, "a non-negative int64");
}

function checkTransaction(v: unknown, p: string): void {
  const t = obj(v, p);
  hash32(t.txID, `${p}.txID`);
  const ret = optArr(t.ret, `${p}.ret`);
  for (let i = 0; i < ret.length; i++) {
    optStr(obj(ret[i], `${p}.ret.${i}`).contractRet, `${p}.ret.${i}.contractRet`);
  }
  // raw_data_hex is not pattern-checked here: the extractor hashes it and compares with txID.
  str(t.raw_data_hex, `${p}.raw_data_hex`);
  const raw = obj(t.raw_data, `${p}.raw_data`);
  optUint(raw.timestamp, `${p}.raw_data.timestamp`);
  arr(raw.contract, `${p}.raw_data.contract`).forEach((c, i) => {
    const cp = `${p}.raw_data.contract.${i}`;
    const co = obj(c, cp);
    str(co.type, `${cp}.type`);
    obj(obj(co.parameter, `${cp}.parameter`).value, `${cp}.parameter.value`);
  });
}

/** Checks a getblockbynum/getnowblock body in place; throws {@link ShapeError} on a mismatch. */
export function checkBlock(v: unknown): TgBlock {
  const b = obj(v, "");
  hash32(b.blockID, "blockID");
  const raw = obj(obj(b.block_header, "block_header").raw_data, "block_header.raw_data");
  optUint(raw.number, "block_header.raw_data.number");
  optUint(raw.timestamp, "block_header.raw_data.timestamp");
  if (raw.parentHash !== undefined) hash32(raw.parentHash, "block_header.raw_data.parentHash");
  const txs = optArr(b.transactions, "transactions");
  for (let i = 0; i < txs.length; i++) checkTransaction(txs[i], `transactions.${i}`);
  return b as unknown as TgBlock;
}

function checkTxInfo(v: unknown, p: string): void {
  const t = obj(v, p);
  hash32(t.id, `${p}.id`);
  optInt64(t.fee, `${p}.fee`);
  optStr(t.result, `${p}.result`);
  if (t.receipt !== undefined) optStr(obj(t.receipt, `${p}.receipt`).result, `${p}.receipt.result`);
  optArr(t.log, `${p}.log`).forEach((l, i) => {
    const lp = `${p}.log.${i}`;
    const lo = obj(l, lp);
    optHex(lo.address, `${lp}.address`);
    optHex(lo.data, `${lp}.data`);
    const topics = optArr(lo.topics, `${lp}.topics`);
    for (let j = 0; j < topics.length; j++) hex(topics[j], `${lp}.topics.${j}`);
  });
  optArr(t.internal_transactions, `${p}.internal_transactions`).forEach((x, i) => {
    const ip = `${p}.internal_transactions.${i}`;
    const it = obj(x, ip);
    hex(it.caller_address, `${ip}.caller_address`);
    hex(it.transferTo_address, `${ip}.transferTo_address`);
    if (it.rejected !== undefined && typeof it.rejected !== "boolean")
      throw new ShapeError(`${ip}.rejected`, "a boolean");
    optArr(it.callValueInfo, `${ip}.callValueInfo`).forEach((c, j) => {
      const co = obj(c, `${ip}.callValueInfo.${j}`);
      optInt64(co.callValue, `${ip}.callValueInfo.${j}.callValue`);
      optStr(co.tokenId, `${ip}.callValueInfo.${j}.tokenId`);
    });
  });
}

/**
 * Checks a gettransactioninfobyblocknum body in place: an array, or `{}` (some node versions
 * answer that for a block without transactions), which becomes [].
 */
export function checkTxInfoList(v: unknown): TgTxInfo[] {
  if (!Array.isArray(v)) {
    if (Object.keys(obj(v, "")).length === 0) return [];
    throw new ShapeError("", "an array");
  }
  for (let i = 0; i < v.length; i++) checkTxInfo(v[i], String(i));
  return v as TgTxInfo[];
}

// int64 fields that may carry values above 2^53 (token amounts; TRX amounts fit but share names).
const BIG_INT_FIELDS = /"(amount|call_value|call_token_value|callValue|fee)":(\d{16,})/g;

/**
 * JSON.parse that keeps large int64 amounts exact: java-tron prints int64 as bare JSON numbers, and
 * TRC-10 amounts can exceed 2^53, so long integer literals of amount fields become strings first.
 */
export function parseTronJson(text: string): unknown {
  return JSON.parse(text.replace(BIG_INT_FIELDS, '"$1":"$2"'));
}
