/* Response parsing and URL parsing of the DynamoDB state backend (pure):
 * the one error mapping, items, Query pages, the table check, and the URL
 * (credentials, endpoint, environment fallback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef AW_WITH_STATE_DYNAMODB
#include "backends/state/dynamodb/ddb_parse.h"
#include "backends/state/dynamodb/ddb_url.h"
#include "common/aw_log.h"

#define ERR(t, m) "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" t "\",\"message\":\"" m "\"}"

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        long http;
        const char *body;
        aw_status want;
        bool throttled;
    } cases[] = {
        {200, "{}", AW_OK, false},
        {400, ERR("ConditionalCheckFailedException", "The conditional request failed"),
         AW_CONFLICT, false},
        {400, ERR("ProvisionedThroughputExceededException", "slow down"), AW_TRANSIENT, true},
        {400, "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\"}", AW_TRANSIENT,
         true},
        {400, ERR("RequestLimitExceeded", "account limit"), AW_TRANSIENT, true},
        {500, ERR("InternalServerError", "boom"), AW_TRANSIENT, false},
        {503, "<html>Service Unavailable</html>", AW_TRANSIENT, false},
        {502, "", AW_TRANSIENT, false},
        {429, "", AW_TRANSIENT, true},
        {400, ERR("ResourceNotFoundException", "Requested resource not found"), AW_NOT_FOUND,
         false},
        {400, ERR("ResourceInUseException", "Table already exists"), AW_CONFLICT, false},
        {400, "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\"}", AW_CONFIG,
         false},
        {403, "{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\"}", AW_CONFIG,
         false},
        {400, "{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}",
         AW_UNSUPPORTED, false},
        {400, "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":"
              "\"Item size has exceeded the maximum allowed size\"}",
         AW_PERMANENT, false},
        {404, "", AW_PERMANENT, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_error err = {0};
        bool thr = !cases[i].throttled;
        char type[64];
        aw_status got = aw_ddb_classify(cases[i].http, cases[i].body, strlen(cases[i].body), &thr,
                                        type, sizeof(type), &err);
        if (got != cases[i].want || thr != cases[i].throttled)
            fail_msg("case %zu (%ld %s): %s throttled=%d, want %s throttled=%d", i, cases[i].http,
                     cases[i].body, aw_status_name(got), thr, aw_status_name(cases[i].want),
                     cases[i].throttled);
        if (got == AW_TRANSIENT)
            assert_true(err.retriable);
    }
    /* The server's message reaches the caller. */
    aw_error err = {0};
    const char *b = "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":"
                    "\"One or more parameter values were invalid\"}";
    assert_int_equal(aw_ddb_classify(400, b, strlen(b), NULL, NULL, 0, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "ValidationException: One or more parameter values"));
}

static void test_record(void **state)
{
    (void)state;
    const char *b = "{\"Item\":{\"pk\":{\"B\":\"cA==\"},\"sk\":{\"B\":\"PWFi\"},"
                    "\"aw_val\":{\"B\":\"AAEC\"},\"aw_ver\":{\"N\":\"3\"},"
                    "\"aw_exp_ms\":{\"N\":\"1000\"},\"aw_tok\":{\"N\":\"18446744073709551615\"},"
                    "\"aw_st\":{\"S\":\"D\"},\"aw_sum\":{\"B\":\"e30=\"},"
                    "\"aw_topic\":{\"B\":\"dA==\"},\"aw_part\":{\"N\":\"2\"},"
                    "\"aw_off\":{\"N\":\"-1\"}}}";
    aw_ddb_record r;
    aw_error err = {0};
    assert_int_equal(aw_ddb_parse_record(b, strlen(b), "Item", &r, &err), AW_OK);
    assert_true(r.present);
    assert_int_equal(r.val_len, 3);
    assert_memory_equal(r.val, "\0\1\2", 3);
    assert_int_equal(r.ver, 3);
    assert_true(r.tok == UINT64_MAX);
    assert_int_equal(r.st, 'D');
    assert_string_equal(r.sum, "{}");
    assert_string_equal(r.topic, "t");
    assert_int_equal(r.part, 2);
    assert_int_equal(r.off, -1);
    assert_int_equal(r.sk_len, 3);
    assert_memory_equal(r.sk, "=ab", 3);
    assert_true(aw_ddb_record_live(&r, 999));
    assert_false(aw_ddb_record_live(&r, 1000)); /* expiry is inclusive */
    aw_ddb_record_clear(&r);

    /* A counter reads as its decimal text. */
    b = "{\"Attributes\":{\"aw_num\":{\"N\":\"-9223372036854775808\"},\"aw_ver\":{\"N\":\"1\"}}}";
    assert_int_equal(aw_ddb_parse_record(b, strlen(b), "Attributes", &r, &err), AW_OK);
    assert_true(r.is_num);
    assert_true(r.num == INT64_MIN);
    assert_string_equal(r.val, "-9223372036854775808");
    assert_true(aw_ddb_record_live(&r, INT64_MAX)); /* no expiry: never expires */
    aw_ddb_record_clear(&r);

    assert_int_equal(aw_ddb_parse_record("{}", 2, "Item", &r, &err), AW_OK);
    assert_false(r.present);
    assert_int_equal(aw_ddb_parse_record("nope", 4, "Item", &r, &err), AW_INTERNAL);
    b = "{\"Item\":{\"aw_val\":{\"B\":\"not base64!\"}}}";
    assert_int_equal(aw_ddb_parse_record(b, strlen(b), "Item", &r, &err), AW_INTERNAL);
    b = "{\"Item\":{\"aw_ver\":{\"N\":\"1.5\"}}}";
    assert_int_equal(aw_ddb_parse_record(b, strlen(b), "Item", &r, &err), AW_INTERNAL);
}

static int count_items(void *ud, const aw_ddb_record *r)
{
    (void)r;
    return ++*(int *)ud == 2;
}

static void test_query(void **state)
{
    (void)state;
    const char *b = "{\"Items\":[{\"sk\":{\"B\":\"PWE=\"}},{\"sk\":{\"B\":\"PWI=\"}},"
                    "{\"sk\":{\"B\":\"PWM=\"}}],\"LastEvaluatedKey\":{\"pk\":{\"B\":\"cA==\"}}}";
    int n = 0;
    bool stopped;
    char *next = NULL;
    aw_error err = {0};
    assert_int_equal(aw_ddb_parse_query(b, strlen(b), count_items, &n, &stopped, &next, &err),
                     AW_OK);
    assert_int_equal(n, 2);
    assert_true(stopped);
    assert_null(next); /* stopped: no next page */
    b = "{\"Items\":[],\"LastEvaluatedKey\":{\"pk\":{\"B\":\"cA==\"}}}";
    assert_int_equal(aw_ddb_parse_query(b, strlen(b), count_items, &n, &stopped, &next, &err),
                     AW_OK);
    assert_non_null(strstr(next, "cA=="));
    free(next);
    assert_int_equal(aw_ddb_parse_query("{}", 2, count_items, &n, &stopped, &next, &err),
                     AW_INTERNAL);
    /* ScannedCount: the items read before the filter (due_stats). */
    uint64_t scanned = 7;
    n = 0;
    b = "{\"Items\":[{\"aw_due\":{\"N\":\"5\"}}],\"Count\":1,\"ScannedCount\":42}";
    assert_int_equal(aw_ddb_parse_query_scanned(b, strlen(b), count_items, &n, &stopped, &next,
                                                &scanned, &err),
                     AW_OK);
    assert_int_equal(scanned, 42);
    assert_int_equal(n, 1);
    assert_null(next);
    b = "{\"Items\":[]}";
    assert_int_equal(aw_ddb_parse_query_scanned(b, strlen(b), count_items, &n, &stopped, &next,
                                                &scanned, &err),
                     AW_OK);
    assert_int_equal(scanned, 0);
}

static void test_table(void **state)
{
    (void)state;
    const char *ok =
        "{\"Table\":{\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":"
        "\"B\"},{\"AttributeName\":\"sk\",\"AttributeType\":\"B\"}],\"KeySchema\":[{"
        "\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":"
        "\"RANGE\"}],\"TableStatus\":\"CREATING\"}}";
    const char *other =
        "{\"Table\":{\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":"
        "\"S\"}],\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
        "\"TableStatus\":\"ACTIVE\"}}";
    bool active = true;
    aw_error err = {0};
    assert_int_equal(aw_ddb_parse_table(ok, strlen(ok), "t", &active, &err), AW_OK);
    assert_false(active);
    assert_int_equal(aw_ddb_parse_table(other, strlen(other), "t", &active, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "not this backend's table"));
    bool en = false;
    const char *ttl = "{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"ENABLED\","
                      "\"AttributeName\":\"expires_at\"}}";
    assert_int_equal(aw_ddb_parse_ttl(ttl, strlen(ttl), "expires_at", &en, &err), AW_OK);
    assert_true(en);
    ttl = "{\"TimeToLiveDescription\":{\"TimeToLiveStatus\":\"DISABLED\"}}";
    assert_int_equal(aw_ddb_parse_ttl(ttl, strlen(ttl), "expires_at", &en, &err), AW_OK);
    assert_false(en);
}

static const char *fake_env(const char *name)
{
    if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
        return "ENVKEY";
    if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
        return "ENVSECRET";
    if (strcmp(name, "AWS_SESSION_TOKEN") == 0)
        return "ENVTOKEN";
    return NULL;
}

static void test_url(void **state)
{
    (void)state;
    aw_ddb_url u;
    aw_error err = {0};
    assert_int_equal(aw_ddb_url_parse("dynamodb://eu-west-1/acteon_state", fake_env, &u, &err),
                     AW_OK);
    assert_string_equal(u.region, "eu-west-1");
    assert_string_equal(u.table, "acteon_state");
    assert_string_equal(u.endpoint, "https://dynamodb.eu-west-1.amazonaws.com");
    assert_string_equal(u.access_key_id, "ENVKEY");
    assert_string_equal(u.secret_access_key, "ENVSECRET");
    assert_string_equal(u.session_token, "ENVTOKEN");
    aw_ddb_url_clear(&u);

    /* URL credentials win (percent-decoded); endpoint override. */
    assert_int_equal(aw_ddb_url_parse("dynamodb://AK:se%2Fcr%2Bet@us-east-1/tbl?endpoint=http://"
                                      "127.0.0.1:8000&token=T%3D",
                                      fake_env, &u, &err),
                     AW_OK);
    assert_string_equal(u.access_key_id, "AK");
    assert_string_equal(u.secret_access_key, "se/cr+et");
    assert_string_equal(u.endpoint, "http://127.0.0.1:8000");
    assert_string_equal(u.session_token, "T=");
    aw_ddb_url_clear(&u);

    static const char *const bad[] = {
        "redis://x/y",
        "dynamodb://us-east-1",
        "dynamodb:///tbl",
        "dynamodb://us-east-1/ab",
        "dynamodb://us-east-1/tbl?endpoint=ftp://x",
        "dynamodb://us-east-1/tbl?region=x",
        "dynamodb://nocolon@us-east-1/tbl",
        "dynamodb://a:b%zz@us-east-1/tbl",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (aw_ddb_url_parse(bad[i], fake_env, &u, &err) != AW_CONFIG)
            fail_msg("%s was accepted", bad[i]);
    /* No credentials anywhere: refused, saying where to put them. */
    assert_int_equal(aw_ddb_url_parse("dynamodb://us-east-1/tbl", NULL, &u, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));

    /* Logged URLs never carry the secret or the token. */
    char red[256];
    aw_redact_url("dynamodb://AKID:s3cr3t@us-east-1/tbl?endpoint=http://h:1&token=t0k3n", red,
                  sizeof(red));
    assert_null(strstr(red, "s3cr3t"));
    assert_null(strstr(red, "t0k3n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify), cmocka_unit_test(test_record),
        cmocka_unit_test(test_query),    cmocka_unit_test(test_table),
        cmocka_unit_test(test_url),
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
