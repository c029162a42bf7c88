import { chainFamily, tryCanonicalize } from "@chainscreen/addresses";
import { TransferV1 as TransferSchema, type TransferV1 } from "@chainscreen/schema";
import { z } from "zod";
import { toBaseUnits } from "./amount.js";
import { chainForNetwork, knownContract, knownDecimals } from "./networks.js";

function parseTime(t: string | number): number | null {
  if (typeof t === "number") return Number.isFinite(t) && t > 0 ? Math.trunc(t) : null;
  if (/^\d{10,13}$/.test(t.trim())) return Number(t.trim());
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * A deposit or withdrawal reported by an exchange or bank, as it arrives (push API, file
 * import, pollers). Amounts are in display units (e.g. "30.401259" USDT); `decimals` is needed
 * only for assets Chainscreen does not know.
 */
export const ExchangeReport = z.object({
  /** The reporter's unique reference for this transfer: resubmitting it is a no-op. */
  reference: z.string().trim().min(1).max(256),
  /** Exchange or bank name, e.g. binance. */
  exchange: z.string().trim().min(1).max(128),
  direction: z.enum(["deposit", "withdrawal"]),
  /** Network as the exchange writes it: ethereum, ETH, TRX, USDT-TRC20, bsc, … */
  network: z.string().trim().min(1).max(64),
  /** Asset symbol, e.g. USDT. */
  asset: z.string().trim().min(1).max(32),
  /** Token contract when the asset is not a well-known one. */
  assetContract: z.string().trim().max(128).nullish(),
  decimals: z.number().int().min(0).max(36).nullish(),
  /** Amount in display units, as a decimal string (numbers are accepted and converted). */
  amount: z
    .union([z.string(), z.number()])
    .transform((v) => (typeof v === "number" ? String(v) : v))
    .refine((v) => /^\s*\d+(\.\d+)?\s*$/.test(v), "must be a non-negative decimal number"),
  /** On-chain transaction hash, when known (links the report to the chain). */
  txHash: z.string().trim().max(128).nullish(),
  /** The outside address: sender of a deposit, destination of a withdrawal. */
  counterpartyAddress: z.string().trim().max(128).nullish(),
  /** The exchange's own address (deposit address or hot wallet), when known. */
  exchangeAddress: z.string().trim().max(128).nullish(),
  /** The exchange's customer reference (never a name). */
  customerRef: z.string().trim().max(256).nullish(),
  /** When it happened: ISO 8601 or Unix milliseconds. */
  time: z
    .union([z.string(), z.number()])
    .refine((t) => parseTime(t) !== null, "must be an ISO 8601 time or Unix milliseconds"),
});
export type ExchangeReport = z.input<typeof ExchangeReport>;

/** One problem with one field of a report. */
export interface FieldError {
  field: string;
  message: string;
}

/** Outcome of validating a report. */
export type ReportResult = { ok: true; transfer: TransferV1 } | { ok: false; errors: FieldError[] };

/**
 * A transaction hash in the form the chain ingesters store it, so a report joins the chain's own
 * record of the transaction (see `exchange_links` in infra/clickhouse): 32-byte hex hashes in
 * lower case, with `0x` on EVM chains and without it elsewhere (Bitcoin txids, Tron txIDs).
 * Anything that is not a 32-byte hex hash (an exchange's internal id) is kept as given.
 */
export function canonicalTxHash(family: string | null, hash: string): string {
  const h = hash.trim();
  const hex = /^(?:0x)?([0-9a-fA-F]{64})$/.exec(h)?.[1];
  if (hex === undefined) return h;
  return family === "evm" ? `0x${hex.toLowerCase()}` : hex.toLowerCase();
}

/**
 * Deterministic id of a reported transfer: reporter scope (tenant, else exchange) and reference.
 * It does not depend on the tx hash or amount, so a resubmission never counts twice.
 */
export function exchangeTransferId(chain: string, scope: string, reference: string): string {
  return `${chain}:exchange:${encodeURIComponent(scope)}:${encodeURIComponent(reference)}`;
}

/**
 * Validates a report and maps it to `transfer.v1` (kind exchange_deposit / exchange_withdrawal).
 * Every bad field is reported at once, by name.
 */
export function reportToTransfer(
  input: unknown,
  ctx: { tenantId?: string; source: string; now?: number },
): ReportResult {
  const parsed = ExchangeReport.safeParse(input);
  if (!parsed.success) {
    const errors: FieldError[] = parsed.error.issues.map((i) => ({
      field: i.path.join(".") || "(report)",
      message: i.message,
    }));
    // Addresses are checked even when other fields failed, so one answer names every bad field.
    const raw =
      typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
    const chain = typeof raw.network === "string" ? chainForNetwork(raw.network) : null;
    const family = chain ? chainFamily(chain) : null;
    for (const field of ["counterpartyAddress", "exchangeAddress"] as const) {
      const v = raw[field];
      if (!family || typeof v !== "string" || v === "" || errors.some((e) => e.field === field))
        continue;
      const c = tryCanonicalize(family, v);
      if (!c.ok) errors.push({ field, message: c.error });
    }
    return { ok: false, errors };
  }
  const r = parsed.data;
  const errors: FieldError[] = [];
  const chain = chainForNetwork(r.network);
  if (!chain) errors.push({ field: "network", message: `unknown network "${r.network}"` });
  const family = chain ? chainFamily(chain) : null;
  const canon = (field: string, v: string | null | undefined): string | null => {
    if (!v || !family) return null;
    const c = tryCanonicalize(family, v);
    if (!c.ok) {
      errors.push({ field, message: c.error });
      return null;
    }
    return c.address;
  };
  const counterparty = canon("counterpartyAddress", r.counterpartyAddress);
  const exchangeAddress = canon("exchangeAddress", r.exchangeAddress);
  if (!r.counterpartyAddress && !r.txHash) {
    errors.push({
      field: "counterpartyAddress",
      message: "either counterpartyAddress or txHash is required",
    });
  }
  const symbol = r.asset.toUpperCase();
  const decimals = r.decimals ?? (chain ? knownDecimals(chain, symbol) : null);
  let amount: string | null = null;
  if (decimals === null || decimals === undefined) {
    if (chain)
      errors.push({
        field: "decimals",
        message: `decimals are required for ${symbol} on ${chain}`,
      });
  } else {
    const a = toBaseUnits(r.amount, decimals);
    if (a.ok) amount = a.value;
    else errors.push({ field: "amount", message: a.error });
  }
  const time = parseTime(r.time);
  if (time === null)
    errors.push({
      field: "time",
      message: `"${r.time}" is not an ISO 8601 time or Unix milliseconds`,
    });
  const contract = r.assetContract
    ? canon("assetContract", r.assetContract)
    : chain
      ? knownContract(chain, symbol)
      : null;
  if (
    errors.length > 0 ||
    !chain ||
    amount === null ||
    time === null ||
    decimals === null ||
    decimals === undefined
  ) {
    return { ok: false, errors };
  }
  const deposit = r.direction === "deposit";
  const scope = ctx.tenantId ?? r.exchange.toLowerCase();
  const transfer: TransferV1 = {
    type: "transfer.v1",
    id: exchangeTransferId(chain, scope, r.reference),
    chain,
    kind: deposit ? "exchange_deposit" : "exchange_withdrawal",
    txHash: r.txHash ? canonicalTxHash(family, r.txHash) : `ref:${r.reference}`,
    index: r.reference,
    blockNumber: null,
    blockHash: null,
    timestamp: time,
    from: deposit ? counterparty : exchangeAddress,
    to: deposit ? exchangeAddress : counterparty,
    asset: { symbol, contract, decimals },
    amount,
    status: "confirmed",
    source: ctx.source,
    observedAt: ctx.now ?? Date.now(),
    exchange: {
      name: r.exchange.toLowerCase(),
      tenantId: ctx.tenantId,
      reference: r.reference,
      customerRef: r.customerRef ?? undefined,
      exchangeAddress,
    },
  };
  // The mapping must always produce a valid event; a failure here is a bug, not bad input.
  TransferSchema.parse(transfer);
  return { ok: true, transfer };
}
