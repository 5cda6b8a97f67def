/* The per-thread scratch arena (common/aw_scratch.c): zeroed, aligned
 * memory that lives until the next reset, overflow blocks when the main
 * block is full, and a main block that grows to what the last unit needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdalign.h>
#include <string.h>

#include "common/aw_scratch.h"

static void assert_zeroed_and_aligned(const void *p, size_t n)
{
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(((const unsigned char *)p)[i], 0);
}

static void test_scratch(void **state)
{
    (void)state;
    aw_scratch s = {0};
    /* First unit: nothing in the main block yet, everything overflows. */
    char *a = aw_scratch_calloc(&s, 100, 1);
    uint64_t *b = aw_scratch_calloc(&s, 1000, sizeof(uint64_t));
    assert_zeroed_and_aligned(a, 100);
    assert_zeroed_and_aligned(b, 1000 * sizeof(uint64_t));
    memset(a, 0xab, 100);
    memset(b, 0xcd, 1000 * sizeof(uint64_t));
    assert_int_equal(a[99], (char)0xab); /* distinct blocks: b did not overwrite a */
    assert_null(aw_scratch_calloc(&s, SIZE_MAX / 2, 4)); /* n * size overflows */
    aw_scratch_reset(&s);
    /* The main block now holds what the first unit needed, and memory handed
     * out again is zeroed although it was written before. */
    assert_true(s.cap >= 100 + 8000);
    assert_null(s.overflow);
    char *c = aw_scratch_calloc(&s, 100, 1);
    uint64_t *d = aw_scratch_calloc(&s, 1000, sizeof(uint64_t));
    assert_zeroed_and_aligned(c, 100);
    assert_zeroed_and_aligned(d, 1000 * sizeof(uint64_t));
    assert_true(c >= s.base && c < s.base + s.cap);
    assert_true((char *)d >= s.base && (char *)d < s.base + s.cap);
    assert_null(s.overflow);
    /* Zero-sized requests still get a distinct pointer. */
    void *z1 = aw_scratch_calloc(&s, 0, 8), *z2 = aw_scratch_calloc(&s, 0, 8);
    assert_non_null(z1);
    assert_ptr_not_equal(z1, z2);
    aw_scratch_free(&s);
    assert_null(s.base);
    aw_scratch_free(&s); /* twice is harmless */
}

/* aw_scratch_alloc: the same arena without the zeroing (what was written
 * before a reset may still be there), aligned, and refusing an overflowing
 * n * size like aw_scratch_calloc. */
static void test_scratch_alloc(void **state)
{
    (void)state;
    aw_scratch s = {0};
    char *a = aw_scratch_alloc(&s, 3, 1);
    uint64_t *b = aw_scratch_alloc(&s, 100, sizeof(uint64_t));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal((uintptr_t)b % alignof(max_align_t), 0);
    assert_null(aw_scratch_alloc(&s, SIZE_MAX / 2, 4));
    aw_scratch_reset(&s);
    uint64_t *c = aw_scratch_alloc(&s, 100, sizeof(uint64_t));
    assert_true((char *)c >= s.base && (char *)c < s.base + s.cap);
    memset(c, 0xee, 100 * sizeof(uint64_t));
    /* calloc after alloc in one unit: still zeroed. */
    assert_zeroed_and_aligned(aw_scratch_calloc(&s, 64, 1), 64);
    aw_scratch_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_scratch),
                                       cmocka_unit_test(test_scratch_alloc)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
