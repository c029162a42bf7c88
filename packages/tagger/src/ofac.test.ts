import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Family, familyForCode, tryCanonicalize } from "@chainscreen/addresses";
import { fixturesDir } from "@chainscreen/testing";
import { describe, expect, it } from "vitest";
import { makeEntry, makeTransfer } from "./build.js";
import { MemoryEntryIndex, type MutableEntryIndex } from "./entries.js";
import { LocalTagger } from "./local.js";
import { MatcherEntryIndex } from "./matcher-index.js";
import { parseRules } from "./rules.js";
import { Suppressions } from "./suppressions.js";

const LIST_DIR = join(fixturesDir, "sanctions", "ofac-0xB10C-lists-2024-09-27");
const LISTED_FROM = Date.UTC(2024, 8, 27);
const CHAIN_OF: Record<string, string> = {
  evm: "ethereum",
  bitcoin: "bitcoin",
  tron: "tron",
  litecoin: "litecoin",
  "bitcoin-cash": "bitcoin-cash",
  "bitcoin-sv": "bitcoin-sv",
  "bitcoin-gold": "bitcoin-gold",
  dash: "dash",
  zcash: "zcash",
  monero: "monero",
  xrp: "xrp",
  verge: "verge",
};

const invalid: string[] = [];

/**
 * The 2024-09-27 per-code lists as canonical (family, address) pairs, de-duplicated across codes.
 * Addresses that fail validation (the XBT list holds a Tron address) are reported, not indexed.
 */
function loadOfac(): { family: Family; address: string; codes: string[] }[] {
  const out = new Map<string, { family: Family; address: string; codes: string[] }>();
  invalid.length = 0;
  for (const f of readdirSync(LIST_DIR).filter((n) => n.endsWith(".txt"))) {
    const code = f.replace("sanctioned_addresses_", "").replace(".txt", "");
    for (const line of readFileSync(join(LIST_DIR, f), "utf8").split("\n")) {
      const raw = line.trim();
      if (!raw) continue;
      const { family } = familyForCode(code, raw);
      const c = tryCanonicalize(family, raw);
      if (!c.ok) {
        invalid.push(`${code}:${raw}`);
        continue;
      }
      const address = c.address;
      const k = `${family}:${address}`;
      const e = out.get(k) ?? { family, address, codes: [] };
      e.codes.push(code);
      out.set(k, e);
    }
  }
  return [...out.values()];
}

describe.each([
  ["MemoryEntryIndex", () => new MemoryEntryIndex()],
  ["MatcherEntryIndex", () => new MatcherEntryIndex()],
])("screening against the OFAC 2024-09-27 lists (%s)", (_name, makeIndex) => {
  const listed = loadOfac();
  const index: MutableEntryIndex = makeIndex();
  for (const l of listed)
    index.upsert(
      makeEntry(l.family, l.address, {
        listId: "ofac-sdn",
        listedFrom: LISTED_FROM,
        programmes: l.codes,
      }),
    );
  const ctx = () => ({
    index,
    rules: parseRules({ p2p: { enabled: false }, structuring: { enabled: false } }),
    suppressions: new Suppressions(),
    exposurePartitions: 8,
    now: () => 1,
  });

  it("loads every address of the lists", () => {
    // XBT 435 + ETH 152 + … with 0x addresses shared by ETH/ARB/BSC/USDC de-duplicated.
    expect(listed.length).toBeGreaterThan(600);
    expect(invalid).toEqual(["XBT:TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"]);
    expect(index.size).toBe(listed.length);
  });

  it("flags exactly the listed counterparty of synthetic transfers, on every family", () => {
    const tagger = new LocalTagger(ctx());
    const clean = "0x000000000000000000000000000000000000dEaD";
    const transfers = listed.map((l, i) =>
      makeTransfer({
        chain: CHAIN_OF[l.family] ?? l.family,
        txHash: `tx${i}`,
        from: l.family === "evm" ? clean.toLowerCase() : `clean-${i}`,
        to: l.family === "evm" ? l.address.toUpperCase().replace("0X", "0x") : l.address,
        symbol: null,
        decimals: null,
        timestamp: Date.UTC(2024, 9, 1),
      }),
    );
    const flags = tagger.run(transfers);
    expect(flags).toHaveLength(listed.length);
    expect(new Set(flags.map((f) => `${f.family}:${f.address}`))).toEqual(
      new Set(listed.map((l) => `${l.family}:${l.address}`)),
    );
    expect(
      flags.every(
        (f) => f.sides.join() === "to" && f.rule.kind === "direct" && f.severity === "severe",
      ),
    ).toBe(true);
  });

  it("flags nothing in the clean Dencun block 19537146 (164 real transactions)", () => {
    const csv = readFileSync(
      join(
        fixturesDir,
        "ethereum",
        "ethereum-etl",
        "test_export_blocks_job",
        "blocks_with_dencun_transactions",
        "expected_transactions.csv",
      ),
      "utf8",
    );
    const [header, ...rows] = csv.trim().split("\n");
    const cols = (header ?? "").split(",");
    const at = (name: string) => cols.indexOf(name);
    const transfers = rows.map((r) => {
      const c = r.split(",");
      return makeTransfer({
        txHash: c[at("hash")] ?? "",
        from: c[at("from_address")] ?? null,
        to: c[at("to_address")] || null,
        amount: c[at("value")] ?? "0",
        timestamp: Number(c[at("block_timestamp")]) * 1000,
      });
    });
    expect(transfers).toHaveLength(164);
    const tagger = new LocalTagger(ctx());
    expect(tagger.run(transfers)).toEqual([]);
  });

  it("stops flagging a delisted address (Tornado Cash, 2025-03-21)", () => {
    const tc = "0x8589427373d6d84e98730d7795d8f6f8731fda16";
    expect(index.lookup("evm", tc)).toHaveLength(1);
    const delisted = makeIndex();
    delisted.upsert(
      makeEntry("evm", tc, {
        listId: "ofac-sdn",
        listedFrom: LISTED_FROM,
        listedUntil: Date.UTC(2025, 2, 21),
      }),
    );
    const tagger = new LocalTagger({ ...ctx(), index: delisted });
    const flags = tagger.run([
      makeTransfer({
        txHash: "0xa",
        from: tc,
        to: "0x1111111111111111111111111111111111111111",
        timestamp: Date.UTC(2025, 0, 1),
      }),
      makeTransfer({
        txHash: "0xb",
        from: tc,
        to: "0x1111111111111111111111111111111111111112",
        timestamp: Date.UTC(2025, 3, 1),
      }),
    ]);
    expect(flags.filter((f) => f.rule.kind === "direct").map((f) => f.transfer.txHash)).toEqual([
      "0xa",
    ]);
  });
});
