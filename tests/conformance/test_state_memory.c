/* The state conformance suite against the in-process "memory" backend, plus
 * what only the memory backend can be asked (its reaper, its destroy).
 *
 * Three runs:
 *  1. the suite on "memory" with the default reaper interval (1 s), so the
 *     expiry tests see expired entries that only the operation under test
 *     can judge (a fast reaper would purge them first and hide bugs there);
 *  2. the suite on a copy of the driver with AW_STATE_CAP_ATOMIC masked out,
 *     with a 10 ms reaper sweeping while the tests run; it must pass the
 *     generic tests and report every atomic one as UNSUPPORTED: this is how
 *     a best-effort backend will look;
 *  3. memory specifics (reaper, destroy, argument checks). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backends/state/memory/memory_state.h"
#include "common/aw_clock.h"
#include "suite_state.h"

#define WAIT_MS 10000 /* bound on every wait for a condition */

static aw_state *new_memory(int64_t reaper_interval_ms)
{
    aw_state_options o = {.url = "", .key_prefix = "t:", .reaper_interval_ms = reaper_interval_ms};
    aw_state *st = NULL;
    aw_error err = {0};
    assert_int_equal(aw_state_new("memory", &o, &st, &err), AW_OK);
    return st;
}

static aw_state_key key(const char *kind, const char *id)
{
    return (aw_state_key){.ns = "ns", .tenant = "tenant", .kind = kind, .id = id};
}

/* Wait (bounded) until the backend stores exactly n entries. */
static bool wait_entry_count(aw_state *st, size_t n)
{
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    while (aw_state_memory_entry_count(st->backend) != n) {
        if (aw_mono_now_ms() >= deadline)
            return false;
        aw_sleep_ms(5); /* poll pacing, not synchronisation */
    }
    return true;
}

/* Expired entries nobody reads again are purged by the reaper, and fencing
 * tokens keep growing after the reaper dropped the lock and lease rows. */
static void test_reaper_purges_expired(void **state)
{
    (void)state;
    aw_state *st = new_memory(20);
    aw_state_session *ss = NULL;
    aw_error err = {0};
    assert_int_equal(aw_state_session_open(st, &ss, &err), AW_OK);
    for (int i = 0; i < 500; i++) {
        char id[16];
        snprintf(id, sizeof(id), "gone-%d", i);
        aw_state_key k = key("kv", id);
        assert_int_equal(aw_state_set(ss, &k, "v", 1, 30, NULL, &err), AW_OK);
    }
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "kept-%d", i);
        aw_state_key k = key("kv", id);
        assert_int_equal(aw_state_set(ss, &k, "v", 1, 0, NULL, &err), AW_OK);
    }
    aw_state_key lk = key("lock", "l"), dk = key("dedup", "d");
    uint64_t t1 = 0, t2 = 0;
    assert_int_equal(aw_state_lock_acquire(ss, &lk, 30, &t1, &err), AW_OK);
    aw_claim c = {.key = dk, .lease_ms = 30};
    assert_int_equal(aw_state_claim_batch(ss, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);

    assert_true(wait_entry_count(st, 5));

    assert_int_equal(aw_state_lock_acquire(ss, &lk, 0, &t2, &err), AW_OK);
    assert_true(t2 > t1);
    uint64_t lease_token = c.token;
    c = (aw_claim){.key = dk, .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(ss, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    assert_true(c.token > lease_token);
    assert_true(c.token > t2);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* destroy wakes the reaper instead of waiting out its interval. */
static void test_destroy_is_immediate(void **state)
{
    (void)state;
    aw_state *st = new_memory(3600 * 1000);
    int64_t t0 = aw_mono_now_ms();
    aw_state_destroy(st);
    assert_true(aw_mono_now_ms() - t0 < 1000);
}

#define CHURN_THREADS 4
#define CHURN_OPS 20000

typedef struct churn_arg {
    aw_state *st;
    int index;
    int failures;
} churn_arg;

/* Writes with 1..4 ms TTLs over a small key set, so the 1 ms reaper keeps
 * purging entries that the operations are reading, replacing and claiming. */
static void *churn_main(void *p)
{
    churn_arg *a = p;
    aw_state_session *ss = NULL;
    aw_error err = {0};
    if (aw_state_session_open(a->st, &ss, &err) != AW_OK) {
        a->failures++;
        return NULL;
    }
    for (int i = 0; i < CHURN_OPS; i++) {
        char id[16];
        snprintf(id, sizeof(id), "k%d", i % 64);
        aw_state_key k = key("kv", id), d = key("dedup", id);
        int64_t ttl = 1 + (i + a->index) % 4, n = 0;
        aw_state_value v = {0};
        aw_claim c = {.key = d, .lease_ms = ttl};
        aw_status rc;
        switch (i % 4) {
        case 0:
            rc = aw_state_set(ss, &k, "v", 1, ttl, NULL, &err);
            break;
        case 1:
            rc = aw_state_get(ss, &k, &v, &err);
            rc = rc == AW_NOT_FOUND ? AW_OK : rc;
            aw_state_value_clear(&v);
            break;
        case 2:
            rc = aw_state_claim_batch(ss, &c, 1, &err);
            aw_claim_clear(&c);
            break;
        default:
            rc = aw_state_increment(ss, &k, 1, ttl, &n, &err);
            /* "v" written by case 0 is not a number: expected refusal. */
            rc = rc == AW_PERMANENT ? AW_OK : rc;
            break;
        }
        if (rc != AW_OK)
            a->failures++;
    }
    aw_state_session_close(ss);
    return NULL;
}

/* The reaper and the operations share entries only under shard mutexes:
 * run them against each other (TSan and ASan builds are the real check). */
static void test_reaper_races_writers(void **state)
{
    (void)state;
    aw_state *st = new_memory(1);
    pthread_t tid[CHURN_THREADS];
    churn_arg args[CHURN_THREADS];
    for (int i = 0; i < CHURN_THREADS; i++) {
        args[i] = (churn_arg){.st = st, .index = i};
        assert_int_equal(pthread_create(&tid[i], NULL, churn_main, &args[i]), 0);
    }
    for (int i = 0; i < CHURN_THREADS; i++) {
        pthread_join(tid[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    aw_state_destroy(st);
}

static void test_bad_options_and_arguments(void **state)
{
    (void)state;
    aw_state_options o = {.url = "", .key_prefix = "", .reaper_interval_ms = -1};
    aw_state *st = NULL;
    aw_error err = {0};
    assert_int_equal(aw_state_new("memory", &o, &st, &err), AW_CONFIG);
    assert_null(st);
    assert_int_equal(aw_state_new("no-such-backend", &o, &st, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "memory"));

    /* A lease must expire on its own: lease_ms <= 0 is refused, and the
     * refused batch takes no lease. */
    st = new_memory(0);
    aw_state_session *ss = NULL;
    assert_int_equal(aw_state_session_open(st, &ss, &err), AW_OK);
    aw_claim c[2] = {{.key = key("dedup", "a"), .lease_ms = 1000},
                     {.key = key("dedup", "b"), .lease_ms = 0}};
    assert_int_equal(aw_state_claim_batch(ss, c, 2, &err), AW_PERMANENT);
    c[1].lease_ms = 1000;
    assert_int_equal(aw_state_claim_batch(ss, c, 2, &err), AW_OK);
    assert_int_equal(c[0].result, AW_CLAIM_ACQUIRED);
    assert_int_equal(c[1].result, AW_CLAIM_ACQUIRED);
    assert_int_equal(aw_state_lease_renew(ss, &c[0].key, c[0].token, 0, &err), AW_PERMANENT);
    aw_state_key nokind = {.ns = "ns", .tenant = "t", .kind = NULL, .id = "x"};
    aw_state_value v = {0};
    assert_int_equal(aw_state_get(ss, &nokind, &v, &err), AW_PERMANENT);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* Locks, leases and values live in separate spaces in this backend: a set
 * on the same (ns, tenant, kind, id) cannot break a lock. */
static void test_spaces_are_separate(void **state)
{
    (void)state;
    aw_state *st = new_memory(0);
    aw_state_session *ss = NULL;
    aw_error err = {0};
    uint64_t t = 0, t2 = 0;
    assert_int_equal(aw_state_session_open(st, &ss, &err), AW_OK);
    aw_state_key k = key("lock", "shared-name");
    assert_int_equal(aw_state_lock_acquire(ss, &k, 60000, &t, &err), AW_OK);
    assert_int_equal(aw_state_set(ss, &k, "v", 1, 0, NULL, &err), AW_OK);
    bool existed = false;
    assert_int_equal(aw_state_delete(ss, &k, &existed, &err), AW_OK);
    assert_true(existed);
    assert_int_equal(aw_state_lock_acquire(ss, &k, 60000, &t2, &err), AW_CONFLICT);
    assert_int_equal(aw_state_lock_release(ss, &k, t, &err), AW_OK);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

int main(void)
{
    aw_state_options opts = {.url = "", .key_prefix = "conformance:", .reaper_interval_ms = 0};
    int failed = aw_state_conformance_run("memory", &opts);

    aw_state_driver masked = aw_state_memory_driver;
    masked.name = "memory-without-atomic";
    masked.caps &= ~AW_STATE_CAP_ATOMIC;
    int unsupported = 0;
    opts.reaper_interval_ms = 10;
    failed += aw_state_conformance_run_driver(&masked, &opts, &unsupported);
    if (unsupported == 0) {
        fprintf(stderr, "capability hook: no test was reported UNSUPPORTED\n");
        failed++;
    }

    const struct CMUnitTest specifics[] = {
        cmocka_unit_test(test_reaper_purges_expired),
        cmocka_unit_test(test_reaper_races_writers),
        cmocka_unit_test(test_destroy_is_immediate),
        cmocka_unit_test(test_bad_options_and_arguments),
        cmocka_unit_test(test_spaces_are_separate),
    };
    failed += cmocka_run_group_tests_name("state[memory] specifics", specifics, NULL, NULL);
    return failed ? 1 : 0;
}
