-- due_stats (backends/state/postgres/pg_sql.c, AW_PG_DUE_STATS): the rows
-- of a pool that carry a lease, live or run out. A take sets lease_until,
-- put and release clear it and done deletes the row, so this index holds
-- only the items being worked on (about replicas x schedule.batch_size)
-- and those whose holder crashed: counting the live leases among the due
-- rows reads it instead of every due row. Forward-only: never edit this
-- file once released. (Numbered 0007: 0006 is taken by another change.)
CREATE INDEX IF NOT EXISTS aw_state_due_leased ON aw_state_due (pool, lease_until)
    WHERE lease_until IS NOT NULL;
