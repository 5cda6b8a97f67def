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
 *   dedup_key, created_at, not_before, metadata, reply_to, trace_context
 *   (optional).
 *
 * This runs once per consumed message on the hot path: one pass over the
 * bytes (ingest/json_check.h, no tree), one allocation for the strings,
 * nothing formatted unless rejecting. */
#include "ingest/action.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "ingest/json_check.h"

#define AW_STR_(x) #x
#define AW_STR(x) AW_STR_(x)

static const char *const aw_reject_names[AW_REJECT_COUNT] = {
    [AW_REJECT_TOO_LARGE] = "too_large",
    [AW_REJECT_EMPTY] = "empty",
    [AW_REJECT_INVALID_JSON] = "invalid_json",
    [AW_REJECT_TOO_DEEP] = "too_deep",
    [AW_REJECT_NOT_OBJECT] = "not_an_object",
    [AW_REJECT_MISSING_FIELD] = "missing_field",
    [AW_REJECT_INVALID_FIELD] = "invalid_field",
    [AW_REJECT_UNKNOWN_PROVIDER] = "unknown_provider",
    [AW_REJECT_RULE_FIELD] = "rule_field",
    [AW_REJECT_LOCK_TIMEOUT] = "lock_timeout",
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

/* ---- raw-byte checks ---------------------------------------------------- */

/* How many times c occurs in p[0..len), counting no further than limit. */
static size_t aw_count_byte(const unsigned char *p, size_t len, unsigned char c, size_t limit)
{
    const unsigned char *end = p + len;
    size_t n = 0;
    while (n < limit && p < end && (p = memchr(p, c, (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* True when [ and { nest deeper than AW_ACTION_MAX_DEPTH outside strings.
 * Done on the raw bytes before parsing, without recursion or allocation, so a
 * 100,000-deep bomb costs one linear scan and never reaches the parser's
 * recursion. Exact for valid JSON; for invalid JSON it reports some depth and
 * the message is rejected either way. */
static bool aw_too_deep(const unsigned char *p, size_t len)
{
    /* Fast path: fewer container openers than the limit (counting those
     * inside strings too, so this can only over-count) cannot nest too deep.
     * memchr is vectorised in libc; nearly every real action takes this. */
    size_t opens = aw_count_byte(p, len, '[', AW_ACTION_MAX_DEPTH + 1);
    if (opens <= AW_ACTION_MAX_DEPTH)
        opens += aw_count_byte(p, len, '{', AW_ACTION_MAX_DEPTH + 1);
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

/* ---- the members the schema names --------------------------------------- */

/* Top-level members first, then those of trace_context. */
enum {
    F_ID, F_NS, F_TENANT, F_PROVIDER, F_TYPE, F_PAYLOAD, F_DEDUP_KEY, F_CREATED_AT, F_NOT_BEFORE,
    F_METADATA, F_REPLY_TO, F_TRACE_CONTEXT, F_TRACEPARENT, F_TRACESTATE, F_COUNT
};

static const struct {
    const char *name;
    size_t len;
} aw_member_names[F_COUNT] = {
    [F_ID] = {"id", 2},
    [F_NS] = {"namespace", 9},
    [F_TENANT] = {"tenant", 6},
    [F_PROVIDER] = {"provider", 8},
    [F_TYPE] = {"action_type", 11},
    [F_PAYLOAD] = {"payload", 7},
    [F_DEDUP_KEY] = {"dedup_key", 9},
    [F_CREATED_AT] = {"created_at", 10},
    [F_NOT_BEFORE] = {"not_before", 10},
    [F_METADATA] = {"metadata", 8},
    [F_REPLY_TO] = {"reply_to", 8},
    [F_TRACE_CONTEXT] = {"trace_context", 13},
    [F_TRACEPARENT] = {"traceparent", 11},
    [F_TRACESTATE] = {"tracestate", 10},
};

/* What the check found of each named member; s[] are the unescaped strings
 * (in the action's block) of those that are strings. */
typedef struct aw_members {
    bool has[F_COUNT];
    aw_json_value v[F_COUNT];
    const char *s[F_COUNT];
} aw_members;

typedef struct aw_collect {
    aw_members *m;
    int from, to; /* the names looked for: [from, to) */
} aw_collect;

/* The named members by their first byte, each as 1 + its F_ index (0 ends
 * the list): a member is compared with at most four names rather than
 * every one (this runs for every top-level member of every message).
 * tests/unit/test_action.c decodes every named member. */
static const unsigned char aw_members_by_first[128][4] = {
    ['i'] = {F_ID + 1},
    ['n'] = {F_NS + 1, F_NOT_BEFORE + 1},
    ['t'] = {F_TENANT + 1, F_TRACE_CONTEXT + 1, F_TRACEPARENT + 1, F_TRACESTATE + 1},
    ['p'] = {F_PROVIDER + 1, F_PAYLOAD + 1},
    ['a'] = {F_TYPE + 1},
    ['d'] = {F_DEDUP_KEY + 1},
    ['c'] = {F_CREATED_AT + 1},
    ['m'] = {F_METADATA + 1},
    ['r'] = {F_REPLY_TO + 1},
};

static void aw_collect_member(void *ctx, const char *key, size_t key_len,
                              const aw_json_value *v)
{
    aw_collect *c = ctx;
    unsigned char first = key_len ? (unsigned char)key[0] : 0;
    if (first >= 128)
        return;
    const unsigned char *cand = aw_members_by_first[first];
    for (int i = 0; i < 4 && cand[i]; i++) {
        int f = cand[i] - 1;
        if (f >= c->from && f < c->to && aw_member_names[f].len == key_len &&
            memcmp(aw_member_names[f].name, key, key_len) == 0) {
            c->m->has[f] = true;
            c->m->v[f] = *v;
            return;
        }
    }
}

/* Unescape every named string member into one block (*block, caller frees),
 * so the action costs one allocation whatever it holds. */
static int aw_copy_strings(aw_members *m, char **block)
{
    size_t size = 0;
    for (int f = 0; f < F_COUNT; f++)
        if (m->has[f] && m->v[f].kind == AW_JSON_STRING)
            size += m->v[f].str_len + 1;
    *block = NULL;
    if (size == 0)
        return 0;
    char *p = malloc(size);
    if (!p)
        return -1;
    *block = p;
    for (int f = 0; f < F_COUNT; f++) {
        if (m->has[f] && m->v[f].kind == AW_JSON_STRING) {
            aw_json_string_copy(&m->v[f], p);
            m->s[f] = p;
            p += m->v[f].str_len + 1;
        }
    }
    return 0;
}

static int aw_reject_json(aw_decode_ctx *c, const aw_json_error *e)
{
    if (e->too_deep) /* unreachable after aw_too_deep, which is exact for JSON */
        return aw_reject_set(c, AW_REJECT_TOO_DEEP, NULL,
                             "JSON nesting deeper than %d levels", AW_ACTION_MAX_DEPTH);
    return aw_reject_set(c, AW_REJECT_INVALID_JSON, NULL, "invalid JSON at byte %zu: %s",
                         e->offset, e->text);
}

/* ---- field rules -------------------------------------------------------- */

/* A string field: min..max bytes, optionally without control characters
 * (U+0000-U+001F, U+007F: the schema's ^[^\u0000-\u001f\u007f]+$). In UTF-8
 * those code points are single bytes that occur in no other encoding, so a
 * byte scan is exact. */
typedef struct aw_text_rule {
    int member;
    const char *field; /* name reported in aw_reject.field */
    size_t min, max;
    bool no_ctl;
    const char *rule;  /* the rule, for the detail text */
} aw_text_rule;

#define AW_ID_RULE "must be a string of 1.." AW_STR(AW_ACTION_MAX_ID_LEN) \
    " bytes (UTF-8) without control characters"
#define AW_NAME_RULE "must be a string of 1.." AW_STR(AW_ACTION_MAX_NAME_LEN) \
    " bytes (UTF-8) without control characters"

static const aw_text_rule aw_rule_id = {F_ID, "id", 1, AW_ACTION_MAX_ID_LEN, true, AW_ID_RULE};
static const aw_text_rule aw_rule_ns = {F_NS, "namespace", 1, AW_ACTION_MAX_NAME_LEN, true,
                                        AW_NAME_RULE};
static const aw_text_rule aw_rule_tenant = {F_TENANT, "tenant", 1, AW_ACTION_MAX_NAME_LEN, true,
                                            AW_NAME_RULE};
static const aw_text_rule aw_rule_provider = {F_PROVIDER, "provider", 1, AW_ACTION_MAX_NAME_LEN,
                                              true, AW_NAME_RULE};
static const aw_text_rule aw_rule_action_type = {F_TYPE, "action_type", 1,
                                                 AW_ACTION_MAX_NAME_LEN, true, AW_NAME_RULE};
static const aw_text_rule aw_rule_dedup_key = {F_DEDUP_KEY, "dedup_key", 1,
                                               AW_ACTION_MAX_ID_LEN, true, AW_ID_RULE};
static const aw_text_rule aw_rule_tracestate = {
    F_TRACESTATE, "trace_context.tracestate", 0, AW_ACTION_MAX_TRACE_LEN, true,
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

/* Read the string member r->member into *out (left as is when absent and
 * optional). */
static int aw_take_text(aw_decode_ctx *c, const aw_members *m, const aw_text_rule *r,
                        bool required, const char **out)
{
    if (!m->has[r->member]) {
        if (!required)
            return 0;
        return aw_reject_set(c, AW_REJECT_MISSING_FIELD, r->field,
                             "%s: required field is missing", r->field);
    }
    const aw_json_value *v = &m->v[r->member];
    if (v->kind != AW_JSON_STRING)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, r->field, "%s: %s; got %s",
                             r->field, r->rule, aw_json_kind_phrase(v->kind));
    const char *s = m->s[r->member];
    size_t n = v->str_len;
    if (n < r->min)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, r->field,
                             "%s: %s; got an empty string", r->field, r->rule);
    if (n > r->max)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, r->field,
                             "%s: %s; got %zu bytes", r->field, r->rule, n);
    size_t at = r->no_ctl ? aw_first_ctl(s, n) : n;
    if (at < n)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, r->field,
                             "%s: %s; got control character 0x%02x at byte %zu", r->field,
                             r->rule, (unsigned)(unsigned char)s[at], at);
    *out = s;
    return 0;
}

#define AW_CREATED_AT_RULE "must be an RFC 3339 date-time such as 2025-01-15T09:30:00Z"

/* created_at and not_before: the same rule, each rejection naming its field. */
static int aw_take_time(aw_decode_ctx *c, const aw_members *m, int f, int64_t *ms)
{
    if (!m->has[f])
        return 0;
    const char *name = aw_member_names[f].name;
    const aw_json_value *v = &m->v[f];
    if (v->kind != AW_JSON_STRING)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, name,
                             "%s: " AW_CREATED_AT_RULE "; got %s", name,
                             aw_json_kind_phrase(v->kind));
    const char *s = m->s[f];
    /* aw_time_parse_rfc3339 also takes the " " separator RFC 3339 allows by
     * agreement; JSON Schema's date-time follows the ABNF, which has only T. */
    bool t_sep = v->str_len > 10 && (s[10] == 'T' || s[10] == 't');
    if (!t_sep || aw_time_parse_rfc3339(s, ms) != 0) {
        char shown[48];
        aw_printable(shown, sizeof shown, s, v->str_len);
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, name,
                             "%s: " AW_CREATED_AT_RULE "; got \"%s\"", name, shown);
    }
    return 0;
}

#define AW_METADATA_RULE                                                           \
    "must be an object of at most " AW_STR(AW_ACTION_MAX_METADATA_ENTRIES)         \
    " string values, each key and value at most " AW_STR(AW_ACTION_MAX_METADATA_LEN) \
    " bytes (UTF-8)"

/* The first metadata entry that breaks the rule, in document order. */
typedef struct aw_metadata_scan {
    enum { META_OK, META_LONG_KEY, META_NOT_STRING, META_LONG_VALUE } problem;
    char shown[33]; /* its key, printable */
    size_t key_len, value_len;
    aw_json_kind kind;
} aw_metadata_scan;

static void aw_metadata_member(void *ctx, const char *key, size_t key_len,
                               const aw_json_value *v)
{
    aw_metadata_scan *s = ctx;
    if (s->problem != META_OK)
        return;
    if (key_len > AW_ACTION_MAX_METADATA_LEN)
        s->problem = META_LONG_KEY;
    else if (v->kind != AW_JSON_STRING)
        s->problem = META_NOT_STRING;
    else if (v->str_len > AW_ACTION_MAX_METADATA_LEN)
        s->problem = META_LONG_VALUE;
    else
        return;
    aw_printable(s->shown, sizeof s->shown, key, key_len);
    s->key_len = key_len;
    s->value_len = v->str_len;
    s->kind = v->kind;
}

static int aw_check_metadata(aw_decode_ctx *c, const aw_json_value *v)
{
    if (v->kind != AW_JSON_OBJECT)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                             "metadata: " AW_METADATA_RULE "; got %s",
                             aw_json_kind_phrase(v->kind));
    if (v->count > AW_ACTION_MAX_METADATA_ENTRIES)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                             "metadata: " AW_METADATA_RULE "; got %zu entries", v->count);
    /* Its text was checked with the message: this pass only visits the
     * entries (it cannot fail). */
    aw_metadata_scan s = {.problem = META_OK};
    aw_json_value root;
    aw_json_error err;
    (void)aw_json_check(v->text, v->len, AW_ACTION_MAX_DEPTH, aw_metadata_member, &s, &root,
                        &err);
    switch (s.problem) {
    case META_OK:
        return 0;
    case META_LONG_KEY:
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                             "metadata: " AW_METADATA_RULE "; got a key of %zu bytes (\"%s\")",
                             s.key_len, s.shown);
    case META_NOT_STRING:
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                             "metadata: " AW_METADATA_RULE "; got %s at key \"%s\"",
                             aw_json_kind_phrase(s.kind), s.shown);
    case META_LONG_VALUE:
        break;
    }
    return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "metadata",
                         "metadata: " AW_METADATA_RULE "; got a value of %zu bytes at key "
                         "\"%s\"", s.value_len, s.shown);
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

static int aw_take_reply_to(aw_decode_ctx *c, const aw_members *m, const char **out)
{
    if (!m->has[F_REPLY_TO])
        return 0;
    const aw_json_value *v = &m->v[F_REPLY_TO];
    if (v->kind != AW_JSON_STRING)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "reply_to",
                             "reply_to: " AW_REPLY_TO_RULE "; got %s",
                             aw_json_kind_phrase(v->kind));
    const char *s = m->s[F_REPLY_TO];
    size_t n = v->str_len;
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

static int aw_take_traceparent(aw_decode_ctx *c, const aw_members *m, const char **out)
{
    if (!m->has[F_TRACEPARENT])
        return 0;
    const aw_json_value *v = &m->v[F_TRACEPARENT];
    if (v->kind != AW_JSON_STRING)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "trace_context.traceparent",
                             "trace_context.traceparent: " AW_TRACEPARENT_RULE "; got %s",
                             aw_json_kind_phrase(v->kind));
    const char *s = m->s[F_TRACEPARENT];
    if (!aw_traceparent_ok(s, v->str_len)) {
        char shown[64];
        aw_printable(shown, sizeof shown, s, v->str_len);
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "trace_context.traceparent",
                             "trace_context.traceparent: " AW_TRACEPARENT_RULE
                             "; got \"%s\"", shown);
    }
    *out = s;
    return 0;
}

static int aw_take_trace_context(aw_decode_ctx *c, const aw_members *m, aw_action *a)
{
    if (!m->has[F_TRACE_CONTEXT])
        return 0;
    const aw_json_value *v = &m->v[F_TRACE_CONTEXT];
    if (v->kind != AW_JSON_OBJECT)
        return aw_reject_set(c, AW_REJECT_INVALID_FIELD, "trace_context",
                             "trace_context: must be an object; got %s",
                             aw_json_kind_phrase(v->kind));
    if (aw_take_traceparent(c, m, &a->traceparent))
        return -1;
    return aw_take_text(c, m, &aw_rule_tracestate, false, &a->tracestate);
}

/* ---- decode ------------------------------------------------------------- */

static int aw_take_required(aw_decode_ctx *c, const aw_members *m, aw_action *a)
{
    /* id first: once it is known, every later rejection carries it. */
    if (aw_take_text(c, m, &aw_rule_id, true, &a->id))
        return -1;
    c->id = a->id;
    if (aw_take_text(c, m, &aw_rule_ns, true, &a->ns) ||
        aw_take_text(c, m, &aw_rule_tenant, true, &a->tenant) ||
        aw_take_text(c, m, &aw_rule_provider, true, &a->provider) ||
        aw_take_text(c, m, &aw_rule_action_type, true, &a->action_type))
        return -1;
    /* Any JSON value, null included, but present. */
    if (!m->has[F_PAYLOAD])
        return aw_reject_set(c, AW_REJECT_MISSING_FIELD, "payload",
                             "payload: required field is missing (any JSON value, "
                             "null included)");
    a->payload = m->v[F_PAYLOAD].text;
    a->payload_len = m->v[F_PAYLOAD].len;
    return 0;
}

static int aw_take_optional(aw_decode_ctx *c, const aw_members *m, aw_action *a)
{
    if (aw_take_text(c, m, &aw_rule_dedup_key, false, &a->dedup_key) ||
        aw_take_time(c, m, F_CREATED_AT, &a->created_at_ms) ||
        aw_take_time(c, m, F_NOT_BEFORE, &a->not_before_ms))
        return -1;
    if (m->has[F_METADATA]) {
        if (aw_check_metadata(c, &m->v[F_METADATA]))
            return -1;
        a->metadata = m->v[F_METADATA].text;
        a->metadata_len = m->v[F_METADATA].len;
    }
    if (aw_take_reply_to(c, m, &a->reply_to))
        return -1;
    return aw_take_trace_context(c, m, a);
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
    aw_members m;
    memset(m.has, 0, sizeof m.has);
    aw_collect top = {&m, F_ID, F_TRACEPARENT};
    aw_json_value root;
    aw_json_error jerr;
    if (aw_json_check(data, len, AW_ACTION_MAX_DEPTH, aw_collect_member, &top, &root, &jerr))
        return aw_reject_json(&c, &jerr);
    if (root.kind != AW_JSON_OBJECT)
        return aw_reject_set(&c, AW_REJECT_NOT_OBJECT, NULL,
                             "message must be a JSON object; got %s",
                             aw_json_kind_phrase(root.kind));
    if (m.has[F_TRACE_CONTEXT] && m.v[F_TRACE_CONTEXT].kind == AW_JSON_OBJECT) {
        aw_collect trace = {&m, F_TRACEPARENT, F_COUNT};
        const aw_json_value *tc = &m.v[F_TRACE_CONTEXT];
        (void)aw_json_check(tc->text, tc->len, AW_ACTION_MAX_DEPTH, aw_collect_member, &trace,
                            &root, &jerr); /* checked with the message: cannot fail */
    }
    if (aw_copy_strings(&m, &out->strings))
        return aw_reject_set(&c, AW_REJECT_INVALID_JSON, NULL,
                             "out of memory decoding the message");
    if (aw_take_required(&c, &m, out) || aw_take_optional(&c, &m, out)) {
        aw_action_clear(out); /* frees the strings, zeroes out */
        return -1;
    }
    return 0;
}

void aw_action_clear(aw_action *a)
{
    if (!a)
        return;
    free(a->strings);
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
