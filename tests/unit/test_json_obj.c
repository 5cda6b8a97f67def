/* The JSON object writer (common/aw_json_obj.h): byte for byte what
 * jansson's json_dumps(JSON_COMPACT) writes for the same members, the
 * members jansson would refuse left out where asked, a closed object
 * reopened, and the sticky failure that leaves the buffer as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "common/aw_json_obj.h"

static void assert_same_as_jansson(const aw_buf *b, json_t *tree)
{
    char *want = json_dumps(tree, JSON_COMPACT);
    assert_non_null(want);
    assert_string_equal(b->data, want);
    free(want);
    json_decref(tree);
}

static void test_members_as_jansson(void **state)
{
    (void)state;
    const char *text = "quote\" back\\ tab\t nl\n ctl\x01 del\x7f utf8 \xc3\xa9 \xf0\x9f\x98\x80 /";
    aw_buf b = {0};
    aw_buf_puts(&b, "prefix:");
    aw_json_obj o;
    aw_json_obj_begin(&o, &b);
    aw_json_obj_int(&o, "n", -9223372036854775807LL - 1);
    aw_json_obj_cstr(&o, "s", text);
    aw_json_obj_open(&o, "inner");
    aw_json_obj_int(&o, "zero", 0);
    aw_json_obj_open(&o, "empty");
    aw_json_obj_close(&o);
    aw_json_obj_close(&o);
    aw_json_obj_true(&o, "flag");
    aw_json_obj_cstr_or_skip(&o, "bad", "\xff\xfe");
    aw_json_obj_cstr_or_skip(&o, "none", NULL);
    aw_json_obj_raw(&o, "raw", "[1,2]");
    assert_int_equal(aw_json_obj_end(&o), 0);
    assert_memory_equal(b.data, "prefix:", 7);

    json_t *t = json_object(), *inner = json_object();
    json_object_set_new(t, "n", json_integer(-9223372036854775807LL - 1));
    json_object_set_new(t, "s", json_string(text));
    json_object_set_new(inner, "zero", json_integer(0));
    json_object_set_new(inner, "empty", json_object());
    json_object_set_new(t, "inner", inner);
    json_object_set_new(t, "flag", json_true());
    json_object_set_new(t, "bad", json_string("\xff\xfe")); /* refused: left out */
    json_object_set_new(t, "raw", json_pack("[ii]", 1, 2));
    aw_buf rest = {0};
    aw_buf_puts(&rest, b.data + 7);
    assert_same_as_jansson(&rest, t);
    aw_buf_free(&rest);
    aw_buf_free(&b);
}

static void test_reopen(void **state)
{
    (void)state;
    aw_buf b = {0};
    aw_buf_puts(&b, "{\"attempts\":1}");
    aw_json_obj o;
    aw_json_obj_reopen(&o, &b, 0);
    aw_json_obj_true(&o, "lease_lost");
    assert_int_equal(aw_json_obj_end(&o), 0);
    assert_string_equal(b.data, "{\"attempts\":1,\"lease_lost\":true}");
    aw_buf_reset(&b);
    aw_buf_puts(&b, "{}");
    aw_json_obj_reopen(&o, &b, 0);
    aw_json_obj_true(&o, "x");
    assert_int_equal(aw_json_obj_end(&o), 0);
    assert_string_equal(b.data, "{\"x\":true}");
    aw_buf_reset(&b);
    aw_buf_puts(&b, "[1]"); /* not an object: refused */
    aw_json_obj_reopen(&o, &b, 0);
    aw_json_obj_true(&o, "x");
    assert_int_equal(aw_json_obj_end(&o), -1);
    assert_int_equal(b.len, 0);
    aw_buf_free(&b);
}

/* A required string that is not UTF-8 fails the whole object; what was
 * in the buffer before it stays, and later calls change nothing. */
static void test_sticky_failure(void **state)
{
    (void)state;
    aw_buf b = {0};
    aw_buf_puts(&b, "keep");
    aw_json_obj o;
    aw_json_obj_begin(&o, &b);
    aw_json_obj_int(&o, "a", 1);
    aw_json_obj_cstr(&o, "bad", "\xc0\xaf");
    aw_json_obj_int(&o, "b", 2);
    aw_json_obj_open(&o, "c");
    aw_json_obj_close(&o);
    assert_true(o.failed);
    assert_int_equal(aw_json_obj_end(&o), -1);
    assert_string_equal(b.data, "keep");
    /* an unclosed nested object is a failure too */
    aw_json_obj_begin(&o, &b);
    aw_json_obj_open(&o, "c");
    assert_int_equal(aw_json_obj_end(&o), -1);
    assert_string_equal(b.data, "keep");
    aw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_as_jansson),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_sticky_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
