/* The state conformance suite against a real PostgreSQL, plus what only the
 * PostgreSQL backend can be asked.
 *
 * Needs AW_TEST_POSTGRES_URL (scripts/test-servers.sh start DIR writes it to
 * DIR/env); without it the program says why and exits 77 (skipped).
 *
 *  0. the migrations, through the driver's migrate slot (the code
 *     `acteon-worker migrate` runs), into the database's default schema;
 *  1. the suite with a 10 ms reaper deleting expired rows while the tests
 *     run (values at once, locks and dedup rows after their grace);
 *  2. the suite again without a reaper and with the cross-process group (3
 *     forked processes race for 1,000 identities): forking needs a process
 *     without other threads, and the reaper is one;
 *  3. PostgreSQL specifics: migrate twice, concurrent migrates, a tampered
 *     checksum, a missing or old schema, reconnect after
 *     pg_terminate_backend, statement_timeout, the reaper and its grace,
 *     one statement per batch, duplicates inside a batch (same results as
 *     the memory backend), non-UTF-8 keys, scans across pages, the error
 *     mapping, bad and unreachable URLs.
 *
 * A plain libpq connection ("admin") plays the operator. Tests that need a
 * schema of their own create one named awt_<random> and drop it after;
 * their backends reach it through ?options=-csearch_path%3D<schema>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef AW_WITH_STATE_POSTGRES

int main(void)
{
    printf("SKIP: the postgres state backend is not compiled in "
           "(cmake -DWITH_STATE_POSTGRES=ON)\n");
    return 77;
}

#else

#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "backends/postgres/pg_conn.h"
#include "backends/postgres/pg_migrate.h"
#include "backends/state/postgres/pg_sql.h"
#include "backends/state/postgres/pg_state.h"
#include "backends/state/state.h"
#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "common/aw_key.h"
#include "suite_pg_admin.h"
#include "suite_state.h"
#include "suite_util.h"

#define WAIT_MS 10000 /* bound on every wait for a condition */
#define POLL_MS 5

static const char *g_url;    /* AW_TEST_POSTGRES_URL */
static char g_prefix[64];    /* per run, so reruns on one database never meet */

/* ---- helpers ------------------------------------------------------------- */

static aw_state_options pg_options(const char *url, int64_t reaper_ms, int command_timeout_ms)
{
    return (aw_state_options){.url = url,
                              .key_prefix = g_prefix,
                              .reaper_interval_ms = reaper_ms,
                              .command_timeout_ms = command_timeout_ms};
}

static aw_status try_new(const char *url, int64_t reaper_ms, int command_timeout_ms,
                         aw_state **st, aw_error *err)
{
    aw_state_options o = pg_options(url, reaper_ms, command_timeout_ms);
    return aw_state_new("postgres", &o, st, err);
}

static aw_state *new_pg(const char *url, int64_t reaper_ms)
{
    aw_state_options o = pg_options(url, reaper_ms, 0);
    return aw_ct_state_new("postgres", &o);
}

static aw_pg_stats stats_of(aw_state_session *ss)
{
    aw_pg_stats s;
    assert_ptr_equal(ss->driver, &aw_state_postgres_driver);
    aw_state_postgres_session_stats(ss->session, &s);
    return s;
}

static long long migration_rows(PGconn *adm, const char *schema)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.aw_schema_migrations", schema);
    return aw_pgt_admin_int(adm, sql, 0, NULL);
}

/* ---- migrations ----------------------------------------------------------- */

/* A second run applies nothing and changes nothing. */
static void test_migrate_twice(void **state)
{
    (void)state;
    PGconn *adm = aw_pgt_admin_open(g_url);
    char schema[48], url[512];
    aw_pgt_schema_create(adm, schema, sizeof(schema));
    aw_pgt_url_for(g_url, schema, url, sizeof(url));
    aw_error err = {0};
    int applied = -1;
    assert_int_equal(aw_ct_state_migrate("postgres", url, &applied, &err), AW_OK);
    assert_int_equal(applied, (int)aw_pg_migrations_count);
    assert_int_equal(migration_rows(adm, schema), (long long)aw_pg_migrations_count);
    applied = -1;
    assert_int_equal(aw_ct_state_migrate("postgres", url, &applied, &err), AW_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(migration_rows(adm, schema), (long long)aw_pg_migrations_count);
    /* And the schema serves a backend. */
    aw_state *st = new_pg(url, -1);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_state_key k = aw_ct_key("mig", "kv", "k");
    uint64_t v = 0;
    assert_int_equal(aw_state_set(ss, &k, "x", 1, 0, &v, &err), AW_OK);
    assert_int_equal(v, 1);
    aw_state_session_close(ss);
    aw_state_destroy(st);
    aw_pgt_schema_drop(adm, schema);
    PQfinish(adm);
}

#define MIGRATE_THREADS 3

typedef struct migrate_thread {
    const char *url;
    pthread_barrier_t *start;
    aw_status rc;
    int applied;
    aw_error err;
} migrate_thread;

static void *migrate_main(void *arg)
{
    migrate_thread *t = arg;
    pthread_barrier_wait(t->start);
    t->rc = aw_ct_state_migrate("postgres", t->url, &t->applied, &t->err);
    return NULL;
}

/* Concurrent migrates: all succeed, each migration is applied once. */
static void test_migrate_concurrent(void **state)
{
    (void)state;
    PGconn *adm = aw_pgt_admin_open(g_url);
    char schema[48], url[512];
    aw_pgt_schema_create(adm, schema, sizeof(schema));
    aw_pgt_url_for(g_url, schema, url, sizeof(url));
    pthread_barrier_t start;
    pthread_t tid[MIGRATE_THREADS];
    migrate_thread t[MIGRATE_THREADS];
    assert_int_equal(pthread_barrier_init(&start, NULL, MIGRATE_THREADS), 0);
    for (int i = 0; i < MIGRATE_THREADS; i++) {
        t[i] = (migrate_thread){.url = url, .start = &start};
        assert_int_equal(pthread_create(&tid[i], NULL, migrate_main, &t[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < MIGRATE_THREADS; i++) {
        pthread_join(tid[i], NULL);
        if (t[i].rc != AW_OK)
            fail_msg("migrate thread %d: %s (%s)", i, aw_status_name(t[i].rc), t[i].err.msg);
        total += t[i].applied;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(total, (int)aw_pg_migrations_count);
    assert_int_equal(migration_rows(adm, schema), (long long)aw_pg_migrations_count);
    aw_pgt_schema_drop(adm, schema);
    PQfinish(adm);
}

/* An applied migration whose file changed is refused, naming the file;
 * nothing is applied then. */
static void test_migrate_tampered_checksum(void **state)
{
    (void)state;
    PGconn *adm = aw_pgt_admin_open(g_url);
    char schema[48], url[512], sql[300];
    aw_pgt_schema_create(adm, schema, sizeof(schema));
    aw_pgt_url_for(g_url, schema, url, sizeof(url));
    aw_error err = {0};
    int applied = 0;
    assert_int_equal(aw_ct_state_migrate("postgres", url, &applied, &err), AW_OK);
    snprintf(sql, sizeof(sql),
             "UPDATE %s.aw_schema_migrations SET checksum = repeat('0', 64) WHERE version = %d",
             schema, aw_pg_migrations[0].version);
    aw_pgt_admin_sql(adm, sql);
    assert_int_equal(aw_ct_state_migrate("postgres", url, &applied, &err), AW_PERMANENT);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err.msg, aw_pg_migrations[0].file));
    assert_non_null(strstr(err.msg, "checksum"));
    /* A version this binary does not know (a newer binary migrated) is
     * accepted as it is. */
    snprintf(sql, sizeof(sql),
             "UPDATE %s.aw_schema_migrations SET checksum = '%s' WHERE version = %d; "
             "INSERT INTO %s.aw_schema_migrations (version, name, checksum) "
             "VALUES (999999, '999999_future.sql', 'abc')",
             schema, aw_pg_migrations[0].sha256, aw_pg_migrations[0].version, schema);
    aw_pgt_admin_sql(adm, sql);
    assert_int_equal(aw_ct_state_migrate("postgres", url, &applied, &err), AW_OK);
    assert_int_equal(applied, 0);
    aw_pgt_schema_drop(adm, schema);
    PQfinish(adm);
}

/* The worker never migrates: a missing or old schema fails create() with
 * the command to run; a schema dropped under a running session makes its
 * calls fail saying the same. */
static void test_missing_schema(void **state)
{
    (void)state;
    PGconn *adm = aw_pgt_admin_open(g_url);
    char schema[48], url[512], sql[300];
    aw_pgt_schema_create(adm, schema, sizeof(schema));
    aw_pgt_url_for(g_url, schema, url, sizeof(url));
    aw_state *st = NULL;
    aw_error err = {0};
    assert_int_equal(try_new(url, -1, 0, &st, &err), AW_CONFIG);
    assert_null(st);
    assert_non_null(strstr(err.msg, "acteon-worker migrate -c FILE"));
    /* Older: the table exists, the needed version is not recorded. */
    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s.aw_schema_migrations (version integer PRIMARY KEY, name text, "
             "checksum text, applied_at timestamptz)",
             schema);
    aw_pgt_admin_sql(adm, sql);
    assert_int_equal(try_new(url, -1, 0, &st, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "version 0"));
    assert_non_null(strstr(err.msg, "acteon-worker migrate -c FILE"));
    aw_pgt_schema_drop(adm, schema);

    aw_pgt_schema_create(adm, schema, sizeof(schema));
    aw_pgt_url_for(g_url, schema, url, sizeof(url));
    assert_int_equal(aw_ct_state_migrate("postgres", url, NULL, &err), AW_OK);
    st = new_pg(url, -1);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_state_key k = aw_ct_key("gone", "kv", "k");
    assert_int_equal(aw_state_set(ss, &k, "x", 1, 0, NULL, &err), AW_OK);
    aw_pgt_schema_drop(adm, schema);
    assert_int_equal(aw_state_set(ss, &k, "x", 1, 0, NULL, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "acteon-worker migrate"));
    aw_state_session_close(ss);
    aw_state_destroy(st);
    PQfinish(adm);
}

/* ---- connections ------------------------------------------------------------ */

/* The server ends the session's backend (pg_terminate_backend: 57P01, as a
 * restart or failover would): the next call fails AW_TRANSIENT (or already
 * succeeds on a new connection), the one after succeeds, with the data
 * intact and the statements prepared again. */
static void test_reconnect_after_terminate(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "kill-");
    aw_state *st = new_pg(g_url, -1);
    aw_state_session *ss = aw_ct_state_session(st);
    PGconn *adm = aw_pgt_admin_open(g_url);
    aw_error err = {0};
    aw_state_key k = aw_ct_key(ns, "kv", "k");
    assert_int_equal(aw_state_set(ss, &k, "before", 6, 0, NULL, &err), AW_OK);
    int pid = aw_state_postgres_session_pid(ss->session);
    assert_true(pid > 0);
    char p[16];
    snprintf(p, sizeof(p), "%d", pid);
    const char *params[1] = {p};
    assert_int_equal(aw_pgt_admin_int(adm, "SELECT pg_terminate_backend($1::integer)::int", 1, params),
                     1);
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    while (!aw_pgt_backend_gone(adm, pid)) {
        assert_true(aw_mono_now_ms() < deadline);
        aw_sleep_ms(POLL_MS); /* poll pacing */
    }
    aw_state_value v = {0};
    aw_status rc = aw_state_get(ss, &k, &v, &err);
    if (rc != AW_OK) {
        assert_int_equal(rc, AW_TRANSIENT);
        assert_true(err.retriable);
        printf("[   INFO   ] first call after the kill: %s\n", err.msg);
    }
    aw_state_value_clear(&v);
    assert_int_equal(aw_state_get(ss, &k, &v, &err), AW_OK);
    assert_memory_equal(v.data, "before", 6);
    aw_state_value_clear(&v);
    assert_int_not_equal(aw_state_postgres_session_pid(ss->session), pid);
    assert_int_equal(stats_of(ss).connects, 2);
    /* Every kind of statement works on the new connection. */
    aw_claim c = {.key = aw_ct_key(ns, "dedup", "d"), .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(ss, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    PQfinish(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* A statement stuck behind a lock ends at command_timeout_ms (the server's
 * statement_timeout) with AW_TRANSIENT, and the connection stays usable. */
static void test_statement_timeout(void **state)
{
    (void)state;
    PGconn *adm = aw_pgt_admin_open(g_url);
    char schema[48], url[512], sql[200];
    aw_pgt_schema_create(adm, schema, sizeof(schema));
    aw_pgt_url_for(g_url, schema, url, sizeof(url));
    aw_error err = {0};
    assert_int_equal(aw_ct_state_migrate("postgres", url, NULL, &err), AW_OK);
    aw_state *st = NULL;
    assert_int_equal(try_new(url, -1, 300, &st, &err), AW_OK);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_state_key k = aw_ct_key("timeout", "kv", "k");
    assert_int_equal(aw_state_set(ss, &k, "a", 1, 0, NULL, &err), AW_OK);
    snprintf(sql, sizeof(sql), "BEGIN; LOCK TABLE %s.aw_state_values IN ACCESS EXCLUSIVE MODE",
             schema);
    aw_pgt_admin_sql(adm, sql);
    int64_t t0 = aw_mono_now_ms();
    assert_int_equal(aw_state_set(ss, &k, "b", 1, 0, NULL, &err), AW_TRANSIENT);
    int64_t took = aw_mono_now_ms() - t0;
    printf("[   INFO   ] blocked set ended after %" PRId64 " ms: %s\n", took, err.msg);
    assert_true(took >= 250 && took < 300 + AW_PG_CLIENT_SLACK_MS);
    assert_non_null(strstr(err.msg, "57014"));
    aw_pgt_admin_sql(adm, "ROLLBACK");
    uint64_t v = 0;
    assert_int_equal(aw_state_set(ss, &k, "c", 1, 0, &v, &err), AW_OK);
    assert_int_equal(v, 2); /* the timed-out write left nothing behind */
    assert_int_equal(stats_of(ss).connects, 1);
    aw_state_session_close(ss);
    aw_state_destroy(st);
    aw_pgt_schema_drop(adm, schema);
    PQfinish(adm);
}

/* Nothing listens: create() still succeeds (the worker retries sessions),
 * a session fails fast with AW_TRANSIENT. */
static void test_unreachable_server(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    char url[96];
    snprintf(url, sizeof(url), "postgres://postgres@127.0.0.1:%d/acteon_test", ntohs(a.sin_port));
    aw_state *st = new_pg(url, -1);
    aw_state_session *ss = NULL;
    aw_error err = {0};
    int64_t t0 = aw_mono_now_ms();
    assert_int_equal(aw_state_session_open(st, &ss, &err), AW_TRANSIENT);
    assert_true(err.retriable);
    assert_true(aw_mono_now_ms() - t0 < 2000);
    assert_null(ss);
    aw_state_destroy(st);
    close(fd);
}

/* A malformed URL is a configuration error that never repeats a password. */
static void test_bad_url(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "",
        "postgres://u:sekret@127.0.0.1:1/db?no_such_param=1",
        "postgres://u:sekret@127.0.0.1:1/db?sslmode=%zz",
        "postgres://u:sekret@[::1/db",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        aw_state *st = NULL;
        aw_error err = {0};
        assert_int_equal(try_new(urls[i], -1, 0, &st, &err), AW_CONFIG);
        assert_null(st);
        assert_null(strstr(err.msg, "sekret"));
    }
    aw_state *st = NULL;
    aw_error err = {0};
    assert_int_equal(try_new(g_url, -1, AW_PG_MAX_COMMAND_TIMEOUT_MS + 1, &st, &err), AW_CONFIG);
}

/* ---- reaper ------------------------------------------------------------------ */

/* Rows of table whose key starts with the stored-key prefix of
 * (ns, "tenant", kind). */
static long long rows_with_prefix(PGconn *adm, const char *table, const char *col,
                                  const char *ns, const char *kind)
{
    aw_buf pfx = {0};
    assert_int_equal(aw_buf_puts(&pfx, g_prefix), 0);
    assert_int_equal(aw_key_encode(&pfx, ns, "tenant", kind, ""), 0);
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE substring(%s FROM 1 FOR $1) = $2",
             table, col);
    char len[16];
    snprintf(len, sizeof(len), "%zu", pfx.len);
    const char *values[2] = {len, pfx.data};
    int lengths[2] = {0, (int)pfx.len};
    int formats[2] = {0, 1};
    PGresult *r = PQexecParams(adm, sql, 2, NULL, values, lengths, formats, 0);
    aw_buf_free(&pfx);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        PQclear(r);
        fail_msg("count %s: %s", table, msg);
    }
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

static bool wait_rows(PGconn *adm, const char *table, const char *col, const char *ns,
                      const char *kind, long long want)
{
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    while (rows_with_prefix(adm, table, col, ns, kind) != want) {
        if (aw_mono_now_ms() >= deadline)
            return false;
        aw_sleep_ms(POLL_MS); /* poll pacing, not synchronisation */
    }
    return true;
}

static bool wait_sweeps(aw_state *st, uint64_t after)
{
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    while (aw_state_postgres_reaper_sweeps(st->backend) <= after) {
        if (aw_mono_now_ms() >= deadline)
            return false;
        aw_sleep_ms(POLL_MS);
    }
    return true;
}

/* Expired values go at the next sweep; expired locks, leases and done
 * records stay for the grace period (fencing tokens, pg_reaper.h), then go
 * too; tokens keep growing after their rows were deleted. */
static void test_reaper(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "reap-");
    aw_state *st = new_pg(g_url, 20);
    assert_true(aw_state_postgres_has_reaper(st->backend));
    aw_state_session *ss = aw_ct_state_session(st);
    PGconn *adm = aw_pgt_admin_open(g_url);
    aw_error err = {0};
    for (int i = 0; i < 300; i++) {
        char id[16];
        snprintf(id, sizeof(id), "gone-%d", i);
        aw_state_key k = aw_ct_key(ns, "kv", id);
        assert_int_equal(aw_state_set(ss, &k, "v", 1, 30, NULL, &err), AW_OK);
    }
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "kept-%d", i);
        aw_state_key k = aw_ct_key(ns, "kv", id);
        assert_int_equal(aw_state_set(ss, &k, "v", 1, 0, NULL, &err), AW_OK);
    }
    aw_state_key lk = aw_ct_key(ns, "lock", "l"), dk = aw_ct_key(ns, "dedup", "d"),
                 done = aw_ct_key(ns, "dedup", "done");
    uint64_t t1 = 0, t2 = 0;
    assert_int_equal(aw_state_lock_acquire(ss, &lk, 30, &t1, &err), AW_OK);
    aw_claim c[2] = {{.key = dk, .lease_ms = 30}, {.key = done, .lease_ms = 60000}};
    assert_int_equal(aw_state_claim_batch(ss, c, 2, &err), AW_OK);
    aw_complete d = {.key = done, .token = c[1].token, .summary = "{}", .window_ms = 30};
    assert_int_equal(aw_state_complete_batch(ss, &d, 1, &err), AW_OK);
    assert_false(d.stale);

    assert_true(wait_rows(adm, "aw_state_values", "key", ns, "kv", 5));
    /* A full sweep after the values went: the lock and dedup rows, expired
     * for less than the grace, are still there. */
    uint64_t sweeps = aw_state_postgres_reaper_sweeps(st->backend);
    assert_true(wait_sweeps(st, sweeps + 1));
    assert_int_equal(rows_with_prefix(adm, "aw_state_locks", "name", ns, "lock"), 1);
    assert_int_equal(rows_with_prefix(adm, "aw_state_dedup", "key", ns, "dedup"), 2);
    aw_state_postgres_set_reap_grace_ms(st->backend, 0);
    assert_true(wait_rows(adm, "aw_state_locks", "name", ns, "lock", 0));
    assert_true(wait_rows(adm, "aw_state_dedup", "key", ns, "dedup", 0));

    assert_int_equal(aw_state_lock_acquire(ss, &lk, 0, &t2, &err), AW_OK);
    assert_true(t2 > t1);
    aw_claim again = {.key = dk, .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(ss, &again, 1, &err), AW_OK);
    assert_int_equal(again.result, AW_CLAIM_ACQUIRED);
    assert_true(again.token > c[0].token && again.token > t2);
    PQfinish(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* destroy wakes the reaper instead of waiting out its interval. */
static void test_destroy_is_immediate(void **state)
{
    (void)state;
    aw_state *st = new_pg(g_url, 3600 * 1000);
    int64_t t0 = aw_mono_now_ms();
    aw_state_destroy(st);
    assert_true(aw_mono_now_ms() - t0 < 1000);
}

/* ---- batches ------------------------------------------------------------------- */

/* claim_batch, lease_renew_batch and complete_batch of 100 items: one
 * prepared statement each (the session's count of PQsendQueryPrepared calls
 * and of round trips). */
static void test_one_statement_per_batch(void **state)
{
    (void)state;
    enum { N = 100 };
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "batch-");
    aw_state *st = new_pg(g_url, -1);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    aw_claim *c = calloc(N, sizeof(*c));
    aw_complete *d = calloc(N, sizeof(*d));
    char(*ids)[16] = calloc(N, sizeof(*ids));
    assert_non_null(c);
    assert_non_null(d);
    assert_non_null(ids);
    /* Warm up: the first use of each statement prepares it (once). */
    aw_claim w = {.key = aw_ct_key(ns, "dedup", "warm"), .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(ss, &w, 1, &err), AW_OK);
    aw_lease_renewal wr[2] = {{.key = w.key, .token = w.token},
                              {.key = aw_ct_key(ns, "dedup", "warm-absent"), .token = 1}};
    assert_int_equal(aw_state_lease_renew_batch(ss, wr, 2, 60000, &err), AW_OK);
    assert_false(wr[0].stale);
    assert_true(wr[1].stale);
    assert_int_equal(aw_state_lease_renew(ss, &w.key, w.token, 60000, &err), AW_OK); /* one */
    assert_int_equal(aw_state_lease_renew(ss, &w.key, w.token + 1, 60000, &err), AW_CONFLICT);
    aw_complete wd = {.key = w.key, .token = w.token, .summary = "{}", .window_ms = 60000};
    assert_int_equal(aw_state_complete_batch(ss, &wd, 1, &err), AW_OK);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "p%03d", i);
        c[i].key = aw_ct_key(ns, "dedup", ids[i]);
        c[i].lease_ms = 60000;
    }
    aw_pg_stats s0 = stats_of(ss);
    assert_int_equal(aw_state_claim_batch(ss, c, N, &err), AW_OK);
    aw_pg_stats s1 = stats_of(ss);
    assert_int_equal(s1.execs - s0.execs, 1);
    assert_int_equal(s1.round_trips - s0.round_trips, 1);
    /* lease_renew_batch of the N leases, one of them twice and one with a
     * wrong token first: one statement (the repeats are settled by the
     * first round), the wrong token stale. */
    aw_lease_renewal *r = calloc(N + 2, sizeof(*r));
    assert_non_null(r);
    r[0] = (aw_lease_renewal){.key = c[1].key, .token = c[1].token + 1000};
    for (int i = 0; i < N; i++)
        r[i + 1] = (aw_lease_renewal){.key = c[i].key, .token = c[i].token};
    r[N + 1] = r[N];
    assert_int_equal(aw_state_lease_renew_batch(ss, r, N + 2, 60000, &err), AW_OK);
    aw_pg_stats sr = stats_of(ss);
    assert_true(r[0].stale);
    for (int i = 1; i < N + 2; i++)
        assert_false(r[i].stale);
    free(r);
    /* c[1]'s wrong token went first, so its right one needed a second round
     * (a batch of one: the single-row statement). */
    assert_int_equal(sr.execs - s1.execs, 2);
    assert_int_equal(sr.round_trips - s1.round_trips, 2);
    for (int i = 0; i < N; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_ACQUIRED);
        d[i] = (aw_complete){.key = c[i].key,
                             .token = c[i].token,
                             .source = {.topic = "t", .partition = 1, .offset = i},
                             .summary = "{}",
                             .window_ms = 60000};
    }
    assert_int_equal(aw_state_complete_batch(ss, d, N, &err), AW_OK);
    aw_pg_stats s2 = stats_of(ss);
    assert_int_equal(s2.execs - sr.execs, 1);
    assert_int_equal(s2.round_trips - sr.round_trips, 1);
    for (int i = 0; i < N; i++)
        assert_false(d[i].stale);
    /* Claimed again: all DONE, still one statement. */
    assert_int_equal(aw_state_claim_batch(ss, c, N, &err), AW_OK);
    aw_pg_stats s3 = stats_of(ss);
    assert_int_equal(s3.execs - s2.execs, 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_DONE);
        assert_int_equal(c[i].done_offset, i);
        aw_claim_clear(&c[i]);
    }
    assert_int_equal(s3.prepares, 4); /* claim, renew (batch, one), complete: once each */
    printf("[   INFO   ] claim_batch(%d): %" PRIu64 " statement; lease_renew_batch(%d, one "
           "repeat after a wrong token): %" PRIu64 " statements; complete_batch(%d): %" PRIu64
           " statement; prepares on this connection: %" PRIu64 "\n",
           N, s1.execs - s0.execs, N + 2, sr.execs - s1.execs, N, s2.execs - sr.execs,
           s3.prepares);
    free(ids);
    free(d);
    free(c);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

typedef struct dup_outcome {
    aw_claim_result claim[6];
    int claim_token_ref[6]; /* index of the item whose token it shows, -1 */
    bool stale[5];
} dup_outcome;

/* One identity several times in one batch, run on any backend: what each
 * item gets, with tokens reduced to "same as item i". */
static void dup_scenario(const char *backend, const char *url, dup_outcome *out)
{
    aw_state_options o = {.url = url, .key_prefix = g_prefix, .reaper_interval_ms = -1};
    if (strcmp(backend, "memory") == 0)
        o.reaper_interval_ms = 0;
    aw_state *st = NULL;
    aw_error err = {0};
    assert_int_equal(aw_state_new(backend, &o, &st, &err), AW_OK);
    aw_state_session *ss = aw_ct_state_session(st);
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "dup-");
    aw_state_key a = aw_ct_key(ns, "dedup", "a"), b = aw_ct_key(ns, "dedup", "b"),
                 cc = aw_ct_key(ns, "dedup", "c");
    /* b is done before the batch. */
    aw_claim pre = {.key = b, .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(ss, &pre, 1, &err), AW_OK);
    aw_complete pd = {.key = b, .token = pre.token, .summary = "{\"b\":1}", .window_ms = 60000};
    assert_int_equal(aw_state_complete_batch(ss, &pd, 1, &err), AW_OK);
    aw_claim c[6] = {{.key = a, .lease_ms = 60000}, {.key = b, .lease_ms = 60000},
                     {.key = a, .lease_ms = 1000},  {.key = cc, .lease_ms = 60000},
                     {.key = b, .lease_ms = 60000}, {.key = a, .lease_ms = 60000}};
    assert_int_equal(aw_state_claim_batch(ss, c, 6, &err), AW_OK);
    for (int i = 0; i < 6; i++) {
        out->claim[i] = c[i].result;
        uint64_t t = c[i].result == AW_CLAIM_DONE ? c[i].done_token : c[i].token;
        out->claim_token_ref[i] = -1;
        for (int j = 0; j < 6; j++) {
            uint64_t tj = c[j].result == AW_CLAIM_DONE ? c[j].done_token : c[j].token;
            if (tj == t) {
                out->claim_token_ref[i] = j;
                break;
            }
        }
        if (c[i].result == AW_CLAIM_BUSY)
            assert_true(c[i].retry_after_ms > 0 && c[i].retry_after_ms <= 60000);
        if (c[i].result == AW_CLAIM_DONE)
            assert_string_equal(c[i].done_summary, "{\"b\":1}");
    }
    /* Completes: a twice with its token, c with a wrong then the right one. */
    aw_complete d[5] = {
        {.key = a, .token = c[0].token, .summary = "{\"a\":1}", .window_ms = 60000},
        {.key = a, .token = c[0].token, .summary = "{\"a\":2}", .window_ms = 60000},
        {.key = cc, .token = c[3].token + 1000, .summary = "{\"c\":0}", .window_ms = 60000},
        {.key = cc, .token = c[3].token, .summary = "{\"c\":1}", .window_ms = 60000},
        {.key = b, .token = pre.token, .summary = "{\"b\":2}", .window_ms = 60000},
    };
    assert_int_equal(aw_state_complete_batch(ss, d, 5, &err), AW_OK);
    for (int i = 0; i < 5; i++)
        out->stale[i] = d[i].stale;
    aw_claim check[2] = {{.key = a, .lease_ms = 60000}, {.key = cc, .lease_ms = 60000}};
    assert_int_equal(aw_state_claim_batch(ss, check, 2, &err), AW_OK);
    assert_int_equal(check[0].result, AW_CLAIM_DONE);
    assert_string_equal(check[0].done_summary, "{\"a\":1}");
    assert_int_equal(check[1].result, AW_CLAIM_DONE);
    assert_string_equal(check[1].done_summary, "{\"c\":1}");
    for (int i = 0; i < 6; i++)
        aw_claim_clear(&c[i]);
    aw_claim_clear(&check[0]);
    aw_claim_clear(&check[1]);
    aw_claim_clear(&pre);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* Duplicates inside one batch are handled deterministically, exactly as
 * the memory backend (which claims item by item) handles them. */
static void test_duplicates_in_batch(void **state)
{
    (void)state;
    dup_outcome pg, mem;
    memset(&pg, 0, sizeof(pg));
    memset(&mem, 0, sizeof(mem));
    dup_scenario("postgres", g_url, &pg);
    dup_scenario("memory", "", &mem);
    assert_memory_equal(&pg, &mem, sizeof(pg));
    /* And what that is: */
    assert_int_equal(pg.claim[0], AW_CLAIM_ACQUIRED);
    assert_int_equal(pg.claim[2], AW_CLAIM_BUSY);
    assert_int_equal(pg.claim_token_ref[2], 0);
    assert_int_equal(pg.claim[5], AW_CLAIM_BUSY);
    assert_int_equal(pg.claim[1], AW_CLAIM_DONE);
    assert_int_equal(pg.claim[4], AW_CLAIM_DONE);
    assert_false(pg.stale[0]);
    assert_true(pg.stale[1]);
    assert_true(pg.stale[2]);
    assert_false(pg.stale[3]);
    assert_true(pg.stale[4]);
}

/* ---- keys and scans -------------------------------------------------------- */

/* Keys are bytes: tenants and ids that are not UTF-8 work everywhere. */
static void test_non_utf8_keys(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "bytes-");
    aw_state *st = new_pg(g_url, -1);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    aw_state_key k = {.ns = ns, .tenant = "t\xff\xfe", .kind = "k\x80", .id = "id\xc3\x28"};
    aw_state_value v = {0};
    assert_int_equal(aw_state_set(ss, &k, "\xff", 1, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_get(ss, &k, &v, &err), AW_OK);
    assert_int_equal(v.len, 1);
    assert_int_equal((unsigned char)v.data[0], 0xff);
    aw_state_value_clear(&v);
    uint64_t t = 0;
    assert_int_equal(aw_state_lock_acquire(ss, &k, 60000, &t, &err), AW_OK);
    aw_claim c = {.key = k, .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(ss, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    aw_complete d = {.key = k,
                     .token = c.token,
                     .source = {.topic = "top\xff", .partition = 2, .offset = 9},
                     .summary = "sum\xfe",
                     .window_ms = 60000};
    assert_int_equal(aw_state_complete_batch(ss, &d, 1, &err), AW_OK);
    assert_false(d.stale);
    assert_int_equal(aw_state_claim_batch(ss, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_DONE);
    assert_string_equal(c.done_summary, "sum\xfe");
    assert_string_equal(c.done_topic, "top\xff");
    aw_claim_clear(&c);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

typedef struct page_scan {
    aw_state_session *ss;
    const char *ns;
    int n;
    int reads_ok;
    unsigned char seen[1300];
} page_scan;

/* Counts ids "p%04d" and, every 100th, calls back into the same session. */
static int page_cb(void *ud, const char *id, const char *value, size_t len)
{
    page_scan *p = ud;
    int i = atoi(id + 1);
    if (i >= 0 && i < (int)sizeof(p->seen))
        p->seen[i]++;
    p->n++;
    (void)value;
    (void)len;
    if (p->n % 100 == 0) {
        aw_state_key k = aw_ct_key(p->ns, "kv", id);
        aw_state_value v = {0};
        aw_error err = {0};
        if (aw_state_get(p->ss, &k, &v, &err) == AW_OK)
            p->reads_ok++;
        aw_state_value_clear(&v);
    }
    return 0;
}

/* A scan longer than a page returns every live key once, in pages that
 * leave the session free for the callback. */
static void test_scan_pages(void **state)
{
    (void)state;
    enum { N = 1203 };
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "pages-");
    aw_state *st = new_pg(g_url, -1);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof(id), "p%04d", i);
        aw_state_key k = aw_ct_key(ns, "kv", id);
        assert_int_equal(aw_state_set(ss, &k, "v", 1, 0, NULL, &err), AW_OK);
    }
    page_scan *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->ss = ss;
    p->ns = ns;
    aw_pg_stats s0 = stats_of(ss);
    assert_int_equal(aw_state_scan(ss, ns, "tenant", "kv", "p", page_cb, p, &err), AW_OK);
    aw_pg_stats s1 = stats_of(ss);
    assert_int_equal(p->n, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(p->seen[i], 1);
    assert_int_equal(p->reads_ok, N / 100);
    /* ceil(N / page) pages plus the gets from the callback. */
    assert_int_equal(s1.execs - s0.execs,
                     (N + AW_PG_SCAN_PAGE - 1) / AW_PG_SCAN_PAGE + N / 100);
    free(p);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* ---- errors ------------------------------------------------------------------- */

static void test_error_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *sqlstate;
        bool bad;
        aw_status want;
    } cases[] = {
        {"08006", false, AW_TRANSIENT}, /* connection_failure */
        {"08003", false, AW_TRANSIENT}, /* connection_does_not_exist */
        {"57P01", false, AW_TRANSIENT}, /* admin_shutdown */
        {"57P02", false, AW_TRANSIENT},
        {"57P03", false, AW_TRANSIENT},
        {"57014", false, AW_TRANSIENT}, /* statement_timeout */
        {"40001", false, AW_TRANSIENT},
        {"40P01", false, AW_TRANSIENT},
        {"55P03", false, AW_TRANSIENT},
        {"53300", false, AW_TRANSIENT},
        {"25006", false, AW_TRANSIENT},
        {"23505", false, AW_CONFLICT},
        {"23503", false, AW_PERMANENT},
        {"22P02", false, AW_PERMANENT},
        {"42P01", false, AW_PERMANENT},
        {"42501", false, AW_PERMANENT},
        {"XX000", false, AW_PERMANENT},
        {NULL, true, AW_TRANSIENT},     /* connection lost, no SQLSTATE */
        {"23505", true, AW_TRANSIENT},  /* a broken connection wins */
        {NULL, false, AW_INTERNAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_status got = aw_pg_error_status(cases[i].sqlstate, cases[i].bad);
        if (got != cases[i].want)
            fail_msg("%s (bad=%d) -> %s, want %s", cases[i].sqlstate ? cases[i].sqlstate : "NULL",
                     cases[i].bad, aw_status_name(got), aw_status_name(cases[i].want));
    }
}

/* Counters: exact int64 bounds, overflow refused without a change,
 * non-canonical decimals as the memory backend counts them, others refused. */
static void test_counter_exact(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "ctr-");
    aw_state *st = new_pg(g_url, -1);
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    aw_state_key k = aw_ct_key(ns, "kv", "big"), z = aw_ct_key(ns, "kv", "zeros"),
                 neg = aw_ct_key(ns, "kv", "neg"), sp = aw_ct_key(ns, "kv", "space");
    int64_t val = 0;
    aw_state_value v = {0};
    assert_int_equal(aw_state_set(ss, &k, "9223372036854775806", 19, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_increment(ss, &k, 1, 0, &val, &err), AW_OK);
    assert_true(val == INT64_MAX);
    assert_int_equal(aw_state_increment(ss, &k, 1, 0, &val, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "overflow"));
    assert_int_equal(aw_state_get(ss, &k, &v, &err), AW_OK);
    assert_string_equal(v.data, "9223372036854775807");
    assert_int_equal(v.version, 2);
    aw_state_value_clear(&v);
    assert_int_equal(aw_state_set(ss, &z, "007", 3, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_increment(ss, &z, 1, 0, &val, &err), AW_OK);
    assert_int_equal(val, 8);
    assert_int_equal(aw_state_set(ss, &neg, "-0", 2, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_increment(ss, &neg, -9223372036854775807LL, 0, &val, &err), AW_OK);
    assert_true(val == -INT64_MAX);
    assert_int_equal(aw_state_increment(ss, &neg, -1, 0, &val, &err), AW_OK);
    assert_true(val == INT64_MIN);
    assert_int_equal(aw_state_increment(ss, &neg, -1, 0, &val, &err), AW_PERMANENT);
    assert_int_equal(aw_state_set(ss, &sp, " 5", 2, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_increment(ss, &sp, 1, 0, &val, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "not a decimal integer"));
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

int main(void)
{
    g_url = aw_ct_server_url("AW_TEST_POSTGRES_URL");
    if (!g_url)
        return 77;
    aw_ct_run_prefix(g_prefix, sizeof(g_prefix));

    /* 0. The schema, as `acteon-worker migrate` makes it. */
    aw_error err = {0};
    int applied = 0;
    aw_status rc = aw_ct_state_migrate("postgres", g_url, &applied, &err);
    if (rc != AW_OK) {
        fprintf(stderr, "migrate: %s (%s)\n", aw_status_name(rc), err.msg);
        return 1;
    }
    printf("migrate: %d migration(s) applied\n", applied);

    /* 1. With a reaper racing the tests; 2. without, across processes. */
    aw_state_options opts = {.url = g_url, .key_prefix = g_prefix, .reaper_interval_ms = 10};
    int failed = aw_state_conformance_run_with("postgres", NULL, &opts, NULL, NULL);
    opts.reaper_interval_ms = -1;
    aw_state_conformance_options copts = {.cross_process = true};
    failed += aw_state_conformance_run_with("postgres", NULL, &opts, &copts, NULL);

    const struct CMUnitTest specifics[] = {
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_migrate_twice),
        cmocka_unit_test(test_migrate_concurrent),
        cmocka_unit_test(test_migrate_tampered_checksum),
        cmocka_unit_test(test_missing_schema),
        cmocka_unit_test(test_reconnect_after_terminate),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_unreachable_server),
        cmocka_unit_test(test_bad_url),
        cmocka_unit_test(test_reaper),
        cmocka_unit_test(test_destroy_is_immediate),
        cmocka_unit_test(test_one_statement_per_batch),
        cmocka_unit_test(test_duplicates_in_batch),
        cmocka_unit_test(test_non_utf8_keys),
        cmocka_unit_test(test_scan_pages),
        cmocka_unit_test(test_counter_exact),
    };
    failed += cmocka_run_group_tests_name("state[postgres] specifics", specifics, NULL, NULL);
    return failed ? 1 : 0;
}

#endif
