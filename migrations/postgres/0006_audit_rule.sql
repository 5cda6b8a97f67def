-- The rule whose verdict applied to an action (docs/rules.md, "Audit"):
-- suppress, throttle (whether it let the action through or throttled it),
-- lock (executed under it or timed out waiting), or the rule whose key
-- could not be rendered (rejected, rule_field). NULL when no rule applied,
-- and in every row written before this migration. Forward-only, idempotent.

ALTER TABLE aw_audit_records ADD COLUMN IF NOT EXISTS rule text NULL;

-- `audit search --rule NAME`: an equality filter followed by the query
-- order, as every filter index of 0002, so a filtered page is one index
-- range scan. Partial: most records have no rule, and no query looks for
-- "no rule". Built with a plain CREATE INDEX (the migration runs in one
-- transaction, where CONCURRENTLY is refused); on a large table this holds
-- a write lock on aw_audit_records while it builds: migrate before a
-- rolling upgrade, not under full load (docs/backends/postgres-audit.md).
CREATE INDEX IF NOT EXISTS aw_audit_records_rule_time
    ON aw_audit_records (rule, completed_at_ms DESC, record_id DESC)
    WHERE rule IS NOT NULL;
