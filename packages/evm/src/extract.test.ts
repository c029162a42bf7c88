import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeTransferLog, isTransferLog, TRANSFER_TOPIC } from "./extract.js";
import type { RpcLog } from "./types.js";

/** The decoder as first written (words collected into an array), kept as the reference. */
function reference(log: RpcLog): { from: string; to: string; value: string } | null {
  if (log.topics[0]?.toLowerCase() !== TRANSFER_TOPIC) return null;
  const data = log.data.slice(2);
  if (data.length % 64 !== 0) return null;
  const words = [...log.topics.slice(1)];
  for (let i = 0; i < data.length; i += 64) words.push(`0x${data.slice(i, i + 64)}`);
  if (words.length !== 3 || log.topics.length === 4) return null;
  const [f, t, v] = words as [string, string, string];
  return {
    from: `0x${f.slice(-40)}`.toLowerCase(),
    to: `0x${t.slice(-40)}`.toLowerCase(),
    value: BigInt(v).toString(),
  };
}

const hexDigits = (n: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: n, maxLength: n });
const word = hexDigits(64).map((h) => `0x${h}`);
const topic0 = fc.constantFrom(
  TRANSFER_TOPIC,
  TRANSFER_TOPIC.toUpperCase().replace("0X", "0x"),
  `0x${"ab".repeat(32)}`,
);
const log = fc.record({
  address: hexDigits(40).map((h) => `0x${h}`),
  topics: fc.tuple(topic0, fc.array(word, { maxLength: 3 })).map(([t0, rest]) => [t0, ...rest]),
  // Whole words mostly; sometimes a ragged tail.
  data: fc.oneof(
    fc.array(hexDigits(64), { maxLength: 4 }).map((ws) => `0x${ws.join("")}`),
    fc
      .nat({ max: 200 })
      .chain((n) => hexDigits(n))
      .map((h) => `0x${h}`),
  ),
  logIndex: fc.constant("0x0"),
  transactionHash: word,
});

describe("decodeTransferLog", () => {
  it("decodes exactly as the reference decoder, indexed or not, and agrees with isTransferLog", () => {
    fc.assert(
      fc.property(log, (l) => {
        const got = decodeTransferLog(l);
        expect(got).toEqual(reference(l));
        expect(isTransferLog(l)).toBe(got !== null);
      }),
      { numRuns: 3000 },
    );
  });

  it("reads from, to and amount from topics and data in that order", () => {
    const pad = (h: string) => `0x${h.padStart(64, "0")}`;
    const from = "ab".repeat(20);
    const to = "CD".repeat(20);
    const indexed = { topics: [TRANSFER_TOPIC, pad(from), pad(to)], data: pad("ff") };
    const plain = {
      topics: [TRANSFER_TOPIC],
      data: `0x${[from, to, "ff"].map((w) => w.padStart(64, "0")).join("")}`,
    };
    for (const l of [indexed, plain]) {
      expect(
        decodeTransferLog({
          ...l,
          address: pad("1").slice(0, 42),
          logIndex: "0x0",
          transactionHash: pad("2"),
        }),
      ).toEqual({ from: `0x${from}`, to: `0x${to.toLowerCase()}`, value: "255" });
    }
    // ERC-721: token id as a 4th topic, no amount.
    expect(
      isTransferLog({
        topics: [TRANSFER_TOPIC, pad(from), pad(to), pad("1")],
        data: "0x",
        address: "0x",
        logIndex: "0x0",
        transactionHash: "0x",
      }),
    ).toBe(false);
  });
});
