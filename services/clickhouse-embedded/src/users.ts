import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ClickHouseHttpError } from "./errors.js";

const SettingValue = z.union([z.string(), z.number(), z.boolean()]);

/**
 * A profile: how the sessions serving its users are set up. Each profile gets its own pool of
 * engine sessions, so analysts' queries never queue in front of the writers' inserts.
 */
export const Profile = z.object({
  /** Read-only: the session is put into `readonly=1` after `settings` are applied, so neither SET nor SETTINGS can undo them. */
  readonly: z.boolean().default(false),
  /** Engine settings fixed for the profile, e.g. max_execution_time (s), max_result_rows, max_threads. */
  settings: z.record(z.string(), SettingValue).default({}),
  /** Engine sessions that run this profile's queries in parallel; more requests wait in line. */
  pool: z.number().int().min(1).max(64).default(2),
  /** Refuse file/url/remote/s3/… functions (default: true for read-only profiles). */
  denyExternalFunctions: z.boolean().optional(),
  /** Requests waiting for a session beyond this are refused (server overloaded). */
  maxQueue: z.number().int().min(0).default(1000),
});
export type Profile = z.infer<typeof Profile>;

/** A user: a password (plain or SHA-256 hex) and a profile. */
export const User = z
  .object({
    password: z.string().optional(),
    password_sha256_hex: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/)
      .optional(),
    profile: z.string(),
    /** Database used when the request names none. */
    default_database: z.string().default("default"),
  })
  .refine((u) => u.password !== undefined || u.password_sha256_hex !== undefined, {
    message: "a user needs password or password_sha256_hex",
  });
export type User = z.infer<typeof User>;

/** The users file (YAML or JSON). */
export const UsersConfig = z
  .object({
    profiles: z.record(z.string(), Profile),
    users: z.record(z.string(), User),
  })
  .superRefine((c, ctx) => {
    for (const [name, u] of Object.entries(c.users)) {
      if (!c.profiles[u.profile]) {
        ctx.addIssue({
          code: "custom",
          message: `user ${name} refers to unknown profile ${u.profile}`,
        });
      }
    }
  });
export type UsersConfig = z.infer<typeof UsersConfig>;

/** Reads and validates a users file. */
export function loadUsersFile(path: string): UsersConfig {
  return UsersConfig.parse(parseYaml(readFileSync(path, "utf8")));
}

/** Default profiles: a writer for services and a read-only analyst profile with limits. */
export function defaultProfiles(): Record<string, Profile> {
  return {
    writer: Profile.parse({ readonly: false, pool: 2 }),
    analyst: Profile.parse({
      readonly: true,
      pool: 2,
      settings: {
        max_execution_time: 60,
        max_result_rows: 1_000_000,
        max_result_bytes: 512 * 1024 * 1024,
        result_overflow_mode: "throw",
        max_memory_usage: 4 * 1024 * 1024 * 1024,
        // Two-core machines: leave a core for the writers.
        max_threads: 1,
      },
    }),
  };
}

/** Who sent a request, from Basic auth, X-ClickHouse-User/Key or user/password URL parameters. */
export function credentialsOf(
  req: IncomingMessage,
  params: URLSearchParams,
): { user: string; password: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Basic ")) {
    const raw = Buffer.from(auth.slice(6), "base64").toString("utf8");
    const i = raw.indexOf(":");
    return i < 0
      ? { user: raw, password: "" }
      : { user: raw.slice(0, i), password: raw.slice(i + 1) };
  }
  const hUser = req.headers["x-clickhouse-user"];
  if (typeof hUser === "string") {
    const key = req.headers["x-clickhouse-key"];
    return { user: hUser, password: typeof key === "string" ? key : "" };
  }
  return { user: params.get("user") ?? "default", password: params.get("password") ?? "" };
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Checks a password; throws ClickHouse's AUTHENTICATION_FAILED (516) on any mismatch. */
export function authenticate(config: UsersConfig, user: string, password: string): User {
  const u = config.users[user];
  const given = sha256(password);
  const expected = u
    ? u.password_sha256_hex !== undefined
      ? Buffer.from(u.password_sha256_hex, "hex")
      : sha256(u.password ?? "")
    : sha256(`\u0000no-such-user\u0000${password}`); // same work whether or not the user exists
  if (!u || !timingSafeEqual(given, expected)) {
    throw ClickHouseHttpError.of(
      "AUTHENTICATION_FAILED",
      `${user}: Authentication failed: password is incorrect, or there is no user with such name`,
    );
  }
  return u;
}
