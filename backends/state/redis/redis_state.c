/* The Redis state backend ("redis"), on hiredis 0.14.
 *
 *   state = { backend = "redis"; url = "redis://:password@10.0.0.5:6379/0";
 *             key_prefix = "acteon:"; };
 *
 * URL forms and options: redis_url.h. Key layout: redis_keys.h. Scripts:
 * redis_scripts.h. Connection handling: redis_conn.h.
 *
 * What it guarantees, honestly:
 *  - Against ONE Redis primary, every promise of docs/design.md section 3 holds
 *    for all threads of all worker processes: each read-modify-write is one
 *    Lua script, and Redis runs a script to completion before any other
 *    command, so check-and-set, versions, CAS, locks and the two-phase claim
 *    are atomic; at most one claimer gets ACQUIRED per identity while its
 *    lease lives. TTLs are PEXPIRE, judged by the server's clock only.
 *  - Replication is asynchronous. When the primary fails and a replica is
 *    promoted (Sentinel: redis+sentinel:// URLs, redis_sentinel.h; a
 *    managed failover), writes the replica had not received yet are lost: a
 *    lease (its completion then finds no lease and writes nothing, and a
 *    second worker may claim and execute the same identity meanwhile) or a
 *    done record (a duplicate or redelivered message executes again).
 *    Fencing tokens survive that: each is at least the server clock in
 *    microseconds (redis_scripts.c), so tokens issued after the promotion
 *    are above those before it while the servers' clocks agree within the
 *    failover's duration, and a provider that refuses stale tokens still
 *    sees the two calls ordered. The same holds for a restart without AOF
 *    (appendonly yes with appendfsync everysec loses at most about a
 *    second). docs/backends/redis.md says what can run twice, measured.
 *  - WAIT is not used. WAIT n t only reports how many replicas acknowledged
 *    a write; it does not make the write conditional on that, cannot undo
 *    it when fewer did, and a failover may still promote a replica that did
 *    not acknowledge. It would add a replica's latency to every claim and
 *    complete batch (measured: docs/backends/redis.md) while turning the
 *    loss window into an ambiguous error rather than closing it. For
 *    "nothing executed twice" across failovers use the PostgreSQL backend
 *    (synchronous commit).
 *  - Leases and done records are evicted like any key under an allkeys-*
 *    or volatile-* maxmemory-policy, which silently drops dedup: run the
 *    server with maxmemory-policy noeviction (create() warns otherwise).
 *  - Not Redis Cluster: scripts touch the record and the one token counter,
 *    which live in different hash slots.
 *
 * Clock: server side only (PEXPIRE, PTTL, TIME); worker clocks never enter.
 *
 * Growth: every lease, lock and done record carries a PEXPIRE, so Redis
 * drops it when it expires (lazily on access and by its active expiry
 * cycle); no reaper runs here and reaper_interval_ms is ignored. Fencing
 * tokens come from one counter per key prefix (not one per identity), so
 * nothing is left behind per identity either. Only values written without a
 * TTL and done records with window_ms <= 0 stay, as the caller asked, and
 * due items (they wait to be taken; due_done deletes them).
 *
 * Connections: one per session (= per worker thread); a session is never
 * shared. A dropped connection (I/O error, EOF, command timeout) makes the
 * call return AW_TRANSIENT and the next call reconnects (AUTH, SELECT and
 * SCRIPT LOAD again; with Sentinel the sentinels are asked for the master
 * first); repeated connect failures back off (redis_conn.h).
 * A call that fails with AW_TRANSIENT may or may not have been applied
 * (the reply, not the command, may be what was lost): a claim retried after
 * such a failure can find its own lease and report BUSY until it expires.
 *
 * Round trips: each operation is one round trip (each due_* call is one
 * script over its pool's three keys); claim_batch,
 * complete_batch, lease_renew_batch and due_extend send the whole batch as ONE
 * pipelined round trip (N EVALSHA
 * appended, then N replies read). A NOSCRIPT (scripts flushed on the server)
 * costs one more round trip to reload and one to resend what was refused. */
#include "backends/state/redis/redis_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/redis/redis_conn.h"
#include "backends/state/redis/redis_keys.h"
#include "backends/state/state_backend.h"
#include "common/aw_buf.h"
#include "common/aw_log.h"
#include "common/aw_session.h"

/* TTLs beyond this (about 100 years) are clamped: PEXPIRE refuses values
 * whose deadline overflows. */
#define RS_MAX_TTL_MS 3153600000000LL
#define RS_SCAN_COUNT "1000"  /* SCAN COUNT hint */
#define RS_SCAN_CHUNK 256     /* values fetched per pipelined round trip */

/* Shared by all sessions; immutable after create. */
typedef struct rs_backend {
    aw_redis_config cfg;
    char *prefix;
    size_t prefix_len;
    char *tokens_key; /* prefix + "f:tokens" */
    size_t tokens_len;
} rs_backend;

/* One thread's connection plus scratch space reused across calls. */
typedef struct rs_session {
    rs_backend *b;
    aw_redis_conn conn;
    aw_buf keys;            /* stored keys of the current call, concatenated */
    size_t *key_off;        /* per batch item: offset into keys ... */
    size_t *key_len;        /* ... and length */
    aw_redis_cmd *cmds;     /* per batch item */
    redisReply **replies;   /* per batch item */
    size_t cap;             /* capacity of the four arrays above */
} rs_session;

static aw_status rs_nomem(aw_error *err) { return aw_error_set(err, AW_NOMEM, "out of memory"); }

static int64_t rs_ttl(int64_t ttl_ms)
{
    if (ttl_ms <= 0)
        return 0;
    return ttl_ms > RS_MAX_TTL_MS ? RS_MAX_TTL_MS : ttl_ms;
}

static aw_status rs_unexpected(rs_session *s, const char *what, aw_error *err)
{
    return aw_error_set(err, AW_INTERNAL, "redis %s: %s: unexpected reply", s->b->cfg.where,
                        what);
}

/* A decimal text or integer reply as uint64/int64. */
static bool rs_reply_u64(const redisReply *r, uint64_t *out)
{
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
        *out = (uint64_t)r->integer;
        return true;
    }
    if (!r || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < r->len; i++) {
        unsigned d = (unsigned)(r->str[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool rs_reply_i64(const redisReply *r, int64_t *out)
{
    if (r && r->type == REDIS_REPLY_INTEGER) {
        *out = r->integer;
        return true;
    }
    if (!r || r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
        return false;
    bool neg = r->str[0] == '-';
    uint64_t v = 0;
    if (neg && r->len == 1)
        return false;
    for (size_t i = neg; i < r->len; i++) {
        unsigned d = (unsigned)(r->str[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* ---- keys ------------------------------------------------------------------ */

static aw_status rs_check_key(const aw_state_key *k, bool dedup, aw_error *err)
{
    if (!k)
        return aw_error_set(err, AW_PERMANENT, "state key: missing");
    if (!k->ns || !k->tenant || (!dedup && !k->kind))
        return aw_error_set(err, AW_PERMANENT,
                            "state key: namespace, tenant and kind are required");
    return AW_OK;
}

/* Append the stored key of k in space to s->keys. */
static aw_status rs_append_key(rs_session *s, char space, const aw_state_key *k, aw_error *err)
{
    bool dedup = space == AW_REDIS_SPACE_DEDUP;
    aw_status rc = rs_check_key(k, dedup, err);
    if (rc != AW_OK)
        return rc;
    const char *kind = dedup ? AW_REDIS_DEDUP_KIND : k->kind;
    if (aw_redis_key_append(&s->keys, s->b->prefix, s->b->prefix_len, space, k->ns, k->tenant,
                            kind, k->id))
        return rs_nomem(err);
    return AW_OK;
}

/* The single key of a one-key operation, in s->keys. */
static aw_status rs_key(rs_session *s, char space, const aw_state_key *k, aw_error *err)
{
    aw_buf_reset(&s->keys);
    return rs_append_key(s, space, k, err);
}

/* Room for n batch items in the session's arrays. */
static aw_status rs_reserve(rs_session *s, size_t n, aw_error *err)
{
    if (n <= s->cap)
        return AW_OK;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    size_t *off = realloc(s->key_off, cap * sizeof(*off));
    if (off)
        s->key_off = off;
    size_t *len = off ? realloc(s->key_len, cap * sizeof(*len)) : NULL;
    if (len)
        s->key_len = len;
    aw_redis_cmd *cmds = len ? realloc(s->cmds, cap * sizeof(*cmds)) : NULL;
    if (cmds)
        s->cmds = cmds;
    redisReply **replies = cmds ? realloc(s->replies, cap * sizeof(*replies)) : NULL;
    if (!replies)
        return rs_nomem(err);
    s->replies = replies;
    s->cap = cap;
    return AW_OK;
}

/* One command, one round trip; an error reply becomes the status. */
static aw_status rs_run(rs_session *s, aw_redis_cmd *cmd, const char *what, redisReply **out,
                        aw_error *err)
{
    aw_status rc = aw_redis_exchange(&s->conn, cmd, 1, out, err);
    if (rc == AW_OK && (rc = aw_redis_check(&s->conn, *out, what, err)) != AW_OK) {
        freeReplyObject(*out);
        *out = NULL;
    }
    return rc;
}

/* Run a one-key script whose reply is the integer 1 or 0. */
static aw_status rs_run_flag(rs_session *s, aw_redis_cmd *cmd, const char *what, bool *flag,
                             aw_error *err)
{
    redisReply *r = NULL;
    aw_status rc = rs_run(s, cmd, what, &r, err);
    if (rc != AW_OK)
        return rc;
    if (r->type != REDIS_REPLY_INTEGER)
        rc = rs_unexpected(s, what, err);
    else
        *flag = r->integer == 1;
    freeReplyObject(r);
    return rc;
}

/* ---- create / destroy / sessions ------------------------------------------- */

static void rs_destroy(void *backend)
{
    rs_backend *b = backend;
    if (!b)
        return;
    aw_redis_config_clear(&b->cfg);
    free(b->prefix);
    free(b->tokens_key);
    free(b);
}

/* Start-up checks on one connection: warn about an eviction policy that
 * would drop leases and done records. Best effort (CONFIG may be renamed
 * or forbidden on managed servers). */
static void rs_probe_policy(aw_redis_conn *c)
{
    aw_redis_cmd cmd;
    redisReply *r = NULL;
    aw_error err = {0};
    aw_redis_cmd_plain(&cmd, "CONFIG");
    aw_redis_cmd_arg(&cmd, "GET", 3);
    aw_redis_cmd_arg(&cmd, "maxmemory-policy", 16);
    if (aw_redis_exchange(c, &cmd, 1, &r, &err) != AW_OK)
        return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING && strcmp(r->element[1]->str, "noeviction") != 0)
        AW_WARN("state.redis",
                "%s: maxmemory-policy is %s: under memory pressure Redis may evict leases and "
                "done records, and dedup silently stops holding; use noeviction",
                c->cfg->where, r->element[1]->str);
    freeReplyObject(r);
}

static aw_status rs_create(const aw_state_options *opts, void **out, aw_error *err)
{
    *out = NULL;
    const char *url = opts && opts->url ? opts->url : "";
    const char *prefix = opts && opts->key_prefix ? opts->key_prefix : "";
    aw_buf tk = {0};
    aw_redis_conn probe;
    rs_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return rs_nomem(err);
    aw_status rc = aw_redis_config_init(&b->cfg, url, opts ? opts->connect_timeout_ms : 0,
                                        opts ? opts->command_timeout_ms : 0, err);
    if (rc != AW_OK)
        goto fail;
    b->prefix = strdup(prefix);
    b->prefix_len = strlen(prefix);
    if (!b->prefix || aw_buf_append(&tk, prefix, b->prefix_len) ||
        aw_buf_puts(&tk, AW_REDIS_TOKENS_SUFFIX)) {
        rc = rs_nomem(err);
        goto fail;
    }
    b->tokens_len = tk.len;
    b->tokens_key = aw_buf_steal(&tk);

    /* Probe once so a wrong password, ACL or db fails the start-up with a
     * clear message. An unreachable server does not: sessions retry (the
     * worker keeps consumption paused meanwhile). */
    aw_redis_conn_init(&probe, &b->cfg);
    rc = aw_redis_conn_connect(&probe, err);
    if (rc == AW_OK) {
        rs_probe_policy(&probe);
    } else if (rc == AW_TRANSIENT) {
        AW_WARN("state.redis", "%s", err ? err->msg : "redis not reachable");
        rc = AW_OK;
    }
    aw_redis_conn_drop(&probe);
    if (rc != AW_OK)
        goto fail;
    *out = b;
    return AW_OK;

fail:
    aw_buf_free(&tk);
    rs_destroy(b);
    return rc;
}

static void rs_session_close(void *session)
{
    rs_session *s = session;
    if (!s)
        return;
    aw_redis_conn_drop(&s->conn);
    aw_buf_free(&s->keys);
    free(s->key_off);
    free(s->key_len);
    free(s->cmds);
    free(s->replies);
    free(s);
}

static aw_status rs_session_connect(void *session, aw_error *err)
{
    rs_session *s = session;
    aw_redis_conn_init(&s->conn, &s->b->cfg);
    return aw_redis_conn_connect(&s->conn, err);
}

static aw_status rs_session_open(void *backend, void **session, aw_error *err)
{
    return aw_session_open(backend, sizeof(rs_session), rs_session_connect,
                           rs_session_close, session, err);
}

void aw_state_redis_session_stats(void *session, aw_redis_stats *out)
{
    const rs_session *s = session;
    *out = s->conn.stats;
}

/* ---- generic key/value ----------------------------------------------------- */

/* Start cmd as script `script` on the value key of k (its KEYS[1]). */
static aw_status rs_value_script(rs_session *s, aw_redis_script script, const aw_state_key *k,
                                 aw_redis_cmd *cmd, aw_error *err)
{
    aw_status rc = rs_key(s, AW_REDIS_SPACE_VALUE, k, err);
    if (rc != AW_OK)
        return rc;
    aw_redis_cmd_script(cmd, script, 1);
    aw_redis_cmd_arg(cmd, s->keys.data, s->keys.len);
    return AW_OK;
}

static aw_status rs_check_and_set(void *ss, const aw_state_key *k, const void *val, size_t len,
                                  int64_t ttl_ms, bool *written, aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    *written = false;
    aw_status rc = rs_value_script(s, AW_RS_INSERT, k, &cmd, err);
    if (rc != AW_OK)
        return rc;
    aw_redis_cmd_arg(&cmd, val, len);
    aw_redis_cmd_num(&cmd, rs_ttl(ttl_ms));
    return rs_run_flag(s, &cmd, "check_and_set", written, err);
}

static aw_status rs_get(void *ss, const aw_state_key *k, aw_state_value *out, aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    redisReply *r = NULL;
    memset(out, 0, sizeof(*out));
    aw_status rc = rs_key(s, AW_REDIS_SPACE_VALUE, k, err);
    if (rc != AW_OK)
        return rc;
    /* One command reads value and version together: no script needed. */
    aw_redis_cmd_plain(&cmd, "HMGET");
    aw_redis_cmd_arg(&cmd, s->keys.data, s->keys.len);
    aw_redis_cmd_arg(&cmd, "v", 1);
    aw_redis_cmd_arg(&cmd, "n", 1);
    rc = rs_run(s, &cmd, "get", &r, err);
    if (rc != AW_OK)
        return rc;
    uint64_t version = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        rc = rs_unexpected(s, "get", err);
    } else if (r->element[0]->type == REDIS_REPLY_NIL) {
        rc = aw_error_set(err, AW_NOT_FOUND, "key not found");
    } else if (r->element[0]->type != REDIS_REPLY_STRING ||
               !rs_reply_u64(r->element[1], &version)) {
        rc = rs_unexpected(s, "get", err);
    } else if (!(out->data = aw_memdup(r->element[0]->str, r->element[0]->len))) {
        rc = rs_nomem(err);
    } else {
        out->len = r->element[0]->len;
        out->version = version;
    }
    freeReplyObject(r);
    return rc;
}

static aw_status rs_set(void *ss, const aw_state_key *k, const void *val, size_t len,
                        int64_t ttl_ms, uint64_t *version, aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    redisReply *r = NULL;
    aw_status rc = rs_value_script(s, AW_RS_SET, k, &cmd, err);
    if (rc != AW_OK)
        return rc;
    aw_redis_cmd_arg(&cmd, val, len);
    aw_redis_cmd_num(&cmd, rs_ttl(ttl_ms));
    rc = rs_run(s, &cmd, "set", &r, err);
    if (rc != AW_OK)
        return rc;
    uint64_t v = 0;
    if (!rs_reply_u64(r, &v))
        rc = rs_unexpected(s, "set", err);
    else if (version)
        *version = v;
    freeReplyObject(r);
    return rc;
}

static aw_status rs_del(void *ss, const aw_state_key *k, bool *existed, aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    *existed = false;
    aw_status rc = rs_key(s, AW_REDIS_SPACE_VALUE, k, err);
    if (rc != AW_OK)
        return rc;
    /* DEL answers 0 for an expired key (Redis expires it on lookup). */
    aw_redis_cmd_plain(&cmd, "DEL");
    aw_redis_cmd_arg(&cmd, s->keys.data, s->keys.len);
    return rs_run_flag(s, &cmd, "delete", existed, err);
}

static aw_status rs_increment(void *ss, const aw_state_key *k, int64_t delta, int64_t ttl_ms,
                              int64_t *value, aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    redisReply *r = NULL;
    aw_status rc = rs_value_script(s, AW_RS_INCR, k, &cmd, err);
    if (rc != AW_OK)
        return rc;
    aw_redis_cmd_num(&cmd, delta);
    aw_redis_cmd_num(&cmd, rs_ttl(ttl_ms));
    rc = rs_run(s, &cmd, "increment", &r, err);
    if (rc != AW_OK)
        return rc;
    if (!rs_reply_i64(r, value))
        rc = rs_unexpected(s, "increment", err);
    freeReplyObject(r);
    return rc;
}

static aw_status rs_compare_and_swap(void *ss, const aw_state_key *k, uint64_t expected,
                                     const void *val, size_t len, int64_t ttl_ms,
                                     uint64_t *current, aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    redisReply *r = NULL;
    aw_status rc = rs_value_script(s, AW_RS_CAS, k, &cmd, err);
    if (rc != AW_OK)
        return rc;
    aw_redis_cmd_unum(&cmd, expected);
    aw_redis_cmd_arg(&cmd, val, len);
    aw_redis_cmd_num(&cmd, rs_ttl(ttl_ms));
    rc = rs_run(s, &cmd, "compare_and_swap", &r, err);
    if (rc != AW_OK)
        return rc;
    uint64_t cur = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || !rs_reply_u64(r->element[1], &cur)) {
        rc = rs_unexpected(s, "compare_and_swap", err);
    } else {
        /* On success *current is the new version, on conflict the stored one. */
        if (current)
            *current = cur;
        if (r->element[0]->integer != 1)
            rc = aw_error_set(err, AW_CONFLICT,
                              "version mismatch: expected %" PRIu64 ", found %" PRIu64, expected,
                              cur);
    }
    freeReplyObject(r);
    return rc;
}

/* ---- scan ------------------------------------------------------------------- */

typedef struct rs_hit {
    char *key; /* the stored key, NUL-terminated */
    size_t len;
} rs_hit;

typedef struct rs_hits {
    rs_hit *v;
    size_t n, cap;
} rs_hits;

static void rs_hits_free(rs_hits *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->v[i].key);
    free(h->v);
    memset(h, 0, sizeof(*h));
}

static int rs_hit_cmp(const void *a, const void *b)
{
    const rs_hit *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Walk the key space with SCAN MATCH <escaped prefix>* and keep the keys
 * that start with exactly pfx[0..plen) (the escaping makes the pattern
 * literal; the byte comparison makes sure of it). SCAN may return a key
 * twice, so the result is sorted and deduplicated. */
static aw_status rs_scan_keys(rs_session *s, const char *pfx, size_t plen, rs_hits *hits,
                              aw_error *err)
{
    aw_buf pattern = {0};
    char cursor[32] = "0";
    aw_status rc = AW_OK;
    if (aw_redis_glob_escape(&pattern, pfx, plen) || aw_buf_append(&pattern, "*", 1)) {
        aw_buf_free(&pattern);
        return rs_nomem(err);
    }
    do {
        aw_redis_cmd cmd;
        redisReply *r = NULL;
        aw_redis_cmd_plain(&cmd, "SCAN");
        aw_redis_cmd_arg(&cmd, cursor, strlen(cursor));
        aw_redis_cmd_arg(&cmd, "MATCH", 5);
        aw_redis_cmd_arg(&cmd, pattern.data, pattern.len);
        aw_redis_cmd_arg(&cmd, "COUNT", 5);
        aw_redis_cmd_arg(&cmd, RS_SCAN_COUNT, strlen(RS_SCAN_COUNT));
        rc = rs_run(s, &cmd, "scan", &r, err);
        if (rc != AW_OK)
            break;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof(cursor) ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            rc = rs_unexpected(s, "scan", err);
        } else {
            memcpy(cursor, r->element[0]->str, r->element[0]->len);
            cursor[r->element[0]->len] = '\0';
            const redisReply *keys = r->element[1];
            for (size_t i = 0; i < keys->elements && rc == AW_OK; i++) {
                const redisReply *k = keys->element[i];
                if (k->type != REDIS_REPLY_STRING || k->len < plen || memcmp(k->str, pfx, plen))
                    continue;
                if (hits->n == hits->cap) {
                    size_t cap = hits->cap ? hits->cap * 2 : 64;
                    rs_hit *v = realloc(hits->v, cap * sizeof(*v));
                    if (!v) {
                        rc = rs_nomem(err);
                        break;
                    }
                    hits->v = v;
                    hits->cap = cap;
                }
                char *copy = aw_memdup(k->str, k->len);
                if (!copy)
                    rc = rs_nomem(err);
                else
                    hits->v[hits->n++] = (rs_hit){copy, k->len};
            }
        }
        freeReplyObject(r);
    } while (rc == AW_OK && strcmp(cursor, "0") != 0);
    aw_buf_free(&pattern);
    if (rc != AW_OK)
        return rc;
    if (hits->n > 1)
        qsort(hits->v, hits->n, sizeof(*hits->v), rs_hit_cmp);
    size_t w = 0;
    for (size_t i = 0; i < hits->n; i++) {
        if (w > 0 && rs_hit_cmp(&hits->v[w - 1], &hits->v[i]) == 0)
            free(hits->v[i].key);
        else
            hits->v[w++] = hits->v[i];
    }
    hits->n = w;
    return AW_OK;
}

/* A scan is O(keys in the database) on the server (SCAN has no index to
 * seek in), like the memory backend's walk (figures in
 * docs/backends/redis.md; COUNT 1000 keeps each step of the server's single
 * thread short whatever the hint does to the total). Keep the
 * state in its own db when scans matter; nothing in the worker's hot path
 * scans. Values are fetched for the matching keys only, RS_SCAN_CHUNK per
 * pipelined round trip. A key that
 * expires between SCAN and HGET is skipped: live keys only. The callback may
 * call back into this session: scan keeps its own arrays and is between
 * exchanges whenever the callback runs. */
static aw_status rs_scan(void *ss, const char *ns, const char *tenant, const char *kind,
                         const char *prefix, aw_state_scan_fn fn, void *ud, aw_error *err)
{
    rs_session *s = ss;
    if (!ns || !tenant || !kind)
        return aw_error_set(err, AW_PERMANENT,
                            "state key: namespace, tenant and kind are required");
    aw_buf pfx = {0};
    rs_hits hits = {0};
    aw_redis_cmd *cmds = NULL;
    redisReply **replies = NULL;
    aw_status rc = AW_OK;
    if (aw_redis_key_append(&pfx, s->b->prefix, s->b->prefix_len, AW_REDIS_SPACE_VALUE, ns, tenant,
                            kind, ""))
        rc = rs_nomem(err);
    size_t id_off = pfx.len;
    if (rc == AW_OK && prefix && aw_buf_puts(&pfx, prefix))
        rc = rs_nomem(err);
    if (rc == AW_OK)
        rc = rs_scan_keys(s, pfx.data, pfx.len, &hits, err);
    aw_buf_free(&pfx);
    if (rc == AW_OK && hits.n > 0) {
        cmds = malloc(RS_SCAN_CHUNK * sizeof(*cmds));
        replies = calloc(RS_SCAN_CHUNK, sizeof(*replies));
        if (!cmds || !replies)
            rc = rs_nomem(err);
    }
    bool stopped = false;
    for (size_t off = 0; rc == AW_OK && off < hits.n && !stopped; off += RS_SCAN_CHUNK) {
        size_t n = hits.n - off < RS_SCAN_CHUNK ? hits.n - off : RS_SCAN_CHUNK;
        for (size_t i = 0; i < n; i++) {
            aw_redis_cmd_plain(&cmds[i], "HGET");
            aw_redis_cmd_arg(&cmds[i], hits.v[off + i].key, hits.v[off + i].len);
            aw_redis_cmd_arg(&cmds[i], "v", 1);
        }
        rc = aw_redis_exchange(&s->conn, cmds, n, replies, err);
        for (size_t i = 0; i < n && rc == AW_OK && !stopped; i++) {
            const redisReply *r = replies[i];
            if ((rc = aw_redis_check(&s->conn, r, "scan", err)) != AW_OK)
                break;
            if (r->type == REDIS_REPLY_NIL)
                continue; /* expired or deleted since SCAN saw it */
            if (r->type != REDIS_REPLY_STRING) {
                rc = rs_unexpected(s, "scan", err);
                break;
            }
            /* The id is the tail of the stored key (NUL-terminated copy). */
            stopped = fn(ud, hits.v[off + i].key + id_off, r->str, r->len) != 0;
        }
        aw_redis_replies_free(replies, n);
    }
    free(cmds);
    free(replies);
    rs_hits_free(&hits);
    return rc;
}

/* ---- locks ------------------------------------------------------------------ */

static aw_status rs_lock_acquire(void *ss, const aw_state_key *k, int64_t ttl_ms, uint64_t *token,
                                 aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    redisReply *r = NULL;
    *token = 0;
    aw_status rc = rs_key(s, AW_REDIS_SPACE_LOCK, k, err);
    if (rc != AW_OK)
        return rc;
    aw_redis_cmd_script(&cmd, AW_RS_LOCK_ACQUIRE, 2);
    aw_redis_cmd_arg(&cmd, s->keys.data, s->keys.len);
    aw_redis_cmd_arg(&cmd, s->b->tokens_key, s->b->tokens_len);
    aw_redis_cmd_num(&cmd, rs_ttl(ttl_ms));
    rc = rs_run(s, &cmd, "lock_acquire", &r, err);
    if (rc != AW_OK)
        return rc;
    if (r->type == REDIS_REPLY_NIL)
        rc = aw_error_set(err, AW_CONFLICT, "lock is held");
    else if (!rs_reply_u64(r, token))
        rc = rs_unexpected(s, "lock_acquire", err);
    freeReplyObject(r);
    return rc;
}

/* The token operations (lock extend/release, lease renew/release): one
 * script on one key that answers whether the token held it. ttl_ms < 0:
 * the script takes no TTL argument. */
static aw_status rs_token_op(rs_session *s, char space, const aw_state_key *k, int script,
                             uint64_t token, int64_t ttl_ms, const char *what,
                             const char *not_held, aw_error *err)
{
    aw_redis_cmd cmd;
    bool held = false;
    aw_status rc = rs_key(s, space, k, err);
    if (rc != AW_OK)
        return rc;
    aw_redis_cmd_script(&cmd, script, 1);
    aw_redis_cmd_arg(&cmd, s->keys.data, s->keys.len);
    aw_redis_cmd_unum(&cmd, token);
    if (ttl_ms >= 0)
        aw_redis_cmd_num(&cmd, rs_ttl(ttl_ms));
    rc = rs_run_flag(s, &cmd, what, &held, err);
    if (rc == AW_OK && !held)
        rc = aw_error_set(err, AW_CONFLICT, "%s", not_held);
    return rc;
}

static aw_status rs_lock_extend(void *ss, const aw_state_key *k, uint64_t token, int64_t ttl_ms,
                                aw_error *err)
{
    return rs_token_op(ss, AW_REDIS_SPACE_LOCK, k, AW_RS_LOCK_EXTEND, token, ttl_ms > 0 ? ttl_ms : 0,
                       "lock_extend", "lock not held with this token", err);
}

static aw_status rs_lock_release(void *ss, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return rs_token_op(ss, AW_REDIS_SPACE_LOCK, k, AW_RS_LOCK_RELEASE, token, -1, "lock_release",
                       "lock not held with this token", err);
}

/* ---- two-phase dedup -------------------------------------------------------- */

/* Build the dedup keys of n items into s->keys (offsets in key_off/key_len);
 * key_of(items, i) returns item i's key. */
static aw_status rs_batch_keys(rs_session *s, const void *items, size_t n,
                               const aw_state_key *(*key_of)(const void *, size_t), aw_error *err)
{
    aw_status rc = rs_reserve(s, n, err);
    if (rc != AW_OK)
        return rc;
    aw_buf_reset(&s->keys);
    for (size_t i = 0; i < n; i++) {
        s->key_off[i] = s->keys.len;
        rc = rs_append_key(s, AW_REDIS_SPACE_DEDUP, key_of(items, i), err);
        if (rc != AW_OK)
            return rc;
        s->key_len[i] = s->keys.len - s->key_off[i];
    }
    return AW_OK;
}

static const aw_state_key *rs_claim_key(const void *items, size_t i)
{
    return &((const aw_claim *)items)[i].key;
}

static const aw_state_key *rs_complete_key(const void *items, size_t i)
{
    return &((const aw_complete *)items)[i].key;
}

/* Fill c from one claim reply. */
static aw_status rs_claim_parse(rs_session *s, const redisReply *r, aw_claim *c, aw_error *err)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len != 1)
        return rs_unexpected(s, "claim", err);
    char tag = r->element[0]->str[0];
    if (tag == 'A' && r->elements == 2 && rs_reply_u64(r->element[1], &c->token)) {
        c->result = AW_CLAIM_ACQUIRED;
        return AW_OK;
    }
    int64_t pttl = 0;
    if (tag == 'B' && r->elements == 3 && rs_reply_u64(r->element[1], &c->token) &&
        rs_reply_i64(r->element[2], &pttl)) {
        c->result = AW_CLAIM_BUSY;
        c->retry_after_ms = pttl > 0 ? pttl : 1;
        return AW_OK;
    }
    int64_t partition = 0;
    const redisReply *sum = r->elements == 6 ? r->element[2] : NULL;
    const redisReply *top = r->elements == 6 ? r->element[3] : NULL;
    if (tag != 'D' || !sum || sum->type != REDIS_REPLY_STRING || top->type != REDIS_REPLY_STRING ||
        !rs_reply_u64(r->element[1], &c->done_token) || !rs_reply_i64(r->element[4], &partition) ||
        !rs_reply_i64(r->element[5], &c->done_offset) || partition < INT32_MIN ||
        partition > INT32_MAX)
        return rs_unexpected(s, "claim", err);
    c->result = AW_CLAIM_DONE;
    c->done_partition = (int32_t)partition;
    c->done_summary = aw_memdup(sum->str, sum->len);
    c->done_topic = aw_memdup(top->str, top->len);
    return c->done_summary && c->done_topic ? AW_OK : rs_nomem(err);
}

static aw_status rs_claim_batch(void *ss, aw_claim *items, size_t n, aw_error *err)
{
    rs_session *s = ss;
    aw_status rc = rs_batch_keys(s, items, n, rs_claim_key, err);
    if (rc != AW_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        aw_redis_cmd *cmd = &s->cmds[i];
        aw_redis_cmd_script(cmd, AW_RS_CLAIM, 2);
        aw_redis_cmd_arg(cmd, s->keys.data + s->key_off[i], s->key_len[i]);
        aw_redis_cmd_arg(cmd, s->b->tokens_key, s->b->tokens_len);
        aw_redis_cmd_num(cmd, rs_ttl(items[i].lease_ms));
    }
    /* The whole batch is ONE pipelined round trip: n EVALSHA appended, then
     * n replies read (aw_redis_exchange). Keep it that way: this is where
     * the worker's throughput comes from. Each identity is claimed
     * atomically by its own script; the batch as a whole is not a
     * transaction (nor is it in the memory backend). */
    rc = aw_redis_exchange(&s->conn, s->cmds, n, s->replies, err);
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        rc = aw_redis_check(&s->conn, s->replies[i], "claim", err);
        if (rc == AW_OK)
            rc = rs_claim_parse(s, s->replies[i], &items[i], err);
    }
    aw_redis_replies_free(s->replies, n);
    return rc;
}

/* Send s->cmds[0..n) as ONE pipelined round trip (n EVALSHA appended,
 * then n replies read) of scripts that answer 1 when the token held its
 * lease (it was written) and 0 when not: held(items, i) marks item i for
 * a 1 (the front reset every item to stale). Each script is atomic on its
 * own; a failed exchange or reply fails the call (nothing the caller
 * counts on). */
static aw_status rs_exchange_held(rs_session *s, size_t n, const char *what,
                                  void (*held)(void *items, size_t i), void *items, aw_error *err)
{
    aw_status rc = aw_redis_exchange(&s->conn, s->cmds, n, s->replies, err);
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        const redisReply *r = s->replies[i];
        rc = aw_redis_check(&s->conn, r, what, err);
        if (rc == AW_OK && r->type != REDIS_REPLY_INTEGER)
            rc = rs_unexpected(s, what, err);
        if (rc == AW_OK && r->integer == 1)
            held(items, i);
    }
    aw_redis_replies_free(s->replies, n);
    return rc;
}

static void rs_complete_held(void *items, size_t i) { ((aw_complete *)items)[i].stale = false; }

static void rs_renewal_held(void *items, size_t i)
{
    ((aw_lease_renewal *)items)[i].stale = false;
}

static void rs_extension_held(void *items, size_t i)
{
    ((aw_due_extension *)items)[i].stale = false;
}

static aw_status rs_complete_batch(void *ss, aw_complete *items, size_t n, aw_error *err)
{
    rs_session *s = ss;
    aw_status rc = rs_batch_keys(s, items, n, rs_complete_key, err);
    if (rc != AW_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const aw_complete *c = &items[i];
        const char *sum = c->summary ? c->summary : "";
        const char *topic = c->source.topic ? c->source.topic : "";
        aw_redis_cmd *cmd = &s->cmds[i];
        aw_redis_cmd_script(cmd, AW_RS_COMPLETE, 1);
        aw_redis_cmd_arg(cmd, s->keys.data + s->key_off[i], s->key_len[i]);
        aw_redis_cmd_unum(cmd, c->token);
        aw_redis_cmd_arg(cmd, sum, strlen(sum));
        aw_redis_cmd_arg(cmd, topic, strlen(topic));
        aw_redis_cmd_num(cmd, c->source.partition);
        aw_redis_cmd_num(cmd, c->source.offset);
        aw_redis_cmd_num(cmd, rs_ttl(c->window_ms));
    }
    /* ONE pipelined round trip for the whole batch, as in claim_batch. */
    return rs_exchange_held(s, n, "complete", rs_complete_held, items, err);
}

static const aw_state_key *rs_renew_key(const void *items, size_t i)
{
    return &((const aw_lease_renewal *)items)[i].key;
}

static aw_status rs_lease_renew_batch(void *ss, aw_lease_renewal *items, size_t n,
                                      int64_t lease_ms, aw_error *err)
{
    rs_session *s = ss;
    aw_status rc = rs_batch_keys(s, items, n, rs_renew_key, err);
    if (rc != AW_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        aw_redis_cmd *cmd = &s->cmds[i];
        aw_redis_cmd_script(cmd, AW_RS_LEASE_RENEW, 1);
        aw_redis_cmd_arg(cmd, s->keys.data + s->key_off[i], s->key_len[i]);
        aw_redis_cmd_unum(cmd, items[i].token);
        aw_redis_cmd_num(cmd, rs_ttl(lease_ms));
    }
    /* ONE pipelined round trip for the whole batch, as in claim_batch: the
     * lease keeper renews hundreds of leases per pass. Each renewal is its
     * own script (atomic per identity); a failed exchange renews nothing
     * the caller can count on (it extends nothing). */
    return rs_exchange_held(s, n, "lease_renew", rs_renewal_held, items, err);
}

static aw_status rs_lease_release(void *ss, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return rs_token_op(ss, AW_REDIS_SPACE_DEDUP, k, AW_RS_LEASE_RELEASE, token, -1,
                       "lease_release", "lease not held with this token", err);
}

/* ---- the due index (layout: redis_keys.h; scripts: redis_scripts.c) -------- */

#define RS_DUE_KEYS 3 /* waiting zset, lease zset, items hash */

/* Append item slot i's keys to s->keys: the pool's three keys one after
 * another, each s->key_len[2i] bytes long from s->key_off[2i] (they
 * differ only in their last byte); then the member of key k (NULL for a
 * take) at s->key_off[2i+1], s->key_len[2i+1] bytes. The caller reserved
 * 2(i+1) slots. Offsets, not pointers: s->keys may move while it grows. */
static aw_status rs_due_keys_at(rs_session *s, size_t i, const char *ns, const char *kind,
                                const aw_state_key *k, aw_error *err)
{
    static const char suffix[RS_DUE_KEYS] = {'w', 'l', 'h'};
    s->key_off[2 * i] = s->keys.len;
    for (int j = 0; j < RS_DUE_KEYS; j++) {
        char x[2] = {suffix[j], '\0'};
        if (aw_redis_key_append(&s->keys, s->b->prefix, s->b->prefix_len, AW_REDIS_SPACE_DUE, ns,
                                "", kind, x))
            return rs_nomem(err);
        if (j == 0)
            s->key_len[2 * i] = s->keys.len - s->key_off[2 * i];
    }
    s->key_off[2 * i + 1] = s->keys.len;
    if (k) {
        const char *id = k->id ? k->id : "";
        char len[24];
        int n = snprintf(len, sizeof(len), "%zu:", strlen(k->tenant));
        if (aw_buf_append(&s->keys, len, (size_t)n) ||
            aw_buf_append(&s->keys, k->tenant, strlen(k->tenant)) ||
            aw_buf_append(&s->keys, id, strlen(id)))
            return rs_nomem(err);
    }
    s->key_len[2 * i + 1] = s->keys.len - s->key_off[2 * i + 1];
    return AW_OK;
}

/* One call's keys (slot 0): the pool's and the member of k, if any. */
static aw_status rs_due_keys(rs_session *s, const char *ns, const char *kind,
                             const aw_state_key *k, aw_error *err)
{
    aw_status rc = rs_reserve(s, 2, err);
    if (rc != AW_OK)
        return rc;
    aw_buf_reset(&s->keys);
    return rs_due_keys_at(s, 0, ns, kind, k, err);
}

/* Start an EVALSHA of a due script with item slot i's pool keys (and the
 * token counter when with_tokens), after rs_due_keys(_at). */
static void rs_due_cmd_at(rs_session *s, size_t i, aw_redis_cmd *cmd, aw_redis_script script,
                          bool with_tokens)
{
    aw_redis_cmd_script(cmd, script, RS_DUE_KEYS + with_tokens);
    for (int j = 0; j < RS_DUE_KEYS; j++)
        aw_redis_cmd_arg(cmd, s->keys.data + s->key_off[2 * i] + (size_t)j * s->key_len[2 * i],
                         s->key_len[2 * i]);
    if (with_tokens)
        aw_redis_cmd_arg(cmd, s->b->tokens_key, s->b->tokens_len);
}

static void rs_due_cmd(rs_session *s, aw_redis_cmd *cmd, aw_redis_script script, bool with_tokens)
{
    rs_due_cmd_at(s, 0, cmd, script, with_tokens);
}

/* Start a pool script (take: with the token counter; stats) with its
 * first argument, now_ms. */
static aw_status rs_due_pool_cmd(rs_session *s, const char *ns, const char *kind, int64_t now_ms,
                                 aw_redis_cmd *cmd, aw_redis_script script, aw_error *err)
{
    aw_status rc = rs_due_keys(s, ns, kind, NULL, err);
    if (rc != AW_OK)
        return rc;
    rs_due_cmd(s, cmd, script, script == AW_RS_DUE_TAKE);
    aw_redis_cmd_num(cmd, now_ms);
    return AW_OK;
}

static aw_status rs_due_put(void *ss, const aw_state_key *k, int64_t due_ms, const void *val,
                            size_t len, aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    bool written = false;
    aw_status rc = rs_due_keys(s, k->ns, k->kind, k, err);
    if (rc != AW_OK)
        return rc;
    rs_due_cmd(s, &cmd, AW_RS_DUE_PUT, false);
    aw_redis_cmd_arg(&cmd, s->keys.data + s->key_off[1], s->key_len[1]);
    aw_redis_cmd_num(&cmd, due_ms);
    aw_redis_cmd_arg(&cmd, val, len);
    rc = rs_run_flag(s, &cmd, "due_put", &written, err);
    if (rc == AW_OK && !written)
        rc = aw_error_set(err, AW_CONFLICT, "due item is leased: put refused");
    return rc;
}

static char *rs_strndup(const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

/* One taken item from its four reply elements: member, due_ms, token, value. */
static aw_status rs_due_item(rs_session *s, const char *ns, const char *kind,
                             redisReply *const *e, aw_due_item *it, aw_error *err)
{
    for (int i = 0; i < 4; i++)
        if (e[i]->type != REDIS_REPLY_STRING)
            return rs_unexpected(s, "due_take", err);
    /* member = <tenant length> ':' tenant id */
    const char *m = e[0]->str, *colon = memchr(m, ':', e[0]->len);
    size_t tlen = 0;
    for (const char *p = m; colon && p < colon; p++)
        tlen = tlen * 10 + (size_t)(*p - '0');
    if (!colon || colon == m || tlen > e[0]->len - (size_t)(colon + 1 - m) ||
        !rs_reply_i64(e[1], &it->due_ms) || !rs_reply_u64(e[2], &it->token))
        return rs_unexpected(s, "due_take", err);
    const char *tenant = colon + 1, *id = tenant + tlen;
    it->ns = strdup(ns);
    it->kind = strdup(kind);
    it->tenant = rs_strndup(tenant, tlen);
    it->id = rs_strndup(id, e[0]->len - (size_t)(id - m));
    it->value = rs_strndup(e[3]->str, e[3]->len);
    it->len = e[3]->len;
    if (!it->ns || !it->kind || !it->tenant || !it->id || !it->value)
        return rs_nomem(err);
    return AW_OK;
}

static aw_status rs_due_take(void *ss, const char *ns, const char *kind, int64_t now_ms,
                             size_t limit, int64_t lease_ms, aw_due_item *out, size_t *n,
                             aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    redisReply *r = NULL;
    aw_status rc = rs_due_pool_cmd(s, ns, kind, now_ms, &cmd, AW_RS_DUE_TAKE, err);
    if (rc != AW_OK)
        return rc;
    aw_redis_cmd_num(&cmd, (int64_t)limit);
    aw_redis_cmd_num(&cmd, rs_ttl(lease_ms));
    rc = rs_run(s, &cmd, "due_take", &r, err);
    if (rc != AW_OK)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 4 != 0 || r->elements / 4 > limit)
        rc = rs_unexpected(s, "due_take", err);
    for (size_t i = 0; rc == AW_OK && i < r->elements / 4; i++)
        rc = rs_due_item(s, ns, kind, r->element + 4 * i, &out[i], err);
    if (rc == AW_OK)
        *n = r->elements / 4;
    freeReplyObject(r);
    return rc;
}

/* done and release: a script on the member and its token. */
static aw_status rs_due_token_op(rs_session *s, const aw_state_key *k, aw_redis_script script,
                                 uint64_t token, const int64_t *retry_at_ms, aw_error *err)
{
    aw_redis_cmd cmd;
    bool held = false;
    aw_status rc = rs_due_keys(s, k->ns, k->kind, k, err);
    if (rc != AW_OK)
        return rc;
    rs_due_cmd(s, &cmd, script, false);
    aw_redis_cmd_arg(&cmd, s->keys.data + s->key_off[1], s->key_len[1]);
    aw_redis_cmd_unum(&cmd, token);
    if (retry_at_ms)
        aw_redis_cmd_num(&cmd, *retry_at_ms > 0 ? *retry_at_ms : 0);
    rc = rs_run_flag(s, &cmd, aw_redis_script_name(script), &held, err);
    if (rc == AW_OK && !held)
        rc = aw_error_set(err, AW_CONFLICT, "due item lease not held with this token");
    return rc;
}

static aw_status rs_due_done(void *ss, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return rs_due_token_op(ss, k, AW_RS_DUE_DONE, token, NULL, err);
}

static aw_status rs_due_release(void *ss, const aw_state_key *k, uint64_t token,
                                int64_t retry_at_ms, aw_error *err)
{
    return rs_due_token_op(ss, k, AW_RS_DUE_RELEASE, token, &retry_at_ms, err);
}

/* ONE pipelined round trip for the batch, as in lease_renew_batch: one
 * AW_RS_DUE_EXTEND script per item (atomic per item; the items may be of
 * different pools). The keys are all built before any command points
 * into s->keys. A failed exchange extends nothing the caller counts on. */
static aw_status rs_due_extend(void *ss, aw_due_extension *items, size_t n, int64_t lease_ms,
                               aw_error *err)
{
    rs_session *s = ss;
    aw_status rc = rs_reserve(s, 2 * n, err);
    if (rc != AW_OK)
        return rc;
    aw_buf_reset(&s->keys);
    for (size_t i = 0; i < n && rc == AW_OK; i++)
        rc = rs_due_keys_at(s, i, items[i].key.ns, items[i].key.kind, &items[i].key, err);
    if (rc != AW_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        aw_redis_cmd *cmd = &s->cmds[i];
        rs_due_cmd_at(s, i, cmd, AW_RS_DUE_EXTEND, false);
        aw_redis_cmd_arg(cmd, s->keys.data + s->key_off[2 * i + 1], s->key_len[2 * i + 1]);
        aw_redis_cmd_unum(cmd, items[i].token);
        aw_redis_cmd_num(cmd, rs_ttl(lease_ms));
    }
    return rs_exchange_held(s, n, "due_extend", rs_extension_held, items, err);
}

/* One script (AW_RS_DUE_STATS), so one round trip, read-only. Cost on the
 * server: HLEN O(1), ZCOUNT and the oldest waiting item O(log n), plus the
 * expired leases (normally none: a take moves them back) at most 1,000
 * HGETs: independent of the pool's size. */
static aw_status rs_due_stats(void *ss, const char *ns, const char *kind, int64_t now_ms,
                              aw_due_stats *out, aw_error *err)
{
    rs_session *s = ss;
    aw_redis_cmd cmd;
    redisReply *r = NULL;
    aw_status rc = rs_due_pool_cmd(s, ns, kind, now_ms, &cmd, AW_RS_DUE_STATS, err);
    if (rc == AW_OK)
        rc = rs_run(s, &cmd, "due_stats", &r, err);
    if (rc != AW_OK)
        return rc;
    int64_t partial = 0;
    redisReply *const *e = r->element;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 || !rs_reply_u64(e[0], &out->items) ||
        !rs_reply_u64(e[1], &out->waiting) || e[2]->type != REDIS_REPLY_STRING ||
        (e[2]->len > 0 && !rs_reply_i64(e[2], &out->oldest_due_ms)) ||
        !rs_reply_i64(e[3], &partial))
        rc = rs_unexpected(s, "due_stats", err);
    else {
        out->has_oldest = e[2]->len > 0;
        out->partial = partial != 0;
    }
    freeReplyObject(r);
    return rc;
}

const aw_state_driver aw_state_redis_driver = {
    .name = "redis",
    .caps = AW_STATE_CAP_ATOMIC,
    .create = rs_create,
    .destroy = rs_destroy,
    .session_open = rs_session_open,
    .session_close = rs_session_close,
    .check_and_set = rs_check_and_set,
    .get = rs_get,
    .set = rs_set,
    .del = rs_del,
    .increment = rs_increment,
    .compare_and_swap = rs_compare_and_swap,
    .scan = rs_scan,
    .lock_acquire = rs_lock_acquire,
    .lock_extend = rs_lock_extend,
    .lock_release = rs_lock_release,
    .claim_batch = rs_claim_batch,
    .complete_batch = rs_complete_batch,
    .lease_renew_batch = rs_lease_renew_batch,
    .lease_release = rs_lease_release,
    .due_put = rs_due_put,
    .due_take = rs_due_take,
    .due_done = rs_due_done,
    .due_release = rs_due_release,
    .due_extend = rs_due_extend,
    .due_stats = rs_due_stats,
};
