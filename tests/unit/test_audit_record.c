/* Audit record JSON, replies, cursors and limits (backends/audit/audit_record.c),
 * plus the golden record held to schemas/audit-record.schema.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/audit/audit_record.h"

#include "schema_check.inc"

/* ---- fixtures ----------------------------------------------------------- */

/* Records below are views over string literals (C literals are char[]);
 * functions under test only read them. Owned copies use
 * aw_audit_record_copy(). */
static aw_audit_record golden_view(void)
{
    return (aw_audit_record){
        .record_id = "orders:2:1042",
        .action_id = "a-1",
        .ns = "billing",
        .tenant = "globex",
        .provider = "webhook",
        .action_type = "charge",
        .dedup_identity = "billing:globex:invoice-7",
        .outcome = AW_OUTCOME_EXECUTED,
        .details = "{\"provider_status\":200,\"attempts\":1}",
        .payload = "{\"amount_cents\":1999,\"currency\":\"EUR\",\"note\":\"caf\xc3\xa9\"}",
        .metadata = "{\"region\":\"eu-west-1\"}",
        .source_topic = "orders",
        .source_partition = 2,
        .source_offset = 1042,
        .worker_id = "worker-a",
        .fencing_token = 7,
        .attempts = 1,
        .dispatched_at_ms = 1772366400250,
        .completed_at_ms = 1772366401000,
        .duration_ms = 750,
        .expires_at_ms = 1774958401000,
    };
}

static aw_audit_record rejected_view(void)
{
    return (aw_audit_record){
        .record_id = "in:0:0",
        .action_id = "",
        .ns = "",
        .tenant = "",
        .provider = "",
        .action_type = "",
        .dedup_identity = "",
        .outcome = AW_OUTCOME_REJECTED,
        .details = "{\"reason\":\"invalid_json\",\"error\":\"line 1: '}' expected\"}",
        .source_topic = "in",
        .worker_id = "w",
        .dispatched_at_ms = 0,
        .completed_at_ms = 0,
        .expires_at_ms = 0,
    };
}

static aw_audit_record extremes_view(void)
{
    aw_audit_record r = golden_view();
    r.outcome = AW_OUTCOME_DEDUPLICATED;
    r.payload = "null"; /* a present JSON null payload stays present */
    r.metadata = NULL;
    r.details = "{\"original_outcome\":\"failed\",\"nested\":{\"a\":[1,2,{\"b\":null}]}}";
    r.source_partition = INT32_MAX;
    r.source_offset = INT64_MAX;
    r.fencing_token = (uint64_t)INT64_MAX;
    r.attempts = 0;
    r.duration_ms = 0;
    r.dispatched_at_ms = 253402300799999; /* 9999-12-31T23:59:59.999Z */
    r.completed_at_ms = 253402300799999;
    r.expires_at_ms = 253402300799999;
    return r;
}

static aw_audit_record scalar_payload_view(void)
{
    aw_audit_record r = golden_view();
    r.outcome = AW_OUTCOME_FAILED;
    r.payload = "\"just a string with \\\"quotes\\\" and \\u00e9\"";
    r.metadata = "{}";
    r.details = "{}";
    return r;
}

/* A rule's verdict: the rule's name is a member of its own, after outcome. */
static aw_audit_record ruled_view(void)
{
    aw_audit_record r = golden_view();
    r.outcome = AW_OUTCOME_THROTTLED;
    r.rule = "per-tenant \"sms\" r\xc3\xa8gle";
    r.details = "{\"rule\":\"per-tenant \\\"sms\\\" r\xc3\xa8gle\",\"retry_after_ms\":5}";
    r.fencing_token = 0;
    return r;
}

/* A state machine's timeout: no message behind it (partition -1), and
 * the state ids (one of them escaped). */
static aw_audit_record stateful_view(void)
{
    aw_audit_record r = golden_view();
    r.outcome = AW_OUTCOME_STATE_CHANGED;
    r.rule = "incidents";
    r.fingerprint = "host \"a\"/disk r\xc3\xa8gle";
    r.group_id = "alerts:eu:7";
    r.chain_id = "orders:o-1";
    r.source_topic = "acteon.events";
    r.source_partition = -1;
    r.source_offset = 3;
    return r;
}

typedef aw_audit_record (*view_fn)(void);
static const view_fn all_views[] = {golden_view, rejected_view, extremes_view,
                                    scalar_payload_view, ruled_view, stateful_view};
#define N_VIEWS (sizeof(all_views) / sizeof(all_views[0]))

static json_t *load_json(const char *rel)
{
    const char *dir = getenv("AW_SOURCE_DIR");
    if (!dir)
        fail_msg("AW_SOURCE_DIR is not set (ctest sets it; run with AW_SOURCE_DIR=<repo>)");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
    return j;
}

static json_t *dump_and_reload(const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(back);
    return back;
}

/* ---- record ids, limits, copy ------------------------------------------- */

static void test_record_id(void **state)
{
    (void)state;
    static const struct {
        const char *topic;
        int32_t partition;
        int64_t offset;
        const char *want;
    } cases[] = {
        {"orders", 0, 0, "orders:0:0"},
        {"a.b-c_d", 17, 123456789012345, "a.b-c_d:17:123456789012345"},
        {"t", INT32_MAX, INT64_MAX, "t:2147483647:9223372036854775807"},
        {NULL, 1, 2, ":1:2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        aw_audit_record_id(out, sizeof(out), cases[i].topic, cases[i].partition,
                           cases[i].offset);
        assert_string_equal(out, cases[i].want);
    }
    char small[6] = "xxxxx";
    aw_audit_record_id(small, sizeof(small), "orders", 1, 2);
    assert_string_equal(small, "order"); /* truncated, still terminated */
    aw_audit_record_id(NULL, 0, "orders", 1, 2); /* no-op, no crash */
}

static void test_clamp_limit(void **state)
{
    (void)state;
    static const size_t cases[][2] = {
        {0, AW_AUDIT_DEFAULT_LIMIT}, {1, 1}, {3, 3}, {999, 999}, {1000, 1000},
        {1001, AW_AUDIT_MAX_LIMIT}, {5000, AW_AUDIT_MAX_LIMIT}, {SIZE_MAX, AW_AUDIT_MAX_LIMIT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(aw_audit_clamp_limit(cases[i][0]), cases[i][1]);
}

static void test_copy_clear_equal(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VIEWS; i++) {
        aw_audit_record view = all_views[i]();
        aw_audit_record copy;
        aw_error err = {0};
        assert_int_equal(aw_audit_record_copy(&copy, &view, &err), AW_OK);
        assert_true(aw_audit_record_equal(&copy, &view));
        assert_ptr_not_equal(copy.record_id, view.record_id);
        assert_true((copy.payload == NULL) == (view.payload == NULL));
        aw_audit_record_clear(&copy);
        assert_null(copy.record_id);
        assert_int_equal(copy.completed_at_ms, 0);
    }
    aw_audit_record_clear(NULL);

    /* equal compares JSON text as JSON: key order and spacing do not matter */
    aw_audit_record a = golden_view(), b = golden_view();
    b.details = "{ \"attempts\": 1, \"provider_status\": 200 }";
    assert_true(aw_audit_record_equal(&a, &b));
    b.details = "{\"attempts\":2,\"provider_status\":200}";
    assert_false(aw_audit_record_equal(&a, &b));
    b = golden_view();
    b.payload = NULL;
    assert_false(aw_audit_record_equal(&a, &b));
    b = golden_view();
    b.tenant = "globex2";
    assert_false(aw_audit_record_equal(&a, &b));
    b = golden_view();
    b.expires_at_ms++;
    assert_false(aw_audit_record_equal(&a, &b));
}

/* ---- JSON --------------------------------------------------------------- */

static void test_json_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VIEWS; i++) {
        aw_audit_record view = all_views[i]();
        json_t *j = aw_audit_record_to_json(&view);
        assert_non_null(j);
        json_t *back = dump_and_reload(j); /* through text, as on the wire */
        aw_audit_record r;
        aw_error err = {0};
        assert_int_equal(aw_audit_record_from_json(back, &r, &err), AW_OK);
        assert_true(aw_audit_record_equal(&r, &view));
        assert_true((r.payload == NULL) == (view.payload == NULL));
        assert_true((r.metadata == NULL) == (view.metadata == NULL));
        aw_audit_record_clear(&r);
        json_decref(back);
        json_decref(j);
    }
}

static void test_golden(void **state)
{
    (void)state;
    json_t *golden = load_json("tests/data/audit_record_golden.json");
    aw_audit_record view = golden_view();
    json_t *j = aw_audit_record_to_json(&view);
    assert_non_null(j);
    if (!json_equal(j, golden)) {
        char *got = json_dumps(j, JSON_INDENT(2));
        fail_msg("to_json differs from tests/data/audit_record_golden.json; got:\n%s", got);
    }
    /* and the golden file parses back to the same record */
    aw_audit_record r;
    aw_error err = {0};
    assert_int_equal(aw_audit_record_from_json(golden, &r, &err), AW_OK);
    assert_true(aw_audit_record_equal(&r, &view));
    aw_audit_record_clear(&r);
    json_decref(j);
    json_decref(golden);
}

static void test_from_json_variants(void **state)
{
    (void)state;
    json_t *j = load_json("tests/data/audit_record_golden.json");
    aw_audit_record view = golden_view();
    aw_audit_record r;
    aw_error err = {0};

    /* unknown members are ignored (newer writers), numeric offsets accepted */
    json_object_set_new(j, "added_in_v2", json_string("x"));
    json_object_set_new(j, "completed_at", json_string("2026-03-01T14:00:01+02:00"));
    assert_int_equal(aw_audit_record_from_json(j, &r, &err), AW_OK);
    assert_true(aw_audit_record_equal(&r, &view));
    aw_audit_record_clear(&r);

    /* absent payload/metadata and null metadata mean "none" */
    json_object_del(j, "payload");
    json_object_set_new(j, "metadata", json_null());
    assert_int_equal(aw_audit_record_from_json(j, &r, &err), AW_OK);
    assert_null(r.payload);
    assert_null(r.metadata);
    assert_null(r.rule); /* the golden record has no rule */
    aw_audit_record_clear(&r);

    /* rule: a null one means none too; a name comes back as it was */
    json_object_set_new(j, "rule", json_null());
    assert_int_equal(aw_audit_record_from_json(j, &r, &err), AW_OK);
    assert_null(r.rule);
    aw_audit_record_clear(&r);
    json_object_set_new(j, "rule", json_string("quiet-hours"));
    assert_int_equal(aw_audit_record_from_json(j, &r, &err), AW_OK);
    assert_string_equal(r.rule, "quiet-hours");
    aw_audit_record_clear(&r);
    json_decref(j);

    /* and a record without a rule has no "rule" member at all */
    view = golden_view();
    j = aw_audit_record_to_json(&view);
    assert_null(json_object_get(j, "rule"));
    json_decref(j);
    view.rule = "quiet-hours";
    j = aw_audit_record_to_json(&view);
    assert_string_equal(json_string_value(json_object_get(j, "rule")), "quiet-hours");
    json_decref(j);
}

typedef struct reject_case {
    const char *parent;  /* NULL = top level, else "source" */
    const char *key;
    const char *value;   /* JSON text, NULL = delete the member */
    const char *in_msg;  /* expected in err.msg */
} reject_case;

static const reject_case reject_cases[] = {
    {NULL, "record_id", NULL, "record_id"},
    {NULL, "record_id", "\"\"", "record_id"},
    {NULL, "action_id", "7", "action_id"},
    {NULL, "namespace", NULL, "namespace"},
    {NULL, "tenant", "null", "tenant"},
    {NULL, "provider", "[]", "provider"},
    {NULL, "action_type", "{}", "action_type"},
    {NULL, "dedup_identity", NULL, "dedup_identity"},
    {NULL, "outcome", "\"done\"", "outcome"},
    {NULL, "outcome", "0", "outcome"},
    {NULL, "rule", "\"\"", "rule"},
    {NULL, "rule", "7", "rule"},
    {NULL, "fingerprint", "\"\"", "fingerprint"},
    {NULL, "group_id", "[]", "group_id"},
    {NULL, "chain_id", "7", "chain_id"},
    {NULL, "details", NULL, "details"},
    {NULL, "details", "[1]", "details"},
    {NULL, "details", "null", "details"},
    {NULL, "metadata", "\"x\"", "metadata"},
    {NULL, "source", NULL, "source"},
    {NULL, "source", "\"orders:2:1042\"", "source"},
    {"source", "topic", "\"\"", "topic"},
    {"source", "partition", "-2", "source.partition"},
    {"source", "partition", "2147483648", "source.partition"},
    {"source", "offset", "\"1042\"", "source.offset"},
    {"source", "offset", "-1", "source.offset"},
    {NULL, "worker_id", NULL, "worker_id"},
    {NULL, "fencing_token", "-1", "fencing_token"},
    {NULL, "fencing_token", "1.5", "fencing_token"},
    {NULL, "attempts", "true", "attempts"},
    {NULL, "duration_ms", "-5", "duration_ms"},
    {NULL, "dispatched_at", "\"yesterday\"", "dispatched_at"},
    {NULL, "completed_at", "1772366401000", "completed_at"},
    {NULL, "expires_at", "\"2026-02-30T00:00:00Z\"", "expires_at"},
    {NULL, "expires_at", NULL, "expires_at"},
};

/* Apply one mutation to a fresh copy of the golden document. */
static json_t *mutated_golden(const char *parent, const char *key, const char *value)
{
    json_t *j = load_json("tests/data/audit_record_golden.json");
    json_t *obj = parent ? json_object_get(j, parent) : j;
    assert_non_null(obj);
    if (value) {
        json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        json_object_set_new(obj, key, v);
    } else {
        json_object_del(obj, key);
    }
    return j;
}

static void test_from_json_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
        const reject_case *c = &reject_cases[i];
        json_t *j = mutated_golden(c->parent, c->key, c->value);
        aw_audit_record r;
        memset(&r, 0xAB, sizeof(r)); /* garbage: must be zeroed on failure */
        aw_error err = {0};
        aw_status rc = aw_audit_record_from_json(j, &r, &err);
        if (rc != AW_PERMANENT || !strstr(err.msg, c->in_msg))
            fail_msg("case %zu (%s=%s): rc=%s msg=\"%s\"", i, c->key,
                     c->value ? c->value : "<deleted>", aw_status_name(rc), err.msg);
        assert_null(r.record_id);
        assert_null(r.details);
        json_decref(j);
    }
    aw_audit_record r;
    json_t *arr = json_array();
    assert_int_equal(aw_audit_record_from_json(arr, &r, NULL), AW_PERMANENT);
    assert_int_equal(aw_audit_record_from_json(NULL, &r, NULL), AW_PERMANENT);
    json_decref(arr);
}

static void test_to_json_refuses_broken_records(void **state)
{
    (void)state;
    aw_audit_record r = golden_view();
    r.details = "not json";
    assert_null(aw_audit_record_to_json(&r));
    r = golden_view();
    r.details = "[1,2]";
    assert_null(aw_audit_record_to_json(&r));
    r = golden_view();
    r.metadata = "\"label\"";
    assert_null(aw_audit_record_to_json(&r));
    r = golden_view();
    r.payload = "{";
    assert_null(aw_audit_record_to_json(&r));
    r = golden_view();
    r.fencing_token = (uint64_t)INT64_MAX + 1;
    assert_null(aw_audit_record_to_json(&r));
    r = golden_view();
    r.tenant = "\xff\xfe"; /* not UTF-8 */
    assert_null(aw_audit_record_to_json(&r));
    assert_null(aw_reply_from_record(&r));
}

/* ---- reply -------------------------------------------------------------- */

static void test_reply_is_record_minus_payload(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VIEWS; i++) {
        aw_audit_record view = all_views[i]();
        json_t *reply = aw_reply_from_record(&view);
        json_t *rec = aw_audit_record_to_json(&view);
        assert_non_null(reply);
        assert_non_null(rec);
        assert_null(json_object_get(reply, "payload"));
        json_object_del(rec, "payload");
        assert_true(json_equal(reply, rec));

        /* replaying the reply rebuilds the record, payload aside */
        json_t *wire = dump_and_reload(reply);
        aw_audit_record back;
        aw_error err = {0};
        assert_int_equal(aw_record_from_reply(wire, &back, &err), AW_OK);
        aw_audit_record want = view;
        want.payload = NULL;
        assert_true(aw_audit_record_equal(&back, &want));
        aw_audit_record_clear(&back);

        /* a reply that does carry a payload still replays (it is ignored) */
        json_object_set_new(wire, "payload", json_string("ignored"));
        assert_int_equal(aw_record_from_reply(wire, &back, &err), AW_OK);
        assert_null(back.payload);
        aw_audit_record_clear(&back);

        json_decref(wire);
        json_decref(rec);
        json_decref(reply);
    }
}

/* The reply never reads the payload (it is left out, not parsed and then
 * dropped): the record's other fields alone decide whether it builds. */
static void test_reply_does_not_read_the_payload(void **state)
{
    (void)state;
    aw_audit_record view = golden_view();
    view.payload = "{ not json";
    json_t *reply = aw_reply_from_record(&view);
    assert_non_null(reply);
    assert_null(json_object_get(reply, "payload"));
    view.payload = NULL;
    json_t *want = aw_audit_record_to_json(&view);
    assert_true(json_equal(reply, want));
    json_decref(want);
    json_decref(reply);
}

static void test_reply_rejects_missing_fields(void **state)
{
    (void)state;
    aw_audit_record view = golden_view();
    json_t *reply = aw_reply_from_record(&view);
    json_object_del(reply, "action_id");
    aw_audit_record r;
    aw_error err = {0};
    assert_int_equal(aw_record_from_reply(reply, &r, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "action_id"));
    json_decref(reply);
}

/* aw_reply_write (the worker's hot path) writes exactly the bytes of
 * json_dumps(aw_reply_from_record(r), JSON_COMPACT), or fails where it fails. */
static void expect_same_reply_bytes(const aw_audit_record *r)
{
    json_t *j = aw_reply_from_record(r);
    char *want = j ? json_dumps(j, JSON_COMPACT) : NULL;
    aw_buf got = {0};
    int rc = aw_reply_write(r, &got);
    if (!want) {
        assert_int_equal(rc, -1);
    } else {
        assert_int_equal(rc, 0);
        assert_string_equal(got.data, want);
        assert_int_equal(got.len, strlen(want));
    }
    aw_buf_free(&got);
    free(want);
    json_decref(j);
}

static void test_reply_write_is_jansson_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VIEWS; i++) {
        aw_audit_record view = all_views[i]();
        expect_same_reply_bytes(&view);
    }
    /* Every ASCII byte, escapes included, in each string field's place. */
    char ascii[128];
    for (int c = 1; c < 128; c++)
        ascii[c - 1] = (char)c;
    ascii[127] = '\0';
    aw_audit_record r = golden_view();
    r.action_id = ascii;
    expect_same_reply_bytes(&r);
    r = golden_view();
    r.tenant = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xe2\x80\xa8";
    r.source_topic = "t/x";
    r.details = "{\"error\":\"a\\\"b\\u0001\\n\",\"n\":-5}";
    expect_same_reply_bytes(&r);
    /* Not UTF-8 (jansson refuses them; so must the writer): a lone
     * continuation byte, an overlong form, a surrogate, above U+10FFFF, a
     * truncated sequence, 0xFF. */
    static char bad0[] = "\x80", bad1[] = "\xc0\xaf", bad2[] = "\xed\xa0\x80",
                bad3[] = "\xf4\x90\x80\x80", bad4[] = "a\xe2\x82", bad5[] = "\xff";
    char *const bad[] = {bad0, bad1, bad2, bad3, bad4, bad5};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = golden_view();
        r.worker_id = bad[i];
        expect_same_reply_bytes(&r);
    }
    /* Times: the epoch, before it, year boundaries, and the negative and
     * large integers. */
    static const int64_t times[] = {0, -1, -86400001, 946684799999, 946684800000,
                                    253402300799999, 1772366400250};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
        r = golden_view();
        r.dispatched_at_ms = r.completed_at_ms = r.expires_at_ms = times[i];
        r.duration_ms = -times[i];
        r.source_offset = INT64_MIN + (int64_t)i;
        r.source_partition = INT32_MIN;
        expect_same_reply_bytes(&r);
    }
    /* Broken invariants are refused, not written. */
    r = golden_view();
    r.fencing_token = (uint64_t)INT64_MAX + 1;
    aw_buf b = {0};
    assert_int_equal(aw_reply_write(&r, &b), -1);
    r = golden_view();
    r.details = "[1]";
    assert_int_equal(aw_reply_write(&r, &b), -1);
    aw_buf_free(&b);
}

/* ---- cursor ------------------------------------------------------------- */

static bool is_b64url(const char *s)
{
    for (; *s; s++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *s))
            return false;
    return true;
}

static void test_cursor_roundtrip(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *id;
    } cases[] = {
        {1772366401000, "orders:2:1042"},
        {0, "t:0:0"},
        {-1, "a"},
        {INT64_MAX, "x"},
        {INT64_MIN, "y"},
        {5, "ab|cd|ef"},     /* only the first two '|' separate */
        {7, "caf\xc3\xa9:1:2"},
        {8, "ab"}, {9, "abc"}, {10, "abcd"}, /* every base64 tail length */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *c = aw_audit_cursor_encode(cases[i].ms, cases[i].id);
        assert_non_null(c);
        assert_true(is_b64url(c));
        int64_t ms = 42;
        char id[64];
        assert_int_equal(aw_audit_cursor_decode(c, &ms, id, sizeof(id)), 0);
        assert_true(ms == cases[i].ms);
        assert_string_equal(id, cases[i].id);
        /* an id that does not fit is refused, not truncated */
        assert_int_equal(aw_audit_cursor_decode(c, &ms, id, strlen(cases[i].id)), -1);
        free(c);
    }
}

/* base64url of arbitrary bytes, to craft hostile cursors. */
static char *b64(const char *plain, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = calloc(1, n / 3 * 4 + 5);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)plain[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)plain[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)plain[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = a[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    return out;
}

static void test_cursor_garbage(void **state)
{
    (void)state;
    /* plain texts, base64url-encoded before decoding */
    static const struct {
        const char *plain;
        size_t len;
    } bad_plain[] = {
        {"2|5|x", 5},                      /* unknown version */
        {"1|5|", 4},                       /* empty id */
        {"1|5", 3},                        /* no id separator */
        {"1||x", 4},                       /* empty time */
        {"1|-|x", 5},
        {"1|5a|x", 6},
        {"1| 5|x", 6},
        {"1|99999999999999999999|x", 24},  /* overflows int64 */
        {"1|9223372036854775808|x", 23},   /* INT64_MAX + 1 */
        {"1|5|a\x01z", 7},                 /* control byte */
        {"1|5|a\0z", 7},                   /* embedded NUL */
        {"x' OR '1'='1", 12},
    };
    for (size_t i = 0; i < sizeof(bad_plain) / sizeof(bad_plain[0]); i++) {
        char *c = b64(bad_plain[i].plain, bad_plain[i].len);
        int64_t ms;
        char id[64];
        if (aw_audit_cursor_decode(c, &ms, id, sizeof(id)) != -1)
            fail_msg("accepted plain case %zu", i);
        free(c);
    }
    /* raw strings that are not even base64url */
    char huge[3000];
    memset(huge, 'A', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    const char *bad_raw[] = {
        "", "A", "!!!!", "MXw1fHg=", /* padding is not part of the alphabet */
        "MXw1fHh", /* non-zero trailing bits: a second spelling of "1|5|x" */
        "MXw1fHh5A", /* "1|5|xy" plus a dangling 6-bit group */
        "MXw1fH g", "MXw1fHg\n", "../../etc/passwd", "%00", huge,
    };
    for (size_t i = 0; i < sizeof(bad_raw) / sizeof(bad_raw[0]); i++) {
        int64_t ms;
        char id[64];
        if (aw_audit_cursor_decode(bad_raw[i], &ms, id, sizeof(id)) != -1)
            fail_msg("accepted raw case %zu", i);
    }
    int64_t ms;
    char id[8];
    assert_int_equal(aw_audit_cursor_decode(NULL, &ms, id, sizeof(id)), -1);
    assert_int_equal(aw_audit_cursor_decode("MXw1fHg", &ms, NULL, 0), -1);
    assert_int_equal(aw_audit_cursor_decode("MXw1fHg", &ms, id, sizeof(id)), 0); /* "1|5|x" */
    assert_string_equal(id, "x");
    assert_int_equal(aw_audit_cursor_decode("MXw1fHh5", &ms, id, sizeof(id)), 0);
    assert_string_equal(id, "xy");
}

static void test_page_clear(void **state)
{
    (void)state;
    aw_audit_page p = {0};
    aw_audit_page_clear(&p);
    aw_audit_page_clear(NULL);
    p.records = calloc(2, sizeof(*p.records));
    aw_audit_record v = golden_view();
    assert_int_equal(aw_audit_record_copy(&p.records[0], &v, NULL), AW_OK);
    assert_int_equal(aw_audit_record_copy(&p.records[1], &v, NULL), AW_OK);
    p.count = 2;
    p.next_cursor = aw_audit_cursor_encode(1, "x");
    aw_audit_page_clear(&p);
    assert_null(p.records);
    assert_null(p.next_cursor);
    assert_int_equal(p.count, 0);
}

/* ---- schemas ------------------------------------------------------------ */

static void assert_valid(const json_t *schema, const json_t *doc, const char *what)
{
    char err[256];
    if (aw_schema_check(schema, doc, err, sizeof(err)) != 0)
        fail_msg("%s: %s", what, err);
}

static void test_schema_golden(void **state)
{
    (void)state;
    json_t *schema = load_json("schemas/audit-record.schema.json");
    json_t *reply_schema = load_json("schemas/reply.schema.json");
    json_t *golden = load_json("tests/data/audit_record_golden.json");
    assert_valid(schema, golden, "golden record");

    /* every record we can produce validates; so does its reply */
    for (size_t i = 0; i < N_VIEWS; i++) {
        aw_audit_record v = all_views[i]();
        json_t *j = aw_audit_record_to_json(&v);
        json_t *reply = aw_reply_from_record(&v);
        assert_valid(schema, j, "record");
        assert_valid(reply_schema, reply, "reply");
        json_decref(reply);
        json_decref(j);
    }
    /* a reply never carries a payload */
    char err[256];
    assert_int_equal(aw_schema_check(reply_schema, golden, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "payload"));

    /* the examples inside the schemas are valid too */
    size_t i;
    json_t *ex;
    json_array_foreach(json_object_get(schema, "examples"), i, ex)
        assert_valid(schema, ex, "audit-record example");
    json_array_foreach(json_object_get(reply_schema, "examples"), i, ex)
        assert_valid(reply_schema, ex, "reply example");
    json_decref(golden);
    json_decref(reply_schema);
    json_decref(schema);
}

/* reply.schema.json must stay the audit record minus payload. */
static void test_schema_reply_in_step(void **state)
{
    (void)state;
    json_t *schema = load_json("schemas/audit-record.schema.json");
    json_t *reply_schema = load_json("schemas/reply.schema.json");
    json_t *props = json_deep_copy(json_object_get(schema, "properties"));
    json_object_del(props, "payload");
    assert_true(json_equal(props, json_object_get(reply_schema, "properties")));
    assert_true(json_equal(json_object_get(schema, "required"),
                           json_object_get(reply_schema, "required")));
    assert_true(json_equal(json_object_get(schema, "additionalProperties"),
                           json_object_get(reply_schema, "additionalProperties")));
    json_decref(props);
    json_decref(reply_schema);
    json_decref(schema);
}

static void test_schema_rejects(void **state)
{
    (void)state;
    static const reject_case cases[] = {
        {NULL, "record_id", NULL, "record_id"},
        {NULL, "record_id", "\"\"", "record_id"},
        {NULL, "outcome", "\"done\"", "outcome"},
        {NULL, "rule", "\"\"", "rule"},
        {NULL, "rule", "null", "rule"},
        {NULL, "fingerprint", "\"\"", "fingerprint"},
        {NULL, "group_id", "null", "group_id"},
        {NULL, "chain_id", "7", "chain_id"},
        {NULL, "details", "[]", "details"},
        {NULL, "metadata", "{\"n\":1}", "metadata.n"},
        {NULL, "metadata", "null", "metadata"},
        {NULL, "extra", "1", "extra"},
        {"source", "partition", "-2", "source.partition"},
        {"source", "offset", "9.5", "source.offset"},
        {"source", "extra", "1", "extra"},
        {NULL, "completed_at", "\"2026-03-01\"", "completed_at"},
        {NULL, "fencing_token", "\"7\"", "fencing_token"},
        {NULL, "duration_ms", NULL, "duration_ms"},
    };
    json_t *schema = load_json("schemas/audit-record.schema.json");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = mutated_golden(cases[i].parent, cases[i].key, cases[i].value);
        char err[256];
        if (aw_schema_check(schema, j, err, sizeof(err)) != -1 || !strstr(err, cases[i].in_msg))
            fail_msg("schema case %zu (%s): \"%s\"", i, cases[i].key, err);
        json_decref(j);
    }
    json_decref(schema);
}

/* The checker itself, on small inline schemas. */
static void test_schema_checker(void **state)
{
    (void)state;
    static const struct {
        const char *schema;
        const char *doc;
        int want;
    } cases[] = {
        {"{\"type\":\"string\",\"maxLength\":4}", "\"caf\\u00e9\"", 0}, /* 4 code points */
        {"{\"type\":\"string\",\"maxLength\":3}", "\"caf\\u00e9\"", -1},
        {"{\"type\":\"string\",\"minLength\":1}", "\"\"", -1},
        {"{\"type\":[\"string\",\"null\"]}", "null", 0},
        {"{\"type\":[\"string\",\"null\"]}", "1", -1},
        {"{\"type\":\"integer\"}", "1.5", -1},
        {"{\"type\":\"number\"}", "1", 0},
        {"{\"type\":\"boolean\"}", "false", 0},
        {"{\"enum\":[1,\"a\"]}", "\"a\"", 0},
        {"{\"enum\":[1,\"a\"]}", "2", -1},
        {"{\"const\":{\"a\":1}}", "{\"a\":1}", 0},
        {"{\"const\":{\"a\":1}}", "{\"a\":2}", -1},
        {"{\"type\":\"integer\",\"minimum\":0,\"maximum\":9}", "9", 0},
        {"{\"type\":\"integer\",\"minimum\":0,\"maximum\":9}", "10", -1},
        {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", "[1,2,3]", 0},
        {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", "[1,\"2\"]", -1},
        {"{\"additionalProperties\":{\"type\":\"string\"}}", "{\"a\":\"x\"}", 0},
        {"{\"additionalProperties\":{\"type\":\"string\"}}", "{\"a\":1}", -1},
        {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"a\":1}", 0},
        {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"b\":1}", -1},
        {"{\"required\":[\"a\"]}", "{}", -1},
        {"{\"required\":[\"a\"]}", "[]", 0}, /* required applies to objects only */
        {"{\"type\":\"string\",\"format\":\"date-time\"}", "\"2026-03-01T12:00:00Z\"", 0},
        {"{\"type\":\"string\",\"format\":\"date-time\"}", "\"noon\"", -1},
        {"{\"pattern\":\"^x$\"}", "\"y\"", 0}, /* unsupported keywords are ignored */
        {"true", "{}", 0},
        {"false", "{}", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *s = json_loads(cases[i].schema, JSON_DECODE_ANY, NULL);
        json_t *d = json_loads(cases[i].doc, JSON_DECODE_ANY, NULL);
        assert_non_null(s);
        assert_non_null(d);
        char err[256];
        if (aw_schema_check(s, d, err, sizeof(err)) != cases[i].want)
            fail_msg("checker case %zu: %s on %s: %s", i, cases[i].schema, cases[i].doc, err);
        json_decref(d);
        json_decref(s);
    }
    /* error paths name the nested member */
    json_t *s = json_loads("{\"properties\":{\"a\":{\"items\":{\"type\":\"string\"}}}}", 0, NULL);
    json_t *d = json_loads("{\"a\":[\"x\",3]}", 0, NULL);
    char err[256];
    assert_int_equal(aw_schema_check(s, d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "$.a.1"));
    json_decref(d);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_id),
        cmocka_unit_test(test_clamp_limit),
        cmocka_unit_test(test_copy_clear_equal),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_from_json_variants),
        cmocka_unit_test(test_from_json_rejects),
        cmocka_unit_test(test_to_json_refuses_broken_records),
        cmocka_unit_test(test_reply_is_record_minus_payload),
        cmocka_unit_test(test_reply_does_not_read_the_payload),
        cmocka_unit_test(test_reply_write_is_jansson_bytes),
        cmocka_unit_test(test_reply_rejects_missing_fields),
        cmocka_unit_test(test_cursor_roundtrip),
        cmocka_unit_test(test_cursor_garbage),
        cmocka_unit_test(test_page_clear),
        cmocka_unit_test(test_schema_golden),
        cmocka_unit_test(test_schema_reply_in_step),
        cmocka_unit_test(test_schema_rejects),
        cmocka_unit_test(test_schema_checker),
    };
    return cmocka_run_group_tests_name("audit_record", tests, NULL, NULL);
}
