/* Decoding and validating one action message.
 *
 * The rules are those of schemas/action.schema.json, one for one; the schema's
 * top-level description lists the few that JSON Schema cannot state (size,
 * strict JSON, depth, byte lengths). tests/unit/test_action.c checks that the
 * limits written in the schema equal the #defines in action.h.
 *
 * Order of checks, cheapest and most fundamental first, first failure wins:
 *   size -> nesting depth (on the raw bytes) -> JSON parse -> object ->
 *   id, namespace, tenant, provider, action_type, payload (required) ->
 *   dedup_key, created_at, metadata, reply_to, trace_context (optional).
 *
 * This runs once per consumed message on the hot path: one parse, no
 * allocation beyond jansson's tree, nothing formatted unless rejecting. */
#include "ingest/action.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/aw_clock.h"

#define AW_STR_(x) #x
#define AW_STR(x) AW_STR_(x)

/* Stack overflow from deep nesting can only come from jansson's recursive
 * parser; our own depth check runs before it, so jansson never recurses more
 * than AW_ACTION_MAX_DEPTH + 1 levels. Its own bound (jansson >= 2.8,
 * CVE-2016-4425) is a second line of defence. */
#if !defined(JSON_PARSER_MAX_DEPTH) || JSON_PARSER_MAX_DEPTH < AW_ACTION_MAX_DEPTH
#error "jansson >= 2.8 with JSON_PARSER_MAX_DEPTH >= AW_ACTION_MAX_DEPTH is required"
#endif

static const char *const aw_reject_names[AW_REJECT_COUNT] = {
    [AW_REJECT_TOO_LARGE] = "too_large",
    [AW_REJECT_EMPTY] = "empty",
    [AW_REJECT_INVALID_JSON] = "invalid_json",
    [AW_REJECT_TOO_DEEP] = "too_deep",
    [AW_REJECT_NOT_OBJECT] = "not_an_object",
    [AW_REJECT_MISSING_FIELD] = "missing_field",
    [AW_REJECT_INVALID_FIELD] = "invalid_field",
    [AW_REJECT_UNKNOWN_PROVIDER] = "unknown_provider",
};

const char *aw_reject_reason_name(aw_reject_reason r)
{
    return (unsigned)r < AW_REJECT_COUNT ? aw_reject_names[r] : "unknown";
}

/* ---- rejection ---------------------------------------------------------- */

/* State of one decode call. id is set once the id passed its rule, so every
 * later rejection can still say which action it was about. */
typedef struct aw_decode_ctx {
    aw_reject *rej;
    const char *id;
} aw_decode_ctx;

static int aw_reject_set(aw_decode_ctx *c, aw_reject_reason reason, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fill the caller's reject struct; always returns -1 so callers can
 * `return aw_reject_set(...)`. */
static int aw_reject_set(aw_decode_ctx *c, aw_reject_reason reason, const char *field,
                         const char *fmt, ...)
{
    aw_reject *r = c->rej;
    r->reason = reason;
    snprintf(r->field, sizeof r->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    /* The id passed its rule, so it fits (AW_ACTION_MAX_ID_LEN bytes + NUL). */
    snprintf(r->action_id, sizeof r->action_id, "%s", c->id ? c->id : "");
    return -1;
}

/* Copy s (n bytes) into out with anything but printable ASCII replaced by
 * '?', ending in "..." when cut short (outsz >= 4). Details end up in logs and
 * DLQ headers: quoted input must not smuggle control characters or broken
 * UTF-8 into them. */
static void aw_printable(char *out, size_t outsz, const char *s, size_t n)
{
    size_t i = 0;
    for (; i < n && i + 1 < outsz; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    out[i] = '\0';
    if (i < n && outsz >= 4)
        memcpy(out + outsz - 4, "...", 4);
}

static const char *aw_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

/* ---- raw-byte checks ---------------------------------------------------- */

/* True when [ and { nest deeper than AW_ACTION_MAX_DEPTH outside strings.
 * Done on the raw bytes before parsing, without recursion or allocation, so a
 * 100,000-deep bomb costs one linear scan and never reaches the parser's
 * recursion. Exact for valid JSON; for invalid JSON it reports some depth and
 * the message is rejected either way. */
static bool aw_too_deep(const unsigned char *p, size_t len)
{
    /* Fast path: fewer container openers than the limit (counting those
     * inside strings too, so this can only over-count) cannot nest too deep.
     * This loop vectorises; nearly every real action takes it. */
    size_t opens = 0;
    for (size_t i = 0; i < len; i++)
        opens += (size_t)(p[i] == '[') + (size_t)(p[i] == '{');
    if (opens <= AW_ACTION_MAX_DEPTH)
        return false;

    long depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = p[i];
        if (in_string) {
            if (ch == '\\')
                i++; /* the escaped byte cannot end the string */
            else if (ch == '"')
                in_string = false;
            continue;
        }
        if (ch == '"')
            in_string = true;
        else if (ch == '[' || ch == '{') {
            if (++depth > AW_ACTION_MAX_DEPTH)
                return true;
        } else if (ch == ']' || ch == '}')
            depth--;
    }
    return false;
}

static int aw_parse(aw_decode_ctx *c, const void *data, size_t len, json_t **root)
{
    json_error_t jerr;
    /* DECODE_ANY: a top-level scalar is valid JSON and gets the more precise
     * not_an_object. REJECT_DUPLICATES: {"tenant":"a","tenant":"b"} means
     * different things to different parsers; such ambiguity is how one
     * validator's view and another consumer's diverge. No JSON_ALLOW_NUL:
     * strings are C strings from here on. */
    *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (*root)
        return 0;
    enum json_error_code code = json_error_code(&jerr);
    if (code == json_error_stack_overflow) /* unreachable after aw_too_deep */
        return aw_reject_set(c, AW_REJECT_TOO_DEEP, NULL,
                             "JSON nesting deeper than %d levels", AW_ACTION_MAX_DEPTH);
    char text[sizeof jerr.text];
    if (code == json_error_null_character || code == json_error_null_byte_in_key)
        /* jansson's own text names its flag, which means nothing to a producer. */
        snprintf(text, sizeof text, "\\u0000 is not allowed in any string or key");
    else
        aw_printable(text, sizeof text, jerr.text, strnlen(jerr.text, sizeof jerr.text - 1));
    return aw_reject_set(c, AW_REJECT_INVALID_JSON, NULL, "invalid JSON at byte %d: %s",
                         jerr.position, text);
}

/* ---- field rules -------------------------------------------------------- */

/* A string field: min..max bytes, optionally without control characters
 * (U+0000-U+001F, U+007F: the schema's ^[^\u0000-\u001f\u007f]+$). In UTF-8
 * those code points are single bytes that occur in no other encoding, so a
 * byte scan is exact. */
typedef struct aw_text_rule {
    const char *key;   /* member name in its object */
    const char *field; /* name reported in aw_reject.field */
    size_t min, max;
    bool no_ctl;
    const char *rule;  /* the rule, for the detail text */
} aw_text_rule;

#define AW_ID_RULE "must be a string of 1.." AW_STR(AW_ACTION_MAX_ID_LEN) \
    " bytes (UTF-8) without control characters"
#define AW_NAME_RULE "must be a string of 1.." AW_STR(AW_ACTION_MAX_NAME_LEN) \
    " bytes (UTF-8) without control characters"

static const aw_text_rule aw_rule_id = {"id", "id", 1, AW_ACTION_MAX_ID_LEN, true, AW_ID_RULE};
static const aw_text_rule aw_rule_ns = {"namespace", "namespace", 1, AW_ACTION_MAX_NAME_LEN,
                                        true, AW_NAME_RULE};
static const aw_text_rule aw_rule_tenant = {"tenant", "tenant", 1, AW_ACTION_MAX_NAME_LEN,
                                            true, AW_NAME_RULE};
static const aw_text_rule aw_rule_provider = {"provider", "provider", 1,
                                              AW_ACTION_MAX_NAME_LEN, true, AW_NAME_RULE};
static const aw_text_rule aw_rule_action_type = {"action_type", "action_type", 1,
                                                 AW_ACTION_MAX_NAME_LEN, true, AW_NAME_RULE};
static const aw_text_rule aw_rule_dedup_key = {"dedup_key", "dedup_key", 1,
                                               AW_ACTION_MAX_ID_LEN, true, AW_ID_RULE};
static const aw_text_rule aw_rule_tracestate = {
    "tracestate", "trace_context.tracestate", 0, AW_ACTION_MAX_TRACE_LEN, true,
    "must be a string of at most " AW_STR(AW_ACTION_MAX_TRACE_LEN)
    " bytes (UTF-8) without control characters"};

/* Index of the first control character in s, or n when there is none. */
static size_t aw_first_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return i;
    }
    return n;
}

static bool aw_text_ok(const json_t *v, const aw_text_rule *r)
{
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    if (n < r->min || n > r->max)
        return false;
    return !r->no_ctl || aw_first_ctl(json_string_value(v), n) == n;
}

/* Reject v for breaking r, saying what was found instead. */
static int aw_reject_text(aw_decode_ctx *c, const aw_text_rule *r, const json_t *v)
{
    if (!json_is_string(v))
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, r->field, "%s: %s; got %s",
                             r->field, r->rule, aw_json_kind(v));
    size_t n = json_string_length(v);
    if (n == 0)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, r->field,
                             "%s: %s; got an empty string", r->field, r->rule);
    if (n > r->max)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, r->field,
                             "%s: %s; got %zu bytes", r->field, r->rule, n);
    size_t at = aw_first_ctl(json_string_value(v), n);
    return aw_reject_set(c, AW_REJECT_INVALID_FIELD, r->field,
                         "%s: %s; got control character 0x%02x at byte %zu", r->field,
                         r->rule, (unsigned)(unsigned char)json_string_value(v)[at], at);
}

/* Read the string member r->key of obj into *out (left as is when absent and
 * optional). */
static int aw_take_text(aw_decode_ctx *c, const json_t *obj, const aw_text_rule *r,
                        bool required, const char **out)
{
    const json_t *v = json_object_get(obj, r->key);
    if (!v) {
        if (!required)
            return 0;
        return aw_reject_set(c, AW_REJECT_MISSING_FIELD, r->field,
                             "%s: required field is missing", r->field);
    }
    if (!aw_text_ok(v, r))
        return aw_reject_text(c, r, v);
    *out = json_string_value(v);
    return 0;
}

#define AW_CREATED_AT_RULE "must be an RFC 3339 date-time such as 2025-01-15T09:30:00Z"

static int aw_take_created_at(aw_decode_ctx *c, const json_t *root, int64_t *ms)
{
    const json_t *v = json_object_get(root, "created_at");
    if (!v)
        return 0;
    if (!json_is_string(v))
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "created_at",
                             "created_at: " AW_CREATED_AT_RULE "; got %s", aw_json_kind(v));
    const char *s = json_string_value(v);
    /* aw_time_parse_rfc3339 also takes the " " separator RFC 3339 allows by
     * agreement; JSON Schema's date-time follows the ABNF, which has only T. */
    bool t_sep = json_string_length(v) > 10 && (s[10] == 'T' || s[10] == 't');
    if (!t_sep || aw_time_parse_rfc3339(s, ms) != 0) {
        char shown[48];
        aw_printable(shown, sizeof shown, s, json_string_length(v));
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "created_at",
                             "created_at: " AW_CREATED_AT_RULE "; got \"%s\"", shown);
    }
    return 0;
}

#define AW_METADATA_RULE                                                           \
    "must be an object of at most " AW_STR(AW_ACTION_MAX_METADATA_ENTRIES)         \
    " string values, each key and value at most " AW_STR(AW_ACTION_MAX_METADATA_LEN) \
    " bytes (UTF-8)"

static int aw_check_metadata(aw_decode_ctx *c, const json_t *m)
{
    if (!json_is_object(m))
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                             "metadata: " AW_METADATA_RULE "; got %s", aw_json_kind(m));
    size_t entries = json_object_size(m);
    if (entries > AW_ACTION_MAX_METADATA_ENTRIES)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                             "metadata: " AW_METADATA_RULE "; got %zu entries", entries);
    char shown[33];
    /* jansson's iterator API takes non-const objects but does not modify them. */
    json_t *obj = (json_t *)m;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        const json_t *v = json_object_iter_value(it);
        size_t klen = strlen(key); /* keys hold no NUL: the parser refuses it */
        if (klen > AW_ACTION_MAX_METADATA_LEN) {
            aw_printable(shown, sizeof shown, key, klen);
            return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                                 "metadata: " AW_METADATA_RULE "; got a key of %zu bytes "
                                 "(\"%s\")", klen, shown);
        }
        if (!json_is_string(v)) {
            aw_printable(shown, sizeof shown, key, klen);
            return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                                 "metadata: " AW_METADATA_RULE "; got %s at key \"%s\"",
                                 aw_json_kind(v), shown);
        }
        if (json_string_length(v) > AW_ACTION_MAX_METADATA_LEN) {
            aw_printable(shown, sizeof shown, key, klen);
            return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                                 "metadata: " AW_METADATA_RULE "; got a value of %zu bytes "
                                 "at key \"%s\"", json_string_length(v), shown);
        }
    }
    return 0;
}

#define AW_REPLY_TO_RULE                                                           \
    "must be a Kafka topic name: 1.." AW_STR(AW_ACTION_MAX_TOPIC_LEN)              \
    " of [a-zA-Z0-9._-], not \".\" or \"..\""

static bool aw_topic_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

static bool aw_topic_ok(const char *s, size_t n)
{
    if (n < 1 || n > AW_ACTION_MAX_TOPIC_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!aw_topic_char((unsigned char)s[i]))
            return false;
    /* Kafka refuses these two as topic names: they are path components. */
    return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int aw_take_reply_to(aw_decode_ctx *c, const json_t *root, const char **out)
{
    const json_t *v = json_object_get(root, "reply_to");
    if (!v)
        return 0;
    if (!json_is_string(v))
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "reply_to",
                             "reply_to: " AW_REPLY_TO_RULE "; got %s", aw_json_kind(v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > AW_ACTION_MAX_TOPIC_LEN)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "reply_to",
                             "reply_to: " AW_REPLY_TO_RULE "; got %zu bytes", n);
    if (!aw_topic_ok(s, n)) {
        char shown[48];
        aw_printable(shown, sizeof shown, s, n);
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "reply_to",
                             "reply_to: " AW_REPLY_TO_RULE "; got \"%s\"", shown);
    }
    *out = s;
    return 0;
}

#define AW_TRACEPARENT_RULE \
    "must be a W3C traceparent: 2-32-16-2 lowercase hex digits joined by '-'"

/* ^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$ without a regex engine. */
static bool aw_traceparent_ok(const char *s, size_t n)
{
    if (n != 55)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool dash_pos = i == 2 || i == 35 || i == 52;
        bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
        if (dash_pos ? ch != '-' : !hex)
            return false;
    }
    return true;
}

static int aw_take_traceparent(aw_decode_ctx *c, const json_t *tc, const char **out)
{
    const json_t *v = json_object_get(tc, "traceparent");
    if (!v)
        return 0;
    if (!json_is_string(v))
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "trace_context.traceparent",
                             "trace_context.traceparent: " AW_TRACEPARENT_RULE "; got %s",
                             aw_json_kind(v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!aw_traceparent_ok(s, n)) {
        char shown[64];
        aw_printable(shown, sizeof shown, s, n);
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "trace_context.traceparent",
                             "trace_context.traceparent: " AW_TRACEPARENT_RULE
                             "; got \"%s\"", shown);
    }
    *out = s;
    return 0;
}

static int aw_take_trace_context(aw_decode_ctx *c, const json_t *root, aw_action *a)
{
    const json_t *tc = json_object_get(root, "trace_context");
    if (!tc)
        return 0;
    if (!json_is_object(tc))
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "trace_context",
                             "trace_context: must be an object; got %s", aw_json_kind(tc));
    if (aw_take_traceparent(c, tc, &a->traceparent))
        return -1;
    return aw_take_text(c, tc, &aw_rule_tracestate, false, &a->tracestate);
}

/* ---- decode ------------------------------------------------------------- */

static int aw_take_required(aw_decode_ctx *c, const json_t *root, aw_action *a)
{
    /* id first: once it is known, every later rejection carries it. */
    if (aw_take_text(c, root, &aw_rule_id, true, &a->id))
        return -1;
    c->id = a->id;
    if (aw_take_text(c, root, &aw_rule_ns, true, &a->ns) ||
        aw_take_text(c, root, &aw_rule_tenant, true, &a->tenant) ||
        aw_take_text(c, root, &aw_rule_provider, true, &a->provider) ||
        aw_take_text(c, root, &aw_rule_action_type, true, &a->action_type))
        return -1;
    /* Any JSON value, null included, but present. */
    a->payload = json_object_get(root, "payload");
    if (!a->payload)
        return aw_reject_set(c, AW_REJECT_MISSING_FIELD, "payload",
                             "payload: required field is missing (any JSON value, "
                             "null included)");
    return 0;
}

static int aw_take_optional(aw_decode_ctx *c, const json_t *root, aw_action *a)
{
    if (aw_take_text(c, root, &aw_rule_dedup_key, false, &a->dedup_key) ||
        aw_take_created_at(c, root, &a->created_at_ms))
        return -1;
    json_t *m = json_object_get(root, "metadata");
    if (m) {
        if (aw_check_metadata(c, m))
            return -1;
        a->metadata = m;
    }
    if (aw_take_reply_to(c, root, &a->reply_to))
        return -1;
    return aw_take_trace_context(c, root, a);
}

int aw_action_decode(const void *data, size_t len, size_t max_bytes, aw_action *out,
                     aw_reject *rej)
{
    aw_reject scratch; /* lets callers that only want a yes/no pass NULL */
    aw_decode_ctx c = {.rej = rej ? rej : &scratch, .id = NULL};
    memset(out, 0, sizeof *out);
    if (max_bytes == 0)
        max_bytes = AW_ACTION_DEFAULT_MAX_BYTES;

    if (len > max_bytes)
        return aw_reject_set(&c, AW_REJECT_TOO_LARGE, NULL,
                             "message is %zu bytes, over the limit of %zu bytes", len,
                             max_bytes);
    if (!data || len == 0)
        return aw_reject_set(&c, AW_REJECT_EMPTY, NULL, "message is empty");
    if (aw_too_deep(data, len))
        return aw_reject_set(&c, AW_REJECT_TOO_DEEP, NULL,
                             "JSON nesting deeper than %d levels (the top-level value "
                             "counts as one)", AW_ACTION_MAX_DEPTH);
    json_t *root;
    if (aw_parse(&c, data, len, &root))
        return -1;
    if (!json_is_object(root)) {
        aw_reject_set(&c, AW_REJECT_NOT_OBJECT, NULL,
                      "message must be a JSON object; got %s", aw_json_kind(root));
        json_decref(root);
        return -1;
    }
    out->root = root;
    if (aw_take_required(&c, root, out) || aw_take_optional(&c, root, out)) {
        aw_action_clear(out); /* frees root, zeroes out */
        return -1;
    }
    return 0;
}

void aw_action_clear(aw_action *a)
{
    if (!a)
        return;
    json_decref(a->root);
    memset(a, 0, sizeof *a);
}

/* ---- identity ----------------------------------------------------------- */

int aw_action_identity(const aw_action *a, aw_buf *out)
{
    const char *key = aw_action_key(a);
    size_t ns = strlen(a->ns), tenant = strlen(a->tenant), k = strlen(key);
    /* One reservation, so the appends below cannot fail half-way and leave
     * a partial identity in out. */
    if (aw_buf_reserve(out, ns + tenant + k + 2))
        return -1;
    aw_buf_append(out, a->ns, ns);
    aw_buf_append(out, ":", 1);
    aw_buf_append(out, a->tenant, tenant);
    aw_buf_append(out, ":", 1);
    aw_buf_append(out, key, k);
    return 0;
}

#define AW_FNV64_OFFSET 0xcbf29ce484222325ULL
#define AW_FNV64_PRIME 0x100000001b3ULL

static uint64_t aw_fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= AW_FNV64_PRIME;
    }
    return h;
}

/* The part's length as 8 little-endian bytes, then its bytes: the length
 * separates parts unambiguously ("a"+"b:c" and "a:b"+"c" differ) and the
 * fixed byte order keeps the hash identical on every platform. */
static uint64_t aw_fnv1a_part(uint64_t h, const char *s, size_t n)
{
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    h = aw_fnv1a(h, len, sizeof len);
    return aw_fnv1a(h, (const unsigned char *)s, n);
}

uint64_t aw_identity_hash(const char *ns, size_t ns_len, const char *tenant, size_t tenant_len,
                          const char *key, size_t key_len)
{
    uint64_t h = AW_FNV64_OFFSET;
    h = aw_fnv1a_part(h, ns, ns_len);
    h = aw_fnv1a_part(h, tenant, tenant_len);
    h = aw_fnv1a_part(h, key, key_len);
    /* FNV-1a's low k bits depend only on the low k bits of the input bytes
     * (the lowest bit is their parity), and callers shard with hash % n,
     * often with n a power of two. A final avalanche (MurmurHash3's fmix64)
     * makes every output bit depend on every input bit. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t aw_action_identity_hash(const aw_action *a)
{
    const char *key = aw_action_key(a);
    return aw_identity_hash(a->ns, strlen(a->ns), a->tenant, strlen(a->tenant), key,
                            strlen(key));
}
