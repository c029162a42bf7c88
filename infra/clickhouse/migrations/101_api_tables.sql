-- Tables owned by the query API (services/api).

-- Screenings run through POST /v1/screen, per tenant (a bank sees only its own).
CREATE TABLE IF NOT EXISTS api_screenings
(
    id String,
    tenant_id LowCardinality(String),
    key_id String,
    at DateTime64(3, 'UTC'),
    screened_at DateTime64(3, 'UTC') COMMENT 'point in time the addresses were screened at',
    addresses UInt32,
    hits UInt32,
    invalid UInt32,
    hit_addresses Array(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (tenant_id, at, id);

-- Case history: creation, flags added, comments, status changes (append-only; the `cases` row
-- holds the current state).
CREATE TABLE IF NOT EXISTS case_events
(
    case_id String,
    tenant_id LowCardinality(String),
    at DateTime64(3, 'UTC'),
    actor String COMMENT 'api key id',
    kind LowCardinality(String) COMMENT 'created, flags_added, comment, status',
    status LowCardinality(String) DEFAULT '',
    body String DEFAULT '' COMMENT 'comment text, or JSON of the change'
)
ENGINE = MergeTree
ORDER BY (tenant_id, case_id, at);

-- False-positive suppressions decided in cases; the tagger loads the active ones (same fields as
-- its Suppression: family, a, b, rule, until) and stops flagging that address pair.
CREATE TABLE IF NOT EXISTS fp_suppressions
(
    id String,
    tenant_id LowCardinality(String),
    case_id String,
    family LowCardinality(String),
    a String,
    b Nullable(String),
    rule Nullable(String),
    until Nullable(DateTime64(3, 'UTC')),
    reason String DEFAULT '',
    created_by String,
    created_at DateTime64(3, 'UTC'),
    version UInt64,
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY (family, a, id);

-- Flag ids of each case, one row per (case, flag), so "which cases hold flag X" is a lookup.
CREATE TABLE IF NOT EXISTS case_flags
(
    case_id String,
    tenant_id LowCardinality(String),
    flag_id String,
    added_at DateTime64(3, 'UTC'),
    added_by String
)
ENGINE = ReplacingMergeTree
ORDER BY (flag_id, case_id);
