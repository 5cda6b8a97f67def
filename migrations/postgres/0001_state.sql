-- State backend schema (backends/state/postgres). Applied by
-- `acteon-worker migrate -c FILE` in one transaction, recorded in
-- aw_schema_migrations. Forward-only: never edit this file once released;
-- add 0002_*.sql instead. Idempotent where PostgreSQL allows it.
--
-- Objects are created in the connection's current schema (the first schema
-- of search_path; choose one with ?options=-csearch_path%3Dmyschema in the
-- URL). Keys are bytea: key_prefix followed by the length-prefixed encoding
-- of common/aw_key.h, compared bytewise, so a scan by prefix is a range scan
-- on the primary key and no LIKE pattern is ever involved.
--
-- Expiry: a row whose expires_at is not NULL and <= now() is expired and
-- counts as absent for every operation; the reaper deletes such rows in
-- chunks (indexes on expires_at). Lock and dedup rows are kept for a grace
-- period after expiry (see pg_reaper.h: part of the fencing-token argument).

-- Plain values and counters (a counter is its decimal text).
CREATE TABLE IF NOT EXISTS aw_state_values (
    key        bytea       PRIMARY KEY,
    value      bytea       NOT NULL,
    version    bigint      NOT NULL CHECK (version >= 1), -- 1 on insert, +1 per write
    expires_at timestamptz NULL                           -- NULL: never
);
CREATE INDEX IF NOT EXISTS aw_state_values_expires_at
    ON aw_state_values (expires_at) WHERE expires_at IS NOT NULL;

-- Fencing tokens of locks and dedup leases. One sequence serves every lock
-- name and identity: tokens grow for each name because they grow, period,
-- and nothing per name has to outlive its row. A sequence never goes
-- backwards (not even after a crash: its WAL record runs ahead of the values
-- handed out).
CREATE SEQUENCE IF NOT EXISTS aw_state_tokens AS bigint MINVALUE 1 NO CYCLE;

-- Locks: held while expires_at is NULL or in the future.
CREATE TABLE IF NOT EXISTS aw_state_locks (
    name       bytea       PRIMARY KEY,
    token      bigint      NOT NULL,
    expires_at timestamptz NULL
);
CREATE INDEX IF NOT EXISTS aw_state_locks_expires_at
    ON aw_state_locks (expires_at) WHERE expires_at IS NOT NULL;

-- Two-phase dedup records (contracts section 1). state 'lease': token holds
-- the lease until expires_at (never NULL for a lease). state 'done': the
-- outcome summary and the source coordinates of the message that executed,
-- kept until expires_at (the dedup window; NULL: forever). Summary and topic
-- are bytea: stored and returned byte for byte, as the memory backend does.
-- claim_prev_token is scratch space of the claim statement: every claim
-- writes the token the row had before it, so its RETURNING tells a takeover
-- (token <> claim_prev_token) from a look at a live record.
CREATE TABLE IF NOT EXISTS aw_state_dedup (
    key              bytea       PRIMARY KEY,
    state            text        NOT NULL CHECK (state IN ('lease', 'done')),
    token            bigint      NOT NULL,
    claim_prev_token bigint      NOT NULL DEFAULT 0,
    expires_at       timestamptz NULL CHECK (state = 'done' OR expires_at IS NOT NULL),
    summary          bytea       NULL,
    source_topic     bytea       NULL,
    source_partition integer     NULL,
    source_offset    bigint      NULL
);
CREATE INDEX IF NOT EXISTS aw_state_dedup_expires_at
    ON aw_state_dedup (expires_at) WHERE expires_at IS NOT NULL;

-- increment's arithmetic: the stored value must be a decimal int64 of at
-- most 20 characters ("007" and "-0" count, as in the memory and Redis
-- backends; signs other than a leading '-', spaces and anything else do
-- not). Errors leave the row untouched (the statement fails as a whole).
CREATE OR REPLACE FUNCTION aw_state_counter_add(cur bytea, delta bigint)
RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    n numeric;
BEGIN
    -- encode(.., 'escape') maps every byte outside printable ASCII (and the
    -- backslash) to a backslash sequence, so the pattern sees exactly the
    -- stored bytes when they are digits and a leading '-'.
    IF length(cur) > 20 OR encode(cur, 'escape') !~ '^-?[0-9]+$' THEN
        RAISE EXCEPTION 'increment: the stored value is not a decimal integer'
            USING ERRCODE = '22P02';
    END IF;
    n := encode(cur, 'escape')::numeric + delta;
    IF n < -9223372036854775808 OR n > 9223372036854775807 THEN
        RAISE EXCEPTION 'increment: int64 overflow' USING ERRCODE = '22003';
    END IF;
    RETURN convert_to(n::text, 'UTF8');
END
$$;

-- compare_and_swap: write iff the live version equals expected (0: the key
-- must be absent or expired). Returns whether it wrote and the version after
-- the call (the new one, or the current one on a mismatch, 0 if absent).
-- The row lock taken by SELECT ... FOR UPDATE makes check and write one
-- atomic step; each statement of the loop sees rows committed meanwhile, so
-- a concurrent first insert is found on the next round.
CREATE OR REPLACE FUNCTION aw_state_cas(p_key bytea, p_expected bigint, p_value bytea,
                                        p_ttl_ms bigint, OUT o_ok boolean,
                                        OUT o_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    cur bigint;
BEGIN
    LOOP
        SELECT CASE WHEN t.expires_at IS NULL OR t.expires_at > now() THEN t.version
                    ELSE 0 END
          INTO cur
          FROM aw_state_values t WHERE t.key = p_key FOR UPDATE;
        IF FOUND THEN
            IF cur <> p_expected THEN
                o_ok := false;
                o_version := cur;
                RETURN;
            END IF;
            UPDATE aw_state_values t
               SET value = p_value, version = cur + 1,
                   expires_at = now() + p_ttl_ms * interval '1 millisecond'
             WHERE t.key = p_key;
            o_ok := true;
            o_version := cur + 1;
            RETURN;
        END IF;
        IF p_expected <> 0 THEN
            o_ok := false;
            o_version := 0;
            RETURN;
        END IF;
        INSERT INTO aw_state_values AS t (key, value, version, expires_at)
        VALUES (p_key, p_value, 1, now() + p_ttl_ms * interval '1 millisecond')
        ON CONFLICT (key) DO NOTHING;
        IF FOUND THEN
            o_ok := true;
            o_version := 1;
            RETURN;
        END IF;
        -- A concurrent insert won the race: look again.
    END LOOP;
END
$$;
