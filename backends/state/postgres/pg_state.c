/* The PostgreSQL state backend ("postgres"), on libpq.
 *
 *   state = { backend = "postgres";
 *             url = "postgres://acteon:secret@db.internal:5432/acteon?sslmode=verify-full";
 *             key_prefix = "acteon:"; };
 *
 * The URL is a libpq connection URI (or conninfo string), passed to libpq
 * as is: every libpq parameter works (sslmode, sslrootcert, several hosts
 * with target_session_attrs=read-write, options=-csearch_path%3Dacteon to
 * use a schema other than the first of search_path). The schema comes from
 * `acteon-worker migrate -c FILE` (pg_migrate.h); the worker never creates
 * or changes it and refuses to start when it is missing or older than this
 * build needs. Files: pg_sql (every statement), pg_state (this: driver,
 * values, locks), pg_dedup (claim/complete), pg_due (the due index),
 * pg_reaper; shared with the audit backend in backends/postgres/: pg_conn
 * (connection, errors), pg_params (parameters, arrays), pg_migrate.
 *
 * What it guarantees, honestly:
 *  - Against ONE primary, every promise of docs/design.md section 3 holds for
 *    all threads of all worker processes: each operation is one autocommit
 *    statement (ACID) whose read-check-write runs under the row lock of the
 *    key it touches (INSERT ... ON CONFLICT DO UPDATE, UPDATE ... WHERE, or
 *    SELECT ... FOR UPDATE in aw_state_cas), so check-and-set, versions, CAS,
 *    locks and the two-phase claim are atomic, and at most one claimer gets
 *    ACQUIRED per identity while its lease lives. Fencing tokens come from
 *    one sequence (see pg_reaper.h for why they strictly increase per name).
 *  - Durability is the server's: with synchronous_commit = on (the
 *    default) a statement that returned OK is in the primary's WAL on disk;
 *    with off, a primary crash can lose the last commits (up to three times
 *    wal_writer_delay, 600 ms by default): leases and done records, which
 *    lets those actions run again.
 *  - Failover: with asynchronous streaming replication, commits the standby
 *    had not received are lost when it is promoted: a lease (a second
 *    worker may claim and execute while the first still runs) or a done
 *    record (a redelivered message executes again). Fencing tokens handed
 *    out in that window may be handed out again by the promoted standby (its
 *    sequence state is as old as its WAL), so a provider may see a token
 *    repeat across such a failover. For "nothing executed twice" across a
 *    failover, run synchronous replication (synchronous_standby_names with
 *    synchronous_commit = on or remote_apply): an OK then means the standby
 *    has the commit, and the sequence record that preceded it, so nothing
 *    acknowledged is lost and tokens stay ordered. One gap remains even
 *    then: a commit whose wait for the standby was interrupted (a cancel,
 *    our client deadline dropping the connection) is visible on the primary
 *    but may be missing on the standby; the call reported an error, and a
 *    retried claim may then find its own lease (BUSY) or, after a failover,
 *    nothing. A connection to a standby (read-only, 25006) is dropped and
 *    reconnected: list every host in the URL with
 *    target_session_attrs=read-write.
 *  - A call that fails with AW_TRANSIENT after its statement was sent may
 *    or may not have been committed: a claim retried after such a failure
 *    can find its own lease and report BUSY until it expires.
 *
 * Clock: the server's now() only (statement start); worker clocks never
 * enter. Keys: bytea, key_prefix + common/aw_key.h encoding; plain values,
 * locks and dedup records live in separate tables, so a `set` can never
 * overwrite a lock or a lease. Scans are primary-key ranges (no LIKE).
 *
 * Connections: one PGconn per session (= per worker thread), never shared;
 * statements are prepared once per connection; statement_timeout =
 * command_timeout_ms. Reconnects: pg_conn.h. Growth: the reaper
 * (pg_reaper.h); reaper_interval_ms 0 = every AW_PG_DEFAULT_REAPER_MS,
 * < 0 = no reaper in this process (another replica's, or an external job,
 * must then purge). Poolers: needs session pooling (PgBouncer transaction
 * pooling drops named prepared statements). */
#include "backends/state/postgres/pg_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/postgres/pg_internal.h"
#include "backends/postgres/pg_migrate.h"
#include "backends/state/postgres/pg_reaper.h"
#include "common/aw_key.h"
#include "common/aw_log.h"
#include "common/aw_session.h"

/* ---- helpers shared with pg_dedup.c --------------------------------------- */

aw_status aw_pgs_nomem(aw_error *err) { return aw_error_set(err, AW_NOMEM, "out of memory"); }

int aw_pgs_key_append(const pg_backend *b, aw_buf *out, const aw_state_key *k, bool dedup)
{
    const char *kind = dedup ? AW_PG_DEDUP_KIND : k ? k->kind : NULL;
    if (!k || !k->ns || !k->tenant || !kind)
        return -2;
    if (aw_buf_append(out, b->prefix, b->prefix_len) ||
        aw_key_encode(out, k->ns, k->tenant, kind, k->id))
        return -1;
    return 0;
}

aw_status aw_pgs_key_params(pg_session *s, const aw_state_key *k, bool dedup, aw_pg_params *p,
                        aw_error *err)
{
    aw_buf_reset(&s->key);
    int rc = aw_pgs_key_append(s->b, &s->key, k, dedup);
    if (rc == -2)
        return aw_error_set(err, AW_PERMANENT,
                            "state key: namespace, tenant and kind are required");
    if (rc)
        return aw_pgs_nomem(err);
    aw_pg_params_init(p);
    aw_pg_param_bytes(p, s->key.data, s->key.len);
    return AW_OK;
}

/* ---- create / destroy / sessions ------------------------------------------ */

static void pg_destroy(void *backend)
{
    pg_backend *b = backend;
    if (!b)
        return;
    aw_pg_reaper_stop(b->reaper); /* before cfg goes: the reaper reads it */
    aw_pg_config_clear(&b->cfg);
    free(b->prefix);
    free(b);
}

static aw_status pg_create(const aw_state_options *opts, void **out, aw_error *err)
{
    *out = NULL;
    const char *prefix = opts && opts->key_prefix ? opts->key_prefix : "";
    int64_t interval = opts ? opts->reaper_interval_ms : 0;
    aw_pg_conn probe;
    pg_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return aw_pgs_nomem(err);
    aw_status rc = aw_pg_config_init(&b->cfg, "state", opts ? opts->url : NULL,
                                     opts ? opts->connect_timeout_ms : 0,
                                     opts ? opts->command_timeout_ms : 0, err);
    if (rc != AW_OK)
        goto fail;
    b->prefix = strdup(prefix);
    b->prefix_len = strlen(prefix);
    if (!b->prefix) {
        rc = aw_pgs_nomem(err);
        goto fail;
    }
    /* Check the schema once, so a database nobody migrated fails the
     * start-up with the command to run, and so does a refused TLS check
     * or password (aw_pg_conn_probe). An unreachable server does not:
     * sessions retry (the worker keeps consumption paused meanwhile). */
    aw_pg_conn_init(&probe, &b->cfg, -1);
    rc = aw_pg_conn_probe(&probe, "state", err);
    if (rc == AW_OK)
        rc = aw_pg_schema_check(&probe, err);
    if (rc == AW_TRANSIENT) {
        AW_WARN("state.postgres", "%s (continuing: sessions will retry)",
                err ? err->msg : "postgres not reachable");
        rc = AW_OK;
    }
    aw_pg_conn_drop(&probe);
    if (rc != AW_OK)
        goto fail;
    /* Last step: the reaper is the first other thread to see b. */
    if (interval >= 0) {
        rc = aw_pg_reaper_start(&b->cfg, interval, &b->reaper, err);
        if (rc != AW_OK)
            goto fail;
    }
    *out = b;
    return AW_OK;

fail:
    pg_destroy(b);
    return rc;
}

static void pg_session_close(void *session)
{
    pg_session *s = session;
    if (!s)
        return;
    aw_pg_conn_drop(&s->conn);
    aw_buf_free(&s->key);
    aw_buf_free(&s->keys);
    for (size_t i = 0; i < PG_BATCH_ARRAYS; i++)
        aw_buf_free(&s->arr[i]);
    free(s->key_off);
    free(s->key_len);
    free(s);
}

static aw_status pg_session_connect(void *session, aw_error *err)
{
    pg_session *s = session;
    aw_pg_conn_init(&s->conn, &s->b->cfg, -1);
    return aw_pg_conn_connect(&s->conn, err);
}

static aw_status pg_session_open(void *backend, void **session, aw_error *err)
{
    return aw_session_open(backend, sizeof(pg_session), pg_session_connect,
                           pg_session_close, session, err);
}

/* ---- migrations ---------------------------------------------------------- */

static aw_status pg_migrate(const aw_state_options *opts, int *applied, aw_error *err)
{
    aw_pg_config cfg;
    /* No statement_timeout: building an index on a large table may take
     * long; waits for locks are bounded by lock_timeout instead. */
    aw_status rc = aw_pg_config_init(&cfg, "state", opts ? opts->url : NULL,
                                     opts ? opts->connect_timeout_ms : 0, AW_PG_NO_TIMEOUT, err);
    if (rc == AW_OK)
        rc = aw_pg_migrate(&cfg, applied, err);
    aw_pg_config_clear(&cfg);
    return rc;
}

/* ---- generic key/value operations -------------------------------------- */

/* Run statement id with p; *res as aw_pg_exec. */
static aw_status run(pg_session *s, aw_pg_stmt id, const aw_pg_params *p, PGresult **res,
                     aw_error *err)
{
    return aw_pg_exec(&s->conn, id, p, res, err);
}

aw_status aw_pgs_run_key(pg_session *s, aw_pg_stmt id, const aw_state_key *k,
                        const aw_pgs_args *a, PGresult **res, aw_error *err)
{
    aw_pg_params p;
    aw_status rc = aw_pgs_key_params(s, k, a->dedup, &p, err);
    if (rc != AW_OK)
        return rc;
    if (a->first)
        aw_pg_param_i64(&p, *a->first);
    if (a->with_val)
        aw_pg_param_bytes(&p, a->val, a->len);
    if (a->with_ttl)
        aw_pg_param_ttl(&p, a->ttl_ms);
    return run(s, id, &p, res, err);
}

static aw_status pg_check_and_set(void *ss, const aw_state_key *k, const void *val, size_t len,
                                  int64_t ttl_ms, bool *written, aw_error *err)
{
    PGresult *r = NULL;
    *written = false;
    aw_pgs_args a = {.val = val, .len = len, .with_val = true, .with_ttl = true, .ttl_ms = ttl_ms};
    aw_status rc = aw_pgs_run_key(ss, AW_PG_INSERT, k, &a, &r, err);
    if (rc != AW_OK)
        return rc;
    *written = PQntuples(r) == 1;
    PQclear(r);
    return AW_OK;
}

static aw_status pg_get(void *ss, const aw_state_key *k, aw_state_value *out, aw_error *err)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof(*out));
    aw_status rc = aw_pgs_run_key(ss, AW_PG_GET, k, &(aw_pgs_args){0}, &r, err);
    if (rc != AW_OK)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return aw_error_set(err, AW_NOT_FOUND, "key not found");
    }
    size_t len = (size_t)PQgetlength(r, 0, 0);
    out->data = aw_memdup(PQgetvalue(r, 0, 0), len);
    out->len = len;
    out->version = (uint64_t)aw_pg_get_i64(r, 0, 1);
    PQclear(r);
    if (!out->data) {
        memset(out, 0, sizeof(*out));
        return aw_pgs_nomem(err);
    }
    return AW_OK;
}

static aw_status pg_set(void *ss, const aw_state_key *k, const void *val, size_t len,
                        int64_t ttl_ms, uint64_t *version, aw_error *err)
{
    PGresult *r = NULL;
    aw_pgs_args a = {.val = val, .len = len, .with_val = true, .with_ttl = true, .ttl_ms = ttl_ms};
    aw_status rc = aw_pgs_run_key(ss, AW_PG_SET, k, &a, &r, err);
    if (rc != AW_OK)
        return rc;
    if (version)
        *version = (uint64_t)aw_pg_get_i64(r, 0, 0);
    PQclear(r);
    return AW_OK;
}

static aw_status pg_del(void *ss, const aw_state_key *k, bool *existed, aw_error *err)
{
    PGresult *r = NULL;
    *existed = false;
    aw_status rc = aw_pgs_run_key(ss, AW_PG_DELETE, k, &(aw_pgs_args){0}, &r, err);
    if (rc != AW_OK)
        return rc;
    /* bool, binary: one byte. */
    *existed = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0] == 1;
    PQclear(r);
    return AW_OK;
}

/* The decimal text the increment statement returned, as int64. */
static bool parse_i64(const char *p, int len, int64_t *out)
{
    char buf[24];
    if (len <= 0 || len >= (int)sizeof(buf))
        return false;
    memcpy(buf, p, (size_t)len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || end != buf + len)
        return false;
    *out = (int64_t)v;
    return true;
}

static aw_status pg_increment(void *ss, const aw_state_key *k, int64_t delta, int64_t ttl_ms,
                              int64_t *value, aw_error *err)
{
    PGresult *r = NULL;
    aw_pgs_args a = {.first = &delta, .with_ttl = true, .ttl_ms = ttl_ms};
    aw_status rc = aw_pgs_run_key(ss, AW_PG_INCREMENT, k, &a, &r, err);
    if (rc != AW_OK)
        return rc;
    bool ok = PQntuples(r) == 1 && parse_i64(PQgetvalue(r, 0, 0), PQgetlength(r, 0, 0), value);
    PQclear(r);
    return ok ? AW_OK
              : aw_error_set(err, AW_INTERNAL, "increment: the server returned no number");
}

static aw_status pg_compare_and_swap(void *ss, const aw_state_key *k, uint64_t expected,
                                     const void *val, size_t len, int64_t ttl_ms,
                                     uint64_t *current, aw_error *err)
{
    PGresult *r = NULL;
    if (expected > (uint64_t)INT64_MAX) {
        /* No stored version can be that large: a mismatch whatever is there. */
        expected = (uint64_t)INT64_MAX;
    }
    int64_t exp = (int64_t)expected;
    aw_pgs_args a = {
        .first = &exp, .val = val, .len = len, .with_val = true, .with_ttl = true, .ttl_ms = ttl_ms};
    aw_status rc = aw_pgs_run_key(ss, AW_PG_CAS, k, &a, &r, err);
    if (rc != AW_OK)
        return rc;
    bool ok = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0] == 1;
    uint64_t cur = PQntuples(r) == 1 ? (uint64_t)aw_pg_get_i64(r, 0, 1) : 0;
    PQclear(r);
    /* On success *current is the new version, on conflict the stored one. */
    if (current)
        *current = cur;
    if (!ok)
        return aw_error_set(err, AW_CONFLICT,
                            "version mismatch: expected %" PRIu64 ", found %" PRIu64, expected,
                            cur);
    return AW_OK;
}

/* ---- scan --------------------------------------------------------------- */

/* The smallest byte string greater than every string starting with b:
 * drop trailing 0xff bytes, then add one to the last byte. -1 when there is
 * none (b all 0xff: cannot happen here, the encoded key has ':' in it). */
static int prefix_successor(aw_buf *b)
{
    while (b->len > 0 && (unsigned char)b->data[b->len - 1] == 0xff)
        b->len--;
    if (b->len == 0)
        return -1;
    b->data[b->len - 1] = (char)((unsigned char)b->data[b->len - 1] + 1);
    b->data[b->len] = '\0';
    return 0;
}

/* Pages of AW_PG_SCAN_PAGE rows in key order (keyset pagination: each page
 * starts after the last key of the one before). The callback runs between
 * statements, with the page's result in memory, so it may call into this
 * session. Not a snapshot across pages, which the contract allows. */
static aw_status pg_scan(void *ss, const char *ns, const char *tenant, const char *kind,
                         const char *prefix, aw_state_scan_fn fn, void *ud, aw_error *err)
{
    pg_session *s = ss;
    aw_state_key k = {.ns = ns, .tenant = tenant, .kind = kind, .id = ""};
    aw_buf lower = {0}, upper = {0};
    aw_status rc = AW_OK;
    int krc = aw_pgs_key_append(s->b, &lower, &k, false);
    size_t id_off = lower.len;
    if (krc == -2) {
        aw_buf_free(&lower);
        return aw_error_set(err, AW_PERMANENT,
                            "state key: namespace, tenant and kind are required");
    }
    if (krc || (prefix && aw_buf_puts(&lower, prefix)) ||
        aw_buf_append(&upper, lower.data, lower.len)) {
        rc = aw_pgs_nomem(err);
        goto out;
    }
    if (prefix_successor(&upper)) {
        rc = aw_error_set(err, AW_INTERNAL, "scan: no upper bound for the prefix");
        goto out;
    }
    bool after = false, stopped = false;
    while (!stopped) {
        aw_pg_params p;
        PGresult *r = NULL;
        aw_pg_params_init(&p);
        aw_pg_param_bytes(&p, lower.data, lower.len);
        aw_pg_param_bytes(&p, upper.data, upper.len);
        aw_pg_param_i64(&p, after ? 1 : 0);
        aw_pg_param_i64(&p, (int64_t)id_off);
        /* id_off travels as bigint; the statement casts to integer. */
        rc = run(s, AW_PG_SCAN, &p, &r, err);
        if (rc != AW_OK)
            break;
        int rows = PQntuples(r);
        char *id = NULL;
        for (int i = 0; i < rows && !stopped; i++) {
            free(id);
            id = aw_memdup(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
            if (!id) {
                rc = aw_pgs_nomem(err);
                stopped = true;
                break;
            }
            stopped = fn(ud, id, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1)) != 0;
        }
        if (!stopped && rows == AW_PG_SCAN_PAGE) {
            /* Next page: after base + the last id. */
            lower.len = id_off;
            if (aw_buf_puts(&lower, id)) {
                rc = aw_pgs_nomem(err);
                stopped = true;
            }
            after = true;
        } else {
            stopped = true;
        }
        free(id);
        PQclear(r);
    }
out:
    aw_buf_free(&lower);
    aw_buf_free(&upper);
    return rc;
}

/* ---- locks ---------------------------------------------------------------- */

static aw_status pg_lock_acquire(void *ss, const aw_state_key *k, int64_t ttl_ms,
                                 uint64_t *token, aw_error *err)
{
    PGresult *r = NULL;
    *token = 0;
    aw_pgs_args a = {.with_ttl = true, .ttl_ms = ttl_ms};
    aw_status rc = aw_pgs_run_key(ss, AW_PG_LOCK_ACQUIRE, k, &a, &r, err);
    if (rc != AW_OK)
        return rc;
    bool got = PQntuples(r) == 1;
    if (got)
        *token = (uint64_t)aw_pg_get_i64(r, 0, 0);
    PQclear(r);
    return got ? AW_OK : aw_error_set(err, AW_CONFLICT, "lock is held");
}

/* extend/release: one row back iff token held the live lock. */
static aw_status pg_lock_held_op(pg_session *s, aw_pg_stmt id, const aw_state_key *k,
                                 uint64_t token, int64_t ttl_ms, aw_error *err)
{
    PGresult *r = NULL;
    int64_t tok = (int64_t)token;
    aw_pgs_args a = {.first = &tok, .with_ttl = id == AW_PG_LOCK_EXTEND, .ttl_ms = ttl_ms};
    aw_status rc = aw_pgs_run_key(s, id, k, &a, &r, err);
    if (rc != AW_OK)
        return rc;
    bool held = PQntuples(r) == 1;
    PQclear(r);
    return held ? AW_OK : aw_error_set(err, AW_CONFLICT, "lock not held with this token");
}

static aw_status pg_lock_extend(void *ss, const aw_state_key *k, uint64_t token, int64_t ttl_ms,
                                aw_error *err)
{
    return pg_lock_held_op(ss, AW_PG_LOCK_EXTEND, k, token, ttl_ms, err);
}

static aw_status pg_lock_release(void *ss, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return pg_lock_held_op(ss, AW_PG_LOCK_RELEASE, k, token, 0, err);
}

/* ---- private hooks (pg_state.h) ----------------------------------------- */

void aw_state_postgres_session_stats(void *session, aw_pg_stats *out)
{
    const pg_session *s = session;
    *out = s->conn.stats;
}

int aw_state_postgres_session_pid(void *session)
{
    const pg_session *s = session;
    return aw_pg_conn_backend_pid(&s->conn);
}

bool aw_state_postgres_has_reaper(void *backend)
{
    return ((pg_backend *)backend)->reaper != NULL;
}

void aw_state_postgres_set_reap_grace_ms(void *backend, int64_t ms)
{
    aw_pg_reaper_set_grace_ms(((pg_backend *)backend)->reaper, ms);
}

uint64_t aw_state_postgres_reaper_sweeps(void *backend)
{
    return aw_pg_reaper_sweeps(((pg_backend *)backend)->reaper);
}

const aw_state_driver aw_state_postgres_driver = {
    .name = "postgres",
    .caps = AW_STATE_CAP_ATOMIC,
    .create = pg_create,
    .destroy = pg_destroy,
    .session_open = pg_session_open,
    .session_close = pg_session_close,
    .check_and_set = pg_check_and_set,
    .get = pg_get,
    .set = pg_set,
    .del = pg_del,
    .increment = pg_increment,
    .compare_and_swap = pg_compare_and_swap,
    .scan = pg_scan,
    .lock_acquire = pg_lock_acquire,
    .lock_extend = pg_lock_extend,
    .lock_release = pg_lock_release,
    .claim_batch = aw_pgs_claim_batch,
    .complete_batch = aw_pgs_complete_batch,
    .lease_renew_batch = aw_pgs_lease_renew_batch,
    .lease_release = aw_pgs_lease_release,
    .due_put = aw_pgs_due_put,
    .due_take = aw_pgs_due_take,
    .due_done = aw_pgs_due_done,
    .due_release = aw_pgs_due_release,
    .due_extend = aw_pgs_due_extend,
    .due_stats = aw_pgs_due_stats,
    .migrate = pg_migrate,
};
