/* Request bodies of the "dynamodb" state backend: pure functions from the
 * operation's inputs (and the caller's clock reading, now_ms) to the JSON
 * body of one DynamoDB API call. No I/O, no clock: unit-tested in
 * tests/unit/test_dynamodb_request.c.
 *
 * Item layout (ONE table, key pk (B, hash) + sk (B, range); see
 * migrations/dynamodb/0001_state_table.json):
 *   plain values  pk = prefix 'v' enc(ns, tenant, kind, "")  sk = '=' id
 *                 aw_val (B) or aw_num (N, a counter), aw_ver (N)
 *   locks         pk = prefix 'l' enc(ns, tenant, kind, id)  sk = "-"
 *                 aw_tok (N)
 *   dedup         pk = prefix 'd' enc(ns, tenant, "dedup", id) sk = "-"
 *                 aw_st (S "L" lease / "D" done), aw_tok (N), aw_sum (B),
 *                 aw_topic (B), aw_part (N), aw_off (N)
 *   every kind    aw_exp_ms (N, exact expiry in ms; absent = never) and
 *                 expires_at (N, epoch seconds: the table's TTL attribute,
 *                 so DynamoDB deletes the item some time after it)
 * Values group by (ns, tenant, kind) so that scan is one Query with
 * begins_with on sk; locks and dedup records get one partition each
 * (DynamoDB's per-partition-key write limit would cap a busy tenant).
 *
 * Expiry is judged by the worker's clock (now_ms) in EVERY condition and on
 * every read: "expired" = aw_exp_ms exists and aw_exp_ms <= now. DynamoDB's
 * own TTL deletion is lazy (hours) and only keeps the table small.
 *
 * Every builder returns a malloc'd NUL-terminated JSON string owned by the
 * caller (free()), or NULL when out of memory. Strings and bytes borrowed. */
#ifndef AW_DDB_REQUEST_H
#define AW_DDB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lock and dedup items stay this long after their expiry before DynamoDB's
 * TTL may delete them: the fencing-token counter lives in the item, and a
 * deleted item restarts its counter from the clock (see AW_DDB_A_TOK). */
#define AW_DDB_TOKEN_GRACE_S 3600

typedef struct aw_ddb_key {
    const void *pk;
    size_t pk_len;
    const void *sk;
    size_t sk_len;
} aw_ddb_key;

/* GetItem with ConsistentRead. */
char *aw_ddb_build_get(const char *table, const aw_ddb_key *k);
/* DeleteItem returning the old item (to tell a live key from an expired). */
char *aw_ddb_build_delete(const char *table, const aw_ddb_key *k);
/* PutItem of a value with version 1 iff the key is absent or expired
 * (check_and_set, CAS from version 0, set/increment on an absent key).
 * counter: store val as the number aw_num instead (val = decimal text). */
char *aw_ddb_build_insert(const char *table, const aw_ddb_key *k, const void *val, size_t len,
                          bool counter, int64_t ttl_ms, int64_t now_ms);
/* UpdateItem of a live value: new bytes, version + 1, expiry replaced
 * (ttl_ms <= 0 removes it). expected_ver > 0 adds "aw_ver = expected"
 * (compare_and_swap). Returns UPDATED_NEW (the new version). */
char *aw_ddb_build_update_value(const char *table, const aw_ddb_key *k, const void *val,
                                size_t len, int64_t ttl_ms, uint64_t expected_ver,
                                int64_t now_ms);
/* UpdateItem ADD aw_num delta, aw_ver 1 on a live counter whose result
 * stays inside int64 (the condition refuses an overflow: nothing written).
 * Returns UPDATED_NEW. */
char *aw_ddb_build_increment(const char *table, const aw_ddb_key *k, int64_t delta,
                             int64_t now_ms);
/* UpdateItem turning a live text value of version ver into the counter
 * value (aw_num), version + 1 (increment of a value written by set). */
char *aw_ddb_build_counter_convert(const char *table, const aw_ddb_key *k, int64_t value,
                                   uint64_t ver, int64_t now_ms);
/* Query of one pk with ConsistentRead; prefix (may be empty) becomes
 * begins_with(sk, prefix). start_key: the previous page's
 * LastEvaluatedKey as JSON text, or NULL. */
char *aw_ddb_build_query(const char *table, const void *pk, size_t pk_len, const void *skp,
                         size_t skp_len, const char *start_key);
/* Take a lock or a dedup lease: ONE conditional UpdateItem, condition
 * "attribute_not_exists(pk) OR aw_exp_ms <= :now", so of any number of
 * concurrent claimers of an absent or expired item exactly one wins; the
 * same request draws the fencing token (aw_tok = if_not_exists(aw_tok,
 * :seed) + 1, seed = now in microseconds). claim: also aw_st = "L" and the
 * done fields removed. ttl_ms <= 0 (locks only): no expiry. */
char *aw_ddb_build_acquire(const char *table, const aw_ddb_key *k, bool claim, int64_t ttl_ms,
                           int64_t now_ms);

/* What a holder does to its live lock/lease (condition: aw_tok = token,
 * live, and for dedup aw_st = "L"). */
typedef enum aw_ddb_hold_op {
    AW_DDB_HOLD_EXTEND,  /* new expiry now + ttl_ms (<= 0: none; locks only) */
    AW_DDB_HOLD_RELEASE, /* expire now (the item and its token stay) */
} aw_ddb_hold_op;
char *aw_ddb_build_hold(const char *table, const aw_ddb_key *k, bool dedup, uint64_t token,
                        aw_ddb_hold_op op, int64_t ttl_ms, int64_t now_ms);

/* complete: the live lease of token becomes a done record (window_ms <= 0:
 * kept forever). */
char *aw_ddb_build_complete(const char *table, const aw_ddb_key *k, uint64_t token,
                            const char *topic, int32_t partition, int64_t offset,
                            const char *summary, int64_t window_ms, int64_t now_ms);

/* The due index (ddb_due.c): items in the bucket partitions of a pool,
 *   pk = prefix 'q' enc(ns, "", kind, "") bucket-digit   sk = member
 *   aw_val (B), aw_due (N), aw_tok (N, the token counter, seeded as in
 *   acquire), aw_exp_ms (N, the lease end; absent or <= now: not leased).
 * No expires_at: DynamoDB's TTL must never delete a waiting item. */
/* put: SET value and due, lease removed, iff no live lease. */
char *aw_ddb_build_due_put(const char *table, const aw_ddb_key *k, int64_t due_ms,
                           const void *val, size_t len, int64_t now_ms);
/* Query of one bucket, filtered to items due at due_now and not leased at
 * now_ms (the filter runs after the read: a bucket is read whole). */
char *aw_ddb_build_due_query(const char *table, const void *pk, size_t pk_len, int64_t due_now,
                             int64_t now_ms, const char *start_key);
/* The same query for due_stats: only aw_due is returned (the read costs
 * the same; the answer is smaller). ScannedCount is the bucket's items,
 * Count (the Items) its waiting ones. */
char *aw_ddb_build_due_stats_query(const char *table, const void *pk, size_t pk_len,
                                   int64_t due_now, int64_t now_ms, const char *start_key);
/* Lease the item iff its due time is still due_ms and it has no live
 * lease: a new token, lease until now + lease_ms. ReturnValues ALL_NEW. */
char *aw_ddb_build_due_lease(const char *table, const aw_ddb_key *k, int64_t due_ms,
                             int64_t lease_ms, int64_t now_ms);
/* done (delete) / release (lease ended now; retry_at_ms > 0 becomes the
 * due time) iff token holds the live lease. */
char *aw_ddb_build_due_done(const char *table, const aw_ddb_key *k, uint64_t token,
                            int64_t now_ms);
char *aw_ddb_build_due_release(const char *table, const aw_ddb_key *k, uint64_t token,
                               int64_t retry_at_ms, int64_t now_ms);
/* extend: the lease ends at now_ms + lease_ms iff token holds the live
 * lease (due time, value and token kept). */
char *aw_ddb_build_due_extend(const char *table, const aw_ddb_key *k, uint64_t token,
                              int64_t lease_ms, int64_t now_ms);

/* Table management (migrate and create). */
char *aw_ddb_build_describe_table(const char *table);
/* CreateTable: definition is the JSON of migrations/dynamodb (without
 * TableName), which this adds. NULL also when definition is not a JSON
 * object. */
char *aw_ddb_build_create_table(const char *table, const char *definition);
char *aw_ddb_build_describe_ttl(const char *table);
char *aw_ddb_build_update_ttl(const char *table, const char *attribute);

/* Base64 (standard alphabet, padded) of n bytes: malloc'd, NULL on OOM. */
char *aw_ddb_base64(const void *p, size_t n);

#endif
