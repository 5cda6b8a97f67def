/* See ddb_request.h. Built with jansson: every string is escaped by the
 * library, nothing is pasted into JSON by hand. */
#include "backends/state/dynamodb/ddb_request.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "backends/state/dynamodb/ddb_attrs.h"

/* Conditions on the item as seen at the caller's clock reading :now.
 * Written for the cost of parsing them, which is most of what dynalite
 * (the test server: a generated PEG parser per request) spends on a call:
 * no parentheses around a whole condition (they made it backtrack: most of
 * a claim's parse time, figures in docs/performance.md), and LIVE as one negated comparison instead of
 * "attribute_not_exists(exp) OR exp > :now" (a comparison with a missing
 * attribute is false, so the two agree on every item, in DynamoDB too).
 * LIVE still needs no parentheses after AND: NOT binds tighter. */
#define LIVE "NOT " AW_DDB_A_EXP " <= :now"
#define ABSENT_OR_EXPIRED "attribute_not_exists(pk) OR " AW_DDB_A_EXP " <= :now"

char *aw_ddb_base64(const void *p, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1);
    if (o)
        EVP_EncodeBlock((unsigned char *)o, p, (int)n);
    return o;
}

static json_t *jb(const void *p, size_t n)
{
    char *b = aw_ddb_base64(p, n);
    json_t *v = b ? json_pack("{s:s}", "B", b) : NULL;
    free(b);
    return v;
}

static json_t *jn_i64(int64_t x)
{
    char s[24];
    snprintf(s, sizeof(s), "%" PRId64, x);
    return json_pack("{s:s}", "N", s);
}

static json_t *jn_u64(uint64_t x)
{
    char s[24];
    snprintf(s, sizeof(s), "%" PRIu64, x);
    return json_pack("{s:s}", "N", s);
}

static json_t *jkey(const aw_ddb_key *k)
{
    return json_pack("{s:o, s:o}", "pk", jb(k->pk, k->pk_len), "sk", jb(k->sk, k->sk_len));
}

/* Steal o's reference into the object (jansson's _new variants steal even
 * on failure, and a NULL value makes them fail): 0 or -1. */
static int put(json_t *obj, const char *name, json_t *o)
{
    return o && json_object_set_new(obj, name, o) == 0 ? 0 : -1;
}

static char *dump(json_t *req, int failed)
{
    char *s = failed ? NULL : json_dumps(req, JSON_COMPACT);
    json_decref(req);
    return s;
}

/* Seconds for the TTL attribute: the first whole second at or after the
 * exact expiry, plus grace. */
static int64_t ttl_seconds(int64_t exp_ms, int64_t grace_s)
{
    return (exp_ms + 999) / 1000 + grace_s;
}

/* The request skeleton: TableName, Key (or nothing), values {":now"}. */
static json_t *skeleton(const char *table, const aw_ddb_key *k, json_t **values, int64_t now_ms,
                        int *failed)
{
    json_t *req = json_object();
    *values = json_object();
    *failed = !req || !*values || put(req, "TableName", json_string(table)) ||
              (k && put(req, "Key", jkey(k))) || put(*values, ":now", jn_i64(now_ms));
    return req;
}

static int finish(json_t *req, json_t *values, const char *update, const char *cond,
                  const char *ret)
{
    return (update && put(req, "UpdateExpression", json_string(update))) ||
           (cond && put(req, "ConditionExpression", json_string(cond))) ||
           put(req, "ExpressionAttributeValues", values) ||
           (ret && put(req, "ReturnValues", json_string(ret)));
}

char *aw_ddb_build_get(const char *table, const aw_ddb_key *k)
{
    json_t *req = json_pack("{s:s, s:o, s:b}", "TableName", table, "Key", jkey(k),
                            "ConsistentRead", 1);
    return dump(req, !req);
}

char *aw_ddb_build_delete(const char *table, const aw_ddb_key *k)
{
    json_t *req = json_pack("{s:s, s:o, s:s}", "TableName", table, "Key", jkey(k),
                            "ReturnValues", "ALL_OLD");
    return dump(req, !req);
}

/* Expiry attributes of a put: none for ttl_ms <= 0. */
static int item_expiry(json_t *item, int64_t ttl_ms, int64_t now_ms, int64_t grace_s)
{
    if (ttl_ms <= 0)
        return 0;
    return put(item, AW_DDB_A_EXP, jn_i64(now_ms + ttl_ms)) ||
           put(item, AW_DDB_A_TTL, jn_i64(ttl_seconds(now_ms + ttl_ms, grace_s)));
}

char *aw_ddb_build_insert(const char *table, const aw_ddb_key *k, const void *val, size_t len,
                          bool counter, int64_t ttl_ms, int64_t now_ms)
{
    json_t *values, *item = json_object();
    int failed;
    json_t *req = skeleton(table, NULL, &values, now_ms, &failed);
    if (counter) {
        char num[32];
        snprintf(num, sizeof(num), "%.*s", (int)(len < 31 ? len : 31), (const char *)val);
        failed = failed || put(item, AW_DDB_A_NUM, json_pack("{s:s}", "N", num));
    } else {
        failed = failed || put(item, AW_DDB_A_VAL, jb(val, len));
    }
    failed = failed || put(item, "pk", jb(k->pk, k->pk_len)) ||
             put(item, "sk", jb(k->sk, k->sk_len)) || put(item, AW_DDB_A_VER, jn_i64(1)) ||
             item_expiry(item, ttl_ms, now_ms, 0) || put(req, "Item", json_incref(item)) ||
             finish(req, json_incref(values), NULL, ABSENT_OR_EXPIRED, NULL);
    json_decref(item);
    json_decref(values);
    return dump(req, failed);
}

/* "SET <set>, expiry REMOVE <remove>, expiry" for a new TTL. */
static int expiry_update(char *out, size_t outsz, const char *set, const char *remove,
                         json_t *values, int64_t ttl_ms, int64_t now_ms, int64_t grace_s)
{
    int n;
    if (ttl_ms > 0) {
        if (put(values, ":exp", jn_i64(now_ms + ttl_ms)) ||
            put(values, ":ttl", jn_i64(ttl_seconds(now_ms + ttl_ms, grace_s))))
            return -1;
        n = snprintf(out, outsz, "SET %s%s" AW_DDB_A_EXP " = :exp, " AW_DDB_A_TTL " = :ttl%s%s",
                     set, *set ? ", " : "", *remove ? " REMOVE " : "", remove);
    } else {
        n = snprintf(out, outsz, "%s%s REMOVE %s%s" AW_DDB_A_EXP ", " AW_DDB_A_TTL,
                     *set ? "SET " : "", set, remove, *remove ? ", " : "");
    }
    return n > 0 && (size_t)n < outsz ? 0 : -1;
}

char *aw_ddb_build_update_value(const char *table, const aw_ddb_key *k, const void *val,
                                size_t len, int64_t ttl_ms, uint64_t expected_ver,
                                int64_t now_ms)
{
    json_t *values;
    int failed;
    char update[256];
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    failed = failed || put(values, ":v", jb(val, len)) || put(values, ":one", jn_i64(1)) ||
             (expected_ver && put(values, ":ver", jn_u64(expected_ver))) ||
             expiry_update(update, sizeof(update),
                           AW_DDB_A_VAL " = :v, " AW_DDB_A_VER " = " AW_DDB_A_VER " + :one",
                           AW_DDB_A_NUM, values, ttl_ms, now_ms, 0);
    const char *cond = expected_ver ? "attribute_exists(pk) AND " AW_DDB_A_VER " = :ver AND " LIVE
                                    : "attribute_exists(pk) AND " LIVE;
    failed = failed || finish(req, json_incref(values), update, cond, "UPDATED_NEW");
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_increment(const char *table, const aw_ddb_key *k, int64_t delta,
                             int64_t now_ms)
{
    json_t *values;
    int failed;
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    /* The result stays inside int64 iff num <= MAX - delta (delta >= 0) or
     * num >= MIN - delta (delta < 0); both bounds are themselves int64. */
    int64_t lim = delta >= 0 ? INT64_MAX - delta : INT64_MIN - delta;
    const char *cond = delta >= 0 ? "attribute_exists(" AW_DDB_A_NUM ") AND " AW_DDB_A_NUM
                                    " <= :lim AND " LIVE
                                  : "attribute_exists(" AW_DDB_A_NUM ") AND " AW_DDB_A_NUM
                                    " >= :lim AND " LIVE;
    failed = failed || put(values, ":d", jn_i64(delta)) || put(values, ":one", jn_i64(1)) ||
             put(values, ":lim", jn_i64(lim)) ||
             finish(req, json_incref(values),
                    "ADD " AW_DDB_A_NUM " :d, " AW_DDB_A_VER " :one", cond, "UPDATED_NEW");
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_counter_convert(const char *table, const aw_ddb_key *k, int64_t value,
                                   uint64_t ver, int64_t now_ms)
{
    json_t *values;
    int failed;
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    failed = failed || put(values, ":n", jn_i64(value)) || put(values, ":ver", jn_u64(ver)) ||
             put(values, ":one", jn_i64(1)) ||
             finish(req, json_incref(values),
                    "SET " AW_DDB_A_NUM " = :n, " AW_DDB_A_VER " = " AW_DDB_A_VER
                    " + :one REMOVE " AW_DDB_A_VAL,
                    "attribute_exists(pk) AND " AW_DDB_A_VER " = :ver AND " LIVE,
                    "UPDATED_NEW");
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_query(const char *table, const void *pk, size_t pk_len, const void *skp,
                         size_t skp_len, const char *start_key)
{
    json_t *values = json_object();
    json_t *req = json_pack("{s:s, s:b}", "TableName", table, "ConsistentRead", 1);
    int failed = !req || !values || put(values, ":p", jb(pk, pk_len));
    if (skp_len)
        failed = failed || put(values, ":s", jb(skp, skp_len));
    failed = failed || put(req, "KeyConditionExpression",
                           json_string(skp_len ? "pk = :p AND begins_with(sk, :s)" : "pk = :p")) ||
             put(req, "ExpressionAttributeValues", json_incref(values));
    if (start_key && !failed)
        failed = put(req, "ExclusiveStartKey", json_loads(start_key, 0, NULL));
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_acquire(const char *table, const aw_ddb_key *k, bool claim, int64_t ttl_ms,
                           int64_t now_ms)
{
    json_t *values;
    int failed;
    char update[384];
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    /* Seed of a fresh counter: microseconds since the epoch, so a counter
     * recreated after DynamoDB deleted the item (at least
     * AW_DDB_TOKEN_GRACE_S after its expiry) starts above every token the
     * old one handed out (fewer than one token per microsecond). */
    failed = failed || put(values, ":seed", jn_i64(now_ms * 1000)) ||
             put(values, ":one", jn_i64(1)) || (claim && put(values, ":L", json_pack("{s:s}", "S", "L")));
    failed = failed ||
             expiry_update(update, sizeof(update),
                           claim ? AW_DDB_A_TOK " = if_not_exists(" AW_DDB_A_TOK ", :seed) + :one, "
                                   AW_DDB_A_ST " = :L"
                                 : AW_DDB_A_TOK " = if_not_exists(" AW_DDB_A_TOK ", :seed) + :one",
                           claim ? AW_DDB_A_SUM ", " AW_DDB_A_TOPIC ", " AW_DDB_A_PART ", " AW_DDB_A_OFF
                                 : "",
                           values, ttl_ms, now_ms, AW_DDB_TOKEN_GRACE_S) ||
             finish(req, json_incref(values), update, ABSENT_OR_EXPIRED, "UPDATED_NEW");
    json_decref(values);
    return dump(req, failed);
}

#define HOLDER(dedup)                                                                          \
    ((dedup) ? AW_DDB_A_ST " = :L AND " AW_DDB_A_TOK " = :t AND " AW_DDB_A_EXP " > :now"         \
             : AW_DDB_A_TOK " = :t AND " LIVE)

char *aw_ddb_build_hold(const char *table, const aw_ddb_key *k, bool dedup, uint64_t token,
                        aw_ddb_hold_op op, int64_t ttl_ms, int64_t now_ms)
{
    json_t *values;
    int failed;
    char update[256];
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    failed = failed || put(values, ":t", jn_u64(token)) ||
             (dedup && put(values, ":L", json_pack("{s:s}", "S", "L")));
    if (op == AW_DDB_HOLD_RELEASE) {
        /* Expired now, token kept: the next holder's token is above it. */
        failed = failed || put(values, ":ttl", jn_i64(ttl_seconds(now_ms, AW_DDB_TOKEN_GRACE_S)));
        snprintf(update, sizeof(update),
                 "SET " AW_DDB_A_EXP " = :now, " AW_DDB_A_TTL " = :ttl");
    } else {
        failed = failed || expiry_update(update, sizeof(update), "", "", values, ttl_ms, now_ms,
                                         AW_DDB_TOKEN_GRACE_S);
    }
    failed = failed || finish(req, json_incref(values), update, HOLDER(dedup), NULL);
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_complete(const char *table, const aw_ddb_key *k, uint64_t token,
                            const char *topic, int32_t partition, int64_t offset,
                            const char *summary, int64_t window_ms, int64_t now_ms)
{
    json_t *values;
    int failed;
    char update[384];
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    topic = topic ? topic : "";
    summary = summary ? summary : "";
    failed = failed || put(values, ":t", jn_u64(token)) ||
             put(values, ":L", json_pack("{s:s}", "S", "L")) ||
             put(values, ":D", json_pack("{s:s}", "S", "D")) ||
             put(values, ":sum", jb(summary, strlen(summary))) ||
             put(values, ":topic", jb(topic, strlen(topic))) ||
             put(values, ":part", jn_i64(partition)) || put(values, ":off", jn_i64(offset)) ||
             expiry_update(update, sizeof(update),
                           AW_DDB_A_ST " = :D, " AW_DDB_A_SUM " = :sum, " AW_DDB_A_TOPIC
                                       " = :topic, " AW_DDB_A_PART " = :part, " AW_DDB_A_OFF
                                       " = :off",
                           "", values, window_ms, now_ms, AW_DDB_TOKEN_GRACE_S) ||
             finish(req, json_incref(values), update, HOLDER(true), NULL);
    json_decref(values);
    return dump(req, failed);
}

/* ---- the due index ---------------------------------------------------------- */

/* NOT lease > :now: also true when the item has no lease (a comparison with
 * a missing attribute is false) and when it is absent. */
#define DUE_FREE "NOT " AW_DDB_A_EXP " > :now"
#define DUE_HELD AW_DDB_A_TOK " = :t AND " AW_DDB_A_EXP " > :now"

char *aw_ddb_build_due_put(const char *table, const aw_ddb_key *k, int64_t due_ms,
                           const void *val, size_t len, int64_t now_ms)
{
    json_t *values;
    int failed;
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    failed = failed || put(values, ":v", jb(val, len)) || put(values, ":d", jn_i64(due_ms)) ||
             finish(req, json_incref(values),
                    "SET " AW_DDB_A_VAL " = :v, " AW_DDB_A_DUE " = :d REMOVE " AW_DDB_A_EXP,
                    DUE_FREE, NULL);
    json_decref(values);
    return dump(req, failed);
}

/* The due query of a take, or of stats (due_only: only aw_due comes
 * back). */
static char *due_query(const char *table, const void *pk, size_t pk_len, int64_t due_now,
                       int64_t now_ms, const char *start_key, bool due_only)
{
    json_t *values = json_object();
    json_t *req = json_pack("{s:s, s:b}", "TableName", table, "ConsistentRead", 1);
    int failed = !req || !values || put(values, ":p", jb(pk, pk_len)) ||
                 (due_only && put(req, "ProjectionExpression", json_string(AW_DDB_A_DUE))) ||
                 put(values, ":due", jn_i64(due_now)) || put(values, ":now", jn_i64(now_ms)) ||
                 put(req, "KeyConditionExpression", json_string("pk = :p")) ||
                 put(req, "FilterExpression",
                     json_string(AW_DDB_A_DUE " <= :due AND " DUE_FREE)) ||
                 put(req, "ExpressionAttributeValues", json_incref(values));
    if (start_key && !failed)
        failed = put(req, "ExclusiveStartKey", json_loads(start_key, 0, NULL));
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_due_query(const char *table, const void *pk, size_t pk_len, int64_t due_now,
                             int64_t now_ms, const char *start_key)
{
    return due_query(table, pk, pk_len, due_now, now_ms, start_key, false);
}

char *aw_ddb_build_due_stats_query(const char *table, const void *pk, size_t pk_len,
                                   int64_t due_now, int64_t now_ms, const char *start_key)
{
    return due_query(table, pk, pk_len, due_now, now_ms, start_key, true);
}

char *aw_ddb_build_due_lease(const char *table, const aw_ddb_key *k, int64_t due_ms,
                             int64_t lease_ms, int64_t now_ms)
{
    json_t *values;
    int failed;
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    /* The seed as in aw_ddb_build_acquire: a counter recreated after done
     * deleted the item starts above every token the old one handed out. */
    failed = failed || put(values, ":seed", jn_i64(now_ms * 1000)) ||
             put(values, ":one", jn_i64(1)) || put(values, ":d", jn_i64(due_ms)) ||
             put(values, ":exp", jn_i64(now_ms + lease_ms)) ||
             finish(req, json_incref(values),
                    "SET " AW_DDB_A_TOK " = if_not_exists(" AW_DDB_A_TOK ", :seed) + :one, "
                    AW_DDB_A_EXP " = :exp",
                    AW_DDB_A_DUE " = :d AND " DUE_FREE, "ALL_NEW");
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_due_done(const char *table, const aw_ddb_key *k, uint64_t token,
                            int64_t now_ms)
{
    json_t *values;
    int failed;
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    failed = failed || put(values, ":t", jn_u64(token)) ||
             finish(req, json_incref(values), NULL, DUE_HELD, NULL);
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_due_release(const char *table, const aw_ddb_key *k, uint64_t token,
                               int64_t retry_at_ms, int64_t now_ms)
{
    json_t *values;
    int failed;
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    bool move = retry_at_ms > 0;
    failed = failed || put(values, ":t", jn_u64(token)) ||
             (move && put(values, ":d", jn_i64(retry_at_ms))) ||
             finish(req, json_incref(values),
                    move ? "SET " AW_DDB_A_EXP " = :now, " AW_DDB_A_DUE " = :d"
                         : "SET " AW_DDB_A_EXP " = :now",
                    DUE_HELD, NULL);
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_due_extend(const char *table, const aw_ddb_key *k, uint64_t token,
                              int64_t lease_ms, int64_t now_ms)
{
    json_t *values;
    int failed;
    json_t *req = skeleton(table, k, &values, now_ms, &failed);
    failed = failed || put(values, ":t", jn_u64(token)) ||
             put(values, ":exp", jn_i64(now_ms + lease_ms)) ||
             finish(req, json_incref(values), "SET " AW_DDB_A_EXP " = :exp", DUE_HELD, NULL);
    json_decref(values);
    return dump(req, failed);
}

char *aw_ddb_build_describe_table(const char *table)
{
    json_t *req = json_pack("{s:s}", "TableName", table);
    return dump(req, !req);
}

char *aw_ddb_build_create_table(const char *table, const char *definition)
{
    json_t *req = json_loads(definition, 0, NULL);
    int failed = !json_is_object(req) || put(req, "TableName", json_string(table));
    if (!req)
        return NULL;
    return dump(req, failed);
}

char *aw_ddb_build_describe_ttl(const char *table) { return aw_ddb_build_describe_table(table); }

char *aw_ddb_build_update_ttl(const char *table, const char *attribute)
{
    json_t *req = json_pack("{s:s, s:{s:b, s:s}}", "TableName", table, "TimeToLiveSpecification",
                            "Enabled", 1, "AttributeName", attribute);
    return dump(req, !req);
}
