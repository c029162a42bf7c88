import { type BusConfig, KafkaBus } from "@chainscreen/kafka";
import type { Logger } from "@chainscreen/logger";
import { type OpsServer, type Shutdown, startOpsServer } from "@chainscreen/runtime";
import { ChainFollower, type FollowerOptions } from "./follower.js";
import { type IngestTopics, KafkaIngestStore } from "./kafka-store.js";

/** Options of {@link startFollowerService}. */
export interface FollowerServiceOptions {
  /** Chain family for log messages, e.g. `bitcoin` gives "bitcoin follower stopped". */
  name: string;
  log: Logger;
  /** The service's shutdown manager; the steps below are registered on it. */
  shutdown: Shutdown;
  kafka: BusConfig;
  topics: Partial<IngestTopics>;
  /** Stable per follower: a restarted process with the same id fences the old one. */
  transactionalId: string;
  /** The follower's settings; store and logger are supplied here. */
  follower: Omit<FollowerOptions, "store" | "log">;
  /** Port of /healthz, /readyz and /metrics; 0 starts no ops server. */
  opsPort: number;
  /** Facts for /readyz next to the follower's tip. */
  opsDetails?: () => Record<string, unknown>;
  /** The source's own clients, closed in this order after the Kafka store and before the bus. */
  sourceClients?: [name: string, close: () => Promise<void>][];
  /** Ends the process after a fatal follower error and the shutdown (default process.exit). */
  exit?: (code: number) => void;
}

/** What {@link startFollowerService} built and started. */
export interface FollowerService {
  bus: KafkaBus;
  store: KafkaIngestStore;
  follower: ChainFollower;
  ops: OpsServer | null;
}

/**
 * Composition of a live chain ingester: a Kafka bus, the transactional {@link KafkaIngestStore},
 * a {@link ChainFollower} running until shutdown, an optional ops server, and the shutdown steps.
 * A non-retryable follower error (e.g. a reorg deeper than the window) logs fatal, shuts down and
 * exits 1, so the supervisor restarts the process.
 */
export async function startFollowerService(o: FollowerServiceOptions): Promise<FollowerService> {
  const { log, shutdown } = o;
  const bus = new KafkaBus(o.kafka, log);
  const store = new KafkaIngestStore({
    bus,
    log,
    topics: o.topics,
    transactionalId: o.transactionalId,
  });
  const follower = new ChainFollower({ ...o.follower, store, log });
  const ops = o.opsPort
    ? await startOpsServer({
        port: o.opsPort,
        isReady: () => follower.tip !== null,
        details: () => ({ tip: follower.tip?.number ?? null, ...o.opsDetails?.() }),
      })
    : null;

  const stop = new AbortController();
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const running = follower.run(stop.signal).catch((err: unknown) => {
    log.fatal({ err }, `${o.name} follower stopped`);
    void shutdown.run("follower failed").then(() => exit(1));
  });

  // Order: stop intake (no new tick; the tick in flight finishes and commits its Kafka
  // transaction, so the checkpoint and the events stay together), then close the producer, the
  // source's clients, the bus and the ops server. There is nothing to flush: each commit is
  // already durable.
  shutdown.add("stop follower", async () => {
    stop.abort();
    await running;
  });
  shutdown.add("kafka store", () => store.close());
  for (const [name, close] of o.sourceClients ?? []) shutdown.add(name, close);
  shutdown.add("kafka bus", () => bus.close());
  if (ops) shutdown.add("ops server", () => ops.close());
  return { bus, store, follower, ops };
}
