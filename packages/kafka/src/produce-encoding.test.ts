import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { kafkajsFixes } from "./index.js";
import { groupByPartition, kafkajsProduceV3 } from "./kafkajs-fixes.js";
import {
  crc32c,
  encodeProduceV3,
  type ProduceMessage,
  type ProduceV3Args,
} from "./produce-encoding.js";
import { bytesArb, headerValueArb } from "./test-arbitraries.js";

const require = createRequire(import.meta.url);
const kafkajsCrc32c = require("kafkajs/src/protocol/recordBatch/crc32C/crc32C.js") as (
  b: Buffer,
) => number;
const Long = require("kafkajs/src/utils/long.js") as { fromValue(v: unknown): unknown };

/** kafkajs' own bytes for the same request. */
async function kafkajsBytes(args: ProduceV3Args): Promise<Buffer> {
  if (!kafkajsProduceV3) throw new Error("kafkajs' Produce v3 request builder not found");
  const e = (await kafkajsProduceV3(args).encode()) as { buffer: Buffer };
  return e.buffer;
}

const messageArb: fc.Arbitrary<ProduceMessage> = fc.record(
  {
    key: bytesArb,
    value: bytesArb,
    headers: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.oneof(headerValueArb, fc.array(headerValueArb, { maxLength: 3 })),
      { maxKeys: 3 },
    ),
  },
  { requiredKeys: ["value"] },
);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("encodeProduceV3", () => {
  it("equals kafkajs' encoding byte for byte (keys, tombstones, buffers, unicode, headers)", async () => {
    vi.spyOn(Date, "now").mockReturnValue(1_732_000_000_123);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            topic: fc.string({ minLength: 1, maxLength: 20 }),
            partitions: fc.array(
              fc.record({
                partition: fc.nat(63),
                firstSequence: fc.nat(1_000_000),
                messages: fc.array(messageArb, { minLength: 1, maxLength: 20 }),
              }),
              { minLength: 1, maxLength: 3 },
            ),
          }),
          { minLength: 1, maxLength: 2 },
        ),
        fc.option(fc.string({ minLength: 1, maxLength: 12 })),
        fc.oneof(fc.constant(-1), fc.nat(2 ** 31)),
        async (topicData, transactionalId, producerId) => {
          const args: ProduceV3Args = {
            acks: -1,
            timeout: 30_000,
            transactionalId,
            producerId: Long.fromValue(producerId),
            producerEpoch: 3,
            topicData,
          };
          expect(encodeProduceV3(args).equals(await kafkajsBytes(args))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("equals kafkajs' encoding for messages with their own timestamps", async () => {
    vi.spyOn(Date, "now").mockReturnValue(1_732_000_000_000);
    const messages = [
      { key: "a", value: "1", timestamp: "1731999999000" },
      { key: "b", value: "2", timestamp: "1731999990000" },
      { key: "c", value: "3" }, // no timestamp: now
      { key: "d", value: "4", timestamp: "1732000005000" },
    ];
    const args: ProduceV3Args = {
      acks: 1,
      timeout: 5_000,
      topicData: [{ topic: "t", partitions: [{ partition: 0, messages }] }],
    };
    expect(encodeProduceV3(args).equals(await kafkajsBytes(args))).toBe(true);
  });

  it("with 5,000 messages (multi-byte varints) still equals kafkajs", async () => {
    vi.spyOn(Date, "now").mockReturnValue(1_732_000_000_000);
    const messages = Array.from({ length: 5_000 }, (_, i) => ({
      key: `0x${i.toString(16).padStart(40, "0")}`,
      value: JSON.stringify({ i, memo: "x".repeat(i % 400) }),
    }));
    const args: ProduceV3Args = {
      acks: -1,
      timeout: 30_000,
      topicData: [{ topic: "transfer.v1", partitions: [{ partition: 2, messages }] }],
    };
    expect(encodeProduceV3(args).equals(await kafkajsBytes(args))).toBe(true);
  });
});

describe("crc32c", () => {
  it("matches the standard check value and kafkajs' implementation on every length and offset", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(16), (a, cut) => {
        const b = Buffer.from(a);
        const start = Math.min(cut, b.length);
        expect(crc32c(b, start)).toBe(kafkajsCrc32c(b.subarray(start)));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("kafkajs fixes", () => {
  it("are installed when the package is imported before kafkajs", () => {
    expect(kafkajsFixes).toEqual({
      groupByPartition: true,
      produceEncoding: true,
      recordDecoding: true,
      originalProduceV3: expect.any(Function),
      originalRecordDecoder: expect.any(Function),
    });
  });

  it("are installed in a plain Node process (how services run: tsx, ESM importing kafkajs)", () => {
    // Node's ESM loader caches CommonJS modules before evaluating them; a presence check of the
    // cache would wrongly find kafkajs already loaded there.
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        "const k = await import('@chainscreen/kafka'); console.log(JSON.stringify(k.kafkajsFixes))",
      ],
      { encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({
      groupByPartition: true,
      produceEncoding: true,
      recordDecoding: true,
    });
  });

  it("groups messages by partition in send order", () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ i }));
    const grouped = groupByPartition({
      topic: "t",
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => message.i % 3,
    });
    expect(grouped).toEqual({
      0: [{ i: 0 }, { i: 3 }, { i: 6 }, { i: 9 }],
      1: [{ i: 1 }, { i: 4 }, { i: 7 }],
      2: [{ i: 2 }, { i: 5 }, { i: 8 }],
    });
    expect(
      groupByPartition({ topic: "t", partitionMetadata: [], messages, partitioner: () => 0 }),
    ).toEqual({});
  });
});
