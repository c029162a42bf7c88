import { createHash } from "node:crypto";
import { ValidationError } from "@chainscreen/errors";
import { sha256d } from "./hash.js";

/** The 80-byte block header, decoded. Hashes are in display (reversed) hex. */
export interface BlockHeader {
  hash: string;
  version: number;
  prevHash: string;
  merkleRoot: string;
  /** Unix seconds. */
  time: number;
  bits: number;
  nonce: number;
}

/** A transaction input: the outpoint it spends (null txid for a coinbase). */
export interface TxInput {
  /** Spent transaction id (display hex); "" for the coinbase input. */
  prevTxid: string;
  prevVout: number;
}

/** A transaction output: value in satoshi and where its script sits in the parsed buffer. */
export interface TxOutput {
  /** Satoshi; ≤ 21e14 so always exact in a double. */
  value: number;
  scriptOffset: number;
  scriptLength: number;
}

/** A parsed transaction; scripts are referenced by offset into `buf` (no copies). */
export interface ParsedTx {
  txid: string;
  /** txid in internal byte order (as hashed into the merkle tree). */
  txidRaw: Buffer;
  coinbase: boolean;
  hasWitness: boolean;
  inputs: TxInput[];
  outputs: TxOutput[];
  /** Buffer that `scriptOffset`s refer to. */
  buf: Uint8Array;
  /** Serialized size in bytes, witness included. */
  size: number;
  /** Coinbase scriptSig offset/length (for the BIP34 height). */
  coinbaseScript?: { offset: number; length: number };
}

/** A parsed block. */
export interface ParsedBlock {
  header: BlockHeader;
  txs: ParsedTx[];
  /** Size in bytes of the serialized block. */
  size: number;
}

function truncated(what: string, pos: number, len: number): ValidationError {
  return new ValidationError(`malformed bitcoin data: truncated ${what}`, {
    context: { offset: pos, length: len },
  });
}

// Hex digits of each byte as two char codes, and a scratch buffer decoded as latin1: one string
// allocation per hash instead of 32 concatenations (which leave garbage ropes behind).
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HEX_HI[i] = "0123456789abcdef".charCodeAt(i >> 4);
  HEX_LO[i] = "0123456789abcdef".charCodeAt(i & 15);
}
const hexScratch = Buffer.alloc(64);

/** Display hex (byte-reversed) of 32 bytes at `off`. */
function hash32Hex(b: Uint8Array, off: number): string {
  for (let i = 0; i < 32; i++) {
    const v = b[off + 31 - i] as number;
    hexScratch[2 * i] = HEX_HI[v] as number;
    hexScratch[2 * i + 1] = HEX_LO[v] as number;
  }
  return hexScratch.toString("latin1", 0, 64);
}

/**
 * Cursor over a byte buffer. Every read checks bounds and throws a non-retryable
 * ValidationError naming what was truncated: a short or corrupt block never reads garbage.
 */
class Reader {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    pos: number,
    readonly end: number,
  ) {
    this.pos = pos;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.end) throw truncated(what, this.pos, this.end);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++] as number;
  }
  u32(what: string): number {
    this.need(4, what);
    const b = this.b;
    const p = this.pos;
    this.pos = p + 4;
    return (
      ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)) +
      (b[p + 3] as number) * 0x1000000
    );
  }
  varint(what: string): number {
    const first = this.u8(what);
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      this.need(2, what);
      const v = (this.b[this.pos] as number) | ((this.b[this.pos + 1] as number) << 8);
      this.pos += 2;
      return v;
    }
    if (first === 0xfe) return this.u32(what);
    const lo = this.u32(what);
    const hi = this.u32(what);
    const v = hi * 0x100000000 + lo;
    if (v > Number.MAX_SAFE_INTEGER) throw truncated(what, this.pos, this.end);
    return v;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
}

/** Parses one transaction starting at `r.pos`; advances the reader past it. */
function readTx(r: Reader): ParsedTx {
  const b = r.b;
  const start = r.pos;
  r.skip(4, "tx version");
  let hasWitness = false;
  let inCount = r.varint("input count");
  // BIP144: marker 0x00 + flag 0x01 in place of the input count.
  if (inCount === 0) {
    const flag = r.u8("segwit flag");
    if (flag !== 1) {
      throw new ValidationError("malformed bitcoin data: bad segwit flag", {
        context: { offset: r.pos },
      });
    }
    hasWitness = true;
    inCount = r.varint("input count");
  }
  const bodyStart = hasWitness ? start + 6 : start + 4;
  // Each input is ≥ 41 bytes: reject absurd counts before allocating.
  if (inCount * 41 > r.end - r.pos) throw truncated("inputs", r.pos, r.end);
  const inputs: TxInput[] = new Array(inCount);
  let coinbase = false;
  let coinbaseScript: ParsedTx["coinbaseScript"];
  for (let i = 0; i < inCount; i++) {
    r.need(36, "outpoint");
    const p = r.pos;
    const vout =
      ((b[p + 32] as number) | ((b[p + 33] as number) << 8) | ((b[p + 34] as number) << 16)) +
      (b[p + 35] as number) * 0x1000000;
    let nullHash = vout === 0xffffffff && inCount === 1;
    if (nullHash) {
      for (let k = 0; k < 32; k++) {
        if (b[p + k] !== 0) {
          nullHash = false;
          break;
        }
      }
    }
    r.pos = p + 36;
    const scriptLen = r.varint("scriptSig length");
    if (nullHash) {
      coinbase = true;
      coinbaseScript = { offset: r.pos, length: scriptLen };
      inputs[i] = { prevTxid: "", prevVout: vout };
    } else {
      inputs[i] = { prevTxid: hash32Hex(b, p), prevVout: vout };
    }
    r.skip(scriptLen, "scriptSig");
    r.skip(4, "sequence");
  }
  const outCount = r.varint("output count");
  if (outCount * 9 > r.end - r.pos) throw truncated("outputs", r.pos, r.end);
  const outputs: TxOutput[] = new Array(outCount);
  for (let i = 0; i < outCount; i++) {
    const lo = r.u32("output value");
    const hi = r.u32("output value");
    const scriptLength = r.varint("scriptPubKey length");
    const scriptOffset = r.pos;
    r.skip(scriptLength, "scriptPubKey");
    outputs[i] = { value: hi * 0x100000000 + lo, scriptOffset, scriptLength };
  }
  const bodyEnd = r.pos;
  if (hasWitness) {
    for (let i = 0; i < inCount; i++) {
      const items = r.varint("witness item count");
      for (let k = 0; k < items; k++) r.skip(r.varint("witness item length"), "witness item");
    }
  }
  r.skip(4, "locktime");
  const end = r.pos;
  // txid = double SHA-256 of the serialization without marker, flag and witness.
  let txidRaw: Buffer;
  if (hasWitness) {
    const h = createHash("sha256");
    h.update(b.subarray(start, start + 4));
    h.update(b.subarray(bodyStart, bodyEnd));
    h.update(b.subarray(end - 4, end));
    txidRaw = createHash("sha256").update(h.digest()).digest();
  } else {
    txidRaw = sha256d(b.subarray(start, end));
  }
  const tx: ParsedTx = {
    txid: hash32Hex(txidRaw, 0),
    txidRaw,
    coinbase,
    hasWitness,
    inputs,
    outputs,
    buf: b,
    size: end - start,
  };
  if (coinbaseScript) tx.coinbaseScript = coinbaseScript;
  return tx;
}

/** Decodes an 80-byte block header at `off`. */
export function parseHeader(b: Uint8Array, off = 0): BlockHeader {
  if (b.length - off < 80) throw truncated("block header", off, b.length);
  const r = new Reader(b, off, off + 80);
  const version = r.u32("version") | 0;
  const prevHash = hash32Hex(b, off + 4);
  const merkleRoot = hash32Hex(b, off + 36);
  r.pos = off + 68;
  const time = r.u32("time");
  const bits = r.u32("bits");
  const nonce = r.u32("nonce");
  return {
    hash: hash32Hex(sha256d(b.subarray(off, off + 80)), 0),
    version,
    prevHash,
    merkleRoot,
    time,
    bits,
    nonce,
  };
}

/**
 * Parses a serialized block (header, every transaction, txids). Throws a ValidationError
 * (not retryable) on truncated or trailing data.
 */
export function parseBlock(b: Uint8Array): ParsedBlock {
  const header = parseHeader(b, 0);
  const r = new Reader(b, 80, b.length);
  const n = r.varint("transaction count");
  if (n === 0 || n * 60 > b.length) {
    throw new ValidationError("malformed bitcoin data: bad transaction count", {
      context: { count: n },
    });
  }
  const txs: ParsedTx[] = new Array(n);
  for (let i = 0; i < n; i++) txs[i] = readTx(r);
  if (r.pos !== b.length) {
    throw new ValidationError("malformed bitcoin data: trailing bytes after block", {
      context: { parsed: r.pos, length: b.length },
    });
  }
  return { header, txs, size: b.length };
}

/** Parses one serialized transaction (e.g. getrawtransaction's hex); the whole buffer must be used. */
export function parseTransaction(b: Uint8Array): ParsedTx {
  const r = new Reader(b, 0, b.length);
  const tx = readTx(r);
  if (r.pos !== b.length) {
    throw new ValidationError("malformed bitcoin data: trailing bytes after transaction", {
      context: { parsed: r.pos, length: b.length },
    });
  }
  return tx;
}

/** Merkle root (display hex) of txids given in internal byte order, as in the block header. */
export function merkleRoot(txids: readonly Uint8Array[]): string {
  if (txids.length === 0) throw new ValidationError("merkle root of no transactions");
  let level: Uint8Array[] = txids.slice();
  const pair = Buffer.alloc(64);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i] as Uint8Array;
      // An odd last node is paired with itself (Bitcoin's rule, the source of CVE-2012-2459).
      const c = level[i + 1] ?? a;
      pair.set(a, 0);
      pair.set(c, 32);
      next.push(sha256d(pair));
    }
    level = next;
  }
  return hash32Hex(level[0] as Uint8Array, 0);
}

/** Merkle root recomputed from a parsed block's transactions. */
export function computeMerkleRoot(block: ParsedBlock): string {
  return merkleRoot(block.txs.map((t) => t.txidRaw));
}

/** BIP34 height from the coinbase scriptSig (blocks ≥ 227,931), or null when absent. */
export function coinbaseHeight(block: ParsedBlock): number | null {
  const cb = block.txs[0];
  if (!cb?.coinbaseScript) return null;
  const { offset, length } = cb.coinbaseScript;
  const n = cb.buf[offset];
  if (n === undefined || n < 1 || n > 8 || n + 1 > length) return null;
  let h = 0;
  for (let i = n; i >= 1; i--) h = h * 256 + (cb.buf[offset + i] as number);
  return h;
}

/** Decodes a hex string, rejecting odd length and non-hex characters (Buffer.from silently truncates). */
export function hexToBytes(hex: string, what = "hex"): Buffer {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ValidationError(`malformed bitcoin data: invalid ${what}`, {
      context: { length: hex.length },
    });
  }
  return Buffer.from(hex, "hex");
}
