#include "worker/outcome_details.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_json_obj.h"
#include "common/aw_json_out.h"
#include "ingest/json_check.h"

int aw_details_rejected(aw_buf *out, const aw_reject *r)
{
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_cstr(&o, "reason", aw_reject_reason_name(r->reason));
    if (r->field[0])
        aw_json_obj_cstr_or_skip(&o, "field", r->field);
    aw_json_obj_cstr_or_skip(&o, "error", r->detail);
    return aw_json_obj_end(&o);
}

int aw_details_suppressed(aw_buf *out, const char *rule)
{
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_cstr(&o, "rule", rule);
    return aw_json_obj_end(&o);
}

int aw_details_scheduled(aw_buf *out, int64_t not_before_ms, const char *due_key,
                         bool already_running)
{
    char when[48];
    aw_time_format_rfc3339(not_before_ms, when, sizeof(when));
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_cstr(&o, "not_before", when);
    aw_json_obj_cstr(&o, "due_key", due_key);
    if (already_running)
        aw_json_obj_true(&o, "already_running");
    return aw_json_obj_end(&o);
}

static void throttle_fields(aw_json_obj *o, const char *rule, const char *key,
                            int64_t max_count, int64_t window_s)
{
    aw_json_obj_cstr(o, "rule", rule);
    aw_json_obj_cstr(o, "key", key);
    aw_json_obj_int(o, "max_count", max_count);
    aw_json_obj_int(o, "window_s", window_s);
}

int aw_details_throttled(aw_buf *out, const char *rule, const char *key, int64_t max_count,
                         int64_t window_s, int64_t retry_after_ms)
{
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    throttle_fields(&o, rule, key, max_count, window_s);
    aw_json_obj_int(&o, "retry_after_ms", retry_after_ms);
    return aw_json_obj_end(&o);
}

int aw_details_add_throttle(aw_buf *out, size_t start, const char *rule, const char *key,
                            int64_t max_count, int64_t window_s)
{
    aw_json_obj o;
    aw_json_obj_reopen(&o, out, start);
    throttle_fields(&o, rule, key, max_count, window_s);
    return aw_json_obj_end(&o);
}

int aw_details_add_lock(aw_buf *out, size_t start, const char *key, uint64_t token)
{
    aw_json_obj o;
    aw_json_obj_reopen(&o, out, start);
    aw_json_obj_open(&o, "lock");
    aw_json_obj_cstr(&o, "key", key);
    aw_json_obj_int(&o, "token", (int64_t)token);
    aw_json_obj_close(&o);
    return aw_json_obj_end(&o);
}

int aw_details_add_result(aw_buf *out, size_t start, const char *body, size_t len)
{
    json_t *v = len ? json_loadb(body, len, JSON_DECODE_ANY, NULL) : json_null();
    if (!v)
        v = json_stringn_nocheck(body, len);
    /* A cut body may not be UTF-8 any more: then as much as is. */
    if (!v || (json_is_string(v) && !aw_utf8_valid(body, len))) {
        json_decref(v);
        v = json_string("(answer body not UTF-8)");
    }
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!text)
        return -1;
    aw_json_obj o;
    aw_json_obj_reopen(&o, out, start);
    aw_json_obj_raw(&o, "result", text);
    free(text);
    return aw_json_obj_end(&o);
}

int aw_details_chain_started(aw_buf *out, const char *id, const char *name)
{
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_open(&o, "chain");
    aw_json_obj_cstr(&o, "id", id);
    aw_json_obj_cstr(&o, "name", name);
    aw_json_obj_close(&o);
    return aw_json_obj_end(&o);
}

/* The members naming an event: its machine and fingerprint. */
static void event_members(aw_json_obj *o, const char *machine, const char *fingerprint)
{
    aw_json_obj_cstr(o, "machine", machine);
    aw_json_obj_cstr(o, "fingerprint", fingerprint);
}

int aw_details_add_state(aw_buf *out, size_t start, const char *rule, const char *machine,
                         const char *fingerprint, const char *from, const char *to, int64_t seq,
                         bool retried)
{
    aw_json_obj o;
    aw_json_obj_reopen(&o, out, start);
    aw_json_obj_open(&o, "state");
    if (rule)
        aw_json_obj_cstr(&o, "rule", rule);
    event_members(&o, machine, fingerprint);
    aw_json_obj_cstr(&o, "from", from);
    aw_json_obj_cstr(&o, "to", to);
    aw_json_obj_int(&o, "seq", seq);
    if (retried)
        aw_json_obj_true(&o, "retried");
    aw_json_obj_close(&o);
    return aw_json_obj_end(&o);
}

int aw_details_event_timeout(aw_buf *out, const char *machine, const char *fingerprint,
                             const char *from, const char *to, int64_t seq, int64_t after_s,
                             bool retried)
{
    size_t start = out->len;
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_true(&o, "timeout");
    aw_json_obj_int(&o, "after_s", after_s);
    if (aw_json_obj_end(&o))
        return -1;
    return aw_details_add_state(out, start, NULL, machine, fingerprint, from, to, seq, retried);
}

int aw_details_state_refused(aw_buf *out, const char *rule, const char *machine,
                             const char *fingerprint, const char *state, const char *action_type)
{
    char why[200];
    snprintf(why, sizeof(why), "no transition from \"%.64s\" on \"%.100s\"", state,
             action_type);
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_cstr(&o, "rule", rule);
    aw_json_obj_cstr(&o, "reason", why);
    event_members(&o, machine, fingerprint);
    aw_json_obj_cstr(&o, "state", state);
    aw_json_obj_cstr(&o, "action_type", action_type);
    return aw_json_obj_end(&o);
}

int aw_details_grouped(aw_buf *out, const char *rule, const char *group_id, int64_t size,
                       int64_t flush_at_ms, bool retried)
{
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_cstr(&o, "rule", rule);
    aw_json_obj_open(&o, "group");
    aw_json_obj_cstr(&o, "id", group_id);
    aw_json_obj_int(&o, "size", size);
    aw_json_obj_int(&o, "flush_at_ms", flush_at_ms);
    if (retried)
        aw_json_obj_true(&o, "retried");
    aw_json_obj_close(&o);
    return aw_json_obj_end(&o);
}

int aw_details_lock_timeout(aw_buf *out, const char *rule, const char *key, int64_t waited_ms,
                            int64_t max_wait_ms)
{
    char why[160];
    snprintf(why, sizeof(why), "rule \"%.64s\": lock held elsewhere for more than %lld ms",
             rule, (long long)max_wait_ms);
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_cstr(&o, "error_code", "lock_timeout");
    aw_json_obj_cstr(&o, "error", why);
    aw_json_obj_cstr(&o, "rule", rule);
    aw_json_obj_cstr(&o, "key", key);
    aw_json_obj_int(&o, "waited_ms", waited_ms);
    aw_json_obj_int(&o, "max_wait_ms", max_wait_ms);
    return aw_json_obj_end(&o);
}

int aw_details_executed(aw_buf *out, const aw_provider_result *res, int attempts)
{
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    if (res->http_status)
        aw_json_obj_int(&o, "provider_status", res->http_status);
    if (!res->ok) {
        aw_json_obj_cstr_or_skip(&o, "error_code", res->error_code);
        aw_json_obj_cstr_or_skip(&o, "error", res->error);
    }
    aw_json_obj_int(&o, "attempts", attempts);
    return aw_json_obj_end(&o);
}

/* What a duplicate's details need of the done record's summary (JSON that
 * aw_details_summary wrote): its outcome and action id. */
typedef struct summary_view {
    aw_json_value outcome, action_id;
    bool has_outcome, has_action_id;
} summary_view;

static void summary_member(void *ctx, const char *key, size_t key_len, const aw_json_value *v)
{
    summary_view *sv = ctx;
    if (v->kind != AW_JSON_STRING)
        return;
    if (key_len == 7 && memcmp(key, "outcome", 7) == 0)
        sv->outcome = *v, sv->has_outcome = true;
    else if (key_len == 9 && memcmp(key, "action_id", 9) == 0)
        sv->action_id = *v, sv->has_action_id = true;
}

/* The summary's outcome and action id; an unreadable summary reads as none. */
static summary_view read_summary(const char *summary)
{
    summary_view sv = {0};
    aw_json_value root;
    aw_json_error jerr;
    if (summary && (aw_json_check(summary, strlen(summary), 64, summary_member, &sv, &root,
                                  &jerr) != 0 ||
                    root.kind != AW_JSON_OBJECT))
        sv = (summary_view){0};
    return sv;
}

static aw_outcome outcome_of(const summary_view *sv)
{
    aw_outcome o = AW_OUTCOME_EXECUTED;
    char name[32];
    if (sv->has_outcome && sv->outcome.str_len < sizeof name) {
        aw_json_string_copy(&sv->outcome, name);
        aw_outcome_parse(name, &o);
    }
    return o;
}

/* "name":<the JSON string v>, unescaped first so that the bytes are what
 * jansson would write. */
static void put_json_string(aw_json_obj *o, const char *name, const aw_json_value *v)
{
    char small[128], *s = v->str_len < sizeof small ? small : malloc(v->str_len + 1);
    if (!s) {
        o->failed = true;
        return;
    }
    aw_json_string_copy(v, s);
    aw_json_obj_string(o, name, s, v->str_len);
    if (s != small)
        free(s);
}

int aw_details_duplicate(aw_buf *out, const aw_claim *c)
{
    summary_view sv = read_summary(c->done_summary);
    aw_json_obj o;
    aw_json_obj_begin(&o, out);
    aw_json_obj_cstr(&o, "original_outcome", aw_outcome_name(outcome_of(&sv)));
    aw_json_obj_open(&o, "original_source");
    aw_json_obj_cstr(&o, "topic", c->done_topic ? c->done_topic : "");
    aw_json_obj_int(&o, "partition", c->done_partition);
    aw_json_obj_int(&o, "offset", c->done_offset);
    aw_json_obj_close(&o);
    if (sv.has_action_id)
        put_json_string(&o, "original_action_id", &sv.action_id);
    aw_json_obj_int(&o, "original_fencing_token", (int64_t)c->done_token);
    return aw_json_obj_end(&o);
}

int aw_details_redelivered(aw_buf *out, const aw_claim *c, aw_outcome *outcome,
                           int64_t *attempts, char *rule, size_t rulesz)
{
    json_t *summary = c->done_summary ? json_loads(c->done_summary, 0, NULL) : NULL;
    const char *orig = summary ? json_string_value(json_object_get(summary, "outcome")) : NULL;
    *outcome = AW_OUTCOME_EXECUTED;
    if (orig)
        aw_outcome_parse(orig, outcome);
    json_t *d = summary ? json_object_get(summary, "details") : NULL;
    d = d ? json_incref(d) : json_object();
    json_object_set_new(d, "redelivered", json_true());
    *attempts = summary ? json_integer_value(json_object_get(summary, "attempts")) : 0;
    const char *name = summary ? json_string_value(json_object_get(summary, "rule")) : NULL;
    if (rulesz)
        snprintf(rule, rulesz, "%s", name && strlen(name) < rulesz ? name : "");
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    int rc = text && aw_buf_puts(out, text) == 0 ? 0 : -1;
    free(text);
    json_decref(d);
    json_decref(summary);
    return rc;
}

int aw_details_summary(aw_buf *out, aw_outcome outcome, const char *action_id,
                       int64_t attempts, const char *rule, const char *details)
{
    /* Once per done record: one reservation and a cursor, as aw_reply_write
     * does (member by member through aw_json_obj was ~1,500 instructions a
     * summary). The text is what aw_json_obj wrote, byte for byte
     * (tests/unit/test_outcome_details.c). */
    const char *name = aw_outcome_name(outcome);
    action_id = action_id ? action_id : "";
    size_t name_len = strlen(name), id_len = strlen(action_id), details_len = strlen(details);
    size_t rule_len = rule ? strlen(rule) : 0;
    /* names and punctuation (under 60 bytes), the integer */
    size_t want = 60 + AW_INT_TEXT + AW_JSON_ESCAPED_MAX(name_len) +
                  AW_JSON_ESCAPED_MAX(id_len) + AW_JSON_ESCAPED_MAX(rule_len) + details_len;
    if (aw_buf_reserve(out, want))
        return -1;
    size_t start = out->len;
    char *o = out->data + start;
#define LIT(s) (memcpy(o, s, sizeof(s) - 1), o += sizeof(s) - 1)
#define STR(s, n) if (!(o = aw_json_escape_into(o, s, n))) goto bad
    LIT("{\"outcome\":");
    STR(name, name_len);
    LIT(",\"action_id\":");
    STR(action_id, id_len);
    LIT(",\"attempts\":");
    o += aw_format_int(o, attempts);
    if (rule) {
        LIT(",\"rule\":");
        STR(rule, rule_len);
    }
    LIT(",\"details\":");
    memcpy(o, details, details_len);
    o += details_len;
    *o++ = '}';
#undef LIT
#undef STR
    *o = '\0';
    out->len = (size_t)(o - out->data);
    return 0;
bad: /* not valid UTF-8: nothing appended */
    out->data[start] = '\0';
    return -1;
}
