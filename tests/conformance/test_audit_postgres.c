/* The audit conformance suite against a real PostgreSQL, plus what only the
 * PostgreSQL audit backend can be asked.
 *
 * Needs AW_TEST_POSTGRES_URL (scripts/test-servers.sh start DIR writes it to
 * DIR/env); without it the program says why and exits 77 (skipped).
 *
 *  0. the migrations, through the audit driver's migrate slot (the code
 *     `acteon-worker migrate` runs), into the database's default schema;
 *  1. the suite (tests/conformance/suite_audit.c), unchanged;
 *  2. PostgreSQL specifics: one statement per batch, reconnect after
 *     pg_terminate_backend, a missing or old schema names the migrate
 *     command, a bad record fails its whole batch (permanent, nothing
 *     stored), migrate through the audit slot is idempotent, and a
 *     throughput run that PRINTS records/s for 20,000 records in batches
 *     of 500 (never asserted: timing depends on the machine).
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
    printf("SKIP: the postgres audit backend is not compiled in "
           "(cmake -DWITH_STATE_POSTGRES=ON)\n");
    return 77;
}

#else

#include <inttypes.h>
#include <stdbool.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "backends/audit/audit.h"
#include "backends/audit/postgres/pg_audit.h"
#include "backends/postgres/pg_migrate.h"
#include "common/aw_clock.h"
#include "suite_audit.h"
#include "suite_pg_admin.h"
#include "suite_util.h"

#define WAIT_MS 10000 /* bound on every wait for a condition */
#define POLL_MS 5
#define DAY_MS (24 * 3600 * 1000LL)

static const char *g_url; /* AW_TEST_POSTGRES_URL */

/* ---- helpers ------------------------------------------------------------- */

static aw_status try_new(const char *url, aw_audit **a, aw_error *err)
{
    aw_audit_options o = {.url = url, .retention_ms = 7 * DAY_MS};
    return aw_audit_new("postgres", &o, a, err);
}

static aw_audit *new_pg(const char *url)
{
    aw_audit *a = NULL;
    aw_error err = {0};
    aw_status rc = try_new(url, &a, &err);
    if (rc != AW_OK)
        fail_msg("aw_audit_new(postgres): %s (%s)", aw_status_name(rc), err.msg);
    return a;
}

static aw_pg_stats stats_of(aw_audit_session *s)
{
    aw_pg_stats st;
    assert_ptr_equal(s->driver, &aw_audit_postgres_driver);
    aw_audit_postgres_session_stats(s->session, &st);
    return st;
}

static aw_status migrate_url(const char *url, int *applied, aw_error *err)
{
    aw_audit_options o = {.url = url};
    return aw_audit_postgres_driver.migrate(&o, applied, err);
}

/* Rows of aw_audit_records in namespace ns (default schema). */
static long long rows_in(PGconn *adm, const char *ns)
{
    const char *params[1] = {ns};
    return aw_pgt_admin_int(adm, "SELECT count(*) FROM aw_audit_records WHERE ns = $1", 1, params);
}

/* n owned records of namespace ns, ids "<topic>:0:<first + i>". */
static aw_audit_record *make_recs(const char *ns, int64_t first, size_t n)
{
    aw_audit_record *r = calloc(n, sizeof(*r));
    assert_non_null(r);
    int64_t now = aw_time_now_ms();
    char buf[256];
    for (size_t i = 0; i < n; i++) {
        int64_t off = first + (int64_t)i;
        aw_audit_record_id(buf, sizeof(buf), ns, 0, off);
        r[i].record_id = strdup(buf);
        snprintf(buf, sizeof(buf), "act-%" PRId64, off);
        r[i].action_id = strdup(buf);
        r[i].ns = strdup(ns);
        r[i].tenant = strdup("acme");
        r[i].provider = strdup(i % 2 ? "webhook" : "log");
        r[i].action_type = strdup("notify");
        snprintf(buf, sizeof(buf), "%s:acme:act-%" PRId64, ns, off);
        r[i].dedup_identity = strdup(buf);
        r[i].outcome = AW_OUTCOME_EXECUTED;
        r[i].details = strdup("{\"provider_status\":200,\"attempts\":1}");
        snprintf(buf, sizeof(buf),
                 "{\"offset\":%" PRId64 ",\"to\":\"someone@example.com\",\"body\":\"hello\"}",
                 off);
        r[i].payload = strdup(buf);
        r[i].metadata = strdup("{\"source\":\"test\"}");
        r[i].source_topic = strdup(ns);
        r[i].source_offset = off;
        r[i].worker_id = strdup("w-1");
        r[i].fencing_token = (uint64_t)off + 1;
        r[i].attempts = 1;
        r[i].completed_at_ms = now - 1000 + (int64_t)(i % 1000);
        r[i].dispatched_at_ms = r[i].completed_at_ms - 3;
        r[i].duration_ms = 3;
        r[i].expires_at_ms = now + 7 * DAY_MS;
        assert_non_null(r[i].record_id);
        assert_non_null(r[i].payload);
    }
    return r;
}

static void free_recs(aw_audit_record *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        aw_audit_record_clear(&r[i]);
    free(r);
}

static size_t append_ok(aw_audit_session *s, const aw_audit_record *r, size_t n)
{
    size_t inserted = 0;
    aw_error err = {0};
    aw_status rc = aw_audit_append_batch(s, r, n, &inserted, &err);
    if (rc != AW_OK)
        fail_msg("append_batch: %s (%s)", aw_status_name(rc), err.msg);
    return inserted;
}

/* ---- tests ----------------------------------------------------------------- */

/* A batch of 500 is one round trip (one prepared statement executed), new or
 * duplicate; the statement is prepared once per connection. */
static void test_one_statement_per_batch(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "awt.batch.");
    enum { N = 500 };
    aw_audit *a = new_pg(g_url);
    aw_audit_session *s = aw_ct_audit_session(a);
    aw_audit_record *r = make_recs(ns, 0, 2 * N);
    assert_int_equal(append_ok(s, r, N), N); /* prepares, then executes */
    aw_pg_stats before = stats_of(s);
    assert_int_equal(append_ok(s, r + N, N), N);
    aw_pg_stats after = stats_of(s);
    assert_int_equal(after.round_trips - before.round_trips, 1);
    assert_int_equal(after.execs - before.execs, 1);
    assert_int_equal(after.prepares, before.prepares);
    /* all duplicates: still one statement, nothing inserted */
    assert_int_equal(append_ok(s, r, 2 * N), 0);
    assert_int_equal(stats_of(s).round_trips - after.round_trips, 1);
    PGconn *adm = aw_pgt_admin_open(g_url);
    assert_int_equal(rows_in(adm, ns), 2 * N);
    PQfinish(adm);
    free_recs(r, 2 * N);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
}

/* A record the database refuses (details not JSON: SQLSTATE 22P02) fails
 * the whole batch, permanently, and stores none of it: a batch is one
 * statement, one transaction. */
static void test_bad_record_fails_whole_batch(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "awt.bad.");
    aw_audit *a = new_pg(g_url);
    aw_audit_session *s = aw_ct_audit_session(a);
    aw_audit_record *r = make_recs(ns, 0, 10);
    free(r[7].details);
    r[7].details = strdup("{not json");
    size_t inserted = 99;
    aw_error err = {0};
    assert_int_equal(aw_audit_append_batch(s, r, 10, &inserted, &err), AW_PERMANENT);
    assert_false(err.retriable);
    assert_int_equal(inserted, 0);
    assert_non_null(strstr(err.msg, "22P02"));
    /* a missing required field is refused before anything is sent */
    aw_pg_stats before = stats_of(s);
    free(r[7].details);
    r[7].details = NULL;
    assert_int_equal(aw_audit_append_batch(s, r, 10, &inserted, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "details"));
    assert_int_equal(stats_of(s).round_trips, before.round_trips);
    PGconn *adm = aw_pgt_admin_open(g_url);
    assert_int_equal(rows_in(adm, ns), 0);
    /* the connection is still fine: the good records go in */
    r[7].details = strdup("{}");
    assert_int_equal(append_ok(s, r, 10), 10);
    assert_int_equal(rows_in(adm, ns), 10);
    PQfinish(adm);
    free_recs(r, 10);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
}

/* The server ends the session's backend (pg_terminate_backend: 57P01, as a
 * restart or failover would): the next call fails AW_TRANSIENT (or already
 * succeeds on a new connection), the one after succeeds on a new
 * connection, and a retried batch is not stored twice. */
static void test_reconnect_after_terminate(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "awt.kill.");
    aw_audit *a = new_pg(g_url);
    aw_audit_session *s = aw_ct_audit_session(a);
    aw_audit_record *r = make_recs(ns, 0, 20);
    assert_int_equal(append_ok(s, r, 10), 10);
    int pid = aw_audit_postgres_session_pid(s->session);
    assert_true(pid > 0);
    PGconn *adm = aw_pgt_admin_open(g_url);
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
    size_t inserted = 0;
    aw_error err = {0};
    aw_status rc = aw_audit_append_batch(s, r, 20, &inserted, &err);
    if (rc != AW_OK) {
        assert_int_equal(rc, AW_TRANSIENT);
        assert_true(err.retriable);
        printf("[   INFO   ] first call after the kill: %s\n", err.msg);
        rc = aw_audit_append_batch(s, r, 20, &inserted, &err); /* the caller's retry */
    }
    if (rc != AW_OK)
        fail_msg("append after reconnect: %s (%s)", aw_status_name(rc), err.msg);
    assert_int_equal(inserted, 10); /* only the 10 new ones */
    assert_int_not_equal(aw_audit_postgres_session_pid(s->session), pid);
    assert_int_equal(stats_of(s).connects, 2);
    /* queries and cleanup work on the new connection too */
    aw_audit_query q = {.ns = ns, .outcome = -1, .limit = 100};
    aw_audit_page pg;
    assert_int_equal(aw_audit_query_run(s, &q, &pg, &err), AW_OK);
    assert_int_equal(pg.count, 20);
    aw_audit_page_clear(&pg);
    /* the same for a query being the first call after a kill */
    pid = aw_audit_postgres_session_pid(s->session);
    snprintf(p, sizeof(p), "%d", pid);
    assert_int_equal(aw_pgt_admin_int(adm, "SELECT pg_terminate_backend($1::integer)::int", 1, params),
                     1);
    deadline = aw_mono_now_ms() + WAIT_MS;
    while (!aw_pgt_backend_gone(adm, pid)) {
        assert_true(aw_mono_now_ms() < deadline);
        aw_sleep_ms(POLL_MS); /* poll pacing */
    }
    rc = aw_audit_query_run(s, &q, &pg, &err);
    if (rc != AW_OK) {
        assert_int_equal(rc, AW_TRANSIENT);
        assert_int_equal(pg.count, 0);
        rc = aw_audit_query_run(s, &q, &pg, &err);
    }
    assert_int_equal(rc, AW_OK);
    assert_int_equal(pg.count, 20);
    aw_audit_page_clear(&pg);
    PQfinish(adm);
    free_recs(r, 20);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
}

/* No schema, or one migrated by a build that predates the audit table:
 * create() fails with AW_CONFIG naming the migrate command; after the
 * migrate it works; a table dropped under a running session makes its calls
 * fail saying the same. */
static void test_missing_schema(void **state)
{
    (void)state;
    PGconn *adm = aw_pgt_admin_open(g_url);
    char schema[48], url[512], sql[400];
    aw_pgt_schema_create(adm, schema, sizeof(schema));
    aw_pgt_url_for(g_url, schema, url, sizeof(url));
    aw_audit *a = NULL;
    aw_error err = {0};
    assert_int_equal(try_new(url, &a, &err), AW_CONFIG);
    assert_null(a);
    assert_non_null(strstr(err.msg, "acteon-worker migrate -c FILE"));
    /* Older: only the state migration (0001) is recorded. */
    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s.aw_schema_migrations (version integer PRIMARY KEY, name text, "
             "checksum text, applied_at timestamptz); "
             "INSERT INTO %s.aw_schema_migrations (version, name, checksum) VALUES (1, '%s', '%s')",
             schema, schema, aw_pg_migrations[0].file, aw_pg_migrations[0].sha256);
    aw_pgt_admin_sql(adm, sql);
    assert_int_equal(try_new(url, &a, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "version 1"));
    assert_non_null(strstr(err.msg, "acteon-worker migrate -c FILE"));
    aw_pgt_schema_drop(adm, schema);

    /* Migrated through the audit slot: twice, the second a no-op. */
    aw_pgt_schema_create(adm, schema, sizeof(schema));
    aw_pgt_url_for(g_url, schema, url, sizeof(url));
    int applied = -1;
    assert_int_equal(migrate_url(url, &applied, &err), AW_OK);
    assert_int_equal(applied, (int)aw_pg_migrations_count);
    assert_int_equal(migrate_url(url, &applied, &err), AW_OK);
    assert_int_equal(applied, 0);
    a = new_pg(url);
    aw_audit_session *s = aw_ct_audit_session(a);
    aw_audit_record *r = make_recs("awt.gone", 0, 3);
    assert_int_equal(append_ok(s, r, 3), 3);
    snprintf(sql, sizeof(sql), "DROP TABLE %s.aw_audit_records", schema);
    aw_pgt_admin_sql(adm, sql);
    size_t inserted = 0;
    assert_int_equal(aw_audit_append_batch(s, r, 3, &inserted, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "acteon-worker migrate -c FILE"));
    aw_audit_query q = {.ns = "awt.gone", .outcome = -1};
    aw_audit_page pg;
    assert_int_equal(aw_audit_query_run(s, &q, &pg, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "acteon-worker migrate -c FILE"));
    free_recs(r, 3);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
    aw_pgt_schema_drop(adm, schema);
    PQfinish(adm);
}

/* Bad and unreachable URLs: a bad one is a config error that never echoes
 * the URL (it may hold a password); an unreachable server lets create()
 * succeed (sessions retry) and session_open fail transiently. */
static void test_bad_and_unreachable_url(void **state)
{
    (void)state;
    aw_audit *a = NULL;
    aw_error err = {0};
    assert_int_equal(try_new("postgres://u:s3cret@127.0.0.1:5432/db?nonsense=1", &a, &err),
                     AW_CONFIG);
    assert_null(strstr(err.msg, "s3cret"));
    assert_non_null(strstr(err.msg, "audit.url"));
    assert_int_equal(try_new("", &a, &err), AW_CONFIG);
    /* port 1: nothing listens there */
    aw_audit_options o = {.url = "postgres://u:s3cret@127.0.0.1:1/db", .connect_timeout_ms = 500};
    assert_int_equal(aw_audit_new("postgres", &o, &a, &err), AW_OK);
    aw_audit_session *s = NULL;
    assert_int_equal(aw_audit_session_open(a, &s, &err), AW_TRANSIENT);
    assert_true(err.retriable);
    assert_null(strstr(err.msg, "s3cret"));
    assert_null(s);
    aw_audit_destroy(a);
}

/* Throughput: 20,000 records in batches of 500, one session. Printed,
 * never asserted (it measures the machine as much as the code). */
static void test_throughput(void **state)
{
    (void)state;
    enum { TOTAL = 20000, BATCH = 500 };
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "awt.tput.");
    aw_audit *a = new_pg(g_url);
    aw_audit_session *s = aw_ct_audit_session(a);
    aw_audit_record *r = make_recs(ns, 0, TOTAL);
    assert_int_equal(append_ok(s, r, 1), 1); /* connect and prepare outside the timing */
    int64_t t0 = aw_mono_now_ms();
    size_t inserted = 1;
    for (size_t i = 1; i < TOTAL; i += BATCH)
        inserted += append_ok(s, r + i, TOTAL - i < BATCH ? TOTAL - i : BATCH);
    int64_t ms = aw_mono_now_ms() - t0;
    assert_int_equal(inserted, TOTAL);
    printf("[   INFO   ] audit postgres append: %d records in batches of %d: %" PRId64
           " ms, %.0f records/s\n",
           TOTAL - 1, BATCH, ms, (TOTAL - 1) * 1000.0 / (double)(ms > 0 ? ms : 1));
    /* and reading them back, a page of 1,000 at a time */
    t0 = aw_mono_now_ms();
    aw_audit_query q = {.ns = ns, .outcome = -1, .limit = 1000};
    size_t seen = 0;
    char *cursor = NULL;
    aw_error err = {0};
    for (;;) {
        aw_audit_page pg;
        q.cursor = cursor;
        if (aw_audit_query_run(s, &q, &pg, &err) != AW_OK)
            fail_msg("query: %s", err.msg);
        seen += pg.count;
        free(cursor);
        cursor = pg.next_cursor;
        pg.next_cursor = NULL;
        aw_audit_page_clear(&pg);
        if (!cursor)
            break;
    }
    ms = aw_mono_now_ms() - t0;
    assert_int_equal(seen, TOTAL);
    printf("[   INFO   ] audit postgres query: %d records in pages of 1000: %" PRId64
           " ms, %.0f records/s\n",
           TOTAL, ms, TOTAL * 1000.0 / (double)(ms > 0 ? ms : 1));
    free_recs(r, TOTAL);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
}

int main(void)
{
    g_url = aw_ct_server_url("AW_TEST_POSTGRES_URL");
    if (!g_url)
        return 77;

    /* 0. The schema, as `acteon-worker migrate` makes it. */
    aw_error err = {0};
    int applied = 0;
    aw_status rc = migrate_url(g_url, &applied, &err);
    if (rc != AW_OK) {
        fprintf(stderr, "migrate: %s (%s)\n", aw_status_name(rc), err.msg);
        return 1;
    }
    printf("migrate: %d migration(s) applied\n", applied);

    /* 1. The suite every audit backend passes. */
    aw_audit_options opts = {.url = g_url, .retention_ms = 7 * DAY_MS};
    int failed = aw_audit_conformance_run("postgres", &opts);

    /* 2. PostgreSQL specifics. */
    const struct CMUnitTest specifics[] = {
        cmocka_unit_test(test_one_statement_per_batch),
        cmocka_unit_test(test_bad_record_fails_whole_batch),
        cmocka_unit_test(test_reconnect_after_terminate),
        cmocka_unit_test(test_missing_schema),
        cmocka_unit_test(test_bad_and_unreachable_url),
        cmocka_unit_test(test_throughput),
    };
    failed += cmocka_run_group_tests_name("audit[postgres] specifics", specifics, NULL, NULL);
    return failed ? 1 : 0;
}

#endif
