import { silentLogger } from "@chainscreen/logger";
import { describe, expect, it } from "vitest";
import { MemoryAlertsStore } from "./store.js";
import {
  activeSecrets,
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  rotateSecret,
  SubscriptionCache,
  updateSubscription,
} from "./subscriptions.js";

describe("subscriptions", () => {
  it("are isolated per tenant", async () => {
    const store = new MemoryAlertsStore();
    const { subscription: a } = await createSubscription({ store }, "bank-a", {
      url: "https://a.example/h",
    });
    await createSubscription({ store }, "bank-b", { url: "https://b.example/h" });
    expect((await listSubscriptions({ store }, "bank-a")).map((s) => s.id)).toEqual([a.id]);
    expect(await getSubscription({ store }, "bank-b", a.id)).toBeUndefined();
    await expect(updateSubscription({ store }, "bank-b", a.id, { active: false })).rejects.toThrow(
      /not found/,
    );
    expect(await deleteSubscription({ store }, "bank-b", a.id)).toBe(false);
    expect(await getSubscription({ store }, "bank-a", a.id)).toBeDefined();
  });

  it("never return secret values in listings", async () => {
    const store = new MemoryAlertsStore();
    const { secret } = await createSubscription({ store }, "t", { url: "https://a.example/h" });
    expect(secret).toMatch(/^whsec_/);
    expect(JSON.stringify(await listSubscriptions({ store }, "t"))).not.toContain(secret);
  });

  it("validate input and, with a policy, the target address", async () => {
    const store = new MemoryAlertsStore();
    await expect(createSubscription({ store }, "t", { url: "nope" })).rejects.toThrow(
      /invalid subscription/,
    );
    await expect(
      createSubscription({ store, ssrf: {} }, "t", { url: "https://127.0.0.1/h" }),
    ).rejects.toThrow(/not allowed/);
  });

  it("rotate secrets with an overlap window, then only the new one is active", async () => {
    const store = new MemoryAlertsStore();
    let now = 1_000_000;
    const deps = { store, now: () => now };
    const { subscription, secret: old } = await createSubscription(deps, "t", {
      url: "https://a.example/h",
    });
    now += 1000;
    const { secret: fresh } = await rotateSecret(deps, "t", subscription.id, { overlapSec: 60 });
    const sub = await getSubscription(deps, "t", subscription.id);
    if (!sub) throw new Error("missing");
    expect(activeSecrets(sub, now).map((s) => s.secret)).toEqual([fresh, old]);
    expect(activeSecrets(sub, now + 60_001).map((s) => s.secret)).toEqual([fresh]);
    now += 120_000;
    // A second rotation drops the expired secret entirely.
    await rotateSecret(deps, "t", subscription.id, { overlapSec: 0 });
    const after = await getSubscription(deps, "t", subscription.id);
    expect(after?.secrets.map((s) => s.secret)).not.toContain(old);
    expect(after && activeSecrets(after, now)).toHaveLength(1);
  });

  it("the cache picks up changes without restart", async () => {
    const store = new MemoryAlertsStore();
    const cache = new SubscriptionCache(store, silentLogger(), 10_000);
    await cache.start();
    expect(cache.index.size).toBe(0);
    const { subscription } = await createSubscription({ store }, "t", {
      url: "https://a.example/h",
    });
    expect(await cache.refresh()).toBe(true);
    expect(cache.index.get(subscription.id)?.url).toBe("https://a.example/h");
    expect(await cache.refresh()).toBe(false);
    await updateSubscription({ store }, "t", subscription.id, { url: "https://b.example/h" });
    await cache.refresh();
    expect(cache.index.get(subscription.id)?.url).toBe("https://b.example/h");
    await deleteSubscription({ store }, "t", subscription.id);
    await cache.refresh();
    expect(cache.index.get(subscription.id)).toBeUndefined();
    cache.stop();
  });
});
