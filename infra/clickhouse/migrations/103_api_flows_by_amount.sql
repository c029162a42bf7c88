-- Flagged flows by amount, for GET /v1/flows?sort=amount over every flag (issue 9).
--
-- Sorted by amount, no time window narrows a page of `api_flows`: FINAL read and merged every
-- flag for each page, and the rows of a page lie anywhere in `flags` (ordered by chain and time),
-- so even fetching 100 known rows decompresses a granule of every column in ~100 places
-- (measured on 1M flags: ~65 ms of engine CPU for an empty page, ~160 ms for a full one).
-- `flags_by_amount` holds the same rows ordered by (amount, id): the largest (or smallest)
-- amounts matching a filter are the first rows of a read in key order, and a page is one short
-- range of the key. The API reads it in two steps (services/api/src/flows-query.ts,
-- `queryFlowsByAmount`): the first rows matching the filters over every stored version, without
-- FINAL (`api_flow_versions_by_amount`: a read in key order that stops early), then the page with
-- FINAL (`api_flows_by_amount`) over the key range they span, which is the answer whenever that
-- range holds a full page.

-- Same columns as `flags` (except the sink's kafka_* bookkeeping). A flag's amount is its
-- transfer's, and a retraction keeps the flag's id, transfer, time and amount and only raises
-- `version` and sets `status`: every version of a flag lands on the same sorting key
-- (amount, id, chain, ts), so FINAL collapses exactly the rows that `flags FINAL` collapses
-- (sorting key (chain, ts, id)).
CREATE TABLE IF NOT EXISTS flags_by_amount
(
    amount UInt256,
    id FixedString(32),
    chain LowCardinality(String),
    ts DateTime64(3, 'UTC') COMMENT 'transfer time',
    transfer_id String,
    incident_id FixedString(32),
    kind LowCardinality(String),
    tx_hash String,
    block_number Nullable(UInt64),
    senders Array(String),
    to_address Nullable(String),
    asset LowCardinality(String),
    asset_contract LowCardinality(String),
    value_usd Nullable(Decimal(38, 6)),
    rule_id LowCardinality(String),
    rule_kind LowCardinality(String),
    rule_config_version String,
    severity Enum8('low' = 1, 'medium' = 2, 'high' = 3, 'severe' = 4),
    sides Array(LowCardinality(String)),
    address Nullable(String) COMMENT 'the matched address',
    family LowCardinality(String),
    counterparty Nullable(String),
    exposure Nullable(Enum8('direct' = 1, 'indirect' = 2)),
    hops Nullable(UInt8),
    weight Nullable(Float64),
    entity_names Array(String),
    programmes Array(LowCardinality(String)),
    list_ids Array(LowCardinality(String)),
    categories Array(LowCardinality(String)),
    entries String COMMENT 'matched entries, flag.v1 JSON',
    path String COMMENT 'path from the listed source, flag.v1 JSON',
    evidence Array(String),
    listed_at_transfer_time Bool,
    retro Bool,
    listed_at Nullable(DateTime64(3, 'UTC')),
    status Enum8('active' = 1, 'retracted' = 2),
    exchange LowCardinality(String) DEFAULT '',
    exchange_tenant LowCardinality(String) DEFAULT '',
    created_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
-- Not partitioned: the amounts of every month interleave, and a page is one range of the key.
ORDER BY (amount, id, chain, ts)
-- Granules of 1,024 rows: a page (a few hundred rows of one key range) decompresses a few
-- granules of each column rather than a few of 8,192 rows. Wide parts (the default above 10 MB):
-- a filter that matches little makes the first step read its columns over many rows.
SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS flags_by_amount_mv TO flags_by_amount AS
SELECT
    amount, id, chain, ts, transfer_id, incident_id, kind, tx_hash, block_number, senders,
    to_address, asset, asset_contract, value_usd, rule_id, rule_kind, rule_config_version,
    severity, sides, address, family, counterparty, exposure, hops, weight, entity_names,
    programmes, list_ids, categories, entries, path, evidence, listed_at_transfer_time, retro,
    listed_at, status, exchange, exchange_tenant, created_at, version
FROM flags;

-- Backfill: the view above only sees inserts made after it exists. Every stored flag row (all
-- versions; FINAL on the target keeps the latest) is copied once. A flag inserted while this runs
-- may arrive twice, through the view and through this copy: identical rows with the same sorting
-- key and version, which ReplacingMergeTree collapses, so repeating this statement is harmless too.
INSERT INTO flags_by_amount
SELECT
    amount, id, chain, ts, transfer_id, incident_id, kind, tx_hash, block_number, senders,
    to_address, asset, asset_contract, value_usd, rule_id, rule_kind, rule_config_version,
    severity, sides, address, family, counterparty, exposure, hops, weight, entity_names,
    programmes, list_ids, categories, entries, path, evidence, listed_at_transfer_time, retro,
    listed_at, status, exchange, exchange_tenant, created_at, version
FROM flags;

-- The rows of `api_flows` (migration 100) read from `flags_by_amount`, in two views with the same
-- columns: `api_flows_by_amount`, the latest version of each flag (FINAL), as `api_flows` gives
-- them, and `api_flow_versions_by_amount`, every stored version (no FINAL), which the first step
-- of a page reads. The column expressions are those of `api_flows`: keep the views in step.
CREATE VIEW IF NOT EXISTS api_flows_by_amount AS
SELECT
    id,
    transfer_id,
    created_at AS flagged_at,
    ts,
    chain,
    kind,
    tx_hash,
    senders,
    ifNull(flags_by_amount.senders[1], '') AS from_address,
    ifNull(flags_by_amount.to_address, '') AS to_address,
    if(flags_by_amount.exposure = 'indirect', JSONExtractString(flags_by_amount.path, 1, 'address'), ifNull(flags_by_amount.address, '')) AS listed_address,
    if(flags_by_amount.exposure = 'indirect', ifNull(flags_by_amount.address, ''), ifNull(flags_by_amount.counterparty, '')) AS counterparty,
    asset,
    asset_contract,
    amount,
    toFloat64(ifNull(flags_by_amount.value_usd, 0)) AS value_usd,
    if(isNull(flags_by_amount.exposure), 'none', toString(flags_by_amount.exposure)) AS exposure,
    ifNull(flags_by_amount.hops, 0) AS hops,
    toString(flags_by_amount.severity) AS severity,
    CAST(flags_by_amount.severity, 'Int8') AS severity_rank,
    rule_id,
    rule_kind,
    retro,
    entity_names AS entities,
    programmes,
    list_ids AS lists,
    categories,
    exchange,
    exchange_tenant,
    toString(flags_by_amount.status) AS status,
    arrayMap(s -> JSONExtractString(s, 'address'), JSONExtractArrayRaw(flags_by_amount.path)) AS path_addresses,
    entries,
    flags_by_amount.path AS path_json,
    evidence
FROM flags_by_amount FINAL;

CREATE VIEW IF NOT EXISTS api_flow_versions_by_amount AS
SELECT
    id,
    transfer_id,
    created_at AS flagged_at,
    ts,
    chain,
    kind,
    tx_hash,
    senders,
    ifNull(flags_by_amount.senders[1], '') AS from_address,
    ifNull(flags_by_amount.to_address, '') AS to_address,
    if(flags_by_amount.exposure = 'indirect', JSONExtractString(flags_by_amount.path, 1, 'address'), ifNull(flags_by_amount.address, '')) AS listed_address,
    if(flags_by_amount.exposure = 'indirect', ifNull(flags_by_amount.address, ''), ifNull(flags_by_amount.counterparty, '')) AS counterparty,
    asset,
    asset_contract,
    amount,
    toFloat64(ifNull(flags_by_amount.value_usd, 0)) AS value_usd,
    if(isNull(flags_by_amount.exposure), 'none', toString(flags_by_amount.exposure)) AS exposure,
    ifNull(flags_by_amount.hops, 0) AS hops,
    toString(flags_by_amount.severity) AS severity,
    CAST(flags_by_amount.severity, 'Int8') AS severity_rank,
    rule_id,
    rule_kind,
    retro,
    entity_names AS entities,
    programmes,
    list_ids AS lists,
    categories,
    exchange,
    exchange_tenant,
    toString(flags_by_amount.status) AS status,
    arrayMap(s -> JSONExtractString(s, 'address'), JSONExtractArrayRaw(flags_by_amount.path)) AS path_addresses,
    entries,
    flags_by_amount.path AS path_json,
    evidence
FROM flags_by_amount;
