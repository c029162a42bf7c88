import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  createStoreClient,
  defaultMigrationsDir,
  migrate,
  Store,
  type StoreConfig,
} from "@chainscreen/store";
import { ClickHouseHistory, makeTransfer } from "@chainscreen/tagger";
import { repoRoot, uniqueName, waitFor } from "@chainscreen/testing";
import { describe, expect, inject, it } from "vitest";
import {
  active,
  freshTopics,
  publishTombstone,
  publishTransfers,
  publishWatchlist,
  readAllFlags,
  startTagger,
  waitIdle,
  watchlistMessage,
} from "./harness.js";

const Z = "0x7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"; // listed while the tagger runs
const W = "0x9090909090909090909090909090909090909090"; // listed from the start
const P = "0x1212121212121212121212121212121212121212";
const Q = "0x3434343434343434343434343434343434343434";
const DAY = 86_400_000;

describe("live list updates and retro-screening", () => {
  it("flags the next transfer to a newly listed address, emits retro flags for stored history, and stops after delisting", async () => {
    const brokers = inject("kafkaBrokers");
    const config: StoreConfig = {
      url: inject("clickhouseUrl"),
      username: inject("clickhouseUser"),
      password: inject("clickhousePassword"),
      database: uniqueName("tagger"),
    };
    // Only the store's core migrations (transfers, flags): others' files are written concurrently.
    const dir = join(repoRoot, ".data", uniqueName("tagger-migrations"));
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(defaultMigrationsDir))
      if (/^00[1-2]_/.test(f)) copyFileSync(join(defaultMigrationsDir, f), join(dir, f));
    await migrate(config, { dir });
    rmSync(dir, { recursive: true, force: true });
    const client = createStoreClient(config);
    const store = new Store(client);
    const now = Date.now();
    // Stored history: Z received from P ten days ago and paid Q five days ago (retracted one ignored).
    const past = [
      makeTransfer({ txHash: "0xpast1", from: P, to: Z, timestamp: now - 10 * DAY }),
      makeTransfer({ txHash: "0xpast2", from: Z, to: Q, timestamp: now - 5 * DAY }),
      makeTransfer({
        txHash: "0xpast3",
        from: Z,
        to: Q,
        timestamp: now - 4 * DAY,
        status: "retracted",
      }),
      makeTransfer({ txHash: "0xpast4", from: P, to: Q, timestamp: now - 3 * DAY }),
    ].map((t) => ({ ...t, observedAt: now - DAY }));
    await store.insertTransfers(past.map((value) => ({ value })));

    const { bus, topics } = await freshTopics(brokers);
    await publishWatchlist(bus, topics.watchlist, [
      watchlistMessage("evm", W, { listedFrom: now - 30 * DAY, publishedAt: now - 30 * DAY }),
    ]);
    const tagger = await startTagger(brokers, topics, {
      groupId: `${topics.transfers}.tagger`,
      rules: {
        p2p: { enabled: false },
        indirect: { enabled: false },
        structuring: { enabled: false },
      },
      history: new ClickHouseHistory(client),
    });

    // Add Z while running; keep sending transfers to Z until one is flagged.
    const listedAt = Date.now();
    await publishWatchlist(bus, topics.watchlist, [
      watchlistMessage("evm", Z, {
        entityName: "GARANTEX",
        programmes: ["RUSSIA-EO14024"],
        listedFrom: listedAt,
        publishedAt: listedAt,
      }),
    ]);
    let n = 0;
    const sentAt = new Map<string, number>();
    const firstLive = await waitFor(
      async () => {
        const tx = `0xlive${n++}`;
        sentAt.set(tx, Date.now());
        await publishTransfers(bus, topics.transfers, [
          makeTransfer({ txHash: tx, from: P, to: Z, timestamp: Date.now() }),
        ]);
        const flags = await readAllFlags(bus, topics.flags);
        return active(flags).find((f) => !f.retro && f.address === Z);
      },
      { timeoutMs: 60_000, intervalMs: 250, message: "no live flag for the newly listed address" },
    );
    const latency = Date.now() - listedAt;
    console.log(
      `newly listed address flagged ${latency} ms after the list update (${n} probe transfers)`,
    );
    expect(firstLive.entries[0]?.entityName).toBe("GARANTEX");

    const retro = await waitFor(
      async () => {
        const r = active(await readAllFlags(bus, topics.flags)).filter((f) => f.retro);
        return r.length >= 2 ? r : null;
      },
      { timeoutMs: 60_000, message: "no retro flags" },
    );
    expect(retro.map((f) => `${f.transfer.txHash}:${f.sides.join()}`).sort()).toEqual([
      "0xpast1:to",
      "0xpast2:from",
    ]);
    expect(
      retro.every(
        (f) => f.listedAt === listedAt && f.listedAtTransferTime === false && f.address === Z,
      ),
    ).toBe(true);

    // Delist Z (last state with listedUntil, then the tombstone), as the watchlist publisher does.
    const delistedAt = Date.now();
    await publishWatchlist(bus, topics.watchlist, [
      watchlistMessage("evm", Z, {
        listedFrom: listedAt,
        listedUntil: delistedAt,
        publishedAt: delistedAt,
      }),
    ]);
    await publishTombstone(bus, topics.watchlist, "ofac-sdn", "evm", Z);
    await waitFor(() => tagger.runner.index.lookup("evm", Z).every((e) => e.listedUntil !== null), {
      timeoutMs: 30_000,
      message: "delisting not applied",
    });
    await publishTransfers(bus, topics.transfers, [
      makeTransfer({ txHash: "0xafter", from: P, to: Z, timestamp: Date.now() + 1_000 }),
      makeTransfer({ txHash: "0xmarker", from: P, to: W, timestamp: Date.now() + 1_000 }),
    ]);
    await waitFor(
      async () =>
        active(await readAllFlags(bus, topics.flags)).some((f) => f.transfer.txHash === "0xmarker"),
      {
        timeoutMs: 30_000,
        message: "marker flag missing",
      },
    );
    await waitIdle(bus, topics, `${topics.transfers}.tagger`);
    const all = active(await readAllFlags(bus, topics.flags));
    expect(all.some((f) => f.transfer.txHash === "0xafter")).toBe(false);

    await tagger.stop();
    await bus.close();
    await client.close();
  });
});
