/* Elasticsearch / OpenSearch audit backend (`audit.backend = "elasticsearch"`).
 *
 * URL and options: es_conf.h. Files, one job each:
 *   es_conf.c      the URL and its options
 *   es_doc.c       record <-> flat document, the field table of the mapping
 *   es_request.c   pure request bodies (_bulk NDJSON, _search, template, ILM)
 *   es_response.c  pure answer parsers (bulk items, hits, error reasons)
 *   es_audit.c     the driver: libcurl glue, retries, error mapping
 *
 * Storage: one index per UTC day of completed_at (<index>-YYYY.MM.DD), read
 * through the pattern <index>-*; `acteon-worker migrate` writes the index
 * template (strict mapping) and, with ilm=on, an ILM policy. append_batch
 * is one _bulk request of `create` actions with _id = record_id, so a
 * redelivered record answers 409 and is not stored twice.
 *
 * Threads: the backend object is shared and read-only after create (the
 * parsed options); each session owns one CURL handle and its buffers and is
 * used by one thread at a time (the audit.h rule). No locks are needed. */
#ifndef AW_ES_AUDIT_H
#define AW_ES_AUDIT_H

#include "backends/audit/audit_backend.h"

/* Answers larger than this are refused (a page of 1001 records with large
 * payloads stays far below it). */
#define ES_MAX_ANSWER (256u * 1024 * 1024)

#endif
