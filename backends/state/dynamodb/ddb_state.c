/* The "dynamodb" state backend: driver table, values, scans and locks.
 * See ddb_state.h for what it guarantees; ddb_dedup.c has claim/complete,
 * aw_ddb_migrate.c the table. */
#include "backends/state/dynamodb/ddb_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/http/http.h"
#include "backends/state/dynamodb/ddb_internal.h"
#include "common/aw_clock.h"
#include "common/aw_key.h"
#include "common/aw_log.h"
#include "common/aw_session.h"

aw_status aw_ddb_nomem(aw_error *err) { return aw_error_set(err, AW_NOMEM, "out of memory"); }

int aw_ddb_item_pk(const ddb_backend *b, aw_buf *buf, const aw_state_key *k, char space)
{
    const char *kind = space == DDB_SPACE_DEDUP ? DDB_DEDUP_KIND : k ? k->kind : NULL;
    if (!k || !k->ns || !k->tenant || !kind)
        return -2;
    char sp = space;
    if (aw_buf_append(buf, b->prefix, b->prefix_len) || aw_buf_append(buf, &sp, 1) ||
        aw_key_encode(buf, k->ns, k->tenant, kind, space == DDB_SPACE_VALUE ? "" : k->id))
        return -1;
    return 0;
}

aw_status aw_ddb_key_encode(ddb_session *s, const aw_state_key *k, char space, aw_ddb_key *out,
                  aw_error *err)
{
    aw_buf_reset(&s->pk);
    aw_buf_reset(&s->sk);
    int rc = aw_ddb_item_pk(s->b, &s->pk, k, space);
    if (rc == -2)
        return aw_error_set(err, AW_PERMANENT,
                            "state key: namespace, tenant and kind are required");
    if (rc == 0)
        rc = space == DDB_SPACE_VALUE
                 ? (aw_buf_puts(&s->sk, "=") || aw_buf_puts(&s->sk, k->id ? k->id : ""))
                 : aw_buf_puts(&s->sk, DDB_ITEM_SK);
    if (rc)
        return aw_ddb_nomem(err);
    *out = (aw_ddb_key){s->pk.data, s->pk.len, s->sk.data, s->sk.len};
    return AW_OK;
}

/* ---- create / destroy / sessions ------------------------------------------ */

static const char *env_lookup(const char *name) { return getenv(name); }

static void ddb_destroy(void *backend)
{
    ddb_backend *b = backend;
    if (!b)
        return;
    aw_ddb_url_clear(&b->url);
    free(b->prefix);
    free(b);
}

static aw_status ddb_create(const aw_state_options *opts, void **out, aw_error *err)
{
    *out = NULL;
    aw_http_global_init();
    ddb_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return aw_ddb_nomem(err);
    aw_status rc = aw_ddb_url_parse(opts ? opts->url : NULL, env_lookup, &b->url, err);
    if (rc != AW_OK)
        goto fail;
    const char *prefix = opts && opts->key_prefix ? opts->key_prefix : "";
    b->prefix = strdup(prefix);
    b->prefix_len = strlen(prefix);
    b->connect_timeout_ms = opts ? opts->connect_timeout_ms : 0;
    b->command_timeout_ms = opts ? opts->command_timeout_ms : 0;
    if (!b->prefix) {
        rc = aw_ddb_nomem(err);
        goto fail;
    }
    /* The table must exist (migrate makes it): checked once, so a missing
     * table fails the start naming the command. An unreachable endpoint
     * does not: sessions retry. */
    aw_ddb_conn probe;
    rc = aw_ddb_conn_init(&probe, &b->url, b->connect_timeout_ms, b->command_timeout_ms, err);
    if (rc == AW_OK)
        rc = aw_ddb_table_check(&probe, b->url.table, err);
    aw_ddb_conn_clear(&probe);
    if (rc == AW_TRANSIENT) {
        AW_WARN("state.dynamodb", "%s (continuing: requests will retry)", err ? err->msg : "");
        rc = AW_OK;
    }
    if (rc != AW_OK)
        goto fail;
    *out = b;
    return AW_OK;
fail:
    ddb_destroy(b);
    return rc;
}

static void ddb_session_close(void *session)
{
    ddb_session *s = session;
    if (!s)
        return;
    aw_ddb_conn_clear(&s->conn);
    aw_buf_free(&s->pk);
    aw_buf_free(&s->sk);
    aw_ddb_call_clear(&s->call);
    for (size_t i = 0; i < s->cap; i++) {
        aw_ddb_call_clear(&s->calls[i]);
        aw_buf_free(&s->keys[i]);
    }
    free(s->calls);
    free(s->keys);
    free(s);
}

static aw_status ddb_session_connect(void *session, aw_error *err)
{
    ddb_session *s = session;
    return aw_ddb_conn_init(&s->conn, &s->b->url, s->b->connect_timeout_ms,
                            s->b->command_timeout_ms, err);
}

static aw_status ddb_session_open(void *backend, void **session, aw_error *err)
{
    return aw_session_open(backend, sizeof(ddb_session), ddb_session_connect,
                           ddb_session_close, session, err);
}

const aw_ddb_conn *aw_state_dynamodb_session_conn(void *session)
{
    return &((ddb_session *)session)->conn;
}

/* ---- values ------------------------------------------------------------------ */

/* Read the item of key (ConsistentRead) into r. */
static aw_status read_item(ddb_session *s, const aw_ddb_key *key, aw_ddb_record *r,
                           aw_error *err)
{
    memset(r, 0, sizeof(*r));
    aw_status rc = aw_ddb_do(&s->conn, &s->call, "GetItem",
                             aw_ddb_build_get(s->b->url.table, key), err);
    if (rc != AW_OK)
        return rc;
    return aw_ddb_parse_record(s->call.resp.data, s->call.resp.len, "Item", r, err);
}

/* Version from an UpdateItem's UPDATED_NEW answer. */
static aw_status updated_version(ddb_session *s, uint64_t *ver, aw_error *err)
{
    aw_ddb_record r;
    aw_status rc = aw_ddb_parse_record(s->call.resp.data, s->call.resp.len, "Attributes", &r, err);
    if (rc == AW_OK && ver)
        *ver = r.ver;
    aw_ddb_record_clear(&r);
    return rc;
}

/* PutItem of a new value item (its condition: absent or expired), version
 * 1; AW_CONFLICT when a live item is there. */
static aw_status put_new(ddb_session *s, const aw_ddb_key *key, const void *val, size_t len,
                         bool is_num, int64_t ttl_ms, int64_t now, aw_error *err)
{
    return aw_ddb_do(&s->conn, &s->call, "PutItem",
                     aw_ddb_build_insert(s->b->url.table, key, val, len, is_num, ttl_ms, now),
                     err);
}

static aw_status ddb_check_and_set(void *ss, const aw_state_key *k, const void *val, size_t len,
                                   int64_t ttl_ms, bool *written, aw_error *err)
{
    ddb_session *s = ss;
    aw_ddb_key key;
    *written = false;
    aw_status rc = aw_ddb_key_encode(s, k, DDB_SPACE_VALUE, &key, err);
    if (rc != AW_OK)
        return rc;
    rc = put_new(s, &key, val, len, false, ttl_ms, aw_time_now_ms(), err);
    if (rc == AW_CONFLICT) {
        aw_error_clear(err);
        return AW_OK;
    }
    *written = rc == AW_OK;
    return rc;
}

static aw_status ddb_get(void *ss, const aw_state_key *k, aw_state_value *out, aw_error *err)
{
    ddb_session *s = ss;
    aw_ddb_key key;
    aw_ddb_record r;
    memset(out, 0, sizeof(*out));
    aw_status rc = aw_ddb_key_encode(s, k, DDB_SPACE_VALUE, &key, err);
    if (rc == AW_OK)
        rc = read_item(s, &key, &r, err);
    if (rc != AW_OK)
        return rc;
    if (!aw_ddb_record_live(&r, aw_time_now_ms())) {
        aw_ddb_record_clear(&r);
        return aw_error_set(err, AW_NOT_FOUND, "not found");
    }
    out->data = r.val ? r.val : strdup("");
    out->len = r.val ? r.val_len : 0;
    out->version = r.ver;
    r.val = NULL;
    aw_ddb_record_clear(&r);
    return out->data ? AW_OK : aw_ddb_nomem(err);
}

/* UpdateItem of the value item (conditional: AW_CONFLICT when its condition
 * fails). */
static aw_status update_item(ddb_session *s, char *body, aw_error *err)
{
    return aw_ddb_do(&s->conn, &s->call, "UpdateItem", body, err);
}

/* What set, increment and compare_and_swap write, and where their answer
 * goes (the fields one of them does not use stay zero). */
typedef struct value_op {
    const void *val;
    size_t len;
    int64_t ttl_ms;
    int64_t delta;
    uint64_t expected;
    uint64_t *version;
    int64_t *value;
} value_op;

/* One round of a value write at the clock reading now. It sets *again
 * when it lost a race to another writer (its conditional request failed):
 * the driver then runs it again with a fresh clock. */
typedef aw_status (*value_round_fn)(ddb_session *s, const aw_ddb_key *key, int64_t now,
                                    value_op *op, bool *again, aw_error *err);

/* The value writes that race other writers: encode the key, then rounds of
 * conditional requests, each on a fresh clock, until one is not lost, at
 * most DDB_MAX_ROUNDS (then AW_TRANSIENT, contention the message). */
static aw_status value_rounds(void *ss, const aw_state_key *k, value_round_fn round,
                              value_op *op, const char *contention, aw_error *err)
{
    ddb_session *s = ss;
    aw_ddb_key key;
    aw_status rc = aw_ddb_key_encode(s, k, DDB_SPACE_VALUE, &key, err);
    if (rc != AW_OK)
        return rc;
    for (int i = 0; i < DDB_MAX_ROUNDS; i++) {
        bool again = false;
        rc = round(s, &key, aw_time_now_ms(), op, &again, err);
        if (!again)
            return rc;
    }
    return aw_error_set(err, AW_TRANSIENT, "%s", contention);
}

/* A live item: bump its version in the write itself. Absent or expired:
 * insert version 1. Each step is conditional, so a concurrent writer
 * makes it fail and the next round tries the other one. */
static aw_status set_round(ddb_session *s, const aw_ddb_key *key, int64_t now, value_op *op,
                           bool *again, aw_error *err)
{
    aw_status rc = update_item(
        s, aw_ddb_build_update_value(s->b->url.table, key, op->val, op->len, op->ttl_ms, 0, now),
        err);
    if (rc == AW_OK)
        return updated_version(s, op->version, err);
    if (rc != AW_CONFLICT)
        return rc;
    rc = put_new(s, key, op->val, op->len, false, op->ttl_ms, now, err);
    if (rc == AW_OK && op->version)
        *op->version = 1;
    *again = rc == AW_CONFLICT;
    return rc;
}

static aw_status ddb_set(void *ss, const aw_state_key *k, const void *val, size_t len,
                         int64_t ttl_ms, uint64_t *version, aw_error *err)
{
    value_op op = {.val = val, .len = len, .ttl_ms = ttl_ms, .version = version};
    return value_rounds(ss, k, set_round, &op, "dynamodb set: too much contention on one key",
                        err);
}

static aw_status ddb_del(void *ss, const aw_state_key *k, bool *existed, aw_error *err)
{
    ddb_session *s = ss;
    aw_ddb_key key;
    aw_ddb_record r;
    *existed = false;
    aw_status rc = aw_ddb_key_encode(s, k, DDB_SPACE_VALUE, &key, err);
    if (rc == AW_OK)
        rc = aw_ddb_do(&s->conn, &s->call, "DeleteItem",
                       aw_ddb_build_delete(s->b->url.table, &key), err);
    if (rc == AW_OK)
        rc = aw_ddb_parse_record(s->call.resp.data, s->call.resp.len, "Attributes", &r, err);
    if (rc != AW_OK)
        return rc;
    *existed = aw_ddb_record_live(&r, aw_time_now_ms());
    aw_ddb_record_clear(&r);
    return AW_OK;
}

static aw_status increment_round(ddb_session *s, const aw_ddb_key *key, int64_t now,
                                 value_op *op, bool *again, aw_error *err)
{
    int64_t delta = op->delta;
    aw_ddb_record r;
    /* The common case, one request: a live counter. */
    aw_status rc =
        update_item(s, aw_ddb_build_increment(s->b->url.table, key, delta, now), err);
    if (rc == AW_OK) {
        rc = aw_ddb_parse_record(s->call.resp.data, s->call.resp.len, "Attributes", &r, err);
        if (rc == AW_OK && !r.is_num)
            rc = aw_error_set(err, AW_INTERNAL, "dynamodb increment: no number returned");
        if (rc == AW_OK)
            *op->value = r.num;
        aw_ddb_record_clear(&r);
        return rc;
    }
    if (rc != AW_CONFLICT)
        return rc;
    /* Why not: absent/expired, a text value, or an overflow. */
    if ((rc = read_item(s, key, &r, err)) != AW_OK)
        return rc;
    now = aw_time_now_ms();
    if (!aw_ddb_record_live(&r, now)) {
        char num[24];
        snprintf(num, sizeof(num), "%" PRId64, delta);
        aw_ddb_record_clear(&r);
        rc = put_new(s, key, num, strlen(num), true, op->ttl_ms, now, err);
        if (rc == AW_OK)
            *op->value = delta;
        *again = rc == AW_CONFLICT;
        return rc;
    }
    int64_t cur = 0;
    bool number = r.is_num ? (cur = r.num, true)
                           : aw_ddb_parse_i64(r.val ? r.val : "", r.val_len, &cur) == 0;
    uint64_t ver = r.ver;
    bool was_num = r.is_num;
    aw_ddb_record_clear(&r);
    if (!number)
        return aw_error_set(err, AW_PERMANENT,
                            "increment: the stored value is not a decimal integer");
    if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta))
        return aw_error_set(err, AW_PERMANENT, "increment: int64 overflow");
    if (was_num) {
        *again = true; /* raced with another writer: try the ADD again */
        return AW_CONFLICT;
    }
    rc = update_item(
        s, aw_ddb_build_counter_convert(s->b->url.table, key, cur + delta, ver, now), err);
    if (rc == AW_OK)
        *op->value = cur + delta;
    *again = rc == AW_CONFLICT;
    return rc;
}

static aw_status ddb_increment(void *ss, const aw_state_key *k, int64_t delta, int64_t ttl_ms,
                               int64_t *value, aw_error *err)
{
    value_op op = {.ttl_ms = ttl_ms, .delta = delta, .value = value};
    return value_rounds(ss, k, increment_round, &op,
                        "dynamodb increment: too much contention on one key", err);
}

static aw_status cas_round(ddb_session *s, const aw_ddb_key *key, int64_t now, value_op *op,
                           bool *again, aw_error *err)
{
    uint64_t expected = op->expected;
    aw_status rc;
    if (expected == 0)
        rc = put_new(s, key, op->val, op->len, false, op->ttl_ms, now, err);
    else
        rc = update_item(s,
                         aw_ddb_build_update_value(s->b->url.table, key, op->val, op->len,
                                                   op->ttl_ms, expected, now),
                         err);
    if (rc == AW_OK) {
        if (expected == 0) {
            if (op->version)
                *op->version = 1;
            return AW_OK;
        }
        return updated_version(s, op->version, err);
    }
    if (rc != AW_CONFLICT)
        return rc;
    /* Lost: report the version now (0 = absent or expired). Should it
     * equal expected again (the item expired and was rewritten up to
     * that version meanwhile), try once more. */
    aw_ddb_record r;
    if ((rc = read_item(s, key, &r, err)) != AW_OK)
        return rc;
    uint64_t cur = aw_ddb_record_live(&r, aw_time_now_ms()) ? r.ver : 0;
    aw_ddb_record_clear(&r);
    if (cur != expected) {
        if (op->version)
            *op->version = cur;
        return aw_error_set(err, AW_CONFLICT, "version mismatch (current %" PRIu64 ")", cur);
    }
    *again = true;
    return AW_CONFLICT;
}

static aw_status ddb_cas(void *ss, const aw_state_key *k, uint64_t expected, const void *val,
                         size_t len, int64_t ttl_ms, uint64_t *current, aw_error *err)
{
    value_op op = {
        .val = val, .len = len, .ttl_ms = ttl_ms, .expected = expected, .version = current};
    return value_rounds(ss, k, cas_round, &op,
                        "dynamodb compare_and_swap: too much contention", err);
}

/* ---- scan -------------------------------------------------------------------- */

typedef struct scan_ctx {
    aw_state_scan_fn fn;
    void *ud;
    int64_t now;
} scan_ctx;

static int scan_item(void *ud, const aw_ddb_record *r)
{
    scan_ctx *c = ud;
    if (!aw_ddb_record_live(r, c->now) || !r->sk || r->sk_len < 1 || r->sk[0] != '=')
        return 0;
    return c->fn(c->ud, r->sk + 1, r->val ? r->val : "", r->val ? r->val_len : 0);
}

static aw_status ddb_scan(void *ss, const char *ns, const char *tenant, const char *kind,
                          const char *prefix, aw_state_scan_fn fn, void *ud, aw_error *err)
{
    ddb_session *s = ss;
    aw_state_key k = {.ns = ns, .tenant = tenant, .kind = kind, .id = prefix ? prefix : ""};
    aw_ddb_key key;
    aw_status rc = aw_ddb_key_encode(s, &k, DDB_SPACE_VALUE, &key, err);
    if (rc != AW_OK)
        return rc;
    char *next = NULL;
    scan_ctx ctx = {.fn = fn, .ud = ud, .now = aw_time_now_ms()};
    /* A key prefix of "=" alone matches every id: no begins_with then
     * (DynamoDB refuses nothing here, but one condition less is cheaper). */
    do {
        char *start = next;
        bool stopped = false;
        rc = aw_ddb_do(&s->conn, &s->call, "Query",
                       aw_ddb_build_query(s->b->url.table, key.pk, key.pk_len, key.sk, key.sk_len,
                                          start),
                       err);
        free(start);
        next = NULL;
        if (rc == AW_OK)
            rc = aw_ddb_parse_query(s->call.resp.data, s->call.resp.len, scan_item, &ctx,
                                    &stopped, &next, err);
    } while (rc == AW_OK && next);
    free(next);
    return rc;
}

/* ---- locks -------------------------------------------------------------------- */

static aw_status ddb_lock_acquire(void *ss, const aw_state_key *k, int64_t ttl_ms,
                                  uint64_t *token, aw_error *err)
{
    ddb_session *s = ss;
    aw_ddb_key key;
    aw_ddb_record r;
    aw_status rc = aw_ddb_key_encode(s, k, DDB_SPACE_LOCK, &key, err);
    if (rc == AW_OK)
        rc = aw_ddb_do(&s->conn, &s->call, "UpdateItem",
                       aw_ddb_build_acquire(s->b->url.table, &key, false, ttl_ms,
                                            aw_time_now_ms()),
                       err);
    if (rc == AW_CONFLICT)
        return aw_error_set(err, AW_CONFLICT, "lock held by another holder");
    if (rc == AW_OK)
        rc = aw_ddb_parse_record(s->call.resp.data, s->call.resp.len, "Attributes", &r, err);
    if (rc != AW_OK)
        return rc;
    *token = r.tok;
    aw_ddb_record_clear(&r);
    return *token ? AW_OK : aw_error_set(err, AW_INTERNAL, "dynamodb: no token returned");
}

aw_status aw_ddb_hold(ddb_session *s, const aw_state_key *k, bool dedup, uint64_t token,
                   aw_ddb_hold_op op, int64_t ttl_ms, aw_error *err)
{
    aw_ddb_key key;
    aw_status rc = aw_ddb_key_encode(s, k, dedup ? DDB_SPACE_DEDUP : DDB_SPACE_LOCK, &key, err);
    if (rc == AW_OK)
        rc = aw_ddb_do(&s->conn, &s->call, "UpdateItem",
                       aw_ddb_build_hold(s->b->url.table, &key, dedup, token, op, ttl_ms,
                                         aw_time_now_ms()),
                       err);
    if (rc == AW_CONFLICT)
        return aw_error_set(err, AW_CONFLICT, "not held with this token");
    return rc;
}

static aw_status ddb_lock_extend(void *ss, const aw_state_key *k, uint64_t token,
                                 int64_t ttl_ms, aw_error *err)
{
    return aw_ddb_hold(ss, k, false, token, AW_DDB_HOLD_EXTEND, ttl_ms, err);
}

static aw_status ddb_lock_release(void *ss, const aw_state_key *k, uint64_t token,
                                  aw_error *err)
{
    return aw_ddb_hold(ss, k, false, token, AW_DDB_HOLD_RELEASE, 0, err);
}

const aw_state_driver aw_state_dynamodb_driver = {
    .name = "dynamodb",
    .caps = AW_STATE_CAP_ATOMIC,
    .create = ddb_create,
    .destroy = ddb_destroy,
    .session_open = ddb_session_open,
    .session_close = ddb_session_close,
    .check_and_set = ddb_check_and_set,
    .get = ddb_get,
    .set = ddb_set,
    .del = ddb_del,
    .increment = ddb_increment,
    .compare_and_swap = ddb_cas,
    .scan = ddb_scan,
    .lock_acquire = ddb_lock_acquire,
    .lock_extend = ddb_lock_extend,
    .lock_release = ddb_lock_release,
    .claim_batch = aw_ddb_claim_batch,
    .complete_batch = aw_ddb_complete_batch,
    .lease_renew_batch = aw_ddb_lease_renew_batch,
    .lease_release = aw_ddb_lease_release,
    .due_put = aw_ddb_due_put,
    .due_take = aw_ddb_due_take,
    .due_done = aw_ddb_due_done,
    .due_release = aw_ddb_due_release,
    .due_extend = aw_ddb_due_extend,
    .due_stats = aw_ddb_due_stats,
    .migrate = aw_ddb_migrate,
};
