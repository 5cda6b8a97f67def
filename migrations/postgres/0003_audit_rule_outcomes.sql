-- The outcomes of rules (docs/rules.md): suppressed and throttled join the
-- allowed values of aw_audit_records.outcome. Forward-only, idempotent: the
-- constraint is dropped (if present under PostgreSQL's default name, which
-- 0002 left it) and added again with the wider list.

ALTER TABLE aw_audit_records DROP CONSTRAINT IF EXISTS aw_audit_records_outcome_check;
ALTER TABLE aw_audit_records ADD CONSTRAINT aw_audit_records_outcome_check
    CHECK (outcome IN ('executed', 'failed', 'deduplicated', 'rejected', 'suppressed',
                       'throttled'));
