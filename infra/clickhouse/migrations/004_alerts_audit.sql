-- Alerts sent to tenants and every webhook attempt.
CREATE TABLE IF NOT EXISTS alerts
(
    id String,
    tenant_id LowCardinality(String),
    subscription_id String,
    flag_id FixedString(32),
    transfer_id String,
    incident_id String DEFAULT '',
    chain LowCardinality(String),
    severity Enum8('low' = 1, 'medium' = 2, 'high' = 3, 'severe' = 4),
    kind LowCardinality(String),
    payload String COMMENT 'alert.v1 JSON as delivered',
    status LowCardinality(String) COMMENT 'pending, delivered, failed, suppressed',
    created_at DateTime64(3, 'UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (tenant_id, created_at, id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS webhook_deliveries
(
    delivery_id String,
    alert_id String,
    tenant_id LowCardinality(String),
    subscription_id String,
    url String,
    attempt UInt16,
    status_code Nullable(UInt16),
    outcome Enum8('delivered' = 1, 'retrying' = 2, 'failed' = 3, 'dead' = 4),
    error String DEFAULT '',
    duration_ms UInt32,
    at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (tenant_id, alert_id, at)
TTL toDateTime(at) + INTERVAL 400 DAY;

-- Who did what: API requests, SQL run by regulators, admin changes. Kept without TTL.
CREATE TABLE IF NOT EXISTS audit_log
(
    at DateTime64(3, 'UTC'),
    request_id String,
    actor String COMMENT 'api key id or user',
    tenant_id LowCardinality(String),
    role LowCardinality(String),
    action LowCardinality(String),
    resource String,
    params String DEFAULT '' COMMENT 'JSON, secrets removed',
    outcome LowCardinality(String),
    status_code UInt16 DEFAULT 0,
    ip String DEFAULT '',
    rows UInt64 DEFAULT 0,
    duration_ms UInt32 DEFAULT 0
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (tenant_id, at, request_id);
