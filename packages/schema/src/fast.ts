import type { ZodType } from "zod";
import { TransferKind, TransferStatus, TransferV1 } from "./transfer.js";

/** What a consumer needs of a message schema: zod's `safeParse` (a zod schema is one). */
export type MessageValidator<T> = Pick<ZodType<T>, "safeParse">;

/**
 * A validator that answers from `accepts` when it can and from the zod schema otherwise.
 *
 * `accepts` must be a strict under-approximation of the schema: it may return true only when the
 * schema accepts the value _and_ would return it unchanged (no unknown keys to strip, no
 * defaults or transforms to apply), so the value itself is the parse result. Anything it is
 * unsure of falls through to zod, which decides and, for an invalid message, writes the error.
 * Rejections, their messages and the accepted values are therefore exactly zod's; only the cost
 * of the common case changes (zod 4 allocates a result, issue list and stripped copy of every
 * object level per message).
 */
export function withFastPath<T>(
  schema: ZodType<T>,
  accepts: (value: unknown) => value is T,
): MessageValidator<T> {
  return {
    safeParse: (value, params) =>
      accepts(value) ? { success: true, data: value } : schema.safeParse(value, params),
  };
}

// The checks below restate the transfer.v1 schema (transfer.ts, common.ts) field by field; the
// property test in fast.test.ts holds them to zod's answers on valid and mutated messages.

const AMOUNT = /^(0|[1-9]\d*)$/;
const CHAIN = /^[a-z][a-z0-9-]{1,31}$/;
const KINDS = new Set<string>(TransferKind.options);
const STATUSES = new Set<string>(TransferStatus.options);

type Obj = Record<string, unknown>;
/** A plain object (what JSON.parse makes); anything else is left to zod. */
const isObj = (v: unknown): v is Obj =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
/** z.string().max(n) */
const str = (v: unknown, max: number): boolean => typeof v === "string" && v.length <= max;
/** z.string().max(n).nullable() */
const strOrNull = (v: unknown, max: number): boolean => v === null || str(v, max);
/** NonEmpty: z.string().min(1).max(512) */
const nonEmpty = (v: unknown): boolean => typeof v === "string" && v.length >= 1 && v.length <= 512;
/** z.number().int().nonnegative() (zod 4: int means a safe integer) */
const uint = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const amount = (v: unknown): boolean => typeof v === "string" && AMOUNT.test(v);
/** Own enumerable keys: equal to the number of known keys present means nothing to strip. */
const keyCount = (o: Obj): number => Object.keys(o).length;

function isAsset(v: unknown): boolean {
  if (!isObj(v) || keyCount(v) !== 3) return false;
  const d = v.decimals;
  return (
    strOrNull(v.symbol, 64) &&
    strOrNull(v.contract, 128) &&
    (d === null || (typeof d === "number" && Number.isSafeInteger(d) && d >= 0 && d <= 255))
  );
}

function isUtxoInputs(v: unknown[]): boolean {
  if (v.length > 100_000) return false;
  for (const i of v) {
    if (!isObj(i) || keyCount(i) !== 2 || !strOrNull(i.address, 128) || !amount(i.value))
      return false;
  }
  return true;
}

function isExchange(v: unknown): boolean {
  if (!isObj(v)) return false;
  let n = 2;
  if (!nonEmpty(v.name) || !nonEmpty(v.reference)) return false;
  if (v.tenantId !== undefined) {
    if (!nonEmpty(v.tenantId)) return false;
    n++;
  }
  if (v.customerRef !== undefined) {
    if (!str(v.customerRef, 256)) return false;
    n++;
  }
  if (v.exchangeAddress !== undefined) {
    if (!strOrNull(v.exchangeAddress, 128)) return false;
    n++;
  }
  return keyCount(v) === n;
}

/**
 * True when `v` is a transfer.v1 exactly as the schema would return it. False means "ask zod":
 * invalid, or valid with something zod would change (an unknown key, a key present as undefined).
 */
export function isExactTransferV1(v: unknown): v is TransferV1 {
  if (!isObj(v)) return false;
  let n = 16; // required keys
  if (
    v.type !== "transfer.v1" ||
    !nonEmpty(v.id) ||
    typeof v.chain !== "string" ||
    !CHAIN.test(v.chain) ||
    typeof v.kind !== "string" ||
    !KINDS.has(v.kind) ||
    !nonEmpty(v.txHash) ||
    !str(v.index, 128) ||
    !(v.blockNumber === null || uint(v.blockNumber)) ||
    !strOrNull(v.blockHash, 128) ||
    !uint(v.timestamp) ||
    !strOrNull(v.to, 128) ||
    !isAsset(v.asset) ||
    !amount(v.amount) ||
    typeof v.status !== "string" ||
    !STATUSES.has(v.status) ||
    !str(v.source, 256) ||
    !uint(v.observedAt)
  )
    return false;
  const from = v.from;
  if (Array.isArray(from)) {
    if (!isUtxoInputs(from)) return false;
  } else if (!strOrNull(from, 128)) return false;
  if (v.fee !== undefined) {
    if (!(v.fee === null || amount(v.fee))) return false;
    n++;
  }
  if (v.exchange !== undefined) {
    if (!isExchange(v.exchange)) return false;
    n++;
  }
  return keyCount(v) === n;
}

/** transfer.v1 with the fast path (same answers as {@link TransferV1}; see {@link withFastPath}). */
export const FastTransferV1: MessageValidator<TransferV1> = withFastPath(
  TransferV1,
  isExactTransferV1,
);
