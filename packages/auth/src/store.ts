import { type ApiKeyRecord, keyMatches, parseApiKeyId } from "./keys.js";
import type { Principal } from "./roles.js";

/** Where key records live (ClickHouse `api_keys` in the product; memory in unit tests). */
export interface ApiKeyStore {
  get(id: string): Promise<ApiKeyRecord | undefined>;
  put(record: ApiKeyRecord): Promise<void>;
  list(filter?: { tenantId?: string }): Promise<ApiKeyRecord[]>;
}

/** An in-process key store (unit tests, single-process tools). */
export class MemoryKeyStore implements ApiKeyStore {
  readonly #rows = new Map<string, ApiKeyRecord>();
  async get(id: string): Promise<ApiKeyRecord | undefined> {
    return this.#rows.get(id);
  }
  async put(record: ApiKeyRecord): Promise<void> {
    this.#rows.set(record.id, { ...record });
  }
  async list(filter?: { tenantId?: string }): Promise<ApiKeyRecord[]> {
    return [...this.#rows.values()].filter(
      (r) => !filter?.tenantId || r.tenantId === filter.tenantId,
    );
  }
}

/** Marks a key revoked; returns false when it does not exist. */
export async function revokeKey(
  store: ApiKeyStore,
  id: string,
  now = Date.now(),
): Promise<boolean> {
  const r = await store.get(id);
  if (!r) return false;
  if (r.revokedAt === null) await store.put({ ...r, revokedAt: now });
  return true;
}

/**
 * Verifies presented keys against the store, caching records for `ttlMs` so a request does not
 * cost a store round trip. Revocation therefore takes effect within `ttlMs` on other processes,
 * and immediately in the process that revoked (call {@link KeyVerifier.invalidate}).
 */
export class KeyVerifier {
  readonly #cache = new Map<string, { at: number; rec: ApiKeyRecord | undefined }>();
  constructor(
    private readonly store: ApiKeyStore,
    private readonly ttlMs = 5_000,
  ) {}

  /** The principal for a key, or null when the key is malformed, unknown, wrong or revoked. */
  async verify(key: string, now = Date.now()): Promise<Principal | null> {
    const id = parseApiKeyId(key);
    if (!id) return null;
    let hit = this.#cache.get(id);
    if (!hit || now - hit.at > this.ttlMs) {
      hit = { at: now, rec: await this.store.get(id) };
      // Bounded: unknown ids are cached too (so guessing costs no store load) but the map is
      // cleared when it grows past a limit instead of growing without bound.
      if (this.#cache.size > 100_000) this.#cache.clear();
      this.#cache.set(id, hit);
    }
    const rec = hit.rec;
    if (!rec || rec.revokedAt !== null || !keyMatches(key, rec)) return null;
    return {
      keyId: rec.id,
      tenantId: rec.tenantId,
      role: rec.role,
      name: rec.name,
      rateLimitPerMinute: rec.rateLimitPerMinute,
    };
  }

  /** Drops a cached record (after revoking or changing it). */
  invalidate(id: string): void {
    this.#cache.delete(id);
  }
}
