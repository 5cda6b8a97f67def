/* Response parsing of the "dynamodb" state backend: pure functions from an
 * HTTP status and body to aw_status and decoded items. Unit-tested in
 * tests/unit/test_dynamodb_parse.c.
 *
 * Ownership: records own their malloc'd fields; release with
 * aw_ddb_record_clear() (accepts a zeroed record). */
#ifndef AW_DDB_PARSE_H
#define AW_DDB_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_error.h"

/* The one mapping of DynamoDB answers to statuses:
 *  - 2xx: AW_OK;
 *  - ConditionalCheckFailedException: AW_CONFLICT (the normal "lost the
 *    race" answer, err gets the short message);
 *  - throttling (ProvisionedThroughputExceededException,
 *    ThrottlingException, RequestLimitExceeded), 5xx, 429,
 *    InternalServerError, ServiceUnavailable, TransactionConflict:
 *    AW_TRANSIENT (*throttled set for the first three kinds and 429:
 *    those were certainly not applied and may be resent at once);
 *  - ResourceNotFoundException: AW_NOT_FOUND (table missing: callers
 *    turn it into "run migrate");
 *  - ResourceInUseException: AW_CONFLICT too (CreateTable of an existing
 *    table; migrate treats it as "already there");
 *  - credentials (UnrecognizedClientException, InvalidSignatureException,
 *    MissingAuthenticationToken, AccessDeniedException,
 *    ExpiredTokenException): AW_CONFIG;
 *  - UnknownOperationException: AW_UNSUPPORTED (dynalite has no
 *    UpdateTimeToLive);
 *  - any other 4xx: AW_PERMANENT with the server's message.
 * type_out (may be NULL, >= 64 bytes) receives the exception's short name
 * (after the last '#'), "" when none. */
aw_status aw_ddb_classify(long http_status, const char *body, size_t len, bool *throttled,
                          char *type_out, size_t type_sz, aw_error *err);

/* One item as the backend reads it. */
typedef struct aw_ddb_record {
    bool present;     /* the answer carried the item */
    bool has_exp;
    int64_t exp_ms;
    uint64_t ver;
    uint64_t tok;
    char st;          /* 'L', 'D' or 0 */
    char *val;        /* value bytes (NUL-terminated copy), or the decimal
                         text of aw_num for a counter */
    size_t val_len;
    bool is_num;
    int64_t num;
    char *sum, *topic;
    int32_t part;
    int64_t off;
    bool has_due;     /* a due item: its aw_due */
    int64_t due_ms;
    char *sk;         /* the sort key bytes (Query items), NUL-terminated */
    size_t sk_len;
} aw_ddb_record;

void aw_ddb_record_clear(aw_ddb_record *r);

/* Live at now_ms: present and not expired (no aw_exp_ms = never expires). */
bool aw_ddb_record_live(const aw_ddb_record *r, int64_t now_ms);

/* Parse the item under field ("Item" for GetItem, "Attributes" for
 * UpdateItem/DeleteItem return values) of a 2xx body. Absent field =
 * present false, AW_OK. Malformed JSON or attribute: AW_INTERNAL. */
aw_status aw_ddb_parse_record(const char *body, size_t len, const char *field,
                              aw_ddb_record *out, aw_error *err);

/* Query page: fn is called for every item (a record with sk set, borrowed
 * for the call; return non-zero to stop: *stopped set); *next receives the
 * LastEvaluatedKey as JSON text (malloc'd) or NULL on the last page. */
aw_status aw_ddb_parse_query(const char *body, size_t len,
                             int (*fn)(void *ud, const aw_ddb_record *r), void *ud,
                             bool *stopped, char **next, aw_error *err);
/* The same, and *scanned (may be NULL) receives the page's ScannedCount
 * (items read before the filter; 0 when absent). */
aw_status aw_ddb_parse_query_scanned(const char *body, size_t len,
                                     int (*fn)(void *ud, const aw_ddb_record *r), void *ud,
                                     bool *stopped, char **next, uint64_t *scanned,
                                     aw_error *err);

/* Table check of create(): DescribeTable's answer names a key schema of pk
 * (HASH, B) and sk (RANGE, B); *active = TableStatus ACTIVE. AW_CONFIG with
 * a message when the schema is another one. */
aw_status aw_ddb_parse_table(const char *body, size_t len, const char *table, bool *active,
                             aw_error *err);

/* DescribeTimeToLive: *enabled when TimeToLiveStatus is ENABLED or ENABLING
 * for attribute. */
aw_status aw_ddb_parse_ttl(const char *body, size_t len, const char *attribute, bool *enabled,
                           aw_error *err);

/* Strict int64 decimal of at most 20 characters ("007", "-0" accepted, as
 * every backend does); 0 or -1. */
int aw_ddb_parse_i64(const char *s, size_t len, int64_t *out);

#endif
