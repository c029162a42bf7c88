import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BatchContext, decodeRecordV0 } from "./fetch-decoding.js";
import { kafkajsRecordDecoder } from "./kafkajs-fixes.js";
import { bytesArb, headerValueArb } from "./test-arbitraries.js";

const require = createRequire(import.meta.url);
// kafkajs' record encoder (not replaced) writes the records the decoders read.
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js") as (r: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: Record<string, Buffer | string | (Buffer | string)[]>;
}) => { buffer: Buffer };
const Decoder = require("kafkajs/src/protocol/decoder.js") as new (
  b: Buffer,
) => { buffer: Buffer; offset: number; readVarIntBytes(): Buffer };

/** The record's body as the batch decoder hands it over: its length-prefixed bytes. */
function body(encoded: Buffer) {
  return new Decoder(new Decoder(encoded).readVarIntBytes());
}

describe("decodeRecordV0", () => {
  it("decodes exactly what kafkajs' record decoder does (offsets, timestamps, keys, headers)", () => {
    if (!kafkajsRecordDecoder) throw new Error("kafkajs' record decoder not found");
    const original = kafkajsRecordDecoder;
    fc.assert(
      fc.property(
        fc.record({
          offsetDelta: fc.nat(2 ** 31 - 1),
          timestampDelta: fc.oneof(fc.integer({ min: -100_000, max: 100_000 }), fc.nat(2 ** 40)),
          key: bytesArb,
          value: bytesArb,
          headers: fc.dictionary(
            fc.string({ minLength: 1, maxLength: 8 }),
            fc.oneof(headerValueArb, fc.array(headerValueArb, { minLength: 1, maxLength: 3 })),
            { maxKeys: 3 },
          ),
        }),
        fc.oneof(
          fc.bigInt({ min: 0n, max: 2n ** 40n }),
          fc.bigInt({ min: 2n ** 53n - 2n ** 32n, max: 2n ** 63n - 2n ** 32n }),
        ),
        fc.oneof(fc.constant(-1n), fc.bigInt({ min: 1_500_000_000_000n, max: 2_000_000_000_000n })),
        fc.constantFrom(0, 1),
        (rec, firstOffset, firstTimestamp, timestampType) => {
          const encoded = Record(rec).buffer;
          const ctx: BatchContext = {
            firstOffset: firstOffset.toString(),
            firstTimestamp: firstTimestamp.toString(),
            maxTimestamp: "1732000000000",
            magicByte: 2,
            isControlBatch: false,
            timestampType,
          };
          expect(decodeRecordV0(body(encoded), ctx)).toEqual(original(body(encoded), ctx));
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("takes the exact (BigInt) way for timestamp deltas beyond 2^49", () => {
    if (!kafkajsRecordDecoder) throw new Error("kafkajs' record decoder not found");
    const encoded = Record({
      offsetDelta: 7,
      timestampDelta: 2 ** 52 + 3,
      key: "k",
      value: "v",
      headers: { a: "1", b: ["2", "3"] },
    }).buffer;
    const ctx: BatchContext = { firstOffset: "9007199254740000", firstTimestamp: "1000" };
    const ours = decodeRecordV0(body(encoded), ctx);
    expect(ours).toEqual(kafkajsRecordDecoder(body(encoded), ctx));
    expect(ours.timestamp).toBe((2n ** 52n + 1003n).toString());
    expect(ours.headers).toEqual({ a: Buffer.from("1"), b: [Buffer.from("2"), Buffer.from("3")] });
  });

  it("rejects a truncated record instead of returning garbage", () => {
    const encoded = Record({
      offsetDelta: 1,
      timestampDelta: 0,
      key: "key",
      value: "value",
      headers: {},
    }).buffer;
    const whole = body(encoded);
    const cut = new Decoder(whole.buffer.subarray(0, whole.buffer.length - 3));
    expect(() => decodeRecordV0(cut, { firstOffset: "0", firstTimestamp: "0" })).toThrow(
      /record ends inside/,
    );
  });
});
