import type { TransferV1, UtxoInput } from "@chainscreen/schema";
import { transferId } from "@chainscreen/schema";
import type { ListEntry } from "./entries.js";

/** Fields of a synthetic transfer (tests, benchmarks, the CLI's what-if screening). */
export interface TransferSpec {
  chain?: string;
  txHash: string;
  index?: number | string;
  from: string | UtxoInput[] | null;
  to: string | null;
  amount?: string;
  symbol?: string | null;
  contract?: string | null;
  decimals?: number | null;
  timestamp?: number;
  status?: TransferV1["status"];
  kind?: TransferV1["kind"];
}

/** Builds a valid `transfer.v1` from a few fields (native ETH by default). */
export function makeTransfer(s: TransferSpec): TransferV1 {
  const chain = s.chain ?? "ethereum";
  const kind = s.kind ?? (Array.isArray(s.from) ? "utxo" : s.contract ? "token" : "native");
  const index = String(s.index ?? 0);
  return {
    type: "transfer.v1",
    id: transferId(chain, s.txHash, kind, index),
    chain,
    kind,
    txHash: s.txHash,
    index,
    blockNumber: 1,
    blockHash: "0xblock",
    timestamp: s.timestamp ?? Date.UTC(2024, 9, 1),
    from: s.from,
    to: s.to,
    asset: {
      symbol: s.symbol === undefined ? "ETH" : s.symbol,
      contract: s.contract ?? null,
      decimals: s.decimals === undefined ? 18 : s.decimals,
    },
    amount: s.amount ?? "1000000000000000000",
    fee: null,
    status: s.status ?? "confirmed",
    source: "synthetic",
    observedAt: s.timestamp ?? Date.UTC(2024, 9, 1),
  };
}

/** Builds a list entry (sanctioned by default, valid from the epoch). */
export function makeEntry(
  family: string,
  address: string,
  over: Partial<ListEntry> = {},
): ListEntry {
  return {
    listId: "test-list",
    listVersion: "1",
    family,
    address,
    entityName: "TEST ENTITY",
    programmes: ["CYBER2"],
    category: "sanctioned",
    listedFrom: 0,
    listedUntil: null,
    listedAt: 0,
    ...over,
  };
}

/**
 * Five USDT outflows of `from` (tx hashes 0x51…0x55) for structuring tests, with the default
 * rules' threshold of $10,000 and a 10 % margin: 0x51, 0x52 and 0x54 are just under it within one
 * hour (0x54 completes three), 0x53 is not in the band, 0x55 comes after the hour.
 */
export function structuringSeries(from: string, t0: number): TransferV1[] {
  const usdt = (i: number, amount: string, timestamp: number) =>
    makeTransfer({
      txHash: `0x5${i}`,
      from,
      to: `0x${String(i).repeat(40)}`.slice(0, 42),
      symbol: "USDT",
      contract: "0xdac1",
      decimals: 6,
      amount,
      timestamp,
    });
  return [
    usdt(1, "9500000000", t0),
    usdt(2, "9900000000", t0 + 60_000),
    usdt(3, "5000000000", t0 + 120_000),
    usdt(4, "9800000000", t0 + 180_000),
    usdt(5, "9700000000", t0 + 7_200_000),
  ];
}
