-- Mutable configuration rows: every change inserts the whole row with a higher version; a delete
-- inserts it with deleted = 1. Read with FINAL (deleted rows are dropped by FINAL).
CREATE TABLE IF NOT EXISTS tenants
(
    id String,
    name String,
    kind LowCardinality(String) COMMENT 'regulator, bank, exchange, internal',
    settings String DEFAULT '{}',
    created_at DateTime64(3, 'UTC'),
    version UInt64,
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY id;

CREATE TABLE IF NOT EXISTS api_keys
(
    id String,
    tenant_id LowCardinality(String),
    role LowCardinality(String),
    name String,
    hash FixedString(64) COMMENT 'sha256 hex of the whole key; the key itself is never stored',
    created_at DateTime64(3, 'UTC'),
    revoked_at Nullable(DateTime64(3, 'UTC')),
    rate_limit_per_minute Nullable(UInt32),
    version UInt64,
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY id;

CREATE TABLE IF NOT EXISTS subscriptions
(
    id String,
    tenant_id LowCardinality(String),
    kind LowCardinality(String) COMMENT 'addresses, entities, all-flows',
    addresses Array(String),
    entities Array(String),
    min_severity Enum8('low' = 1, 'medium' = 2, 'high' = 3, 'severe' = 4),
    webhook_url String,
    secret_ids Array(String) COMMENT 'references to signing secrets (never the secrets)',
    active Bool,
    created_at DateTime64(3, 'UTC'),
    version UInt64,
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY (tenant_id, id);

-- Investigations opened through the API.
CREATE TABLE IF NOT EXISTS cases
(
    id String,
    tenant_id LowCardinality(String),
    title String,
    status LowCardinality(String) COMMENT 'open, investigating, reported, closed',
    assignee String DEFAULT '',
    flag_ids Array(String),
    addresses Array(String),
    notes String DEFAULT '',
    created_by String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    version UInt64,
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY (tenant_id, id);
