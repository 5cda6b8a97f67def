/* The done record's summary (worker/outcome_details.c, aw_details_summary),
 * written with one reservation and a cursor: byte for byte what the
 * member-by-member writer (common/aw_json_obj.h) makes of the same fields,
 * appended after what the buffer holds, and nothing appended when a string
 * is not valid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/aw_buf.h"
#include "common/aw_json_obj.h"
#include "common/aw_outcome.h"
#include "worker/outcome_details.h"

static int reference(aw_buf *out, aw_outcome outcome, const char *action_id, int64_t attempts,
                     const char *rule, const char *details)
{
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_cstr(&o, "outcome", aw_outcome_name(outcome));
    aw_json_obj_cstr(&o, "action_id", action_id);
    aw_json_obj_int(&o, "attempts", attempts);
    if (rule)
        aw_json_obj_cstr(&o, "rule", rule);
    aw_json_obj_raw(&o, "details", details);
    return aw_json_obj_end(&o);
}

static void same_as_reference(aw_outcome outcome, const char *action_id, int64_t attempts,
                              const char *rule, const char *details)
{
    aw_buf want = {0}, got = {0};
    /* Both after some earlier text, as the pipeline packs summaries. */
    assert_int_equal(aw_buf_append(&want, "prev", 5), 0);
    assert_int_equal(aw_buf_append(&got, "prev", 5), 0);
    int rw = reference(&want, outcome, action_id, attempts, rule, details);
    int rg = aw_details_summary(&got, outcome, action_id, attempts, rule, details);
    assert_int_equal(rg, rw);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len + 1);
    aw_buf_free(&want);
    aw_buf_free(&got);
}

static void test_summary_text(void **state)
{
    (void)state;
    same_as_reference(AW_OUTCOME_EXECUTED, "a-1", 1, NULL, "{}");
    same_as_reference(AW_OUTCOME_FAILED, "id \"quoted\"\n\x01 \xc3\xa9", 3, "r\\1",
                      "{\"status\":500,\"error\":\"x\"}");
    same_as_reference(AW_OUTCOME_SUPPRESSED, NULL, 0, "", "{\"a\":[1,2]}");
    same_as_reference(AW_OUTCOME_EXECUTED, "x", INT64_MIN, NULL, "{}");
    same_as_reference(AW_OUTCOME_EXECUTED, "x", INT64_MAX, "rule", "{}");
}

static void test_summary_invalid_utf8(void **state)
{
    (void)state;
    aw_buf b = {0};
    assert_int_equal(aw_buf_append(&b, "prev", 4), 0);
    assert_int_equal(aw_details_summary(&b, AW_OUTCOME_EXECUTED, "bad \xff", 1, NULL, "{}"), -1);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "prev");
    assert_int_equal(aw_details_summary(&b, AW_OUTCOME_EXECUTED, "ok", 1, "\xc3", "{}"), -1);
    assert_string_equal(b.data, "prev");
    aw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_summary_text),
                                       cmocka_unit_test(test_summary_invalid_utf8)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
