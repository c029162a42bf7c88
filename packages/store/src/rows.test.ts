import { type TransferV1, transferId } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import { chTime, transferRow } from "./rows.js";

const base: TransferV1 = {
  type: "transfer.v1",
  id: transferId("bitcoin", "ab".repeat(32), "utxo", 1),
  chain: "bitcoin",
  kind: "utxo",
  txHash: "ab".repeat(32),
  index: "1",
  blockNumber: 413567,
  blockHash: "00".repeat(32),
  timestamp: 1_464_000_000_123,
  from: [
    { address: "1A", value: "5" },
    { address: null, value: "1" },
    { address: "1A", value: "2" },
    { address: "3B", value: "9" },
  ],
  to: "bc1q",
  asset: { symbol: "BTC", contract: null, decimals: 8 },
  amount: "115792089237316195423570985008687907853269984665640564039457584007913129639935",
  fee: "100",
  status: "confirmed",
  source: "node",
  observedAt: 1_464_000_001_000,
};

describe("transferRow", () => {
  it("maps a UTXO transfer: distinct senders, inputs kept as JSON, amounts as strings, UTC times", () => {
    const r = transferRow(base, { topic: "transfer.v1", partition: 2, offset: "42" });
    expect(r.senders).toEqual(["1A", "3B"]);
    expect(JSON.parse(r.inputs)).toHaveLength(4);
    expect(r.amount).toBe(base.amount);
    expect(r.ts).toBe("2016-05-23 10:40:00.123");
    expect(r.version).toBe(base.observedAt);
    expect([r.asset, r.asset_contract, r.kafka_partition, r.kafka_offset]).toEqual([
      "BTC",
      "",
      2,
      "42",
    ]);
  });

  it("maps an account transfer with an exchange", () => {
    const r = transferRow({
      ...base,
      chain: "ethereum",
      kind: "exchange_deposit",
      from: "0xabc",
      exchange: { name: "binance", tenantId: "t1", reference: "ref-1" },
    });
    expect(r.senders).toEqual(["0xabc"]);
    expect(r.inputs).toBe("");
    expect([r.exchange, r.exchange_tenant, r.exchange_reference]).toEqual([
      "binance",
      "t1",
      "ref-1",
    ]);
  });

  it("formats epoch milliseconds without a time zone shift", () => {
    expect(chTime(0)).toBe("1970-01-01 00:00:00.000");
  });
});
