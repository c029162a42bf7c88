-- Exchange reports joined to the chain (issue 10). An exchange or bank reports a deposit or a
-- withdrawal (transfer.v1 of kind exchange_deposit / exchange_withdrawal, stored in `transfers`
-- like any transfer). When the report names the transaction and a chain ingester stored that
-- transaction too, both rows describe the same movement of value: this view links them, one row
-- per (report, on-chain transfer), with the exchange's attribution next to the chain's record
-- (block, senders, status) — "this deposit at exchange X came from address Y". Join it to
-- `flags` on `transfer_id` for the flags raised on the chain side.
--
-- A link needs the same chain and transaction hash (reports store hashes in the ingesters' form),
-- the same asset (token contract; a report without a contract matches by symbol), and the
-- parties, so that a transaction paying many outputs (a batched withdrawal, UTXO change) links
-- each report to its own transfer only (`matched_on`):
--   'receiver'  the report's receiver (a deposit's exchange address, a withdrawal's destination)
--               is the on-chain receiver;
--   'sender'    the report names no receiver: its sender is among the on-chain senders and the
--               transfer is not change back to that sender;
--   'tx_hash'   the report names no address: every transfer of the asset in the transaction.
-- `counterparty_on_chain` says whether the chain confirms the outside address the exchange
-- reported (a deposit's sender is among the on-chain senders, a withdrawal's destination is the
-- on-chain receiver); `amount_matches` whether the amounts agree (exchanges may report amounts
-- net of their fees).
--
-- A plain view, evaluated when read: a link appears whichever side is stored first, follows
-- reorgs (retracted on-chain transfers drop out) and needs no backfill. The on-chain side is
-- narrowed to the reported hashes before the join (an IN set, served by the tx_hash bloom filter).
CREATE VIEW IF NOT EXISTS exchange_links AS
SELECT
    x.exchange AS exchange,
    x.exchange_tenant AS exchange_tenant,
    if(x.kind = 'exchange_deposit', 'deposit', 'withdrawal') AS direction,
    x.id AS exchange_transfer_id,
    x.exchange_reference AS reference,
    x.exchange_customer_ref AS customer_ref,
    if(x.kind = 'exchange_deposit', x.receiver, x.sender) AS exchange_address,
    if(x.kind = 'exchange_deposit', x.sender, x.receiver) AS counterparty,
    x.ts AS reported_ts,
    x.amount AS reported_amount,
    c.chain AS chain,
    c.tx_hash AS tx_hash,
    c.id AS transfer_id,
    c.kind AS kind,
    c.block_number AS block_number,
    c.ts AS ts,
    c.senders AS senders,
    c.to_address AS to_address,
    c.asset AS asset,
    c.asset_contract AS asset_contract,
    c.amount AS amount,
    toBool(c.amount = x.amount) AS amount_matches,
    multiIf(
        x.receiver != '', 'receiver',
        x.sender != '', 'sender',
        'tx_hash') AS matched_on,
    toBool(if(x.kind = 'exchange_deposit',
        x.sender != '' AND has(c.senders, x.sender),
        x.receiver != '' AND ifNull(c.to_address, '') = x.receiver)) AS counterparty_on_chain,
    toString(c.status) AS status
FROM
(
    SELECT id, chain, kind, tx_hash, ts, amount, asset, asset_contract,
           ifNull(to_address, '') AS receiver, senders[1] AS sender,
           exchange, exchange_tenant, exchange_reference, exchange_customer_ref
    FROM transfers FINAL
    WHERE kind IN ('exchange_deposit', 'exchange_withdrawal')
      AND status != 'retracted'
      AND NOT startsWith(tx_hash, 'ref:')
) AS x
INNER JOIN
(
    SELECT id, chain, kind, tx_hash, block_number, ts, senders, to_address, asset, asset_contract,
           amount, status
    FROM transfers FINAL
    WHERE kind NOT IN ('exchange_deposit', 'exchange_withdrawal')
      AND status != 'retracted'
      AND tx_hash IN (
          SELECT tx_hash FROM transfers
          WHERE kind IN ('exchange_deposit', 'exchange_withdrawal') AND NOT startsWith(tx_hash, 'ref:'))
) AS c
ON c.chain = x.chain AND c.tx_hash = x.tx_hash
WHERE if(x.asset_contract != '', c.asset_contract = x.asset_contract, upperUTF8(c.asset) = x.asset)
  AND multiIf(
        x.receiver != '', ifNull(c.to_address, '') = x.receiver,
        x.sender != '', has(c.senders, x.sender) AND ifNull(c.to_address, '') != x.sender,
        1);
