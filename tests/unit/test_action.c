/* Action decoding (ingest/action.c): the case table tests/data/action_cases.json,
 * generated cases that do not belong in a file (deep nesting, length
 * boundaries, size limits), the demo input examples/actions.jsonl, and the
 * agreement of schemas/action.schema.json with the limits in action.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ingest/action.h"
#include "ingest/action_scan.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- helpers ------------------------------------------------------------ */

/* Path of a file in the source tree: ctest sets AW_SOURCE_DIR. */
static const char *src_path(const char *rel, char *out, size_t outsz)
{
    const char *root = getenv("AW_SOURCE_DIR");
    if (!root || !*root)
        fail_msg("AW_SOURCE_DIR is not set (ctest sets it; set it to the source root)");
    snprintf(out, outsz, "%s/%s", root, rel);
    return out;
}

static json_t *load_json_file(const char *rel, size_t flags)
{
    char path[4096];
    json_error_t jerr;
    json_t *j = json_load_file(src_path(rel, path, sizeof path), flags, &jerr);
    if (!j)
        fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
    return j;
}

typedef struct result {
    int rc;
    aw_reject rej;
    aw_action a;
} result;

/* Decode into r; the caller clears r->a. out is poisoned first so the test
 * sees whether a rejection really zeroes it. */
static void decode(result *r, const void *data, size_t len, size_t max_bytes)
{
    memset(&r->a, 0xab, sizeof r->a);
    memset(&r->rej, 0, sizeof r->rej);
    r->rc = aw_action_decode(data, len, max_bytes, &r->a, &r->rej);
}

static const char *outcome_name(const result *r)
{
    return r->rc == 0 ? "ok" : aw_reject_reason_name(r->rej.reason);
}

static bool is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* The base action used by the generated cases, as a jansson object. */
static json_t *base_action(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", "a-1", "namespace", "ns",
                     "tenant", "t", "provider", "log", "action_type", "do", "payload", "k",
                     "v");
}

/* Decode the compact serialisation of obj (consumed). */
static void decode_json(result *r, json_t *obj, size_t max_bytes)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(text);
    decode(r, text, strlen(text), max_bytes);
    free(text);
    json_decref(obj);
}

/* A string of n copies of the UTF-8 sequence unit. */
static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

static void expect_ok(result *r, const char *what)
{
    if (r->rc != 0)
        fail_msg("%s: expected ok, got %s (%s): %s", what, aw_reject_reason_name(r->rej.reason),
                 r->rej.field, r->rej.detail);
}

static void expect_reject(result *r, aw_reject_reason reason, const char *field,
                          const char *what)
{
    if (r->rc == 0)
        fail_msg("%s: expected %s, got ok", what, aw_reject_reason_name(reason));
    if (r->rej.reason != reason || strcmp(r->rej.field, field) != 0)
        fail_msg("%s: expected %s (%s), got %s (%s): %s", what, aw_reject_reason_name(reason),
                 field, aw_reject_reason_name(r->rej.reason), r->rej.field, r->rej.detail);
    assert_true(is_zero(&r->a, sizeof r->a));
    assert_true(r->rej.detail[0] != '\0');
}

/* ---- the case table ----------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Build the input bytes of one case; free(*out) after. */
static void case_input(const json_t *base, const json_t *c, char **out, size_t *len)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const json_t *input = json_object_get(c, "input");
    const json_t *hex = json_object_get(c, "input_hex");
    const json_t *set = json_object_get(c, "set");
    const json_t *unset = json_object_get(c, "unset");
    if ((input || hex) && (set || unset || (input && hex)))
        fail_msg("case \"%s\": give the input one way only", name);
    if (input) {
        *len = json_string_length(input);
        *out = malloc(*len + 1);
        assert_non_null(*out);
        memcpy(*out, json_string_value(input), *len + 1);
        return;
    }
    if (hex) {
        const char *h = json_string_value(hex);
        size_t n = strlen(h) / 2;
        *out = malloc(n + 1);
        assert_non_null(*out);
        for (size_t i = 0; i < n; i++) {
            int hi = hex_value(h[2 * i]), lo = hex_value(h[2 * i + 1]);
            if (hi < 0 || lo < 0)
                fail_msg("case \"%s\": bad input_hex", name);
            (*out)[i] = (char)(hi * 16 + lo);
        }
        *len = n;
        return;
    }
    json_t *obj = json_deep_copy(base);
    if (set)
        json_object_update(obj, (json_t *)set);
    size_t i;
    json_t *key;
    json_array_foreach(unset, i, key) json_object_del(obj, json_string_value(key));
    *out = json_dumps(obj, JSON_COMPACT);
    assert_non_null(*out);
    *len = strlen(*out); /* \u0000 is dumped as an escape, so strlen is right */
    json_decref(obj);
}

/* Return the number of mismatches for one case, printing each. */
static int check_case(const json_t *c, result *r)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *expect = json_string_value(json_object_get(c, "expect"));
    const json_t *field = json_object_get(c, "field");
    const json_t *action_id = json_object_get(c, "action_id");
    const json_t *detail_has = json_object_get(c, "detail_has");
    int bad = 0;
    if (strcmp(outcome_name(r), expect) != 0) {
        print_error("case \"%s\": expected %s, got %s (%s): %s\n", name, expect,
                    outcome_name(r), r->rej.field, r->rej.detail);
        return 1;
    }
    if (r->rc != 0) {
        const char *want_field = field ? json_string_value(field) : "";
        if (strcmp(r->rej.field, want_field) != 0)
            bad++, print_error("case \"%s\": field \"%s\", expected \"%s\"\n", name,
                               r->rej.field, want_field);
        if (action_id && strcmp(r->rej.action_id, json_string_value(action_id)) != 0)
            bad++, print_error("case \"%s\": action_id \"%s\", expected \"%s\"\n", name,
                               r->rej.action_id, json_string_value(action_id));
        if (detail_has && !strstr(r->rej.detail, json_string_value(detail_has)))
            bad++, print_error("case \"%s\": detail \"%s\" lacks \"%s\"\n", name, r->rej.detail,
                               json_string_value(detail_has));
        if (!is_zero(&r->a, sizeof r->a))
            bad++, print_error("case \"%s\": out not zeroed on rejection\n", name);
        if (r->rej.detail[0] == '\0')
            bad++, print_error("case \"%s\": empty detail\n", name);
        return bad;
    }
    const json_t *identity = json_object_get(c, "identity");
    if (identity) {
        aw_buf b = {0};
        assert_int_equal(aw_action_identity(&r->a, &b), 0);
        if (strcmp(b.data, json_string_value(identity)) != 0)
            bad++, print_error("case \"%s\": identity \"%s\", expected \"%s\"\n", name, b.data,
                               json_string_value(identity));
        aw_buf_free(&b);
    }
    const json_t *ms = json_object_get(c, "created_at_ms");
    if (ms && r->a.created_at_ms != json_integer_value(ms))
        bad++, print_error("case \"%s\": created_at_ms %lld, expected %lld\n", name,
                           (long long)r->a.created_at_ms, (long long)json_integer_value(ms));
    const json_t *nb = json_object_get(c, "not_before_ms");
    if (nb && r->a.not_before_ms != json_integer_value(nb))
        bad++, print_error("case \"%s\": not_before_ms %lld, expected %lld\n", name,
                           (long long)r->a.not_before_ms, (long long)json_integer_value(nb));
    return bad;
}

/* An accepted action's payload and metadata spans are the JSON text of the
 * input's members of those names (jansson reads the input independently). */
static int check_spans(const json_t *c, const result *r, const char *in, size_t len)
{
    if (r->rc != 0)
        return 0;
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *root = json_loadb(in, len, JSON_REJECT_DUPLICATES, NULL);
    int bad = 0;
    struct {
        const char *member, *text;
        size_t len;
    } spans[] = {{"payload", r->a.payload, r->a.payload_len},
                 {"metadata", r->a.metadata, r->a.metadata_len}};
    for (size_t i = 0; i < 2; i++) {
        const json_t *want = json_object_get(root, spans[i].member);
        json_t *got = spans[i].text ? json_loadb(spans[i].text, spans[i].len, JSON_DECODE_ANY,
                                                 NULL)
                                    : NULL;
        if ((want || got) && !json_equal(want, got))
            bad++, print_error("case \"%s\": %s span \"%.*s\" is not the input's value\n",
                               name, spans[i].member, (int)spans[i].len,
                               spans[i].text ? spans[i].text : "");
        json_decref(got);
    }
    json_decref(root);
    return bad;
}

/* Wherever the decoder accepts a case and the scanner decides, they agree
 * (the scanner shards the message before the worker decodes it). */
static int check_scan(const json_t *c, const result *r, const char *in, size_t len)
{
    uint64_t h;
    if (r->rc != 0 || aw_action_scan_identity(in, len, &h) != 0 ||
        h == aw_action_identity_hash(&r->a))
        return 0;
    print_error("case \"%s\": the scanner found another identity than the decoder\n",
                json_string_value(json_object_get(c, "name")));
    return 1;
}

static void test_case_table(void **state)
{
    (void)state;
    /* ALLOW_NUL: the table itself holds "\u0000" cases. */
    json_t *table = load_json_file("tests/data/action_cases.json", JSON_ALLOW_NUL);
    const json_t *base = json_object_get(table, "base");
    const json_t *cases = json_object_get(table, "cases");
    assert_true(json_is_object(base) && json_is_array(cases));
    assert_true(json_array_size(cases) >= 100);
    int bad = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        char *in;
        size_t len;
        case_input(base, c, &in, &len);
        result r;
        decode(&r, in, len, 0);
        bad += check_case(c, &r);
        bad += check_scan(c, &r, in, len);
        bad += check_spans(c, &r, in, len);
        aw_action_clear(&r.a);
        free(in);
    }
    json_decref(table);
    if (bad)
        fail_msg("%d mismatches in the case table", bad);
}

/* ---- nesting depth ------------------------------------------------------ */

/* "[" * n + "]" * n, or with close = false only the openers. */
static char *nested_arrays(size_t n, bool close, size_t *len)
{
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    memset(s, '[', n);
    *len = n;
    if (close) {
        memset(s + n, ']', n);
        *len = 2 * n;
    }
    s[*len] = '\0';
    return s;
}

/* {"a":{"a":...{}...}}: n objects. */
static char *nested_objects(size_t n, size_t *len)
{
    char *s = malloc(6 * n + 1);
    assert_non_null(s);
    size_t p = 0;
    for (size_t i = 0; i + 1 < n; i++)
        p += (size_t)sprintf(s + p, "{\"a\":");
    p += (size_t)sprintf(s + p, "{}");
    memset(s + p, '}', n - 1);
    *len = p + n - 1;
    s[*len] = '\0';
    return s;
}

/* A valid action whose payload nests `levels` arrays alternating with
 * objects; the whole message nests levels + 1 containers. */
static char *deep_action(size_t levels, size_t *len)
{
    static const char head[] =
        "{\"id\":\"deep\",\"namespace\":\"n\",\"tenant\":\"t\",\"provider\":\"p\","
        "\"action_type\":\"x\",\"payload\":";
    char *s = malloc(sizeof head + 6 * levels + 2);
    assert_non_null(s);
    size_t p = (size_t)sprintf(s, "%s", head);
    for (size_t i = 0; i < levels; i++)
        p += (size_t)sprintf(s + p, i % 2 ? "{\"k\":" : "[");
    for (size_t i = levels; i-- > 0;)
        s[p++] = i % 2 ? '}' : ']';
    s[p++] = '}';
    s[p] = '\0';
    *len = p;
    return s;
}

typedef struct deep_run {
    const char *name;
    char *input;
    size_t len;
    aw_reject_reason want; /* AW_REJECT_COUNT means ok */
    int rc;
    aw_reject rej;
} deep_run;

/* Runs on a thread with a small stack: the decoder must not need a deep
 * one, whatever the input nests. cmocka asserts stay on the main thread. */
static void *deep_worker(void *arg)
{
    deep_run *runs = arg;
    for (deep_run *d = runs; d->name; d++) {
        aw_action a;
        d->rc = aw_action_decode(d->input, d->len, 0, &a, &d->rej);
        aw_action_clear(&a);
    }
    return NULL;
}

static void test_deep_nesting(void **state)
{
    (void)state;
    const aw_reject_reason OK = AW_REJECT_COUNT; /* "no rejection" */
    deep_run runs[32];
    size_t n = 0;
#define ADD(nm, in, ln, w) runs[n++] = (deep_run){.name = nm, .input = in, .len = ln, .want = w}
    size_t len;
    char *s;
    s = nested_arrays(100000, false, &len);
    ADD("100,000 unclosed [", s, len, AW_REJECT_TOO_DEEP);
    s = nested_arrays(100000, true, &len);
    ADD("100,000 nested arrays", s, len, AW_REJECT_TOO_DEEP);
    s = nested_objects(100000, &len);
    ADD("100,000 nested objects", s, len, AW_REJECT_TOO_DEEP);
    s = deep_action(100000, &len);
    ADD("payload nesting 100,000", s, len, AW_REJECT_TOO_DEEP);
    s = deep_action(AW_ACTION_MAX_DEPTH - 1, &len);
    ADD("depth exactly the limit", s, len, OK);
    s = deep_action(AW_ACTION_MAX_DEPTH, &len);
    ADD("depth one over the limit", s, len, AW_REJECT_TOO_DEEP);
    s = nested_arrays(AW_ACTION_MAX_DEPTH, true, &len);
    ADD("bare arrays at the limit are not an object", s, len, AW_REJECT_NOT_OBJECT);
    s = nested_arrays(AW_ACTION_MAX_DEPTH + 1, true, &len);
    ADD("bare arrays over the limit", s, len, AW_REJECT_TOO_DEEP);
    s = deep_action(2047, &len);
    ADD("jansson's own limit - 1", s, len, AW_REJECT_TOO_DEEP);
    s = deep_action(2048, &len);
    ADD("jansson's own limit", s, len, AW_REJECT_TOO_DEEP);
    s = deep_action(3000, &len);
    ADD("beyond jansson's limit", s, len, AW_REJECT_TOO_DEEP);

    /* Brackets inside strings do not nest, escaped quotes do not end strings. */
    char *brackets = repeat("[{", 50000);
    s = malloc(200400);
    len = (size_t)sprintf(s, "{\"id\":\"s\",\"namespace\":\"n\",\"tenant\":\"t\",\"provider\":\"p\","
                             "\"action_type\":\"x\",\"payload\":\"\\\"\\\\%s\",\"%s\":1}",
                          brackets, brackets);
    free(brackets);
    ADD("brackets inside strings and keys", s, len, OK);
    /* Over the fast path's opener count, but shallow. */
    char *siblings = repeat("[],", 20000);
    s = malloc(60400);
    len = (size_t)sprintf(s, "{\"id\":\"w\",\"namespace\":\"n\",\"tenant\":\"t\",\"provider\":\"p\","
                             "\"action_type\":\"x\",\"payload\":[%s{}]}", siblings);
    free(siblings);
    ADD("20,000 shallow siblings", s, len, OK);
    runs[n] = (deep_run){0};
#undef ADD

    pthread_attr_t attr;
    pthread_t th;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    assert_int_equal(pthread_create(&th, &attr, deep_worker, runs), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);

    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        deep_run *d = &runs[i];
        bool ok = d->want == OK ? d->rc == 0 : d->rc == -1 && d->rej.reason == d->want;
        if (!ok)
            bad++, print_error("%s: expected %s, got %s: %s\n", d->name,
                               d->want == OK ? "ok" : aw_reject_reason_name(d->want),
                               d->rc == 0 ? "ok" : aw_reject_reason_name(d->rej.reason),
                               d->rc == 0 ? "" : d->rej.detail);
        free(d->input);
    }
    if (bad)
        fail_msg("%d deep-nesting cases failed", bad);
}

/* jansson's own recursion bound (>= 2.8): it must answer, not crash, even
 * though the decoder never lets such input reach it. */
static void test_jansson_depth_bound(void **state)
{
    (void)state;
    size_t len;
    char *s = nested_arrays(100000, true, &len);
    json_error_t jerr;
    json_t *j = json_loadb(s, len, 0, &jerr);
    assert_null(j);
    assert_int_equal(json_error_code(&jerr), json_error_stack_overflow);
    free(s);
}

/* ---- lengths ------------------------------------------------------------ */

/* Decode the base action with member `key` set to a string of `n` copies of
 * unit, or (sub != NULL) with key = {sub: that string}. */
static void decode_with_text(result *r, const char *key, const char *sub, const char *unit,
                             size_t n)
{
    json_t *obj = base_action();
    char *text = repeat(unit, n);
    json_t *v = json_string(text);
    assert_non_null(v);
    if (sub)
        v = json_pack("{s:o}", sub, v);
    json_object_set_new(obj, key, v);
    free(text);
    decode_json(r, obj, 0);
}

typedef struct text_limit {
    const char *key, *sub, *field;
    size_t max;
} text_limit;

static void test_length_limits(void **state)
{
    (void)state;
    static const text_limit limits[] = {
        {"id", NULL, "id", AW_ACTION_MAX_ID_LEN},
        {"dedup_key", NULL, "dedup_key", AW_ACTION_MAX_ID_LEN},
        {"namespace", NULL, "namespace", AW_ACTION_MAX_NAME_LEN},
        {"tenant", NULL, "tenant", AW_ACTION_MAX_NAME_LEN},
        {"provider", NULL, "provider", AW_ACTION_MAX_NAME_LEN},
        {"action_type", NULL, "action_type", AW_ACTION_MAX_NAME_LEN},
        {"reply_to", NULL, "reply_to", AW_ACTION_MAX_TOPIC_LEN},
        {"trace_context", "tracestate", "trace_context.tracestate", AW_ACTION_MAX_TRACE_LEN},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        const text_limit *l = &limits[i];
        result r;
        decode_with_text(&r, l->key, l->sub, "a", l->max);
        expect_ok(&r, l->field);
        aw_action_clear(&r.a);
        decode_with_text(&r, l->key, l->sub, "a", l->max + 1);
        expect_reject(&r, AW_REJECT_INVALID_FIELD, l->field, l->field);
        char want[32];
        snprintf(want, sizeof want, "got %zu bytes", l->max + 1);
        assert_non_null(strstr(r.rej.detail, want));
        if (strcmp(l->field, "reply_to") == 0)
            continue;
        /* Limits count bytes: "é" is 2 bytes, so max/2 fit and one more does
         * not, although it is far fewer than max characters. */
        decode_with_text(&r, l->key, l->sub, "\xc3\xa9", l->max / 2);
        expect_ok(&r, l->field);
        aw_action_clear(&r.a);
        decode_with_text(&r, l->key, l->sub, "\xc3\xa9", l->max / 2 + 1);
        expect_reject(&r, AW_REJECT_INVALID_FIELD, l->field, l->field);
    }
}

static void test_id_of_10000(void **state)
{
    (void)state;
    result r;
    decode_with_text(&r, "id", NULL, "x", 10000);
    expect_reject(&r, AW_REJECT_INVALID_FIELD, "id", "id of 10,000 bytes");
    assert_string_equal(r.rej.action_id, ""); /* too long to be an id */
    assert_non_null(strstr(r.rej.detail, "got 10000 bytes"));

    /* The longest valid id is carried whole by a later rejection. */
    json_t *obj = base_action();
    char *id = repeat("i", AW_ACTION_MAX_ID_LEN);
    json_object_set_new(obj, "id", json_string(id));
    json_object_del(obj, "payload");
    decode_json(&r, obj, 0);
    expect_reject(&r, AW_REJECT_MISSING_FIELD, "payload", "longest id");
    assert_string_equal(r.rej.action_id, id);
    free(id);
}

static void test_metadata_limits(void **state)
{
    (void)state;
    for (size_t entries = AW_ACTION_MAX_METADATA_ENTRIES;
         entries <= AW_ACTION_MAX_METADATA_ENTRIES + 1; entries++) {
        json_t *obj = base_action(), *m = json_object();
        for (size_t i = 0; i < entries; i++) {
            char k[16];
            snprintf(k, sizeof k, "k%zu", i);
            json_object_set_new(m, k, json_string("v"));
        }
        json_object_set_new(obj, "metadata", m);
        result r;
        decode_json(&r, obj, 0);
        if (entries == AW_ACTION_MAX_METADATA_ENTRIES) {
            expect_ok(&r, "64 metadata entries");
            assert_non_null(r.a.metadata);
            aw_action_clear(&r.a);
        } else {
            expect_reject(&r, AW_REJECT_INVALID_FIELD, "metadata", "65 metadata entries");
        }
    }
    for (size_t n = AW_ACTION_MAX_METADATA_LEN; n <= AW_ACTION_MAX_METADATA_LEN + 1; n++) {
        char *s = repeat("m", n);
        json_t *by_key = base_action(), *by_value = base_action();
        json_object_set_new(by_key, "metadata", json_pack("{s:s}", s, "v"));
        json_object_set_new(by_value, "metadata", json_pack("{s:s}", "k", s));
        result rk, rv;
        decode_json(&rk, by_key, 0);
        decode_json(&rv, by_value, 0);
        if (n == AW_ACTION_MAX_METADATA_LEN) {
            expect_ok(&rk, "metadata key at the limit");
            expect_ok(&rv, "metadata value at the limit");
            aw_action_clear(&rk.a);
            aw_action_clear(&rv.a);
        } else {
            expect_reject(&rk, AW_REJECT_INVALID_FIELD, "metadata", "metadata key over");
            expect_reject(&rv, AW_REJECT_INVALID_FIELD, "metadata", "metadata value over");
        }
        free(s);
    }
}

/* ---- size --------------------------------------------------------------- */

static void test_size_limits(void **state)
{
    (void)state;
    json_t *obj = base_action();
    char *big = repeat("p", 2 * 1024 * 1024);
    json_object_set_new(obj, "payload", json_string(big));
    free(big);
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    size_t len = strlen(text);
    assert_true(len > 2 * 1024 * 1024);

    result r;
    decode(&r, text, len, 0);
    expect_reject(&r, AW_REJECT_TOO_LARGE, "", "2 MiB at the default limit");
    assert_string_equal(r.rej.action_id, ""); /* nothing is parsed */
    decode(&r, text, len, AW_ACTION_DEFAULT_MAX_BYTES);
    expect_reject(&r, AW_REJECT_TOO_LARGE, "", "2 MiB at an explicit 1 MiB");
    decode(&r, text, len, 4 * 1024 * 1024);
    expect_ok(&r, "2 MiB under a 4 MiB limit");
    assert_int_equal(r.a.payload_len, 2 * 1024 * 1024 + 2); /* the string and its quotes */
    aw_action_clear(&r.a);
    decode(&r, text, len, len);
    expect_ok(&r, "exactly at the limit");
    aw_action_clear(&r.a);
    decode(&r, text, len, len - 1);
    expect_reject(&r, AW_REJECT_TOO_LARGE, "", "one byte over");
    free(text);

    /* Size is judged before anything is parsed. */
    char *junk = repeat("\xff", AW_ACTION_DEFAULT_MAX_BYTES + 1);
    decode(&r, junk, AW_ACTION_DEFAULT_MAX_BYTES + 1, 0);
    expect_reject(&r, AW_REJECT_TOO_LARGE, "", "oversize garbage");
    free(junk);

    decode(&r, NULL, 0, 0);
    expect_reject(&r, AW_REJECT_EMPTY, "", "NULL");
    decode(&r, "", 0, 0);
    expect_reject(&r, AW_REJECT_EMPTY, "", "zero length");
    decode(&r, NULL, 10, 0);
    expect_reject(&r, AW_REJECT_EMPTY, "", "NULL with a length");
}

/* ---- output contract ---------------------------------------------------- */

static void test_output_fields(void **state)
{
    (void)state;
    static const char full[] =
        "{\"id\":\"i\",\"namespace\":\"n\",\"tenant\":\"t\",\"provider\":\"p\",\"action_type\":\"x\","
        "\"payload\":[1],\"dedup_key\":\"d\",\"created_at\":\"1970-01-01T00:00:01.5Z\","
        "\"metadata\":{\"a\":\"b\"},\"reply_to\":\"r\",\"trace_context\":{\"traceparent\":"
        "\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\",\"tracestate\":\"s=1\"}}";
    result r;
    decode(&r, full, strlen(full), 0);
    expect_ok(&r, "full");
    aw_action *a = &r.a;
    assert_string_equal(a->id, "i");
    assert_string_equal(a->ns, "n");
    assert_string_equal(a->tenant, "t");
    assert_string_equal(a->provider, "p");
    assert_string_equal(a->action_type, "x");
    assert_string_equal(a->dedup_key, "d");
    assert_string_equal(a->reply_to, "r");
    assert_string_equal(a->traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert_string_equal(a->tracestate, "s=1");
    assert_int_equal(a->created_at_ms, 1500);
    /* payload and metadata: the input's own bytes; the strings: the action's. */
    assert_ptr_equal(a->payload, strstr(full, "[1]"));
    assert_int_equal(a->payload_len, 3);
    assert_ptr_equal(a->metadata, strstr(full, "{\"a\""));
    assert_int_equal(a->metadata_len, strlen("{\"a\":\"b\"}"));
    assert_string_equal(aw_action_key(a), "d");
    assert_true(a->tenant < full || a->tenant >= full + sizeof full);
    aw_action_clear(a);
    assert_true(is_zero(a, sizeof *a));
    aw_action_clear(a); /* twice is fine */
    aw_action_clear(NULL);

    static const char minimal[] =
        "{\"id\":\"i\",\"namespace\":\"n\",\"tenant\":\"t\",\"provider\":\"p\",\"action_type\":\"x\","
        "\"payload\":null}";
    decode(&r, minimal, strlen(minimal), 0);
    expect_ok(&r, "minimal");
    assert_null(a->dedup_key);
    assert_null(a->reply_to);
    assert_null(a->traceparent);
    assert_null(a->tracestate);
    assert_null(a->metadata);
    assert_int_equal(a->created_at_ms, 0);
    assert_int_equal(a->payload_len, 4);
    assert_memory_equal(a->payload, "null", 4);
    assert_string_equal(aw_action_key(a), "i");
    aw_action_clear(a);

    /* A caller that only wants yes or no may pass no reject struct. */
    aw_action out;
    assert_int_equal(aw_action_decode("[]", 2, 0, &out, NULL), -1);
    assert_true(is_zero(&out, sizeof out));
}

static void test_reject_names(void **state)
{
    (void)state;
    static const char *const want[AW_REJECT_COUNT] = {
        "too_large",     "empty",         "invalid_json",  "too_deep",
        "not_an_object", "missing_field", "invalid_field", "unknown_provider", "rule_field",
        "lock_timeout",
    };
    for (int i = 0; i < AW_REJECT_COUNT; i++)
        assert_string_equal(aw_reject_reason_name((aw_reject_reason)i), want[i]);
    assert_string_equal(aw_reject_reason_name(AW_REJECT_COUNT), "unknown");
    assert_string_equal(aw_reject_reason_name((aw_reject_reason)-1), "unknown");
}

/* ---- identity ----------------------------------------------------------- */

static aw_action fake(const char *ns, const char *tenant, const char *id, const char *dedup)
{
    return (aw_action){.ns = ns, .tenant = tenant, .id = id, .dedup_key = dedup};
}

static void test_identity(void **state)
{
    (void)state;
    aw_buf b = {0};
    assert_int_equal(aw_buf_puts(&b, "prefix|"), 0);
    aw_action a = fake("notifications", "acme", "n-0001", NULL);
    assert_int_equal(aw_action_identity(&a, &b), 0);
    assert_string_equal(b.data, "prefix|notifications:acme:n-0001"); /* appended */
    aw_buf_reset(&b);
    a = fake("billing", "acme", "b-1", "invoice-7");
    assert_int_equal(aw_action_identity(&a, &b), 0);
    assert_string_equal(b.data, "billing:acme:invoice-7");
    aw_buf_free(&b);

    /* Golden values: the hash decides sharding and must not drift between
     * builds. FNV-1a 64 over (8-byte little-endian length, bytes) per part,
     * then MurmurHash3's fmix64. */
    a = fake("notifications", "acme", "n-0001", NULL);
    assert_int_equal(aw_action_identity_hash(&a), 0xadda3dc36dcca09eULL);
    aw_action x = fake("a", "b:c", "x", NULL), y = fake("a:b", "c", "x", NULL);
    assert_int_equal(aw_action_identity_hash(&x), 0xb76aae5489e92b90ULL);
    assert_int_equal(aw_action_identity_hash(&y), 0xfefd8745c9f157f0ULL);
    aw_action e = fake("", "", "", NULL);
    assert_int_equal(aw_action_identity_hash(&e), 0x716e2a0dc793f89fULL);

    /* dedup_key replaces id; the id is then irrelevant. */
    aw_action d1 = fake("n", "t", "id-1", "k"), d2 = fake("n", "t", "id-2", "k"),
              d3 = fake("n", "t", "k", NULL);
    assert_int_equal(aw_action_identity_hash(&d1), aw_action_identity_hash(&d2));
    assert_int_equal(aw_action_identity_hash(&d1), aw_action_identity_hash(&d3));
    aw_action other_tenant = fake("n", "u", "k", NULL);
    assert_int_not_equal(aw_action_identity_hash(&d3), aw_action_identity_hash(&other_tenant));

    /* Sequential ids spread evenly over a power-of-two shard count (plain
     * FNV-1a's low bits would follow the ids' low bits). */
    enum { SHARDS = 8, IDS = 16000 };
    int count[SHARDS] = {0};
    for (int i = 0; i < IDS; i++) {
        char id[32];
        snprintf(id, sizeof id, "order-%d", i);
        aw_action s = fake("billing", "acme", id, NULL);
        count[aw_action_identity_hash(&s) & (SHARDS - 1)]++;
    }
    for (int i = 0; i < SHARDS; i++)
        assert_in_range(count[i], IDS / SHARDS * 9 / 10, IDS / SHARDS * 11 / 10);
}

/* ---- the polling thread's identity scanner (ingest/action_scan.c) ------- */

static int scan(const char *text, uint64_t *h) { return aw_action_scan_identity(text, strlen(text), h); }

static void test_scan_identity(void **state)
{
    (void)state;
    uint64_t h = 0;
    aw_action a = fake("notifications", "acme", "n-0001", NULL);
    /* Field order, whitespace, nested look-alikes and unknown fields of
     * every kind do not matter. */
    assert_int_equal(scan("{\"id\":\"n-0001\",\"namespace\":\"notifications\",\"tenant\":\"acme\"}", &h), 0);
    assert_int_equal(h, aw_action_identity_hash(&a));
    assert_int_equal(scan(" \r\n{ \"payload\" : {\"id\":\"x\",\"tenant\":[\"}\",{\"a\":\"]\\\"\"}]},"
                          "\"n\":-1.5e3 , \"t\":true,\"f\":null,\"tenant\":\"acme\",\t"
                          "\"namespace\":\"notifications\",\"id\":\"n-0001\"}\n", &h), 0);
    assert_int_equal(h, aw_action_identity_hash(&a));
    /* dedup_key replaces id, wherever it comes. */
    aw_action d = fake("n", "t", "id-1", "k");
    assert_int_equal(scan("{\"dedup_key\":\"k\",\"namespace\":\"n\",\"tenant\":\"t\",\"id\":\"id-1\"}", &h), 0);
    assert_int_equal(h, aw_action_identity_hash(&d));
    /* What only the decoder can decide: escapes in keys or identity values,
     * non-string or repeated identity fields, missing ones, non-objects. */
    static const char *const undecided[] = {
        "{\"\\u0069d\":\"a\",\"namespace\":\"n\",\"tenant\":\"t\"}",
        "{\"id\":\"a\\u0041\",\"namespace\":\"n\",\"tenant\":\"t\"}",
        "{\"id\":7,\"namespace\":\"n\",\"tenant\":\"t\"}",
        "{\"id\":\"a\",\"namespace\":\"n\",\"tenant\":\"t\",\"tenant\":\"u\"}",
        "{\"id\":\"a\",\"namespace\":\"n\"}",
        "{\"id\":\"a\",\"namespace\":\"n\",\"tenant\":\"t\",\"dedup_key\":null}",
        "[\"id\",\"a\"]", "{}", "", "{\"id\":\"a\"", "{\"id\" \"a\"}",
        "{\"id\":\"a\",\"namespace\":\"n\",\"tenant\":\"t\",\"p\":{\"x\":\"}",
    };
    for (size_t i = 0; i < sizeof undecided / sizeof *undecided; i++)
        if (scan(undecided[i], &h) != -1)
            fail_msg("scanner decided on %s", undecided[i]);
    assert_int_equal(aw_action_scan_identity(NULL, 0, &h), -1);
}

/* What each line of the demo input must do: "ok" (a new identity), "dup"
 * (valid, identity seen on an earlier line) or "reason:field". */
static const char *const example_expect[] = {
    "ok",  "ok",  "ok",  "ok",  "dup", "ok",  "ok", "dup",
    "invalid_json:", "ok", "ok", "missing_field:tenant", "ok", "dup", "ok",
    "missing_field:payload", "ok", "ok", "dup", "ok", "invalid_field:id", "ok",
    "ok",  "ok",  "ok",  "dup", "ok",  "ok", "ok", "ok",
};

static void test_examples(void **state)
{
    (void)state;
    char path[4096];
    FILE *f = fopen(src_path("examples/actions.jsonl", path, sizeof path), "r");
    if (!f)
        fail_msg("cannot open %s", path);
    json_t *seen = json_object();
    char *line = NULL;
    size_t cap = 0, n = 0, valid = 0, dups = 0, bad_lines = 0;
    ssize_t got;
    int bad = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)got;
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (n >= sizeof example_expect / sizeof example_expect[0])
            fail_msg("examples/actions.jsonl has more lines than expected");
        const char *want = example_expect[n++];
        result r;
        decode(&r, line, len, 0);
        char outcome[128];
        if (r.rc == 0) {
            aw_buf id = {0};
            assert_int_equal(aw_action_identity(&r.a, &id), 0);
            bool dup = json_object_get(seen, id.data) != NULL;
            json_object_set_new(seen, id.data, json_true());
            aw_buf_free(&id);
            snprintf(outcome, sizeof outcome, "%s", dup ? "dup" : "ok");
            valid++;
            dups += dup;
            if (strcmp(r.a.provider, "log") != 0)
                bad++, print_error("line %zu: provider \"%s\" (the demo has only \"log\")\n", n,
                                   r.a.provider);
            aw_action_clear(&r.a);
        } else {
            snprintf(outcome, sizeof outcome, "%s:%s", aw_reject_reason_name(r.rej.reason),
                     r.rej.field);
            bad_lines++;
        }
        if (strcmp(outcome, want) != 0)
            bad++, print_error("line %zu: expected %s, got %s %s\n", n, want, outcome,
                               r.rc ? r.rej.detail : "");
    }
    free(line);
    fclose(f);
    json_decref(seen);
    assert_int_equal(n, sizeof example_expect / sizeof example_expect[0]);
    assert_int_equal(valid, 26);
    assert_int_equal(dups, 5);
    assert_int_equal(bad_lines, 4);
    if (bad)
        fail_msg("%d example lines do not decode as expected", bad);
}

/* ---- schema agreement --------------------------------------------------- */

static json_int_t schema_int(const json_t *schema, const char *path)
{
    /* path: dot-separated member names, e.g. "properties.id.maxLength". */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *cur = schema;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok;
         tok = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, tok);
    if (!json_is_integer(cur))
        fail_msg("schema: %s is not an integer", path);
    return json_integer_value(cur);
}

static const char *schema_str(const json_t *schema, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *cur = schema;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok;
         tok = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, tok);
    if (!json_is_string(cur))
        fail_msg("schema: %s is not a string", path);
    return json_string_value(cur);
}

static void test_schema_agrees(void **state)
{
    (void)state;
    json_t *s = load_json_file("schemas/action.schema.json", JSON_REJECT_DUPLICATES);
    static const char no_ctl[] = "^[^\\u0000-\\u001f\\u007f]+$";
    static const struct {
        const char *field;
        json_int_t max;
    } text[] = {
        {"id", AW_ACTION_MAX_ID_LEN},          {"dedup_key", AW_ACTION_MAX_ID_LEN},
        {"namespace", AW_ACTION_MAX_NAME_LEN}, {"tenant", AW_ACTION_MAX_NAME_LEN},
        {"provider", AW_ACTION_MAX_NAME_LEN},  {"action_type", AW_ACTION_MAX_NAME_LEN},
    };
    char path[128];
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        snprintf(path, sizeof path, "properties.%s.maxLength", text[i].field);
        assert_int_equal(schema_int(s, path), text[i].max);
        snprintf(path, sizeof path, "properties.%s.minLength", text[i].field);
        assert_int_equal(schema_int(s, path), 1);
        snprintf(path, sizeof path, "properties.%s.pattern", text[i].field);
        assert_string_equal(schema_str(s, path), no_ctl);
        snprintf(path, sizeof path, "properties.%s.type", text[i].field);
        assert_string_equal(schema_str(s, path), "string");
    }
    assert_int_equal(schema_int(s, "properties.reply_to.maxLength"), AW_ACTION_MAX_TOPIC_LEN);
    assert_string_equal(schema_str(s, "properties.reply_to.pattern"),
                        "^[a-zA-Z0-9._-]{1," STR(AW_ACTION_MAX_TOPIC_LEN) "}$");
    assert_int_equal(schema_int(s, "properties.metadata.maxProperties"),
                     AW_ACTION_MAX_METADATA_ENTRIES);
    assert_int_equal(schema_int(s, "properties.metadata.propertyNames.maxLength"),
                     AW_ACTION_MAX_METADATA_LEN);
    assert_int_equal(schema_int(s, "properties.metadata.additionalProperties.maxLength"),
                     AW_ACTION_MAX_METADATA_LEN);
    assert_string_equal(schema_str(s, "properties.metadata.additionalProperties.type"),
                        "string");
    assert_int_equal(schema_int(s, "properties.trace_context.properties.traceparent.maxLength"),
                     AW_ACTION_MAX_TRACE_LEN);
    assert_int_equal(schema_int(s, "properties.trace_context.properties.tracestate.maxLength"),
                     AW_ACTION_MAX_TRACE_LEN);
    assert_string_equal(schema_str(s, "properties.trace_context.properties.traceparent.pattern"),
                        "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$");
    assert_string_equal(schema_str(s, "properties.created_at.format"), "date-time");
    assert_string_equal(schema_str(s, "$schema"),
                        "https://json-schema.org/draft/2020-12/schema");
    assert_true(json_is_true(json_object_get(s, "additionalProperties")));

    /* Required: exactly the fields the decoder reports as missing_field. */
    json_t *want = json_pack("[s,s,s,s,s,s]", "id", "namespace", "tenant", "provider",
                             "action_type", "payload");
    assert_true(json_equal(json_object_get(s, "required"), want));
    json_decref(want);

    /* The schema's own examples are accepted by the decoder. */
    const json_t *examples = json_object_get(s, "examples");
    assert_true(json_array_size(examples) >= 1);
    size_t i;
    json_t *ex;
    json_array_foreach(examples, i, ex) {
        result r;
        decode_json(&r, json_incref(ex), 0);
        expect_ok(&r, "schema example");
        aw_action_clear(&r.a);
    }
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_table),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_jansson_depth_bound),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_id_of_10000),
        cmocka_unit_test(test_metadata_limits),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_output_fields),
        cmocka_unit_test(test_reject_names),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_scan_identity),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_schema_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
