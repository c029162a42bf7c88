import { describe, expect, it } from "vitest";
import { ColdOutflows } from "./cold-outflows.js";
import type { OutflowFact } from "./exposure-record.js";

const fact = (address: string, id: string): OutflowFact =>
  ({
    type: "exposure.v1",
    kind: "outflow",
    family: "evm",
    address,
    transfer: { id },
    valueUsd: null,
    senderListed: false,
    receiverIsService: false,
    receiverListed: false,
  }) as unknown as OutflowFact;

const ids = (xs: OutflowFact[]) => xs.map((x) => x.transfer.id);

describe("ColdOutflows", () => {
  it("returns an address's outflows newest first and forgets them once taken", () => {
    const c = new ColdOutflows(10);
    c.add("evm", "a", fact("a", "1"));
    c.add("evm", "b", fact("b", "2"));
    c.add("evm", "a", fact("a", "3"));
    expect(c.size).toBe(3);
    expect(ids(c.take("evm", "a"))).toEqual(["3", "1"]);
    expect(c.take("evm", "a")).toEqual([]);
    expect(c.size).toBe(1);
    expect(ids(c.take("evm", "b"))).toEqual(["2"]);
  });

  it("overwrites the oldest when full and counts what it dropped", () => {
    const c = new ColdOutflows(3);
    for (let i = 0; i < 5; i++) c.add("evm", i % 2 ? "odd" : "even", fact("x", String(i)));
    expect(c.size).toBe(3);
    expect(c.dropped).toBe(2);
    // 0 and 1 were overwritten by 3 and 4: each chain stops at the overwritten slot.
    expect(ids(c.take("evm", "even"))).toEqual(["4", "2"]);
    expect(ids(c.take("evm", "odd"))).toEqual(["3"]);
  });

  it("removes one retracted outflow and keeps the others of the address", () => {
    const c = new ColdOutflows(10);
    c.add("evm", "a", fact("a", "1"));
    c.add("evm", "a", fact("a", "2"));
    c.add("evm", "a", fact("a", "3"));
    expect(c.remove("evm", "a", "2")).toBe(true);
    expect(c.remove("evm", "a", "9")).toBe(false);
    expect(ids(c.take("evm", "a"))).toEqual(["3", "1"]);
  });

  it("keeps its address map bounded when many addresses pass through", () => {
    const c = new ColdOutflows(100);
    for (let i = 0; i < 10_000; i++) c.add("evm", `k${i}`, fact("x", String(i)));
    expect(c.size).toBe(100);
    const heads = (c as unknown as { headCount: number }).headCount;
    expect(heads).toBeLessThanOrEqual(200);
    expect(ids(c.take("evm", "k9999"))).toEqual(["9999"]);
    expect(c.take("evm", "k0")).toEqual([]);
  });
});
