/* The strict JSON checker (ingest/json_check.c): for each text of a table of
 * edge cases it must accept exactly when jansson's json_loadb() does with
 * the flags it promises to match; the values it reports (kind, span,
 * unescaped length, member count) and its unescaping are checked by hand;
 * and the paths that allocate (many keys, long escaped keys, long reals)
 * behave like the inline ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/json_check.h"

static bool jansson_accepts(const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    json_decref(j);
    return j != NULL;
}

static int check(const char *text, size_t len, aw_json_value *root, aw_json_error *err)
{
    return aw_json_check(text, len, 64, NULL, NULL, root, err);
}

/* Texts with a length: some hold NUL bytes. */
typedef struct text_case {
    const char *text;
    size_t len; /* 0: strlen */
} text_case;

static const text_case edge_cases[] = {
    /* scalars at the top */
    {"0"}, {"-0"}, {"1"}, {"-1"}, {"01"}, {"-"}, {"+1"}, {"1."}, {".5"}, {"1.5"}, {"1e5"},
    {"1E+5"}, {"1e-5"}, {"1e"}, {"1e+"}, {"-0.0e0"}, {"1.5e308"}, {"1e309"}, {"-1e309"},
    {"1e-400"}, {"9223372036854775807"}, {"9223372036854775808"}, {"-9223372036854775808"},
    {"-9223372036854775809"}, {"12345678901234567890"}, {"00"}, {"1 2"}, {"true"}, {"false"},
    {"null"}, {"tru"}, {"truex"}, {"nul"}, {"True"}, {"NaN"}, {"Infinity"}, {"\"\""},
    {" \t\r\n1\n"}, {"\f1"}, {"\v1"}, {""}, {" "},
    /* strings */
    {"\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""}, {"\"\\x\""}, {"\"\\u00e9\""}, {"\"\\u00E9\""},
    {"\"\\u00g9\""}, {"\"\\u00\""}, {"\"\\ud83d\\ude00\""}, {"\"\\ud83d\""}, {"\"\\ude00\""},
    {"\"\\ud83d\\u0041\""}, {"\"\\ud83dx\""}, {"\"\\ud83d\\n\""}, {"\"\\u0000\""},
    {"\"a\\u0000b\""}, {"\"\x01\""}, {"\"\x1f\""}, {"\"\x7f\""}, {"\"tab\there\""},
    {"\"\xc3\xa9\""}, {"\"\xc3\""}, {"\"\xc0\xaf\""}, {"\"\xc1\xbf\""}, {"\"\xe0\x80\xaf\""},
    {"\"\xed\xa0\x80\""}, {"\"\xef\xbf\xbf\""}, {"\"\xf0\x9f\x98\x80\""}, {"\"\xf4\x8f\xbf\xbf\""},
    {"\"\xf4\x90\x80\x80\""}, {"\"\xf5\x80\x80\x80\""}, {"\"\x80\""}, {"\"\xff\""},
    {"\"unterminated"}, {"\"a\\"}, {"\"\\u12"},
    /* containers */
    {"[]"}, {"[ ]"}, {"[1,]"}, {"[,1]"}, {"[1 2]"}, {"[1,,2]"}, {"["}, {"]"}, {"[[]]"},
    {"[1,[2,[3]]]"}, {"{}"}, {"{ }"}, {"{\"a\":1}"}, {"{\"a\":1,}"}, {"{\"a\" 1}"},
    {"{\"a\":}"}, {"{a:1}"}, {"{\"a\":1 \"b\":2}"}, {"{1:1}"}, {"{\"a\":1}}"}, {"{\"a\":1"},
    {"{\"a\":1,\"a\":2}"}, {"{\"a\":1,\"\\u0061\":2}"}, {"{\"a\":{\"a\":1},\"b\":{\"a\":1}}"},
    {"{\"a\":{\"b\":1,\"b\":2}}"}, {"[{\"a\":1},{\"a\":1}]"}, {"{\"\":1,\"\":2}"},
    {"{\"\":1}"}, {"{\"a\\u0000\":1}"}, {"{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"},
    {"{\"x\":[1,{\"y\":\"\\u00e9\"}],\"z\":null}"}, {"[1]x"}, {"{} {}"},
    /* bytes outside strings */
    {"\xef\xbb\xbf{}"}, {"{}\x80"}, {"\xc3\xa9"}, {"[1,2]\0", 6}, {"\0[]", 3}, {"[\0]", 3},
    {"[\"a\0\"]", 6},
};

static void test_agrees_with_jansson(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof edge_cases / sizeof edge_cases[0]; i++) {
        const text_case *c = &edge_cases[i];
        size_t len = c->len ? c->len : strlen(c->text);
        aw_json_value root;
        aw_json_error err;
        bool ours = check(c->text, len, &root, &err) == 0;
        bool theirs = len > 0 && jansson_accepts(c->text, len);
        if (ours != theirs) {
            bad++;
            print_error("case %zu \"%.*s\": checker %s, jansson %s (%s)\n", i, (int)len,
                        c->text, ours ? "accepts" : "refuses", theirs ? "accepts" : "refuses",
                        ours ? "" : err.text);
        }
        if (!ours && (err.offset > len || !memchr(err.text, '\0', sizeof err.text)))
            bad++, print_error("case %zu: error offset %zu or text out of bounds\n", i,
                               err.offset);
    }
    if (bad)
        fail_msg("%d disagreements", bad);
}

/* The one deliberate difference (json_check.h): jansson skips a NUL byte
 * right after a number or literal. */
static void test_nul_after_token(void **state)
{
    (void)state;
    static const char text[] = "[1,2\0]";
    aw_json_value root;
    aw_json_error err;
    assert_true(jansson_accepts(text, sizeof text - 1));
    assert_int_equal(check(text, sizeof text - 1, &root, &err), -1);
    assert_int_equal(err.offset, 4);
}

static void test_values(void **state)
{
    (void)state;
    aw_json_value v;
    aw_json_error err;
    const char *t = "  {\"a\": [1, 2.5, \"x\"], \"b\": {}}  ";
    assert_int_equal(check(t, strlen(t), &v, &err), 0);
    assert_int_equal(v.kind, AW_JSON_OBJECT);
    assert_ptr_equal(v.text, t + 2);
    assert_int_equal(v.len, strlen(t) - 4);
    assert_int_equal(v.count, 2);

    static const struct {
        const char *text;
        aw_json_kind kind;
    } kinds[] = {{"[1,2,3]", AW_JSON_ARRAY}, {"\"s\"", AW_JSON_STRING}, {"-12", AW_JSON_INTEGER},
                 {"1e2", AW_JSON_REAL},      {"0.5", AW_JSON_REAL},      {"true", AW_JSON_TRUE},
                 {"false", AW_JSON_FALSE},   {"null", AW_JSON_NULL}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        assert_int_equal(check(kinds[i].text, strlen(kinds[i].text), &v, &err), 0);
        assert_int_equal(v.kind, kinds[i].kind);
        assert_int_equal(v.len, strlen(kinds[i].text));
    }
    assert_int_equal(check("[1,2,3]", 7, &v, &err), 0);
    assert_int_equal(v.count, 3);
    assert_string_equal(aw_json_kind_phrase(AW_JSON_REAL), "a number");
    assert_string_equal(aw_json_kind_phrase(AW_JSON_INTEGER), "an integer");
}

/* Unescaped lengths and bytes, against jansson's reading of the same text. */
static void test_unescape(void **state)
{
    (void)state;
    static const char *const strings[] = {
        "\"plain\"", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\"", "\"\\u0041\\u00e9\\u20ac\"",
        "\"\\ud83d\\ude00!\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        const char *t = strings[i];
        aw_json_value v;
        aw_json_error err;
        assert_int_equal(check(t, strlen(t), &v, &err), 0);
        json_t *j = json_loadb(t, strlen(t), JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        assert_int_equal(v.str_len, json_string_length(j));
        char *out = malloc(v.str_len + 1);
        assert_non_null(out);
        memset(out, 'Z', v.str_len + 1);
        aw_json_string_copy(&v, out);
        assert_memory_equal(out, json_string_value(j), v.str_len + 1); /* NUL included */
        free(out);
        json_decref(j);
    }
}

typedef struct collected {
    int calls;
    char keys[8][32];
    aw_json_kind kinds[8];
} collected;

static void collect(void *ctx, const char *key, size_t key_len, const aw_json_value *v)
{
    collected *c = ctx;
    if (c->calls < 8) {
        snprintf(c->keys[c->calls], sizeof c->keys[0], "%.*s", (int)key_len, key);
        c->kinds[c->calls] = v->kind;
    }
    c->calls++;
}

/* Top-level members only, in order, keys unescaped. */
static void test_members(void **state)
{
    (void)state;
    const char *t = "{\"i\\u0064\":\"x\",\"n\":{\"deep\":1,\"er\":[{\"z\":2}]},\"\":null}";
    collected c = {0};
    aw_json_value root;
    aw_json_error err;
    assert_int_equal(aw_json_check(t, strlen(t), 64, collect, &c, &root, &err), 0);
    assert_int_equal(c.calls, 3);
    assert_string_equal(c.keys[0], "id");
    assert_int_equal(c.kinds[0], AW_JSON_STRING);
    assert_string_equal(c.keys[1], "n");
    assert_int_equal(c.kinds[1], AW_JSON_OBJECT);
    assert_string_equal(c.keys[2], "");
    assert_int_equal(c.kinds[2], AW_JSON_NULL);
}

static void test_depth(void **state)
{
    (void)state;
    aw_json_value v;
    aw_json_error err;
    assert_int_equal(aw_json_check("[[[]]]", 6, 3, NULL, NULL, &v, &err), 0);
    assert_int_equal(aw_json_check("[[[[]]]]", 8, 3, NULL, NULL, &v, &err), -1);
    assert_true(err.too_deep);
    assert_int_equal(aw_json_check("{\"a\":{\"b\":{}}}", 14, 2, NULL, NULL, &v, &err), -1);
    assert_true(err.too_deep);
}

/* An object of n keys "k0".."k<n-1>", each written with escapes when
 * escaped (so the decoded side buffer grows), with key dup_of repeated at
 * the end when dup_of >= 0. */
static char *many_keys(size_t n, bool escaped, long dup_of, size_t *len)
{
    size_t cap = (n + 1) * 64 + 16, at = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[at++] = '{';
    for (size_t i = 0; i < n + (dup_of >= 0); i++) {
        size_t k = i < n ? i : (size_t)dup_of;
        at += (size_t)snprintf(s + at, cap - at, "%s\"%sk%zu\":%zu", i ? "," : "",
                               escaped ? "\\u006b\\u006b\\u006b\\u006b" : "", k, i);
    }
    s[at++] = '}';
    s[at] = '\0';
    *len = at;
    return s;
}

static void test_many_keys(void **state)
{
    (void)state;
    static const size_t sizes[] = {3, 16, 17, 64, 65, 1000, 20000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int escaped = 0; escaped < 2; escaped++) {
            size_t n = sizes[i], len;
            aw_json_value v;
            aw_json_error err;
            char *ok = many_keys(n, escaped, -1, &len);
            if (check(ok, len, &v, &err) != 0)
                fail_msg("%zu keys (escaped %d): %s", n, escaped, err.text);
            assert_int_equal(v.count, n);
            free(ok);
            long dups[] = {0, (long)n / 2, (long)n - 1};
            for (size_t d = 0; d < 3; d++) {
                char *dup = many_keys(n, escaped, dups[d], &len);
                assert_int_equal(check(dup, len, &v, &err), -1);
                assert_string_equal(err.text, "duplicate object key");
                assert_false(jansson_accepts(dup, len));
                free(dup);
            }
        }
    }
}

/* Keys that differ only in their middle bytes (the duplicate check's hash
 * looks at a key's first and last eight bytes): distinct keys, whether the
 * object is small (pairs compared) or large (sorted). */
/* n keys "aaaaaaaa<i>bbbbbbbb", the last one's <i> replaced by last_key. */
static size_t alike_keys(char *t, size_t cap, int n, int last_key)
{
    size_t at = 0;
    t[at++] = '{';
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(t + at, cap - at, "%s\"aaaaaaaa%02dbbbbbbbb\":%d", i ? "," : "",
                               i == n - 1 ? last_key : i, i);
    t[at++] = '}';
    return at;
}

static void test_keys_alike_but_middle(void **state)
{
    (void)state;
    for (int n = 2; n <= 40; n += 38) {
        char t[2048];
        aw_json_value v;
        aw_json_error err;
        size_t len = alike_keys(t, sizeof t, n, n - 1);
        if (check(t, len, &v, &err) != 0)
            fail_msg("%d keys alike but in the middle: %s", n, err.text);
        assert_int_equal(v.count, (size_t)n);
        len = alike_keys(t, sizeof t, n, 0); /* the last key equal to the first */
        assert_int_equal(check(t, len, &v, &err), -1);
        assert_string_equal(err.text, "duplicate object key");
    }
}

/* Keys of enclosing objects stay checked after a nested object grew the key
 * stack and the side buffer (which may move them). */
static void test_keys_across_nesting(void **state)
{
    (void)state;
    size_t inner_len;
    char *inner = many_keys(200, true, -1, &inner_len);
    size_t cap = inner_len + 128;
    char *t = malloc(cap);
    assert_non_null(t);
    int n = snprintf(t, cap, "{\"\\u0061\":1,\"in\":%s,\"a\":2}", inner);
    aw_json_value v;
    aw_json_error err;
    assert_int_equal(check(t, (size_t)n, &v, &err), -1);
    assert_string_equal(err.text, "duplicate object key");
    n = snprintf(t, cap, "{\"\\u0061\":1,\"in\":%s,\"b\":2}", inner);
    assert_int_equal(check(t, (size_t)n, &v, &err), 0);
    free(t);
    free(inner);
}

static void test_long_numbers(void **state)
{
    (void)state;
    char t[600];
    memset(t, '1', sizeof t);
    t[1] = '.';
    aw_json_value v;
    aw_json_error err;
    assert_int_equal(check(t, sizeof t, &v, &err), 0); /* a 600-byte real */
    assert_int_equal(v.kind, AW_JSON_REAL);
    t[1] = '1';
    assert_int_equal(check(t, sizeof t, &v, &err), -1); /* a 600-digit integer */
    assert_string_equal(err.text, "too big integer");
    t[sizeof t - 4] = 'e';
    assert_int_equal(check(t, sizeof t, &v, &err), -1); /* 596 digits, then e111: overflow */
    assert_false(jansson_accepts(t, sizeof t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_jansson), cmocka_unit_test(test_nul_after_token),
        cmocka_unit_test(test_values),              cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_members),             cmocka_unit_test(test_depth),
        cmocka_unit_test(test_many_keys),           cmocka_unit_test(test_keys_across_nesting),
        cmocka_unit_test(test_keys_alike_but_middle),
        cmocka_unit_test(test_long_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
