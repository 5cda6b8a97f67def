/* Pure response parsers of the Elasticsearch audit backend (no I/O): a
 * _bulk answer item by item, _search hits, _delete_by_query counts, the
 * versions migrate compares, and the reason of an error answer.
 * Output is caller-owned; nothing is shared. */
#ifndef AW_ES_RESPONSE_H
#define AW_ES_RESPONSE_H

#include <stddef.h>

#include "backends/audit/audit_types.h"

/* "<type>: <reason>" of an Elasticsearch error answer
 * ({"error":{"type":..,"reason":..},"status":N}), else the start of the body
 * with control bytes replaced. Always NUL-terminates out. */
void aw_es_error_reason(const char *body, size_t len, char *out, size_t outsz);

/* One item of a _bulk answer. */
typedef struct es_bulk_item {
    int status;        /* 201 created, 409 exists, 429/5xx retry, other: permanent */
    char reason[160];  /* "<type>: <reason>" when status is not 2xx */
} es_bulk_item;

/* Parse a 200 _bulk answer that must carry exactly n `create` items, in
 * request order, into items[0..n). AW_PERMANENT when the answer does not
 * have that shape (the server did not do what was asked). */
aw_status aw_es_parse_bulk(const char *body, size_t len, size_t n, es_bulk_item *items,
                        aw_error *err);

/* Parse a _search answer of a query sent with size = limit + 1: up to limit
 * records into *out (zeroed first; cleared again on failure), next_cursor
 * set when a (limit+1)-th hit came back. */
aw_status aw_es_parse_search(const char *body, size_t len, size_t limit, aw_audit_page *out,
                          aw_error *err);

/* The hits of an ids search as a new object {_id: _index}; AW_PERMANENT
 * when the answer has no hits array. */
aw_status aw_es_parse_id_hits(const char *body, size_t len, json_t **found, aw_error *err);

/* "deleted" of a _delete_by_query answer; AW_TRANSIENT when it reports
 * failures (shard or bulk rejections: a later run retries). */
aw_status aw_es_parse_deleted(const char *body, size_t len, size_t *deleted, aw_error *err);

/* Names of the indices with "docs.count" "0" in a
 * GET _cat/indices?format=json&h=index,docs.count answer, at most max of
 * them, into names[i] (each ES_INDEX_NAME_MAX bytes); returns how many. */
#define ES_INDEX_NAME_MAX 256
size_t aw_es_parse_empty_indices(const char *body, size_t len, char (*names)[ES_INDEX_NAME_MAX],
                              size_t max);

/* "version" of index template `name` in a GET _index_template answer, or -1. */
long long aw_es_parse_template_version(const char *body, size_t len, const char *name);
/* _meta.acteon_hash of policy `name` in a GET _ilm/policy answer, or -1. */
long long aw_es_parse_policy_hash(const char *body, size_t len, const char *name);

#endif
