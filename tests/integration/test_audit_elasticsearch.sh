#!/usr/bin/env bash
# The audit trail on a real OpenSearch 2.19 node (audit_body.sh): 2,000
# actions, one record per message, paged search, wipe + replay twice, the
# action topic again. scripts/test.sh starts the node (AW_TEST_OPENSEARCH_URL);
# ACTEON_TEST_ES_URL points it at another Elasticsearch or OpenSearch.
# The records live in dated indices of a prefix of this run's own, which
# audit_wipe deletes. refresh=wait_for makes every write visible to the
# search that follows (in production leave it false: records then show up
# within the refresh interval, about 1 s).
source "$(dirname "$0")/lib.sh"
ES=${ACTEON_TEST_ES_URL:-${AW_TEST_OPENSEARCH_URL:-}}
[ -n "$ES" ] || { echo "SKIP: AW_TEST_OPENSEARCH_URL not set (scripts/test.sh starts OpenSearch)"; exit 77; }
ES=${ES%/}
PREFIX="awit-$(echo "$RUN_ID" | tr 'A-Z' 'a-z')"
es() { curl -sf -X "$1" "$ES$2" >/dev/null; }
CLEANUP_HOOKS+=("es DELETE '/$PREFIX-*'; es DELETE '/_index_template/$PREFIX'")
AUDIT_BACKEND=elasticsearch
AUDIT_URL="$ES/?index=$PREFIX&refresh=wait_for&replicas=0"
audit_wipe() { es DELETE "/$PREFIX-*" || fail "deleting the indices $PREFIX-*"; }
source "$(dirname "$0")/audit_body.sh"
