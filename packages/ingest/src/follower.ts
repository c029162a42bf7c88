import { BaseError, errorMessage, isRetryable } from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { type IngestMetrics, ingestMetrics } from "./metrics.js";
import type {
  BlockRecord,
  BlockRef,
  BlockSource,
  ChainBlock,
  Commit,
  IngestStore,
} from "./types.js";

/** Options of {@link ChainFollower}. */
export interface FollowerOptions {
  source: BlockSource;
  store: IngestStore;
  log: Logger;
  /** Blocks below the head a block must have before it is emitted as confirmed (0 = at head). */
  confirmations: number;
  /** Use `source.safeHead()` (e.g. EVM `finalized`) instead of head − confirmations. */
  useSafeHead?: boolean;
  /** Emit blocks above the safe head early with status pending (later confirmed or retracted). */
  emitPending?: boolean;
  /** First block to ingest when nothing was checkpointed yet. */
  startBlock: number;
  /** Confirmed blocks remembered for reorg detection and retraction (default 128). */
  window?: number;
  /** Blocks fetched and committed together while catching up (default 20). */
  batchSize?: number;
  /** Wait between polls when at the head (default 1,000 ms). */
  pollIntervalMs?: number;
  /** Maximum back-off after repeated failures (default 30,000 ms). */
  maxBackoffMs?: number;
  /**
   * Append `@<block hash prefix>` to every transfer id (default true). A transaction re-mined in a
   * different block after a reorg may carry different content (another log index, a failure), so
   * ids scoped to the block guarantee that one id never carries two contents: the old one is
   * retracted, the new one is a new id.
   */
  blockScopedIds?: boolean;
  now?: () => number;
  metrics?: IngestMetrics;
}

/** The chain reorganised deeper than the remembered window: retractions would be incomplete. */
export class ReorgTooDeepError extends BaseError {}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/** Block-scoped transfer id (see {@link FollowerOptions.blockScopedIds}). */
export function blockScopedId(id: string, blockHash: string): string {
  const h = blockHash.startsWith("0x") ? blockHash.slice(2) : blockHash;
  return `${id}@${h.slice(0, 16)}`;
}

/** Result of one {@link ChainFollower.tick}. */
export interface TickResult {
  /** Blocks newly emitted (pending or confirmed). */
  ingested: number;
  /** Pending blocks promoted to confirmed. */
  promoted: number;
  /** Blocks retracted by a reorg. */
  retracted: number;
  head: number;
  safe: number;
}

/**
 * Follows one chain: emits each block's transfers once it has enough confirmations (optionally
 * earlier as pending), remembers a window of recent blocks, and on a parent-hash mismatch walks
 * back to the fork point, retracts every transfer of the orphaned blocks and ingests the new
 * branch. Every step is one atomic {@link IngestStore.commit}, so after a crash the restored
 * window is exactly what was emitted.
 */
export class ChainFollower {
  private blocks: BlockRecord[] = [];
  private restored = false;
  private readonly window: number;
  private readonly batchSize: number;
  private readonly now: () => number;
  private readonly metrics: IngestMetrics;
  private readonly log: Logger;

  constructor(private readonly opts: FollowerOptions) {
    this.window = Math.max(1, opts.window ?? 128);
    this.batchSize = Math.max(1, opts.batchSize ?? 20);
    this.now = opts.now ?? Date.now;
    this.metrics = opts.metrics ?? ingestMetrics();
    this.log = opts.log.child({ chain: opts.source.chain, source: opts.source.name });
  }

  /** The remembered blocks (oldest first). */
  get remembered(): readonly BlockRecord[] {
    return this.blocks;
  }

  /** Last emitted block, or null before the first. */
  get tip(): BlockRef | null {
    return this.blocks.at(-1)?.ref ?? null;
  }

  /** Loads the checkpointed window (called by tick() on first use). */
  async restore(): Promise<void> {
    const recs = await this.opts.store.restore(this.opts.source.chain);
    this.blocks = contiguousSuffix(recs);
    this.restored = true;
    const tip = this.tip;
    this.log.info(
      { tip: tip?.number ?? null, remembered: this.blocks.length },
      tip ? "checkpoint restored" : "no checkpoint, starting at start block",
    );
    if (tip) this.metrics.height.set({ chain: this.opts.source.chain }, tip.number);
  }

  private async safeHead(head: number): Promise<number> {
    const { source } = this.opts;
    if (this.opts.useSafeHead && source.safeHead) return Math.min(head, await source.safeHead());
    return head - this.opts.confirmations;
  }

  /** One step: promote, detect reorgs, ingest up to one batch. */
  async tick(): Promise<TickResult> {
    if (!this.restored) await this.restore();
    const { source } = this.opts;
    const chain = source.chain;
    const head = await source.head();
    const safe = await this.safeHead(head);
    this.metrics.head.set({ chain }, head);
    const res: TickResult = { ingested: 0, promoted: 0, retracted: 0, head, safe };

    // 1. A tip that is no longer canonical means a reorg at or below it.
    const tip = this.tip;
    if (tip) {
      // The node may briefly report a lower head than our tip (shorter branch): check what it has.
      const probe = this.blocks.find((b) => b.ref.number === Math.min(tip.number, head));
      const canon = probe ? await source.header(probe.ref.number) : null;
      if (probe && canon && canon.hash !== probe.ref.hash) {
        res.retracted = await this.handleReorg(head);
        return res;
      }
    }

    // 2. Promote pending blocks that now have enough confirmations (their chain was verified above).
    const promotable = this.blocks.filter((b) => b.status === "pending" && b.ref.number <= safe);
    if (promotable.length > 0) {
      const put: BlockRecord[] = promotable.map((b) => ({
        ref: b.ref,
        status: "confirmed",
        transfers: b.transfers.map((t) => ({ ...t, status: "confirmed", observedAt: this.now() })),
      }));
      await this.commit({ events: put.flatMap((b) => b.transfers), put, remove: [] });
      res.promoted = put.length;
    }

    // 3. Fetch and emit the next batch.
    const next = this.tip ? this.tip.number + 1 : this.opts.startBlock;
    const limit = this.opts.emitPending ? head : safe;
    if (next > limit) return res;
    const to = Math.min(limit, next + this.batchSize - 1);
    const fetched = await this.fetch(next, to);
    const accepted: ChainBlock[] = [];
    let parent = this.tip?.hash ?? null;
    for (const b of fetched) {
      if (parent !== null && b.ref.parentHash !== parent) {
        if (accepted.length === 0) {
          // The block after our tip does not build on it: the tip was orphaned meanwhile.
          res.retracted = await this.handleReorg(head);
          return res;
        }
        // The chain moved while the batch was being fetched; keep the consistent prefix.
        break;
      }
      accepted.push(b);
      parent = b.ref.hash;
    }
    const put: BlockRecord[] = accepted.map((b) => {
      const status = b.ref.number <= safe ? "confirmed" : "pending";
      return { ref: b.ref, status, transfers: this.prepare(b, status) };
    });
    await this.commit({ events: put.flatMap((b) => b.transfers), put, remove: [] });
    res.ingested = put.length;
    return res;
  }

  private prepare(b: ChainBlock, status: "pending" | "confirmed"): TransferV1[] {
    const scoped = this.opts.blockScopedIds ?? true;
    const observedAt = this.now();
    return b.transfers.map((t) => ({
      ...t,
      id: scoped ? blockScopedId(t.id, b.ref.hash) : t.id,
      blockNumber: b.ref.number,
      blockHash: b.ref.hash,
      status,
      observedAt,
    }));
  }

  private async fetch(from: number, to: number): Promise<ChainBlock[]> {
    const { source } = this.opts;
    const t0 = performance.now();
    const out = source.blocks
      ? await source.blocks(from, to)
      : await Promise.all(Array.from({ length: to - from + 1 }, (_, i) => source.block(from + i)));
    out.forEach((b, i) => {
      if (b.ref.number !== from + i) {
        throw new BaseError("block source returned blocks out of order", {
          retryable: true,
          context: { expected: from + i, got: b.ref.number },
        });
      }
    });
    this.metrics.fetchSeconds.observe({ chain: source.chain }, (performance.now() - t0) / 1000);
    return out;
  }

  /** Walks back to the fork point and retracts every transfer above it in one commit. */
  private async handleReorg(head: number): Promise<number> {
    const { source } = this.opts;
    let fork = -1;
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const rec = this.blocks[i] as BlockRecord;
      // Above the node's head nothing is canonical (the new branch is shorter so far).
      if (rec.ref.number > head) continue;
      const canon = await source.header(rec.ref.number);
      if (canon.hash === rec.ref.hash) {
        fork = i;
        break;
      }
    }
    if (fork < 0) {
      throw new ReorgTooDeepError("reorg deeper than the remembered window", {
        retryable: false,
        context: {
          chain: source.chain,
          oldest: this.blocks[0]?.ref.number,
          tip: this.tip?.number,
          head,
          window: this.window,
        },
      });
    }
    const orphaned = this.blocks.slice(fork + 1);
    const observedAt = this.now();
    const events = orphaned.flatMap((b) =>
      b.transfers.map((t): TransferV1 => ({ ...t, status: "retracted", observedAt })),
    );
    this.log.warn(
      {
        forkPoint: this.blocks[fork]?.ref.number,
        orphaned: orphaned.length,
        retractedTransfers: events.length,
        oldTip: this.tip?.number,
      },
      "reorg detected, retracting orphaned blocks",
    );
    await this.commit({ events, put: [], remove: orphaned.map((b) => b.ref.number) });
    this.metrics.reorgs.inc({ chain: source.chain });
    this.metrics.reorgDepth.observe({ chain: source.chain }, orphaned.length);
    return orphaned.length;
  }

  /** Applies a commit to the store, then to memory; prunes confirmed blocks beyond the window. */
  private async commit(c: Commit): Promise<void> {
    const chain = this.opts.source.chain;
    const byNumber = new Map(this.blocks.map((b) => [b.ref.number, b]));
    for (const n of c.remove) byNumber.delete(n);
    for (const b of c.put) byNumber.set(b.ref.number, b);
    const all = [...byNumber.values()].sort((a, b) => a.ref.number - b.ref.number);
    const tipN = all.at(-1)?.ref.number ?? 0;
    const prune = all.filter((b) => b.status === "confirmed" && b.ref.number <= tipN - this.window);
    const pruned = new Set(prune.map((b) => b.ref.number));
    const remove = [...c.remove, ...prune.map((b) => b.ref.number)];
    // Records put and pruned in the same commit need no put at all.
    const put = c.put.filter((b) => !pruned.has(b.ref.number));
    const t0 = performance.now();
    try {
      await this.opts.store.commit(chain, { events: c.events, put, remove });
    } catch (err) {
      // The outcome is unknown (a commit may succeed while its answer is lost): re-read the
      // durable state before the next step instead of trusting memory.
      this.restored = false;
      throw err;
    }
    this.metrics.commitSeconds.observe({ chain }, (performance.now() - t0) / 1000);
    this.blocks = all.filter((b) => !pruned.has(b.ref.number));
    for (const e of c.events) this.metrics.transfers.inc({ chain, kind: e.kind, status: e.status });
    const confirmedBlocks = c.put.filter((b) => b.status === "confirmed").length;
    if (confirmedBlocks) this.metrics.blocks.inc({ chain, status: "confirmed" }, confirmedBlocks);
    const pendingBlocks = c.put.length - confirmedBlocks;
    if (pendingBlocks) this.metrics.blocks.inc({ chain, status: "pending" }, pendingBlocks);
    const tip = this.tip;
    if (tip) {
      this.metrics.height.set({ chain }, tip.number);
      this.metrics.lagSeconds.set({ chain }, Math.max(0, (this.now() - tip.timestamp) / 1000));
    }
  }

  /**
   * Follows the chain until `signal` aborts: ticks back to back while behind, polls when at the
   * head, backs off exponentially on failures. A non-retryable error (reorg deeper than the
   * window) is thrown to the caller, which should stop the process loudly.
   */
  async run(signal: AbortSignal): Promise<void> {
    const pollMs = this.opts.pollIntervalMs ?? 1_000;
    const maxBackoff = this.opts.maxBackoffMs ?? 30_000;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const r = await this.tick();
        failures = 0;
        if (r.ingested === 0 && r.retracted === 0 && r.promoted === 0) await sleep(pollMs, signal);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        failures++;
        this.metrics.errors.inc({ chain: this.opts.source.chain });
        const delay = Math.min(maxBackoff, 200 * 2 ** Math.min(failures, 10));
        this.log.warn(
          { err: errorMessage(err), failures, retryInMs: delay },
          "ingest step failed, retrying",
        );
        await sleep(delay * (0.75 + Math.random() * 0.5), signal);
      }
    }
  }
}

/** The longest run of records ending at the highest number in which each builds on the previous. */
export function contiguousSuffix(recs: BlockRecord[]): BlockRecord[] {
  const sorted = [...recs].sort((a, b) => a.ref.number - b.ref.number);
  let start = sorted.length - 1;
  while (start > 0) {
    const prev = sorted[start - 1] as BlockRecord;
    const cur = sorted[start] as BlockRecord;
    if (prev.ref.number !== cur.ref.number - 1 || prev.ref.hash !== cur.ref.parentHash) break;
    start--;
  }
  return start < 0 ? [] : sorted.slice(start);
}
