/* The statements of the "postgres" state backend: see pg_sql.h. */
#include "backends/state/postgres/pg_sql.h"

#include <stdlib.h>
#include <string.h>

/* Fragments shared by the statements below. */
#define LIVE "(expires_at IS NULL OR expires_at > now())"
#define T_LIVE "(t.expires_at IS NULL OR t.expires_at > now())"
/* NULL <= now() is NULL, so a row without expiry never counts as expired. */
#define T_EXPIRED "t.expires_at <= now()"
#define AW_PG_STR2(x) #x
#define AW_PG_STR(x) AW_PG_STR2(x)
#define EXPIRY(p) "now() + " p "::bigint * interval '1 millisecond'"

static const aw_pg_stmt_def stmts[AW_PG_STMT_COUNT] = {
    /* $1 key, $2 value, $3 ttl_ms. Insert, or replace an expired row (a new
     * key again: version 1). A live row is left alone (no row returned). */
    [AW_PG_INSERT] = {"aw_insert",
                      "INSERT INTO aw_state_values AS t (key, value, version, expires_at) "
                      "VALUES ($1::bytea, $2::bytea, 1, " EXPIRY("$3") ") "
                      "ON CONFLICT (key) DO UPDATE "
                      "SET value = excluded.value, version = 1, expires_at = excluded.expires_at "
                      "WHERE " T_EXPIRED " "
                      "RETURNING t.version",
                      3},

    [AW_PG_GET] = {"aw_get",
                   "SELECT value, version FROM aw_state_values "
                   "WHERE key = $1::bytea AND " LIVE,
                   1},

    /* Upsert with the next version computed under the row lock of the same
     * statement (never by a separate read): two concurrent sets get two
     * versions. An expired row counts as absent: version 1 again. No TTL
     * (NULL) clears an earlier expiry. */
    [AW_PG_SET] = {"aw_set",
                   "INSERT INTO aw_state_values AS t (key, value, version, expires_at) "
                   "VALUES ($1::bytea, $2::bytea, 1, " EXPIRY("$3") ") "
                   "ON CONFLICT (key) DO UPDATE "
                   "SET value = excluded.value, "
                   "    version = CASE WHEN " T_EXPIRED " THEN 1 ELSE t.version + 1 END, "
                   "    expires_at = excluded.expires_at "
                   "RETURNING t.version",
                   3},

    /* Returns whether the deleted row was live (an expired one is purged
     * too, and reported as absent). */
    [AW_PG_DELETE] = {"aw_delete",
                      "DELETE FROM aw_state_values WHERE key = $1::bytea RETURNING " LIVE, 1},

    /* $1 key, $2 delta, $3 ttl_ms (applies only when the counter is
     * created). aw_state_counter_add (migration 0001) refuses a stored
     * value that is not a decimal int64 and an overflow, failing the
     * statement, so nothing is written then. */
    [AW_PG_INCREMENT] =
        {"aw_increment",
         "INSERT INTO aw_state_values AS t (key, value, version, expires_at) "
         "VALUES ($1::bytea, convert_to($2::bigint::text, 'UTF8'), 1, " EXPIRY("$3") ") "
         "ON CONFLICT (key) DO UPDATE "
         "SET value = CASE WHEN " T_EXPIRED " THEN excluded.value "
         "                 ELSE aw_state_counter_add(t.value, $2::bigint) END, "
         "    version = CASE WHEN " T_EXPIRED " THEN 1 ELSE t.version + 1 END, "
         "    expires_at = CASE WHEN " T_EXPIRED " THEN excluded.expires_at "
         "                      ELSE t.expires_at END "
         "RETURNING t.value",
         3},

    /* $1 key, $2 expected version, $3 value, $4 ttl_ms: the function of
     * migration 0001 (row lock, retry on a concurrent first insert). */
    [AW_PG_CAS] = {"aw_cas",
                   "SELECT o_ok, o_version "
                   "FROM aw_state_cas($1::bytea, $2::bigint, $3::bytea, $4::bigint)",
                   4},

    /* Keyset page of a prefix scan: $1 the lower bound (the prefix, then
     * the last key seen), $2 the first key past the prefix (a pure range on
     * the primary key: no LIKE, so no byte of a prefix is a wildcard), $3
     * non-zero to exclude $1 itself (every page after the first), $4 where
     * the id starts in the key (0-based). */
    [AW_PG_SCAN] = {"aw_scan",
                    "SELECT substring(key FROM ($4::bigint + 1)::integer), value "
                    "FROM aw_state_values "
                    "WHERE key >= $1::bytea AND key < $2::bytea "
                    "  AND NOT (key = $1::bytea AND $3::bigint <> 0) AND " LIVE " "
                    "ORDER BY key LIMIT " AW_PG_STR(AW_PG_SCAN_PAGE),
                    4},

    /* $1 name, $2 ttl_ms. The token is drawn in the SET clause, i.e. after
     * the row lock of a takeover is held, so it exceeds the expired holder's
     * (see pg_reaper.h for the insert path). */
    [AW_PG_LOCK_ACQUIRE] = {"aw_lock_acquire",
                            "INSERT INTO aw_state_locks AS t (name, token, expires_at) "
                            "VALUES ($1::bytea, nextval('aw_state_tokens'), " EXPIRY("$2") ") "
                            "ON CONFLICT (name) DO UPDATE "
                            "SET token = nextval('aw_state_tokens'), "
                            "    expires_at = excluded.expires_at "
                            "WHERE " T_EXPIRED " "
                            "RETURNING t.token",
                            2},

    /* $1 name, $2 token, $3 ttl_ms. */
    [AW_PG_LOCK_EXTEND] = {"aw_lock_extend",
                           "UPDATE aw_state_locks SET expires_at = " EXPIRY("$3") " "
                           "WHERE name = $1::bytea AND token = $2::bigint AND " LIVE " "
                           "RETURNING 1",
                           3},

    /* Released = expired now; the reaper deletes the row after its grace. */
    [AW_PG_LOCK_RELEASE] = {"aw_lock_release",
                            "UPDATE aw_state_locks SET expires_at = now() "
                            "WHERE name = $1::bytea AND token = $2::bigint AND " LIVE " "
                            "RETURNING 1",
                            2},

    /* claim_batch: ONE statement for the whole batch ($1 keys, $2 lease_ms,
     * unique keys: the state front folds repeats). Rows are taken
     * in key order (INSERT ... SELECT ... ORDER BY: the insert consumes
     * its input in that order whatever the plan), as complete does (see
     * there), so no two batches wait on each other in a cycle; the caller
     * need not sort the keys. Per key, under its row
     * lock: absent -> insert a lease; expired (lease or done record) ->
     * take it over with a fresh token drawn in the SET clause; live -> the
     * row is rewritten unchanged, which is what makes ON CONFLICT return
     * the holder's record (a concurrent insert is invisible to any read of
     * this statement's snapshot, the row lock sees it). claim_prev_token
     * records the token before this statement, so token <> claim_prev_token
     * <=> this statement took the lease. Out: ord, 'A'/'D'/'B', token,
     * remaining lease ms, done summary/topic/partition/offset. */
    [AW_PG_CLAIM] =
        {"aw_claim",
         "WITH input AS ("
         "  SELECT i.key, i.lease_ms, i.ord"
         "    FROM unnest($1::bytea[], $2::bigint[]) WITH ORDINALITY AS i(key, lease_ms, ord)"
         "), claimed AS ("
         "  INSERT INTO aw_state_dedup AS t (key, state, token, claim_prev_token, expires_at)"
         "  SELECT key, 'lease', nextval('aw_state_tokens'), 0,"
         "         now() + lease_ms * interval '1 millisecond'"
         "    FROM input ORDER BY key"
         "  ON CONFLICT (key) DO UPDATE SET"
         "    state = CASE WHEN " T_EXPIRED " THEN 'lease' ELSE t.state END,"
         "    token = CASE WHEN " T_EXPIRED " THEN nextval('aw_state_tokens') ELSE t.token END,"
         "    claim_prev_token = t.token,"
         "    expires_at = CASE WHEN " T_EXPIRED " THEN excluded.expires_at"
         "                      ELSE t.expires_at END,"
         "    summary = CASE WHEN " T_EXPIRED " THEN NULL ELSE t.summary END,"
         "    source_topic = CASE WHEN " T_EXPIRED " THEN NULL ELSE t.source_topic END,"
         "    source_partition = CASE WHEN " T_EXPIRED " THEN NULL"
         "                            ELSE t.source_partition END,"
         "    source_offset = CASE WHEN " T_EXPIRED " THEN NULL ELSE t.source_offset END"
         "  RETURNING t.key, t.state, t.token, t.claim_prev_token, t.expires_at, t.summary,"
         "            t.source_topic, t.source_partition, t.source_offset"
         ")"
         "SELECT i.ord,"
         "       CASE WHEN c.token <> c.claim_prev_token THEN 'A'"
         "            WHEN c.state = 'done' THEN 'D' ELSE 'B' END,"
         "       c.token,"
         "       greatest(1, ceil(extract(epoch FROM c.expires_at - now()) * 1000))::bigint,"
         "       c.summary, c.source_topic, c.source_partition, c.source_offset"
         "  FROM input i JOIN claimed c ON c.key = i.key",
         2},

    /* complete_batch: ONE statement for the whole batch ($1 keys, $2
     * tokens, $3 topics, $4 partitions, $5 offsets, $6 summaries, $7
     * window_ms with NULL = no expiry; keys unique: the state front folds
     * repeats, so each row joins at most one item). Every lease
     * still held with the given token becomes a done record; the ords of
     * those come back, every other item is stale and nothing of it was
     * written. A takeover that committed meanwhile is seen: the row lock
     * and UPDATE re-check token, state and expiry on the newest row version
     * before writing.
     *
     * Lock order (issue 8: 40P01 in the state conformance race, claim
     * batches against complete batches). A claim rewrites every live row it
     * meets, so it holds the rows of its batch and takes them in key order
     * (AW_PG_CLAIM). A complete that waits on a claim's row while holding a
     * row the claim wants next closes a cycle; it cannot if it too takes its
     * rows in key order. Sorting the input is not enough: an UPDATE locks
     * rows in the order its join produces them, and that is the plan's
     * choice. On a large table PostgreSQL picks a nested loop driven by the
     * sorted input (key order), but on a small one (a fresh database, as in
     * CI) a hash join that scans aw_state_dedup in heap order, which is
     * not key order once rows have been updated: the server log then
     * showed a claim waiting "while inserting index tuple" on a complete,
     * which waited on that claim. So the rows are locked first by SELECT
     * ... ORDER BY key FOR UPDATE (the lock step runs above the sort: key
     * order whatever the join plan), and the UPDATE only writes rows this
     * statement already holds, so it waits for nobody. Costs one lock write
     * per completed row (docs/backends/postgres.md; the claim pays the same
     * through ON CONFLICT). A 40P01 would still be AW_TRANSIENT (pg_conn.c), and
     * nothing of the batch written. */
    [AW_PG_COMPLETE] =
        {"aw_complete",
         "WITH input AS ("
         "  SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::integer[],"
         "                       $5::bigint[], $6::bytea[], $7::bigint[])"
         "    WITH ORDINALITY AS i(key, token, topic, part, off, summary, window_ms, ord)"
         "), locked AS ("
         "  SELECT t.key, i.ord FROM aw_state_dedup t"
         "    JOIN input i ON t.key = i.key AND t.token = i.token"
         "   WHERE t.state = 'lease' AND t.expires_at > now()"
         "   ORDER BY t.key FOR UPDATE OF t"
         "), done AS ("
         "  UPDATE aw_state_dedup t"
         "     SET state = 'done', summary = i.summary, source_topic = i.topic,"
         "         source_partition = i.part, source_offset = i.off,"
         "         expires_at = now() + i.window_ms * interval '1 millisecond'"
         "    FROM locked l JOIN input i ON i.ord = l.ord"
         "   WHERE t.key = l.key AND t.token = i.token AND t.state = 'lease'"
         "     AND t.expires_at > now()"
         "  RETURNING i.ord"
         ")"
         "SELECT ord FROM done",
         7},

    /* lease_renew_batch: ONE statement for the whole batch ($1 keys, $2
     * tokens, $3 lease_ms for all; keys unique: the state front folds
     * repeats). Every lease still held with its token and live at now()
     * gets expires_at = now() + lease_ms; the ords of those come back,
     * every other item is stale and nothing of it was written (an expired
     * lease is not revived, even when nobody took it over). The rows are
     * locked in key order first, for the reason given at AW_PG_COMPLETE:
     * a renewal batch meets claim batches and complete batches on the same
     * rows, and the UPDATE alone would lock them in the join's order. The
     * lock step and the UPDATE re-check token, state and expiry on the
     * newest row version, so a takeover committed meanwhile is seen. */
    [AW_PG_LEASE_RENEW] =
        {"aw_lease_renew_batch",
         "WITH input AS ("
         "  SELECT * FROM unnest($1::bytea[], $2::bigint[]) WITH ORDINALITY AS i(key, token, ord)"
         "), locked AS ("
         "  SELECT t.key, i.ord FROM aw_state_dedup t"
         "    JOIN input i ON t.key = i.key AND t.token = i.token"
         "   WHERE t.state = 'lease' AND t.expires_at > now()"
         "   ORDER BY t.key FOR UPDATE OF t"
         "), renewed AS ("
         "  UPDATE aw_state_dedup t SET expires_at = " EXPIRY("$3")
         "    FROM locked l JOIN input i ON i.ord = l.ord"
         "   WHERE t.key = l.key AND t.token = i.token AND t.state = 'lease'"
         "     AND t.expires_at > now()"
         "  RETURNING i.ord"
         ")"
         "SELECT ord FROM renewed",
         3},

    /* lease_renew_batch of one item ($1 key, $2 token, $3 lease_ms): the
     * same rule on one row, without the arrays and the lock step (one row
     * has no lock order): 0.1 ms per call here against 0.35 ms for the
     * batch statement with one element (bench_state_calls, loopback). */
    [AW_PG_LEASE_RENEW_ONE] = {"aw_lease_renew",
                               "UPDATE aw_state_dedup SET expires_at = " EXPIRY("$3") " "
                               "WHERE key = $1::bytea AND token = $2::bigint AND state = 'lease' "
                               "  AND expires_at > now() "
                               "RETURNING 1",
                               3},

    /* Released = expired now (absent for every reader); the reaper deletes
     * the row after its grace. */
    [AW_PG_LEASE_RELEASE] = {"aw_lease_release",
                             "UPDATE aw_state_dedup SET expires_at = now() "
                             "WHERE key = $1::bytea AND token = $2::bigint AND state = 'lease' "
                             "  AND expires_at > now() "
                             "RETURNING 1",
                             2},

    /* The due index (migration 0003): $1 pool, $2 tenant, $3 id first in
     * every statement on one item. A lease is live iff lease_until > now().
     * put: $4 due_ms, $5 value; refused (no row) while the lease lives. */
    [AW_PG_DUE_PUT] = {"aw_due_put",
                       "INSERT INTO aw_state_due AS t (pool, tenant, id, due_ms, value) "
                       "VALUES ($1::bytea, $2::bytea, $3::bytea, $4::bigint, $5::bytea) "
                       "ON CONFLICT (pool, tenant, id) DO UPDATE "
                       "SET due_ms = excluded.due_ms, value = excluded.value, lease_until = NULL "
                       "WHERE t.lease_until IS NULL OR t.lease_until <= now() "
                       "RETURNING 1",
                       5},

    /* take: $1 pool, $2 now_ms, $3 limit, $4 lease_ms. One statement: the
     * oldest due rows not leased, locked with SKIP LOCKED (a concurrent
     * take passes over the rows this one holds instead of waiting for
     * them), then leased with a new token each. A row another take leased
     * and committed meanwhile is re-checked on its new version after the
     * lock (READ COMMITTED) and dropped: it cannot be taken twice. The
     * RETURNING order is the executor's: the caller sorts by due_ms. */
    [AW_PG_DUE_TAKE] = {"aw_due_take",
                        "WITH c AS ("
                        "  SELECT pool, tenant, id FROM aw_state_due "
                        "   WHERE pool = $1::bytea AND due_ms <= $2::bigint "
                        "     AND (lease_until IS NULL OR lease_until <= now()) "
                        "   ORDER BY due_ms LIMIT $3::bigint FOR UPDATE SKIP LOCKED) "
                        "UPDATE aw_state_due t SET token = nextval('aw_state_tokens'), "
                        "    lease_until = " EXPIRY("$4") " "
                        "FROM c WHERE t.pool = c.pool AND t.tenant = c.tenant AND t.id = c.id "
                        "RETURNING t.tenant, t.id, t.due_ms, t.token, t.value",
                        4},

    /* done: $4 token. */
    [AW_PG_DUE_DONE] = {"aw_due_done",
                        "DELETE FROM aw_state_due "
                        "WHERE pool = $1::bytea AND tenant = $2::bytea AND id = $3::bytea "
                        "  AND token = $4::bigint AND lease_until > now() "
                        "RETURNING 1",
                        4},

    /* release: $4 token, $5 retry_at_ms (<= 0: keep due_ms). */
    [AW_PG_DUE_RELEASE] = {"aw_due_release",
                           "UPDATE aw_state_due "
                           "SET lease_until = NULL, "
                           "    due_ms = CASE WHEN $5::bigint > 0 THEN $5::bigint ELSE due_ms END "
                           "WHERE pool = $1::bytea AND tenant = $2::bytea AND id = $3::bytea "
                           "  AND token = $4::bigint AND lease_until > now() "
                           "RETURNING 1",
                           5},

    /* extend: $1 pools, $2 tenants, $3 ids, $4 tokens (arrays, one
     * element per item, each item once: the front checks), $5 lease_ms ->
     * the ord (1-based) of every item whose token held its live lease,
     * now ending $5 ms after now(). Rows are locked in key order first,
     * as in lease_renew_batch, so two batches never wait on each other
     * crosswise. */
    [AW_PG_DUE_EXTEND] =
        {"aw_due_extend",
         "WITH input AS ("
         "  SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[])"
         "    WITH ORDINALITY AS i(pool, tenant, id, token, ord)"
         "), locked AS ("
         "  SELECT t.pool, t.tenant, t.id, i.ord FROM aw_state_due t"
         "    JOIN input i ON t.pool = i.pool AND t.tenant = i.tenant AND t.id = i.id"
         "     AND t.token = i.token"
         "   WHERE t.lease_until > now()"
         "   ORDER BY t.pool, t.tenant, t.id FOR UPDATE OF t"
         "), extended AS ("
         "  UPDATE aw_state_due t SET lease_until = " EXPIRY("$5")
         "    FROM locked l JOIN input i ON i.ord = l.ord"
         "   WHERE t.pool = l.pool AND t.tenant = l.tenant AND t.id = l.id"
         "     AND t.token = i.token AND t.lease_until > now()"
         "  RETURNING i.ord"
         ")"
         "SELECT ord FROM extended",
         5},

    /* stats: $1 pool, $2 now_ms -> items, waiting, oldest due_ms (NULL
     * when none). Reads only, one snapshot. Plans (migrations 0004,
     * 0007): items and the due count are index-only range scans of
     * aw_state_due_pool_due (O(rows of the pool) and O(due rows), a few ms
     * per 100k entries); the live leases are counted on the partial index
     * aw_state_due_leased (only rows ever leased and not yet done: about
     * replicas x batch_size); the oldest is the first row of the due-ordered
     * range that is not leased (as a take finds it). Waiting is "due"
     * minus "due and leased": the filter on lease_until would otherwise
     * fetch every due row from the heap. */
    [AW_PG_DUE_STATS] = {"aw_due_stats",
                         "SELECT (SELECT count(*) FROM aw_state_due WHERE pool = $1::bytea), "
                         "  (SELECT count(*) FROM aw_state_due "
                         "    WHERE pool = $1::bytea AND due_ms <= $2::bigint) "
                         "  - (SELECT count(*) FROM aw_state_due "
                         "      WHERE pool = $1::bytea AND lease_until > now() "
                         "        AND due_ms <= $2::bigint), "
                         "  (SELECT due_ms FROM aw_state_due "
                         "    WHERE pool = $1::bytea AND due_ms <= $2::bigint "
                         "      AND (lease_until IS NULL OR lease_until <= now()) "
                         "    ORDER BY due_ms LIMIT 1)",
                         2},

    /* Reaper chunks: $1 rows at most, $2 grace ms (rows must have expired
     * that long ago). SKIP LOCKED: a reaper never waits for a worker, nor
     * for another process's reaper. The expiry is checked again on the row
     * actually deleted, so a row made live meanwhile (a set, a takeover)
     * survives. */
#define REAP(table)                                                                          \
    "DELETE FROM " table " WHERE ctid = ANY (ARRAY("                                         \
    "  SELECT ctid FROM " table                                                              \
    "   WHERE expires_at <= now() - $2::bigint * interval '1 millisecond'"                   \
    "   LIMIT $1::bigint FOR UPDATE SKIP LOCKED))"                                           \
    " AND expires_at <= now() - $2::bigint * interval '1 millisecond'"
    [AW_PG_REAP_VALUES] = {"aw_reap_values", REAP("aw_state_values"), 2},
    [AW_PG_REAP_LOCKS] = {"aw_reap_locks", REAP("aw_state_locks"), 2},
    [AW_PG_REAP_DEDUP] = {"aw_reap_dedup", REAP("aw_state_dedup"), 2},
#undef REAP
};

const aw_pg_stmt_def *aw_pg_stmt_get(aw_pg_stmt id)
{
    return id < AW_PG_STMT_COUNT ? &stmts[id] : NULL;
}
