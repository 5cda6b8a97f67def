#!/usr/bin/env bash
# A chain rule over three worker processes sharing PostgreSQL state: 200
# chains of 3 steps, each step called exactly once, each chain's end
# replied and audited (rules_chain_body.sh); the audit trail searched by
# chain id, then wiped and rebuilt by `replay`, record for record.
source "$(dirname "$0")/lib.sh"
[ -n "${AW_TEST_POSTGRES_URL:-}" ] || { echo "SKIP: AW_TEST_POSTGRES_URL not set (scripts/test.sh starts PostgreSQL)"; exit 77; }
STATE_BACKEND=postgres
STATE_URL="$AW_TEST_POSTGRES_URL"
# The audit trail in a schema of its own (the chain outcomes through the
# audit's CHECK: 0010), emptied before the replay check.
postgres_audit_own_schema
source "$(dirname "$0")/rules_chain_body.sh"
