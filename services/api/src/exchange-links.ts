import type { ClickHouseClient } from "@clickhouse/client";

/**
 * The store's `exchange_links` view (migration 006): exchange reports joined to the on-chain
 * transfers of the same transaction. Its columns are the contract with this module.
 */
export const EXCHANGE_LINKS_RELATION = "exchange_links";

/** One exchange attribution of a transfer, as the API returns it. */
export interface ExchangeLink {
  exchange: string;
  /** Tenant that reported it. */
  tenantId: string;
  direction: "deposit" | "withdrawal";
  /** The reporter's reference and customer reference (never a name). */
  reference: string;
  customerRef: string | null;
  /** The exchange's own wallet and the outside address, as reported ("" when not reported). */
  exchangeAddress: string;
  counterparty: string;
  /** Whether the chain confirms the reported outside address on the expected side. */
  counterpartyOnChain: boolean;
  /** How the report was matched to the on-chain transfer: receiver, sender or tx_hash. */
  matchedOn: string;
  /** Transfer id of the report (kind exchange_deposit / exchange_withdrawal). */
  reportTransferId: string;
  /** Transfer id of the on-chain transfer the report describes. */
  onchainTransferId: string;
  blockNumber: number | null;
  /** Status of the on-chain transfer: pending or confirmed. */
  status: string;
  reportedAt: string;
  reportedAmount: string;
  amountMatches: boolean;
}

interface LinkRow {
  exchange: string;
  exchange_tenant: string;
  direction: "deposit" | "withdrawal";
  reference: string;
  customer_ref: string;
  exchange_address: string;
  counterparty: string;
  counterparty_on_chain: boolean | number;
  matched_on: string;
  exchange_transfer_id: string;
  transfer_id: string;
  block_number: string | number | null;
  status: string;
  reported_ms: string | number;
  reported_amount: string;
  amount_matches: boolean | number;
}

/**
 * Exchange attributions of one transfer, whichever side it is: the reports linked to an on-chain
 * transfer, or the on-chain transfers linked to a report. The lookup is by (chain, tx hash) — the
 * view's join keys, which ClickHouse pushes into both sides — then by transfer id.
 */
export async function exchangeLinksOf(
  ch: ClickHouseClient,
  t: { chain: string; txHash: string; transferId: string },
): Promise<ExchangeLink[]> {
  // Reports without a transaction hash (`ref:<reference>`) link to nothing.
  if (t.txHash.startsWith("ref:")) return [];
  const rs = await ch.query({
    query: `SELECT exchange, exchange_tenant, direction, reference, customer_ref, exchange_address,
                   counterparty, counterparty_on_chain, matched_on, exchange_transfer_id, transfer_id,
                   block_number, status, toUnixTimestamp64Milli(reported_ts) AS reported_ms,
                   toString(reported_amount) AS reported_amount, amount_matches
            FROM ${EXCHANGE_LINKS_RELATION}
            WHERE chain = {chain:String} AND tx_hash = {tx:String}
              AND (transfer_id = {id:String} OR exchange_transfer_id = {id:String})
            ORDER BY exchange_transfer_id, transfer_id`,
    query_params: { chain: t.chain, tx: t.txHash, id: t.transferId },
    format: "JSONEachRow",
  });
  return (await rs.json<LinkRow>()).map((r) => ({
    exchange: r.exchange,
    tenantId: r.exchange_tenant,
    direction: r.direction,
    reference: r.reference,
    customerRef: r.customer_ref || null,
    exchangeAddress: r.exchange_address,
    counterparty: r.counterparty,
    counterpartyOnChain: Boolean(r.counterparty_on_chain),
    matchedOn: r.matched_on,
    reportTransferId: r.exchange_transfer_id,
    onchainTransferId: r.transfer_id,
    blockNumber: r.block_number === null ? null : Number(r.block_number),
    status: r.status,
    reportedAt: new Date(Number(r.reported_ms)).toISOString(),
    reportedAmount: r.reported_amount,
    amountMatches: Boolean(r.amount_matches),
  }));
}
