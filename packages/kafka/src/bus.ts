import { errorMessage, TransientError } from "@chainscreen/errors";
import type { Logger } from "@chainscreen/logger";
// Before kafkajs: patches its internals as it loads (see the module).
import "./kafkajs-fixes.js";
import {
  type Admin,
  CompressionTypes,
  Kafka,
  type KafkaConfig,
  type Producer as KProducer,
  logLevel,
  type SASLOptions,
} from "kafkajs";
import { fastDefaultPartitioner } from "./partitioner.js";

/** Connection settings; TLS and SASL make the same code run against a managed cluster. */
export interface BusConfig {
  brokers: string[];
  clientId: string;
  /** true for TLS with system CAs, or explicit options (ca/cert/key as PEM strings). */
  ssl?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  sasl?: {
    mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
    username: string;
    password: string;
  };
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** A topic to create when missing. */
export interface TopicSpec {
  topic: string;
  /** Default 4: services scale out as consumer groups up to this many instances. */
  partitions?: number;
  replicationFactor?: number;
  /** Log compaction (latest value per key): watchlist state, exposure state, checkpoints. */
  compacted?: boolean;
  /** Time retention; -1 keeps forever. */
  retentionMs?: number;
  config?: Record<string, string>;
}

/** One message to produce; `value` objects are JSON-encoded, null is a tombstone. */
export interface OutMessage {
  key: string | null;
  value: unknown;
  headers?: Record<string, string>;
  partition?: number;
}

/** Compression codecs available without native add-ons. */
export type Compression = "none" | "gzip";

/** Options for {@link KafkaBus.producer}. */
export interface ProducerOptions {
  /** Enables transactions (and idempotence); must be stable per logical writer to fence zombies. */
  transactionalId?: string;
  /** Idempotent producer (default true): broker de-duplicates retried batches. */
  idempotent?: boolean;
  compression?: Compression;
  /** Messages per produce request when sending large arrays (default 5,000). */
  chunkSize?: number;
}

/** A transaction in progress. */
export interface Transaction {
  send(topic: string, messages: OutMessage[]): Promise<void>;
  /**
   * Sends to several topics, in order, in requests of up to `chunkSize` messages; a small batch
   * (up to {@link RIDE_ALONG} messages) joins the request before it, so a checkpoint record after
   * a batch of events costs no round trip of its own.
   */
  sendAll(batches: { topic: string; messages: OutMessage[] }[]): Promise<void>;
}

/** Messages a produce request may carry beyond the chunk size to save a request of its own. */
export const RIDE_ALONG = 16;

/**
 * Groups per-topic messages into produce requests of at most `chunk` messages each, except that
 * a piece of at most {@link RIDE_ALONG} messages joins the request before it.
 */
export function planRequests<M>(
  batches: { topic: string; messages: M[] }[],
  chunk: number,
): { topic: string; messages: M[] }[][] {
  const requests: { topic: string; messages: M[] }[][] = [];
  let count = 0;
  for (const b of batches) {
    for (let i = 0; i < b.messages.length; i += chunk) {
      const part = b.messages.slice(i, i + chunk);
      const last = requests.at(-1);
      if (last && part.length <= RIDE_ALONG && count + part.length <= chunk + RIDE_ALONG) {
        last.push({ topic: b.topic, messages: part });
        count += part.length;
      } else {
        requests.push([{ topic: b.topic, messages: part }]);
        count = part.length;
      }
    }
  }
  return requests;
}

/** A producer that JSON-encodes values. */
export interface Producer {
  send(topic: string, messages: OutMessage[]): Promise<void>;
  /** Runs `fn` inside a Kafka transaction: everything sent commits together or not at all. */
  transaction(fn: (tx: Transaction) => Promise<void>): Promise<void>;
  disconnect(): Promise<void>;
}

function encode(m: OutMessage) {
  return {
    key: m.key,
    value:
      m.value === null
        ? null
        : typeof m.value === "string" || Buffer.isBuffer(m.value)
          ? m.value
          : JSON.stringify(m.value),
    headers: m.headers,
    partition: m.partition,
  };
}

function toKafkaConfig(cfg: BusConfig, log: Logger): KafkaConfig {
  const sasl: SASLOptions | undefined = cfg.sasl
    ? ({
        mechanism: cfg.sasl.mechanism,
        username: cfg.sasl.username,
        password: cfg.sasl.password,
      } as SASLOptions)
    : undefined;
  return {
    clientId: cfg.clientId,
    brokers: cfg.brokers,
    ssl: cfg.ssl,
    sasl,
    connectionTimeout: cfg.connectionTimeoutMs ?? 5_000,
    requestTimeout: cfg.requestTimeoutMs ?? 30_000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        const data = { kafkajs: rest };
        // "Response X" errors are broker answers kafkajs retries by itself (coordinator loading,
        // concurrent transactions, leader moves); a failure that outlives the retries reaches our
        // code as an exception and is logged there. At error level they only alarm operators.
        if (level === logLevel.ERROR && message.startsWith("Response ")) log.debug(data, message);
        // Our idempotent producers limit kafkajs' retries on purpose: a send that keeps failing
        // surfaces to the caller, which resends the whole batch (see producer()).
        else if (message.startsWith("Limiting retries for the idempotent producer"))
          log.debug(data, message);
        else if (level === logLevel.ERROR) log.error(data, message);
        else if (level === logLevel.WARN) log.warn(data, message);
        else log.debug(data, message);
      },
  };
}

/** Entry point to Kafka: topic admin, producers and consumers sharing one connection config. */
export class KafkaBus {
  readonly kafka: Kafka;
  private admin_: Admin | null = null;
  private readonly closers = new Set<() => Promise<void>>();

  constructor(
    readonly config: BusConfig,
    readonly log: Logger,
  ) {
    this.kafka = new Kafka(toKafkaConfig(config, log));
  }

  private async admin(): Promise<Admin> {
    if (!this.admin_) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin_ = admin;
    }
    return this.admin_;
  }

  /**
   * Creates missing topics (existing ones are left as they are) and waits for their leaders.
   * Resolves with the topics this call created; when another client created one at the same
   * moment, or the creation had to be retried, none are reported as created (the caller must
   * then treat them all as existing).
   */
  async ensureTopics(specs: TopicSpec[]): Promise<string[]> {
    // A broker still settling (new topics' leaders being elected, the controller busy) answers
    // the leader wait with retriable errors such as "does not host this topic-partition"; kafkajs
    // gives up on the first one. The whole step is retried; a retry after a creation that did go
    // through finds the topics existing and waits until their metadata answers.
    return retryTopicSetup(
      (attempt) => this.ensureTopicsOnce(specs, attempt > 1),
      (err, attempt) =>
        this.log.warn(
          { err: errorMessage(err), attempt, topics: specs.map((s) => s.topic) },
          "topic set-up failed, retrying",
        ),
    );
  }

  private async ensureTopicsOnce(specs: TopicSpec[], settling: boolean): Promise<string[]> {
    const admin = await this.admin();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) {
      if (settling) await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
      return [];
    }
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => {
        const config: Record<string, string> = { ...s.config };
        if (s.compacted) config["cleanup.policy"] = "compact";
        if (s.retentionMs !== undefined) config["retention.ms"] = String(s.retentionMs);
        return {
          topic: s.topic,
          numPartitions: s.partitions ?? 4,
          replicationFactor: s.replicationFactor ?? 1,
          configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
        };
      }),
    });
    return created ? missing.map((s) => s.topic) : [];
  }

  /** Deletes topics (tests and benchmarks). */
  async deleteTopics(topics: string[]): Promise<void> {
    const admin = await this.admin();
    await admin.deleteTopics({ topics });
  }

  /** Committed offset per partition of a group on a topic (partitions without one are absent). */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
    const admin = await this.admin();
    const done = new Map<number, bigint>();
    for (const t of await admin.fetchOffsets({ groupId, topics: [topic] }))
      for (const p of t.partitions) if (p.offset !== "-1") done.set(p.partition, BigInt(p.offset));
    return done;
  }

  /** Sum over partitions of (end offset − committed offset) for a group on a topic. */
  async lag(groupId: string, topic: string): Promise<number> {
    const [ends, done] = await Promise.all([
      (await this.admin()).fetchTopicOffsets(topic),
      this.committedOffsets(groupId, topic),
    ]);
    let lag = 0n;
    for (const p of ends) {
      // A committed offset can sit past the watermark of a transactional topic (after a commit
      // marker): count that partition as caught up, not negative.
      const d = BigInt(p.high) - (done.get(p.partition) ?? BigInt(p.low));
      if (d > 0n) lag += d;
    }
    return Number(lag);
  }

  /** High watermark per partition. */
  async endOffsets(topic: string): Promise<{ partition: number; high: string; low: string }[]> {
    const admin = await this.admin();
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({
      partition: p.partition,
      high: p.high,
      low: p.low,
    }));
  }

  /** Total number of messages currently in a topic (high − low over partitions). */
  async messageCount(topic: string): Promise<number> {
    let n = 0;
    for (const p of await this.endOffsets(topic)) n += Number(BigInt(p.high) - BigInt(p.low));
    return n;
  }

  /**
   * Connects a producer; idempotent by default so broker-side retries never duplicate.
   *
   * When the broker and the producer disagree about the producer's state (sequence numbers or
   * epoch, e.g. after a broker restart lost in-flight requests), kafkajs leaves the producer
   * failing every later send. The wrapper then replaces it with a new one (new producer id) and
   * throws a retryable error: the caller resends the whole batch, nothing is lost, and the
   * resent messages keep their keys and ids, so downstream de-duplication holds.
   */
  async producer(opts: ProducerOptions = {}): Promise<Producer> {
    const idempotent = opts.transactionalId ? true : (opts.idempotent ?? true);
    const connect = async (): Promise<KProducer> => {
      const kp = this.kafka.producer({
        idempotent,
        transactionalId: opts.transactionalId,
        // KIP-98: idempotence needs one in-flight request per connection in kafkajs.
        maxInFlightRequests: idempotent ? 1 : 5,
        // kafkajs' DefaultPartitioner, same key → partition, without its per-message allocations.
        createPartitioner: fastDefaultPartitioner,
        // A transaction's first send right after the previous commit is answered
        // CONCURRENT_TRANSACTIONS until the broker has written the commit markers (a few ms);
        // kafkajs retries it after `initialRetryTime`. At the client-wide 300 ms each transaction
        // after the first waited ~300 ms (measured: 314–341 ms per transaction, 47 ms with 20 ms).
        // Starting at 25 ms with 12 retries keeps the total retry window (~40 s) of the client's
        // 300 ms × 8 for real outages.
        retry: PRODUCER_RETRY,
        allowAutoTopicCreation: false,
      });
      await kp.connect();
      // A transactional producer registers its id now (as the Java client's initTransactions()
      // does): older instances with the same id are fenced at start, and the coordinator lookup
      // and InitProducerId (~360 ms on a fresh local broker) run while the caller may be doing
      // other start-up work, not inside its first transaction. An empty transaction's abort sends
      // nothing to the broker.
      if (opts.transactionalId) await (await kp.transaction()).abort();
      return kp;
    };
    let p = await connect();
    let replacing: Promise<void> | null = null;
    // Set from the moment `p` is known bad until a new producer connected: a replacement that
    // failed to connect (broker still down) is retried by the next send instead of sending on
    // the old, disconnected producer.
    let stale = false;
    const replace = (err: unknown): Promise<void> => {
      replacing ??= (async () => {
        stale = true;
        this.log.warn(
          { err: (err as Error).message, transactional: Boolean(opts.transactionalId) },
          "producer state lost on the broker; replacing the producer",
        );
        await p.disconnect().catch(() => {});
        p = await connect();
        stale = false;
      })().finally(() => {
        replacing = null;
      });
      return replacing;
    };
    /** Runs a send; a producer-state error replaces the producer and becomes retryable. */
    const guarded = async <R>(fn: () => Promise<R>): Promise<R> => {
      if (replacing) await replacing.catch(() => {});
      if (stale) await replace(new Error("an earlier producer replacement did not connect"));
      try {
        return await fn();
      } catch (err) {
        if (!isProducerStateError(err, Boolean(opts.transactionalId))) throw err;
        await replace(err);
        throw new TransientError("producer was replaced after a producer-state error; resend", {
          cause: err,
        });
      }
    };
    const compression = opts.compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None;
    const chunk = opts.chunkSize ?? 5_000;
    const sendPlanned = async (
      sender: { sendBatch: KProducer["sendBatch"] },
      batches: { topic: string; messages: OutMessage[] }[],
    ) => {
      for (const request of planRequests(batches, chunk)) {
        await sender.sendBatch({
          compression,
          acks: -1,
          topicMessages: request.map((r) => ({ topic: r.topic, messages: r.messages.map(encode) })),
        });
      }
    };
    const close = async () => {
      if (replacing) await replacing.catch(() => {});
      await p.disconnect();
    };
    this.closers.add(close);
    return {
      send: (topic, messages) => guarded(() => sendPlanned(p, [{ topic, messages }])),
      transaction: (fn) =>
        guarded(async () => {
          if (!opts.transactionalId)
            throw new Error("producer was created without a transactionalId");
          const tx = await p.transaction();
          try {
            await fn({
              send: (topic, messages) => sendPlanned(tx, [{ topic, messages }]),
              sendAll: (batches) => sendPlanned(tx, batches),
            });
            await tx.commit();
          } catch (err) {
            await tx.abort().catch(() => {});
            throw err;
          }
        }),
      disconnect: async () => {
        this.closers.delete(close);
        await close();
      },
    };
  }

  /** Registers something to close with the bus (consumers). */
  onClose(fn: () => Promise<void>): () => void {
    this.closers.add(fn);
    return () => this.closers.delete(fn);
  }

  /** Disconnects every producer, consumer and the admin client. */
  async close(): Promise<void> {
    for (const c of [...this.closers]) await c().catch(() => {});
    this.closers.clear();
    if (this.admin_) await this.admin_.disconnect().catch(() => {});
    this.admin_ = null;
  }
}

/** Producer retries: fast first retries, then the same overall window as the client's. */
const PRODUCER_RETRY = { initialRetryTime: 25, retries: 12, maxRetryTime: 10_000 };

/** Broker error types after which a kafkajs producer must be replaced (sequence state lost). */
const SEQUENCE_STATE_ERRORS = new Set(["OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID"]);
/**
 * Epoch errors: for an idempotent producer the same kind of lost state; for a transactional one
 * they mean another instance with the same transactional id fenced this one, which must then
 * stop, not take the id back.
 */
const EPOCH_ERRORS = new Set(["INVALID_PRODUCER_EPOCH", "INVALID_PRODUCER_ID_MAPPING"]);

/**
 * Runs a topic set-up step (given its attempt number, from 1), retrying it (up to 8 attempts,
 * 0.2 → 5 s apart) while it fails with an error kafkajs marks retriable or a leader-wait timeout;
 * any other error is thrown at once.
 */
export async function retryTopicSetup<T>(
  step: (attempt: number) => Promise<T>,
  onRetry: (err: unknown, attempt: number) => void = () => {},
  opts: { attempts?: number; baseDelayMs?: number } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step(attempt);
    } catch (err) {
      const e = err as { retriable?: unknown; name?: unknown } | null;
      const retriable = e?.retriable === true || e?.name === "KafkaJSTimeout";
      if (!retriable || attempt >= attempts) throw err;
      onRetry(err, attempt);
      const delay = Math.min((opts.baseDelayMs ?? 200) * 2 ** (attempt - 1), 5_000);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * True when `err` (or an error it wraps: kafkajs nests the broker's error in `cause` after
 * exhausting its retries) says the broker lost or rejects this producer's sequence state, so the
 * producer should be replaced by a new one.
 */
export function isProducerStateError(err: unknown, transactional = false): boolean {
  for (let e = err, depth = 0; e && depth < 8; depth++) {
    const x = e as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof x.type === "string") {
      if (SEQUENCE_STATE_ERRORS.has(x.type)) return true;
      if (!transactional && EPOCH_ERRORS.has(x.type)) return true;
    }
    e = x.cause ?? x.originalError;
  }
  return false;
}
