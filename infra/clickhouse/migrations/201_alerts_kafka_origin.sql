-- Alerts stored by the sink from the alert.v1 topic (the alerter publishes them and delivers; it
-- no longer waits for a ClickHouse insert before each webhook unless ALERTER_STORE_ALERTS is on).
--
-- The kafka_* columns let the sink resume exactly after a crash (it skips offsets already stored),
-- as for transfers, flags and watchlist entries; rows the alerter inserted itself keep the
-- defaults. The table already de-duplicates retried inserts (non_replicated_deduplication_window).
ALTER TABLE alerts
    ADD COLUMN IF NOT EXISTS kafka_topic LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS kafka_partition UInt32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS kafka_offset UInt64 DEFAULT 0;
