-- The state an action belongs to (docs/rules.md): a state_machine rule's
-- event fingerprint, a group rule's group id (its members and its flush),
-- a chain rule's chain id (its trigger, steps and end). NULL when none, and
-- in every row written before this migration. Forward-only, idempotent.

ALTER TABLE aw_audit_records ADD COLUMN IF NOT EXISTS fingerprint text NULL;
ALTER TABLE aw_audit_records ADD COLUMN IF NOT EXISTS group_id text NULL;
ALTER TABLE aw_audit_records ADD COLUMN IF NOT EXISTS chain_id text NULL;

-- `audit search --fingerprint / --group / --chain`: an equality filter
-- followed by the query order, partial like 0006's rule index (most records
-- belong to no event, group or chain), so a filtered page is one index
-- range scan. The same caveat as 0006: a plain CREATE INDEX holds a write
-- lock while it builds; migrate before a rolling upgrade.
CREATE INDEX IF NOT EXISTS aw_audit_records_fingerprint_time
    ON aw_audit_records (fingerprint, completed_at_ms DESC, record_id DESC)
    WHERE fingerprint IS NOT NULL;
CREATE INDEX IF NOT EXISTS aw_audit_records_group_time
    ON aw_audit_records (group_id, completed_at_ms DESC, record_id DESC)
    WHERE group_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS aw_audit_records_chain_time
    ON aw_audit_records (chain_id, completed_at_ms DESC, record_id DESC)
    WHERE chain_id IS NOT NULL;
