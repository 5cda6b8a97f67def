/* The state conformance suite against a real ClickHouse, plus what only the
 * ClickHouse state backend can be asked.
 *
 * Needs AW_TEST_CLICKHOUSE_URL (scripts/test-servers.sh start DIR writes it
 * to DIR/env); without it the program says why and exits 77 (skipped).
 *
 *  0. migrate twice: the second run applies nothing;
 *  1. the suite, cross-process group included. The backend has no atomic
 *     compare-and-set: every test that needs it is printed UNSUPPORTED by
 *     name and counted; the program fails if none is (the capability hook
 *     broke) or if any other test fails. The unsupported tests that race
 *     nothing (cas, locks, dedup) then run single-threaded (BEST-EFFORT)
 *     and must pass: the worker uses those operations when the operator
 *     opts in;
 *  2. ClickHouse specifics: the latest version wins before and after a
 *     merge (OPTIMIZE ... FINAL), delete tombstones, expiry on read while
 *     the row is still stored, hostile keys and values quoted safely, the
 *     reaper, server down -> AW_TRANSIENT;
 *  3. the measurement the docs quote: 20 threads (own sessions) claim one
 *     identity at once; how many get ACQUIRED, i.e. would execute, over
 *     DUP_RUNS runs. Printed, not asserted (scheduling decides), except
 *     that at least one wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef AW_WITH_CLICKHOUSE

int main(void)
{
    printf("SKIP: the clickhouse state backend is not compiled in (cmake -DWITH_CLICKHOUSE=ON)\n");
    return 77;
}

#else

#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/clickhouse/ch_http.h"
#include "backends/state/clickhouse/chs_sql.h"
#include "backends/state/clickhouse/clickhouse_state.h"
#include "backends/state/state.h"
#include "common/aw_clock.h"
#include "suite_state.h"
#include "suite_ch_admin.h"
#include "suite_util.h"

#define WAIT_MS 10000 /* bound on every wait for a condition */
#define POLL_MS 5
#define DUP_THREADS 20
#define DUP_RUNS 10

static const char *g_url;  /* AW_TEST_CLICKHOUSE_URL */
static char g_prefix[64];  /* per run, so reruns on one server never meet */

/* ---- helpers ------------------------------------------------------------- */

static aw_state *new_ch(void)
{
    aw_state_options o = {.url = g_url, .key_prefix = g_prefix};
    return aw_ct_state_new("clickhouse", &o);
}

/* Stored rows (all versions, unmerged) of the value key (ns, kind, id). */
static long stored_rows(aw_ch_conn *c, const char *ns, const char *id)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count() FROM " AW_CHS_TABLE " WHERE space = 'v' AND id = '%s' AND "
             "position(key, '%s') > 0 FORMAT TabSeparated",
             id, ns); /* test-made ids and namespaces: hex and dashes only */
    aw_cht_admin_exec(c, sql);
    return strtol(c->resp.data ? c->resp.data : "-1", NULL, 10);
}

static void expect_kv(aw_state_session *ss, const aw_state_key *k, const char *val,
                         uint64_t version)
{
    aw_state_value v = {0};
    aw_error err = {0};
    aw_status rc = aw_state_get(ss, k, &v, &err);
    if (rc != AW_OK)
        fail_msg("get %s: %s (%s)", k->id, aw_status_name(rc), err.msg);
    assert_int_equal(v.len, strlen(val));
    assert_memory_equal(v.data, val, v.len);
    assert_int_equal(v.version, version);
    aw_state_value_clear(&v);
}

static void expect_absent(aw_state_session *ss, const aw_state_key *k)
{
    aw_state_value v = {0};
    aw_error err = {0};
    assert_int_equal(aw_state_get(ss, k, &v, &err), AW_NOT_FOUND);
}

/* ---- specifics ------------------------------------------------------------ */

/* Several writes before a merge leave several rows: reads pick the newest;
 * OPTIMIZE ... FINAL collapses them to that same row. */
static void test_latest_version_wins(void **state)
{
    (void)state;
    char ns[40];
    aw_ct_random_hex(ns, sizeof(ns), "lv-");
    aw_state *st = new_ch();
    aw_state_session *ss = aw_ct_state_session(st);
    aw_ch_config cfg;
    aw_ch_conn adm;
    aw_cht_admin_open("state.url", g_url, &cfg, &adm);
    aw_state_key k = aw_ct_key(ns, "kv", "k1");
    aw_error err = {0};
    char val[16];
    /* Background merges would collapse the rows at their own pace. */
    aw_cht_admin_exec(&adm, "SYSTEM STOP MERGES " AW_CHS_TABLE);
    for (int i = 1; i <= 5; i++) {
        snprintf(val, sizeof(val), "v%d", i);
        assert_int_equal(aw_state_set(ss, &k, val, strlen(val), 0, NULL, &err), AW_OK);
        expect_kv(ss, &k, val, (uint64_t)i);
    }
    assert_int_equal(stored_rows(&adm, ns, "k1"), 5);
    aw_cht_admin_exec(&adm, "SYSTEM START MERGES " AW_CHS_TABLE);
    aw_cht_admin_exec(&adm, "OPTIMIZE TABLE " AW_CHS_TABLE " FINAL");
    assert_int_equal(stored_rows(&adm, ns, "k1"), 1);
    expect_kv(ss, &k, "v5", 5);
    /* And writing on after the merge goes on from the merged row. */
    assert_int_equal(aw_state_set(ss, &k, "v6", 2, 0, NULL, &err), AW_OK);
    expect_kv(ss, &k, "v6", 6);
    int64_t v = 0;
    aw_state_key c = aw_ct_key(ns, "kv", "ctr");
    for (int i = 0; i < 3; i++)
        assert_int_equal(aw_state_increment(ss, &c, 2, 0, &v, &err), AW_OK);
    aw_cht_admin_exec(&adm, "OPTIMIZE TABLE " AW_CHS_TABLE " FINAL");
    assert_int_equal(aw_state_increment(ss, &c, 2, 0, &v, &err), AW_OK);
    assert_int_equal(v, 8);
    expect_kv(ss, &c, "8", 4);
    aw_ch_conn_close(&adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* A delete is a tombstone row: absent before and after a merge; written
 * again, the key starts over at version 1. */
static void test_delete_tombstones(void **state)
{
    (void)state;
    char ns[40];
    aw_ct_random_hex(ns, sizeof(ns), "del-");
    aw_state *st = new_ch();
    aw_state_session *ss = aw_ct_state_session(st);
    aw_ch_config cfg;
    aw_ch_conn adm;
    aw_cht_admin_open("state.url", g_url, &cfg, &adm);
    aw_state_key k = aw_ct_key(ns, "kv", "gone");
    aw_error err = {0};
    bool existed = false;
    aw_cht_admin_exec(&adm, "SYSTEM STOP MERGES " AW_CHS_TABLE);
    assert_int_equal(aw_state_set(ss, &k, "a", 1, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_set(ss, &k, "b", 1, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_delete(ss, &k, &existed, &err), AW_OK);
    assert_true(existed);
    expect_absent(ss, &k);
    assert_int_equal(stored_rows(&adm, ns, "gone"), 3); /* two values + tombstone */
    aw_cht_admin_exec(&adm, "SYSTEM START MERGES " AW_CHS_TABLE);
    aw_cht_admin_exec(&adm, "OPTIMIZE TABLE " AW_CHS_TABLE " FINAL");
    expect_absent(ss, &k);
    assert_int_equal(aw_state_delete(ss, &k, &existed, &err), AW_OK);
    assert_false(existed);
    uint64_t ver = 0;
    assert_int_equal(aw_state_set(ss, &k, "c", 1, 0, &ver, &err), AW_OK);
    assert_int_equal(ver, 1);
    expect_kv(ss, &k, "c", 1);
    aw_ch_conn_close(&adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* An expired row is still stored (no TTL in 18.16) but reads as absent. */
static void test_expiry_on_read(void **state)
{
    (void)state;
    char ns[40];
    aw_ct_random_hex(ns, sizeof(ns), "exp-");
    aw_state *st = new_ch();
    aw_state_session *ss = aw_ct_state_session(st);
    aw_ch_config cfg;
    aw_ch_conn adm;
    aw_cht_admin_open("state.url", g_url, &cfg, &adm);
    aw_state_key k = aw_ct_key(ns, "kv", "short");
    aw_error err = {0};
    assert_int_equal(aw_state_set(ss, &k, "x", 1, 100, NULL, &err), AW_OK);
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    aw_state_value v = {0};
    while (aw_state_get(ss, &k, &v, &err) == AW_OK) {
        aw_state_value_clear(&v);
        assert_true(aw_mono_now_ms() < deadline);
        aw_sleep_ms(POLL_MS); /* poll pacing */
    }
    assert_int_equal(stored_rows(&adm, ns, "short"), 1);
    bool written = false;
    assert_int_equal(aw_state_check_and_set(ss, &k, "y", 1, 0, &written, &err), AW_OK);
    assert_true(written);
    expect_kv(ss, &k, "y", 1);
    aw_ch_conn_close(&adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

typedef struct scan_seen {
    int n;
    char ids[8][64];
} scan_seen;

static int on_scan(void *ud, const char *id, const char *value, size_t len)
{
    (void)value;
    (void)len;
    scan_seen *s = ud;
    if (s->n < 8)
        snprintf(s->ids[s->n], sizeof(s->ids[s->n]), "%s", id);
    s->n++;
    return 0;
}

/* Keys and values that would break a statement built by pasting text. */
static void test_hostile_keys(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "'; DROP TABLE aw_state; --", "back\\slash\\", "quote'quote", "tab\tnew\nline",
        "\x01\x7f\xff\xfe high", "%_*?[", "') OR 1=1 --",
    };
    static const char bin[] = {'\'', '\0', '\\', '\n', (char)0xff, 'x'};
    char ns[40];
    aw_ct_random_hex(ns, sizeof(ns), "ns'\\-");
    aw_state *st = new_ch();
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        aw_state_key k = {.ns = ns, .tenant = "ten'ant\\", .kind = "k'\n", .id = ids[i]};
        assert_int_equal(aw_state_set(ss, &k, bin, sizeof(bin), 0, NULL, &err), AW_OK);
        aw_state_value v = {0};
        assert_int_equal(aw_state_get(ss, &k, &v, &err), AW_OK);
        assert_int_equal(v.len, sizeof(bin));
        assert_memory_equal(v.data, bin, sizeof(bin));
        aw_state_value_clear(&v);
        uint64_t t = 0;
        assert_int_equal(aw_state_lock_acquire(ss, &k, 60000, &t, &err), AW_OK);
        assert_int_equal(aw_state_lock_release(ss, &k, t, &err), AW_OK);
    }
    /* '%' and '_' are literal in a scan prefix: exactly one match. */
    scan_seen seen = {0};
    assert_int_equal(aw_state_scan(ss, ns, "ten'ant\\", "k'\n", "%_", on_scan, &seen, &err),
                     AW_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.ids[0], "%_*?[");
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(aw_state_scan(ss, ns, "ten'ant\\", "k'\n", "", on_scan, &seen, &err), AW_OK);
    assert_int_equal(seen.n, (int)(sizeof(ids) / sizeof(ids[0])));
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

static long count_where(aw_ch_conn *c, const char *cond)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT count() FROM " AW_CHS_TABLE " WHERE %s FORMAT TabSeparated",
             cond);
    aw_cht_admin_exec(c, sql);
    return strtol(c->resp.data ? c->resp.data : "-1", NULL, 10);
}

/* The reaper removes tombstones and expired rows (as if run 2 minutes
 * later), keeps live ones, and lock tokens keep increasing afterwards. */
static void test_reaper(void **state)
{
    (void)state;
    char ns[40], cond[256];
    aw_ct_random_hex(ns, sizeof(ns), "reap-");
    aw_state *st = new_ch();
    aw_state_session *ss = aw_ct_state_session(st);
    aw_ch_config cfg;
    aw_ch_conn adm;
    aw_cht_admin_open("state.url", g_url, &cfg, &adm);
    aw_error err = {0};
    bool existed;
    aw_state_key live = aw_ct_key(ns, "kv", "live"), dead = aw_ct_key(ns, "kv", "dead"),
                 exp = aw_ct_key(ns, "kv", "exp"), lock = aw_ct_key(ns, "lock", "L");
    assert_int_equal(aw_state_set(ss, &live, "1", 1, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_set(ss, &dead, "1", 1, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_delete(ss, &dead, &existed, &err), AW_OK);
    assert_int_equal(aw_state_set(ss, &exp, "1", 1, 50, NULL, &err), AW_OK);
    uint64_t t1 = 0, t2 = 0;
    assert_int_equal(aw_state_lock_acquire(ss, &lock, 60000, &t1, &err), AW_OK);
    assert_int_equal(aw_state_lock_release(ss, &lock, t1, &err), AW_OK);
    snprintf(cond, sizeof(cond), "position(key, '%s') > 0", ns);
    /* 6 rows, or 4 once background merges collapsed dead's and L's. */
    assert_true(count_where(&adm, cond) >= 4);
    aw_status rc = aw_state_clickhouse_reap(ss->session, aw_time_now_ms() + 120000, &err);
    if (rc != AW_OK)
        fail_msg("reap: %s", err.msg);
    /* The DELETE is a mutation: wait (bounded) until it has run. */
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    while (count_where(&adm, cond) != 1) {
        if (aw_mono_now_ms() >= deadline)
            fail_msg("reaper: %ld rows left, want 1 (the live key)", count_where(&adm, cond));
        aw_sleep_ms(20); /* poll pacing */
    }
    expect_kv(ss, &live, "1", 1);
    expect_absent(ss, &dead);
    assert_int_equal(aw_state_lock_acquire(ss, &lock, 60000, &t2, &err), AW_OK);
    assert_true(t2 > t1);
    aw_ch_conn_close(&adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* A port nothing listens on: bind, read the port, close. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_server_down_is_transient(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof(url), "clickhouse://u:secret@127.0.0.1:%d/acteon_test", dead_port());
    aw_state_options o = {.url = url, .connect_timeout_ms = 500};
    aw_state *st = NULL;
    aw_error err = {0};
    assert_int_equal(aw_state_new("clickhouse", &o, &st, &err), AW_TRANSIENT);
    assert_true(err.retriable);
    assert_null(strstr(err.msg, "secret"));
    const aw_state_driver *d = aw_state_driver_find("clickhouse");
    assert_non_null(d);
    assert_int_equal(d->caps & AW_STATE_CAP_ATOMIC, 0);
    assert_int_equal(d->migrate(&o, NULL, &err), AW_TRANSIENT);
    /* A bad URL is a configuration error naming the setting. */
    o.url = "redis://h:1/0";
    assert_int_equal(aw_state_new("clickhouse", &o, &st, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "state.url"));
}

/* ---- 20 concurrent duplicates ------------------------------------------------ */

typedef struct dup_shared {
    pthread_barrier_t go;
    aw_state *st;
    const char *ns;
    const char *id;
} dup_shared;

typedef struct dup_thread {
    dup_shared *sh;
    aw_state_session *ss;
    aw_status rc;
    aw_claim_result result;
    char msg[256];
} dup_thread;

static void *dup_main(void *arg)
{
    dup_thread *t = arg;
    aw_claim c = {.key = aw_ct_key(t->sh->ns, "dedup", t->sh->id), .lease_ms = 60000};
    aw_error err = {0};
    pthread_barrier_wait(&t->sh->go);
    t->rc = aw_state_claim_batch(t->ss, &c, 1, &err);
    t->result = c.result;
    snprintf(t->msg, sizeof(t->msg), "%s", err.msg);
    aw_claim_clear(&c);
    return NULL;
}

/* One run: how many of DUP_THREADS simultaneous claims got ACQUIRED. */
static int dup_run(aw_state *st, const char *ns, int run)
{
    char id[32];
    snprintf(id, sizeof(id), "dup-%d", run);
    dup_shared sh = {.st = st, .ns = ns, .id = id};
    dup_thread t[DUP_THREADS];
    pthread_t th[DUP_THREADS];
    memset(t, 0, sizeof(t));
    assert_int_equal(pthread_barrier_init(&sh.go, NULL, DUP_THREADS), 0);
    for (int i = 0; i < DUP_THREADS; i++) { /* sessions first: connecting is not the race */
        t[i].sh = &sh;
        t[i].ss = aw_ct_state_session(st);
    }
    for (int i = 0; i < DUP_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, dup_main, &t[i]), 0);
    for (int i = 0; i < DUP_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&sh.go);
    int acquired = 0;
    for (int i = 0; i < DUP_THREADS; i++) {
        aw_state_session_close(t[i].ss);
        if (t[i].rc != AW_OK)
            fail_msg("thread %d: %s (%s)", i, aw_status_name(t[i].rc), t[i].msg);
        acquired += t[i].result == AW_CLAIM_ACQUIRED;
    }
    return acquired;
}

static void test_duplicates_20_threads(void **state)
{
    (void)state;
    char ns[40];
    aw_ct_random_hex(ns, sizeof(ns), "dup-");
    aw_state *st = new_ch();
    int runs[DUP_RUNS], min = DUP_THREADS, max = 0, sum = 0;
    for (int r = 0; r < DUP_RUNS; r++) {
        runs[r] = dup_run(st, ns, r);
        assert_true(runs[r] >= 1); /* someone must win; how many is the measurement */
        min = runs[r] < min ? runs[r] : min;
        max = runs[r] > max ? runs[r] : max;
        sum += runs[r];
    }
    printf("[   INFO   ] clickhouse state: of %d concurrent duplicates, executed per run:",
           DUP_THREADS);
    for (int r = 0; r < DUP_RUNS; r++)
        printf(" %d", runs[r]);
    printf(" (min %d, mean %.1f, max %d over %d runs)\n", min, (double)sum / DUP_RUNS, max,
           DUP_RUNS);
    aw_state_destroy(st);
}

/* ---- main ------------------------------------------------------------------------ */

int main(void)
{
    g_url = aw_ct_server_url("AW_TEST_CLICKHOUSE_URL");
    if (!g_url)
        return 77;
    aw_ct_run_prefix(g_prefix, sizeof(g_prefix));

    /* 0. The schema, as `acteon-worker migrate` makes it; then idempotent. */
    const aw_state_driver *d = aw_state_driver_find("clickhouse");
    aw_state_options o = {.url = g_url, .key_prefix = g_prefix};
    aw_error err = {0};
    int applied = 0, again = -1;
    if (!d || d->migrate(&o, &applied, &err) != AW_OK || d->migrate(&o, &again, &err) != AW_OK) {
        fprintf(stderr, "migrate: %s\n", d ? err.msg : "no clickhouse driver");
        return 1;
    }
    printf("migrate: applied %d, then %d\n", applied, again);
    int failed = again != 0;

    /* 1. The suite; the atomic tests are reported UNSUPPORTED by name. */
    aw_state_conformance_options copts = {.cross_process = true, .best_effort_sequential = true};
    int unsupported = 0;
    failed += aw_state_conformance_run_with("clickhouse", NULL, &o, &copts, &unsupported);
    if (unsupported == 0) {
        fprintf(stderr, "no test was reported UNSUPPORTED: the capability hook is broken\n");
        failed++;
    }

    /* 2 and 3. */
    const struct CMUnitTest specifics[] = {
        cmocka_unit_test(test_latest_version_wins),
        cmocka_unit_test(test_delete_tombstones),
        cmocka_unit_test(test_expiry_on_read),
        cmocka_unit_test(test_hostile_keys),
        cmocka_unit_test(test_reaper),
        cmocka_unit_test(test_server_down_is_transient),
        cmocka_unit_test(test_duplicates_20_threads),
    };
    failed += cmocka_run_group_tests_name("state[clickhouse] specifics", specifics, NULL, NULL);
    return failed ? 1 : 0;
}

#endif
