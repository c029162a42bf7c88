import { describe, expect, it } from "vitest";
import { compareUtf8, EXPOSURE_LIST_MAX, exposureFromFlows } from "./address-exposure.js";
import type { FlowRow } from "./flows-query.js";

const A = "0xaaaa";
let n = 0;
function row(over: Partial<FlowRow>): FlowRow {
  n++;
  return {
    id: `f${n}`,
    transfer_id: `t${n}`,
    flagged_at_ms: "1",
    ts_ms: String(1_700_000_000_000 + n),
    chain: "ethereum",
    tx_hash: "h",
    kind: "native",
    from_address: "0xfrom",
    to_address: A,
    listed_address: "0xlisted",
    counterparty: A,
    asset: "ETH",
    asset_contract: "",
    amount_base_units: "1",
    value_usd: 0,
    exposure: "direct",
    hops: 0,
    severity: "high",
    retro: false,
    entities: [],
    programmes: [],
    lists: [],
    exchange: "",
    status: "active",
    ...over,
  };
}

describe("exposureFromFlows", () => {
  it("groups the flags where the address is exposed, as the SQL does", () => {
    const got = exposureFromFlows(
      [
        row({ exposure: "indirect", hops: 2, ts_ms: "3000", value_usd: 0.1, entities: ["B"] }),
        row({ exposure: "indirect", hops: 1, ts_ms: "1000", value_usd: 0.2, entities: ["A", "B"] }),
        row({ exposure: "direct", hops: 0, ts_ms: "2000", value_usd: 1.5, listed_address: "0xz" }),
        // Another party exposed: not this address's exposure.
        row({ exposure: "direct", counterparty: "0xother", value_usd: 99 }),
        row({ exposure: "none", hops: 0, ts_ms: "500", value_usd: 0 }),
      ],
      A,
    );
    expect(got).toEqual([
      {
        exposure: "direct",
        minHops: 0,
        flows: 1,
        valueUsd: 1.5,
        sources: ["0xz"],
        entities: [],
        firstMs: 2000,
        lastMs: 2000,
      },
      // Same min hops: by name, byte order.
      {
        exposure: "none",
        minHops: 0,
        flows: 1,
        valueUsd: 0,
        sources: ["0xlisted"],
        entities: [],
        firstMs: 500,
        lastMs: 500,
      },
      {
        exposure: "indirect",
        minHops: 1,
        flows: 2,
        // An exact sum of micro-dollars (0.1 + 0.2 in floating point is 0.30000000000000004).
        valueUsd: 0.3,
        sources: ["0xlisted"],
        entities: ["A", "B"],
        firstMs: 1000,
        lastMs: 3000,
      },
    ]);
  });
  it("lists the 50 smallest distinct sources and entities in byte order", () => {
    const flows = Array.from({ length: 120 }, (_, i) =>
      row({
        listed_address: `0x${String(119 - i).padStart(3, "0")}`,
        entities: [`E${i % 70}`, "É", "Z"],
      }),
    );
    const [e] = exposureFromFlows(flows, A);
    expect(e?.sources).toHaveLength(EXPOSURE_LIST_MAX);
    expect(e?.sources[0]).toBe("0x000");
    expect(e?.sources[49]).toBe("0x049");
    expect(e?.entities).toHaveLength(EXPOSURE_LIST_MAX);
    expect(e?.entities.slice(0, 3)).toEqual(["E0", "E1", "E10"]);
    // "Z" (0x5a) sorts before "É" (0xc3 0x89) in UTF-8, as ClickHouse compares bytes.
    expect(compareUtf8("Z", "É")).toBeLessThan(0);
    expect(compareUtf8("\uffff", "😀")).toBeLessThan(0); // UTF-16 order says the opposite
    expect(exposureFromFlows([], A)).toEqual([]);
  });
});
