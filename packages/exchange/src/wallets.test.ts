import { WatchlistEntryV1, watchlistKey } from "@chainscreen/schema";
import { describe, expect, it } from "vitest";
import { reportToTransfer } from "./report.js";
import { EXCHANGE_WALLETS_LIST, reportedWallet, walletEntry, walletKey } from "./wallets.js";

const report = {
  reference: "dep-1",
  exchange: "Binance",
  direction: "deposit",
  network: "ETH",
  asset: "USDT",
  amount: "10",
  txHash: `0x${"ab".repeat(32)}`,
  counterpartyAddress: "0x1111111111111111111111111111111111111111",
  exchangeAddress: "0xD0D0D0D0D0D0D0D0D0D0D0D0D0D0D0D0D0D0D0D0",
  time: 1_700_000_000_000,
};

function transfer(over: Record<string, unknown> = {}) {
  const r = reportToTransfer({ ...report, ...over }, { tenantId: "acme", source: "test" });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.transfer;
}

describe("exchange wallets from reports", () => {
  it("takes the exchange's own wallet of a report, in canonical form, on its chain family", () => {
    expect(reportedWallet(transfer())).toEqual({
      family: "evm",
      address: "0xd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0",
      exchange: "binance",
      tenantId: "acme",
    });
    const wd = transfer({ direction: "withdrawal", network: "BSC", asset: "USDT" });
    expect(reportedWallet(wd)?.address).toBe(wd.from);
    expect(reportedWallet(transfer({ exchangeAddress: null }))).toBeNull();
  });

  it("describes it as a low-severity exchange entry valid for all time, keyed like every watchlist entry", () => {
    const w = reportedWallet(transfer());
    if (!w) throw new Error("no wallet");
    const e = WatchlistEntryV1.parse(walletEntry(w, 5));
    expect(e).toMatchObject({
      listId: EXCHANGE_WALLETS_LIST,
      category: "exchange",
      severity: "low",
      entityName: "binance",
      listedFrom: null,
      listedUntil: null,
      publishedAt: 5,
    });
    expect(e.records[0]?.label).toBe("binance wallet, reported by tenant acme");
    expect(walletKey(w)).toBe(watchlistKey(EXCHANGE_WALLETS_LIST, "evm", w.address));
    // Same wallet, same content hash (only publishedAt moves).
    expect(walletEntry(w, 6).listHash).toBe(e.listHash);
  });
});
