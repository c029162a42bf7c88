import { createRequire } from "node:module";
import fc from "fast-check";
import { Partitioners } from "kafkajs";
import { describe, expect, it } from "vitest";
import { fastDefaultPartitioner, murmur2 } from "./partitioner.js";

// kafkajs' own murmur2 (Long arithmetic), the reference this one must equal bit for bit.
const kafkajsMurmur2 = createRequire(import.meta.url)(
  "kafkajs/src/producer/partitioners/default/murmur2.js",
) as (key: string | Buffer) => number;

const meta = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    partitionId: i,
    leader: 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
  }));

describe("murmur2", () => {
  it("equals kafkajs' murmur2 for strings (ASCII, unicode, every length mod 4) and buffers", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary", maxLength: 300 })), (key) => {
        expect(murmur2(key)).toBe(kafkajsMurmur2(key));
        expect(murmur2(Buffer.from(key))).toBe(kafkajsMurmur2(Buffer.from(key)));
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(murmur2(Buffer.from(bytes))).toBe(kafkajsMurmur2(Buffer.from(bytes)));
      }),
    );
  });

  it("matches the Java client's test vectors", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    expect(murmur2("21")).toBe(-973932308);
    expect(murmur2("foobar")).toBe(-790332482);
    expect(murmur2("a-little-bit-long-string")).toBe(-985981536);
    expect(murmur2("a-little-bit-longer-string")).toBe(-1486304829);
    expect(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")).toBe(-58897971);
    expect(murmur2("abc")).toBe(479470107);
  });
});

describe("fastDefaultPartitioner", () => {
  it("puts every keyed message where kafkajs' DefaultPartitioner does", () => {
    const ours = fastDefaultPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 64 }), (key, n) => {
        const args = { topic: "t", partitionMetadata: meta(n), message: { key, value: "v" } };
        expect(ours(args)).toBe(theirs(args));
      }),
      { numRuns: 2_000 },
    );
  });

  it("keeps an explicit partition and spreads keyless messages over the partitions with a leader", () => {
    const p = fastDefaultPartitioner();
    const partitionMetadata = meta(4);
    expect(
      p({ topic: "t", partitionMetadata, message: { key: "k", value: "v", partition: 3 } }),
    ).toBe(3);
    (partitionMetadata[1] as { leader: number }).leader = -1;
    const seen = new Set<number>();
    for (let i = 0; i < 30; i++)
      seen.add(p({ topic: "t", partitionMetadata, message: { value: "v" } }));
    expect([...seen].sort()).toEqual([0, 2, 3]);
  });
});
