import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importList } from "./importer.js";
import { Matcher } from "./matcher.js";
import { FileWatchlistStore, MemoryWatchlistStore } from "./store.js";
import { listedAt } from "./version.js";

const dir = mkdtempSync(join(tmpdir(), "watchlist-versions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const A = "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff";
const B = "0x2f389ce8bd8ff92de3402ffce4691d17fc4f6535";
const C = "0xb6f5ec1a0a9cd1526536d3f0426c429529471f40";
const D = "0xfac583c0cf07ea434052c49115a4682172ab6b4f";
const T = "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF";

let n = 0;
function csv(rows: Array<[string, string]>): string {
  const p = join(dir, `list-${n++}.csv`);
  writeFileSync(
    p,
    `family,address,category,severity\n${rows.map(([f, a]) => `${f},${a},sanctioned,severe`).join("\n")}\n`,
  );
  return p;
}

const DAY = 86_400_000;
const t1 = Date.UTC(2024, 0, 1);
const t2 = t1 + 30 * DAY;

describe("versions", () => {
  it("diff lists exactly the added and removed addresses; point-in-time differs around a delisting", async () => {
    const store = new FileWatchlistStore(join(dir, "store"));
    const v1 = await importList(store, {
      listId: "custom",
      format: "csv",
      path: csv([
        ["evm", A],
        ["evm", B],
        ["evm", C],
        ["tron", T],
      ]),
      now: t1,
    });
    expect(v1.status).toBe("activated");
    expect(v1.version.diff).toMatchObject({ previousVersion: null, removed: [] });
    expect(v1.version.diff.added).toHaveLength(4);

    // v2: B delisted, D added (C given in upper case: same canonical key, no change).
    const v2 = await importList(store, {
      listId: "custom",
      format: "csv",
      path: csv([
        ["evm", A],
        ["evm", `0x${C.slice(2).toUpperCase()}`],
        ["evm", D],
        ["tron", T],
      ]),
      now: t2,
    });
    expect(v2.status).toBe("activated");
    expect(v2.version.diff).toEqual({
      previousVersion: 1,
      added: [`evm:${D}`],
      removed: [`evm:${B}`],
      changed: [],
    });
    expect(v2.version.hash).not.toBe(v1.version.hash);

    const state = await store.getState("custom");
    expect(state?.activeVersion).toBe(2);
    expect(state?.versions.map((v) => v.status)).toEqual(["superseded", "active"]);
    const hb = state?.keys[`evm:${B}`]?.intervals ?? [];
    expect(listedAt(hb, t2 - 1)).toBe(true);
    expect(listedAt(hb, t2)).toBe(false);

    const m = Matcher.fromLists([{ listId: "custom", listVersion: 2, keys: state?.keys ?? {} }]);
    expect(m.isListedAt("evm", B, t2 - DAY)).toBe(true);
    expect(m.isListedAt("evm", B, t2 + DAY)).toBe(false);
    expect(m.isListed("evm", B)).toBe(false);
    expect(m.history("evm", B)).toMatchObject([{ listedFrom: null, listedUntil: t2 }]);
    // D was added by v2: not listed before its effective time.
    expect(m.isListedAt("evm", D, t2 - DAY)).toBe(false);
    expect(m.isListedAt("evm", D, t2 + DAY)).toBe(true);
    expect(m.isListed("evm", D)).toBe(true);

    // Same content again: unchanged, no new version.
    const v3 = await importList(store, {
      listId: "custom",
      format: "csv",
      path: csv([
        ["tron", T],
        ["evm", D],
        ["evm", C],
        ["evm", A],
      ]),
      now: t2 + DAY,
    });
    expect(v3.status).toBe("unchanged");
    expect((await store.getState("custom"))?.lastVersion).toBe(2);

    // Relisting B opens a second interval.
    const t3 = t2 + 10 * DAY;
    await importList(store, {
      listId: "custom",
      format: "csv",
      path: csv([
        ["evm", A],
        ["evm", B],
        ["evm", C],
        ["evm", D],
        ["tron", T],
      ]),
      now: t3,
    });
    const s4 = await store.getState("custom");
    expect(s4?.keys[`evm:${B}`]?.intervals).toEqual([
      { from: null, until: t2 },
      { from: t3, until: null },
    ]);
  });

  it("a version that shrinks past the threshold is held and the active one stays", async () => {
    const store = new MemoryWatchlistStore();
    await importList(store, {
      listId: "l",
      format: "csv",
      path: csv([
        ["evm", A],
        ["evm", B],
        ["evm", C],
        ["evm", D],
        ["tron", T],
      ]),
      now: t1,
    });
    const held = await importList(store, {
      listId: "l",
      format: "csv",
      path: csv([["evm", A]]),
      now: t2,
    });
    expect(held.status).toBe("held");
    expect(held.version.heldReason).toMatch(/1 addresses against 5/);
    let s = await store.getState("l");
    expect(s?.activeVersion).toBe(1);
    expect(s?.versions.map((v) => v.status)).toEqual(["active", "held"]);
    expect(s?.keys[`evm:${B}`]?.intervals).toEqual([{ from: null, until: null }]);

    // A looser threshold (configurable) accepts a smaller drop.
    const ok = await importList(store, {
      listId: "l",
      format: "csv",
      path: csv([
        ["evm", A],
        ["evm", B],
        ["evm", C],
      ]),
      now: t2,
      maxShrink: 0.5,
    });
    expect(ok.status).toBe("activated");
    s = await store.getState("l");
    expect(s?.activeVersion).toBe(3);
    expect(ok.version.diff.removed).toEqual([`evm:${D}`, `tron:${T}`]);
  });

  it("designation dates open the first interval", async () => {
    const store = new MemoryWatchlistStore();
    const p = join(dir, "dated.csv");
    writeFileSync(p, `family,address,listed_from\nevm,${A},2022-08-08\n`);
    const r = await importList(store, { listId: "d", format: "csv", path: p, now: t1 });
    expect(r.state.keys[`evm:${A}`]?.intervals).toEqual([
      { from: Date.UTC(2022, 7, 8), until: null },
    ]);
  });
});
