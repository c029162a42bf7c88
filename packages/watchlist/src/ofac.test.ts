import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  canonicalize,
  chainFamily,
  type Family,
  familyByShape,
  familyForCode,
  isValidAddress,
} from "@chainscreen/addresses";
import { beforeAll, describe, expect, it } from "vitest";
import { importList, parseToEntries } from "./importer.js";
import { Matcher } from "./matcher.js";
import { parseOfacCodesDir } from "./parsers/codes-dir.js";
import { OFAC_REMARKS_LIMIT, parseOfacCsv } from "./parsers/ofac-csv.js";
import { MemoryWatchlistStore } from "./store.js";
import { entryKey } from "./types.js";

const sanctions = resolve(import.meta.dirname, "../../../../shared/fixtures/sanctions");
const sdnCsv = join(sanctions, "ofac-sdn-csv-2024-05-03/sdn.csv");
const codesDir = join(sanctions, "ofac-0xB10C-lists-2024-09-27");

/** Per-code lists read independently of the parser under test: code → addresses. */
function readCodeLists(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of readdirSync(codesDir).filter((n) => n.endsWith(".txt"))) {
    const code = f.replace(/^sanctioned_addresses_/, "").replace(/\.txt$/, "");
    out.set(code, readFileSync(join(codesDir, f), "utf8").split("\n").filter(Boolean));
  }
  return out;
}

describe("OFAC SDN.CSV 2024-05-03", () => {
  let result: Awaited<ReturnType<typeof parseOfacCsv>>;
  // Address-bearing rows, read with a plain text grep as the oracle (the fixture's own
  // sdn_digital_currency_rows.csv is that grep).
  const oracleRows = readFileSync(
    join(sanctions, "ofac-sdn-csv-2024-05-03/sdn_digital_currency_rows.csv"),
    "latin1",
  )
    .split("\r\n")
    .filter((l) => l.includes("Digital Currency Address"));

  beforeAll(async () => {
    result = await parseOfacCsv(sdnCsv);
  });

  it("reads every record and every address-bearing row", () => {
    expect(result.report.recordsRead).toBe(14965);
    expect(oracleRows.length).toBe(55);
    expect(result.report.addressRecords).toBe(55);
    const rowsWithEntries = new Set([
      ...result.entries.map((e) => e.entityId),
      ...result.report.fragments.map((f) => f.entityId),
    ]);
    const oracleIds = new Set(oracleRows.map((l) => l.split(",")[0]));
    expect(rowsWithEntries).toEqual(oracleIds);
  });

  it("reports exactly the truncated fragments, each a prefix of a real listed address", () => {
    const lists = readCodeLists();
    const frags = result.report.fragments;
    // Every fragment is the last address of a remark cut at 1,000 characters.
    for (const f of frags) {
      const row = oracleRows.find((l) => l.startsWith(`${f.entityId},`)) as string;
      const remarks = row.slice(row.lastIndexOf(',"') + 2, -1);
      expect(remarks.length).toBe(OFAC_REMARKS_LIMIT);
      expect(
        remarks.trimEnd().endsWith(`Digital Currency Address - ${f.code} ${f.text}`.trimEnd()),
      ).toBe(true);
      const full = lists.get(f.code) ?? [];
      expect(
        full.some((a) => a.startsWith(f.text)),
        `${f.text} is a prefix`,
      ).toBe(true);
      expect(full.includes(f.text)).toBe(false);
    }
    expect(frags.map((f) => `${f.entityId} ${f.code} ${f.text}`).sort()).toEqual([
      "30518 XBT 1Gq",
      "33151 XBT 1B64QRxf",
      "33854 XBT 3",
      "36216 XBT 1B11Ezqg3AXj",
      "37070 XBT 3F6bbvS1krsc1qR8FsbTDfYQyvkMm",
      "39585 XBT 1N6XqS",
      "39593 XBT ",
    ]);
    // 16 rows are cut, and each is reported.
    expect(result.report.warnings.filter((w) => w.includes("cut at 1000"))).toHaveLength(16);
  });

  it("indexes no fragment, and every full address is in the 2024-09-27 per-code lists", async () => {
    const { entries, report } = await parseToEntries("ofac-csv", sdnCsv);
    expect(report.invalid).toEqual([]);
    const listed = new Set<string>();
    for (const [code, addrs] of readCodeLists()) {
      for (const a of addrs) {
        const { family } = familyForCode(code, a);
        // OFAC lists one Tron address under XBT: it is indexed by its shape.
        const f = isValidAddress(family, a) ? family : (familyByShape(a) as Family);
        listed.add(entryKey(f, canonicalize(f, a)));
      }
    }
    expect(result.entries.length).toBe(288);
    for (const k of entries.keys()) expect(listed.has(k), k).toBe(true);
    for (const f of result.report.fragments) {
      for (const e of entries.values()) expect(e.originals).not.toContain(f.text);
    }
  });

  it("keeps programmes and entity names", () => {
    const yan = result.entries.filter((e) => e.entityId === "25308");
    expect(yan).toHaveLength(6);
    expect(yan[0]).toMatchObject({
      entityName: "YAN, Xiaobing",
      programmes: ["SDNTK"],
      code: "XBT",
    });
  });
});

describe("OFAC per-code lists 2024-09-27 (ofac-codes-dir)", () => {
  it("load with their counts per code", async () => {
    const parsed = await parseOfacCodesDir(codesDir);
    const { counts, report } = await parseToEntries("ofac-codes-dir", codesDir);
    const expected: Record<string, number> = {
      XBT: 435,
      ETH: 152,
      USDT: 26,
      LTC: 10,
      BCH: 7,
      TRX: 6,
      DASH: 3,
      XMR: 3,
      ZEC: 3,
      USDC: 2,
      ARB: 1,
      BSC: 1,
      BSV: 1,
      BTG: 1,
      ETC: 1,
      XRP: 1,
      XVG: 1,
    };
    expect(counts.byCode).toEqual(expected);
    expect(parsed.entries).toHaveLength(654);
    expect(report.invalid).toEqual([]);
    expect(report.unknownCodes).toEqual({});
    // The Tron address OFAC lists under XBT is indexed as Tron, and said so.
    expect(report.warnings.join("\n")).toMatch(
      /TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq is not bitcoin but a valid tron/,
    );
  });

  it("EVM addresses match regardless of case on every EVM chain; USDT T… is Tron, 0x… is EVM", async () => {
    const store = new MemoryWatchlistStore();
    const r = await importList(store, {
      listId: "ofac",
      format: "ofac-codes-dir",
      path: codesDir,
      now: 1,
    });
    expect(r.status).toBe("activated");
    const m = Matcher.fromLists([{ listId: "ofac", listVersion: 1, keys: r.state.keys }]);
    const eth = readCodeLists().get("ETH") as string[];
    const checksummed = eth.find((a) => a !== a.toLowerCase()) as string;
    const spellings = [
      checksummed,
      checksummed.toLowerCase(),
      `0x${checksummed.slice(2).toUpperCase()}`,
    ];
    for (const chain of [
      "ethereum",
      "bsc",
      "polygon",
      "arbitrum",
      "base",
      "optimism",
      "avalanche",
    ]) {
      const family = chainFamily(chain) as Family;
      expect(family).toBe("evm");
      for (const spelling of spellings)
        expect(m.isListed(family, spelling), `${chain} ${spelling}`).toBe(true);
    }
    const matches = m.lookup("evm", checksummed.toLowerCase());
    expect(matches[0]?.records[0]?.code).toBe("ETH");
    const usdt = readCodeLists().get("USDT") as string[];
    const t = usdt.find((a) => a.startsWith("T")) as string;
    const x = usdt.find((a) => a.startsWith("0x")) as string;
    expect(m.lookup("tron", t).map((e) => e.records.map((rec) => rec.code))).toEqual([["USDT"]]);
    expect(m.isListed("evm", x.toLowerCase())).toBe(true);
    expect(m.isListed("tron", x)).toBe(false);
    // ARB, BSC and ETH list the same EVM address: one key, every code.
    const arb = m.lookup("evm", "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c");
    expect(arb[0]?.records.map((rec) => rec.code).sort()).toEqual(["ARB", "BSC", "ETH"]);
  });
});
