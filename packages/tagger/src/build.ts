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
