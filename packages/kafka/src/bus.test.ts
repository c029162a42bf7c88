import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from "kafkajs";
import { describe, expect, it } from "vitest";
import { isProducerStateError } from "./bus.js";

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
