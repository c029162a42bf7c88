import { describe, expect, it } from "vitest";
import { checkBlock, checkTxInfoList, parseTronJson, ShapeError } from "./trongrid.js";

const H = "ab".repeat(32);
const block = (over: Record<string, unknown> = {}) => ({
  blockID: H,
  block_header: { raw_data: { number: 7, parentHash: H, timestamp: 1 } },
  ...over,
});

describe("checkBlock / checkTxInfoList", () => {
  it("accepts the documented shapes and returns the same objects", () => {
    const b = block({ transactions: [] });
    expect(checkBlock(b)).toBe(b);
    expect(checkTxInfoList([])).toEqual([]);
    expect(checkTxInfoList({})).toEqual([]);
  });

  it("names the path of the first mismatch", () => {
    const bad = block({
      transactions: [
        { txID: H, raw_data: { contract: [{ type: "TransferContract" }] }, raw_data_hex: "" },
      ],
    });
    expect(() => checkBlock(bad)).toThrow(
      new ShapeError("transactions.0.raw_data.contract.0.parameter", "an object"),
    );
    expect(() => checkBlock({ blockID: "xyz" })).toThrow(/blockID: expected a 32-byte hex hash/);
    expect(() => checkBlock([])).toThrow(/\(root\): expected an object/);
    expect(() => checkTxInfoList([{ id: H, log: [{ topics: ["zz"] }] }])).toThrow(
      /0\.log\.0\.topics\.0/,
    );
    expect(() =>
      checkTxInfoList([{ id: H, internal_transactions: [{ caller_address: "41" }] }]),
    ).toThrow(/transferTo_address/);
    expect(() => checkTxInfoList({ Error: "x" })).toThrow(/expected an array/);
  });
});

describe("parseTronJson", () => {
  it("keeps int64 amounts above 2^53 exact and leaves other numbers alone", () => {
    const v = parseTronJson(
      '{"amount":9223372036854775807,"call_value":5,"number":78861100}',
    ) as Record<string, unknown>;
    expect(v).toEqual({ amount: "9223372036854775807", call_value: 5, number: 78861100 });
  });
});
