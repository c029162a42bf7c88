import { randomBytes } from "node:crypto";
import type { Family } from "@chainscreen/addresses";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Matcher, type MatchMeta } from "./matcher.js";

const meta = (listId: string, entity: string): MatchMeta => ({
  listId,
  listVersion: 1,
  records: [
    {
      code: null,
      entityName: entity,
      entityId: null,
      programmes: [],
      category: "sanctioned",
      severity: "severe",
      label: null,
      designatedAt: null,
    },
  ],
});

describe("Matcher", () => {
  it("agrees with a Map on random keys across growth, families and misses", () => {
    const m = new Matcher();
    const ref = new Map<string, string>();
    const families: Family[] = ["evm", "bitcoin", "tron", "monero"];
    for (let i = 0; i < 20_000; i++) {
      const family = families[i % families.length] as Family;
      const address =
        family === "evm"
          ? `0x${randomBytes(20).toString("hex")}`
          : randomBytes(12 + (i % 20)).toString("base64url");
      const mt = meta("l", `e${i % 100}`);
      m.add(family, address, mt, null, null);
      ref.set(`${family}:${address}`, `e${i % 100}`);
      if (i === 10_000) m.compact(); // growth after a trim must keep working
    }
    expect(m.keyCount).toBe(ref.size);
    for (const [k, entity] of ref) {
      const i = k.indexOf(":");
      const hits = m.lookup(k.slice(0, i) as Family, k.slice(i + 1));
      expect(hits.map((h) => h.records[0]?.entityName)).toEqual([entity]);
    }
    for (let i = 0; i < 2000; i++) {
      expect(m.isListed("evm", `0x${randomBytes(20).toString("hex")}`)).toBe(false);
    }
    // The same bytes in another family are another key.
    const [first] = ref.keys();
    const addr = (first as string).slice(4);
    expect(m.isListed("tron", addr)).toBe(false);
  });

  it("EVM keys match in any hex case; malformed input never matches", () => {
    const m = new Matcher();
    const a = "0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1";
    m.add("evm", a, meta("ofac", "x"), null, null);
    expect(m.isListed("evm", "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1")).toBe(true);
    expect(m.isListed("evm", a.toUpperCase().replace("0X", "0x"))).toBe(true);
    expect(m.lookup("evm", "0x01E2919679362DFBC9EE1644BA9C6DA6D6245BB1")[0]?.address).toBe(a);
    expect(m.isListed("evm", a.slice(0, 41))).toBe(false);
    expect(m.isListed("evm", `${a.slice(0, 41)}z`)).toBe(false);
    expect(() => m.add("evm", `${a.slice(0, 41)}z`, meta("ofac", "x"), null, null)).toThrow(
      /cannot index/,
    );
    expect(() => m.add("evm", `0x${"\u0130".repeat(40)}`, meta("ofac", "x"), null, null)).toThrow(
      /cannot index/,
    );
    expect(m.isListed("bitcoin", "")).toBe(false);
  });

  it("keeps each key's list, version and records when metas share records or objects", () => {
    const m = new Matcher();
    const evm = (i: number) => `0x${i.toString(16).padStart(40, "0")}`;
    const shared = meta("ofac", "GARANTEX");
    m.add("evm", evm(1), shared, null, null); // one object for many keys (the loaders do this)
    m.add("evm", evm(2), shared, null, null);
    m.add("evm", evm(3), meta("ofac", "GARANTEX"), null, null); // equal records, new object
    m.add("evm", evm(4), meta("custom", "GARANTEX"), null, null); // same records, other list
    m.add("evm", evm(5), { ...meta("ofac", "GARANTEX"), listVersion: 2 }, null, null);
    m.add("evm", evm(6), meta("ofac", "OTHER"), null, null);
    const seen = [1, 2, 3, 4, 5, 6].map((i) => {
      const [x] = m.lookup("evm", evm(i));
      return `${x?.listId}/${x?.listVersion}/${x?.records[0]?.entityName}`;
    });
    expect(seen).toEqual([
      "ofac/1/GARANTEX",
      "ofac/1/GARANTEX",
      "ofac/1/GARANTEX",
      "custom/1/GARANTEX",
      "ofac/2/GARANTEX",
      "ofac/1/OTHER",
    ]);
    expect(m.lookup("evm", evm(1))[0]?.records).toEqual(shared.records);
    // Records handed out are copies: changing them does not change the index.
    const [first] = m.lookup("evm", evm(1));
    if (first?.records[0]) first.records[0].entityName = "CHANGED";
    expect(m.lookup("evm", evm(2))[0]?.records[0]?.entityName).toBe("GARANTEX");
  });

  it("intervals: point in time, several lists, close()", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 1000 })), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer({ min: -10, max: 2100 }),
        (ivs, t) => {
          const m = new Matcher();
          const addr = "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF";
          for (const [from, len] of ivs) m.add("tron", addr, meta("a", "x"), from, from + len);
          const expected = ivs.some(([from, len]) => from <= t && t < from + len);
          expect(m.isListedAt("tron", addr, t)).toBe(expected);
          expect(m.lookupAt("tron", addr, t).length > 0).toBe(expected);
        },
      ),
    );
    const m = new Matcher();
    const addr = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
    m.add("bitcoin", addr, meta("a", "x"), null, null);
    m.add("bitcoin", addr, meta("b", "y"), 100, null);
    expect(
      m
        .lookup("bitcoin", addr)
        .map((x) => x.listId)
        .sort(),
    ).toEqual(["a", "b"]);
    expect(m.close("a", "bitcoin", addr, 500)).toBe(true);
    expect(m.lookup("bitcoin", addr).map((x) => x.listId)).toEqual(["b"]);
    expect(m.isListedAt("bitcoin", addr, 50)).toBe(true); // a, before its delisting
    expect(m.lookupAt("bitcoin", addr, 50).map((x) => x.listId)).toEqual(["a"]);
  });

  it("EVM table: growth and rehash past the load factor, any hex case, compact", () => {
    const m = new Matcher();
    const keys: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const a = `0x${randomBytes(20).toString("hex")}`;
      keys.push(a);
      // Added in mixed case: the key is the bytes, the canonical address lowercase.
      const mixed = `0x${[...a.slice(2)].map((c, j) => (j % 3 === 0 ? c.toUpperCase() : c)).join("")}`;
      m.add("evm", i % 2 ? mixed : a, meta("l", `e${i}`), null, null);
      if (i === 700) m.compact();
    }
    expect(m.keyCount).toBe(5000);
    const before = m.byteSize();
    m.compact();
    expect(m.byteSize()).toBeLessThanOrEqual(before);
    keys.forEach((a, i) => {
      expect(m.isListed("evm", a)).toBe(true);
      expect(m.isListed("evm", `0X${a.slice(2).toUpperCase()}`)).toBe(true);
      expect(m.history("evm", a).map((x) => [x.address, x.records[0]?.entityName])).toEqual([
        [a, `e${i}`],
      ]);
    });
    for (let i = 0; i < 1000; i++) {
      expect(m.has("evm", `0x${randomBytes(20).toString("hex")}`)).toBe(false);
    }
  });

  it("EVM keys that share their last 4 bytes (same slot hash) stay apart", () => {
    const m = new Matcher();
    const tail = "deadbeef";
    const keys = Array.from({ length: 300 }, () => `0x${randomBytes(16).toString("hex")}${tail}`);
    // And keys that differ from one another in a single 4-byte word only.
    const base = keys[0] as string;
    for (let w = 0; w < 4; w++) {
      const o = 2 + 8 * w;
      keys.push(
        `${base.slice(0, o)}${(base[o] === "0" ? "1" : "0").repeat(8)}${base.slice(o + 8)}`,
      );
    }
    keys.forEach((a, i) => {
      m.add("evm", a, meta("l", `e${i}`), null, i % 3 === 0 ? 5 : null);
    });
    expect(m.keyCount).toBe(keys.length);
    keys.forEach((a, i) => {
      expect(m.isListed("evm", a)).toBe(i % 3 !== 0);
      expect(m.has("evm", a.toUpperCase().replace("0X", "0x"))).toBe(true);
      expect(m.history("evm", a)[0]?.records[0]?.entityName).toBe(`e${i}`);
    });
    expect(m.has("evm", `0x${"0".repeat(32)}${tail}`)).toBe(false);
    // Matches the last 4 bytes of listed keys but is malformed before them: not found, not indexable.
    const bad = `0x${"g".repeat(32)}${tail}`;
    expect(m.has("evm", bad)).toBe(false);
    expect(() => m.add("evm", bad, meta("l", "x"), null, null)).toThrow(/cannot index/);
    expect(() =>
      m.add("evm", `0x${"\u00e9".repeat(32)}${tail}`, meta("l", "x"), null, null),
    ).toThrow(/cannot index/);
    expect(m.has("evm", `0x${"\u0131".repeat(40)}`)).toBe(false);
    expect(m.keyCount).toBe(keys.length);
  });

  it("short and long keys: same last 10 characters, lengths at the boundaries, families", () => {
    const m = new Matcher();
    const tail = "qqqqq7zzzz";
    const addrs = [
      "a",
      "TVy95wrbDg",
      `x${tail}`,
      `xy${tail}`,
      `yx${tail}`,
      `${"b".repeat(35)}${tail}`, // 45 characters: the longest short key
      `${"b".repeat(36)}${tail}`, // 46: long table
      `${"c".repeat(95)}`,
      "abc-defghijklmnop", // not alphanumeric in the last 10: long table
      "a.b:c_d-e/f+gh1234567890", // not alphanumeric before the last 10: short table
    ];
    addrs.forEach((a, i) => {
      m.add("tron", a, meta("l", `e${i}`), null, null);
    });
    m.add("bitcoin", `x${tail}`, meta("l", "btc"), null, null);
    expect(m.keyCount).toBe(addrs.length + 1);
    addrs.forEach((a, i) => {
      expect(m.history("tron", a).map((x) => [x.address, x.records[0]?.entityName])).toEqual([
        [a, `e${i}`],
      ]);
      expect(m.isListed("tron", `${a}1`)).toBe(false);
      expect(m.isListed("tron", `1${a}`)).toBe(false);
    });
    expect(m.lookup("bitcoin", `x${tail}`).map((x) => x.records[0]?.entityName)).toEqual(["btc"]);
    expect(m.isListed("bitcoin", `xy${tail}`)).toBe(false);
    expect(m.isListed("solana", `x${tail}`)).toBe(false);
    expect(m.isListed("tron", tail)).toBe(false);
    // Non-ASCII before the last 10 characters: not found, not indexable.
    expect(m.isListed("tron", `\u00e9${tail}`)).toBe(false);
    expect(() => m.add("tron", `\u00e9${tail}`, meta("l", "x"), null, null)).toThrow(
      /cannot index/,
    );
    expect(() => m.add("tron", `x${tail}\u00e9`, meta("l", "x"), null, null)).toThrow(
      /cannot index/,
    );
    expect(() => m.add("tron", "c".repeat(130), meta("l", "x"), null, null)).toThrow(
      /cannot index/,
    );
    expect(() => m.add("tron", `${"c".repeat(50)}\u00e9`, meta("l", "x"), null, null)).toThrow(
      /cannot index/,
    );
    expect(m.isListed("tron", `${"c".repeat(94)}\u00e7`)).toBe(false);
    expect(() => m.add("nonsense" as Family, "abc", meta("l", "x"), null, null)).toThrow(
      /cannot index/,
    );
  });

  it("printable addresses of any shape round-trip through every table", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.string({
            unit: fc.constantFrom(..."0123456789abcdefXYZ-_:.~ "),
            minLength: 1,
            maxLength: 70,
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (addrs) => {
          const m = new Matcher();
          for (const a of addrs) m.add("unknown", a, meta("l", a), null, null);
          expect(m.keyCount).toBe(addrs.length);
          // In reverse order: no lookup sees the scratch state its insertion saw.
          for (const a of [...addrs].reverse()) {
            const [hit, ...more] = m.history("unknown", a);
            expect(more).toEqual([]);
            expect(hit?.address).toBe(a);
            expect(hit?.records[0]?.entityName).toBe(a);
            expect(m.has("monero", a)).toBe(false);
          }
        },
      ),
    );
  });

  it("listing flag in the slot follows add, close and set, in every table", () => {
    const cases: [Family, string][] = [
      ["evm", "0x7f367cc41522ce07553e823bf3be79a889debe1b"],
      ["tron", "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF"],
      ["monero", `4${"A".repeat(94)}`],
      ["unknown", "acct:123-456"],
    ];
    for (const [family, a] of cases) {
      const m = new Matcher();
      expect(m.close("a", family, a, 10)).toBe(false);
      m.add(family, a, meta("a", "x"), 0, null);
      m.add(family, a, meta("b", "y"), 5, null);
      expect(m.isListed(family, a)).toBe(true);
      expect(m.close("a", family, a, 100)).toBe(true);
      expect(m.isListed(family, a)).toBe(true); // b still open
      expect(m.close("b", family, a, 200)).toBe(true);
      expect(m.isListed(family, a)).toBe(false);
      expect(m.close("b", family, a, 300)).toBe(false);
      expect(m.has(family, a)).toBe(true);
      expect(m.isListedAt(family, a, 150)).toBe(true);
      expect(m.isListedAt(family, a, 250)).toBe(false);
      // set() reopening b's interval (same from) sets the flag again, closing it clears it.
      m.set("b", family, a, meta("b", "y2"), 5, null);
      expect(m.isListed(family, a)).toBe(true);
      expect(m.lookup(family, a).map((x) => x.records[0]?.entityName)).toEqual(["y2"]);
      m.set("b", family, a, meta("b", "y2"), 5, 400);
      expect(m.isListed(family, a)).toBe(false);
      expect(m.history(family, a).map((x) => [x.listId, x.listedFrom, x.listedUntil])).toEqual([
        ["b", 5, 400],
        ["a", 0, 100],
      ]);
      // A new interval of a closed key: added at the head of its chain.
      m.set("a", family, a, meta("a", "x"), 500, null);
      expect(m.isListed(family, a)).toBe(true);
      expect(m.intervalCount).toBe(3);
      expect(m.keyCount).toBe(1);
    }
  });
});
