import { describe, expect, it } from "vitest";
import { loadEnv } from "./env.js";

const exit = ((code: number) => {
  throw new Error(`exit ${code}`);
}) as (code: number) => never;

describe("ingest-evm env", () => {
  it("parses a minimal configuration with defaults for a known chain", () => {
    const e = loadEnv(
      { KAFKA_BROKERS: "127.0.0.1:9092", EVM_CHAIN: "polygon", EVM_RPC_URLS: "http://a, ws://b" },
      exit,
    );
    expect(e.chainId).toBe(137);
    expect(e.nativeSymbol).toBe("POL");
    expect(e.EVM_RPC_URLS).toEqual(["http://a", "ws://b"]);
    expect(e.EVM_CONFIRMATIONS).toBe(12);
    expect(e.EVM_START_BLOCK).toBe("latest");
    expect(e.EVM_TRACES).toBe("off");
    expect(e.EVM_EMIT_PENDING).toBe(false);
  });

  it("reads numbers, booleans and the start block", () => {
    const e = loadEnv(
      {
        KAFKA_BROKERS: "k:1",
        EVM_CHAIN: "ethereum",
        EVM_RPC_URLS: "http://a",
        EVM_START_BLOCK: "19537146",
        EVM_EMIT_PENDING: "false",
        EVM_FINALITY: "finalized",
        EVM_TRACES: "callTracer",
      },
      exit,
    );
    expect(e.EVM_START_BLOCK).toBe(19537146);
    expect(e.EVM_EMIT_PENDING).toBe(false);
    expect(e.EVM_FINALITY).toBe("finalized");
  });

  it("exits on missing URLs, bad values and unknown chains without an id", () => {
    expect(() => loadEnv({ KAFKA_BROKERS: "k:1", EVM_CHAIN: "ethereum" }, exit)).toThrow("exit 1");
    expect(() =>
      loadEnv(
        {
          KAFKA_BROKERS: "k:1",
          EVM_CHAIN: "ethereum",
          EVM_RPC_URLS: "http://a",
          EVM_TRACES: "yes",
        },
        exit,
      ),
    ).toThrow("exit 1");
    expect(() =>
      loadEnv({ KAFKA_BROKERS: "k:1", EVM_CHAIN: "mychain", EVM_RPC_URLS: "http://a" }, exit),
    ).toThrow("exit 1");
    expect(
      loadEnv(
        {
          KAFKA_BROKERS: "k:1",
          EVM_CHAIN: "mychain",
          EVM_CHAIN_ID: "999",
          EVM_RPC_URLS: "http://a",
        },
        exit,
      ).chainId,
    ).toBe(999);
  });
});
