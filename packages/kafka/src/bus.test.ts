import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from "kafkajs";
import { describe, expect, it } from "vitest";
import { isProducerStateError, planRequests, RIDE_ALONG, retryTopicSetup } from "./bus.js";

// The broker errors exactly as kafkajs builds them from a response's error code.
const protocolError = (type: string, code: number) =>
  new KafkaJSProtocolError({ type, code, retriable: false, message: type } as unknown as Error);

describe("isProducerStateError", () => {
  const outOfOrder = protocolError("OUT_OF_ORDER_SEQUENCE_NUMBER", 45);
  const unknownPid = protocolError("UNKNOWN_PRODUCER_ID", 59);
  const epoch = protocolError("INVALID_PRODUCER_EPOCH", 47);

  it("recognises lost sequence state, bare and wrapped by kafkajs' retrier", () => {
    expect(isProducerStateError(outOfOrder)).toBe(true);
    expect(isProducerStateError(unknownPid)).toBe(true);
    const exhausted = new KafkaJSNumberOfRetriesExceeded(outOfOrder, {
      retryCount: 5,
      retryTime: 1,
    });
    expect(isProducerStateError(exhausted)).toBe(true);
    expect(isProducerStateError(new Error("send failed", { cause: exhausted }))).toBe(true);
  });

  it("replaces an idempotent producer on an epoch error but never a fenced transactional one", () => {
    expect(isProducerStateError(epoch, false)).toBe(true);
    expect(isProducerStateError(epoch, true)).toBe(false);
    expect(isProducerStateError(outOfOrder, true)).toBe(true);
  });

  it("leaves every other failure to the caller", () => {
    expect(isProducerStateError(protocolError("NOT_LEADER_FOR_PARTITION", 6))).toBe(false);
    expect(isProducerStateError(new Error("connect ECONNREFUSED"))).toBe(false);
    expect(isProducerStateError(null)).toBe(false);
  });
});

describe("retryTopicSetup", () => {
  // As kafkajs builds it from a metadata answer for a topic whose leader is not settled yet.
  const notHosted = () =>
    new KafkaJSProtocolError({
      type: "UNKNOWN_TOPIC_OR_PARTITION",
      code: 3,
      retriable: true,
      message: "This server does not host this topic-partition",
    } as unknown as Error);

  it("retries a step that fails with retriable broker errors until it succeeds", async () => {
    let calls = 0;
    const retries: number[] = [];
    const stepAttempts: number[] = [];
    const got = await retryTopicSetup(
      async (attempt) => {
        calls++;
        stepAttempts.push(attempt);
        if (calls < 3) throw notHosted();
        return ["t"];
      },
      (_err, attempt) => retries.push(attempt),
      { baseDelayMs: 1 },
    );
    expect(got).toEqual(["t"]);
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
    expect(stepAttempts).toEqual([1, 2, 3]);
  });

  it("throws a non-retriable error at once and a retriable one after the last attempt", async () => {
    let calls = 0;
    const invalid = protocolError("INVALID_REPLICATION_FACTOR", 38);
    await expect(
      retryTopicSetup(
        async () => {
          calls++;
          throw invalid;
        },
        undefined,
        { baseDelayMs: 1 },
      ),
    ).rejects.toBe(invalid);
    expect(calls).toBe(1);

    calls = 0;
    await expect(
      retryTopicSetup(
        async () => {
          calls++;
          throw notHosted();
        },
        undefined,
        { attempts: 4, baseDelayMs: 1 },
      ),
    ).rejects.toThrow("does not host");
    expect(calls).toBe(4);
  });
});

describe("planRequests", () => {
  const msgs = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`);
  const shape = (rs: { topic: string; messages: string[] }[][]) =>
    rs.map((r) => r.map((p) => `${p.topic}:${p.messages.length}`).join("+"));

  it("lets a small trailing batch ride along with the last request", () => {
    const plan = planRequests(
      [
        { topic: "events", messages: msgs(20_000, "e") },
        { topic: "progress", messages: ["p"] },
      ],
      5_000,
    );
    expect(shape(plan)).toEqual([
      "events:5000",
      "events:5000",
      "events:5000",
      "events:5000+progress:1",
    ]);
    expect(plan.flat().flatMap((p) => p.messages)).toEqual([...msgs(20_000, "e"), "p"]);
  });

  it("keeps chunks apart when the extra is not small, and copes with empty batches", () => {
    expect(
      shape(
        planRequests(
          [
            { topic: "a", messages: msgs(5_000, "a") },
            { topic: "b", messages: msgs(RIDE_ALONG + 1, "b") },
            { topic: "c", messages: [] },
          ],
          5_000,
        ),
      ),
    ).toEqual(["a:5000", `b:${RIDE_ALONG + 1}`]);
    expect(
      shape(
        planRequests(
          [
            { topic: "a", messages: msgs(3, "a") },
            { topic: "b", messages: msgs(2, "b") },
          ],
          5_000,
        ),
      ),
    ).toEqual(["a:3+b:2"]);
    expect(planRequests([{ topic: "a", messages: [] }], 10)).toEqual([]);
  });
});
