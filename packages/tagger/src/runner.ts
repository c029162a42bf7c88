import { randomBytes } from "node:crypto";
import { TransientError } from "@chainscreen/errors";
import {
  type ConsumerHandle,
  consume,
  type KafkaBus,
  type OutMessage,
  type Producer,
  type TopicSpec,
} from "@chainscreen/kafka";
import type { Logger } from "@chainscreen/logger";
import { type FlagV1, Topics, TransferV1, WatchlistEntryV1 } from "@chainscreen/schema";
import { Cooldown } from "./cooldown.js";
import { activeAt, type ListEntry, type MutableEntryIndex } from "./entries.js";
import { ExposureEngine } from "./exposure.js";
import { ExposureRecordLite } from "./exposure-record.js";
import { MatcherEntryIndex } from "./matcher-index.js";
import { retroFlags, type TransferHistory } from "./retro.js";
import type { LoadedRules } from "./rules.js";
import { type RoutedRecord, screenTransfer } from "./screen.js";
import type { Suppressions } from "./suppressions.js";
import { applyWatchlistMessage, entryFromWatchlist } from "./watchlist.js";

/** Topic names the tagger reads and writes (prefixed by the caller when needed). */
export interface TaggerTopics {
  transfers: string;
  flags: string;
  watchlist: string;
  /** Internal, compacted, keyed per fact and partitioned by address (see exposure-record.ts). */
  exposure: string;
  deadLetter: string;
}

/** Counters the runner keeps (also exported as metrics by the service). */
export interface TaggerCounters {
  transfers: number;
  exposureRecords: number;
  flags: number;
  retroFlags: number;
  cooldownSuppressed: number;
  watchlistMessages: number;
  replayedRecords: number;
  /** Batches handled by the transfer and exposure stages (mean batch size = records / batches). */
  transferBatches: number;
  exposureBatches: number;
}

/** Options of {@link TaggerRunner}; main.ts fills them from the environment, tests directly. */
export interface TaggerRunnerOptions {
  bus: KafkaBus;
  log: Logger;
  topics: TaggerTopics;
  /** Consumer group of the transfer stage; `-exposure` and `-retro` groups derive from it. */
  groupId: string;
  /** Current rules (reloadable: called per batch). */
  rules: () => LoadedRules;
  suppressions: Suppressions;
  /** Stored transfer history for retro-screening; null disables it. */
  history: TransferHistory | null;
  /** Most retro flags per newly listed address. */
  retroLimit?: number;
  /** Watchlist index (default: the compact matcher of @chainscreen/watchlist). */
  index?: MutableEntryIndex;
  /** Stage toggles (all on by default; benchmarks switch some off). */
  stages?: { transfers?: boolean; exposure?: boolean; retro?: boolean };
  /** Clock (ms). */
  now?: () => number;
}

type Stage = "transfers" | "exposure" | "retro";

/** Per-partition replay state of the exposure stage. */
interface PartitionReplay {
  /** Records below this offset were processed before (their output was published): rebuild only. */
  replayUntil: bigint;
}

/**
 * The tagger over Kafka: four consumers in one process.
 *
 * 1. Watchlist follower — every instance reads all of `watchlist.v1` from the start (own
 *    throw-away group) into its index and keeps following: an added entry screens from the next
 *    transfer on, a delisting ends matching at its `listedUntil`. Transfers are consumed only once
 *    the initial state is loaded.
 * 2. Transfer stage (group `groupId`) — `screenTransfer`: direct and p2p flags, plus `outflow` and
 *    hop-1 `exposure` records routed to the exposure topic partition of their address.
 * 3. Exposure stage (group `groupId-exposure`) — the {@link ExposureEngine} for the partitions this
 *    instance owns. On (re)assignment each partition is rebuilt from its log start; records below
 *    the committed offset only rebuild state (their output was published before the commit), the
 *    rest are processed normally. Indirect and structuring flags come from here.
 * 4. Retro stage (group `groupId-retro`, shared) — each watchlist addition is handled once per
 *    group: stored history is searched and retro flags published.
 * Every stage publishes its output before its offsets are committed (at-least-once); flag ids are
 * deterministic, so redelivery republishes the same ids.
 */
export class TaggerRunner {
  readonly index: MutableEntryIndex;
  readonly engine: ExposureEngine;
  readonly counters: TaggerCounters = {
    transfers: 0,
    exposureRecords: 0,
    flags: 0,
    retroFlags: 0,
    cooldownSuppressed: 0,
    watchlistMessages: 0,
    replayedRecords: 0,
    transferBatches: 0,
    exposureBatches: 0,
  };
  private readonly cooldown = new Cooldown();
  private readonly consumers: ConsumerHandle[] = [];
  /** One producer per stage: the idempotent producer sends one request at a time, so stages
   * sharing one would wait for each other. */
  private readonly producers = new Map<Stage, Producer>();
  private exposurePartitions = 0;
  private readonly replay = new Map<number, PartitionReplay>();
  private watchlistLoaded = false;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly o: TaggerRunnerOptions) {
    this.now = o.now ?? Date.now;
    this.index = o.index ?? new MatcherEntryIndex(this.now);
    this.log = o.log.child({ component: "tagger" });
    this.engine = new ExposureEngine({
      rules: o.rules,
      suppressions: () => o.suppressions,
      exposurePartitions: 1, // replaced in start() once the topic's partition count is known
      now: this.now,
    });
  }

  /** True once the watchlist was loaded and the consumers run. */
  get ready(): boolean {
    return this.watchlistLoaded && this.consumers.length > 0;
  }

  /** Starts every stage; resolves once the watchlist is loaded and consumers are running. */
  async start(opts: { watchlistTimeoutMs?: number } = {}): Promise<void> {
    const { bus, topics } = this.o;
    const stages = { transfers: true, exposure: true, retro: true, ...this.o.stages };
    this.exposurePartitions = (await this.endOffsets(topics.exposure)).length;
    if (this.exposurePartitions === 0)
      throw new TransientError("exposure topic has no partitions", {
        context: { topic: topics.exposure },
      });
    // The engine routes the records it propagates with the same partition count.
    this.engine.setPartitions(this.exposurePartitions);
    for (const st of ["transfers", "exposure", "retro"] as const)
      this.producers.set(st, await bus.producer());
    await this.followWatchlist(opts.watchlistTimeoutMs ?? 120_000);
    if (stages.exposure) await this.startExposureStage();
    if (stages.transfers) await this.startTransferStage();
    if (stages.retro && this.o.history) await this.startRetroStage();
  }

  /** Graceful stop: consumers stop fetching and commit what they processed, then the producer closes. */
  async stop(): Promise<void> {
    // Order: stop intake (each consumer finishes its batch, publishes, commits), then close the producer.
    for (const c of this.consumers.splice(0).reverse()) await c.stop().catch(() => {});
    for (const p of this.producers.values()) await p.disconnect().catch(() => {});
    this.producers.clear();
  }

  /** Topic offsets, retried while a just-created topic's leadership settles. */
  private async endOffsets(
    topic: string,
  ): Promise<{ partition: number; high: string; low: string }[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.o.bus.endOffsets(topic);
      } catch (err) {
        if (attempt >= 20)
          throw new TransientError("cannot read topic offsets", { cause: err, context: { topic } });
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * attempt)));
      }
    }
  }

  private async followWatchlist(timeoutMs: number): Promise<void> {
    const { bus, topics } = this.o;
    const ends = await this.endOffsets(topics.watchlist);
    // Next offset to reach per partition for the initial load.
    const pending = new Map(
      ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
    );
    let loaded: () => void = () => {};
    const done = new Promise<void>((r) => {
      loaded = r;
    });
    if (pending.size === 0) loaded();
    const groupId = `${this.o.groupId}-watchlist-${randomBytes(6).toString("hex")}`;
    const c = await consume(bus, {
      groupId,
      topics: [topics.watchlist],
      schema: WatchlistEntryV1.nullable(),
      allowTombstones: true,
      fromBeginning: true,
      deadLetterTopic: topics.deadLetter,
      handleBatch: async (msgs) => {
        for (const m of msgs) {
          const change = applyWatchlistMessage(this.index, m.key, m.value);
          this.counters.watchlistMessages++;
          if (change && this.watchlistLoaded)
            this.log.info(
              {
                change: change.kind,
                listId: change.kind === "removed" ? change.listId : change.entry.listId,
              },
              "watchlist entry changed",
            );
          const target = pending.get(m.partition);
          if (target !== undefined && BigInt(m.offset) + 1n >= target) {
            pending.delete(m.partition);
            if (pending.size === 0) loaded();
          }
        }
      },
    });
    this.consumers.push(c);
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
    if ((await Promise.race([done, timer])) === "timeout")
      throw new TransientError("watchlist not loaded in time", {
        context: { topic: topics.watchlist, timeoutMs },
      });
    this.watchlistLoaded = true;
    this.log.info({ entries: this.index.size }, "watchlist loaded");
  }

  private async startTransferStage(): Promise<void> {
    const { bus, topics } = this.o;
    const c = await consume(bus, {
      groupId: this.o.groupId,
      topics: [topics.transfers],
      schema: TransferV1,
      // Stateless per message: partitions can be screened concurrently (order kept within each).
      partitionsConsumedConcurrently: 4,
      deadLetterTopic: topics.deadLetter,
      fromBeginning: true,
      handleBatch: async (msgs) => {
        const ctx = {
          index: this.index,
          rules: this.o.rules(),
          suppressions: this.o.suppressions,
          exposurePartitions: this.exposurePartitions,
          now: this.now,
        };
        const flags: FlagV1[] = [];
        const records: RoutedRecord[] = [];
        for (const m of msgs) {
          const r = screenTransfer(m.value, ctx);
          flags.push(...r.flags);
          records.push(...r.records);
        }
        this.counters.transfers += msgs.length;
        this.counters.transferBatches++;
        await this.publish("transfers", flags, records);
      },
    });
    this.consumers.push(c);
  }

  private async startExposureStage(): Promise<void> {
    const { bus, topics } = this.o;
    const topic = topics.exposure;
    let handle: ConsumerHandle | null = null;
    const c = await consume(bus, {
      groupId: `${this.o.groupId}-exposure`,
      topics: [topic],
      schema: ExposureRecordLite,
      partitionsConsumedConcurrently: 4,
      deadLetterTopic: topics.deadLetter,
      fromBeginning: true,
      onRebalance: (event, assignment) => {
        if (event !== "assigned") return;
        // A (re)assigned partition may have been processed elsewhere meanwhile: rebuild them all.
        this.replay.clear();
        for (let p = 0; p < this.exposurePartitions; p++) this.engine.dropPartition(p);
        this.log.info({ assignment }, "exposure partitions assigned; state will be rebuilt");
      },
      handleBatch: async (msgs) => {
        const first = msgs[0];
        if (!first) return;
        // Never return without processing: the wrapper would commit the batch.
        if (!handle) throw new TransientError("exposure consumer not ready yet");
        const p = first.partition;
        let rp = this.replay.get(p);
        if (!rp) {
          const low = BigInt(
            (await this.endOffsets(topic)).find((x) => x.partition === p)?.low ?? "0",
          );
          rp = { replayUntil: BigInt(first.offset) };
          this.replay.set(p, rp);
          if (BigInt(first.offset) > low) {
            // Rewind to rebuild this partition's state; this batch is abandoned (not committed).
            handle.consumer.seek({ topic, partition: p, offset: low.toString() });
            throw new TransientError("rebuilding exposure state from the log start", {
              context: { partition: p },
            });
          }
        }
        const flags: FlagV1[] = [];
        const records: RoutedRecord[] = [];
        for (const m of msgs) {
          const out = this.engine.apply(m.value, p);
          if (BigInt(m.offset) < rp.replayUntil) {
            this.counters.replayedRecords++;
            continue;
          }
          flags.push(...out.flags);
          records.push(...out.records);
        }
        this.counters.exposureRecords += msgs.length;
        this.counters.exposureBatches++;
        await this.publish("exposure", flags, records);
      },
    });
    handle = c;
    this.consumers.push(c);
  }

  private async startRetroStage(): Promise<void> {
    const { bus, topics, history } = this.o;
    if (!history) return;
    const limit = this.o.retroLimit ?? 10_000;
    const c = await consume(bus, {
      groupId: `${this.o.groupId}-retro`,
      topics: [topics.watchlist],
      schema: WatchlistEntryV1.nullable(),
      allowTombstones: true,
      fromBeginning: true,
      handleBatch: async (msgs) => {
        // One history query per batch for every address it adds (a new list version adds many).
        const entries = msgs
          .map((m) => (m.value === null ? null : entryFromWatchlist(m.value)))
          // Only a standing listing is retro-screened (a delisting update is not a new listing).
          .filter(
            (e): e is ListEntry =>
              e !== null && (e.listedUntil === null || activeAt(e, this.now())),
          );
        const flags: FlagV1[] = [];
        for (let i = 0; i < entries.length; i += 1_000) {
          const chunk = entries.slice(i, i + 1_000);
          const before = Math.max(...chunk.map((e) => e.listedAt ?? this.now()));
          const past = await history.transfersTouching(
            [...new Set(chunk.map((e) => e.address))],
            before,
            limit * chunk.length,
          );
          const ctx = { rules: this.o.rules(), suppressions: this.o.suppressions, now: this.now };
          for (const e of chunk) flags.push(...retroFlags(e, past, ctx).slice(0, limit));
        }
        this.counters.retroFlags += flags.length;
        await this.publish("retro", flags, []);
      },
    });
    this.consumers.push(c);
  }

  /** Publishes flags (after cooldown) and routed exposure records; resolves when both are acknowledged. */
  private async publish(stage: Stage, flags: FlagV1[], records: RoutedRecord[]): Promise<void> {
    const producer = this.producers.get(stage);
    if (!producer) throw new TransientError("tagger producer is closed");
    const suppressRepeats = this.o.rules().config.cooldown.suppressRepeats;
    const out: OutMessage[] = [];
    for (const f of flags) {
      if (!this.cooldown.admit(f, suppressRepeats)) continue;
      out.push({ key: f.id, value: f });
    }
    this.counters.cooldownSuppressed = this.cooldown.suppressed;
    const recs: OutMessage[] = records.map((r) => ({
      key: r.key,
      value: r.value,
      partition: r.partition,
    }));
    await Promise.all([
      recs.length ? producer.send(this.o.topics.exposure, recs) : undefined,
      out.length ? producer.send(this.o.topics.flags, out) : undefined,
    ]);
    this.counters.flags += out.length;
  }
}

/** Topic names with an optional prefix (`<prefix>.<name>`), as every service derives them. */
export function taggerTopics(prefix = ""): TaggerTopics {
  const t = (n: string) => (prefix ? `${prefix}.${n}` : n);
  return {
    transfers: t(Topics.transfers),
    flags: t(Topics.flags),
    watchlist: t(Topics.watchlist),
    exposure: t(Topics.exposure),
    deadLetter: t(Topics.deadLetter),
  };
}

/**
 * Topic specs the tagger needs. The exposure topic is compacted (latest state of each fact) and,
 * with a retention, also time-limited so exposure older than the window disappears.
 */
export function taggerTopicSpecs(
  topics: TaggerTopics,
  opts: { partitions?: number; exposurePartitions?: number; exposureRetentionDays?: number } = {},
): TopicSpec[] {
  const days = opts.exposureRetentionDays ?? 90;
  return [
    { topic: topics.transfers, partitions: opts.partitions ?? 4 },
    { topic: topics.flags, partitions: opts.partitions ?? 4 },
    { topic: topics.watchlist, partitions: 1, compacted: true },
    {
      topic: topics.exposure,
      partitions: opts.exposurePartitions ?? 8,
      config:
        days > 0
          ? { "cleanup.policy": "compact,delete", "retention.ms": String(days * 86_400_000) }
          : { "cleanup.policy": "compact" },
    },
    { topic: topics.deadLetter, partitions: 1 },
  ];
}
