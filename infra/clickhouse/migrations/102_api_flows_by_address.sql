-- Flagged flows by address, for GET /v1/flows?address=… and the address page (issue 9).
--
-- `flags` is ordered by (chain, ts, id) with only a bloom filter on the matched address, so the
-- flags of one address were found through `transfers_by_address` and the bloom filter on
-- transfer_id: an address's flags are spread over every month, the filter skipped almost no
-- granule, and FINAL merged the whole table for each lookup (measured on 1M flags: ~150 ms of
-- engine CPU per lookup, 0.5–1.5 s with four requests at once). `flags_by_address` below holds
-- one row per (party, flag), where a party is a sender or the receiver of the flagged transfer,
-- ordered by party and time: the flags of an address are one range of its primary key, like
-- `transfers_by_address` for transfers. It lives in the API's range because the API's address
-- queries are what it serves.

-- Same columns as `flags` (except the sink's kafka_* bookkeeping). A retraction keeps the flag's
-- id, transfer, time and parties and only raises `version` and sets `status`, so each of its rows
-- lands on the same sorting key (party, ts, id) as the row it replaces: read with FINAL, or
-- argMax(…, version), exactly as `flags`.
CREATE TABLE IF NOT EXISTS flags_by_address
(
    party String COMMENT 'a sender or the receiver of the flagged transfer (canonical)',
    ts DateTime64(3, 'UTC') COMMENT 'transfer time',
    id FixedString(32),
    transfer_id String,
    incident_id FixedString(32),
    chain LowCardinality(String),
    kind LowCardinality(String),
    tx_hash String,
    block_number Nullable(UInt64),
    senders Array(String),
    to_address Nullable(String),
    asset LowCardinality(String),
    asset_contract LowCardinality(String),
    amount UInt256,
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
-- Not partitioned by time, for the same reason as transfers_by_address: one address's flags are
-- one contiguous range of the primary key.
ORDER BY (party, ts, id)
-- Every query of this table is one address's range: a granule of each column it reads, in every
-- part. Two settings make that cheap (measured on 2M rows in 4–5 parts, engine CPU of the
-- address page's flows query 25 → 12 ms against the defaults):
-- * granules of 256 rows instead of 8,192 (the rows are wide: entries, path), for a primary
--   index of 8,000 marks per 2M rows;
-- * compact parts at every size (one file per part, each granule's columns side by side) instead
--   of one file per column above 10 MB: a lookup reads one place per part rather than ~25 files.
--   Flags are few (about one per thousand transfers), so parts stay small enough for this.
SETTINGS index_granularity = 256, min_bytes_for_wide_part = 10737418240,
    non_replicated_deduplication_window = 10000;

-- Parties of a flag: its transfer's senders and receiver, each once (a self-transfer gives one row).
CREATE MATERIALIZED VIEW IF NOT EXISTS flags_by_address_mv TO flags_by_address AS
SELECT
    party, ts, id, transfer_id, incident_id, chain, kind, tx_hash, block_number, senders, to_address,
    asset, asset_contract, amount, value_usd, rule_id, rule_kind, rule_config_version, severity,
    sides, address, family, counterparty, exposure, hops, weight, entity_names, programmes,
    list_ids, categories, entries, path, evidence, listed_at_transfer_time, retro, listed_at,
    status, exchange, exchange_tenant, created_at, version
FROM flags
ARRAY JOIN arrayDistinct(arrayFilter(a -> a != '', arrayConcat(senders, [ifNull(to_address, '')]))) AS party;

-- Backfill: the view above only sees inserts made after it exists. Every stored flag row (all
-- versions; FINAL on the target keeps the latest) is copied once. A flag inserted while this runs
-- may arrive twice, through the view and through this copy: identical rows with the same sorting
-- key and version, which ReplacingMergeTree collapses, so repeating this statement is harmless too.
INSERT INTO flags_by_address
SELECT
    party, ts, id, transfer_id, incident_id, chain, kind, tx_hash, block_number, senders, to_address,
    asset, asset_contract, amount, value_usd, rule_id, rule_kind, rule_config_version, severity,
    sides, address, family, counterparty, exposure, hops, weight, entity_names, programmes,
    list_ids, categories, entries, path, evidence, listed_at_transfer_time, retro, listed_at,
    status, exchange, exchange_tenant, created_at, version
FROM flags
ARRAY JOIN arrayDistinct(arrayFilter(a -> a != '', arrayConcat(senders, [ifNull(to_address, '')]))) AS party;

-- Flagged flows of one address, for GET /v1/flows?address=… and the address page: the rows of
-- `api_flows` (migration 100) read from the address-ordered `flags_by_address` (above),
-- plus `party`, the address a row is filed under (a sender or the receiver of the transfer).
-- `WHERE party = X` is a range of the table's primary key, so FINAL merges only X's rows.
-- The column expressions are those of `api_flows`: keep the two views in step.
CREATE VIEW IF NOT EXISTS api_flows_by_address AS
SELECT
    party,
    id,
    transfer_id,
    created_at AS flagged_at,
    ts,
    chain,
    kind,
    tx_hash,
    senders,
    ifNull(flags_by_address.senders[1], '') AS from_address,
    ifNull(flags_by_address.to_address, '') AS to_address,
    if(flags_by_address.exposure = 'indirect', JSONExtractString(flags_by_address.path, 1, 'address'), ifNull(flags_by_address.address, '')) AS listed_address,
    if(flags_by_address.exposure = 'indirect', ifNull(flags_by_address.address, ''), ifNull(flags_by_address.counterparty, '')) AS counterparty,
    asset,
    asset_contract,
    amount,
    toFloat64(ifNull(flags_by_address.value_usd, 0)) AS value_usd,
    if(isNull(flags_by_address.exposure), 'none', toString(flags_by_address.exposure)) AS exposure,
    ifNull(flags_by_address.hops, 0) AS hops,
    toString(flags_by_address.severity) AS severity,
    CAST(flags_by_address.severity, 'Int8') AS severity_rank,
    rule_id,
    rule_kind,
    retro,
    entity_names AS entities,
    programmes,
    list_ids AS lists,
    categories,
    exchange,
    exchange_tenant,
    toString(flags_by_address.status) AS status,
    arrayMap(s -> JSONExtractString(s, 'address'), JSONExtractArrayRaw(flags_by_address.path)) AS path_addresses,
    entries,
    flags_by_address.path AS path_json,
    evidence
FROM flags_by_address FINAL;
