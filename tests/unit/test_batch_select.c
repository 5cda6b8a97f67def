/* Per-key ordering in a worker's micro-batch selection: a job never
 * overtakes an earlier job of its identity; identities leased elsewhere wait
 * without holding up others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "worker/batch_select.h"

static aw_job make(const char *ns, const char *tenant, const char *key, uint64_t hash)
{
    aw_job j;
    memset(&j, 0, sizeof(j));
    j.action.ns = ns;
    j.action.tenant = tenant;
    j.action.id = key;
    j.hash = hash;
    return j;
}

static void test_same_identity_serialised(void **state)
{
    (void)state;
    aw_job a1 = make("n", "t", "a", 1), b = make("n", "t", "b", 2), a2 = make("n", "t", "a", 1);
    aw_job *pending[] = {&a1, &b, &a2};
    aw_job *out[8];
    int64_t due;
    size_t n = aw_batch_select(pending, 3, out, 8, 100, &due);
    assert_int_equal(n, 2);
    assert_ptr_equal(out[0], &a1);
    assert_ptr_equal(out[1], &b);
    assert_true(due == INT64_MAX);
    /* Once a1 is finished, a2 runs. */
    aw_job *rest[] = {&a2};
    assert_int_equal(aw_batch_select(rest, 1, out, 8, 100, &due), 1);
    assert_ptr_equal(out[0], &a2);
}

static void test_hash_collision_is_not_identity(void **state)
{
    (void)state;
    /* Same hash, different identity: both run (hash only narrows). */
    aw_job x = make("n", "t", "x", 7), y = make("n", "t", "y", 7);
    /* Tenants containing ':' do not collide with namespaces. */
    aw_job p = make("a", "b:c", "k", 9), q = make("a:b", "c", "k", 9);
    aw_job *pending[] = {&x, &y, &p, &q};
    aw_job *out[8];
    int64_t due;
    assert_int_equal(aw_batch_select(pending, 4, out, 8, 0, &due), 4);
}

static void test_busy_waits_without_blocking_others(void **state)
{
    (void)state;
    aw_job a1 = make("n", "t", "a", 1), a2 = make("n", "t", "a", 1), b = make("n", "t", "b", 2);
    a1.not_before_mono = 500; /* leased by another replica until then */
    aw_job *pending[] = {&a1, &a2, &b};
    aw_job *out[8];
    int64_t due;
    size_t n = aw_batch_select(pending, 3, out, 8, 100, &due);
    assert_int_equal(n, 1);
    assert_ptr_equal(out[0], &b); /* a2 stays behind a1 */
    assert_int_equal(due, 500);
    n = aw_batch_select(pending, 3, out, 8, 500, &due);
    assert_int_equal(n, 2);
    assert_ptr_equal(out[0], &a1);
    assert_ptr_equal(out[1], &b);
}

static void test_rejected_never_block_and_max_respected(void **state)
{
    (void)state;
    aw_job r1 = make("", "", "", 3), r2 = make("", "", "", 3), c = make("n", "t", "c", 4);
    r1.rejected = r2.rejected = true;
    aw_job *pending[] = {&r1, &r2, &c};
    aw_job *out[8];
    int64_t due;
    assert_int_equal(aw_batch_select(pending, 3, out, 8, 0, &due), 3);
    assert_int_equal(aw_batch_select(pending, 3, out, 2, 0, &due), 2);
    assert_ptr_equal(out[1], &r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_identity_serialised),
        cmocka_unit_test(test_hash_collision_is_not_identity),
        cmocka_unit_test(test_busy_waits_without_blocking_others),
        cmocka_unit_test(test_rejected_never_block_and_max_respected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
