import { BaseError, errorMessage, TransientError, ValidationError } from "@chainscreen/errors";
import type { BlockRef, BlockSource, ChainBlock } from "@chainscreen/ingest";
import type { Logger } from "@chainscreen/logger";
import {
  computeMerkleRoot,
  type ParsedBlock,
  type ParsedTx,
  parseBlock,
  parseHeader,
  parseTransaction,
} from "./block.js";
import { type BitcoinBackend, isNotFound } from "./clients.js";
import { LruCache, type OutpointStore, type Prevout } from "./prevouts.js";
import { type BitcoinNetwork, Networks } from "./script.js";
import { type BlockStats, blockTransfers, deriveBlockOutputs, resolveInputs } from "./transfers.js";
import { fromVerboseBlock } from "./verbose.js";

/** Options of {@link BitcoinBlockSource}. */
export interface BitcoinSourceOptions {
  backend: BitcoinBackend;
  /** transfer.v1 chain name (default "bitcoin"). */
  chain?: string;
  network?: BitcoinNetwork;
  /**
   * Where input prevouts come from: "auto" (getblock verbosity 3 when the node supports it,
   * else the outpoint index + getrawtransaction), "node" (always verbosity 3), "index".
   */
  prevouts?: "auto" | "node" | "index";
  /** Outpoint index filled as blocks are processed (e.g. LmdbOutpointStore). */
  store?: OutpointStore;
  /** Transactions kept for getrawtransaction misses (default 10,000). */
  txCacheSize?: number;
  /** Fail a block whose inputs cannot all be resolved (default true); else fee null, inputs left out. */
  strictInputs?: boolean;
  /** Fetch+parse+verify attempts per block before giving up with a retryable error (default 3). */
  blockAttempts?: number;
  log?: Logger;
  /** Called once per block built (metrics, checks). */
  onBlock?: (
    height: number,
    stats: BlockStats,
    info: { prevouts: "node" | "index"; fetchedTxs: number },
  ) => void;
  now?: () => number;
}

/**
 * Bitcoin implementation of the ingest BlockSource: fetches blocks by height from Bitcoin Core
 * or Esplora, checks header hash and merkle root, derives output addresses, resolves inputs, and
 * returns one transfer.v1 per addressed output.
 */
export class BitcoinBlockSource implements BlockSource {
  readonly chain: string;
  readonly name: string;
  private readonly net: BitcoinNetwork;
  private readonly txCache: LruCache<string, ParsedTx>;

  constructor(private readonly opts: BitcoinSourceOptions) {
    this.chain = opts.chain ?? "bitcoin";
    this.name = opts.backend.label;
    this.net = opts.network ?? Networks.bitcoin;
    this.txCache = new LruCache(opts.txCacheSize ?? 10_000);
  }

  head(): Promise<number> {
    return this.opts.backend.tipHeight();
  }

  async header(n: number): Promise<BlockRef> {
    return this.withAttempts("header", n, async () => {
      const hash = await this.opts.backend.blockHash(n);
      const h = parseHeader(await this.opts.backend.header(hash));
      if (h.hash !== hash) {
        throw new ValidationError("block header does not hash to the requested hash", {
          context: { height: n, hash },
        });
      }
      return { number: n, hash, parentHash: h.prevHash, timestamp: h.time * 1000 };
    });
  }

  private async useNodePrevouts(): Promise<boolean> {
    const mode = this.opts.prevouts ?? "auto";
    if (mode === "index" || !this.opts.backend.verboseBlock) return false;
    if (mode === "node") return true;
    return (await this.opts.backend.supportsPrevouts?.()) ?? false;
  }

  /**
   * Retries fetch+parse+verify: a corrupt or truncated answer is fetched again (the endpoint
   * set fails over on transport errors). Errors that retrying cannot fix (height out of range)
   * are thrown at once; the rest end as a retryable TransientError naming the block.
   */
  private async withAttempts<T>(what: string, n: number, fn: () => Promise<T>): Promise<T> {
    const attempts = Math.max(1, this.opts.blockAttempts ?? 3);
    let last: unknown;
    for (let a = 0; a < attempts; a++) {
      try {
        return await fn();
      } catch (err) {
        last = err;
        const dataError = err instanceof ValidationError;
        if (err instanceof BaseError && !err.retryable && !dataError) throw err;
        this.opts.log?.warn(
          { height: n, what, attempt: a + 1, err: errorMessage(err) },
          "bitcoin block fetch failed",
        );
      }
    }
    throw new TransientError(
      `bitcoin ${what} ${n} failed after ${attempts} attempts: ${errorMessage(last)}`,
      {
        cause: last,
        context: { height: n, what },
      },
    );
  }

  async block(n: number): Promise<ChainBlock> {
    const nodePrevouts = await this.useNodePrevouts();
    const { block, given } = await this.withAttempts("block", n, async () => {
      const backend = this.opts.backend;
      const hash = await backend.blockHash(n);
      let block: ParsedBlock;
      let given: Map<string, Prevout> | undefined;
      if (nodePrevouts && backend.verboseBlock) {
        const v = fromVerboseBlock(await backend.verboseBlock(hash), this.net);
        block = v.block;
        given = v.prevouts;
      } else {
        block = parseBlock(await backend.rawBlock(hash));
      }
      if (block.header.hash !== hash) {
        throw new ValidationError("block does not hash to the requested hash", {
          context: { height: n, hash },
        });
      }
      const root = computeMerkleRoot(block);
      if (root !== block.header.merkleRoot) {
        throw new ValidationError("block merkle root mismatch", { context: { height: n, hash } });
      }
      return { block, given };
    });
    const derived = deriveBlockOutputs(block, this.net);
    const backend = this.opts.backend;
    const resolved = await resolveInputs(block, derived, {
      given,
      store: this.opts.store,
      fetchTx: async (txid) => {
        try {
          return parseTransaction(await backend.rawTransaction(txid));
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      txCache: this.txCache,
      net: this.net,
      strict: this.opts.strictInputs ?? true,
    });
    const { transfers, stats } = blockTransfers(block, derived, resolved.prevouts, {
      chain: this.chain,
      height: n,
      source: this.name,
      observedAt: (this.opts.now ?? Date.now)(),
    });
    // Record created outputs only after the block is fully built: a failed block leaves no trace.
    await this.opts.store?.apply(resolved.created, resolved.spent, n);
    this.opts.onBlock?.(n, stats, {
      prevouts: nodePrevouts ? "node" : "index",
      fetchedTxs: resolved.fetched,
    });
    return {
      ref: {
        number: n,
        hash: block.header.hash,
        parentHash: block.header.prevHash,
        timestamp: block.header.time * 1000,
      },
      transfers,
    };
  }

  /** Blocks in ascending order, one after another so the outpoint index sees earlier blocks first. */
  async blocks(from: number, to: number): Promise<ChainBlock[]> {
    const out: ChainBlock[] = [];
    for (let n = from; n <= to; n++) out.push(await this.block(n));
    return out;
  }
}
