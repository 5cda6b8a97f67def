/* Audit record helpers shared by every audit backend: ownership (clear/copy),
 * the JSON form (schemas/audit-record.schema.json) and the reply built from it
 * (schemas/reply.schema.json), limit clamping and the opaque keyset cursor. */
#include "backends/audit/audit_record.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_json_out.h"

/* ---- ownership ---------------------------------------------------------- */

/* The owned strings of a record, so clear/copy/equal cannot forget one when
 * a field is added. */
static const size_t string_fields[] = {
    offsetof(aw_audit_record, record_id),      offsetof(aw_audit_record, action_id),
    offsetof(aw_audit_record, ns),             offsetof(aw_audit_record, tenant),
    offsetof(aw_audit_record, provider),       offsetof(aw_audit_record, action_type),
    offsetof(aw_audit_record, dedup_identity), offsetof(aw_audit_record, details),
    offsetof(aw_audit_record, payload),        offsetof(aw_audit_record, metadata),
    offsetof(aw_audit_record, source_topic),   offsetof(aw_audit_record, worker_id),
    offsetof(aw_audit_record, rule),           offsetof(aw_audit_record, fingerprint),
    offsetof(aw_audit_record, group_id),       offsetof(aw_audit_record, chain_id),
};
#define AW_N_STRING_FIELDS (sizeof(string_fields) / sizeof(string_fields[0]))

static char **field_at(aw_audit_record *r, size_t off)
{
    return (char **)((char *)r + off);
}

static const char *field_get(const aw_audit_record *r, size_t off)
{
    return *(char *const *)((const char *)r + off);
}

void aw_audit_record_clear(aw_audit_record *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < AW_N_STRING_FIELDS; i++)
        free(*field_at(r, string_fields[i]));
    memset(r, 0, sizeof(*r));
}

aw_status aw_audit_record_copy(aw_audit_record *dst, const aw_audit_record *src, aw_error *err)
{
    /* Build into a temporary so dst is untouched (and nothing leaks) when an
     * allocation fails half way. */
    aw_audit_record tmp = *src;
    for (size_t i = 0; i < AW_N_STRING_FIELDS; i++)
        *field_at(&tmp, string_fields[i]) = NULL;
    for (size_t i = 0; i < AW_N_STRING_FIELDS; i++) {
        const char *s = field_get(src, string_fields[i]);
        if (s && !(*field_at(&tmp, string_fields[i]) = strdup(s))) {
            aw_audit_record_clear(&tmp);
            return aw_error_set(err, AW_NOMEM, "out of memory copying an audit record");
        }
    }
    *dst = tmp;
    return AW_OK;
}

size_t aw_audit_record_strings_size(const aw_audit_record *src)
{
    size_t n = 0;
    for (size_t i = 0; i < AW_N_STRING_FIELDS; i++) {
        const char *s = field_get(src, string_fields[i]);
        if (s)
            n += strlen(s) + 1;
    }
    return n;
}

void aw_audit_record_copy_packed(aw_audit_record *dst, const aw_audit_record *src, char *block)
{
    *dst = *src;
    for (size_t i = 0; i < AW_N_STRING_FIELDS; i++) {
        const char *s = field_get(src, string_fields[i]);
        if (!s)
            continue;
        size_t n = strlen(s) + 1;
        memcpy(block, s, n);
        *field_at(dst, string_fields[i]) = block;
        block += n;
    }
}

void aw_audit_record_id(char *out, size_t outsz, const char *topic, int32_t partition,
                        int64_t offset)
{
    if (!out || outsz == 0)
        return;
    /* Once per message, so assembled by hand rather than with snprintf
     * (docs/performance.md, "Instructions per action"). */
    char num[2][AW_INT_TEXT];
    size_t pn = aw_format_int(num[0], partition), on = aw_format_int(num[1], offset);
    const char *parts[5] = {topic ? topic : "", ":", num[0], ":", num[1]};
    size_t lens[5] = {strlen(parts[0]), 1, pn, 1, on}, at = 0;
    for (int i = 0; i < 5 && at + 1 < outsz; i++) {
        size_t n = lens[i] < outsz - 1 - at ? lens[i] : outsz - 1 - at;
        memcpy(out + at, parts[i], n);
        at += n;
    }
    out[at] = '\0';
}

/* Offsets of the fields holding JSON text: compared as values, not bytes. */
static bool is_json_field(size_t off)
{
    return off == offsetof(aw_audit_record, details) ||
           off == offsetof(aw_audit_record, payload) ||
           off == offsetof(aw_audit_record, metadata);
}

static bool json_text_equal(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    if (strcmp(a, b) == 0)
        return true;
    json_t *ja = json_loads(a, JSON_DECODE_ANY, NULL);
    json_t *jb = json_loads(b, JSON_DECODE_ANY, NULL);
    bool eq = ja && jb && json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return eq;
}

bool aw_audit_record_equal(const aw_audit_record *a, const aw_audit_record *b)
{
    if (a->outcome != b->outcome || a->source_partition != b->source_partition ||
        a->source_offset != b->source_offset || a->fencing_token != b->fencing_token ||
        a->attempts != b->attempts || a->dispatched_at_ms != b->dispatched_at_ms ||
        a->completed_at_ms != b->completed_at_ms || a->duration_ms != b->duration_ms ||
        a->expires_at_ms != b->expires_at_ms)
        return false;
    for (size_t i = 0; i < AW_N_STRING_FIELDS; i++) {
        size_t off = string_fields[i];
        const char *sa = field_get(a, off), *sb = field_get(b, off);
        if (is_json_field(off) ? !json_text_equal(sa, sb)
                               : (!sa || !sb ? sa != sb : strcmp(sa, sb) != 0))
            return false;
    }
    return true;
}

/* ---- to JSON ------------------------------------------------------------ */

/* json_object_set_new() takes the reference even on failure and refuses a
 * NULL value, so a failed constructor simply makes the whole build fail. */
static int put(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v);
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

static json_t *time_json(int64_t ms)
{
    char buf[40];
    return json_string(aw_time_format_rfc3339(ms, buf, sizeof(buf)));
}

/* JSON text stored in the record -> value; must_be_object for details and
 * metadata. NULL when the text breaks that invariant. */
static json_t *text_json(const char *text, bool must_be_object)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (v && must_be_object && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *source_json(const aw_audit_record *r)
{
    json_t *src = json_object();
    if (!src)
        return NULL;
    if (put(src, "topic", str_or_empty(r->source_topic)) ||
        put(src, "partition", json_integer(r->source_partition)) ||
        put(src, "offset", json_integer(r->source_offset))) {
        json_decref(src);
        return NULL;
    }
    return src;
}

/* Member order is the schema's order, so dumps read naturally. */
static int put_fields(json_t *j, const aw_audit_record *r)
{
    if (r->fencing_token > (uint64_t)INT64_MAX)
        return -1; /* jansson integers are signed 64-bit */
    return put(j, "record_id", str_or_empty(r->record_id)) ||
           put(j, "action_id", str_or_empty(r->action_id)) ||
           put(j, "namespace", str_or_empty(r->ns)) ||
           put(j, "tenant", str_or_empty(r->tenant)) ||
           put(j, "provider", str_or_empty(r->provider)) ||
           put(j, "action_type", str_or_empty(r->action_type)) ||
           put(j, "dedup_identity", str_or_empty(r->dedup_identity)) ||
           put(j, "outcome", json_string(aw_outcome_name(r->outcome))) ||
           (r->rule && put(j, "rule", json_string(r->rule))) ||
           (r->fingerprint && put(j, "fingerprint", json_string(r->fingerprint))) ||
           (r->group_id && put(j, "group_id", json_string(r->group_id))) ||
           (r->chain_id && put(j, "chain_id", json_string(r->chain_id))) ||
           put(j, "details", r->details ? text_json(r->details, true) : json_object()) ||
           (r->payload && put(j, "payload", text_json(r->payload, false))) ||
           (r->metadata && put(j, "metadata", text_json(r->metadata, true))) ||
           put(j, "source", source_json(r)) ||
           put(j, "worker_id", str_or_empty(r->worker_id)) ||
           put(j, "fencing_token", json_integer((json_int_t)r->fencing_token)) ||
           put(j, "attempts", json_integer(r->attempts)) ||
           put(j, "dispatched_at", time_json(r->dispatched_at_ms)) ||
           put(j, "completed_at", time_json(r->completed_at_ms)) ||
           put(j, "expires_at", time_json(r->expires_at_ms)) ||
           put(j, "duration_ms", json_integer(r->duration_ms));
}

/* NULL on out of memory and also when r breaks an invariant (details or
 * metadata not JSON object text, payload not JSON, a string not UTF-8,
 * fencing_token above INT64_MAX): a record that cannot be written faithfully
 * is not written at all. */
json_t *aw_audit_record_to_json(const aw_audit_record *r)
{
    json_t *j = json_object();
    if (j && put_fields(j, r) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Written straight to text, in put_fields' order without the payload:
 * tests/unit/test_audit_record.c checks that it is byte for byte
 * json_dumps(aw_reply_from_record(r), JSON_COMPACT) for compact records.
 * details and metadata are stored as JSON object text already and are
 * copied as they are after a look at their first byte: the worker wrote
 * details, and metadata is a validated message's own bytes. */
int aw_reply_write(const aw_audit_record *r, aw_buf *b)
{
    if (r->fencing_token > (uint64_t)INT64_MAX)
        return -1;
    const char *details = r->details ? r->details : "{}";
    if (details[0] != '{' || (r->metadata && r->metadata[0] != '{'))
        return -1;
    /* One reservation for the worst case (every string byte escaped), then
     * a cursor with no checks: this runs once per message, and a bounds
     * check per appended piece showed in the profile (docs/performance.md,
     * "Instructions per action"). */
    enum { RID, AID, NS, TEN, PROV, TYPE, IDENT, OUT, TOPIC, WORKER, RULE, FP, GROUP, CHAIN,
           NSTR };
    const char *str[NSTR] = {r->record_id, r->action_id, r->ns, r->tenant, r->provider,
                             r->action_type, r->dedup_identity, aw_outcome_name(r->outcome),
                             r->source_topic, r->worker_id, r->rule, r->fingerprint,
                             r->group_id, r->chain_id};
    size_t len[NSTR], details_len = strlen(details);
    size_t metadata_len = r->metadata ? strlen(r->metadata) : 0;
    /* names and punctuation (under 350 bytes), 5 integers, 3 times */
    size_t want = 350 + 5 * AW_INT_TEXT + 3 * 40 + details_len + metadata_len;
    for (int i = 0; i < NSTR; i++) {
        str[i] = str[i] ? str[i] : "";
        len[i] = strlen(str[i]);
        want += AW_JSON_ESCAPED_MAX(len[i]);
    }
    if (aw_buf_reserve(b, want))
        return -1;
    char *o = b->data + b->len;
#define LIT(s) (memcpy(o, s, sizeof(s) - 1), o += sizeof(s) - 1)
#define STR(i) if (!(o = aw_json_escape_into(o, str[i], len[i]))) goto bad
#define INT(v) (o += aw_format_int(o, (int64_t)(v)))
#define TIME(ms) (*o++ = '"', aw_time_format_rfc3339(ms, o, 40), o += strlen(o), *o++ = '"')
    LIT("{\"record_id\":");
    STR(RID);
    LIT(",\"action_id\":");
    STR(AID);
    LIT(",\"namespace\":");
    STR(NS);
    LIT(",\"tenant\":");
    STR(TEN);
    LIT(",\"provider\":");
    STR(PROV);
    LIT(",\"action_type\":");
    STR(TYPE);
    LIT(",\"dedup_identity\":");
    STR(IDENT);
    LIT(",\"outcome\":");
    STR(OUT);
    if (r->rule) {
        LIT(",\"rule\":");
        STR(RULE);
    }
    if (r->fingerprint) {
        LIT(",\"fingerprint\":");
        STR(FP);
    }
    if (r->group_id) {
        LIT(",\"group_id\":");
        STR(GROUP);
    }
    if (r->chain_id) {
        LIT(",\"chain_id\":");
        STR(CHAIN);
    }
    LIT(",\"details\":");
    memcpy(o, details, details_len);
    o += details_len;
    if (r->metadata) {
        LIT(",\"metadata\":");
        memcpy(o, r->metadata, metadata_len);
        o += metadata_len;
    }
    LIT(",\"source\":{\"topic\":");
    STR(TOPIC);
    LIT(",\"partition\":");
    INT(r->source_partition);
    LIT(",\"offset\":");
    INT(r->source_offset);
    LIT("},\"worker_id\":");
    STR(WORKER);
    LIT(",\"fencing_token\":");
    INT(r->fencing_token);
    LIT(",\"attempts\":");
    INT(r->attempts);
    LIT(",\"dispatched_at\":");
    TIME(r->dispatched_at_ms);
    LIT(",\"completed_at\":");
    TIME(r->completed_at_ms);
    LIT(",\"expires_at\":");
    TIME(r->expires_at_ms);
    LIT(",\"duration_ms\":");
    INT(r->duration_ms);
    LIT("}");
#undef LIT
#undef STR
#undef INT
#undef TIME
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return 0;
bad: /* not valid UTF-8: nothing appended */
    b->data[b->len] = '\0';
    return -1;
}

json_t *aw_reply_from_record(const aw_audit_record *r)
{
    /* Built from a view without the payload, rather than deleting it from
     * the full record's JSON: that parsed the payload text back into JSON
     * only to throw it away, on the hot path of every reply. */
    aw_audit_record view = *r;
    view.payload = NULL;
    return aw_audit_record_to_json(&view);
}

/* ---- from JSON ---------------------------------------------------------- */

static aw_status bad_field(aw_error *err, const char *field, const char *expected)
{
    return aw_error_set(err, AW_PERMANENT, "audit record: field \"%s\": expected %s", field,
                        expected);
}

static aw_status nomem(aw_error *err)
{
    return aw_error_set(err, AW_NOMEM, "out of memory parsing an audit record");
}

static aw_status get_str(const json_t *j, const char *key, bool nonempty, char **out,
                         aw_error *err)
{
    const json_t *v = json_object_get(j, key);
    const char *s = json_string_value(v);
    if (!s || (nonempty && !*s))
        return bad_field(err, key, nonempty ? "a non-empty string" : "a string");
    if (!(*out = strdup(s)))
        return nomem(err);
    return AW_OK;
}

/* An optional non-empty string: absent (or null) leaves *out NULL. For
 * "rule" (absent when no rule applied) and the state ids. */
static aw_status get_opt(const json_t *j, const char *key, char **out, aw_error *err)
{
    const json_t *v = json_object_get(j, key);
    return v && !json_is_null(v) ? get_str(j, key, true, out, err) : AW_OK;
}

static aw_status get_int(const json_t *j, const char *key, const char *label, json_int_t max,
                         json_int_t *out, aw_error *err)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return bad_field(err, label, "a non-negative integer in range");
    *out = json_integer_value(v);
    return AW_OK;
}

/* source.partition: a partition, or -1 for a record made by the worker
 * itself with no consumed message behind it (a state machine's timeout,
 * docs/rules.md): replay rebuilds those too. */
static aw_status get_partition(const json_t *j, json_int_t *out, aw_error *err)
{
    const json_t *v = json_object_get(j, "partition");
    if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > INT32_MAX)
        return bad_field(err, "source.partition", "-1 or a partition number");
    *out = json_integer_value(v);
    return AW_OK;
}

static aw_status get_time(const json_t *j, const char *key, int64_t *out, aw_error *err)
{
    const char *s = json_string_value(json_object_get(j, key));
    if (!s || aw_time_parse_rfc3339(s, out) != 0)
        return bad_field(err, key, "an RFC 3339 date-time");
    return AW_OK;
}

enum json_text_kind { AW_JT_OBJECT, AW_JT_OPTIONAL_OBJECT, AW_JT_OPTIONAL_ANY };

/* A JSON member stored as compact text. Absent (or, for metadata, null)
 * optional members leave *out NULL; a present null payload is kept as the
 * text "null" so that the round trip is exact. */
static aw_status get_json_text(const json_t *j, const char *key, enum json_text_kind kind,
                               char **out, aw_error *err)
{
    const json_t *v = json_object_get(j, key);
    if (!v || (kind == AW_JT_OPTIONAL_OBJECT && json_is_null(v))) {
        if (kind == AW_JT_OBJECT)
            return bad_field(err, key, "an object");
        return AW_OK;
    }
    if (kind != AW_JT_OPTIONAL_ANY && !json_is_object(v))
        return bad_field(err, key, "an object");
    if (!(*out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
        return nomem(err);
    return AW_OK;
}

static aw_status get_outcome(const json_t *j, aw_outcome *out, aw_error *err)
{
    if (!aw_outcome_parse(json_string_value(json_object_get(j, "outcome")), out))
        return bad_field(err, "outcome", "an outcome's name (docs/messages.md)");
    return AW_OK;
}

static aw_status get_source(const json_t *j, aw_audit_record *r, aw_error *err)
{
    const json_t *src = json_object_get(j, "source");
    if (!json_is_object(src))
        return bad_field(err, "source", "an object");
    json_int_t partition = 0, offset = 0;
    aw_status rc;
    if ((rc = get_str(src, "topic", true, &r->source_topic, err)) ||
        (rc = get_partition(src, &partition, err)) ||
        (rc = get_int(src, "offset", "source.offset", INT64_MAX, &offset, err)))
        return rc;
    r->source_partition = (int32_t)partition;
    r->source_offset = offset;
    return AW_OK;
}

static aw_status get_numbers(const json_t *j, aw_audit_record *r, aw_error *err)
{
    json_int_t token = 0, attempts = 0, duration = 0;
    aw_status rc;
    if ((rc = get_int(j, "fencing_token", "fencing_token", INT64_MAX, &token, err)) ||
        (rc = get_int(j, "attempts", "attempts", INT64_MAX, &attempts, err)) ||
        (rc = get_int(j, "duration_ms", "duration_ms", INT64_MAX, &duration, err)) ||
        (rc = get_time(j, "dispatched_at", &r->dispatched_at_ms, err)) ||
        (rc = get_time(j, "completed_at", &r->completed_at_ms, err)) ||
        (rc = get_time(j, "expires_at", &r->expires_at_ms, err)))
        return rc;
    r->fencing_token = (uint64_t)token;
    r->attempts = attempts;
    r->duration_ms = duration;
    return AW_OK;
}

static aw_status parse_record(const json_t *j, bool with_payload, aw_audit_record *r,
                              aw_error *err)
{
    if (!json_is_object(j))
        return aw_error_set(err, AW_PERMANENT, "audit record: expected a JSON object");
    aw_status rc;
    if ((rc = get_str(j, "record_id", true, &r->record_id, err)) ||
        (rc = get_str(j, "action_id", false, &r->action_id, err)) ||
        (rc = get_str(j, "namespace", false, &r->ns, err)) ||
        (rc = get_str(j, "tenant", false, &r->tenant, err)) ||
        (rc = get_str(j, "provider", false, &r->provider, err)) ||
        (rc = get_str(j, "action_type", false, &r->action_type, err)) ||
        (rc = get_str(j, "dedup_identity", false, &r->dedup_identity, err)) ||
        (rc = get_outcome(j, &r->outcome, err)) ||
        (rc = get_opt(j, "rule", &r->rule, err)) ||
        (rc = get_opt(j, "fingerprint", &r->fingerprint, err)) ||
        (rc = get_opt(j, "group_id", &r->group_id, err)) ||
        (rc = get_opt(j, "chain_id", &r->chain_id, err)) ||
        (rc = get_json_text(j, "details", AW_JT_OBJECT, &r->details, err)) ||
        (with_payload &&
         (rc = get_json_text(j, "payload", AW_JT_OPTIONAL_ANY, &r->payload, err))) ||
        (rc = get_json_text(j, "metadata", AW_JT_OPTIONAL_OBJECT, &r->metadata, err)) ||
        (rc = get_source(j, r, err)) ||
        (rc = get_str(j, "worker_id", false, &r->worker_id, err)) ||
        (rc = get_numbers(j, r, err)))
        return rc;
    return AW_OK;
}

/* Parse into a zeroed temporary: on failure everything allocated so far is
 * released and *out is zeroed. */
static aw_status record_from(const json_t *j, bool with_payload, aw_audit_record *out,
                             aw_error *err)
{
    aw_audit_record tmp = {0};
    aw_status rc = parse_record(j, with_payload, &tmp, err);
    if (rc != AW_OK) {
        aw_audit_record_clear(&tmp);
        memset(out, 0, sizeof(*out));
        return rc;
    }
    *out = tmp;
    return AW_OK;
}

aw_status aw_audit_record_from_json(const json_t *j, aw_audit_record *out, aw_error *err)
{
    return record_from(j, true, out, err);
}

aw_status aw_record_from_reply(const json_t *reply, aw_audit_record *out, aw_error *err)
{
    return record_from(reply, false, out, err);
}

/* ---- pages and limits --------------------------------------------------- */

void aw_audit_page_clear(aw_audit_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->records && i < p->count; i++)
        aw_audit_record_clear(&p->records[i]);
    free(p->records);
    free(p->next_cursor);
    memset(p, 0, sizeof(*p));
}

size_t aw_audit_clamp_limit(size_t limit)
{
    if (limit == 0)
        return AW_AUDIT_DEFAULT_LIMIT;
    return limit > AW_AUDIT_MAX_LIMIT ? AW_AUDIT_MAX_LIMIT : limit;
}

/* ---- cursor ------------------------------------------------------------- */

/* The cursor is base64url (no padding) of "1|<completed_at_ms>|<record_id>".
 * "1" versions the layout so a backend can change it later and still refuse
 * old cursors cleanly. Encoding keeps clients from building cursors by hand:
 * they are opaque, and decode validates every byte anyway. */
#define AW_CURSOR_MAX_CHARS 1024 /* bounds decode work; real cursors are < 450 */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

static char *b64url_encode(const unsigned char *in, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    return out;
}

/* Decode into out (size outsz); return the byte count or -1. Refuses a
 * length of 1 mod 4 and non-zero trailing bits, so every cursor has exactly
 * one spelling. */
static long b64url_decode(const char *in, unsigned char *out, size_t outsz)
{
    size_t n = strlen(in), o = 0;
    if (n % 4 == 1 || n / 4 * 3 + 2 > outsz)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return acc != 0 ? -1 : (long)o;
}

char *aw_audit_cursor_encode(int64_t completed_at_ms, const char *record_id)
{
    size_t cap = (record_id ? strlen(record_id) : 0) + 32; /* "1|" int64 "|" id NUL */
    char *plain = malloc(cap);
    if (!plain)
        return NULL;
    int n = snprintf(plain, cap, "1|%" PRId64 "|%s", completed_at_ms, record_id ? record_id : "");
    char *out = n > 0 ? b64url_encode((const unsigned char *)plain, (size_t)n) : NULL;
    free(plain);
    return out;
}

/* Strict decimal int64: optional '-', digits only, no overflow. */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = (n > 0 && s[0] == '-') ? 1 : 0;
    if (i == n || n - i > 19)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    bool neg = s[0] == '-';
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int aw_audit_cursor_decode(const char *cursor, int64_t *completed_at_ms, char *id, size_t idsz)
{
    unsigned char plain[AW_CURSOR_MAX_CHARS / 4 * 3 + 3];
    if (!cursor || !id || idsz == 0 || strlen(cursor) > AW_CURSOR_MAX_CHARS)
        return -1;
    long n = b64url_decode(cursor, plain, sizeof(plain));
    if (n < 4 || plain[0] != '1' || plain[1] != '|')
        return -1;
    const char *ms = (const char *)plain + 2, *end = (const char *)plain + n;
    const char *bar = memchr(ms, '|', (size_t)(end - ms));
    if (!bar)
        return -1;
    const char *rid = bar + 1;
    size_t idlen = (size_t)(end - rid);
    int64_t v;
    if (parse_i64(ms, (size_t)(bar - ms), &v) != 0 || idlen == 0 || idlen >= idsz)
        return -1;
    for (size_t i = 0; i < idlen; i++)
        if ((unsigned char)rid[i] < 0x20 || rid[i] == 0x7f)
            return -1; /* record ids never hold control bytes (NUL included) */
    memcpy(id, rid, idlen);
    id[idlen] = '\0';
    *completed_at_ms = v;
    return 0;
}
