import { describe, expect, it } from "vitest";
import { toBaseUnits } from "./amount.js";
import { chainForNetwork } from "./networks.js";
import { canonicalTxHash, exchangeTransferId, reportToTransfer } from "./report.js";

const base = {
  reference: "dep-1",
  exchange: "Binance",
  direction: "deposit",
  network: "TRX",
  asset: "usdt",
  amount: "30.401259",
  txHash: "e122cba603b48ee234807f91859a04dbc4728f1b215d5c9c05385733bca674bc",
  counterpartyAddress: "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
  exchangeAddress: "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx",
  time: "2025-01-02T03:04:05Z",
};

describe("amounts", () => {
  it("converts display units to base units exactly", () => {
    expect(toBaseUnits("30.401259", 6)).toEqual({ ok: true, value: "30401259" });
    expect(toBaseUnits("1", 18)).toEqual({ ok: true, value: "1000000000000000000" });
    expect(toBaseUnits("0.000000000000000001", 18)).toEqual({ ok: true, value: "1" });
    expect(toBaseUnits("0.10", 1)).toEqual({ ok: true, value: "1" });
    expect(toBaseUnits("0", 6)).toEqual({ ok: true, value: "0" });
  });
  it("rejects too many decimals and non-numbers", () => {
    expect(toBaseUnits("1.0000001", 6).ok).toBe(false);
    expect(toBaseUnits("-1", 6).ok).toBe(false);
    expect(toBaseUnits("1e6", 6).ok).toBe(false);
  });
});

describe("networks", () => {
  it("maps exchange network labels to chains", () => {
    expect(chainForNetwork("ETH")).toBe("ethereum");
    expect(chainForNetwork("USDT-TRC20")).toBe("tron");
    expect(chainForNetwork("BTC-Bitcoin")).toBe("bitcoin");
    expect(chainForNetwork("BSC")).toBe("bsc");
    expect(chainForNetwork("trc20")).toBe("tron");
    expect(chainForNetwork("Nowhere")).toBeNull();
  });
});

describe("reportToTransfer", () => {
  it("maps a deposit to an exchange_deposit transfer.v1", () => {
    const r = reportToTransfer(base, { tenantId: "acme", source: "push", now: 1 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.transfer).toMatchObject({
      id: exchangeTransferId("tron", "acme", "dep-1"),
      chain: "tron",
      kind: "exchange_deposit",
      from: "TVy95wrbDgQ8NA3XT8qKqwC6YBsFTPHtFF",
      to: "TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx",
      amount: "30401259",
      asset: { symbol: "USDT", contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", decimals: 6 },
      timestamp: Date.parse("2025-01-02T03:04:05Z"),
      exchange: { name: "binance", tenantId: "acme", reference: "dep-1" },
    });
  });

  it("maps a withdrawal with the counterparty as receiver and canonical EVM case", () => {
    const r = reportToTransfer(
      {
        ...base,
        direction: "withdrawal",
        network: "ethereum",
        asset: "ETH",
        amount: "1.5",
        txHash: null,
        counterpartyAddress: "0x8589427373D6D84E98730D7795D8f6f8731FDA16",
        exchangeAddress: null,
        time: 1_700_000_000_000,
      },
      { source: "push" },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.transfer.kind).toBe("exchange_withdrawal");
    expect(r.transfer.to).toBe("0x8589427373d6d84e98730d7795d8f6f8731fda16");
    expect(r.transfer.from).toBeNull();
    expect(r.transfer.amount).toBe("1500000000000000000");
    expect(r.transfer.txHash).toBe("ref:dep-1");
  });

  it("writes the tx hash as the chain ingesters store it, so the report joins the chain", () => {
    const tron = "E122CBA603B48EE234807F91859A04DBC4728F1B215D5C9C05385733BCA674BC";
    const r = reportToTransfer({ ...base, txHash: `0x${tron}` }, { source: "push" });
    expect(r.ok && r.transfer.txHash).toBe(base.txHash);
    const evm = "2E3DCD05B6A4E4E2A0B4E1DEA7B2B4C1E0F0A1B2C3D4E5F60718293A4B5C6D7E";
    expect(canonicalTxHash("evm", evm)).toBe(`0x${evm.toLowerCase()}`);
    expect(canonicalTxHash("bitcoin", `0x${evm}`)).toBe(evm.toLowerCase());
    // Not a 32-byte hash (an exchange's internal id): kept as given.
    expect(canonicalTxHash("bitcoin", " Internal transfer 1234 ")).toBe("Internal transfer 1234");
  });

  it("is idempotent on the reference: same id whatever else changes", () => {
    const a = reportToTransfer(base, { tenantId: "acme", source: "push" });
    const b = reportToTransfer({ ...base, amount: "31" }, { tenantId: "acme", source: "push" });
    expect(a.ok && b.ok && a.transfer.id === b.transfer.id).toBe(true);
  });

  it("names every bad field", () => {
    const r = reportToTransfer(
      {
        ...base,
        network: "ETH",
        counterpartyAddress: "0xnothex",
        amount: "1.2.3",
        time: "yesterday",
      },
      { source: "push" },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const fields = r.errors.map((e) => e.field).sort();
    expect(fields).toEqual(["amount", "counterpartyAddress", "exchangeAddress", "time"]);
  });

  it("rejects missing required fields with their names", () => {
    const r = reportToTransfer({ exchange: "x" }, { source: "push" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field)).toEqual(
      expect.arrayContaining(["reference", "direction", "network", "asset", "amount", "time"]),
    );
  });

  it("requires decimals for unknown assets", () => {
    const r = reportToTransfer({ ...base, asset: "WEIRD" }, { source: "push" });
    expect(r.ok).toBe(false);
    const ok = reportToTransfer(
      { ...base, asset: "WEIRD", decimals: 2, amount: "1.25", assetContract: null },
      { source: "push" },
    );
    expect(ok.ok && ok.transfer.amount).toBe("125");
  });
});
