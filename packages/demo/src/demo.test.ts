import { describe, expect, it } from "vitest";
import { demoAddress, demoCast, demoWatchlistCsv } from "./addresses.js";

describe("demo cast", () => {
  it("is deterministic, canonical lowercase EVM, and lists sources and services", () => {
    expect(demoAddress("x")).toBe(demoAddress("x"));
    expect(demoAddress("x")).toMatch(/^0x[0-9a-f]{40}$/);
    const cast = demoCast(10);
    const csv = demoWatchlistCsv(cast).trim().split("\n");
    expect(csv[0]).toBe("address,chain,label,category,severity,entity,programmes");
    expect(csv).toHaveLength(1 + cast.listed.length + cast.services.length);
    expect(csv.filter((l) => l.includes(",sanctioned,"))).toHaveLength(5);
    expect(csv.filter((l) => l.includes(",exchange,"))).toHaveLength(2);
  });
});
