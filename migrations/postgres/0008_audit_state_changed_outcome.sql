-- State machine rules (docs/rules.md, "state_machine"): `state_changed` joins
-- the allowed values of aw_audit_records.outcome. Forward-only, idempotent,
-- as 0003. (0006 and 0007 are taken by other changes.)

ALTER TABLE aw_audit_records DROP CONSTRAINT IF EXISTS aw_audit_records_outcome_check;
ALTER TABLE aw_audit_records ADD CONSTRAINT aw_audit_records_outcome_check
    CHECK (outcome IN ('executed', 'failed', 'deduplicated', 'rejected', 'suppressed',
                       'throttled', 'scheduled', 'state_changed'));
