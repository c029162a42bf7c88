-- Watchlist entries with validity intervals (watchlist.v1): point-in-time questions such as "was
-- X listed on date D" are `listed_from <= D AND (listed_until IS NULL OR listed_until > D)`.
CREATE TABLE IF NOT EXISTS watchlist_entries
(
    list_id LowCardinality(String),
    family LowCardinality(String),
    address String,
    list_version UInt32,
    list_hash FixedString(64),
    code LowCardinality(Nullable(String)),
    entity_name Nullable(String),
    programmes Array(LowCardinality(String)),
    category LowCardinality(String),
    severity Enum8('low' = 1, 'medium' = 2, 'high' = 3, 'severe' = 4),
    records String COMMENT 'every record behind the address, watchlist.v1 JSON',
    listed_from DateTime64(3, 'UTC'),
    listed_until Nullable(DateTime64(3, 'UTC')),
    published_at DateTime64(3, 'UTC'),
    version UInt64,
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY (list_id, family, address, listed_from);

-- One row per imported list version: what changed and where it came from.
CREATE TABLE IF NOT EXISTS list_versions
(
    list_id LowCardinality(String),
    list_version UInt32,
    list_hash FixedString(64),
    source_url String,
    fetched_at DateTime64(3, 'UTC'),
    published_at Nullable(DateTime64(3, 'UTC')),
    entries UInt32,
    added UInt32,
    removed UInt32,
    unknown_codes Array(String),
    problems String DEFAULT '' COMMENT 'parser report (fragments, invalid addresses), JSON'
)
ENGINE = ReplacingMergeTree
ORDER BY (list_id, list_version);
