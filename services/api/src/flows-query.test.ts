import { describe, expect, it } from "vitest";
import {
  encodeCursor,
  FLOW_VERSIONS_BY_AMOUNT_RELATION,
  FLOWS_BY_ADDRESS_RELATION,
  FLOWS_RELATION,
  flowsPageQuery,
  flowsWhere,
  parseTime,
} from "./flows-query.js";
import { HttpProblem } from "./problem.js";
import { normalizeAddress } from "./screening.js";

describe("flowsWhere", () => {
  it("binds every value as a parameter, never into the SQL text", () => {
    const w = flowsWhere({
      chain: ["Tron"],
      entity: "'; DROP TABLE flags; --",
      minAmount: "10",
      retro: true,
    });
    expect(w.sql).not.toContain("DROP");
    expect(w.params).toMatchObject({
      chains: ["tron"],
      entity: "'; DROP TABLE flags; --",
      minAmt: "10",
      retro: true,
    });
    expect(w.sql).toContain("status != 'retracted'");
  });
  it("canonicalises the address filter", () => {
    const w = flowsWhere({ address: "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1" });
    expect(w.params.addr).toBe("0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1");
  });
  it("reads one address's flows from the address-ordered relation, by its primary key", () => {
    const w = flowsWhere({ address: "0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1", chain: ["bsc"] });
    expect(w.relation).toBe(FLOWS_BY_ADDRESS_RELATION);
    expect(w.sql).toContain("party = {addr:String}");
    expect(w.sql).not.toContain("transfers_by_address");
    const page = flowsPageQuery({ address: "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre" });
    expect(page.sql).toContain(`FROM ${FLOWS_BY_ADDRESS_RELATION} WHERE party = {addr:String}`);
    expect(flowsWhere({ chain: ["tron"] }).relation).toBe(FLOWS_RELATION);
    expect(flowsPageQuery({}).sql).toContain(`FROM ${FLOWS_RELATION} WHERE`);
  });
  it.each([
    [{ chain: ["narnia"] }, /unknown chain/],
    [{ from: "yesterday" }, /from must be/],
    [{ from: "2024-02-01", to: "2024-01-01" }, /to must be after from/],
    [{ minAmount: "-1" }, /minAmount/],
    [{ minAmount: "5", maxAmount: "4" }, /must not exceed/],
    [{ address: "0x12" }, /address/],
  ])("rejects %j", (q, re) => {
    expect(() => flowsWhere(q)).toThrow(HttpProblem);
    expect(() => flowsWhere(q)).toThrow(re);
  });
});

describe("cursors", () => {
  it("continue after the last row with the same sort", () => {
    const c = encodeCursor({ s: "amount", o: "asc", v: "123", id: "abc" });
    const q = flowsPageQuery({ sort: "amount", order: "asc", cursor: c });
    expect(q.sql).toContain("(amount, id) > (toUInt256({cv:String}), {cid:String})");
    expect(q.sql).toMatch(/ORDER BY amount ASC, id ASC$/);
    expect(q.params).toMatchObject({ cv: "123", cid: "abc" });
  });
  it("bound the sort column alone too, so the primary key narrows the read", () => {
    const c = encodeCursor({ s: "amount", o: "desc", v: "123", id: "abc" });
    const q = flowsPageQuery({ sort: "amount", cursor: c, chain: ["tron"] }, "id", {
      relation: FLOW_VERSIONS_BY_AMOUNT_RELATION,
      through: { v: "100", id: "xyz" },
    });
    expect(q.relation).toBe(FLOW_VERSIONS_BY_AMOUNT_RELATION);
    expect(q.sql).toContain(`SELECT id FROM ${FLOW_VERSIONS_BY_AMOUNT_RELATION} WHERE chain IN`);
    expect(q.sql).toContain(
      "amount <= toUInt256({cv:String}) AND (amount, id) < (toUInt256({cv:String}), {cid:String})",
    );
    expect(q.sql).toContain(
      "amount >= toUInt256({tv:String}) AND (amount, id) >= (toUInt256({tv:String}), {tid:String})",
    );
    expect(q.sql).toMatch(/ORDER BY amount DESC, id DESC$/);
    expect(q.params).toMatchObject({ cv: "123", cid: "abc", tv: "100", tid: "xyz" });
    const asc = flowsPageQuery({ sort: "valueUsd", order: "asc" }, "id", {
      through: { v: "1.5", id: "a" },
    });
    expect(asc.sql).toContain(`FROM ${FLOWS_RELATION} WHERE`);
    expect(asc.sql).toContain(
      "value_usd <= toFloat64({tv:String}) AND (value_usd, id) <= (toFloat64({tv:String}), {tid:String})",
    );
  });
  it("refuse a cursor of another sort or a forged one", () => {
    const c = encodeCursor({ s: "amount", o: "asc", v: "1", id: "x" });
    expect(() => flowsPageQuery({ sort: "hops", order: "asc", cursor: c })).toThrow(
      /different sort/,
    );
    expect(() => flowsPageQuery({ cursor: "not-base64-json" })).toThrow(/cursor/);
  });
});

describe("parseTime and normalizeAddress", () => {
  it("reads ISO and Unix ms", () => {
    expect(parseTime("from", "2024-01-01T00:00:00Z")).toBe(Date.UTC(2024, 0, 1));
    expect(parseTime("from", "1704067200000")).toBe(Date.UTC(2024, 0, 1));
  });
  it("tells the family from the shape, or says why it cannot", () => {
    expect(normalizeAddress(undefined, "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre")).toMatchObject({
      ok: true,
      family: "tron",
    });
    expect(normalizeAddress(undefined, "123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX")).toMatchObject({
      ok: true,
      family: "bitcoin",
    });
    expect(normalizeAddress("bsc", "0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1")).toMatchObject({
      ok: true,
      family: "evm",
    });
    expect(normalizeAddress(undefined, "hello")).toMatchObject({ ok: false });
    // 0x + 40 hex is EVM by shape; a mixed-case address is checked once against EIP-55.
    expect(normalizeAddress(undefined, "0x01e2919679362dFBC9ee1644Ba9C6da6D6245BB1")).toEqual({
      ok: true,
      family: "evm",
      address: "0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1",
      chain: null,
    });
    expect(normalizeAddress(undefined, "0x01e2919679362dFBC9ee1644Ba9C6da6D6245bB1")).toEqual({
      ok: false,
      error: "invalid evm address: mixed-case address fails its EIP-55 checksum",
    });
    expect(normalizeAddress("narnia", "x")).toEqual({ ok: false, error: 'unknown chain "narnia"' });
  });
});
