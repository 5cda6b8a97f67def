/* The Elasticsearch audit backend's pure parts, without a server: URL
 * options, the record <-> document mapping, the request bodies (_bulk
 * NDJSON, _search with hostile filter values, the template) and the answer
 * parsers (a 200 _bulk answer with partial failures, error reasons). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "backends/audit/audit_record.h"
#include "backends/audit/elasticsearch/es_conf.h"
#include "backends/audit/elasticsearch/es_doc.h"
#include "backends/audit/elasticsearch/es_request.h"
#include "backends/audit/elasticsearch/es_response.h"

#define T0 1795609478123LL /* 2026-11-25T08:24:38.123Z */

static void make(aw_audit_record *r, const char *id, int64_t ms)
{
    memset(r, 0, sizeof(*r));
    r->record_id = strdup(id);
    r->action_id = strdup("a-1");
    r->ns = strdup("ns");
    r->tenant = strdup("t\xc3\xa9");
    r->provider = strdup("log");
    r->action_type = strdup("notify");
    r->dedup_identity = strdup("ns:t:a-1");
    r->outcome = AW_OUTCOME_DEDUPLICATED;
    r->details = strdup("{\"original_outcome\":\"executed\"}");
    r->payload = NULL;
    r->metadata = strdup("{\"k\":[1,2]}");
    r->source_topic = strdup("topic");
    r->source_partition = 3;
    r->source_offset = 42;
    r->worker_id = strdup("w");
    r->fencing_token = 7;
    r->attempts = 2;
    r->completed_at_ms = ms;
    r->dispatched_at_ms = ms - 10;
    r->duration_ms = 10;
    r->expires_at_ms = ms + 1000;
}

static void test_conf(void **state)
{
    (void)state;
    es_conf c;
    aw_error err = {0};
    assert_int_equal(aw_es_conf_parse("https://u%3Ax:p%40ss@es.example:9243/proxy/?index=aud&"
                                   "refresh=wait_for&ilm=on&ca=/etc/ca.pem&retries=0",
                                   &c, &err),
                     AW_OK);
    assert_string_equal(c.base, "https://es.example:9243/proxy");
    assert_string_equal(c.user, "u:x");
    assert_string_equal(c.password, "p@ss");
    assert_string_equal(c.index, "aud");
    assert_string_equal(c.refresh, "wait_for");
    assert_true(c.ilm);
    assert_string_equal(c.ca_path, "/etc/ca.pem");
    assert_int_equal(c.retries, 0);
    char ix[256];
    aw_es_index_for(&c, T0, ix, sizeof(ix));
    assert_string_equal(ix, "aud-2026.11.25");
    int64_t day;
    assert_int_equal(aw_es_index_day(&c, "aud-2026.11.25", &day), 0);
    assert_int_equal(day, T0 - T0 % 86400000LL);
    assert_int_equal(aw_es_index_day(&c, "aud-x-2026.11.25", &day), -1); /* another prefix */
    assert_int_equal(aw_es_index_day(&c, "aud-2026.02.30", &day), -1);   /* not a day */
    assert_int_equal(aw_es_index_day(&c, "aud-2026.11.250", &day), -1);
    assert_int_equal(aw_es_index_day(&c, "au-2026.11.25", &day), -1);
    /* Times at the ends of int64 (fuzz_es_conf: -INT64_MIN overflowed). */
    aw_es_index_for(&c, -1, ix, sizeof(ix));
    assert_string_equal(ix, "aud-1969.12.31");
    aw_es_index_for(&c, -86400000LL, ix, sizeof(ix));
    assert_string_equal(ix, "aud-1969.12.31");
    aw_es_index_for(&c, INT64_MIN, ix, sizeof(ix));
    assert_int_equal(strncmp(ix, "aud-", 4), 0);
    assert_int_equal(aw_es_index_day(&c, ix, &day), -1);
    aw_es_index_for(&c, INT64_MAX, ix, sizeof(ix));
    assert_int_equal(strncmp(ix, "aud-", 4), 0);
    aw_es_conf_clear(&c);
    assert_int_equal(aw_es_conf_parse("http://h:9200", &c, &err), AW_OK);
    assert_string_equal(c.base, "http://h:9200");
    assert_string_equal(c.index, "acteon-audit");
    assert_string_equal(c.refresh, "false");
    assert_false(c.ilm);
    assert_null(c.user);
    aw_es_conf_clear(&c);
    assert_int_equal(aw_es_conf_parse("http://u:pw@h:9200/?index=A", &c, &err), AW_CONFIG);
    assert_null(strstr(err.msg, "pw"));
}

static void test_doc_roundtrip(void **state)
{
    (void)state;
    aw_audit_record r, back;
    make(&r, "topic:3:42", T0);
    aw_error err = {0};
    json_t *d = aw_es_doc_from_record(&r, &err);
    assert_non_null(d);
    assert_int_equal(json_object_size(d), aw_es_n_fields); /* every mapped field, nothing else */
    for (size_t i = 0; i < aw_es_n_fields; i++)
        assert_non_null(json_object_get(d, aw_es_fields[i].name));
    assert_true(json_is_null(json_object_get(d, "payload")));
    assert_true(json_is_string(json_object_get(d, "details"))); /* text, not an object */
    assert_int_equal(aw_es_doc_to_record(d, &back, &err), AW_OK);
    assert_true(aw_audit_record_equal(&r, &back));
    assert_null(back.payload);
    assert_true(json_is_null(json_object_get(d, "rule"))); /* no rule applied */
    assert_null(back.rule);
    json_decref(d);
    aw_audit_record_clear(&back);
    r.rule = strdup("quiet-hours");
    r.outcome = AW_OUTCOME_SUPPRESSED;
    assert_non_null(d = aw_es_doc_from_record(&r, &err));
    assert_string_equal(json_string_value(json_object_get(d, "rule")), "quiet-hours");
    assert_int_equal(aw_es_doc_to_record(d, &back, &err), AW_OK);
    assert_true(aw_audit_record_equal(&r, &back));
    json_decref(d);
    aw_audit_record_clear(&back);
    free(r.tenant);
    r.tenant = strdup("bad \xff utf-8");
    assert_null(aw_es_doc_from_record(&r, &err));
    assert_int_equal(err.code, AW_PERMANENT);
    aw_audit_record_clear(&r);
}

static void test_bulk_body(void **state)
{
    (void)state;
    es_conf c;
    aw_error err = {0};
    assert_int_equal(aw_es_conf_parse("http://h:1/?index=aud", &c, &err), AW_OK);
    aw_audit_record r[2];
    make(&r[0], "t:0:1", T0);
    make(&r[1], "t:0:\"quoted\"\nline", T0 + 86400000LL);
    size_t idx[] = {1, 0};
    aw_buf b = {0};
    assert_int_equal(aw_es_build_bulk(&c, r, idx, 2, &b, &err), AW_OK);
    assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
    size_t lines = 0;
    for (size_t i = 0; i < b.len; i++)
        lines += b.data[i] == '\n';
    assert_int_equal(lines, 4); /* a newline inside an id is escaped */
    json_t *act = json_loadb(b.data, strcspn(b.data, "\n"), 0, NULL);
    assert_non_null(act);
    assert_string_equal(json_string_value(json_object_get(json_object_get(act, "create"), "_id")),
                        "t:0:\"quoted\"\nline");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(act, "create"), "_index")),
        "aud-2026.11.26");
    json_decref(act);
    aw_buf_free(&b);
    aw_audit_record_clear(&r[0]);
    aw_audit_record_clear(&r[1]);
    aw_es_conf_clear(&c);
}

static void test_search_body(void **state)
{
    (void)state;
    aw_error err = {0};
    char *cursor = aw_audit_cursor_encode(T0, "t:0:9");
    aw_audit_query q = {.ns = "ns", .tenant = "{\"$ne\":null}", .provider = "*",
                        .outcome = AW_OUTCOME_FAILED, .rule = "r' OR 1", .from_ms = 5,
                        .to_ms = 9, .cursor = cursor};
    char *body = NULL;
    assert_int_equal(aw_es_build_search(&q, 11, &body, &err), AW_OK);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "size")), 11);
    json_t *f = json_object_get(json_object_get(json_object_get(j, "query"), "bool"), "filter");
    assert_int_equal(json_array_size(f), 6); /* ns, tenant, provider, rule, outcome, range */
    json_t *rule = json_object_get(json_object_get(json_object_get(json_array_get(f, 3), "term"),
                                                   "rule"),
                                   "value");
    assert_string_equal(json_string_value(rule), "r' OR 1"); /* a term on the keyword */
    json_t *tenant = json_object_get(json_object_get(json_object_get(json_array_get(f, 1), "term"),
                                                     "tenant"),
                                     "value");
    assert_string_equal(json_string_value(tenant), "{\"$ne\":null}"); /* a literal string */
    json_t *sa = json_object_get(j, "search_after");
    assert_int_equal(json_integer_value(json_array_get(sa, 0)), T0);
    assert_string_equal(json_string_value(json_array_get(sa, 1)), "t:0:9");
    json_decref(j);
    free(body);
    aw_audit_record r;
    make(&r, "t:0:\"1\"", T0);
    size_t idx[] = {0};
    assert_int_equal(aw_es_build_ids_search(&r, idx, 1, &body, &err), AW_OK);
    j = json_loads(body, 0, NULL);
    assert_true(json_is_false(json_object_get(j, "_source")));
    f = json_object_get(json_object_get(json_object_get(j, "query"), "bool"), "filter");
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(
                            json_array_get(f, 0), "ids"), "values"), 0)),
                        "t:0:\"1\"");
    json_decref(j);
    free(body);
    aw_audit_record_clear(&r);
    q.cursor = "not a cursor";
    assert_int_equal(aw_es_build_search(&q, 11, &body, &err), AW_PERMANENT);
    free(cursor);
}

static void test_bulk_answer(void **state)
{
    (void)state;
    static const char answer[] =
        "{\"took\":3,\"errors\":true,\"items\":["
        "{\"create\":{\"_index\":\"a\",\"_id\":\"1\",\"status\":201}},"
        "{\"create\":{\"_index\":\"a\",\"_id\":\"2\",\"status\":409,\"error\":{\"type\":"
        "\"version_conflict_engine_exception\",\"reason\":\"[2]: version conflict\"}}},"
        "{\"create\":{\"_index\":\"a\",\"_id\":\"3\",\"status\":429,\"error\":{\"type\":"
        "\"es_rejected_execution_exception\",\"reason\":\"queue full\"}}},"
        "{\"create\":{\"_index\":\"a\",\"_id\":\"4\",\"status\":400,\"error\":{\"type\":"
        "\"mapper_parsing_exception\",\"reason\":\"failed to parse\"}}}]}";
    es_bulk_item it[4];
    aw_error err = {0};
    assert_int_equal(aw_es_parse_bulk(answer, strlen(answer), 4, it, &err), AW_OK);
    assert_int_equal(it[0].status, 201);
    assert_int_equal(it[1].status, 409);
    assert_int_equal(it[2].status, 429);
    assert_string_equal(it[2].reason, "es_rejected_execution_exception: queue full");
    assert_string_equal(it[3].reason, "mapper_parsing_exception: failed to parse");
    assert_int_equal(aw_es_parse_bulk(answer, strlen(answer), 5, it, &err), AW_PERMANENT);
    char why[128];
    static const char e[] = "{\"error\":{\"type\":\"x_exception\",\"reason\":\"why\"},\"status\":400}";
    aw_es_error_reason(e, strlen(e), why, sizeof(why));
    assert_string_equal(why, "x_exception: why");
    aw_es_error_reason("<html>\nbad gateway", 18, why, sizeof(why));
    assert_string_equal(why, "<html> bad gateway");
}

static void test_template(void **state)
{
    (void)state;
    es_conf c;
    aw_error err = {0};
    assert_int_equal(aw_es_conf_parse("http://h:1/?index=aud&ilm=on", &c, &err), AW_OK);
    json_t *t1 = aw_es_build_template(&c, 1000), *t2 = aw_es_build_template(&c, 1000);
    assert_true(json_equal(t1, t2)); /* deterministic: migrate can compare versions */
    json_t *m = json_object_get(json_object_get(t1, "template"), "mappings");
    assert_string_equal(json_string_value(json_object_get(m, "dynamic")), "strict");
    json_t *payload = json_object_get(json_object_get(m, "properties"), "payload");
    assert_true(json_is_false(json_object_get(payload, "index")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                            json_object_get(t1, "template"), "settings"),
                                                          "index.lifecycle.name")),
                        "aud-retention");
    c.shards = 3;
    json_t *t3 = aw_es_build_template(&c, 1000);
    assert_int_not_equal(json_integer_value(json_object_get(t1, "version")),
                         json_integer_value(json_object_get(t3, "version")));
    json_decref(t1);
    json_decref(t2);
    json_decref(t3);
    aw_es_conf_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf),         cmocka_unit_test(test_doc_roundtrip),
        cmocka_unit_test(test_bulk_body),    cmocka_unit_test(test_search_body),
        cmocka_unit_test(test_bulk_answer),  cmocka_unit_test(test_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
