/* common/aw_registry.c: lookup by name, the valid names on an unknown one,
 * a name registered twice refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/aw_registry.h"

typedef struct entry {
    const char *name;
} entry;

static const char *name_of(const void *e) { return ((const entry *)e)->name; }

static const entry a = {"alpha"}, b = {"beta"}, b2 = {"beta"};

static void test_lookup(void **state)
{
    (void)state;
    static const entry *const table[] = {&a, &b, NULL};
    static aw_registry r = AW_REGISTRY_INIT(table, name_of);
    aw_error err = {0};
    const void *out = NULL;
    assert_ptr_equal(aw_registry_find(&r, "beta"), &b);
    assert_null(aw_registry_find(&r, "gamma"));
    assert_null(aw_registry_find(&r, NULL));
    assert_int_equal(aw_registry_lookup(&r, "alpha", "x.backend", &out, &err), AW_OK);
    assert_ptr_equal(out, &a);
    assert_int_equal(aw_registry_lookup(&r, "gamma", "x.backend", &out, &err), AW_CONFIG);
    assert_null(out);
    assert_string_equal(err.msg, "x.backend: unknown backend \"gamma\" (valid: alpha, beta)");
    assert_string_equal(aw_registry_names(&r), "alpha, beta");
}

static void test_duplicate_refused(void **state)
{
    (void)state;
    static const entry *const table[] = {&a, &b, &b2, NULL};
    static aw_registry r = AW_REGISTRY_INIT(table, name_of);
    aw_error err = {0};
    const void *out = &a;
    assert_int_equal(aw_registry_lookup(&r, "beta", "x.backend", &out, &err), AW_INTERNAL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "registered twice"));
    assert_null(aw_registry_find(&r, "beta"));
    assert_ptr_equal(aw_registry_find(&r, "alpha"), &a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_duplicate_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
