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
    expect(m.isListed("bitcoin", "")).toBe(false);
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
});
