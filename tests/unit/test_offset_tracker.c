/* The per-partition offset tracker: only the contiguous completed prefix is
 * committable, whatever order completions come in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ingest/offset_tracker.h"

static void test_empty(void **state)
{
    (void)state;
    aw_offset_tracker *t = aw_offset_tracker_new();
    assert_int_equal(aw_offset_tracker_committable(t), -1);
    assert_int_equal(aw_offset_tracker_in_flight(t), 0);
    assert_int_equal(aw_offset_tracker_mark_done(t, 5), -1);
    aw_offset_tracker_destroy(t);
}

static void test_in_order(void **state)
{
    (void)state;
    aw_offset_tracker *t = aw_offset_tracker_new();
    for (int64_t o = 10; o < 20; o++)
        assert_int_equal(aw_offset_tracker_add(t, o), 0);
    assert_int_equal(aw_offset_tracker_committable(t), 10);
    for (int64_t o = 10; o < 20; o++) {
        assert_int_equal(aw_offset_tracker_mark_done(t, o), 0);
        assert_int_equal(aw_offset_tracker_committable(t), o + 1);
    }
    assert_int_equal(aw_offset_tracker_in_flight(t), 0);
    aw_offset_tracker_destroy(t);
}

static void test_out_of_order_holds_prefix(void **state)
{
    (void)state;
    aw_offset_tracker *t = aw_offset_tracker_new();
    for (int64_t o = 0; o < 5; o++)
        aw_offset_tracker_add(t, o);
    aw_offset_tracker_mark_done(t, 3);
    aw_offset_tracker_mark_done(t, 1);
    aw_offset_tracker_mark_done(t, 4);
    assert_int_equal(aw_offset_tracker_committable(t), 0); /* 0 still running */
    aw_offset_tracker_mark_done(t, 0);
    assert_int_equal(aw_offset_tracker_committable(t), 2); /* 2 still running */
    aw_offset_tracker_mark_done(t, 2);
    assert_int_equal(aw_offset_tracker_committable(t), 5);
    assert_int_equal(aw_offset_tracker_in_flight(t), 0);
    aw_offset_tracker_destroy(t);
}

static void test_gaps_and_refusals(void **state)
{
    (void)state;
    aw_offset_tracker *t = aw_offset_tracker_new();
    /* Compacted topics and transaction markers leave holes. */
    assert_int_equal(aw_offset_tracker_add(t, 3), 0);
    assert_int_equal(aw_offset_tracker_add(t, 7), 0);
    assert_int_equal(aw_offset_tracker_add(t, 7), -1);  /* not increasing */
    assert_int_equal(aw_offset_tracker_add(t, 5), -1);  /* rewind */
    assert_int_equal(aw_offset_tracker_mark_done(t, 4), -1); /* never added */
    assert_int_equal(aw_offset_tracker_mark_done(t, 7), 0);
    assert_int_equal(aw_offset_tracker_mark_done(t, 7), -1); /* twice */
    assert_int_equal(aw_offset_tracker_committable(t), 3);
    assert_int_equal(aw_offset_tracker_mark_done(t, 3), 0);
    assert_int_equal(aw_offset_tracker_committable(t), 8);
    aw_offset_tracker_reset(t);
    assert_int_equal(aw_offset_tracker_committable(t), -1);
    assert_int_equal(aw_offset_tracker_add(t, 1), 0); /* after reset, rewinds are fine */
    aw_offset_tracker_destroy(t);
}

/* A large window completed in a pseudo-random order, checked against a
 * straightforward model. */
static void test_random_against_model(void **state)
{
    (void)state;
    enum { N = 20000 };
    aw_offset_tracker *t = aw_offset_tracker_new();
    int64_t *order = malloc(N * sizeof(*order));
    char *done = calloc(N, 1);
    for (int64_t i = 0; i < N; i++) {
        assert_int_equal(aw_offset_tracker_add(t, i * 2), 0); /* every other offset */
        order[i] = i;
    }
    uint64_t x = 88172645463325252ull;
    for (int64_t i = N - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t k = (int64_t)(x % (uint64_t)(i + 1));
        int64_t tmp = order[i];
        order[i] = order[k];
        order[k] = tmp;
    }
    int64_t prefix = 0;
    for (int64_t i = 0; i < N; i++) {
        assert_int_equal(aw_offset_tracker_mark_done(t, order[i] * 2), 0);
        done[order[i]] = 1;
        while (prefix < N && done[prefix])
            prefix++;
        int64_t want = prefix < N ? prefix * 2 : (N - 1) * 2 + 1;
        assert_int_equal(aw_offset_tracker_committable(t), want);
        assert_int_equal(aw_offset_tracker_in_flight(t), (size_t)(N - prefix));
    }
    free(order);
    free(done);
    aw_offset_tracker_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order_holds_prefix),
        cmocka_unit_test(test_gaps_and_refusals),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
