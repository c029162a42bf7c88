import type { BlockRef, BlockSource, ChainBlock } from "@chainscreen/ingest";
import type { Logger } from "@chainscreen/logger";
import { extractBlock, isTransferLog } from "./extract.js";
import { type RpcClient, RpcUnsupportedError } from "./rpc.js";
import { TokenMetadataCache } from "./tokens.js";
import {
  type CallFrame,
  checkBlock,
  checkBlockReceipts,
  checkCallTraces,
  checkParityTraces,
  checkReceipt,
  type ParityTrace,
  qty,
  type RpcBlock,
  type RpcReceipt,
} from "./types.js";

/** How internal transfers are obtained. */
export type TraceMode = "off" | "callTracer" | "parity";

/** Options of {@link EvmBlockSource}. */
export interface EvmSourceOptions {
  chain: string;
  rpc: RpcClient;
  log: Logger;
  /** Native coin of the chain (ETH, BNB, POL, …); 18 decimals unless told. */
  nativeSymbol?: string;
  nativeDecimals?: number;
  traces?: TraceMode;
  /** Blocks fetched per JSON-RPC batch group (default 10). */
  rpcBlocksPerBatch?: number;
  /** Batch groups in flight at once (default 4). */
  concurrency?: number;
  /** Fetch token symbol/decimals (default true). */
  tokenMetadata?: boolean;
}

const hex = (n: number) => `0x${n.toString(16)}`;

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * BlockSource over EVM JSON-RPC using block-level calls: eth_getBlockByNumber (full txs) and
 * eth_getBlockReceipts for a group of blocks in one JSON-RPC batch (falling back to batched
 * eth_getTransactionReceipt where eth_getBlockReceipts is missing), plus debug_traceBlockByNumber
 * (callTracer) or trace_block when traces are on. Every answer is validated against the block it
 * belongs to.
 */
export class EvmBlockSource implements BlockSource {
  readonly chain: string;
  readonly name: string;
  readonly tokens: TokenMetadataCache;
  private blockReceipts: boolean | null = null;

  constructor(private readonly opts: EvmSourceOptions) {
    this.chain = opts.chain;
    this.name = `evm-rpc:${opts.rpc.endpoints.join(",")}`;
    this.tokens = new TokenMetadataCache(opts.rpc, opts.log);
  }

  async head(): Promise<number> {
    return this.opts.rpc.call("eth_blockNumber", [], (r) => qty(r, "blockNumber"));
  }

  /** Number of the `finalized` block (post-merge chains, anvil); safe head for the follower. */
  async safeHead(): Promise<number> {
    return this.opts.rpc.call("eth_getBlockByNumber", ["finalized", false], (r) => {
      const b = r as { number?: unknown } | null;
      return qty(b?.number, "finalized.number");
    });
  }

  async header(n: number): Promise<BlockRef> {
    const b = await this.opts.rpc.call(
      "eth_getBlockByNumber",
      [hex(n), false],
      checkBlock(n, false),
    );
    return toRef(b);
  }

  async block(n: number): Promise<ChainBlock> {
    const [b] = await this.blocks(n, n);
    return b as ChainBlock;
  }

  async blocks(from: number, to: number): Promise<ChainBlock[]> {
    const per = Math.max(1, this.opts.rpcBlocksPerBatch ?? 10);
    const groups: number[][] = [];
    for (let s = from; s <= to; s += per) {
      groups.push(Array.from({ length: Math.min(per, to - s + 1) }, (_, i) => s + i));
    }
    const raw = (
      await mapLimit(groups, this.opts.concurrency ?? 4, (g) => this.fetchGroup(g))
    ).flat();
    const contracts = new Set<string>();
    if (this.opts.tokenMetadata ?? true) {
      for (const r of raw)
        for (const rc of r.receipts)
          for (const l of rc.logs) if (isTransferLog(l)) contracts.add(l.address.toLowerCase());
    }
    const tokens = contracts.size > 0 ? await this.tokens.resolve(contracts) : new Map();
    const now = Date.now();
    return raw.map((r) => ({
      ref: toRef(r.block),
      transfers: extractBlock({
        chain: this.chain,
        source: this.name,
        block: r.block,
        receipts: r.receipts,
        traces: r.traces,
        tokens,
        native: {
          symbol: this.opts.nativeSymbol ?? "ETH",
          decimals: this.opts.nativeDecimals ?? 18,
        },
        observedAt: now,
      }),
    }));
  }

  /** Raw block, receipts and traces of several blocks (exposed for parity tests and tools). */
  async fetchGroup(ns: number[]): Promise<
    {
      block: RpcBlock;
      receipts: RpcReceipt[];
      traces:
        | { kind: "callTracer"; frames: CallFrame[] }
        | { kind: "parity"; traces: ParityTrace[] }
        | null;
    }[]
  > {
    const { rpc } = this.opts;
    const blocks = (await rpc.batch(
      ns.map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), true] })),
      ns.map((n) => checkBlock(n, true)),
    )) as RpcBlock[];
    const withTxs = blocks.filter((b) => b.transactions.length > 0);
    const receipts = new Map<string, RpcReceipt[]>();
    if (withTxs.length > 0) {
      if (this.blockReceipts !== false) {
        try {
          const rs = (await rpc.batch(
            withTxs.map((b) => ({ method: "eth_getBlockReceipts", params: [b.number] })),
            withTxs.map((b) => checkBlockReceipts(b)),
          )) as RpcReceipt[][];
          withTxs.forEach((b, i) => {
            receipts.set(b.hash, rs[i] as RpcReceipt[]);
          });
          this.blockReceipts = true;
        } catch (err) {
          if (!(err instanceof RpcUnsupportedError)) throw err;
          this.opts.log.info(
            { chain: this.chain },
            "eth_getBlockReceipts unsupported, using batched eth_getTransactionReceipt",
          );
          this.blockReceipts = false;
        }
      }
      if (this.blockReceipts === false) {
        const reqs = withTxs.flatMap((b) => b.transactions.map((t) => ({ tx: t, block: b })));
        const rs = (await rpc.batch(
          reqs.map((r) => ({ method: "eth_getTransactionReceipt", params: [r.tx.hash] })),
          reqs.map((r) => (x: unknown) => checkReceipt(r.tx, r.block, x)),
        )) as RpcReceipt[];
        let k = 0;
        for (const b of withTxs) {
          receipts.set(b.hash, rs.slice(k, k + b.transactions.length));
          k += b.transactions.length;
        }
      }
    }
    const mode = this.opts.traces ?? "off";
    const traces = new Map<
      string,
      { kind: "callTracer"; frames: CallFrame[] } | { kind: "parity"; traces: ParityTrace[] }
    >();
    if (mode !== "off" && withTxs.length > 0) {
      if (mode === "callTracer") {
        const rs = (await rpc.batch(
          withTxs.map((b) => ({
            method: "debug_traceBlockByNumber",
            params: [b.number, { tracer: "callTracer" }],
          })),
          withTxs.map((b) => checkCallTraces(b)),
        )) as CallFrame[][];
        withTxs.forEach((b, i) => {
          traces.set(b.hash, { kind: "callTracer", frames: rs[i] as CallFrame[] });
        });
      } else {
        const rs = (await rpc.batch(
          withTxs.map((b) => ({ method: "trace_block", params: [b.number] })),
          withTxs.map((b) => checkParityTraces(b)),
        )) as ParityTrace[][];
        withTxs.forEach((b, i) => {
          traces.set(b.hash, { kind: "parity", traces: rs[i] as ParityTrace[] });
        });
      }
    }
    return blocks.map((b) => ({
      block: b,
      receipts: receipts.get(b.hash) ?? [],
      traces: traces.get(b.hash) ?? null,
    }));
  }
}

function toRef(b: RpcBlock): BlockRef {
  return {
    number: qty(b.number, "number"),
    hash: b.hash.toLowerCase(),
    parentHash: b.parentHash.toLowerCase(),
    timestamp: qty(b.timestamp, "timestamp") * 1000,
  };
}
