import { tronBase58ToHex } from "@chainscreen/addresses";
import { TransientError, ValidationError } from "@chainscreen/errors";
import type { BlockRef, BlockSource, ChainBlock } from "./block-source.js";
import { type TronHttpClient, TronResponseError } from "./client.js";
import { blockRefOf, extractBlock } from "./extract.js";
import { TokenRegistry } from "./tokens.js";
import type { TgBlock } from "./trongrid.js";

const TRC10_ID = /^\d{7}$/;

/** decimals() result: one ABI word holding a small integer, else null. */
export function abiSmallUint(hex: string | null): number | null {
  if (!hex || hex.length < 64) return null;
  const n = BigInt(`0x${hex.slice(0, 64)}`);
  return n <= 255n ? Number(n) : null;
}

/** symbol() result: an ABI `string`, or the `bytes32` some old tokens return; else null. */
export function abiString(hex: string | null): string | null {
  if (!hex || hex.length < 64) return null;
  let bytes: Buffer;
  if (hex.length === 64) {
    bytes = Buffer.from(hex, "hex");
    const end = bytes.indexOf(0);
    bytes = end >= 0 ? bytes.subarray(0, end) : bytes;
  } else {
    const off = Number(BigInt(`0x${hex.slice(0, 64)}`)) * 2;
    if (!Number.isSafeInteger(off) || off + 64 > hex.length) return null;
    const len = Number(BigInt(`0x${hex.slice(off, off + 64)}`)) * 2;
    if (!Number.isSafeInteger(len) || off + 64 + len > hex.length) return null;
    bytes = Buffer.from(hex.slice(off + 64, off + 64 + len), "hex");
  }
  const s = bytes
    .toString("utf8")
    .replace(/[^\x20-\x7e]/g, "")
    .trim();
  return s.length > 0 && s.length <= 64 ? s : null;
}

/**
 * Which blocks a {@link TronBlockSource} exposes.
 * - `solidified` (default): only blocks the network has solidified (irreversible, ~19 blocks / ~1 min
 *   behind the tip), read from `/walletsolidity/*`; no reorg can reach them.
 * - `head`: early events from the unsolidified tip via `/wallet/*`; blocks may be replaced, which the
 *   follower detects by parent hash and retracts.
 */
export type TronFinality = "solidified" | "head";

/** Options for {@link TronBlockSource}. */
export interface TronSourceOptions {
  client: TronHttpClient;
  finality?: TronFinality;
  /** Extra blocks to stay behind the chosen head (default 0). */
  lag?: number;
  /** Name for logs, metrics and the transfers' `source` field (default `tron-http`). */
  name?: string;
  tokens?: TokenRegistry;
  /** Recompute each txID from raw_data_hex (default true). */
  verifyTxIds?: boolean;
  /**
   * Look up unknown tokens once and cache them (default true): TRC-10 with getassetissuebyid,
   * TRC-20 with decimals()/symbol() through triggerconstantcontract.
   */
  resolveTokens?: boolean;
  /** Blocks fetched in parallel by `blocks(from, to)` (default 8). */
  concurrency?: number;
  now?: () => number;
}

/** BlockSource over the Tron full-node HTTP API: TRX, TRC-10, TRC-20 and internal transfers. */
export class TronBlockSource implements BlockSource {
  readonly chain = "tron";
  readonly name: string;
  readonly finality: TronFinality;
  private readonly client: TronHttpClient;
  private readonly lag: number;
  private readonly tokens: TokenRegistry;
  private readonly verifyTxIds: boolean;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly resolveTokens: boolean;
  private readonly lookups = new Map<string, Promise<void>>();
  // Solidified blocks never change, so a small cache lets header(n) followed by block(n) (what a
  // follower does) cost one getblockbynum. Tip blocks are not cached: they can be replaced.
  private readonly cache = new Map<number, TgBlock>();

  constructor(opts: TronSourceOptions) {
    this.client = opts.client;
    this.finality = opts.finality ?? "solidified";
    this.lag = opts.lag ?? 0;
    this.name = opts.name ?? "tron-http";
    this.tokens = opts.tokens ?? new TokenRegistry();
    this.verifyTxIds = opts.verifyTxIds ?? true;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.now = opts.now ?? Date.now;
    this.resolveTokens = opts.resolveTokens ?? true;
  }

  private get solidified(): boolean {
    return this.finality === "solidified";
  }

  /** Highest block number this source serves: the (solidified) head minus the configured lag. */
  async head(): Promise<number> {
    const b = await this.client.getNowBlock(this.solidified);
    return Math.max(0, blockRefOf(b).number - this.lag);
  }

  /**
   * Latest solidified (irreversible) block number, whatever the finality mode. With the follower's
   * `useSafeHead`, blocks up to here are emitted as confirmed and newer ones (head mode with
   * `emitPending`) as pending, later confirmed or retracted.
   */
  async safeHead(): Promise<number> {
    return blockRefOf(await this.client.getNowBlock(true)).number;
  }

  private async rawBlock(n: number): Promise<TgBlock> {
    const hit = this.cache.get(n);
    if (hit) return hit;
    const b = await this.client.getBlockByNum(n, this.solidified);
    if (!b) {
      throw new TransientError("Tron block not available yet", {
        context: { block: n, finality: this.finality },
      });
    }
    const got = blockRefOf(b).number;
    if (got !== n) {
      throw new TransientError("Tron API returned a different block", {
        context: { block: n, got },
      });
    }
    if (this.solidified) {
      if (this.cache.size >= 64) this.cache.delete(this.cache.keys().next().value as number);
      this.cache.set(n, b);
    }
    return b;
  }

  /** Number, hash, parent hash and time (ms) of block n. */
  async header(n: number): Promise<BlockRef> {
    return blockRefOf(await this.rawBlock(n));
  }

  /** Block n with its transfers. */
  async block(n: number): Promise<ChainBlock> {
    const [b, infos] = await Promise.all([
      this.rawBlock(n),
      this.client.getTransactionInfoByBlockNum(n, this.solidified),
    ]);
    this.cache.delete(n);
    let out: ChainBlock;
    try {
      out = extractBlock(b, infos, {
        tokens: this.tokens,
        source: `${this.name}:${this.solidified ? "solidified" : "head"}`,
        verifyTxIds: this.verifyTxIds,
        now: this.now,
      });
    } catch (err) {
      // Content that does not add up (txID ≠ sha256(raw_data), bad address or amount) is a bad
      // answer, not a bad chain: retryable, so the follower backs off and asks again instead of
      // stopping the service.
      if (!(err instanceof ValidationError)) throw err;
      throw new TronResponseError("malformed Tron block", {
        context: { block: n, issue: err.message, ...err.context },
        cause: err,
      });
    }
    if (this.resolveTokens) await this.fillTokens(out);
    return out;
  }

  // Token metadata for transfers the registry does not know: TRC-10 ids (numeric strings in
  // `asset.contract`) via getassetissuebyid, TRC-20 contracts (`T…`) via decimals()/symbol() constant
  // calls. Each is looked up once and cached, also when unknown; a failed lookup leaves
  // symbol/decimals null (amounts are exact in base units either way) and is retried next time.
  private async fillTokens(b: ChainBlock): Promise<void> {
    for (const t of b.transfers) {
      const id = t.asset.contract;
      if (id === null || t.asset.decimals !== null) continue;
      const trc10 = TRC10_ID.test(id);
      if (!trc10 && !id.startsWith("T")) continue;
      if (trc10 ? !this.tokens.hasTrc10(id) : !this.tokens.hasTrc20(id)) {
        let pending = this.lookups.get(id);
        if (!pending) {
          pending = (trc10 ? this.lookupTrc10(id) : this.lookupTrc20(id))
            .catch(() => {})
            .finally(() => this.lookups.delete(id));
          this.lookups.set(id, pending);
        }
        await pending;
      }
      const info = trc10 ? this.tokens.trc10Info(id) : this.tokens.trc20Info(id);
      t.asset = { ...t.asset, symbol: info.symbol, decimals: info.decimals };
    }
  }

  private async lookupTrc10(id: string): Promise<void> {
    const m = await this.client.getAssetIssueById(id);
    this.tokens.setTrc10(id, m ?? { symbol: null, decimals: null });
  }

  private async lookupTrc20(contract: string): Promise<void> {
    const hex = tronBase58ToHex(contract);
    const [dec, sym] = await Promise.all([
      this.client.callConstant(hex, "decimals()"),
      this.client.callConstant(hex, "symbol()"),
    ]);
    this.tokens.setTrc20(contract, { symbol: abiString(sym), decimals: abiSmallUint(dec) });
  }

  /** Blocks from..to inclusive, in order, fetched `concurrency` at a time. */
  async blocks(from: number, to: number): Promise<ChainBlock[]> {
    const out: ChainBlock[] = new Array(Math.max(0, to - from + 1));
    let next = from;
    const worker = async () => {
      while (next <= to) {
        const n = next++;
        out[n - from] = await this.block(n);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, out.length) }, worker));
    return out;
  }
}
