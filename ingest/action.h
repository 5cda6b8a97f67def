/* Decoding and validating one action message (schemas/action.schema.json).
 *
 * aw_action_decode() checks the bytes of a Kafka message value (strict JSON,
 * ingest/json_check.h) and the schema's rules, and copies out the string
 * fields. On success the action owns one block holding those strings (until
 * aw_action_clear()); payload and metadata are spans of the decoded bytes,
 * valid as long as the caller keeps those bytes. On rejection nothing is
 * owned and *rej says why. No JSON tree is built. */
#ifndef AW_ACTION_H
#define AW_ACTION_H

#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"

/* Limits of the schema; the message size limit is configurable. */
#define AW_ACTION_MAX_ID_LEN 256        /* id, dedup_key */
#define AW_ACTION_MAX_NAME_LEN 128      /* namespace, tenant, provider, action_type */
#define AW_ACTION_MAX_TOPIC_LEN 249     /* reply_to (Kafka's own limit) */
#define AW_ACTION_MAX_METADATA_ENTRIES 64
#define AW_ACTION_MAX_METADATA_LEN 1024 /* each metadata key and value */
#define AW_ACTION_MAX_TRACE_LEN 512     /* traceparent, tracestate */
#define AW_ACTION_MAX_DEPTH 64          /* JSON nesting, anywhere */
#define AW_ACTION_DEFAULT_MAX_BYTES (1024 * 1024)

typedef struct aw_action {
    char *strings;           /* owned: the string fields below, unescaped, in one block */
    const char *id;
    const char *ns;
    const char *tenant;
    const char *provider;
    const char *action_type;
    const char *dedup_key;   /* NULL when absent */
    const char *reply_to;    /* NULL when absent */
    const char *traceparent; /* NULL when absent */
    const char *tracestate;  /* NULL when absent */
    int64_t created_at_ms;   /* 0 when absent */
    int64_t not_before_ms;   /* scheduled action (docs/scheduling.md): not
                                executed before this wall-clock time; 0 when
                                absent */
    /* Borrowed from the decoded bytes: the JSON text of the values as the
     * producer wrote them (not NUL-terminated). */
    const char *payload;     /* any JSON value, null included; always set */
    size_t payload_len;
    const char *metadata;    /* an object; NULL when absent */
    size_t metadata_len;
} aw_action;

typedef enum aw_reject_reason {
    AW_REJECT_TOO_LARGE = 0,  /* over the configured size limit */
    AW_REJECT_EMPTY,          /* zero-length or NULL value */
    AW_REJECT_INVALID_JSON,   /* not JSON (includes invalid UTF-8, NUL bytes) */
    AW_REJECT_TOO_DEEP,       /* nesting beyond AW_ACTION_MAX_DEPTH */
    AW_REJECT_NOT_OBJECT,     /* JSON but not an object */
    AW_REJECT_MISSING_FIELD,  /* a required field is absent */
    AW_REJECT_INVALID_FIELD,  /* a field has the wrong type, length or content */
    AW_REJECT_UNKNOWN_PROVIDER, /* names no configured provider (set by the worker) */
    AW_REJECT_RULE_FIELD,     /* a field a matching rule's key template uses is
                                 missing or not a scalar (set by the worker) */
    AW_REJECT_LOCK_TIMEOUT,   /* a lock rule with on_timeout = "dlq" waited
                                 longer than max_wait_ms (set by the worker) */
    AW_REJECT_COUNT
} aw_reject_reason;

typedef struct aw_reject {
    aw_reject_reason reason;
    char field[64];          /* offending field ("" when not about a field) */
    char detail[256];        /* human-readable, names the field and the rule */
    char action_id[AW_ACTION_MAX_ID_LEN + 1]; /* the id if one could be read, else "" */
} aw_reject;

/* "too_large", "empty", "invalid_json", "too_deep", "not_an_object",
 * "missing_field", "invalid_field", "unknown_provider", "rule_field",
 * "lock_timeout". Never NULL. */
const char *aw_reject_reason_name(aw_reject_reason r);

/* Decode and validate. max_bytes 0 means AW_ACTION_DEFAULT_MAX_BYTES.
 * Return 0 on success (out filled), -1 on rejection (rej filled, out zeroed). */
int aw_action_decode(const void *data, size_t len, size_t max_bytes, aw_action *out,
                     aw_reject *rej);

void aw_action_clear(aw_action *a);

/* The dedup key of the action: dedup_key if present, else id. */
static inline const char *aw_action_key(const aw_action *a)
{
    return a->dedup_key ? a->dedup_key : a->id;
}

/* Append "namespace:tenant:key" (the human form of the dedup identity) to out. */
int aw_action_identity(const aw_action *a, aw_buf *out);

/* 64-bit hash of the identity (namespace, tenant, key), stable across runs:
 * used to shard work so one identity always lands on one worker thread. */
uint64_t aw_action_identity_hash(const aw_action *a);

/* The same hash from the three parts' bytes (not NUL-terminated). */
uint64_t aw_identity_hash(const char *ns, size_t ns_len, const char *tenant, size_t tenant_len,
                          const char *key, size_t key_len);

#endif
