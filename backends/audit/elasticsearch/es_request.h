/* Pure request builders of the Elasticsearch audit backend: bodies only, no
 * I/O, so unit tests can check them without a server. Every value that comes
 * from a record or a query is put into JSON by jansson, never spliced into
 * text: a filter such as `*` or `{"$ne":null}` stays a literal string.
 *
 * Ownership: builders append to a caller-owned aw_buf or return a new
 * reference / malloc'd string the caller frees. */
#ifndef AW_ES_REQUEST_H
#define AW_ES_REQUEST_H

#include <stddef.h>

#include <jansson.h>

#include "backends/audit/audit_types.h"
#include "backends/audit/elasticsearch/es_conf.h"
#include "common/aw_buf.h"

/* The _bulk body (NDJSON, every line ends with '\n') of one `create` action
 * per record recs[idx[i]], i < n: _index = the record's dated index, _id =
 * its record_id. AW_PERMANENT naming the record when one cannot be encoded. */
aw_status aw_es_build_bulk(const es_conf *c, const aw_audit_record *recs, const size_t *idx,
                        size_t n, aw_buf *out, aw_error *err);

/* The _search body of q: bool filter of term queries and a range on
 * completed_at_ms, sort (completed_at_ms desc, record_id desc), size, and
 * search_after from the cursor. AW_PERMANENT for a malformed cursor or an
 * unknown outcome. *body is malloc'd. */
aw_status aw_es_build_search(const aw_audit_query *q, size_t size, char **body, aw_error *err);

/* A _search finding which of recs[idx[0..n)] are stored already, anywhere:
 * an ids filter, no _source, size n. *body is malloc'd. */
aw_status aw_es_build_ids_search(const aw_audit_record *recs, const size_t *idx, size_t n,
                              char **body, aw_error *err);

/* The _delete_by_query body: expires_at_ms <= now_ms. */
char *aw_es_build_expired_query(int64_t now_ms);

/* The composable index template for c (mappings from aw_es_fields, settings,
 * ILM policy name when c->ilm) with "version" = a hash of everything else,
 * so migrate can tell an up-to-date template from a stale one. */
json_t *aw_es_build_template(const es_conf *c, int64_t retention_ms);
/* The body of PUT <index>-*\/_mapping: every field of the template's
 * mapping, so indices created before a field was added (rule) accept
 * documents that carry it (their mapping is strict). Adding a field and
 * restating an unchanged one are both allowed on a live index. */
json_t *aw_es_build_mapping_update(void);

/* The ILM policy deleting indices retention_ms after creation, with
 * _meta.acteon_hash for the same up-to-date check. */
json_t *aw_es_build_ilm_policy(int64_t retention_ms);

/* The names: template "<index>", policy "<index>-retention", pattern "<index>-*". */
void aw_es_template_name(const es_conf *c, char *out, size_t outsz);
void aw_es_policy_name(const es_conf *c, char *out, size_t outsz);

#endif
