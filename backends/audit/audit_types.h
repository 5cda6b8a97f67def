/* The audit record and query types (docs/design.md section 4), shared by callers
 * (audit.h) and implementers (audit_backend.h). */
#ifndef AW_AUDIT_TYPES_H
#define AW_AUDIT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/aw_error.h"
#include "common/aw_outcome.h"

/* One record per consumed message. Every string is owned by the record
 * (malloc'd; NULL allowed where noted) and released by
 * aw_audit_record_clear(). */
typedef struct aw_audit_record {
    char *record_id;       /* "<topic>:<partition>:<offset>", deterministic */
    char *action_id;       /* "" when the message had no readable id */
    char *ns;
    char *tenant;
    char *provider;
    char *action_type;
    char *dedup_identity;  /* "ns:tenant:key" for display; "" when rejected */
    aw_outcome outcome;
    char *rule;            /* name of the rule whose verdict applied to the
                              action (docs/rules.md, "Audit"), NULL when
                              none did */
    /* The state the action belongs to (docs/rules.md), NULL when none;
     * each searchable (audit search --fingerprint / --group / --chain): */
    char *fingerprint;     /* a state_machine rule's event fingerprint */
    char *group_id;        /* a group rule's group (members and the flush) */
    char *chain_id;        /* a chain rule's chain (trigger, steps, end) */
    char *details;         /* JSON object text, never NULL */
    char *payload;         /* JSON text, NULL when not stored */
    char *metadata;        /* JSON object text, NULL when absent */
    char *source_topic;
    int32_t source_partition;
    int64_t source_offset;
    char *worker_id;
    uint64_t fencing_token; /* 0 when no lease was taken */
    int64_t attempts;
    int64_t dispatched_at_ms;
    int64_t completed_at_ms;
    int64_t duration_ms;
    int64_t expires_at_ms;
} aw_audit_record;

void aw_audit_record_clear(aw_audit_record *r);
/* Deep copy; dst is overwritten (not cleared first). */
aw_status aw_audit_record_copy(aw_audit_record *dst, const aw_audit_record *src, aw_error *err);

/* A copy whose strings live in one caller-owned block instead: for stores
 * that keep many records (one allocation per record instead of a dozen).
 * block holds aw_audit_record_strings_size(src) bytes; dst's strings point
 * into it, so free the block, never aw_audit_record_clear(dst). */
size_t aw_audit_record_strings_size(const aw_audit_record *src);
void aw_audit_record_copy_packed(aw_audit_record *dst, const aw_audit_record *src, char *block);

/* "<topic>:<partition>:<offset>" into out. Kafka topic names cannot contain
 * ':', so the id is unambiguous. */
void aw_audit_record_id(char *out, size_t outsz, const char *topic, int32_t partition,
                        int64_t offset);

/* JSON form (schemas/audit-record.schema.json). Returns a new reference or
 * NULL when out of memory. */
json_t *aw_audit_record_to_json(const aw_audit_record *r);
/* Parse the JSON form. On failure AW_PERMANENT naming the bad field. */
aw_status aw_audit_record_from_json(const json_t *j, aw_audit_record *out, aw_error *err);

/* Query: all filters are optional (NULL = any). Time range applies to
 * completed_at_ms: from_ms inclusive, to_ms exclusive, 0 = unbounded.
 * Results are newest first by (completed_at_ms, record_id) descending. */
typedef struct aw_audit_query {
    const char *ns;
    const char *tenant;
    const char *provider;
    const char *action_type;
    const char *action_id;
    int outcome;           /* -1 = any, else an aw_outcome */
    const char *rule;      /* records of this rule only; never matches a
                              record without a rule */
    const char *fingerprint; /* these three likewise: records carrying */
    const char *group_id;    /* that value only */
    const char *chain_id;
    int64_t from_ms;
    int64_t to_ms;
    size_t limit;          /* clamped to [1, AW_AUDIT_MAX_LIMIT]; 0 = default */
    const char *cursor;    /* from a previous page's next_cursor, or NULL */
} aw_audit_query;

#define AW_AUDIT_DEFAULT_LIMIT 100
#define AW_AUDIT_MAX_LIMIT 1000

/* A page of results, owned by the struct; release with aw_audit_page_clear(). */
typedef struct aw_audit_page {
    aw_audit_record *records;
    size_t count;
    char *next_cursor;     /* NULL when there are no more rows */
} aw_audit_page;

void aw_audit_page_clear(aw_audit_page *p);

/* The effective limit of a query. */
size_t aw_audit_clamp_limit(size_t limit);

/* Opaque keyset cursor: the (completed_at_ms, record_id) of the last row of a
 * page. encode returns a malloc'd string (NULL on OOM); decode returns -1 on
 * a malformed cursor and fills id (size idsz). */
char *aw_audit_cursor_encode(int64_t completed_at_ms, const char *record_id);
int aw_audit_cursor_decode(const char *cursor, int64_t *completed_at_ms, char *id, size_t idsz);

typedef struct aw_audit_options {
    const char *url;
    int64_t retention_ms;   /* records expire this long after completion */
    int connect_timeout_ms;
    int request_timeout_ms;
} aw_audit_options;

#endif
