-- The state an action belongs to (docs/rules.md): a state_machine rule's
-- event fingerprint, a group rule's group id, a chain rule's chain id.
-- Nullable like rule (0003): the query filters on them, and `x = 'v'` never
-- matches NULL. Plain ADD COLUMN: the runner counts "already exists" as
-- done (0003 says why). One statement per column: a statement that adds
-- several is not idempotent when an interrupted run added some of them.
ALTER TABLE aw_audit_records ADD COLUMN fingerprint Nullable(String);
ALTER TABLE aw_audit_records ADD COLUMN group_id Nullable(String);
ALTER TABLE aw_audit_records ADD COLUMN chain_id Nullable(String);
