import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WatchlistEntryV1 } from "@chainscreen/schema";
import { afterAll, describe, expect, it } from "vitest";
import { importList } from "./importer.js";
import { Matcher } from "./matcher.js";
import { applyWatchlistMessage, versionMessages } from "./publish.js";
import { MemoryWatchlistStore } from "./store.js";

const dir = mkdtempSync(join(tmpdir(), "watchlist-publish-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const A = "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff";
const B = "0x2f389ce8bd8ff92de3402ffce4691d17fc4f6535";
const T = "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF";
const csv = (name: string, rows: string[]) => {
  const p = join(dir, name);
  writeFileSync(p, `family,address,category,severity,entity\n${rows.join("\n")}\n`);
  return p;
};

describe("watchlist.v1 messages", () => {
  it("diff messages rebuild the same matcher state as the store, tombstones end listings", async () => {
    const store = new MemoryWatchlistStore();
    const v1 = await importList(store, {
      listId: "c",
      format: "csv",
      path: csv("a.csv", [
        `evm,${A},mixer,high,X`,
        `evm,${B},mixer,high,Y`,
        `tron,${T},exchange,low,Z`,
      ]),
      now: 1000,
    });
    const m1 = versionMessages(v1.state, v1.version, "diff", 1000);
    expect(m1.map((m) => m.key).sort()).toEqual([`c|evm|${A}`, `c|evm|${B}`, `c|tron|${T}`]);
    for (const m of m1) expect(WatchlistEntryV1.safeParse(m.value).success).toBe(true);

    const v2 = await importList(store, {
      listId: "c",
      format: "csv",
      path: csv("b.csv", [`evm,${A},mixer,severe,X`, `tron,${T},exchange,low,Z`]),
      now: 2000,
      maxShrink: 0.5,
    });
    const m2 = versionMessages(v2.state, v2.version, "diff", 2000);
    // A changed (severity), B removed: last state with listedUntil, then a tombstone.
    expect(
      m2.map((m) => [m.key, m.value === null ? null : (m.value as WatchlistEntryV1).listedUntil]),
    ).toEqual([
      [`c|evm|${A}`, null],
      [`c|evm|${B}`, 2000],
      [`c|evm|${B}`, null],
    ]);
    expect(m2[2]?.value).toBeNull();

    const live = new Matcher();
    for (const m of [...m1, ...m2]) {
      applyWatchlistMessage(live, m.key as string, m.value as WatchlistEntryV1 | null, 2000);
    }
    expect(live.isListed("evm", A)).toBe(true);
    expect(live.lookup("evm", A)[0]?.records[0]?.severity).toBe("severe");
    expect(live.lookup("evm", A)).toHaveLength(1);
    expect(live.isListed("evm", B)).toBe(false);
    expect(live.isListedAt("evm", B, 1500)).toBe(true);
    expect(live.isListed("tron", T)).toBe(true);

    const full = versionMessages(v2.state, v2.version, "full", 2000);
    expect(full.map((m) => m.key).sort()).toEqual([
      `c|evm|${A}`,
      `c|evm|${B}`,
      `c|evm|${B}`,
      `c|tron|${T}`,
    ]);
  });
});
