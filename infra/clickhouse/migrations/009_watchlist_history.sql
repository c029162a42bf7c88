-- Watchlist history written by the sink (watchlist.v1 → watchlist_entries).
--
-- The sink keeps every listing state it sees: a later message for the same (list, family,
-- address, listed_from) has a higher `version` (publishedAt, ms, doubled, +1 for the message that
-- carries listed_until) and replaces the earlier one; a delisting therefore turns the open row
-- into a closed one, and the tombstone that follows it on the compacted topic writes nothing, so
-- history is never deleted. A relisting opens a new interval: a new row with a new listed_from.
--
-- The kafka_* columns let the sink resume exactly after a crash (it skips offsets already stored),
-- as for transfers and flags; rows written before this migration keep the defaults.
ALTER TABLE watchlist_entries
    ADD COLUMN IF NOT EXISTS kafka_topic LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS kafka_partition UInt32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS kafka_offset UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS inserted_at DateTime64(3, 'UTC') DEFAULT now64(3);

-- Lets the sink's insert_deduplication_token work on this non-replicated table (a retried insert
-- whose first attempt landed is dropped).
ALTER TABLE watchlist_entries MODIFY SETTING non_replicated_deduplication_window = 10000;
