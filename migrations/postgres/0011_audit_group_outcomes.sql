-- Group rules (docs/rules.md, "group"): `grouped` and `group_flushed` join
-- the allowed values of aw_audit_records.outcome. Forward-only, idempotent,
-- as 0008. The list also holds the chain rules' outcomes (another migration
-- adds them), so that whichever of the two runs last allows both.

ALTER TABLE aw_audit_records DROP CONSTRAINT IF EXISTS aw_audit_records_outcome_check;
ALTER TABLE aw_audit_records ADD CONSTRAINT aw_audit_records_outcome_check
    CHECK (outcome IN ('executed', 'failed', 'deduplicated', 'rejected', 'suppressed',
                       'throttled', 'scheduled', 'state_changed', 'chain_started',
                       'chain_completed', 'chain_failed', 'grouped', 'group_flushed'));
