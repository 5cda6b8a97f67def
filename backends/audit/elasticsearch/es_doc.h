/* The Elasticsearch document of an audit record, and back.
 *
 * The document is flat, one member per record field, so every field can be
 * mapped with a fixed type (es_request.c writes the mapping from the same
 * table): identifiers and filters are `keyword` (exact, byte-ordered),
 * numbers and times are `long` milliseconds, and the three JSON members
 * (details, payload, metadata) are stored as their JSON TEXT in non-indexed
 * `text` fields. Stored as text, an arbitrary payload shape can never cause
 * a mapping conflict or a mapping explosion, and it comes back byte for byte.
 * payload and metadata are JSON null when the record has none, and so is
 * rule (a keyword) when no rule applied, and fingerprint, group_id and
 * chain_id when the action belongs to no event, group or chain.
 *
 * Pure functions, no shared state. */
#ifndef AW_ES_DOC_H
#define AW_ES_DOC_H

#include <jansson.h>

#include "backends/audit/audit_types.h"

typedef enum es_field_kind { ES_KEYWORD, ES_LONG, ES_JSON_TEXT } es_field_kind;

typedef struct es_field {
    const char *name;
    es_field_kind kind;
    bool nullable; /* JSON null allowed (payload, metadata, rule, state ids) */
} es_field;

/* Every document member, in document order. */
extern const es_field aw_es_fields[];
extern const size_t aw_es_n_fields;

/* The document of r: a new reference, or NULL with err set (AW_PERMANENT
 * naming the field that is not valid UTF-8 / out of range, or AW_NOMEM). */
json_t *aw_es_doc_from_record(const aw_audit_record *r, aw_error *err);

/* Parse a document (_source) into *out (overwritten). On failure *out is
 * zeroed and err names the bad field (AW_PERMANENT) or says AW_NOMEM. */
aw_status aw_es_doc_to_record(const json_t *doc, aw_audit_record *out, aw_error *err);

#endif
