-- The due-time index of the state backend (docs/design.md section 3, "due
-- index"; backends/state/postgres/pg_due.c). Forward-only: never edit this
-- file once released.
--
-- One row per item. pool is key_prefix followed by the aw_key encoding of
-- (namespace, "", kind, ""): the set one due_take takes from. tenant and id
-- are the rest of the item's key, bytea so any byte but NUL round-trips.
-- due_ms is the caller's wall clock (ms since the epoch), compared only
-- with the now_ms a caller passes. A lease is token + lease_until (the
-- server's clock): live iff lease_until > now(); NULL or past means the
-- item waits to be taken (again). Tokens come from aw_state_tokens
-- (migration 0001), so they increase across done and a later put of the
-- same key.
CREATE TABLE IF NOT EXISTS aw_state_due (
    pool        bytea       NOT NULL,
    tenant      bytea       NOT NULL,
    id          bytea       NOT NULL,
    due_ms      bigint      NOT NULL,
    value       bytea       NOT NULL,
    token       bigint      NOT NULL DEFAULT 0,
    lease_until timestamptz NULL,
    PRIMARY KEY (pool, tenant, id)
);
-- due_take: the oldest due items of a pool, a range scan in due order
-- (leased items are skipped by the filter; a take leases them for a while,
-- so few are ever passed over at once).
CREATE INDEX IF NOT EXISTS aw_state_due_pool_due ON aw_state_due (pool, due_ms);
