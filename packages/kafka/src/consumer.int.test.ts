import {
  FastTransferV1,
  TransferV1 as TransferSchema,
  type TransferV1,
  transferId,
} from "@chainscreen/schema";
import { collectTopic, testBus, uniqueName, waitFor } from "@chainscreen/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { consume, type Received } from "./consumer.js";

const brokers = inject("kafkaBrokers");
const bus = testBus(brokers);
afterAll(() => bus.close());

function transfer(i: number): TransferV1 {
  const txHash = `0x${i.toString(16).padStart(64, "0")}`;
  return {
    type: "transfer.v1",
    id: transferId("ethereum", txHash, "native", 0),
    chain: "ethereum",
    kind: "native",
    txHash,
    index: "0",
    blockNumber: 1000 + Math.floor(i / 100),
    blockHash: `0x${"ab".repeat(32)}`,
    timestamp: 1_700_000_000_000 + i,
    from: `0x${(i % 997).toString(16).padStart(40, "0")}`,
    to: `0x${(i % 991).toString(16).padStart(40, "1")}`,
    asset: { symbol: "ETH", contract: null, decimals: 18 },
    amount: String(BigInt(i) * 10n ** 15n),
    status: "confirmed",
    source: "test",
    observedAt: 1_700_000_000_000,
  };
}

describe("validating consumer on the real broker", () => {
  it("processes 100,000 transfers exactly across a consumer hand-over, none lost", async () => {
    const topic = uniqueName("transfers");
    const groupId = uniqueName("group");
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    const N = 100_000;
    const producer = await bus.producer();
    const all = Array.from({ length: N }, (_, i) => transfer(i));
    await producer.send(
      topic,
      all.map((t) => ({ key: t.id, value: t })),
    );
    await producer.disconnect();

    const seen = new Map<string, number>();
    const record = async (msgs: { value: TransferV1 }[]) => {
      for (const m of msgs) seen.set(m.value.id, (seen.get(m.value.id) ?? 0) + 1);
    };
    // First consumer: stopped once it has processed roughly a third.
    const first = await consume(bus, {
      groupId,
      topics: [topic],
      schema: TransferSchema,
      fromBeginning: true,
      handleBatch: record,
      maxBytesPerPartition: 256 * 1024,
    });
    await waitFor(() => seen.size >= N / 3, { timeoutMs: 120_000 });
    await first.stop();
    const atHandOver = seen.size;
    expect(atHandOver).toBeLessThan(N);

    // Second consumer in the same group resumes from the committed offsets.
    const second = await consume(bus, {
      groupId,
      topics: [topic],
      schema: TransferSchema,
      fromBeginning: true,
      handleBatch: record,
    });
    await waitFor(() => seen.size >= N, { timeoutMs: 180_000, message: "all ids processed" });
    await second.stop();
    for (const t of all) expect(seen.has(t.id)).toBe(true);
    // Stop commits what was processed, so nothing is processed twice across the hand-over.
    const twice = [...seen.values()].filter((c) => c > 1).length;
    expect(twice).toBe(0);
    expect(await bus.lag(groupId, topic)).toBe(0);
  });

  it.each([
    ["the zod schema", TransferSchema],
    ["the fast path (services/sink)", FastTransferV1],
  ])(
    "sends malformed messages to the dead-letter topic and keeps consuming, with %s",
    async (_, schema) => {
      const topic = uniqueName("in");
      const dlq = uniqueName("dlq");
      await bus.ensureTopics([
        { topic, partitions: 1 },
        { topic: dlq, partitions: 1 },
      ]);
      const producer = await bus.producer();
      const good1 = transfer(1);
      const good2 = transfer(2);
      const extraKey = { ...transfer(4), note: "unknown keys are dropped, not refused" };
      await producer.send(topic, [
        { key: good1.id, value: good1, headers: { origin: "test", trace: "t-1" } },
        { key: "bad-json", value: "{not json" },
        { key: "bad-schema", value: { ...transfer(3), amount: "1.5" } },
        { key: "binary", value: Buffer.from([0xff, 0x00, 0xfe]) },
        { key: extraKey.id, value: extraKey },
        { key: good2.id, value: good2 },
      ]);
      await producer.disconnect();
      const processed: TransferV1[] = [];
      const envelopes: Omit<Received<TransferV1>, "value" | "timestamp">[] = [];
      const c = await consume(bus, {
        groupId: uniqueName("g"),
        topics: [topic],
        schema,
        deadLetterTopic: dlq,
        fromBeginning: true,
        handleBatch: async (msgs) => {
          for (const { value, timestamp, ...rest } of msgs) {
            processed.push(value);
            envelopes.push(rest);
            expect(Number.isSafeInteger(timestamp) && timestamp > 1_600_000_000_000).toBe(true);
          }
        },
      });
      await waitFor(() => processed.length === 3);
      await c.stop();
      expect(processed.map((t) => t.id)).toEqual([good1.id, extraKey.id, good2.id]);
      expect(processed[1]).toEqual(transfer(4)); // as zod returns it
      // What comes with each value: coordinates, key, headers as strings, the received bytes.
      expect(envelopes[0]).toEqual({
        topic,
        partition: 0,
        offset: "0",
        key: good1.id,
        headers: { origin: "test", trace: "t-1" },
        bytes: Buffer.from(JSON.stringify(good1)),
      });
      expect(envelopes.map((e) => [e.offset, e.headers])).toEqual([
        ["0", { origin: "test", trace: "t-1" }],
        ["4", {}],
        ["5", {}],
      ]);
      const dead = await collectTopic(bus, dlq, { until: (m) => m.length >= 3 });
      expect(dead).toHaveLength(3);
      const errors = dead.map((d) => (d.value as { error: string }).error);
      expect(errors[0]).toMatch(/not valid JSON/);
      expect(errors[1]).toBe(
        "schema validation failed: amount: amount must be a non-negative integer in base units, as a decimal string",
      );
      expect(errors[2]).toMatch(/not valid JSON/);
      const first = dead[0]?.value as { sourceTopic: string; offset: string; valueBase64: string };
      expect(first.sourceTopic).toBe(topic);
      expect(first.offset).toBe("1");
      expect(Buffer.from(first.valueBase64, "base64").toString()).toBe("{not json");
    },
  );

  it("retries a batch whose handler fails with a retryable error without losing it", async () => {
    const topic = uniqueName("retry");
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await bus.producer();
    await producer.send(
      topic,
      [1, 2, 3].map((i) => ({ key: String(i), value: transfer(i) })),
    );
    await producer.disconnect();
    let failures = 2;
    const ids: string[] = [];
    const c = await consume(bus, {
      groupId: uniqueName("g"),
      topics: [topic],
      schema: TransferSchema,
      fromBeginning: true,
      handleBatch: async (msgs) => {
        if (failures-- > 0) throw new Error("store unavailable");
        for (const m of msgs) ids.push(m.value.id);
      },
    });
    await waitFor(() => ids.length === 3);
    await c.stop();
    expect(ids).toEqual([1, 2, 3].map((i) => transfer(i).id));
  });

  it("commits a produce+checkpoint pair atomically with a transactional producer", async () => {
    const topic = uniqueName("tx");
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    const p = await bus.producer({ transactionalId: uniqueName("txid") });
    await p.transaction(async (tx) => {
      await tx.send(topic, [{ key: "a", value: { n: 1 } }]);
    });
    await expect(
      p.transaction(async (tx) => {
        await tx.send(topic, [{ key: "b", value: { n: 2 } }]);
        throw new Error("crash before commit");
      }),
    ).rejects.toThrow(/crash/);
    await p.transaction(async (tx) => {
      await tx.send(topic, [{ key: "c", value: { n: 3 } }]);
    });
    await p.disconnect();
    const seen: string[] = [];
    const c = await consume(bus, {
      groupId: uniqueName("g"),
      topics: [topic],
      schema: (await import("zod")).z.object({ n: (await import("zod")).z.number() }),
      fromBeginning: true,
      handleBatch: async (msgs) => {
        for (const m of msgs) seen.push(m.key ?? "");
      },
    });
    await waitFor(() => seen.length >= 2);
    await new Promise((r) => setTimeout(r, 500));
    await c.stop();
    // read_committed: the aborted "b" is never delivered.
    expect(seen).toEqual(["a", "c"]);
  });
});
