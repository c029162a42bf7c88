import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Role } from "./roles.js";

/**
 * API key format: `cs_<id>_<secret>`.
 * - `id`: 16 lowercase hex characters (64 random bits), stored in clear; it names the key in
 *   logs, the audit log and the rate limiter, and lets the server find the record in one lookup.
 * - `secret`: 32 random bytes, base64url (43 characters). Only sha256(whole key) is stored: with
 *   256 bits of entropy a fast hash is enough (no password stretching needed), and verification
 *   stays cheap enough to run on every request.
 */
const KEY_RE = /^cs_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A stored API key: never holds the key itself, only its hash. */
export interface ApiKeyRecord {
  /** Public id (the `<id>` part of the key). */
  id: string;
  /** Tenant the key belongs to; bank keys only see this tenant's data. */
  tenantId: string;
  role: Role;
  /** Human label, e.g. "ops laptop" or "acme-bank prod". */
  name: string;
  /** sha256 of the whole key, lowercase hex. */
  hash: string;
  /** Unix ms. */
  createdAt: number;
  /** Unix ms, or null while the key is active. */
  revokedAt: number | null;
  /** Requests per minute allowed for this key; null = the server default. */
  rateLimitPerMinute: number | null;
}

/** A freshly generated key: `key` is shown once to its owner, `record` is what gets stored. */
export interface GeneratedKey {
  key: string;
  record: ApiKeyRecord;
}

/** sha256 of a key, lowercase hex. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Extracts the public id from a key, or null when the string is not shaped like a key. */
export function parseApiKeyId(key: string): string | null {
  const m = KEY_RE.exec(key);
  return m?.[1] ?? null;
}

/** Generates a new key and the record to store for it. */
export function generateApiKey(opts: {
  tenantId: string;
  role: Role;
  name: string;
  rateLimitPerMinute?: number | null;
  now?: number;
}): GeneratedKey {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const key = `cs_${id}_${secret}`;
  return {
    key,
    record: {
      id,
      tenantId: opts.tenantId,
      role: opts.role,
      name: opts.name,
      hash: hashApiKey(key),
      createdAt: opts.now ?? Date.now(),
      revokedAt: null,
      rateLimitPerMinute: opts.rateLimitPerMinute ?? null,
    },
  };
}

/** Constant-time check of a presented key against a stored record (hash and id). */
export function keyMatches(key: string, record: Pick<ApiKeyRecord, "id" | "hash">): boolean {
  if (parseApiKeyId(key) !== record.id) return false;
  const a = Buffer.from(hashApiKey(key), "hex");
  const b = Buffer.from(record.hash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
