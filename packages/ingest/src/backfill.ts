import { BaseError } from "@chainscreen/errors";
import type { KafkaBus, Producer } from "@chainscreen/kafka";
import type { Logger } from "@chainscreen/logger";
import { BackfillProgressV1, Topics, type TransferV1 } from "@chainscreen/schema";
import { blockScopedId } from "./follower.js";
import { readTail } from "./kafka-store.js";
import { type IngestMetrics, ingestMetrics } from "./metrics.js";
import type { BlockSource, ChainBlock } from "./types.js";

/** Progress report of a backfill. */
export interface BackfillProgress {
  from: number;
  to: number;
  /** Blocks done (including those done before a resume). */
  done: number;
  total: number;
  transfers: number;
  blocksPerSecond: number;
  /** Estimated seconds left at the current rate; null before the first batch. */
  etaSeconds: number | null;
}

/** Options of {@link Backfill}. */
export interface BackfillOptions {
  source: BlockSource;
  bus: KafkaBus;
  log: Logger;
  from: number;
  to: number;
  /** Blocks per fetch and per Kafka transaction (default 50; the first ones smaller, see {@link batchPlan}). */
  batchSize?: number;
  /** Batches fetched in parallel (default 4); commits stay in block order. */
  concurrency?: number;
  topics?: { transfers?: string; progress?: string };
  /** Stable per job so a restarted job fences the old one (default `backfill-<chain>-<from>-<to>`). */
  transactionalId?: string;
  /** Same as the live follower's option: ids must match between backfill and follower. */
  blockScopedIds?: boolean;
  /** Refuse blocks above the source's safe head (default true): backfill does not handle reorgs. */
  requireFinal?: boolean;
  /** Confirmations used for that check (default 0). */
  confirmations?: number;
  /** Use the source's safe head (e.g. EVM `finalized`) for that check instead of confirmations. */
  useSafeHead?: boolean;
  onProgress?: (p: BackfillProgress) => void;
  signal?: AbortSignal;
  metrics?: IngestMetrics;
}

/** A batch of blocks: one fetch and one Kafka transaction. */
export interface BatchRange {
  start: number;
  end: number;
}

/**
 * The batches of `[from, to]`: the first ones small (an eighth of `batchSize`, doubling up to
 * it), so the first transaction is produced while later blocks are still being fetched instead
 * of after a whole batch; then `batchSize` blocks each.
 */
export function batchPlan(from: number, to: number, batchSize: number): BatchRange[] {
  const out: BatchRange[] = [];
  let size = Math.max(1, Math.ceil(batchSize / 8));
  for (let start = from; start <= to; start += size, size = Math.min(batchSize, size * 2))
    out.push({ start, end: Math.min(to, start + size - 1) });
  return out;
}

/** Default progress topic. */
export const backfillTopic = "ingest.backfill";

/**
 * Backfills a closed block range as confirmed transfer.v1 events next to the live follower.
 * Each batch is one Kafka transaction with its events and the job's progress record (compacted
 * topic, key `<chain>:<from>-<to>`), so a killed job resumes after the last committed batch with
 * no gap and no duplicate. Overlap with the live follower yields identical events (same ids and
 * content), which consumers de-duplicate by id.
 */
export class Backfill {
  private readonly progressTopic: string;
  private readonly transfersTopic: string;
  private readonly key: string;

  constructor(private readonly opts: BackfillOptions) {
    if (opts.to < opts.from)
      throw new BaseError("backfill range is empty", { context: { from: opts.from, to: opts.to } });
    this.progressTopic = opts.topics?.progress ?? backfillTopic;
    this.transfersTopic = opts.topics?.transfers ?? Topics.transfers;
    this.key = `${opts.source.chain}:${opts.from}-${opts.to}`;
  }

  /** Next block to do according to the committed progress (from when the job is new). */
  async resumePoint(): Promise<number> {
    return this.readResumePoint(await this.ensureTopics());
  }

  /** The resume point; no read when this process just created the progress topic. */
  private async readResumePoint(created: string[]): Promise<number> {
    if (created.includes(this.progressTopic)) return this.opts.from;
    const recs = await readTail(this.opts.bus, this.progressTopic, 100_000);
    let next = this.opts.from;
    for (const r of recs) {
      if (r.key !== this.key || r.value === null) continue;
      const p = BackfillProgressV1.safeParse(JSON.parse(r.value));
      if (p.success) next = p.data.next;
    }
    return next;
  }

  private ensureTopics(): Promise<string[]> {
    return this.opts.bus.ensureTopics([
      { topic: this.transfersTopic },
      { topic: this.progressTopic, partitions: 1, compacted: true },
    ]);
  }

  /** Refuses a range above the source's safe head unless the job allows it. */
  private async checkSafeHead(): Promise<void> {
    if (!(this.opts.requireFinal ?? true)) return;
    const { source } = this.opts;
    const safe =
      this.opts.useSafeHead && source.safeHead
        ? await source.safeHead()
        : (await source.head()) - (this.opts.confirmations ?? 0);
    if (this.opts.to > safe) {
      throw new BaseError(
        "backfill range goes above the safe head; let the live follower cover it",
        { context: { to: this.opts.to, safe } },
      );
    }
  }

  /** Runs (or resumes) the job; resolves with the final progress, or early when the signal aborts. */
  async run(): Promise<BackfillProgress> {
    const { source, log } = this.opts;
    const chain = source.chain;
    const metrics = this.opts.metrics ?? ingestMetrics();
    const batchSize = Math.max(1, this.opts.batchSize ?? 50);
    const concurrency = Math.max(1, this.opts.concurrency ?? 4);
    // A range above the safe head is refused before anything starts (one RPC call). Then the
    // start-up steps that do not depend on each other run at once: the transactional producer
    // (transaction coordinator, fencing), the topics followed by the resume point (checkpoint
    // read), and the first block fetches, which assume a new job (resume = from) and are dropped
    // when the checkpoint says otherwise. Nothing is produced before all of them succeeded.
    await this.checkSafeHead();
    const fetchBatch = ({ start, end }: BatchRange) => {
      const p = source.blocks
        ? source.blocks(start, end)
        : Promise.all(Array.from({ length: end - start + 1 }, (_, i) => source.block(start + i)));
      p.catch(() => {}); // handled when awaited in order
      return p;
    };
    // The plan of a new job, and its first batches prefetched (by first block).
    const newJobPlan = batchPlan(this.opts.from, this.opts.to, batchSize);
    const inflight = new Map<number, Promise<ChainBlock[]>>();
    for (const b of newJobPlan.slice(0, concurrency)) inflight.set(b.start, fetchBatch(b));
    const [producerR, resumeR] = await Promise.allSettled([
      this.opts.bus.producer({
        transactionalId:
          this.opts.transactionalId ?? `backfill-${chain}-${this.opts.from}-${this.opts.to}`,
      }),
      this.ensureTopics().then((created) => this.readResumePoint(created)),
    ]);
    const settleInflight = () => Promise.allSettled(inflight.values());
    if (producerR.status === "rejected") {
      await settleInflight();
      throw producerR.reason;
    }
    const producer: Producer = producerR.value;
    try {
      if (resumeR.status === "rejected") throw resumeR.reason;
      const resume = resumeR.value;
      const total = this.opts.to - this.opts.from + 1;
      const progress: BackfillProgress = {
        from: this.opts.from,
        to: this.opts.to,
        done: resume - this.opts.from,
        total,
        transfers: 0,
        blocksPerSecond: 0,
        etaSeconds: null,
      };
      log.info({ chain, from: this.opts.from, to: this.opts.to, resume }, "backfill starting");
      const t0 = performance.now();
      let doneThisRun = 0;
      // A sliding window of prefetched batches; commits happen strictly in block order. A
      // resumed job ramps up again from its resume point, so the early fetches (the new job's
      // first batches) are not batches of its plan and are dropped.
      const plan =
        resume === this.opts.from ? newJobPlan : batchPlan(resume, this.opts.to, batchSize);
      if (plan !== newJobPlan) inflight.clear();
      let nextToFetch = inflight.size;
      const fill = () => {
        while (inflight.size < concurrency && nextToFetch < plan.length) {
          const b = plan[nextToFetch++] as BatchRange;
          inflight.set(b.start, fetchBatch(b));
        }
      };
      for (const { start: s, end: e } of plan) {
        if (this.opts.signal?.aborted) break;
        fill();
        const blocks = await (inflight.get(s) as Promise<ChainBlock[]>);
        inflight.delete(s);
        if (blocks.length !== e - s + 1) {
          throw new BaseError("block source returned the wrong number of blocks", {
            retryable: true,
            context: { from: s, to: e, got: blocks.length },
          });
        }
        blocks.forEach((b, i) => {
          if (b.ref.number !== s + i) {
            throw new BaseError("block source returned blocks out of order", {
              retryable: true,
              context: { expected: s + i, got: b.ref.number },
            });
          }
        });
        const now = Date.now();
        const events: TransferV1[] = blocks.flatMap((b) =>
          b.transfers.map((t) => ({
            ...t,
            id: (this.opts.blockScopedIds ?? true) ? blockScopedId(t.id, b.ref.hash) : t.id,
            blockNumber: b.ref.number,
            blockHash: b.ref.hash,
            status: "confirmed" as const,
            observedAt: now,
          })),
        );
        const record: BackfillProgressV1 = {
          type: "ingest.backfill.v1",
          chain,
          from: this.opts.from,
          to: this.opts.to,
          next: e + 1,
          updatedAt: now,
        };
        // The events and the progress record in one go: the record rides along with the last
        // request of events instead of a round trip of its own.
        await producer.transaction((tx) =>
          tx.sendAll([
            {
              topic: this.transfersTopic,
              messages: events.map((ev) => ({ key: ev.id, value: ev })),
            },
            { topic: this.progressTopic, messages: [{ key: this.key, value: record }] },
          ]),
        );
        metrics.backfillNext.set({ chain }, e + 1);
        metrics.transfers.inc({ chain, kind: "backfill", status: "confirmed" }, events.length);
        metrics.blocks.inc({ chain, status: "backfill" }, blocks.length);
        doneThisRun += blocks.length;
        progress.done += blocks.length;
        progress.transfers += events.length;
        const secs = (performance.now() - t0) / 1000;
        progress.blocksPerSecond = secs > 0 ? doneThisRun / secs : 0;
        progress.etaSeconds =
          progress.blocksPerSecond > 0 ? (total - progress.done) / progress.blocksPerSecond : null;
        this.opts.onProgress?.({ ...progress });
      }
      await settleInflight();
      log.info(
        { chain, done: progress.done, total, transfers: progress.transfers },
        "backfill stopped",
      );
      return progress;
    } finally {
      await producer.disconnect().catch(() => {});
    }
  }
}
