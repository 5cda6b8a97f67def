-- Audit records (contracts section 3) for ClickHouse 18.16 and every later
-- version. Statements are separated by ';' at the end of a line and sent one
-- per request; each one must be idempotent (IF NOT EXISTS), because two
-- concurrent `acteon-worker migrate` runs may both apply it.
--
-- ReplacingMergeTree(ver) ORDER BY record_id: a record written twice (a
-- replay racing the existence check of append_batch) collapses at merge
-- time to the copy with the largest ver = INT64_MAX - completed_at_ms, i.e.
-- the earliest completed one; queries pick that same copy until then
-- (LIMIT 1 BY record_id ordered by completed_at_ms), so a merge never
-- changes which copy a reader sees, nor where it sits in the keyset order.
-- Daily partitions by completed_date: retention drops whole days
-- (ALTER TABLE ... DROP PARTITION), since 18.16 has no TTL.
-- Times are milliseconds in Int64 columns (18.16 has no DateTime64).
-- payload/metadata are String plus a has_ flag rather than Nullable, and
-- every column is sent on insert: 18.16 fills a missing JSONEachRow field
-- with the zero value, not the DEFAULT.
CREATE TABLE IF NOT EXISTS aw_audit_records (
    record_id String,
    action_id String,
    ns String,
    tenant String,
    provider String,
    action_type String,
    dedup_identity String,
    outcome String,
    details String,
    payload String,
    has_payload UInt8,
    metadata String,
    has_metadata UInt8,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    worker_id String,
    fencing_token UInt64,
    attempts Int64,
    dispatched_at_ms Int64,
    completed_at_ms Int64,
    duration_ms Int64,
    expires_at_ms Int64,
    completed_date Date,
    ver UInt64
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMMDD(completed_date)
ORDER BY record_id
SETTINGS index_granularity = 8192;
