/**
 * Decoding of one record of a fetched record batch (magic v2), producing the same object kafkajs
 * 2.2.4's record decoder does. kafkajs computes every record's offset and timestamp by parsing
 * the batch's base values from strings into 64-bit BigInt-backed Longs, adding the delta and
 * printing the result again (four BigInt conversions per record), reads each varint through
 * Long arithmetic and builds the headers object by spreading it once per header. Here the base
 * values are parsed once per batch and the arithmetic is done in doubles, exact while the
 * values stay below 2^53 (offsets and millisecond timestamps do; larger ones take the BigInt way).
 */

/** kafkajs' Decoder, as far as the record decoder uses it. */
export interface KDecoder {
  buffer: Buffer;
  offset: number;
}

/** The batch fields kafkajs passes to each record's decoding. */
export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
}

/** What kafkajs' record decoder returns. */
export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

const LOG_APPEND_TIME = 1; // kafkajs' TimestampTypes.LOG_APPEND_TIME
const SAFE = Number.MAX_SAFE_INTEGER;

// Read position of the varint readers (module state: no result object per varint).
let pos = 0;

/** Zig-zag varint (32-bit), as Kafka writes offset deltas and lengths. */
function readVarInt(buf: Buffer): number {
  let u = 0;
  let shift = 0;
  let b: number;
  do {
    if (pos >= buf.length) throw new RangeError("record ends inside a varint");
    b = buf[pos++] as number;
    u |= (b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80 && shift < 35);
  if (b & 0x80) throw new RangeError("varint longer than 5 bytes");
  return (u >>> 1) ^ -(u & 1);
}

/** Zig-zag varlong (64-bit) as a bigint. */
function readVarLongBig(buf: Buffer): bigint {
  let u = 0n;
  let shift = 0n;
  let b: number;
  do {
    if (pos >= buf.length) throw new RangeError("record ends inside a varlong");
    b = buf[pos++] as number;
    u |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  } while (b & 0x80 && shift < 70n);
  return (u >> 1n) ^ -(u & 1n);
}

/** Zig-zag varlong as a number when it fits in 2^53, else null (pos is then unchanged). */
function readVarLongNumber(buf: Buffer): number | null {
  const start = pos;
  let u = 0;
  let mul = 1;
  let b: number;
  do {
    if (pos >= buf.length) throw new RangeError("record ends inside a varlong");
    b = buf[pos++] as number;
    u += (b & 0x7f) * mul;
    mul *= 128;
    if (mul > 2 ** 49 && b & 0x80) {
      pos = start;
      return null;
    }
  } while (b & 0x80);
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

function readBytes(buf: Buffer): Buffer | null {
  const len = readVarInt(buf);
  if (len < 0) return null;
  if (pos + len > buf.length) throw new RangeError("record ends inside a key, value or header");
  const out = buf.subarray(pos, pos + len);
  pos += len;
  return out;
}

// The batch whose base values were parsed last: records of one batch share its context object.
let lastCtx: BatchContext | null = null;
let baseOffset = 0;
let baseTimestamp = 0;

/** kafkajs' record decoder contract: decodes the record body at `decoder.offset`. */
export function decodeRecordV0(decoder: KDecoder, ctx: BatchContext): DecodedRecord {
  const buf = decoder.buffer;
  pos = decoder.offset;
  if (ctx !== lastCtx) {
    baseOffset = Number(ctx.firstOffset);
    baseTimestamp = Number(ctx.firstTimestamp);
    lastCtx = ctx;
  }
  if (pos >= buf.length) throw new RangeError("empty record");
  const attributes = buf.readInt8(pos++);
  const tsDelta = readVarLongNumber(buf);
  const tsDeltaBig = tsDelta === null ? readVarLongBig(buf) : null;
  let timestamp: string;
  if (ctx.timestampType === LOG_APPEND_TIME && ctx.maxTimestamp) timestamp = ctx.maxTimestamp;
  else if (tsDelta !== null && Math.abs(baseTimestamp) + Math.abs(tsDelta) <= SAFE)
    timestamp = String(baseTimestamp + tsDelta);
  else
    timestamp = BigInt.asIntN(
      64,
      BigInt(ctx.firstTimestamp) + (tsDeltaBig ?? BigInt(tsDelta as number)),
    ).toString();
  const offsetDelta = readVarInt(buf);
  const offset =
    Math.abs(baseOffset) + Math.abs(offsetDelta) <= SAFE
      ? String(baseOffset + offsetDelta)
      : BigInt.asIntN(64, BigInt(ctx.firstOffset) + BigInt(offsetDelta)).toString();
  const key = readBytes(buf);
  const value = readBytes(buf);
  const headers: DecodedRecord["headers"] = {};
  const count = readVarInt(buf);
  for (let i = 0; i < count; i++) {
    const kb = readBytes(buf);
    const k = kb === null ? "null" : kb.toString("utf8");
    const v = readBytes(buf);
    const prev = headers[k];
    if (prev === undefined) headers[k] = v;
    else if (Array.isArray(prev)) headers[k] = prev.concat([v]);
    else headers[k] = [prev, v];
  }
  decoder.offset = pos;
  return {
    magicByte: ctx.magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: ctx.isControlBatch ?? false,
    batchContext: ctx,
  };
}
