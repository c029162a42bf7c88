import { BaseError } from "@chainscreen/errors";
import type { KafkaBus, OutMessage, Producer } from "@chainscreen/kafka";
import type { Logger } from "@chainscreen/logger";
import { IngestBlockV1, Topics } from "@chainscreen/schema";
import type { BlockRecord, Commit, IngestStore } from "./types.js";

/** Topic names used by {@link KafkaIngestStore}. */
export interface IngestTopics {
  /** Where transfer.v1 events go (default `transfer.v1`). */
  transfers: string;
  /** Compacted single-partition checkpoint topic (default `ingest.blocks`). */
  blocks: string;
}

/** Default topic names. */
export const defaultIngestTopics: IngestTopics = {
  transfers: Topics.transfers,
  blocks: "ingest.blocks",
};

/** Options of {@link KafkaIngestStore}. */
export interface KafkaIngestStoreOptions {
  bus: KafkaBus;
  log: Logger;
  topics?: Partial<IngestTopics>;
  /**
   * Stable id of this writer (one per chain follower). A restarted process with the same id
   * fences the old one and aborts its open transaction, so a half-written block never shows.
   */
  transactionalId: string;
  /** How many offsets of the checkpoint topic to read back on start (default 4 × window + 64). */
  tailOffsets?: number;
  /** Partitions of the transfers topic when it has to be created (default 4). */
  transferPartitions?: number;
}

/** Key of a block record in the checkpoint topic. */
export const blockKey = (chain: string, n: number) => `${chain}:${n}`;

/**
 * IngestStore on Kafka: each commit is one Kafka transaction holding the transfer.v1 events and
 * one record per block in a compacted single-partition topic (tombstones for blocks that left
 * the window or were orphaned). Consumers read with isolation read_committed (kafkajs default),
 * so events and checkpoint become visible together; on start the tail of the checkpoint topic
 * rebuilds the window.
 */
export class KafkaIngestStore implements IngestStore {
  private producer: Producer | null = null;
  private readonly topics: IngestTopics;

  constructor(private readonly opts: KafkaIngestStoreOptions) {
    this.topics = { ...defaultIngestTopics, ...opts.topics };
  }

  /** Creates the topics when missing and connects the transactional producer (fencing old ones). */
  async open(): Promise<void> {
    if (this.producer) return;
    await this.opts.bus.ensureTopics([
      { topic: this.topics.transfers, partitions: this.opts.transferPartitions ?? 4 },
      {
        topic: this.topics.blocks,
        partitions: 1,
        compacted: true,
        config: { "min.cleanable.dirty.ratio": "0.1", "segment.ms": String(3_600_000) },
      },
    ]);
    this.producer = await this.opts.bus.producer({ transactionalId: this.opts.transactionalId });
  }

  async restore(chain: string): Promise<BlockRecord[]> {
    // The producer goes first: initialising it aborts any transaction a killed predecessor left
    // open, so everything below the high watermark is then decided (committed or aborted).
    await this.open();
    const prefix = `${chain}:`;
    const records = await readTail(
      this.opts.bus,
      this.topics.blocks,
      this.opts.tailOffsets ?? 1024,
    );
    const byKey = new Map<string, BlockRecord>();
    let invalid = 0;
    for (const r of records) {
      if (!r.key?.startsWith(prefix)) continue;
      if (r.value === null) {
        byKey.delete(r.key);
        continue;
      }
      const parsed = IngestBlockV1.safeParse(JSON.parse(r.value));
      if (!parsed.success) {
        invalid++;
        continue;
      }
      byKey.set(r.key, {
        ref: parsed.data.ref,
        status: parsed.data.status,
        transfers: parsed.data.transfers,
      });
    }
    if (invalid > 0)
      this.opts.log.error(
        { invalid, topic: this.topics.blocks },
        "invalid checkpoint records skipped",
      );
    return [...byKey.values()].sort((a, b) => a.ref.number - b.ref.number);
  }

  async commit(chain: string, c: Commit): Promise<void> {
    await this.open();
    const producer = this.producer as Producer;
    const now = Date.now();
    const events: OutMessage[] = c.events.map((e) => ({ key: e.id, value: e }));
    // Block records are pre-encoded and sent in groups of at most ~1 MB: the checkpoint topic
    // has one partition, and one record batch must stay under the broker's message.max.bytes.
    const blockMessages: OutMessage[] = [
      ...c.remove.map((n) => ({ key: blockKey(chain, n), value: null })),
      ...c.put.map((b) => ({
        key: blockKey(chain, b.ref.number),
        value: JSON.stringify({
          type: "ingest.block.v1",
          chain,
          ref: b.ref,
          status: b.status,
          transfers: b.transfers,
          committedAt: now,
        } satisfies IngestBlockV1),
      })),
    ];
    const groups: OutMessage[][] = [];
    let size = Number.POSITIVE_INFINITY;
    for (const m of blockMessages) {
      const len = typeof m.value === "string" ? m.value.length : 0;
      if (size + len > 1_000_000) {
        groups.push([]);
        size = 0;
      }
      (groups.at(-1) as OutMessage[]).push(m);
      size += len;
    }
    try {
      await producer.transaction(async (tx) => {
        if (events.length) await tx.send(this.topics.transfers, events);
        for (const g of groups) await tx.send(this.topics.blocks, g);
      });
    } catch (err) {
      // A fenced producer (another instance took over) cannot recover: reconnect on the next try.
      const p = this.producer;
      this.producer = null;
      await p?.disconnect().catch(() => {});
      throw new BaseError("kafka transaction failed", {
        retryable: true,
        cause: err,
        context: { chain },
      });
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    await p?.disconnect();
  }
}

/** A raw record read back from a topic. */
export interface RawRecord {
  offset: string;
  key: string | null;
  value: string | null;
}

/**
 * Reads the committed records of the last `tailOffsets` offsets of a single-partition topic
 * (read_committed: aborted transactions are skipped). Ends when a fetch comes back empty after
 * the seek took effect, i.e. at the end of the partition.
 */
export async function readTail(
  bus: KafkaBus,
  topic: string,
  tailOffsets: number,
): Promise<RawRecord[]> {
  // The end offset is read as committed (the last stable offset): right after a transaction
  // commits, its markers may not be written yet and the partition still looks empty. Ask again a
  // few times before concluding that it is (costs ~1 s on a truly empty topic, once at start).
  let part = (await bus.endOffsets(topic))[0];
  for (let i = 0; i < 5 && part && part.high === part.low; i++) {
    await new Promise((r) => setTimeout(r, 200));
    part = (await bus.endOffsets(topic))[0];
  }
  if (!part) return [];
  const high = BigInt(part.high);
  const low = BigInt(part.low);
  if (high === low) return [];
  const start = high - BigInt(tailOffsets) > low ? high - BigInt(tailOffsets) : low;
  const out: RawRecord[] = [];
  const consumer = bus.kafka.consumer({
    groupId: `ingest-restore-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`,
    maxWaitTimeInMs: 100,
    readUncommitted: false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    let seeked = false;
    let lastSeen = start - 1n;
    let emptyFetches = 0;
    consumer.on(consumer.events.FETCH, (e: { payload: { numberOfBatches: number } }) => {
      if (!seeked) return;
      if (e.payload.numberOfBatches === 0) emptyFetches++;
      // At the end: the last data record seen is within a few control markers of the watermark,
      // or several fetches in a row returned nothing (tail made only of aborted records).
      // Only trust the watermark check once a record was read: before that, lastSeen is start − 1
      // and on a small topic already sits within three offsets of the watermark.
      if (emptyFetches >= 1 && out.length > 0 && lastSeen >= high - 3n) resolveDone();
      if (emptyFetches >= 5) resolveDone();
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const o = BigInt(m.offset);
          if (o < start) continue;
          if (o > lastSeen) lastSeen = o;
          out.push({
            offset: m.offset,
            key: m.key?.toString("utf8") ?? null,
            value: m.value?.toString("utf8") ?? null,
          });
        }
      },
    });
    consumer.seek({ topic, partition: 0, offset: start.toString() });
    seeked = true;
    // The timer is cleared on success: left running it would keep a short-lived process (a CLI
    // backfill that finds its range done) alive for the whole minute.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), 60_000);
    });
    const outcome = await Promise.race([done, timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      throw new BaseError("timed out reading the checkpoint topic", {
        retryable: true,
        context: { topic },
      });
    }
  } finally {
    await consumer.disconnect();
  }
  return out;
}
