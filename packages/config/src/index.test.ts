import { describe, expect, it } from "vitest";
import { z } from "zod";
import { kafkaConnection, kafkaEnv, parseEnvOrThrow } from "./index.js";

describe("kafkaEnv / kafkaConnection", () => {
  const schema = z.object({ ...kafkaEnv("svc") });

  it("defaults to the local broker, the given client id, no TLS and no SASL", () => {
    const env = parseEnvOrThrow(schema, {});
    expect(kafkaConnection(env)).toEqual({
      brokers: ["127.0.0.1:9092"],
      clientId: "svc",
      ssl: false,
      sasl: undefined,
    });
  });

  it("reads brokers, client id, TLS and SASL", () => {
    const env = parseEnvOrThrow(schema, {
      KAFKA_BROKERS: "a:1, b:2,",
      KAFKA_CLIENT_ID: "other",
      KAFKA_SSL: "true",
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: "u",
      KAFKA_SASL_PASSWORD: "p",
    });
    expect(kafkaConnection(env)).toEqual({
      brokers: ["a:1", "b:2"],
      clientId: "other",
      ssl: true,
      sasl: { mechanism: "scram-sha-512", username: "u", password: "p" },
    });
  });

  it("uses SASL only when mechanism, user and password are all set", () => {
    const env = parseEnvOrThrow(schema, {
      KAFKA_SASL_MECHANISM: "plain",
      KAFKA_SASL_USERNAME: "u",
    });
    expect(kafkaConnection(env).sasl).toBeUndefined();
  });

  it("rejects an unknown SASL mechanism", () => {
    expect(() => parseEnvOrThrow(schema, { KAFKA_SASL_MECHANISM: "gssapi" })).toThrow(
      /KAFKA_SASL_MECHANISM/,
    );
  });
});
