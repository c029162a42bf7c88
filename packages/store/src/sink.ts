import type { Received } from "@chainscreen/kafka";
import type { Logger } from "@chainscreen/logger";
import { counter, histogram } from "@chainscreen/runtime";
import {
  AlertV1,
  FastTransferV1,
  FlagV1,
  type MessageValidator,
  type TransferV1,
  WatchlistEntryV1,
} from "@chainscreen/schema";
import {
  alertRow,
  type EncodedRows,
  encodeTransfers,
  flagRow,
  type KafkaOrigin,
  transferRow,
  type WithOrigin,
  watchlistEntryRow,
} from "./rows.js";
import { type InsertOptions, type Store, Tables } from "./store.js";

const rowsInserted = counter(
  "chainscreen_sink_rows_inserted_total",
  "Rows inserted into the store",
  ["table"],
);
const rowsSkipped = counter(
  "chainscreen_sink_rows_skipped_total",
  "Redelivered messages skipped because the store already holds their offset",
  ["table"],
);
const withoutRow = counter(
  "chainscreen_sink_messages_without_row_total",
  "Messages that map to no row (watchlist tombstones: the history they end is kept)",
  ["table"],
);
const batches = counter("chainscreen_sink_batches_total", "Insert batches by outcome", [
  "table",
  "outcome",
]);
const batchRows = histogram(
  "chainscreen_sink_batch_rows",
  "Rows per insert batch",
  ["table"],
  [1, 10, 100, 1000, 5000, 10000, 50000, 100000],
);
const insertSeconds = histogram("chainscreen_sink_insert_seconds", "Latency of one insert batch", [
  "table",
]);

/** How a topic's messages become rows of one table. */
export interface SinkTarget<T> {
  table: string;
  /** Validates the topic's messages (what `consume()` is given). */
  schema: MessageValidator<T>;
  /** The row of a message, or null when the message writes nothing (e.g. a tombstone). */
  toRow: (value: T, origin: KafkaOrigin) => object | null;
  /**
   * Optional fast path for a table with one row per message: the rows `toRow` would give, already
   * encoded as one JSONCompactEachRow body.
   */
  encode?: (messages: ReadonlyArray<WithOrigin<T>>) => EncodedRows;
  /** See {@link InsertOptions.optimizeOnInsert} (default: the engine's, true). */
  optimizeOnInsert?: boolean;
}

/** transfer.v1 → transfers. */
export const transfersTarget: SinkTarget<TransferV1> = {
  table: Tables.transfers,
  schema: FastTransferV1,
  toRow: transferRow,
  encode: encodeTransfers,
  // transfers and transfers_by_address are ReplacingMergeTree tables read with FINAL: a status
  // change in the same batch as the transfer is collapsed by merges instead of at insert.
  optimizeOnInsert: false,
};
/** flag.v1 → flags. */
export const flagsTarget: SinkTarget<FlagV1> = {
  table: Tables.flags,
  schema: FlagV1,
  toRow: flagRow,
};
/** alert.v1 → alerts (the alerter publishes every alert it delivers). */
export const alertsTarget: SinkTarget<AlertV1> = {
  table: Tables.alerts,
  schema: AlertV1,
  toRow: alertRow,
};
/**
 * watchlist.v1 → watchlist_entries, keeping history: consume with `allowTombstones` (the value is
 * null for a tombstone), which writes nothing.
 */
export const watchlistTarget: SinkTarget<WatchlistEntryV1 | null> = {
  table: Tables.watchlistEntries,
  schema: WatchlistEntryV1.nullable(),
  toRow: watchlistEntryRow,
};

/**
 * Writes Kafka batches into one table, exactly once as seen from the store:
 *
 * - Each row carries its Kafka origin (topic, partition, offset). Before the first batch of a
 *   partition (after start or a rebalance) the sink reads the highest stored offset of that
 *   partition and skips everything at or below it — a batch that was inserted but whose offsets
 *   were never committed (crash, kill -9) is not inserted again.
 * - Each insert carries `insert_deduplication_token = topic:partition:first-last`, so a retried
 *   insert whose first attempt did land (timeout, connection reset) is dropped by the engine.
 * - A message whose target maps it to no row (tombstone) is passed over; its offset is committed
 *   with the batch like any other.
 * - It throws on failure and never commits: the Kafka consumer retries the batch with backoff
 *   (store unreachable → TransientError) or isolates bad messages (ValidationError → dead letter).
 * - Several consumers of one group may share a sink (so that one fetches while another inserts):
 *   batches of the same partition run one after the other, so a partition that moves between
 *   them in a rebalance is resumed only after the previous owner's insert has landed or failed.
 */
export class StoreSink<T> {
  private readonly stored = new Map<string, bigint>();
  /** Tail of the batches running or waiting per topic:partition. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly target: SinkTarget<T>,
    private readonly log: Logger,
    private readonly maxBatchRows = 50_000,
  ) {}

  /** Forget the stored high-water marks (on rebalance another instance may have written more). */
  reset(): void {
    this.stored.clear();
  }

  private async highWater(topic: string, partition: number): Promise<bigint> {
    const key = `${topic}:${partition}`;
    let hw = this.stored.get(key);
    if (hw === undefined) {
      const offsets = await this.store.storedOffsets(this.target.table, topic);
      hw = offsets.get(partition) ?? -1n;
      this.stored.set(key, hw);
      if (hw >= 0n)
        this.log.info(
          { topic, partition, storedOffset: hw.toString() },
          "resuming after stored offset",
        );
    }
    return hw;
  }

  /** Handler for `consume({ handleBatch })`: one partition's batch, in offset order. */
  readonly handleBatch = (messages: Received<T>[]): Promise<void> => {
    const first = messages[0];
    if (!first) return Promise.resolve();
    const key = `${first.topic}:${first.partition}`;
    const before = this.running.get(key);
    const run = before ? before.then(() => this.write(messages)) : this.write(messages);
    const tail = run.catch(() => {});
    this.running.set(key, tail);
    void tail.then(() => {
      if (this.running.get(key) === tail) this.running.delete(key);
    });
    return run;
  };

  private async write(messages: Received<T>[]): Promise<void> {
    const first = messages[0];
    if (!first) return;
    const { topic, partition } = first;
    const hw = await this.highWater(topic, partition);
    const fresh = messages.filter((m) => BigInt(m.offset) > hw);
    if (fresh.length < messages.length)
      rowsSkipped.inc({ table: this.target.table }, messages.length - fresh.length);
    for (let i = 0; i < fresh.length; i += this.maxBatchRows) {
      const chunk = fresh.slice(i, i + this.maxBatchRows);
      const a = chunk[0];
      const b = chunk[chunk.length - 1];
      if (!a || !b) continue;
      const opts: InsertOptions = {
        dedupToken: `${topic}:${partition}:${a.offset}-${b.offset}`,
        optimizeOnInsert: this.target.optimizeOnInsert,
      };
      let insert: () => Promise<void>;
      let count: number;
      if (this.target.encode) {
        const encoded = this.target.encode(chunk);
        count = encoded.rows;
        insert = () => this.store.insertEncoded(this.target.table, encoded, opts);
      } else {
        const rows: object[] = [];
        for (const m of chunk) {
          const row = this.target.toRow(m.value, { topic, partition, offset: m.offset });
          if (row !== null) rows.push(row);
        }
        count = rows.length;
        insert = () => this.store.insertRows(this.target.table, rows, opts);
      }
      if (count < chunk.length) withoutRow.inc({ table: this.target.table }, chunk.length - count);
      if (count === 0) continue;
      const t0 = performance.now();
      try {
        await insert();
      } catch (err) {
        batches.inc({ table: this.target.table, outcome: "error" });
        this.log.warn(
          {
            table: this.target.table,
            topic,
            partition,
            rows: count,
            err: (err as Error).message,
          },
          "insert failed",
        );
        throw err;
      }
      insertSeconds.observe({ table: this.target.table }, (performance.now() - t0) / 1000);
      batches.inc({ table: this.target.table, outcome: "ok" });
      batchRows.observe({ table: this.target.table }, count);
      rowsInserted.inc({ table: this.target.table }, count);
      this.stored.set(`${topic}:${partition}`, BigInt(b.offset));
    }
  }
}
