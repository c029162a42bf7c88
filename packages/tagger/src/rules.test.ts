import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "@chainscreen/errors";
import { type WatchlistEntryV1, watchlistKey } from "@chainscreen/schema";
import { describe, expect, it, onTestFinished } from "vitest";
import { makeEntry, makeTransfer } from "./build.js";
import { MemoryEntryIndex } from "./entries.js";
import { retroFlags } from "./retro.js";
import { decideSeverity, loadRulesFile, parseRules } from "./rules.js";
import { Suppressions } from "./suppressions.js";
import { toUnits, valueUsd } from "./value.js";
import { applyWatchlistMessage } from "./watchlist.js";

describe("rules config", () => {
  it("fills defaults (2 hops, decay 0.5) and hashes the content", () => {
    const r = parseRules({});
    expect(r.config.indirect.maxHops).toBe(2);
    expect(r.config.indirect.decay).toBe(0.5);
    expect(r.version).toMatch(/^[0-9a-f]{16}$/);
    expect(parseRules({ indirect: { maxHops: 3 } }).version).not.toBe(r.version);
  });

  it("rejects unknown keys and bad values with every issue listed", () => {
    expect(() => parseRules({ indirect: { maxHop: 2 } })).toThrow(ValidationError);
    expect(() => parseRules({ indirect: { decay: 2 }, defaultSeverity: "urgent" })).toThrow(
      /indirect.decay.*defaultSeverity/,
    );
  });

  it("loads YAML and JSON files", () => {
    const dir = mkdtempSync(join(tmpdir(), "rules-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, "r.yaml"),
      "indirect:\n  maxHops: 3\nseverity:\n  - id: all-low\n    severity: low\n",
    );
    writeFileSync(join(dir, "r.json"), JSON.stringify({ p2p: { minValueUsd: 1 } }));
    writeFileSync(join(dir, "bad.yaml"), "indirect: [unclosed");
    expect(loadRulesFile(join(dir, "r.yaml")).config.indirect.maxHops).toBe(3);
    expect(loadRulesFile(join(dir, "r.json")).config.p2p.minValueUsd).toBe(1);
    expect(() => loadRulesFile(join(dir, "bad.yaml"))).toThrow(/not valid YAML/);
    expect(() => loadRulesFile(join(dir, "missing.yaml"))).toThrow(/cannot read/);
  });

  it("decides severity by exposure, hops, category and amount (first match wins)", () => {
    const { config } = parseRules({});
    const base = {
      rule: "direct",
      exposure: "direct",
      hops: 0,
      categories: ["sanctioned"],
      valueUsd: 5,
      retro: false,
    } as const;
    expect(decideSeverity(config, base).severity).toBe("severe");
    expect(decideSeverity(config, { ...base, categories: ["mixer"] }).severity).toBe("high");
    expect(decideSeverity(config, { ...base, categories: ["gambling"] }).severity).toBe("medium");
    const ind = { ...base, rule: "indirect", exposure: "indirect", hops: 1 } as const;
    expect(decideSeverity(config, { ...ind, valueUsd: 20_000 }).severity).toBe("high");
    expect(decideSeverity(config, ind).severity).toBe("medium");
    expect(decideSeverity(config, { ...ind, hops: 2 }).severity).toBe("low");
  });
});

describe("valuation", () => {
  const { prices } = parseRules({ prices: { usd: { ETH: 2500, "ethereum:0xabc": 3 } } }).config;
  it("values stablecoins 1:1, natives and tokens through the price table", () => {
    expect(
      valueUsd(
        prices,
        "tron",
        "tron",
        { symbol: "USDT", contract: "TR7", decimals: 6 },
        "30401259",
      ),
    ).toBeCloseTo(30.401259);
    expect(
      valueUsd(
        prices,
        "ethereum",
        "evm",
        { symbol: "ETH", contract: null, decimals: 18 },
        "2000000000000000000",
      ),
    ).toBe(5000);
    expect(
      valueUsd(prices, "ethereum", "evm", { symbol: "XYZ", contract: "0xabc", decimals: 0 }, "7"),
    ).toBe(21);
    expect(
      valueUsd(prices, "ethereum", "evm", { symbol: "XYZ", contract: "0xdef", decimals: 0 }, "7"),
    ).toBeNull();
    expect(toUnits("123456789012345678901234567890", 18)).toBeCloseTo(123_456_789_012.3457, 3);
  });
});

describe("watchlist.v1 adapter", () => {
  const msg: WatchlistEntryV1 = {
    type: "watchlist.v1",
    listId: "ofac-sdn",
    listVersion: 2,
    listHash: "a".repeat(64),
    family: "evm",
    address: "0x8589427373d6d84e98730d7795d8f6f8731fda16",
    code: "ETH",
    entityName: "TORNADO CASH",
    programmes: ["CYBER2"],
    category: "sanctioned",
    severity: "severe",
    records: [
      {
        code: "ETH",
        entityName: "TORNADO CASH",
        entityId: "1",
        programmes: ["CYBER2", "DPRK3"],
        category: "sanctioned",
        severity: "severe",
        label: null,
        designatedAt: null,
      },
    ],
    listedFrom: Date.UTC(2022, 7, 8),
    listedUntil: null,
    publishedAt: Date.UTC(2024, 8, 27),
  };
  it("adds, updates (delisting) and removes (tombstone) entries", () => {
    const index = new MemoryEntryIndex();
    const key = watchlistKey(msg.listId, msg.family, msg.address);
    expect(applyWatchlistMessage(index, key, msg)?.kind).toBe("added");
    expect(index.lookup("evm", msg.address)[0]?.programmes).toEqual(["CYBER2", "DPRK3"]);
    expect(
      applyWatchlistMessage(index, key, { ...msg, listedUntil: Date.UTC(2025, 2, 21) })?.kind,
    ).toBe("updated");
    expect(index.lookup("evm", msg.address)[0]?.listedUntil).toBe(Date.UTC(2025, 2, 21));
    expect(applyWatchlistMessage(index, key, null)?.kind).toBe("removed");
    expect(index.size).toBe(0);
  });
});

describe("retro-screening", () => {
  it("flags stored transfers touching a newly listed address, marked retro with the listing date", () => {
    const addr = "0x9999999999999999999999999999999999999999";
    // Designated on Oct 5, added to our list on Oct 10.
    const entry = makeEntry("evm", addr, {
      listedFrom: Date.UTC(2024, 9, 5),
      listedAt: Date.UTC(2024, 9, 10),
    });
    const other = "0x1111111111111111111111111111111111111111";
    const history = [
      makeTransfer({ txHash: "0x1", from: other, to: addr, timestamp: Date.UTC(2024, 8, 1) }),
      makeTransfer({ txHash: "0x2", from: addr, to: other, timestamp: Date.UTC(2024, 9, 8) }),
      makeTransfer({ txHash: "0x5", from: addr, to: other, timestamp: Date.UTC(2024, 9, 11) }), // screened live
      makeTransfer({ txHash: "0x3", from: addr, to: other, status: "retracted" }),
      makeTransfer({ chain: "tron", txHash: "4", from: addr, to: other }),
    ];
    const ctx = { rules: parseRules({}), suppressions: new Suppressions(), now: () => 5 };
    const flags = retroFlags(entry, history, ctx);
    expect(flags.map((f) => [f.transfer.txHash, f.sides[0], f.listedAtTransferTime])).toEqual([
      ["0x1", "to", false],
      ["0x2", "from", true],
    ]);
    expect(flags.every((f) => f.retro && f.listedAt === Date.UTC(2024, 9, 5))).toBe(true);
    expect(retroFlags(entry, history, ctx).map((f) => f.id)).toEqual(flags.map((f) => f.id));
    expect(retroFlags({ ...entry, category: "exchange" }, history, ctx)).toEqual([]);
  });
});
