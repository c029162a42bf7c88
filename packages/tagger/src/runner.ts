import { randomBytes } from "node:crypto";
import { errorMessage, TransientError } from "@chainscreen/errors";
import {
  type ConsumerHandle,
  consume,
  type KafkaBus,
  type OutMessage,
  type Producer,
  type Received,
  type TopicSpec,
} from "@chainscreen/kafka";
import type { Logger } from "@chainscreen/logger";
import { FastTransferV1, type FlagV1, Topics, WatchlistEntryV1 } from "@chainscreen/schema";
import type { ZodType } from "zod";
import { Cooldown } from "./cooldown.js";
import { activeAt, type ListEntry, type MutableEntryIndex } from "./entries.js";
import { type EngineOutput, ExposureEngine, inStructuringBand } from "./exposure.js";
import {
  type ExposureRecord,
  ExposureRecordLite,
  type OutflowWithBytes,
  transferBytes,
} from "./exposure-record.js";
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
  /** Exposure facts applied by the exposure follower. */
  exposureFacts: number;
  replayedRecords: number;
  /** Transfers re-read on assignment to rebuild held outflows. */
  replayedTransfers: number;
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
  /**
   * Transfers re-read per transfer partition when it is assigned (start, rebalance), below the
   * committed offset, to rebuild the outflows held for late exposure facts (default 100,000).
   */
  replayTransfers?: number;
  /**
   * Allocate the ring of held outflows (`indirect.maxHeldOutflows` × 1 KiB) when constructed and
   * write every page of it once, so that its memory is resident from the start instead of being
   * faulted in page by page while the first `maxHeldOutflows` transfers are screened (default
   * false).
   */
  reserveMemory?: boolean;
  /** Clock (ms). */
  now?: () => number;
}

type Stage = "transfers" | "exposure" | "follow" | "retro";

/** The engine's stand-in partition for state that is not tied to a partition of the topic. */
const LOCAL = -1;

/** Per-partition replay state of the transfer and structuring stages. */
interface PartitionReplay {
  /** Records below this offset were processed before (their output was published): rebuild only. */
  replayUntil: bigint;
}

/**
 * The tagger over Kafka: five consumers in one process.
 *
 * 1. Watchlist follower — every instance reads all of `watchlist.v1` from the start (own
 *    throw-away group) into its index and keeps following: an added entry screens from the next
 *    transfer on, a delisting ends matching at its `listedUntil`. Transfers are consumed only once
 *    the initial state is loaded.
 * 2. Exposure follower — every instance also reads every exposure FACT of the internal exposure
 *    topic (own throw-away group, from the start) into its {@link ExposureEngine}, and joins each
 *    new fact with the outflows it holds (a fact that arrives after the outflow it applies to).
 *    Facts exist only downstream of listed addresses, so this topic stays small.
 * 3. Transfer stage (group `groupId`) — `screenTransfer`: direct and p2p flags; each sender's
 *    outflow goes to the local engine (joined with the exposure facts known here: indirect flags
 *    and the next hop's facts), and hop-1 and propagated facts are applied locally and published
 *    to the exposure topic for every other instance. So a transfer crosses Kafka once; only the
 *    rare facts travel again. On (re)assignment, the last `replayTransfers` transfers below the
 *    committed offset of each partition are re-read to rebuild the held outflows (their own
 *    flags were published before the commit; joins they make now are published again, same ids).
 * 4. Structuring stage (group `groupId-exposure`) — outflows just under the structuring
 *    threshold (rare) are routed to the exposure topic partition of their sender, whose owner
 *    sees all of that sender's in-band outflows. On (re)assignment each partition is rebuilt from
 *    its log start; records below the committed offset only rebuild state.
 * 5. Retro stage (group `groupId-retro`, shared) — each watchlist addition is handled once per
 *    group: stored history is searched and retro flags published.
 * Every stage publishes its output before its offsets are committed (at-least-once); flag ids are
 * deterministic, so redelivery republishes the same ids.
 */
export class TaggerRunner {
  readonly index: MutableEntryIndex;
  /** Indirect exposure: every exposure fact, and the outflows of the transfers screened here. */
  readonly engine: ExposureEngine;
  /** Structuring: the in-band outflows of the exposure partitions this instance owns. */
  readonly structuring: ExposureEngine;
  readonly counters: TaggerCounters = {
    transfers: 0,
    exposureRecords: 0,
    flags: 0,
    retroFlags: 0,
    cooldownSuppressed: 0,
    watchlistMessages: 0,
    exposureFacts: 0,
    replayedRecords: 0,
    replayedTransfers: 0,
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
  private readonly transferReplay = new Map<number, PartitionReplay>();
  private watchlistLoaded = false;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly o: TaggerRunnerOptions) {
    this.now = o.now ?? Date.now;
    this.index = o.index ?? new MatcherEntryIndex(this.now);
    this.log = o.log.child({ component: "tagger" });
    const engine = (only: "indirect" | "structuring") =>
      new ExposureEngine({
        rules: () => onlyRule(o.rules(), only),
        suppressions: () => o.suppressions,
        exposurePartitions: 1, // replaced in start() once the topic's partition count is known
        now: this.now,
        reserveMemory: o.reserveMemory,
      });
    this.engine = engine("indirect");
    this.structuring = engine("structuring");
    this.engine.reserve();
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
    this.structuring.setPartitions(this.exposurePartitions);
    for (const st of ["transfers", "exposure", "follow", "retro"] as const)
      this.producers.set(st, await bus.producer());
    const timeoutMs = opts.watchlistTimeoutMs ?? 120_000;
    await this.followWatchlist(timeoutMs);
    if (stages.exposure) {
      await this.followExposure(timeoutMs);
      await this.startExposureStage();
    }
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
    await this.follow(
      this.o.topics.watchlist,
      "watchlist",
      WatchlistEntryV1.nullable(),
      timeoutMs,
      (msgs) => {
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
        }
        return Promise.resolve();
      },
    );
    this.watchlistLoaded = true;
    this.log.info({ entries: this.index.size }, "watchlist loaded");
  }

  /** Applies every exposure fact to the local engine and publishes what its joins produce. */
  private async followExposure(timeoutMs: number): Promise<void> {
    await this.follow(this.o.topics.exposure, "exposure", ExposureRecordLite, timeoutMs, (msgs) => {
      const out: EngineOutput = { flags: [], records: [] };
      for (const m of msgs) {
        if (m.value.kind !== "exposure") continue; // outflows are the structuring stage's
        this.counters.exposureFacts++;
        this.applyLocal(m.value, out);
      }
      return this.publish("follow", out.flags, out.records);
    });
    this.log.info({ ...this.engine.stats() }, "exposure facts loaded");
  }

  /**
   * Reads a whole topic from the start in a throw-away group (every instance sees every message)
   * and keeps following it; resolves once the messages present at start have been handled.
   */
  private async follow<T>(
    topic: string,
    name: string,
    schema: ZodType<T>,
    timeoutMs: number,
    handle: (msgs: Received<T>[]) => Promise<void>,
  ): Promise<void> {
    const ends = await this.endOffsets(topic);
    // Next offset to reach per partition for the initial load.
    const pending = new Map(
      ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
    );
    let loaded: () => void = () => {};
    const done = new Promise<void>((r) => {
      loaded = r;
    });
    if (pending.size === 0) loaded();
    const c = await consume(this.o.bus, {
      groupId: `${this.o.groupId}-${name}-${randomBytes(6).toString("hex")}`,
      topics: [topic],
      schema,
      allowTombstones: true,
      fromBeginning: true,
      deadLetterTopic: this.o.topics.deadLetter,
      handleBatch: async (msgs) => {
        await handle(msgs);
        const last = msgs[msgs.length - 1];
        const target = last && pending.get(last.partition);
        if (last && target !== undefined && BigInt(last.offset) + 1n >= target) {
          pending.delete(last.partition);
          if (pending.size === 0) loaded();
        }
      },
    });
    this.consumers.push(c);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), timeoutMs).unref();
    });
    // The timer is cleared once loaded: pending, it would keep this runner reachable until it fired.
    const result = await Promise.race([done, timedOut]).finally(() => clearTimeout(timer));
    if (result === "timeout")
      throw new TransientError(`${name} topic not loaded in time`, {
        context: { topic, timeoutMs },
      });
  }

  /**
   * Applies a record to the local engine, then the exposure facts it propagates (until none is
   * left, bounded by maxHops), collecting flags and every record to publish in `out`.
   */
  private applyLocal(rec: ExposureRecord, out: EngineOutput): void {
    let from = out.records.length;
    this.engine.applyTo(rec, LOCAL, out);
    if (out.records.length === from) return; // almost always: nothing propagated, no allocation
    // Depth first: the records each application appended are applied in turn, last first.
    const queue: ExposureRecord[] = [];
    for (;;) {
      for (let i = from; i < out.records.length; i++)
        queue.push((out.records[i] as RoutedRecord).value);
      const r = queue.pop();
      if (!r) return;
      from = out.records.length;
      this.engine.applyTo(r, LOCAL, out);
    }
  }

  private async startTransferStage(): Promise<void> {
    const { bus, topics } = this.o;
    const keep = this.o.replayTransfers ?? 100_000;
    let handle: ConsumerHandle | null = null;
    let ready: (h: ConsumerHandle) => void = () => {};
    const handleReady = new Promise<ConsumerHandle>((r) => {
      ready = r;
    });
    const c = await consume(bus, {
      groupId: this.o.groupId,
      topics: [topics.transfers],
      // zod's verdict and output, with the common case checked without zod's per-message copies
      // (measured: ~1.5 µs less per transfer; the tagger bench went from 67–69 % to 71–72 % of
      // the bus ceiling with indirect exposure on).
      schema: FastTransferV1,
      // Partitions are screened concurrently (order kept within each); the engine joins outflows
      // and facts in either order, so interleaving does not change the flags.
      partitionsConsumedConcurrently: 4,
      deadLetterTopic: topics.deadLetter,
      fromBeginning: true,
      onRebalance: (event, assignment) => {
        if (event !== "assigned") return;
        this.transferReplay.clear();
        // A partition with nothing new would never deliver the batch that starts its replay.
        const parts = assignment.find((a) => a.topic === topics.transfers)?.partitions ?? [];
        void handleReady
          .then((h) => this.replayAssigned(h, topics.transfers, parts, keep))
          .catch((err) =>
            this.log.warn({ err: errorMessage(err) }, "could not start replaying transfers"),
          );
      },
      handleBatch: async (msgs) => {
        const first = msgs[0];
        if (!first) return;
        if (!handle) throw new TransientError("transfer consumer not ready yet");
        const rp = await this.replayFrom(
          handle,
          topics.transfers,
          first,
          keep,
          this.transferReplay,
        );
        const rules = this.o.rules();
        const cfg = rules.config;
        const ctx = {
          index: this.index,
          rules,
          suppressions: this.o.suppressions,
          exposurePartitions: this.exposurePartitions,
          now: this.now,
        };
        const out: EngineOutput = { flags: [], records: [] };
        let replays = 0;
        for (const m of msgs) {
          const r = screenTransfer(m.value, ctx);
          // Below the committed offset: published before; only the local state is rebuilt.
          const replayed = BigInt(m.offset) < rp.replayUntil;
          if (replayed) replays++;
          else for (const f of r.flags) out.flags.push(f);
          for (const rec of r.records) {
            const v = rec.value;
            if (v.kind === "exposure") {
              if (!replayed) out.records.push(rec);
            } else if (!replayed && inStructuringBand(cfg, v.valueUsd)) {
              out.records.push(rec); // to the owner of the sender, who sees all its outflows
            }
            if (v.kind === "exposure" || cfg.indirect.enabled) {
              // An outflow the engine may hold is held as the message's bytes (see ColdOutflows).
              if (v.kind === "outflow" && m.bytes) (v as OutflowWithBytes)[transferBytes] = m.bytes;
              this.applyLocal(v, out);
            }
          }
        }
        this.counters.transfers += msgs.length - replays;
        this.counters.replayedTransfers += replays;
        this.counters.transferBatches++;
        await this.publish("transfers", out.flags, out.records);
      },
    });
    handle = c;
    ready(c);
    this.consumers.push(c);
  }

  /**
   * Starts the replay of assigned partitions from their committed offsets (unless a first batch
   * already did): each is sought `keep` messages back, and what lies below the committed offset
   * is then handled as replayed.
   */
  private async replayAssigned(
    handle: ConsumerHandle,
    topic: string,
    partitions: number[],
    keep: number,
  ): Promise<void> {
    if (keep <= 0 || partitions.length === 0) return;
    const [committed, ends] = await Promise.all([
      this.o.bus.committedOffsets(this.o.groupId, topic),
      this.endOffsets(topic),
    ]);
    for (const p of partitions) {
      const c = committed.get(p);
      const low = BigInt(ends.find((x) => x.partition === p)?.low ?? "0");
      if (c === undefined || this.transferReplay.has(p)) continue;
      const from = c - BigInt(keep) > low ? c - BigInt(keep) : low;
      if (from >= c) continue;
      this.transferReplay.set(p, { replayUntil: c });
      handle.consumer.seek({ topic, partition: p, offset: from.toString() });
    }
  }

  /**
   * Replay bookkeeping of a partition's first batch after (re)assignment: when the batch starts
   * above the replay start (its log start, or `keep` messages back), seeks there and abandons the
   * batch (a retryable error: nothing is committed); the messages below the first offset seen are
   * then handled as replayed.
   */
  private async replayFrom(
    handle: ConsumerHandle,
    topic: string,
    first: { partition: number; offset: string },
    keep: number,
    state: Map<number, PartitionReplay>,
  ): Promise<PartitionReplay> {
    const p = first.partition;
    const known = state.get(p);
    if (known) return known;
    const offset = BigInt(first.offset);
    const low = BigInt((await this.endOffsets(topic)).find((x) => x.partition === p)?.low ?? "0");
    const from = offset - BigInt(keep) > low ? offset - BigInt(keep) : low;
    const rp = { replayUntil: offset };
    state.set(p, rp);
    if (offset > from) {
      handle.consumer.seek({ topic, partition: p, offset: from.toString() });
      throw new TransientError("re-reading recent messages to rebuild state", {
        context: { topic, partition: p, from: from.toString(), until: offset.toString() },
      });
    }
    return rp;
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
        for (let p = 0; p < this.exposurePartitions; p++) this.structuring.dropPartition(p);
        this.log.info({ assignment }, "exposure partitions assigned; state will be rebuilt");
      },
      handleBatch: async (msgs) => {
        const first = msgs[0];
        if (!first) return;
        // Never return without processing: the wrapper would commit the batch.
        if (!handle) throw new TransientError("exposure consumer not ready yet");
        const p = first.partition;
        // The whole partition is state (compacted and time-limited): replay it from its start.
        const rp = await this.replayFrom(
          handle,
          topic,
          first,
          Number.MAX_SAFE_INTEGER,
          this.replay,
        );
        const cfg = this.o.rules().config;
        const flags: FlagV1[] = [];
        const records: RoutedRecord[] = [];
        for (const m of msgs) {
          const v = m.value;
          // Facts are the exposure follower's; only in-band outflows make structuring.
          if (v.kind !== "outflow" || !inStructuringBand(cfg, v.valueUsd)) continue;
          const out = this.structuring.apply(v, p);
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

/**
 * The rules as one engine sees them: the runner's two engines each run one rule family (the
 * other disabled); same version, so flags are identical to one engine running both.
 */
const onlyCache = new WeakMap<LoadedRules, Record<"indirect" | "structuring", LoadedRules>>();
function onlyRule(r: LoadedRules, keep: "indirect" | "structuring"): LoadedRules {
  let v = onlyCache.get(r);
  if (!v) {
    const c = r.config;
    v = {
      indirect: { ...r, config: { ...c, structuring: { ...c.structuring, enabled: false } } },
      structuring: { ...r, config: { ...c, indirect: { ...c.indirect, enabled: false } } },
    };
    onlyCache.set(r, v);
  }
  return v[keep];
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
