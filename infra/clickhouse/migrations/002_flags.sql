-- Flagged flows (flag.v1): one row per finding; a later message with the same id (retraction)
-- has a higher version. Entries, path and evidence keep their flag.v1 JSON so nothing is lost;
-- the columns beside them are what queries filter and group on.
CREATE TABLE IF NOT EXISTS flags
(
    id FixedString(32),
    transfer_id String,
    incident_id FixedString(32),
    chain LowCardinality(String),
    kind LowCardinality(String),
    tx_hash String,
    block_number Nullable(UInt64),
    ts DateTime64(3, 'UTC') COMMENT 'transfer time',
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
    version UInt64,
    kafka_topic LowCardinality(String) DEFAULT '',
    kafka_partition UInt32 DEFAULT 0,
    kafka_offset UInt64 DEFAULT 0,
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_address address TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_transfer transfer_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_entity entity_names TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (chain, ts, id)
SETTINGS non_replicated_deduplication_window = 10000;

-- Daily exposure rollups, fed as flags arrive. They count every flag message as it is first seen:
-- exact figures after retractions come from `flags FINAL WHERE status = 'active'`.
CREATE TABLE IF NOT EXISTS exposure_daily_by_entity
(
    day Date,
    entity LowCardinality(String),
    chain LowCardinality(String),
    asset LowCardinality(String),
    exposure LowCardinality(String),
    flows UInt64,
    amount UInt256,
    value_usd Decimal(38, 6)
)
ENGINE = SummingMergeTree((flows, amount, value_usd))
ORDER BY (entity, day, chain, asset, exposure);

CREATE MATERIALIZED VIEW IF NOT EXISTS exposure_daily_by_entity_mv TO exposure_daily_by_entity AS
SELECT toDate(ts) AS day, entity, chain, asset, ifNull(toString(exposure), 'none') AS exposure,
       toUInt64(1) AS flows, amount, toDecimal128(ifNull(value_usd, 0), 6) AS value_usd
FROM flags
ARRAY JOIN if(empty(entity_names), ['(unnamed)'], entity_names) AS entity
WHERE status = 'active';

CREATE TABLE IF NOT EXISTS exposure_daily_by_exchange
(
    day Date,
    exchange LowCardinality(String),
    chain LowCardinality(String),
    asset LowCardinality(String),
    severity LowCardinality(String),
    flows UInt64,
    amount UInt256,
    value_usd Decimal(38, 6)
)
ENGINE = SummingMergeTree((flows, amount, value_usd))
ORDER BY (exchange, day, chain, asset, severity);

CREATE MATERIALIZED VIEW IF NOT EXISTS exposure_daily_by_exchange_mv TO exposure_daily_by_exchange AS
SELECT toDate(ts) AS day, exchange, chain, asset, toString(severity) AS severity,
       toUInt64(1) AS flows, amount, toDecimal128(ifNull(value_usd, 0), 6) AS value_usd
FROM flags
WHERE status = 'active' AND exchange != '';

CREATE TABLE IF NOT EXISTS exposure_daily_by_chain
(
    day Date,
    chain LowCardinality(String),
    asset LowCardinality(String),
    exposure LowCardinality(String),
    severity LowCardinality(String),
    flows UInt64,
    amount UInt256,
    value_usd Decimal(38, 6)
)
ENGINE = SummingMergeTree((flows, amount, value_usd))
ORDER BY (chain, day, asset, exposure, severity);

CREATE MATERIALIZED VIEW IF NOT EXISTS exposure_daily_by_chain_mv TO exposure_daily_by_chain AS
SELECT toDate(ts) AS day, chain, asset, ifNull(toString(exposure), 'none') AS exposure,
       toString(severity) AS severity, toUInt64(1) AS flows, amount,
       toDecimal128(ifNull(value_usd, 0), 6) AS value_usd
FROM flags
WHERE status = 'active';
