/* The "clickhouse" audit backend: audit records in a ClickHouse table over
 * the HTTP interface (libcurl), for ClickHouse 18.16 (Debian 12) and later.
 *
 * URL (audit.url), either form:
 *   clickhouse://[user[:password]@]host[:port][/database]     (HTTP)
 *   clickhouses://[user[:password]@]host[:port][/database]    (HTTPS)
 *   http[s]://[user[:password]@]host[:port]/[?database=NAME]
 * Port defaults to 8123 (8443 for TLS), database to "default"; the database
 * name is [A-Za-z0-9_]+. Credentials travel as HTTP basic auth, never in
 * the request URL, and are never logged (aw_redact_url).
 *
 * Schema: migrations/clickhouse/NNNN_name.sql, embedded, applied by the driver's
 * migrate slot (`acteon-worker migrate -c FILE`); create() only checks the
 * recorded version and fails with AW_CONFIG naming that command.
 *
 * Idempotent appends: ReplacingMergeTree only collapses duplicates at merge
 * time (and only inside one day partition), so *inserted could not be exact
 * from the engine alone. append_batch therefore:
 *   1. drops duplicates inside the batch (the first occurrence wins),
 *   2. asks which record_ids of the batch are already stored: ONE SELECT on
 *      the ORDER BY key, the ids sent as an external table (ch_sql.h),
 *   3. inserts the others in ONE `INSERT ... FORMAT TabSeparated` POST, every
 *      column sent (rows encoded before step 2; a stored one is cut out).
 * Steps 2 and 3 run under a per-backend mutex, so appends of one process are
 * exact; the encoding runs before it, so writers overlap there. Two PROCESSES appending the same record_id at the same moment can
 * both insert it (both report it inserted). That race is harmless to
 * readers: every query keeps one row per record_id (LIMIT 1 BY record_id,
 * the copy with the smallest (completed_at_ms, ...), see ch_sql.h), and
 * the engine collapses the copies at the next merge to that same copy
 * (ReplacingMergeTree(ver), ver = INT64_MAX - completed_at_ms), so a merge
 * between two pages moves nothing. Copies in different day partitions
 * never merge; the query still shows one.
 *
 * Retention (cleanup): whole day partitions whose rows have all expired are
 * dropped when their row count fits the call's budget (max_rows); then up
 * to the remaining budget of expired records are deleted with one
 * `ALTER TABLE ... DELETE` mutation, awaited (bounded) so that the count
 * reported is what is gone. Operators set audit.cleanup_batch at least as
 * large as a day's volume to get the cheap whole-day drops.
 *
 * Threads: the backend object (config, the append mutex) is shared; a
 * session (one CURL handle, one response buffer) belongs to one thread. */
#ifndef AW_CLICKHOUSE_AUDIT_H
#define AW_CLICKHOUSE_AUDIT_H

#include "backends/audit/audit_backend.h"

extern const aw_audit_driver aw_audit_clickhouse_driver;

#endif
