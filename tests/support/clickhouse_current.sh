#!/usr/bin/env bash
# Run a ClickHouse test (conformance binary or integration script, "$@")
# against the current ClickHouse engine instead of 18.16: the chdb front of
# scripts/servers/chdb.sh, whose URL scripts/test-servers.sh writes as
# AW_TEST_CLICKHOUSE_CURRENT_URL. The test itself is unchanged: it reads
# AW_TEST_CLICKHOUSE_URL, set here to that URL; the outage tests, which
# start their own server, start the chdb front (AW_CLICKHOUSE_ENGINE).
# Exit 77 (skip) when the front is not configured.
if [ -z "${AW_TEST_CLICKHOUSE_CURRENT_URL:-}" ]; then
    echo "SKIP: AW_TEST_CLICKHOUSE_CURRENT_URL is not set (scripts/test-servers.sh start DIR chdb)"
    exit 77
fi
export AW_TEST_CLICKHOUSE_URL=$AW_TEST_CLICKHOUSE_CURRENT_URL
export AW_CLICKHOUSE_ENGINE=current
exec "$@"
