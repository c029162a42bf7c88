import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  headerBytes,
  hexToBytes,
  merkleRoot,
  parseBlock,
  parseHeader,
  parseTransaction,
  type VerboseBlock,
} from "@chainscreen/bitcoin";
import { fixturesDir } from "@chainscreen/testing";

// A Bitcoin chain for the test node, built from real recorded data in ../shared/fixtures/bitcoin:
// bitcoin-etl's getblock (verbosity 2) answers are reassembled into raw blocks (header fields +
// each transaction's recorded hex; the rebuilt header must hash to the recorded block hash), the
// recorded getrawtransaction answers give the spent outputs, and block 413567 is served raw.
// A reorg replaces blocks from a height with a fork built from the same recorded transactions.

const btc = join(fixturesDir, "bitcoin");

/** One block as the test node stores it. */
export interface TestBlock {
  height: number;
  hash: string;
  raw: Buffer;
}

function varint(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  const b = Buffer.alloc(3);
  b[0] = 0xfd;
  b.writeUInt16LE(n, 1);
  return b;
}

function assemble(header: Buffer, txs: Buffer[]): Buffer {
  return Buffer.concat([header, varint(txs.length), ...txs]);
}

/** A contiguous chain segment [start, start + blocks.length) plus a transaction index. */
export class BitcoinTestChain {
  readonly blocks: TestBlock[] = [];
  /** Every transaction the node knows (all branches and recorded getrawtransaction answers). */
  readonly txs = new Map<string, Buffer>();
  /** Visible tip height; blocks above it exist but are not yet announced. */
  tip = -1;
  /** Orphaned blocks stay reachable by hash, as on a real node. */
  readonly byHash = new Map<string, TestBlock>();

  get start(): number {
    return this.blocks[0]?.height ?? 0;
  }

  add(height: number, raw: Buffer): TestBlock {
    const b = parseBlock(raw);
    const last = this.blocks.at(-1);
    if (last && (height !== last.height + 1 || b.header.prevHash !== last.hash)) {
      throw new Error(`block ${height} does not extend the test chain`);
    }
    const tb = { height, hash: b.header.hash, raw };
    this.blocks.push(tb);
    this.byHash.set(tb.hash, tb);
    for (const [i, tx] of b.txs.entries()) this.txs.set(tx.txid, txBytes(raw, b, i));
    this.tip = height;
    return tb;
  }

  at(height: number): TestBlock | undefined {
    if (height > this.tip) return undefined;
    return this.blocks[height - this.start];
  }

  /**
   * Replaces every block from `height` to the end with a fork: each fork block keeps its
   * original coinbase, the non-coinbase transactions of the replaced blocks move to the last
   * fork block (as if re-mined later), the nonce differs and headers link to the new parents.
   * Proof of work is not redone: ingestion checks hashes and linkage, not difficulty.
   */
  reorg(height: number): { orphaned: string[]; fork: string[] } {
    const i0 = height - this.start;
    const replaced = this.blocks.slice(i0);
    if (replaced.length === 0) throw new Error("nothing to reorg");
    const parsed = replaced.map((b) => parseBlock(b.raw));
    const moved: Buffer[] = parsed.flatMap((p, k) =>
      p.txs.slice(1).map((_, j) => txBytes((replaced[k] as TestBlock).raw, p, j + 1)),
    );
    this.blocks.length = i0;
    const orphaned = replaced.map((b) => b.hash);
    const fork: string[] = [];
    let prev = this.blocks.at(-1)?.hash ?? parsed[0]?.header.prevHash ?? "";
    parsed.forEach((p, k) => {
      const orig = replaced[k] as TestBlock;
      const txs = [txBytes(orig.raw, p, 0), ...(k === parsed.length - 1 ? moved : [])];
      const ids = txs.map((t) => parseTransaction(t).txidRaw);
      const header = headerBytes({
        version: p.header.version,
        previousblockhash: prev,
        merkleroot: merkleRoot(ids),
        time: p.header.time + 1,
        bits: p.header.bits.toString(16),
        nonce: (p.header.nonce ^ 0x5eed) >>> 0,
      });
      const raw = assemble(header, txs);
      const tb = { height: orig.height, hash: parseHeader(header).hash, raw };
      this.blocks.push(tb);
      this.byHash.set(tb.hash, tb);
      fork.push(tb.hash);
      prev = tb.hash;
    });
    return { orphaned, fork };
  }
}

/** Serialized bytes of transaction `i` of a parsed block (cut from the raw block). */
function txBytes(raw: Buffer, p: ReturnType<typeof parseBlock>, i: number): Buffer {
  // Transactions are contiguous after the header and count: sum the sizes before i.
  let off = 80 + varint(p.txs.length).length;
  for (let k = 0; k < i; k++) off += (p.txs[k] as { size: number }).size;
  return raw.subarray(off, off + (p.txs[i] as { size: number }).size);
}

/** Raw block rebuilt from a recorded verbosity-2 getblock answer. */
export function rawFromVerbose(v: VerboseBlock): Buffer {
  const header = headerBytes(v);
  const raw = assemble(
    header,
    v.tx.map((t) => hexToBytes(t.hex)),
  );
  if (parseHeader(header).hash !== v.hash)
    throw new Error(`recorded block ${v.height} does not rebuild`);
  return raw;
}

function etlDir(dir: string): { blocks: VerboseBlock[]; rawTxs: Buffer[] } {
  const d = join(btc, "bitcoin-etl", dir);
  const files = readdirSync(d);
  const read = <T>(f: string) => JSON.parse(readFileSync(join(d, f), "utf8")) as T;
  return {
    blocks: files
      .filter((f) => /^rpc_response_getblock_[0-9a-f]{64}_2\.json$/.test(f))
      .map((f) => read<VerboseBlock>(f))
      .sort((a, b) => a.height - b.height),
    rawTxs: files
      .filter((f) => f.startsWith("rpc_response_getrawtransaction_"))
      .map((f) => hexToBytes(read<{ hex: string }>(f).hex)),
  };
}

/**
 * Mainnet blocks 50000–50002 (bitcoin-etl recordings) with the three transactions their inputs
 * spend (recorded getrawtransaction answers).
 */
export function chain50000(): BitcoinTestChain {
  const chain = new BitcoinTestChain();
  const a = etlDir("block_without_transactions");
  const b = etlDir("stream_50001_50002");
  for (const v of [...a.blocks, ...b.blocks]) chain.add(v.height, rawFromVerbose(v));
  for (const t of b.rawTxs) chain.txs.set(parseTransaction(t).txid, t);
  return chain;
}

/** Mainnet blocks 0–1 (bitcoin-etl recordings). */
export function chainGenesis(): BitcoinTestChain {
  const chain = new BitcoinTestChain();
  for (const dir of ["block_0", "block_1"])
    for (const v of etlDir(dir).blocks) chain.add(v.height, rawFromVerbose(v));
  return chain;
}

/** Block 413567 alone (raw file); its inputs' prevouts are not recorded. */
export function chain413567(): BitcoinTestChain {
  const chain = new BitcoinTestChain();
  chain.add(413567, readFileSync(join(btc, "block413567", "block413567.raw")));
  return chain;
}
