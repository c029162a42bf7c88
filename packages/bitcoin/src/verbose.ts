import { ValidationError } from "@chainscreen/errors";
import {
  type BlockHeader,
  hexToBytes,
  type ParsedBlock,
  type ParsedTx,
  parseTransaction,
} from "./block.js";
import { sha256d } from "./hash.js";
import { outpointKey, type Prevout } from "./prevouts.js";
import { type BitcoinNetwork, deriveOutput } from "./script.js";

/** The fields of Bitcoin Core's `getblock <hash> 2|3` answer that ingestion reads. */
export interface VerboseBlock {
  hash: string;
  height: number;
  version: number;
  merkleroot: string;
  time: number;
  nonce: number;
  bits: string;
  previousblockhash?: string;
  tx: VerboseTx[];
}
/** A transaction of a verbose block: its raw hex and, at verbosity 3, each input's prevout. */
export interface VerboseTx {
  txid: string;
  hex: string;
  vin: {
    coinbase?: string;
    txid?: string;
    vout?: number;
    prevout?: { value: number; scriptPubKey: { hex: string } };
  }[];
}

/** Satoshi from a BTC amount as Core prints it (8 decimals; exact below 9e7 BTC). */
export function btcToSat(btc: number): number {
  return Math.round(btc * 1e8);
}

function writeHash(buf: Buffer, off: number, hex: string): void {
  const b = hexToBytes(hex, "hash");
  if (b.length !== 32) throw new ValidationError("malformed bitcoin data: hash is not 32 bytes");
  b.reverse().copy(buf, off);
}

/** The 80-byte serialized header rebuilt from a verbose block's fields. */
export function headerBytes(
  v: Pick<VerboseBlock, "version" | "previousblockhash" | "merkleroot" | "time" | "bits" | "nonce">,
): Buffer {
  const h = Buffer.alloc(80);
  h.writeInt32LE(v.version, 0);
  if (v.previousblockhash) writeHash(h, 4, v.previousblockhash);
  writeHash(h, 36, v.merkleroot);
  h.writeUInt32LE(v.time, 68);
  h.writeUInt32LE(Number.parseInt(v.bits, 16), 72);
  h.writeUInt32LE(v.nonce, 76);
  return h;
}

/**
 * Converts a verbose block (verbosity 2 or 3) into a ParsedBlock by parsing every transaction's
 * raw hex, checking the rebuilt header hashes to `hash`. At verbosity 3, the inputs' prevouts
 * are returned by outpoint key, their addresses derived from the script like any output.
 */
export function fromVerboseBlock(
  v: VerboseBlock,
  net: BitcoinNetwork,
): { block: ParsedBlock; prevouts: Map<string, Prevout> } {
  if (!v || typeof v.hash !== "string" || !Array.isArray(v.tx)) {
    throw new ValidationError("malformed bitcoin data: verbose block lacks hash or tx");
  }
  const hb = headerBytes(v);
  const hash = Buffer.from(sha256d(hb)).reverse().toString("hex");
  if (hash !== v.hash) {
    throw new ValidationError("block header fields do not hash to the block hash", {
      context: { hash: v.hash },
    });
  }
  const header: BlockHeader = {
    hash,
    version: v.version,
    prevHash: v.previousblockhash ?? "0".repeat(64),
    merkleRoot: v.merkleroot,
    time: v.time,
    bits: Number.parseInt(v.bits, 16),
    nonce: v.nonce,
  };
  const prevouts = new Map<string, Prevout>();
  let size = 80;
  const txs: ParsedTx[] = v.tx.map((t) => {
    if (typeof t.hex !== "string")
      throw new ValidationError("malformed bitcoin data: verbose tx lacks hex");
    const tx = parseTransaction(hexToBytes(t.hex, "transaction hex"));
    size += tx.size;
    if (tx.txid !== t.txid) {
      throw new ValidationError("transaction hex does not hash to its txid", {
        context: { txid: t.txid },
      });
    }
    if (!tx.coinbase) {
      for (let i = 0; i < t.vin.length; i++) {
        const p = t.vin[i]?.prevout;
        const inp = tx.inputs[i];
        if (!p || !inp) continue;
        const script = hexToBytes(p.scriptPubKey.hex, "prevout script");
        const d = deriveOutput(script, 0, script.length, net);
        prevouts.set(outpointKey(inp.prevTxid, inp.prevVout), {
          value: btcToSat(p.value),
          type: d.type,
          addresses: d.addresses,
        });
      }
    }
    return tx;
  });
  return { block: { header, txs, size }, prevouts };
}
