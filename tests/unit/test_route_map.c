/* The route map (worker/route_map.h): which worker holds each hash's jobs
 * in flight. Checked against a plain array model through growth, probe
 * runs that wrap around the table's end, and deletions by backward shift. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/route_map.h"

static void test_counts_until_last_job_leaves(void **state)
{
    (void)state;
    aw_route_map m = {0};
    assert_int_equal(aw_route_map_find(&m, 42), -1);
    assert_int_equal(aw_route_map_add(&m, 42, 3), 0);
    assert_int_equal(aw_route_map_add(&m, 42, 3), 0);
    assert_int_equal(aw_route_map_find(&m, 42), 3);
    aw_route_map_remove(&m, 42);
    assert_int_equal(aw_route_map_find(&m, 42), 3); /* one still in flight */
    aw_route_map_remove(&m, 42);
    assert_int_equal(aw_route_map_find(&m, 42), -1);
    assert_int_equal(m.used, 0);
    /* Free again: any worker may take it now. */
    assert_int_equal(aw_route_map_add(&m, 42, 5), 0);
    assert_int_equal(aw_route_map_find(&m, 42), 5);
    /* Hash 0 is a hash like any other. */
    assert_int_equal(aw_route_map_find(&m, 0), -1);
    assert_int_equal(aw_route_map_add(&m, 0, 1), 0);
    assert_int_equal(aw_route_map_find(&m, 0), 1);
    aw_route_map_free(&m);
}

/* Hashes that all share a home slot near the table's end: one probe run
 * that wraps around, emptied from the middle. */
static void test_wrapping_run_survives_removals(void **state)
{
    (void)state;
    aw_route_map m = {0};
    assert_int_equal(aw_route_map_add(&m, 1, 0), 0); /* allocates the table */
    uint64_t cap = m.cap, base = cap - 2;
    uint64_t h[6];
    for (int i = 0; i < 6; i++) {
        h[i] = base + cap * (uint64_t)(i + 1); /* home slot cap - 2 */
        assert_int_equal(aw_route_map_add(&m, h[i], (uint32_t)i), 0);
    }
    assert_int_equal(m.cap, cap); /* still the first table */
    for (int i = 0; i < 6; i += 2)
        aw_route_map_remove(&m, h[i]);
    for (int i = 0; i < 6; i++)
        assert_int_equal(aw_route_map_find(&m, h[i]), i % 2 ? i : -1);
    assert_int_equal(aw_route_map_find(&m, 1), 0);
    aw_route_map_free(&m);
}

/* Random adds and removes over a small key space, through several
 * doublings, against a model. */
static void test_matches_model(void **state)
{
    (void)state;
    enum { KEYS = 5000, STEPS = 200000 };
    uint32_t *count = calloc(KEYS, sizeof(*count)), *owner = calloc(KEYS, sizeof(*owner));
    assert_non_null(count);
    assert_non_null(owner);
    aw_route_map m = {0};
    uint64_t seed = 88172645463325252ULL;
    for (int s = 0; s < STEPS; s++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        size_t k = (size_t)(seed % KEYS);
        /* Keys spread over the high bits too, and some alike in the low
         * ones, so probe runs form. */
        uint64_t hash = ((uint64_t)k * 0x9E3779B97F4A7C15ULL) & ~(uint64_t)0xF0;
        bool add = ((seed >> 32) % 2) == 0 || count[k] == 0;
        if (add) {
            uint32_t w = count[k] ? owner[k] : (uint32_t)((seed >> 40) % 8);
            assert_int_equal(aw_route_map_add(&m, hash, w), 0);
            owner[k] = w;
            count[k]++;
        } else {
            aw_route_map_remove(&m, hash);
            count[k]--;
        }
        if (s % 1000 == 0 || s == STEPS - 1) {
            size_t live = 0;
            for (size_t i = 0; i < KEYS; i++) {
                uint64_t hi = ((uint64_t)i * 0x9E3779B97F4A7C15ULL) & ~(uint64_t)0xF0;
                assert_int_equal(aw_route_map_find(&m, hi), count[i] ? (long)owner[i] : -1);
                live += count[i] > 0;
            }
            assert_int_equal(m.used, live);
            assert_true(m.used * 2 <= m.cap);
        }
    }
    aw_route_map_free(&m);
    free(count);
    free(owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_until_last_job_leaves),
        cmocka_unit_test(test_wrapping_run_survives_removals),
        cmocka_unit_test(test_matches_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
