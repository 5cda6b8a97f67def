-- Chain rules (docs/rules.md, "chain"): `chain_started`, `chain_completed`
-- and `chain_failed` join the allowed values of aw_audit_records.outcome.
-- Forward-only, idempotent, as 0008 (0009 is taken by the audit state ids).

ALTER TABLE aw_audit_records DROP CONSTRAINT IF EXISTS aw_audit_records_outcome_check;
ALTER TABLE aw_audit_records ADD CONSTRAINT aw_audit_records_outcome_check
    CHECK (outcome IN ('executed', 'failed', 'deduplicated', 'rejected', 'suppressed',
                       'throttled', 'scheduled', 'state_changed', 'chain_started',
                       'chain_completed', 'chain_failed'));
