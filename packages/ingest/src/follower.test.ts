import { silentLogger } from "@chainscreen/logger";
import type { TransferV1 } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import { blockScopedId, ChainFollower, ReorgTooDeepError } from "./follower.js";
import { MemoryIngestStore, netConfirmed } from "./memory-store.js";
import { SimChain } from "./sim-chain.js";

function follower(
  chain: SimChain,
  store: MemoryIngestStore,
  extra: Partial<ConstructorParameters<typeof ChainFollower>[0]> = {},
) {
  return new ChainFollower({
    source: chain,
    store,
    log: silentLogger(),
    confirmations: 0,
    startBlock: 0,
    window: 32,
    batchSize: 4,
    ...extra,
  });
}

async function drain(f: ChainFollower) {
  for (let i = 0; i < 1000; i++) {
    const r = await f.tick();
    if (r.ingested === 0 && r.retracted === 0 && r.promoted === 0) return;
  }
  throw new Error("follower did not settle");
}

/** Ids of the canonical chain as the follower scopes them. */
function canonicalIds(chain: SimChain, upTo: number): string[] {
  return chain.list
    .filter((b) => b.ref.number <= upTo)
    .flatMap((b) => b.transfers.map((t) => blockScopedId(t.id, b.ref.hash)))
    .sort();
}

/** Asserts that no id was ever emitted with two different contents (status/observedAt aside). */
function assertOneContentPerId(events: TransferV1[]) {
  const seen = new Map<string, string>();
  for (const e of events) {
    const { status: _s, observedAt: _o, ...content } = e;
    const key = JSON.stringify(content);
    const prev = seen.get(e.id);
    if (prev !== undefined) expect(key).toBe(prev);
    seen.set(e.id, key);
  }
}

describe("ChainFollower", () => {
  it("emits only blocks with the configured confirmations, each once", async () => {
    const chain = new SimChain(10);
    const store = new MemoryIngestStore();
    const f = follower(chain, store, { confirmations: 3 });
    await drain(f);
    expect(f.tip?.number).toBe(6);
    expect(store.events.map((e) => e.id).sort()).toEqual(canonicalIds(chain, 6));
    expect(store.events.every((e) => e.status === "confirmed")).toBe(true);
    chain.mine();
    await drain(f);
    expect(f.tip?.number).toBe(7);
    expect(new Set(store.events.map((e) => e.id)).size).toBe(store.events.length);
  });

  it("retracts orphaned blocks on a reorg and ingests the new branch", async () => {
    const chain = new SimChain(20);
    const store = new MemoryIngestStore();
    const f = follower(chain, store);
    await drain(f);
    chain.reorg(5, 6);
    await drain(f);
    const retracted = store.events.filter((e) => e.status === "retracted");
    expect(retracted).toHaveLength(10);
    expect(new Set(retracted.map((e) => e.blockNumber))).toEqual(new Set([15, 16, 17, 18, 19]));
    expect([...netConfirmed(store.events).keys()].sort()).toEqual(canonicalIds(chain, 20));
    assertOneContentPerId(store.events);
  });

  it("emits pending early, then confirms or retracts", async () => {
    const chain = new SimChain(10);
    const store = new MemoryIngestStore();
    const f = follower(chain, store, { confirmations: 3, emitPending: true });
    await drain(f);
    const pending = store.events.filter((e) => e.status === "pending");
    expect(new Set(pending.map((e) => e.blockNumber))).toEqual(new Set([7, 8, 9]));
    chain.reorg(2); // replaces 8 and 9 while still pending
    chain.mine();
    await drain(f);
    const retracted = store.events.filter((e) => e.status === "retracted");
    expect(new Set(retracted.map((e) => e.blockNumber))).toEqual(new Set([8, 9]));
    // Block 7 got its 3 confirmations: same id, same content, status confirmed.
    const b7 = store.events.filter((e) => e.blockNumber === 7).map((e) => e.status);
    expect(b7).toEqual(["pending", "pending", "confirmed", "confirmed"]);
    const net = netConfirmed(store.events);
    expect([...net.keys()].sort()).toEqual(canonicalIds(chain, 7));
    assertOneContentPerId(store.events);
  });

  it("resumes from the stored window after a restart without gaps or duplicates", async () => {
    const chain = new SimChain(30);
    const store = new MemoryIngestStore();
    const f1 = follower(chain, store);
    await f1.tick();
    await f1.tick();
    const f2 = follower(chain, store);
    await drain(f2);
    const ids = store.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(canonicalIds(chain, 29));
    // A reorg across the restart is still retracted completely.
    chain.reorg(8);
    await drain(follower(chain, store));
    expect([...netConfirmed(store.events).keys()].sort()).toEqual(canonicalIds(chain, 29));
  });

  it("keeps a consistent state when commits fail and are retried", async () => {
    const chain = new SimChain(12);
    const store = new MemoryIngestStore();
    const f = follower(chain, store);
    store.failNext = 1;
    await expect(f.tick()).rejects.toThrow(/simulated/);
    await drain(f);
    chain.reorg(3);
    store.failNext = 1;
    await expect(f.tick()).rejects.toThrow(/simulated/);
    await drain(f);
    expect([...netConfirmed(store.events).keys()].sort()).toEqual(canonicalIds(chain, 11));
    assertOneContentPerId(store.events);
  });

  it.each([42, 7, 99, 1234, 2026])(
    "survives random reorgs (k up to 10), seed %i: net set equals the canonical chain",
    async (seed0) => {
      // mulberry32: small deterministic PRNG.
      let seed = seed0;
      const rnd = (n: number) => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
      };
      const chain = new SimChain(15);
      const store = new MemoryIngestStore();
      const f = follower(chain, store, { confirmations: rnd(3), emitPending: true, window: 16 });
      for (let round = 0; round < 200; round++) {
        const action = rnd(4);
        // Reorgs replace up to 10 blocks beyond what the follower has seen (it drains first), so
        // they stay within its window of 16.
        if (action === 0) {
          await drain(f);
          const k = 1 + rnd(10);
          chain.reorg(k, k + rnd(2)); // real branches are at least as long as the one they replace
        } else for (let i = 0; i < 1 + rnd(3); i++) chain.mine();
        if (rnd(3) === 0) await drain(f);
        else await f.tick();
      }
      await drain(f);
      const safe =
        (await chain.head()) -
        (f as unknown as { opts: { confirmations: number } }).opts.confirmations;
      expect([...netConfirmed(store.events).keys()].sort()).toEqual(canonicalIds(chain, safe));
      assertOneContentPerId(store.events);
    },
  );

  it("refuses to continue after a reorg deeper than the window", async () => {
    const chain = new SimChain(20);
    const store = new MemoryIngestStore();
    const f = follower(chain, store, { window: 4 });
    await drain(f);
    chain.reorg(12);
    await expect(drain(f)).rejects.toBeInstanceOf(ReorgTooDeepError);
  });
});
