import type { Received } from "@chainscreen/kafka";
import { silentLogger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import type { EncodedRows } from "./rows.js";
import { StoreSink, transfersTarget } from "./sink.js";
import type { InsertOptions, Store } from "./store.js";

/** A store in memory: rows as (partition, offset), inserts that take a while. */
class FakeStore {
  readonly rows: Array<{ partition: number; offset: bigint }> = [];
  readonly settings: InsertOptions[] = [];
  inFlight = 0;
  maxInFlight = 0;

  async storedOffsets(): Promise<Map<number, bigint>> {
    const out = new Map<number, bigint>();
    for (const r of this.rows) out.set(r.partition, max(out.get(r.partition) ?? -1n, r.offset));
    return out;
  }

  async insertEncoded(_table: string, rows: EncodedRows, opts: InsertOptions): Promise<void> {
    this.settings.push(opts);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 20));
    const p = rows.columns.indexOf("kafka_partition");
    const o = rows.columns.indexOf("kafka_offset");
    for (const line of rows.body.toString().trim().split("\n")) {
      const v = JSON.parse(line) as unknown[];
      this.rows.push({ partition: Number(v[p]), offset: BigInt(String(v[o])) });
    }
    this.inFlight--;
  }
}
const max = (a: bigint, b: bigint) => (a > b ? a : b);

const msg = (partition: number, offset: number): Received<TransferV1> => ({
  topic: "transfer.v1",
  partition,
  offset: String(offset),
  key: null,
  timestamp: 0,
  headers: {},
  value: {
    type: "transfer.v1",
    id: `t${partition}:${offset}`,
    chain: "ethereum",
    kind: "native",
    txHash: "0x1",
    index: "0",
    blockNumber: 1,
    blockHash: null,
    timestamp: 1_700_000_000_000,
    from: "0xa",
    to: "0xb",
    asset: { symbol: "ETH", contract: null, decimals: 18 },
    amount: "1",
    status: "confirmed",
    source: "test",
    observedAt: 1_700_000_000_000,
  },
});
const range = (partition: number, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => msg(partition, from + i));

describe("StoreSink", () => {
  it("runs a partition's batches one after the other, so a batch handed over in a rebalance is not written twice", async () => {
    const store = new FakeStore();
    const sink = new StoreSink(store as unknown as Store, transfersTarget, silentLogger());
    // Consumer A's batch is inserting when the partition moves to consumer B, which gets the same
    // messages again (A never committed) plus newer ones.
    const a = sink.handleBatch(range(0, 0, 100));
    sink.reset();
    const b = sink.handleBatch(range(0, 0, 150));
    const other = sink.handleBatch(range(1, 0, 10)); // another partition does not wait
    await Promise.all([a, b, other]);
    const offsets = store.rows.filter((r) => r.partition === 0).map((r) => Number(r.offset));
    expect(offsets).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(store.maxInFlight).toBe(2);
    expect(store.settings[0]).toEqual({
      dedupToken: "transfer.v1:0:0-99",
      optimizeOnInsert: false,
    });
  });

  it("lets the next batch of a partition run after one that failed", async () => {
    const store = new FakeStore();
    let fail = true;
    const insert = store.insertEncoded.bind(store);
    store.insertEncoded = async (...args) => {
      if (fail) {
        fail = false;
        throw new Error("store unreachable");
      }
      return insert(...args);
    };
    const sink = new StoreSink(store as unknown as Store, transfersTarget, silentLogger());
    await expect(sink.handleBatch(range(0, 0, 5))).rejects.toThrow("store unreachable");
    await sink.handleBatch(range(0, 0, 5)); // the consumer's retry
    expect(store.rows.map((r) => Number(r.offset))).toEqual([0, 1, 2, 3, 4]);
  });
});
