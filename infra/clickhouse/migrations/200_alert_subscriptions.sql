-- Alerting (issue 8): the subscription filters and delivery limits the alerter matches and
-- delivers with, the signing secrets, and a lookup index for alerts by id (replay).

ALTER TABLE subscriptions
    ADD COLUMN IF NOT EXISTS name String DEFAULT '',
    ADD COLUMN IF NOT EXISTS chains Array(String) DEFAULT [],
    ADD COLUMN IF NOT EXISTS lists Array(String) DEFAULT [],
    ADD COLUMN IF NOT EXISTS programmes Array(String) DEFAULT [],
    ADD COLUMN IF NOT EXISTS exposure Array(LowCardinality(String)) DEFAULT ['direct', 'indirect'] COMMENT 'direct, indirect, behavioural',
    ADD COLUMN IF NOT EXISTS include_retro Bool DEFAULT true,
    ADD COLUMN IF NOT EXISTS max_concurrency UInt16 DEFAULT 4 COMMENT 'requests in flight to the endpoint',
    ADD COLUMN IF NOT EXISTS rate_per_second UInt32 DEFAULT 100 COMMENT 'requests started per second',
    ADD COLUMN IF NOT EXISTS updated_at DateTime64(3, 'UTC') DEFAULT created_at;

-- HMAC signing secrets. They must be stored in the clear (HMAC needs the key), which is why they
-- live apart from `subscriptions`: grant this table to the alerter and API users only, never to
-- analysts. A secret signs while expires_at is NULL or in the future (rotation overlap).
CREATE TABLE IF NOT EXISTS webhook_secrets
(
    id String,
    subscription_id String,
    tenant_id LowCardinality(String),
    secret String,
    created_at DateTime64(3, 'UTC'),
    expires_at Nullable(DateTime64(3, 'UTC')),
    version UInt64,
    deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY (subscription_id, id);

ALTER TABLE alerts ADD INDEX IF NOT EXISTS alerts_id_bf id TYPE bloom_filter GRANULARITY 4;
