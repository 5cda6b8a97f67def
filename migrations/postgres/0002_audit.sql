-- Audit backend schema (backends/audit/postgres). Applied by
-- `acteon-worker migrate -c FILE` in one transaction, recorded in
-- aw_schema_migrations. Forward-only: never edit this file once released;
-- add 0003_*.sql instead. Idempotent where PostgreSQL allows it.
--
-- One row per consumed message (contracts section 3), every field of
-- aw_audit_record (backends/audit/audit_types.h). Objects go to the
-- connection's current schema, like 0001.
--
-- Times are bigint milliseconds since the Unix epoch, exactly the values the
-- worker wrote: queries and keyset cursors compare them for equality, which
-- a timestamp conversion must never blur.
--
-- record_id is COLLATE "C": ties on completed_at_ms are ordered by the bytes
-- of record_id, the order every audit backend shares (the memory backend
-- uses strcmp), whatever the database's default collation.
--
-- details, payload and metadata are json, not jsonb: stored as sent (the
-- reply topic and the audit table then hold the same text), \u0000 and
-- duplicate keys accepted (jsonb refuses the first and drops the second:
-- one odd payload would fail its whole batch), and no re-encoding on the
-- write path. Cast to jsonb when querying inside them.

CREATE TABLE IF NOT EXISTS aw_audit_records (
    record_id        text COLLATE "C" PRIMARY KEY, -- "<topic>:<partition>:<offset>"
    action_id        text    NOT NULL,             -- "" when the message had none readable
    ns               text    NOT NULL,
    tenant           text    NOT NULL,
    provider         text    NOT NULL,
    action_type      text    NOT NULL,
    dedup_identity   text    NOT NULL,
    outcome          text    NOT NULL
        CHECK (outcome IN ('executed', 'failed', 'deduplicated', 'rejected')),
    details          json    NOT NULL,
    payload          json    NULL,                 -- NULL: not stored
    metadata         json    NULL,
    source_topic     text    NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint  NOT NULL,
    worker_id        text    NOT NULL,
    fencing_token    bigint  NOT NULL,             -- 0: no lease was taken
    attempts         bigint  NOT NULL,
    dispatched_at_ms bigint  NOT NULL,
    completed_at_ms  bigint  NOT NULL,
    duration_ms      bigint  NOT NULL,
    expires_at_ms    bigint  NOT NULL              -- cleanup deletes rows <= now
);

-- Queries return newest first by (completed_at_ms, record_id) and page with
-- a keyset cursor on the same pair: one index per equality filter, each
-- followed by that order, so a filtered page is one index range scan.
CREATE INDEX IF NOT EXISTS aw_audit_records_time
    ON aw_audit_records (completed_at_ms DESC, record_id DESC);
CREATE INDEX IF NOT EXISTS aw_audit_records_ns_time
    ON aw_audit_records (ns, completed_at_ms DESC, record_id DESC);
CREATE INDEX IF NOT EXISTS aw_audit_records_tenant_time
    ON aw_audit_records (tenant, completed_at_ms DESC, record_id DESC);
CREATE INDEX IF NOT EXISTS aw_audit_records_provider_time
    ON aw_audit_records (provider, completed_at_ms DESC, record_id DESC);
CREATE INDEX IF NOT EXISTS aw_audit_records_action_type_time
    ON aw_audit_records (action_type, completed_at_ms DESC, record_id DESC);
CREATE INDEX IF NOT EXISTS aw_audit_records_outcome_time
    ON aw_audit_records (outcome, completed_at_ms DESC, record_id DESC);
CREATE INDEX IF NOT EXISTS aw_audit_records_action_id_time
    ON aw_audit_records (action_id, completed_at_ms DESC, record_id DESC);

-- Retention: cleanup deletes in bounded chunks of the oldest expiries.
CREATE INDEX IF NOT EXISTS aw_audit_records_expires_at
    ON aw_audit_records (expires_at_ms);
