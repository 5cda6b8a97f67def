#!/usr/bin/env bash
# The partition test (issue 18) on PostgreSQL 15 state: test_partition.sh postgres
# [VARIANT...] (default: every variant). See README.md here.
set -euo pipefail
exec bash "$(dirname "$0")/test_partition.sh" postgres "$@"
