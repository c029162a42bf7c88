import { z } from "zod";
import { Amount, ChainName, NonEmpty, TimestampMs } from "./common.js";

/** Kinds of value movement. */
export const TransferKind = z.enum([
  "native",
  "token",
  "internal",
  "utxo",
  "exchange_deposit",
  "exchange_withdrawal",
]);
export type TransferKind = z.infer<typeof TransferKind>;

/**
 * Lifecycle of a transfer: `pending` (seen before the configured confirmations), `confirmed`,
 * `retracted` (its block was orphaned by a reorg, or a pending one never confirmed).
 */
export const TransferStatus = z.enum(["pending", "confirmed", "retracted"]);
export type TransferStatus = z.infer<typeof TransferStatus>;

/** What moved: native coin (contract null) or a token. */
export const Asset = z.object({
  symbol: z.string().max(64).nullable(),
  /** Token contract in the chain's canonical address form; null for the native coin. */
  contract: z.string().max(128).nullable(),
  decimals: z.number().int().min(0).max(255).nullable(),
});
export type Asset = z.infer<typeof Asset>;

/** One spent output of a UTXO transaction: the address (null when non-standard) and its value. */
export const UtxoInput = z.object({
  address: z.string().max(128).nullable(),
  value: Amount,
});
export type UtxoInput = z.infer<typeof UtxoInput>;

/** Exchange attribution for deposits/withdrawals reported by exchanges and banks. */
export const ExchangeInfo = z.object({
  /** Exchange or bank name as reported, e.g. binance. */
  name: NonEmpty,
  /** Tenant that reported it. */
  tenantId: NonEmpty.optional(),
  /** The reporter's idempotency reference. */
  reference: NonEmpty,
  /** The exchange's customer reference (never a name). */
  customerRef: z.string().max(256).optional(),
  /** The exchange's own wallet involved, when known (becomes a service tag). */
  exchangeAddress: z.string().max(128).nullable().optional(),
});
export type ExchangeInfo = z.infer<typeof ExchangeInfo>;

/**
 * `transfer.v1`: one movement of value, on chain or reported by an exchange.
 * `id` is deterministic (see {@link transferId}); a later message with the same id may only
 * change `status` and `observedAt`.
 */
export const TransferV1 = z.object({
  type: z.literal("transfer.v1"),
  id: NonEmpty,
  chain: ChainName,
  kind: TransferKind,
  txHash: NonEmpty,
  /** Position inside the transaction: log index, output index, trace path or 0 for native. */
  index: z.string().max(128),
  blockNumber: z.number().int().nonnegative().nullable(),
  blockHash: z.string().max(128).nullable(),
  timestamp: TimestampMs,
  /** Sender in canonical form (account chains), or the spent inputs (UTXO chains). */
  from: z.union([z.string().max(128).nullable(), z.array(UtxoInput).max(100_000)]),
  /** Receiver in canonical form; null only for contract creations without a target. */
  to: z.string().max(128).nullable(),
  asset: Asset,
  amount: Amount,
  /** Transaction fee in native base units, when known (UTXO: inputs − outputs). */
  fee: Amount.nullable().optional(),
  status: TransferStatus,
  /** Which node, endpoint or exchange reported it. */
  source: z.string().max(256),
  observedAt: TimestampMs,
  exchange: ExchangeInfo.optional(),
});
export type TransferV1 = z.infer<typeof TransferV1>;

/** Builds the deterministic transfer id: chain, transaction, kind and position. */
export function transferId(
  chain: string,
  txHash: string,
  kind: TransferKind,
  index: string | number,
): string {
  return `${chain}:${txHash}:${kind}:${index}`;
}

/** Sender addresses of a transfer (UTXO: every input address), without nulls or duplicates. */
export function senders(t: Pick<TransferV1, "from">): string[] {
  if (t.from === null) return [];
  if (typeof t.from === "string") return [t.from];
  const out = new Set<string>();
  for (const i of t.from) if (i.address) out.add(i.address);
  return [...out];
}
