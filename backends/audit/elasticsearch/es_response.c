/* Response parsers (see es_response.h). */
#include "backends/audit/elasticsearch/es_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backends/audit/elasticsearch/es_doc.h"

static json_t *load(const char *body, size_t len)
{
    return body ? json_loadb(body, len, 0, NULL) : NULL;
}

static void reason_of(const json_t *error, char *out, size_t outsz)
{
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *reason = json_string_value(json_object_get(error, "reason"));
    if (json_is_string(error))
        snprintf(out, outsz, "%s", json_string_value(error));
    else if (type || reason)
        snprintf(out, outsz, "%s%s%s", type ? type : "", type && reason ? ": " : "",
                 reason ? reason : "");
    else
        snprintf(out, outsz, "no reason given");
}

void aw_es_error_reason(const char *body, size_t len, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    json_t *j = load(body, len);
    const json_t *e = json_object_get(j, "error");
    if (e) {
        reason_of(e, out, outsz);
    } else {
        size_t n = len < outsz - 1 ? len : outsz - 1;
        for (size_t i = 0; i < n; i++)
            out[i] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
        out[n] = '\0';
        if (n == 0)
            snprintf(out, outsz, "empty answer");
    }
    json_decref(j);
}

aw_status aw_es_parse_bulk(const char *body, size_t len, size_t n, es_bulk_item *items,
                        aw_error *err)
{
    json_t *j = load(body, len);
    const json_t *arr = json_object_get(j, "items");
    aw_status rc = AW_OK;
    if (!json_is_array(arr) || json_array_size(arr) != n) {
        rc = aw_error_set(err, AW_PERMANENT,
                          "elasticsearch _bulk: answer has %zu items for %zu actions",
                          json_is_array(arr) ? json_array_size(arr) : 0, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *it = json_object_get(json_array_get(arr, i), "create");
        const json_t *st = json_object_get(it, "status");
        if (!json_is_integer(st)) {
            rc = aw_error_set(err, AW_PERMANENT,
                              "elasticsearch _bulk: item %zu is not a create result", i);
            goto out;
        }
        items[i].status = (int)json_integer_value(st);
        items[i].reason[0] = '\0';
        const json_t *e = json_object_get(it, "error");
        if (e)
            reason_of(e, items[i].reason, sizeof(items[i].reason));
    }
out:
    json_decref(j);
    return rc;
}

aw_status aw_es_parse_search(const char *body, size_t len, size_t limit, aw_audit_page *out,
                          aw_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load(body, len);
    const json_t *hits = json_object_get(json_object_get(j, "hits"), "hits");
    aw_status rc = AW_OK;
    if (!json_is_array(hits)) {
        rc = aw_error_set(err, AW_PERMANENT, "elasticsearch _search: answer has no hits.hits");
        goto out;
    }
    size_t total = json_array_size(hits);
    size_t take = total < limit ? total : limit;
    if (take && !(out->records = calloc(take, sizeof(*out->records)))) {
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < take; i++) {
        const json_t *src = json_object_get(json_array_get(hits, i), "_source");
        if ((rc = aw_es_doc_to_record(src, &out->records[i], err)) != AW_OK)
            goto out;
        out->count++;
    }
    if (total > limit && take > 0) {
        const aw_audit_record *last = &out->records[take - 1];
        if (!(out->next_cursor = aw_audit_cursor_encode(last->completed_at_ms, last->record_id)))
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
    }
out:
    json_decref(j);
    if (rc != AW_OK)
        aw_audit_page_clear(out);
    return rc;
}

aw_status aw_es_parse_deleted(const char *body, size_t len, size_t *deleted, aw_error *err)
{
    *deleted = 0;
    json_t *j = load(body, len);
    const json_t *d = json_object_get(j, "deleted");
    const json_t *f = json_object_get(j, "failures");
    aw_status rc = AW_OK;
    if (!json_is_integer(d) || json_integer_value(d) < 0) {
        rc = aw_error_set(err, AW_PERMANENT, "elasticsearch _delete_by_query: no \"deleted\"");
    } else {
        *deleted = (size_t)json_integer_value(d);
        if (json_array_size(f) > 0) {
            char why[160];
            reason_of(json_object_get(json_array_get(f, 0), "cause"), why, sizeof(why));
            rc = aw_error_set(err, AW_TRANSIENT,
                              "elasticsearch _delete_by_query: %zu failures (%s)",
                              json_array_size(f), why);
        }
    }
    json_decref(j);
    return rc;
}

long long aw_es_parse_template_version(const char *body, size_t len, const char *name)
{
    json_t *j = load(body, len);
    const json_t *arr = json_object_get(j, "index_templates");
    long long v = -1;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *t = json_array_get(arr, i);
        const char *n = json_string_value(json_object_get(t, "name"));
        const json_t *ver = json_object_get(json_object_get(t, "index_template"), "version");
        if (n && strcmp(n, name) == 0 && json_is_integer(ver))
            v = json_integer_value(ver);
    }
    json_decref(j);
    return v;
}

long long aw_es_parse_policy_hash(const char *body, size_t len, const char *name)
{
    json_t *j = load(body, len);
    const json_t *h = json_object_get(
        json_object_get(json_object_get(json_object_get(j, name), "policy"), "_meta"),
        "acteon_hash");
    long long v = json_is_integer(h) ? json_integer_value(h) : -1;
    json_decref(j);
    return v;
}

size_t aw_es_parse_empty_indices(const char *body, size_t len, char (*names)[ES_INDEX_NAME_MAX],
                              size_t max)
{
    json_t *j = load(body, len);
    size_t k = 0;
    for (size_t i = 0; i < json_array_size(j) && k < max; i++) {
        const json_t *row = json_array_get(j, i);
        const char *name = json_string_value(json_object_get(row, "index"));
        const json_t *cnt = json_object_get(row, "docs.count");
        /* _cat answers strings; "null" for a closed or red index: skip */
        bool empty = (json_is_string(cnt) && strcmp(json_string_value(cnt), "0") == 0) ||
                     (json_is_integer(cnt) && json_integer_value(cnt) == 0);
        if (name && empty && strlen(name) < ES_INDEX_NAME_MAX)
            snprintf(names[k++], ES_INDEX_NAME_MAX, "%s", name);
    }
    json_decref(j);
    return k;
}

aw_status aw_es_parse_id_hits(const char *body, size_t len, json_t **found, aw_error *err)
{
    *found = NULL;
    json_t *j = load(body, len);
    const json_t *hits = json_object_get(json_object_get(j, "hits"), "hits");
    if (!json_is_array(hits)) {
        json_decref(j);
        return aw_error_set(err, AW_PERMANENT, "elasticsearch _search: answer has no hits.hits");
    }
    json_t *m = json_object();
    for (size_t i = 0; m && i < json_array_size(hits); i++) {
        const json_t *h = json_array_get(hits, i);
        const char *id = json_string_value(json_object_get(h, "_id"));
        json_t *ix = json_object_get(h, "_index");
        if (id && json_is_string(ix))
            json_object_set(m, id, ix);
    }
    json_decref(j);
    if (!m)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    *found = m;
    return AW_OK;
}
