-- Read model of the query API (services/api). The API queries these two views only, so a change of
-- the store's layout changes the views, not the API's SQL.

-- Flagged flows, one row per flag (latest version), flattened for filtering, sorting and export.
-- listed_address: where the exposure comes from; counterparty: who is exposed (see below).
-- from_address is the first sender (UTXO transfers may have several; `senders` keeps all of them).
-- severity_rank: low 1 … severe 4. exposure: direct | indirect | none (behavioural rules).
CREATE VIEW IF NOT EXISTS api_flows AS
SELECT
    id,
    transfer_id,
    created_at AS flagged_at,
    ts,
    chain,
    kind,
    tx_hash,
    senders,
    ifNull(flags.senders[1], '') AS from_address,
    ifNull(flags.to_address, '') AS to_address,
    -- The listed source: the matched address (direct) or the start of the path (indirect).
    if(flags.exposure = 'indirect', JSONExtractString(flags.path, 1, 'address'), ifNull(flags.address, '')) AS listed_address,
    -- The exposed party: the non-listed side (direct) or the exposed sender (indirect).
    if(flags.exposure = 'indirect', ifNull(flags.address, ''), ifNull(flags.counterparty, '')) AS counterparty,
    asset,
    asset_contract,
    amount,
    toFloat64(ifNull(flags.value_usd, 0)) AS value_usd,
    if(isNull(flags.exposure), 'none', toString(flags.exposure)) AS exposure,
    ifNull(flags.hops, 0) AS hops,
    toString(flags.severity) AS severity,
    CAST(flags.severity, 'Int8') AS severity_rank,
    rule_id,
    rule_kind,
    retro,
    entity_names AS entities,
    programmes,
    list_ids AS lists,
    categories,
    exchange,
    exchange_tenant,
    toString(flags.status) AS status,
    arrayMap(s -> JSONExtractString(s, 'address'), JSONExtractArrayRaw(flags.path)) AS path_addresses,
    entries,
    flags.path AS path_json,
    evidence
FROM flags FINAL;

-- Every transfer seen from one address (both directions), latest version, retracted excluded.
CREATE VIEW IF NOT EXISTS api_address_flows AS
SELECT
    address,
    toString(transfers_by_address.direction) AS direction,
    counterparty,
    ts,
    id AS transfer_id,
    chain,
    tx_hash,
    asset,
    asset_contract,
    amount,
    exchange
FROM transfers_by_address FINAL
ARRAY JOIN if(empty(counterparties), [''], counterparties) AS counterparty
WHERE status != 'retracted';
