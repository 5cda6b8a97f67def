/* Per-key ordering in a worker's micro-batch selection: a job never
 * overtakes an earlier job of its identity; identities leased elsewhere wait
 * without holding up others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* The rule, written the obvious way: a job is blocked by any earlier job of
 * its identity. */
static size_t reference_select(aw_job *const *pending, size_t n, aw_job **out, size_t max,
                               int64_t now)
{
    size_t picked = 0;
    for (size_t i = 0; i < n && picked < max; i++) {
        const aw_job *j = pending[i];
        bool blocked = false;
        for (size_t k = 0; k < i && !j->rejected && !blocked; k++)
            blocked = !pending[k]->rejected && strcmp(pending[k]->action.id, j->action.id) == 0;
        if (!blocked && j->not_before_mono <= now)
            out[picked++] = pending[i];
    }
    return picked;
}

static void test_matches_the_pairwise_rule(void **state)
{
    (void)state;
    /* 1,500 jobs (past the inline hash table), 300 identities sharing 50
     * hashes (so the first job of a hash is often of another identity),
     * some rejected, some not due yet. */
    enum { N = 1500 };
    static aw_job jobs[N];
    static aw_job *pending[N], *got[N], *want[N];
    static char ids[N][8];
    uint64_t rnd = 42;
    for (size_t i = 0; i < N; i++) {
        rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned ident = (unsigned)(rnd >> 33) % 300;
        snprintf(ids[i], sizeof ids[i], "k%u", ident);
        jobs[i] = make("n", "t", ids[i], (ident % 50) * 0x9e3779b97f4a7c15ULL);
        jobs[i].rejected = (rnd >> 20) % 17 == 0;
        jobs[i].not_before_mono = (rnd >> 24) % 5 == 0 ? 200 : 0;
        pending[i] = &jobs[i];
    }
    for (size_t n = 1; n <= N; n = n * 3 + 1) {
        size_t maxes[] = {n, 40};
        for (size_t m = 0; m < 2; m++) {
            int64_t due;
            size_t g = aw_batch_select(pending, n, got, maxes[m], 100, &due);
            size_t w = reference_select(pending, n, want, maxes[m], 100);
            assert_int_equal(g, w);
            for (size_t i = 0; i < g; i++)
                assert_ptr_equal(got[i], want[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_identity_serialised),
        cmocka_unit_test(test_hash_collision_is_not_identity),
        cmocka_unit_test(test_busy_waits_without_blocking_others),
        cmocka_unit_test(test_rejected_never_block_and_max_respected),
        cmocka_unit_test(test_matches_the_pairwise_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
