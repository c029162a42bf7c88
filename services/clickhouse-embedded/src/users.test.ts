import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { ClickHouseHttpError } from "./errors.js";
import { authenticate, credentialsOf, defaultProfiles, UsersConfig } from "./users.js";

const config = UsersConfig.parse({
  profiles: defaultProfiles(),
  users: {
    svc: { password: "s3cret", profile: "writer" },
    ana: {
      password_sha256_hex: createHash("sha256").update("pw").digest("hex"),
      profile: "analyst",
    },
  },
});

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe("users", () => {
  it("reads credentials from Basic auth, X-ClickHouse-User/Key or URL parameters", () => {
    const basic = `Basic ${Buffer.from("svc:s3:cret").toString("base64")}`;
    expect(credentialsOf(req({ authorization: basic }), new URLSearchParams())).toEqual({
      user: "svc",
      password: "s3:cret",
    });
    expect(
      credentialsOf(
        req({ "x-clickhouse-user": "ana", "x-clickhouse-key": "pw" }),
        new URLSearchParams(),
      ),
    ).toEqual({
      user: "ana",
      password: "pw",
    });
    expect(credentialsOf(req({}), new URLSearchParams("user=ana&password=pw"))).toEqual({
      user: "ana",
      password: "pw",
    });
    expect(credentialsOf(req({}), new URLSearchParams())).toEqual({
      user: "default",
      password: "",
    });
  });

  it("accepts right passwords (plain or sha256) and answers 516 otherwise", () => {
    expect(authenticate(config, "svc", "s3cret").profile).toBe("writer");
    expect(authenticate(config, "ana", "pw").profile).toBe("analyst");
    for (const [u, p] of [
      ["svc", "wrong"],
      ["ana", ""],
      ["nobody", "x"],
      ["default", ""],
    ] as const) {
      try {
        authenticate(config, u, p);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ClickHouseHttpError);
        expect((err as ClickHouseHttpError).code).toBe(516);
        expect((err as ClickHouseHttpError).body).toMatch(/\(AUTHENTICATION_FAILED\)$/);
      }
    }
  });

  it("rejects a user pointing at a missing profile", () => {
    expect(() =>
      UsersConfig.parse({ profiles: {}, users: { x: { password: "p", profile: "nope" } } }),
    ).toThrow(/unknown profile/);
  });

  it("makes the analyst profile read-only with limits", () => {
    const a = defaultProfiles().analyst;
    expect(a?.readonly).toBe(true);
    expect(a?.settings).toMatchObject({ max_execution_time: 60, max_result_rows: 1_000_000 });
  });
});
