-- State (contracts section 2) for the "clickhouse" state backend, ClickHouse
-- 18.16 and later. Eventually consistent: no atomic compare-and-set (see
-- backends/state/clickhouse/clickhouse_state.h). Idempotent (IF NOT EXISTS)
-- like every migration here.
--
-- One table for the three key spaces: space 'v' values and counters, 'l'
-- locks, 'd' dedup records. key = key_prefix + aw_key_encode(ns, tenant,
-- kind, id), so one (space, key) is one logical record; every write INSERTs
-- a new row and ReplacingMergeTree(ver) keeps the row with the largest ver
-- at merge time. Readers do not wait for merges: they take the row with the
-- largest ver per key themselves (ORDER BY key, ver DESC LIMIT 1 BY key).
-- ver = (max(previous seq + 1, writer's clock ms) << 16) | 16 random bits:
-- increasing per key for sequential writers, and two writers that collide
-- on a seq still get distinct vers, so readers and merges pick the same
-- winner. Lock and lease tokens are the ver of the row that took them.
-- version is the user-visible version (1 on insert, +1 per write), reset
-- after a delete; deletes write a tombstone row (deleted = 1).
-- Times are Int64 milliseconds (no DateTime64 in 18.16); expires_at_ms = 0
-- means no expiry; expiry is judged on read. 18.16 has no TTL: the
-- backend's reaper merges (OPTIMIZE FINAL) then deletes dead rows.
-- Every column is sent on insert (18.16 zero-fills missing ones).
CREATE TABLE IF NOT EXISTS aw_state (
    space String,
    key String,
    id String,
    value String,
    version UInt64,
    ver UInt64,
    token UInt64,
    phase UInt8,
    topic String,
    partition Int32,
    offset Int64,
    expires_at_ms Int64,
    deleted UInt8,
    written_at_ms Int64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (space, key)
SETTINGS index_granularity = 8192;
