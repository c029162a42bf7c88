import { describe, expect, it } from "vitest";
import {
  can,
  generateApiKey,
  hashApiKey,
  KeyVerifier,
  keyMatches,
  MemoryKeyStore,
  parseApiKeyId,
  revokeKey,
  tenantScope,
} from "./index.js";

describe("api keys", () => {
  it("generates distinct well-formed keys whose hash is stored, never the key", () => {
    const a = generateApiKey({ tenantId: "t1", role: "bank", name: "a" });
    const b = generateApiKey({ tenantId: "t1", role: "bank", name: "b" });
    expect(a.key).toMatch(/^cs_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(a.record.hash).toBe(hashApiKey(a.key));
    expect(JSON.stringify(a.record)).not.toContain(a.key.slice(20));
    expect(parseApiKeyId(a.key)).toBe(a.record.id);
  });

  it("rejects malformed keys and keys with a changed secret", () => {
    const a = generateApiKey({ tenantId: "t1", role: "bank", name: "a" });
    expect(parseApiKeyId("Bearer x")).toBeNull();
    const tampered = `${a.key.slice(0, -1)}${a.key.endsWith("A") ? "B" : "A"}`;
    expect(keyMatches(tampered, a.record)).toBe(false);
    expect(keyMatches(a.key, a.record)).toBe(true);
  });

  it("verifies, caches and stops accepting revoked keys", async () => {
    const store = new MemoryKeyStore();
    const v = new KeyVerifier(store, 60_000);
    const g = generateApiKey({ tenantId: "acme", role: "analyst", name: "x" });
    expect(await v.verify(g.key)).toBeNull(); // unknown yet (and cached as unknown)
    await store.put(g.record);
    v.invalidate(g.record.id);
    expect(await v.verify(g.key)).toMatchObject({ tenantId: "acme", role: "analyst" });
    expect(await revokeKey(store, g.record.id)).toBe(true);
    // still cached until invalidated or the TTL passes
    expect(await v.verify(g.key)).not.toBeNull();
    expect(await v.verify(g.key, Date.now() + 61_000)).toBeNull();
    expect(await revokeKey(store, "0000000000000000")).toBe(false);
  });
});

describe("roles", () => {
  it("maps permissions", () => {
    expect(can("bank", "screen")).toBe(true);
    expect(can("bank", "flows:read")).toBe(false);
    expect(can("analyst", "sql:run")).toBe(true);
    expect(can("regulator", "sql:run")).toBe(false);
    expect(can("analyst", "lists:write")).toBe(false);
    expect(can("admin", "keys:manage")).toBe(true);
  });
  it("scopes banks and analysts to their tenant", () => {
    const p = { keyId: "k", tenantId: "t", name: "n", rateLimitPerMinute: null };
    expect(tenantScope({ ...p, role: "bank" })).toBe("t");
    expect(tenantScope({ ...p, role: "admin" })).toBeNull();
  });
});
