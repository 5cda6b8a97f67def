/* The state key layout (common/aw_key.c): <len>:<ns><len>:<tenant><len>:<kind><id>,
 * appended to what the buffer holds, and read back by aw_key_decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/aw_buf.h"
#include "common/aw_key.h"

static void test_encode_layout(void **state)
{
    (void)state;
    aw_buf b = {0};
    assert_int_equal(aw_buf_append(&b, "pfx|d", 5), 0);
    assert_int_equal(aw_key_encode(&b, "bench", "t:1", "dedup", "id-42"), 0);
    assert_string_equal(b.data, "pfx|d5:bench3:t:15:dedupid-42");
    assert_int_equal(b.len, strlen("pfx|d5:bench3:t:15:dedupid-42"));
    /* A NULL id is the empty id; empty parts and ten-byte lengths too. */
    aw_buf_reset(&b);
    assert_int_equal(aw_key_encode(&b, "", "0123456789", "k", NULL), 0);
    assert_string_equal(b.data, "0:10:01234567891:k");
    aw_buf_free(&b);
}

static void test_encode_decode(void **state)
{
    (void)state;
    const char *id = "a:b:c";
    char tenant[300];
    memset(tenant, 'x', sizeof tenant - 1);
    tenant[sizeof tenant - 1] = '\0';
    aw_buf b = {0};
    assert_int_equal(aw_key_encode(&b, "ns", tenant, "lock", id), 0);
    const char *ns, *t, *kind, *got_id;
    size_t ns_len, t_len, kind_len, id_len;
    assert_int_equal(aw_key_decode(b.data, b.len, &ns, &ns_len, &t, &t_len, &kind, &kind_len,
                                   &got_id, &id_len),
                     0);
    assert_int_equal(ns_len, 2);
    assert_memory_equal(ns, "ns", 2);
    assert_int_equal(t_len, sizeof tenant - 1);
    assert_memory_equal(t, tenant, t_len);
    assert_int_equal(kind_len, 4);
    assert_memory_equal(kind, "lock", 4);
    assert_int_equal(id_len, strlen(id));
    assert_memory_equal(got_id, id, id_len);
    aw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_encode_layout),
                                       cmocka_unit_test(test_encode_decode)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
