/* Record <-> document (see es_doc.h). */
#include "backends/audit/elasticsearch/es_doc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const es_field aw_es_fields[] = {
    {"record_id", ES_KEYWORD, false},      {"action_id", ES_KEYWORD, false},
    {"namespace", ES_KEYWORD, false},      {"tenant", ES_KEYWORD, false},
    {"provider", ES_KEYWORD, false},       {"action_type", ES_KEYWORD, false},
    {"dedup_identity", ES_KEYWORD, false}, {"outcome", ES_KEYWORD, false},
    {"details", ES_JSON_TEXT, false},      {"payload", ES_JSON_TEXT, true},
    {"metadata", ES_JSON_TEXT, true},      {"source_topic", ES_KEYWORD, false},
    {"source_partition", ES_LONG, false},  {"source_offset", ES_LONG, false},
    {"worker_id", ES_KEYWORD, false},      {"fencing_token", ES_LONG, false},
    {"attempts", ES_LONG, false},          {"dispatched_at_ms", ES_LONG, false},
    {"completed_at_ms", ES_LONG, false},   {"duration_ms", ES_LONG, false},
    {"expires_at_ms", ES_LONG, false},     {"rule", ES_KEYWORD, true},
    {"fingerprint", ES_KEYWORD, true},     {"group_id", ES_KEYWORD, true},
    {"chain_id", ES_KEYWORD, true},
};
const size_t aw_es_n_fields = sizeof(aw_es_fields) / sizeof(aw_es_fields[0]);

/* String members: name and offset in the record. */
typedef struct str_member {
    const char *name;
    size_t off;
    bool nullable;
} str_member;

static const str_member str_members[] = {
    {"record_id", offsetof(aw_audit_record, record_id), false},
    {"action_id", offsetof(aw_audit_record, action_id), false},
    {"namespace", offsetof(aw_audit_record, ns), false},
    {"tenant", offsetof(aw_audit_record, tenant), false},
    {"provider", offsetof(aw_audit_record, provider), false},
    {"action_type", offsetof(aw_audit_record, action_type), false},
    {"dedup_identity", offsetof(aw_audit_record, dedup_identity), false},
    {"details", offsetof(aw_audit_record, details), false},
    {"payload", offsetof(aw_audit_record, payload), true},
    {"metadata", offsetof(aw_audit_record, metadata), true},
    {"source_topic", offsetof(aw_audit_record, source_topic), false},
    {"worker_id", offsetof(aw_audit_record, worker_id), false},
    {"rule", offsetof(aw_audit_record, rule), true},
    {"fingerprint", offsetof(aw_audit_record, fingerprint), true},
    {"group_id", offsetof(aw_audit_record, group_id), true},
    {"chain_id", offsetof(aw_audit_record, chain_id), true},
};
#define N_STR (sizeof(str_members) / sizeof(str_members[0]))

static char **str_at(aw_audit_record *r, size_t off) { return (char **)((char *)r + off); }
static const char *str_get(const aw_audit_record *r, size_t off)
{
    return *(char *const *)((const char *)r + off);
}

/* ---- record -> document ------------------------------------------------- */

/* What a NULL non-nullable string is written as (the memory backend keeps
 * NULL; every real writer sets them): details is an object by contract. */
static const char *empty_value(size_t off)
{
    return off == offsetof(aw_audit_record, details) ? "{}" : "";
}

json_t *aw_es_doc_from_record(const aw_audit_record *r, aw_error *err)
{
    if (r->fencing_token > (uint64_t)INT64_MAX) {
        aw_error_set(err, AW_PERMANENT, "audit record %s: fencing_token above INT64_MAX",
                     r->record_id ? r->record_id : "?");
        return NULL;
    }
    json_t *d = json_object();
    if (!d)
        goto nomem;
    for (size_t i = 0; i < N_STR; i++) {
        const char *s = str_get(r, str_members[i].off);
        json_t *v;
        if (!s && str_members[i].nullable)
            v = json_null();
        else if (!(v = json_string(s ? s : empty_value(str_members[i].off))))
            goto bad_string; /* not UTF-8 (or OOM, which reads the same here) */
        if (json_object_set_new(d, str_members[i].name, v))
            goto nomem;
    }
    const char *outcome = (unsigned)r->outcome < AW_OUTCOME_COUNT ? aw_outcome_name(r->outcome)
                                                                  : NULL;
    if (!outcome) {
        json_decref(d);
        aw_error_set(err, AW_PERMANENT, "audit record: unknown outcome %d", (int)r->outcome);
        return NULL;
    }
    if (json_object_set_new(d, "outcome", json_string(outcome)) ||
        json_object_set_new(d, "source_partition", json_integer(r->source_partition)) ||
        json_object_set_new(d, "source_offset", json_integer(r->source_offset)) ||
        json_object_set_new(d, "fencing_token", json_integer((json_int_t)r->fencing_token)) ||
        json_object_set_new(d, "attempts", json_integer(r->attempts)) ||
        json_object_set_new(d, "dispatched_at_ms", json_integer(r->dispatched_at_ms)) ||
        json_object_set_new(d, "completed_at_ms", json_integer(r->completed_at_ms)) ||
        json_object_set_new(d, "duration_ms", json_integer(r->duration_ms)) ||
        json_object_set_new(d, "expires_at_ms", json_integer(r->expires_at_ms)))
        goto nomem;
    return d;
bad_string:
    json_decref(d);
    aw_error_set(err, AW_PERMANENT, "audit record %.100s: a string field is not valid UTF-8",
                 r->record_id ? r->record_id : "?");
    return NULL;
nomem:
    json_decref(d);
    aw_error_set(err, AW_NOMEM, "out of memory building a document");
    return NULL;
}

/* ---- document -> record ------------------------------------------------- */

static aw_status bad(aw_error *err, const char *field, const char *want)
{
    return aw_error_set(err, AW_PERMANENT, "elasticsearch document: field \"%s\": expected %s",
                        field, want);
}

static aw_status get_long(const json_t *doc, const char *name, int64_t min, int64_t max,
                          int64_t *out, aw_error *err)
{
    const json_t *v = json_object_get(doc, name);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return bad(err, name, "an integer in range");
    *out = json_integer_value(v);
    return AW_OK;
}

static aw_status parse_doc(const json_t *doc, aw_audit_record *r, aw_error *err)
{
    if (!json_is_object(doc))
        return aw_error_set(err, AW_PERMANENT, "elasticsearch document: not an object");
    for (size_t i = 0; i < N_STR; i++) {
        const json_t *v = json_object_get(doc, str_members[i].name);
        if (json_is_null(v) && str_members[i].nullable)
            continue;
        if (!json_is_string(v))
            return bad(err, str_members[i].name, "a string");
        char **dst = str_at(r, str_members[i].off);
        if (!(*dst = strdup(json_string_value(v))))
            return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    if (!r->record_id[0])
        return bad(err, "record_id", "a non-empty string");
    if (!aw_outcome_parse(json_string_value(json_object_get(doc, "outcome")), &r->outcome))
        return bad(err, "outcome", "an outcome name");
    int64_t part = 0, token = 0;
    aw_status rc;
    if ((rc = get_long(doc, "source_partition", 0, INT32_MAX, &part, err)) ||
        (rc = get_long(doc, "source_offset", INT64_MIN, INT64_MAX, &r->source_offset, err)) ||
        (rc = get_long(doc, "fencing_token", 0, INT64_MAX, &token, err)) ||
        (rc = get_long(doc, "attempts", INT64_MIN, INT64_MAX, &r->attempts, err)) ||
        (rc = get_long(doc, "dispatched_at_ms", INT64_MIN, INT64_MAX, &r->dispatched_at_ms,
                       err)) ||
        (rc = get_long(doc, "completed_at_ms", INT64_MIN, INT64_MAX, &r->completed_at_ms,
                       err)) ||
        (rc = get_long(doc, "duration_ms", INT64_MIN, INT64_MAX, &r->duration_ms, err)) ||
        (rc = get_long(doc, "expires_at_ms", INT64_MIN, INT64_MAX, &r->expires_at_ms, err)))
        return rc;
    r->source_partition = (int32_t)part;
    r->fencing_token = (uint64_t)token;
    return AW_OK;
}

aw_status aw_es_doc_to_record(const json_t *doc, aw_audit_record *out, aw_error *err)
{
    aw_audit_record tmp = {0};
    aw_status rc = parse_doc(doc, &tmp, err);
    if (rc != AW_OK) {
        aw_audit_record_clear(&tmp);
        memset(out, 0, sizeof(*out));
        return rc;
    }
    *out = tmp;
    return AW_OK;
}
