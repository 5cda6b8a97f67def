/* Request builders (see es_request.h). */
#include "backends/audit/elasticsearch/es_request.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/elasticsearch/es_doc.h"

/* Longest record id a cursor may carry: topic (<= 249) + two integers. */
#define ES_CURSOR_ID_MAX 512

void aw_es_template_name(const es_conf *c, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s", c->index);
}

void aw_es_policy_name(const es_conf *c, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s-retention", c->index);
}

/* ---- _bulk -------------------------------------------------------------- */

static aw_status dump_line(aw_buf *out, const json_t *j, aw_error *err)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s || aw_buf_puts(out, s) || aw_buf_append(out, "\n", 1)) {
        free(s);
        return aw_error_set(err, AW_NOMEM, "out of memory building a bulk body");
    }
    free(s);
    return AW_OK;
}

aw_status aw_es_build_bulk(const es_conf *c, const aw_audit_record *recs, const size_t *idx,
                        size_t n, aw_buf *out, aw_error *err)
{
    aw_status rc = AW_OK;
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        const aw_audit_record *r = &recs[idx[i]];
        if (!r->record_id || !r->record_id[0])
            return aw_error_set(err, AW_PERMANENT, "audit record %zu has no record_id", idx[i]);
        char index[ES_INDEX_MAX + 16];
        aw_es_index_for(c, r->completed_at_ms, index, sizeof(index));
        json_t *doc = aw_es_doc_from_record(r, err);
        if (!doc)
            return err ? err->code : AW_PERMANENT;
        json_t *action = json_pack("{s:{s:s, s:s}}", "create", "_index", index, "_id",
                                   r->record_id);
        if (!action)
            rc = aw_error_set(err, AW_PERMANENT, "audit record %zu: record_id is not UTF-8",
                              idx[i]);
        else if ((rc = dump_line(out, action, err)) == AW_OK)
            rc = dump_line(out, doc, err);
        json_decref(action);
        json_decref(doc);
    }
    return rc;
}

/* ---- _search ------------------------------------------------------------ */

/* json_array_append_new steals v even on failure; a NULL v fails it. */
static int add_term(json_t *filter, const char *field, const char *value)
{
    if (!value)
        return 0;
    return json_array_append_new(filter, json_pack("{s:{s:{s:s}}}", "term", field, "value",
                                                   value));
}

aw_status aw_es_build_search(const aw_audit_query *q, size_t size, char **body, aw_error *err)
{
    *body = NULL;
    if (q->outcome < -1 || q->outcome >= AW_OUTCOME_COUNT)
        return aw_error_set(err, AW_PERMANENT, "audit query: unknown outcome %d", q->outcome);
    int64_t after_ms = 0;
    char after_id[ES_CURSOR_ID_MAX];
    if (q->cursor && aw_audit_cursor_decode(q->cursor, &after_ms, after_id, sizeof(after_id)))
        return aw_error_set(err, AW_PERMANENT, "audit query: malformed cursor");
    json_t *filter = json_array();
    json_t *range = json_object();
    json_t *root = NULL;
    int bad = !filter || !range;
    /* A filter string that is not UTF-8 cannot match any stored (UTF-8)
     * value; jansson refuses it, and so does the query: permanent. */
    bad = bad || add_term(filter, "namespace", q->ns) || add_term(filter, "tenant", q->tenant) ||
          add_term(filter, "provider", q->provider) ||
          add_term(filter, "action_type", q->action_type) ||
          add_term(filter, "action_id", q->action_id) ||
          add_term(filter, "rule", q->rule) ||
          add_term(filter, "fingerprint", q->fingerprint) ||
          add_term(filter, "group_id", q->group_id) ||
          add_term(filter, "chain_id", q->chain_id) ||
          (q->outcome >= 0 &&
           add_term(filter, "outcome", aw_outcome_name((aw_outcome)q->outcome)));
    if (!bad && q->from_ms != 0)
        bad = json_object_set_new(range, "gte", json_integer(q->from_ms));
    if (!bad && q->to_ms != 0)
        bad = json_object_set_new(range, "lt", json_integer(q->to_ms));
    if (!bad && json_object_size(range) > 0) {
        bad = json_array_append_new(filter, json_pack("{s:{s:O}}", "range", "completed_at_ms",
                                                      range));
    }
    if (!bad)
        root = json_pack("{s:I, s:b, s:{s:{s:O}}, s:[{s:{s:s}}, {s:{s:s}}]}", "size",
                         (json_int_t)size, "track_total_hits", 0, "query", "bool", "filter",
                         filter, "sort", "completed_at_ms", "order", "desc", "record_id",
                         "order", "desc");
    if (root && q->cursor)
        bad = json_object_set_new(root, "search_after",
                                  json_pack("[I, s]", (json_int_t)after_ms, after_id));
    if (root && !bad)
        *body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    json_decref(range);
    json_decref(filter);
    if (!*body)
        return aw_error_set(err, AW_PERMANENT,
                            "audit query: a filter is not valid UTF-8 (or out of memory)");
    return AW_OK;
}

aw_status aw_es_build_ids_search(const aw_audit_record *recs, const size_t *idx, size_t n,
                              char **body, aw_error *err)
{
    *body = NULL;
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < n; i++)
        if (json_array_append_new(ids, json_string(recs[idx[i]].record_id))) {
            json_decref(ids);
            return aw_error_set(err, AW_PERMANENT,
                                "audit record %zu: record_id is not UTF-8", idx[i]);
        }
    json_t *root = json_pack("{s:I, s:b, s:b, s:{s:{s:[{s:{s:o}}]}}}", "size", (json_int_t)n,
                             "_source", 0, "track_total_hits", 0, "query", "bool", "filter",
                             "ids", "values", ids);
    if (root)
        *body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return *body ? AW_OK : aw_error_set(err, AW_NOMEM, "out of memory");
}

char *aw_es_build_expired_query(int64_t now_ms)
{
    json_t *j = json_pack("{s:{s:{s:[{s:{s:{s:I}}}]}}}", "query", "bool", "filter", "range",
                          "expires_at_ms", "lte", (json_int_t)now_ms);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

/* ---- migrate ------------------------------------------------------------ */

static json_t *mapping_properties(void)
{
    json_t *props = json_object();
    for (size_t i = 0; props && i < aw_es_n_fields; i++) {
        json_t *m;
        switch (aw_es_fields[i].kind) {
        case ES_KEYWORD:
            m = json_pack("{s:s}", "type", "keyword");
            break;
        case ES_LONG:
            m = json_pack("{s:s}", "type", "long");
            break;
        default: /* JSON text: kept in _source, never indexed nor aggregated */
            m = json_pack("{s:s, s:b, s:b}", "type", "text", "index", 0, "norms", 0);
            break;
        }
        if (json_object_set_new(props, aw_es_fields[i].name, m)) {
            json_decref(props);
            return NULL;
        }
    }
    return props;
}

json_t *aw_es_build_mapping_update(void)
{
    return json_pack("{s:o}", "properties", mapping_properties());
}

/* 31-bit FNV-1a of j's canonical (sorted-keys) dump: index template
 * "version" is an int. */
static json_int_t content_hash(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return -1;
    uint32_t h = 2166136261u;
    for (const char *p = s; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    free(s);
    return (json_int_t)(h & 0x7fffffff);
}

json_t *aw_es_build_template(const es_conf *c, int64_t retention_ms)
{
    (void)retention_ms; /* lives in the ILM policy, not the template */
    char pattern[ES_INDEX_MAX + 4], policy[ES_INDEX_MAX + 16];
    snprintf(pattern, sizeof(pattern), "%s-*", c->index);
    aw_es_policy_name(c, policy, sizeof(policy));
    json_t *settings = json_pack("{s:i, s:i}", "number_of_shards", c->shards,
                                 "number_of_replicas", c->replicas);
    if (settings && c->ilm &&
        json_object_set_new(settings, "index.lifecycle.name", json_string(policy))) {
        json_decref(settings);
        return NULL;
    }
    json_t *t = json_pack("{s:[s], s:i, s:{s:o, s:{s:s, s:o}}}", "index_patterns", pattern,
                          "priority", 200, "template", "settings", settings, "mappings",
                          "dynamic", "strict", "properties", mapping_properties());
    if (!t)
        return NULL;
    json_int_t h = content_hash(t);
    if (h < 0 || json_object_set_new(t, "version", json_integer(h))) {
        json_decref(t);
        return NULL;
    }
    return t;
}

json_t *aw_es_build_ilm_policy(int64_t retention_ms)
{
    char age[32];
    snprintf(age, sizeof(age), "%" PRId64 "ms", retention_ms > 0 ? retention_ms : 0);
    json_t *p = json_pack("{s:{s:{s:{s:s, s:{s:{}}}}}}", "policy", "phases", "delete",
                          "min_age", age, "actions", "delete");
    if (!p)
        return NULL;
    json_int_t h = content_hash(p);
    json_t *policy = json_object_get(p, "policy");
    if (h < 0 || json_object_set_new(policy, "_meta", json_pack("{s:I}", "acteon_hash", h))) {
        json_decref(p);
        return NULL;
    }
    return p;
}
