-- Every screened transfer (transfer.v1). One row per message; a later message with the same id
-- (status pending -> confirmed -> retracted, or re-confirmed after a reorg) has a higher
-- `version` (observedAt, ms) and replaces it: read with FINAL, or argMax(…, version).
-- The kafka_* columns let the sink resume exactly after a crash (it skips offsets already stored).
CREATE TABLE IF NOT EXISTS transfers
(
    id String,
    chain LowCardinality(String),
    kind LowCardinality(String),
    tx_hash String,
    position String COMMENT 'log index, output index or trace path inside the transaction',
    block_number Nullable(UInt64),
    block_hash Nullable(String),
    ts DateTime64(3, 'UTC') COMMENT 'block (or exchange) time',
    senders Array(String) COMMENT 'account chains: [from]; UTXO: distinct input addresses',
    inputs String DEFAULT '' COMMENT 'UTXO inputs with values as JSON, empty for account chains',
    to_address Nullable(String),
    asset LowCardinality(String) COMMENT 'symbol, empty when unknown',
    asset_contract LowCardinality(String) COMMENT 'token contract, empty for the native coin',
    asset_decimals Nullable(UInt8),
    amount UInt256 COMMENT 'base units',
    fee Nullable(UInt256),
    status Enum8('pending' = 1, 'confirmed' = 2, 'retracted' = 3),
    source String,
    observed_at DateTime64(3, 'UTC'),
    exchange LowCardinality(String) DEFAULT '' COMMENT 'reporting exchange or bank, empty for on-chain observations',
    exchange_tenant LowCardinality(String) DEFAULT '',
    exchange_reference String DEFAULT '',
    exchange_customer_ref String DEFAULT '',
    version UInt64,
    kafka_topic LowCardinality(String) DEFAULT '',
    kafka_partition UInt32 DEFAULT 0,
    kafka_offset UInt64 DEFAULT 0,
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_tx tx_hash TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_to to_address TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (chain, id)
-- Lets the sink's insert_deduplication_token work on a non-replicated table.
SETTINGS non_replicated_deduplication_window = 10000;

-- "All flows of address X": one row per (address, side) of every transfer, ordered by address and
-- time so the history of an address is a range read.
CREATE TABLE IF NOT EXISTS transfers_by_address
(
    address String,
    direction Enum8('out' = 1, 'in' = 2),
    counterparties Array(String),
    ts DateTime64(3, 'UTC'),
    id String,
    chain LowCardinality(String),
    tx_hash String,
    asset LowCardinality(String),
    asset_contract LowCardinality(String),
    amount UInt256,
    status Enum8('pending' = 1, 'confirmed' = 2, 'retracted' = 3),
    exchange LowCardinality(String),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
-- Not partitioned by time: an address's history is then one contiguous range of the primary
-- key instead of one lookup per month (measured: fewer parts to open and merge under FINAL).
ORDER BY (address, ts, id, direction)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS transfers_by_address_mv TO transfers_by_address AS
SELECT
    side.1 AS address,
    CAST(side.2, 'Enum8(\'out\' = 1, \'in\' = 2)') AS direction,
    side.3 AS counterparties,
    ts, id, chain, tx_hash, asset, asset_contract, amount, status, exchange, version
FROM transfers
ARRAY JOIN arrayConcat(
    arrayMap(a -> (a, 'out', if(isNull(to_address), [], [assumeNotNull(to_address)])), senders),
    if(isNull(to_address), [], [(assumeNotNull(to_address), 'in', senders)])
) AS side;
