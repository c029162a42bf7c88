import { type TransferV1, transferId } from "@chainscreen/schema";
import type { BlockRef, BlockSource, ChainBlock } from "./types.js";

/** A deterministic simulated chain whose last blocks can be replaced (a reorg). */
export class SimChain implements BlockSource {
  readonly chain = "simchain";
  readonly name = "sim";
  list: ChainBlock[] = [];
  private fork = 0;
  constructor(n: number, perBlock = 2) {
    for (let i = 0; i < n; i++) this.mine(perBlock);
  }
  mine(perBlock = 2) {
    const number = this.list.length;
    const parent = this.list.at(-1)?.ref.hash ?? "0x00";
    const hash = `0x${number.toString(16).padStart(8, "0")}f${this.fork.toString(16).padStart(7, "0")}`;
    const transfers: TransferV1[] = [];
    for (let j = 0; j < perBlock; j++) {
      // The same tx hash appears on every branch (re-mined), with branch-dependent content.
      const txHash = `0xtx${number}-${j}`;
      transfers.push({
        type: "transfer.v1",
        id: transferId(this.chain, txHash, "native", 0),
        chain: this.chain,
        kind: "native",
        txHash,
        index: "0",
        blockNumber: number,
        blockHash: hash,
        timestamp: number * 1000,
        from: "0xaa",
        to: "0xbb",
        asset: { symbol: "SIM", contract: null, decimals: 18 },
        amount: String(1000 + this.fork),
        status: "confirmed",
        source: "sim",
        observedAt: 0,
      });
    }
    this.list.push({
      ref: { number, hash, parentHash: parent, timestamp: number * 1000 },
      transfers,
    });
  }
  reorg(k: number, newLen = k) {
    this.fork++;
    this.list.splice(this.list.length - k, k);
    for (let i = 0; i < newLen; i++) this.mine();
  }
  async head() {
    return this.list.length - 1;
  }
  private get(n: number): ChainBlock {
    const b = this.list[n];
    if (!b) throw new Error(`no block ${n}`);
    return b;
  }
  async header(n: number): Promise<BlockRef> {
    return this.get(n).ref;
  }
  async block(n: number) {
    return this.get(n);
  }
}
