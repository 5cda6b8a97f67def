/* Request bodies of the DynamoDB state backend (pure builders): the
 * conditions that carry the guarantees (one winner per claim, expiry in
 * every condition, fencing tokens drawn in the same request) are checked
 * as the exact JSON the server receives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef AW_WITH_STATE_DYNAMODB
#include <jansson.h>

#include "backends/state/dynamodb/ddb_request.h"

static const aw_ddb_key KEY = {"pk\x01", 3, "-", 1}; /* base64: cGsB, LQ== */
#define NOW 1700000000123LL

static json_t *parse(char *s)
{
    assert_non_null(s);
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("not JSON (%s): %s", e.text, s);
    free(s);
    return j;
}

static const char *str(json_t *j, const char *path1, const char *path2)
{
    json_t *v = json_object_get(j, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static const char *val(json_t *j, const char *name, const char *type)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(j, "ExpressionAttributeValues"), name),
                        type));
}

static void test_claim(void **state)
{
    (void)state;
    json_t *j = parse(aw_ddb_build_acquire("tbl", &KEY, true, 30000, NOW));
    assert_string_equal(str(j, "TableName", NULL), "tbl");
    assert_string_equal(str(json_object_get(j, "Key"), "pk", "B"), "cGsB");
    assert_string_equal(str(json_object_get(j, "Key"), "sk", "B"), "LQ==");
    /* One conditional write: absent or expired at the caller's clock. */
    assert_string_equal(str(j, "ConditionExpression", NULL),
                        "attribute_not_exists(pk) OR aw_exp_ms <= :now");
    /* The fencing token is drawn by the same request. */
    assert_string_equal(str(j, "UpdateExpression", NULL),
                        "SET aw_tok = if_not_exists(aw_tok, :seed) + :one, aw_st = :L, "
                        "aw_exp_ms = :exp, expires_at = :ttl REMOVE aw_sum, aw_topic, aw_part, "
                        "aw_off");
    assert_string_equal(val(j, ":now", "N"), "1700000000123");
    assert_string_equal(val(j, ":exp", "N"), "1700000030123");
    /* TTL seconds: the expiry rounded up, plus the token grace. */
    assert_string_equal(val(j, ":ttl", "N"), "1700003631");
    assert_string_equal(val(j, ":seed", "N"), "1700000000123000");
    assert_string_equal(val(j, ":L", "S"), "L");
    assert_string_equal(str(j, "ReturnValues", NULL), "UPDATED_NEW");
    json_decref(j);
}

static void test_lock_without_ttl(void **state)
{
    (void)state;
    json_t *j = parse(aw_ddb_build_acquire("tbl", &KEY, false, 0, NOW));
    assert_string_equal(str(j, "UpdateExpression", NULL),
                        "SET aw_tok = if_not_exists(aw_tok, :seed) + :one REMOVE aw_exp_ms, "
                        "expires_at");
    assert_null(val(j, ":exp", "N"));
    json_decref(j);
}

static void test_holder_conditions(void **state)
{
    (void)state;
    json_t *j = parse(aw_ddb_build_hold("tbl", &KEY, true, 42, AW_DDB_HOLD_EXTEND, 5000, NOW));
    assert_string_equal(str(j, "ConditionExpression", NULL),
                        "aw_st = :L AND aw_tok = :t AND aw_exp_ms > :now");
    assert_string_equal(val(j, ":t", "N"), "42");
    json_decref(j);
    j = parse(aw_ddb_build_hold("tbl", &KEY, false, 7, AW_DDB_HOLD_RELEASE, 0, NOW));
    assert_string_equal(str(j, "ConditionExpression", NULL),
                        "aw_tok = :t AND NOT aw_exp_ms <= :now");
    /* Released = expired now; the item (and its token counter) stays. */
    assert_string_equal(str(j, "UpdateExpression", NULL),
                        "SET aw_exp_ms = :now, expires_at = :ttl");
    json_decref(j);
}

static void test_complete(void **state)
{
    (void)state;
    json_t *j = parse(aw_ddb_build_complete("tbl", &KEY, 9, "topic\"x", 3, 77, "{\"ok\":true}",
                                            0, NOW));
    assert_string_equal(str(j, "ConditionExpression", NULL),
                        "aw_st = :L AND aw_tok = :t AND aw_exp_ms > :now");
    /* window 0: kept forever. */
    assert_string_equal(str(j, "UpdateExpression", NULL),
                        "SET aw_st = :D, aw_sum = :sum, aw_topic = :topic, aw_part = :part, "
                        "aw_off = :off REMOVE aw_exp_ms, expires_at");
    assert_string_equal(val(j, ":topic", "B"), "dG9waWMieA==");
    assert_string_equal(val(j, ":part", "N"), "3");
    assert_string_equal(val(j, ":off", "N"), "77");
    json_decref(j);
}

/* The due index: every write conditional on the lease, the take's lease
 * also on the due time read; no expires_at anywhere (DynamoDB's TTL must
 * never delete a waiting item). */
static void test_due(void **state)
{
    (void)state;
    json_t *j = parse(aw_ddb_build_due_put("tbl", &KEY, 55, "v", 1, NOW));
    assert_string_equal(str(j, "ConditionExpression", NULL), "NOT aw_exp_ms > :now");
    assert_string_equal(str(j, "UpdateExpression", NULL),
                        "SET aw_val = :v, aw_due = :d REMOVE aw_exp_ms");
    assert_string_equal(val(j, ":d", "N"), "55");
    json_decref(j);
    j = parse(aw_ddb_build_due_lease("tbl", &KEY, 55, 30000, NOW));
    assert_string_equal(str(j, "ConditionExpression", NULL),
                        "aw_due = :d AND NOT aw_exp_ms > :now");
    assert_string_equal(str(j, "UpdateExpression", NULL),
                        "SET aw_tok = if_not_exists(aw_tok, :seed) + :one, aw_exp_ms = :exp");
    assert_string_equal(val(j, ":exp", "N"), "1700000030123");
    assert_string_equal(val(j, ":seed", "N"), "1700000000123000");
    assert_string_equal(str(j, "ReturnValues", NULL), "ALL_NEW");
    char *text = json_dumps(j, 0);
    assert_non_null(text);
    assert_null(strstr(text, "expires_at"));
    free(text);
    json_decref(j);
    j = parse(aw_ddb_build_due_query("tbl", "pk\x01", 3, 99, NOW, NULL));
    assert_string_equal(str(j, "KeyConditionExpression", NULL), "pk = :p");
    assert_string_equal(str(j, "FilterExpression", NULL),
                        "aw_due <= :due AND NOT aw_exp_ms > :now");
    assert_true(json_is_true(json_object_get(j, "ConsistentRead")));
    assert_null(json_object_get(j, "ProjectionExpression"));
    json_decref(j);
    /* due_stats: the same query, only aw_due read back. */
    j = parse(aw_ddb_build_due_stats_query("tbl", "pk\x01", 3, 99, NOW, NULL));
    assert_string_equal(str(j, "FilterExpression", NULL),
                        "aw_due <= :due AND NOT aw_exp_ms > :now");
    assert_string_equal(str(j, "ProjectionExpression", NULL), "aw_due");
    assert_string_equal(val(j, ":due", "N"), "99");
    json_decref(j);
    j = parse(aw_ddb_build_due_done("tbl", &KEY, 9, NOW));
    assert_string_equal(str(j, "ConditionExpression", NULL), "aw_tok = :t AND aw_exp_ms > :now");
    assert_null(json_object_get(j, "UpdateExpression"));
    json_decref(j);
    j = parse(aw_ddb_build_due_release("tbl", &KEY, 9, 0, NOW));
    assert_string_equal(str(j, "UpdateExpression", NULL), "SET aw_exp_ms = :now");
    json_decref(j);
    j = parse(aw_ddb_build_due_release("tbl", &KEY, 9, 777, NOW));
    assert_string_equal(str(j, "UpdateExpression", NULL), "SET aw_exp_ms = :now, aw_due = :d");
    assert_string_equal(val(j, ":d", "N"), "777");
    json_decref(j);
}

static void test_values(void **state)
{
    (void)state;
    json_t *j = parse(aw_ddb_build_insert("tbl", &KEY, "", 0, false, 1500, NOW));
    assert_string_equal(str(j, "ConditionExpression", NULL),
                        "attribute_not_exists(pk) OR aw_exp_ms <= :now");
    json_t *item = json_object_get(j, "Item");
    assert_string_equal(str(item, "aw_val", "B"), "");
    assert_string_equal(str(item, "aw_ver", "N"), "1");
    assert_string_equal(str(item, "aw_exp_ms", "N"), "1700000001623");
    assert_string_equal(str(item, "expires_at", "N"), "1700000002");
    json_decref(j);

    j = parse(aw_ddb_build_update_value("tbl", &KEY, "v", 1, 0, 5, NOW));
    assert_string_equal(str(j, "ConditionExpression", NULL),
                        "attribute_exists(pk) AND aw_ver = :ver AND NOT aw_exp_ms <= :now");
    /* No TTL clears the old expiry; a counter representation is dropped. */
    assert_string_equal(str(j, "UpdateExpression", NULL),
                        "SET aw_val = :v, aw_ver = aw_ver + :one REMOVE aw_num, aw_exp_ms, "
                        "expires_at");
    json_decref(j);

    j = parse(aw_ddb_build_increment("tbl", &KEY, 5, NOW));
    assert_string_equal(str(j, "UpdateExpression", NULL), "ADD aw_num :d, aw_ver :one");
    assert_string_equal(val(j, ":lim", "N"), "9223372036854775802");
    json_decref(j);
    j = parse(aw_ddb_build_increment("tbl", &KEY, -1, NOW));
    assert_non_null(strstr(str(j, "ConditionExpression", NULL), "aw_num >= :lim"));
    assert_string_equal(val(j, ":lim", "N"), "-9223372036854775807");
    json_decref(j);
}

static void test_reads(void **state)
{
    (void)state;
    json_t *j = parse(aw_ddb_build_get("tbl", &KEY));
    assert_true(json_is_true(json_object_get(j, "ConsistentRead")));
    json_decref(j);
    j = parse(aw_ddb_build_query("tbl", "p", 1, "=a%", 3, NULL));
    assert_true(json_is_true(json_object_get(j, "ConsistentRead")));
    assert_string_equal(str(j, "KeyConditionExpression", NULL),
                        "pk = :p AND begins_with(sk, :s)");
    assert_string_equal(val(j, ":s", "B"), "PWEl"); /* literal bytes, no wildcard */
    json_decref(j);
    j = parse(aw_ddb_build_query("tbl", "p", 1, "", 0,
                                 "{\"pk\":{\"B\":\"cA==\"},\"sk\":{\"B\":\"PQ==\"}}"));
    assert_string_equal(str(j, "KeyConditionExpression", NULL), "pk = :p");
    assert_string_equal(str(json_object_get(j, "ExclusiveStartKey"), "sk", "B"), "PQ==");
    json_decref(j);
}

static void test_table(void **state)
{
    (void)state;
    json_t *j = parse(aw_ddb_build_create_table("tbl", "{\"BillingMode\":\"PAY_PER_REQUEST\"}"));
    assert_string_equal(str(j, "TableName", NULL), "tbl");
    json_decref(j);
    assert_null(aw_ddb_build_create_table("tbl", "[1]"));
    assert_null(aw_ddb_build_create_table("tbl", "not json"));
    j = parse(aw_ddb_build_update_ttl("tbl", "expires_at"));
    assert_string_equal(str(json_object_get(j, "TimeToLiveSpecification"), "AttributeName", NULL),
                        "expires_at");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim),   cmocka_unit_test(test_lock_without_ttl),
        cmocka_unit_test(test_holder_conditions), cmocka_unit_test(test_complete),
        cmocka_unit_test(test_values),  cmocka_unit_test(test_reads),
        cmocka_unit_test(test_table),   cmocka_unit_test(test_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    printf("the dynamodb backend is not compiled in (WITH_STATE_DYNAMODB=OFF)\n");
    return 0;
}
#endif
