/* The fault-injecting wrapper ("faulty") with no faults configured must be
 * indistinguishable from the backend it wraps: the whole state conformance
 * suite over "faulty" wrapping "memory". Then the faults themselves: every
 * Nth call fails with AW_TRANSIENT before reaching the inner backend, and an
 * outage fails every call for a while, then ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "backends/state/state.h"
#include "common/aw_clock.h"
#include "suite_state.h"

static aw_state_session *open_faulty(const char *url, aw_state **st)
{
    aw_state_options o = {.url = url, .key_prefix = "f:"};
    aw_error err = {0};
    assert_int_equal(aw_state_new("faulty", &o, st, &err), AW_OK);
    aw_state_session *ss = NULL;
    assert_int_equal(aw_state_session_open(*st, &ss, &err), AW_OK);
    return ss;
}

static void test_transient_every(void **state)
{
    (void)state;
    aw_state *st;
    aw_state_session *ss = open_faulty("memory?transient_every=3", &st);
    aw_state_key k = {.ns = "n", .tenant = "t", .kind = "v", .id = "x"};
    aw_error err;
    int failed = 0;
    for (int i = 1; i <= 9; i++) {
        aw_status rc = aw_state_set(ss, &k, "v", 1, 0, NULL, &err);
        if (i % 3 == 0) {
            assert_int_equal(rc, AW_TRANSIENT);
            assert_true(err.retriable);
            failed++;
        } else {
            assert_int_equal(rc, AW_OK);
        }
    }
    assert_int_equal(failed, 3);
    /* Failed calls never reached the inner backend: 6 writes -> version 6. */
    aw_state_value v = {0};
    aw_status rc;
    while ((rc = aw_state_get(ss, &k, &v, &err)) == AW_TRANSIENT) {
    }
    assert_int_equal(rc, AW_OK);
    assert_int_equal(v.version, 6);
    aw_state_value_clear(&v);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

static void test_outage_ends(void **state)
{
    (void)state;
    aw_state *st;
    aw_state_session *ss = open_faulty("memory?outage_after=2&outage_ms=300", &st);
    aw_state_key k = {.ns = "n", .tenant = "t", .kind = "v", .id = "y"};
    aw_error err;
    assert_int_equal(aw_state_set(ss, &k, "a", 1, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_set(ss, &k, "b", 1, 0, NULL, &err), AW_OK);
    int64_t start = aw_mono_now_ms();
    assert_int_equal(aw_state_set(ss, &k, "c", 1, 0, NULL, &err), AW_TRANSIENT);
    /* The outage ends by itself: poll with a bound. */
    aw_status rc;
    while ((rc = aw_state_set(ss, &k, "d", 1, 0, NULL, &err)) == AW_TRANSIENT)
        assert_true(aw_mono_now_ms() - start < 10000);
    assert_int_equal(rc, AW_OK);
    assert_true(aw_mono_now_ms() - start >= 300);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* A renewal batch is one call: an injected fault fails all of it before the
 * inner backend sees it (every item stale, no lease extended); the next
 * call passes through and renews. */
static void test_renew_batch_fault(void **state)
{
    (void)state;
    aw_state *st;
    aw_state_session *ss = open_faulty("memory?transient_every=2", &st);
    aw_claim c[2] = {{.key = {"n", "t", "dedup", "r1"}, .lease_ms = 60000},
                     {.key = {"n", "t", "dedup", "r2"}, .lease_ms = 60000}};
    aw_error err;
    assert_int_equal(aw_state_claim_batch(ss, c, 2, &err), AW_OK); /* call 1 */
    aw_lease_renewal r[2] = {{.key = c[0].key, .token = c[0].token},
                             {.key = c[1].key, .token = c[1].token}};
    r[0].stale = r[1].stale = false;
    assert_int_equal(aw_state_lease_renew_batch(ss, r, 2, 600000, &err), AW_TRANSIENT); /* 2 */
    assert_true(err.retriable);
    assert_true(r[0].stale && r[1].stale);
    /* Nothing reached the inner backend: the leases still end within 60 s. */
    aw_claim b = {.key = c[0].key, .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(ss, &b, 1, &err), AW_OK); /* call 3 */
    assert_int_equal(b.result, AW_CLAIM_BUSY);
    assert_true(b.retry_after_ms <= 60000);
    assert_int_equal(aw_state_lease_renew_batch(ss, r, 2, 600000, &err), AW_TRANSIENT); /* 4 */
    assert_int_equal(aw_state_lease_renew_batch(ss, r, 2, 600000, &err), AW_OK);        /* 5 */
    assert_false(r[0].stale || r[1].stale);
    assert_int_equal(aw_state_lease_renew_batch(ss, r, 2, 600000, &err), AW_TRANSIENT); /* 6 */
    assert_int_equal(aw_state_claim_batch(ss, &b, 1, &err), AW_OK); /* 7 */
    assert_int_equal(b.result, AW_CLAIM_BUSY);
    assert_true(b.retry_after_ms > 60000);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* The due index passes through with its faults: a faulted take reaches
 * nothing (the item stays untaken, no output), the next one takes it. */
static void test_due_fault(void **state)
{
    (void)state;
    aw_state *st;
    aw_state_session *ss = open_faulty("memory?transient_every=2", &st);
    aw_state_key k = {"n", "t", "timer", "d1"};
    aw_due_item out[4];
    size_t n = 9;
    aw_error err;
    assert_int_equal(aw_state_due_put(ss, &k, 5, "v", 1, &err), AW_OK);            /* call 1 */
    assert_int_equal(aw_state_due_take(ss, "n", "timer", 10, 4, 60000, out, &n, &err),
                     AW_TRANSIENT);                                               /* 2 */
    assert_true(err.retriable);
    assert_int_equal(n, 0);
    assert_int_equal(aw_state_due_take(ss, "n", "timer", 10, 4, 60000, out, &n, &err),
                     AW_OK);                                                      /* 3 */
    assert_int_equal(n, 1);
    assert_string_equal(out[0].id, "d1");
    assert_int_equal(aw_state_due_done(ss, &k, out[0].token, &err), AW_TRANSIENT); /* 4 */
    assert_int_equal(aw_state_due_done(ss, &k, out[0].token, &err), AW_OK);        /* 5 */
    aw_due_item_clear(&out[0]);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

static void test_bad_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "faulty", "nosuch", "memory?bogus=1", "memory?x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aw_state_options o = {.url = bad[i], .key_prefix = ""};
        aw_state *st = NULL;
        aw_error err = {0};
        assert_int_not_equal(aw_state_new("faulty", &o, &st, &err), AW_OK);
        assert_null(st);
        assert_true(err.msg[0] != '\0');
    }
}

int main(void)
{
    aw_state_options o = {.url = "memory", .key_prefix = "c:"};
    int failed = aw_state_conformance_run("faulty", &o);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transient_every),
        cmocka_unit_test(test_outage_ends),
        cmocka_unit_test(test_renew_batch_fault),
        cmocka_unit_test(test_due_fault),
        cmocka_unit_test(test_bad_urls),
    };
    failed += cmocka_run_group_tests_name("faulty", tests, NULL, NULL);
    return failed ? 1 : 0;
}
