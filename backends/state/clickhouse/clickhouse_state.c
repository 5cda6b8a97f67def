/* The "clickhouse" state backend: life cycle, values, counters, scan, the
 * reaper and the driver table. Design and weaknesses: clickhouse_state.h. */
#include "backends/state/clickhouse/clickhouse_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "backends/clickhouse/ch_migrate.h"
#include "backends/state/clickhouse/chs_internal.h"
#include "common/aw_clock.h"
#include "common/aw_key.h"
#include "common/aw_log.h"
#include "common/aw_session.h"

#define CHS_REAP_DEFAULT_MS (10 * 60 * 1000)
/* Rows are reaped only when dead for this long: the cutoff must precede the
 * OPTIMIZE by more than the writers' clock skew (see clickhouse_state.h). */
#define CHS_REAP_GRACE_MS (60 * 1000)

aw_status aw_chs_nomem(aw_error *err) { return aw_error_set(err, AW_NOMEM, "out of memory"); }

static int64_t chs_deadline(int64_t now, int64_t ttl_ms) { return ttl_ms > 0 ? now + ttl_ms : 0; }

/* ---- shared helpers (chs_internal.h) ------------------------------------------ */

aw_status aw_chs_key(chs_session *s, char space, const aw_state_key *k, aw_error *err)
{
    /* The space is a column of its own; here it only picks the kind. */
    aw_buf_reset(&s->key);
    if (aw_buf_append(&s->key, s->b->prefix, s->b->prefix_len) ||
        aw_key_encode(&s->key, k->ns ? k->ns : "", k->tenant ? k->tenant : "",
                      space == AW_CHS_SPACE_DEDUP ? AW_CHS_DEDUP_KIND : (k->kind ? k->kind : ""),
                      k->id ? k->id : ""))
        return aw_chs_nomem(err);
    return AW_OK;
}

static aw_status take_first(void *ctx, aw_chs_row *row, aw_error *err)
{
    (void)err;
    aw_chs_row *dst = ctx;
    if (!dst->key) { /* first row only; there is at most one per key */
        *dst = *row;
        memset(row, 0, sizeof(*row));
    }
    return AW_OK;
}

aw_status aw_chs_read(chs_session *s, char space, aw_chs_row *row, bool *found, aw_error *err)
{
    memset(row, 0, sizeof(*row));
    *found = false;
    const char *keys[1] = {s->key.data};
    size_t klens[1] = {s->key.len};
    const char spaces[2] = {space, '\0'};
    aw_buf_reset(&s->sql);
    if (aw_chs_sql_latest(&s->sql, spaces, keys, klens, 1))
        return aw_chs_nomem(err);
    aw_status rc = aw_ch_request(&s->conn, s->sql.data, s->sql.len, "read state", err);
    if (rc == AW_OK)
        rc = aw_chs_parse_rows(s->conn.resp.data, s->conn.resp.len, take_first, row, err);
    if (rc != AW_OK) {
        aw_chs_row_clear(row);
        return rc;
    }
    *found = row->key != NULL;
    return AW_OK;
}

aw_status aw_chs_read_key(chs_session *s, char space, const aw_state_key *k, aw_chs_row *row,
                       bool *found, aw_error *err)
{
    aw_status rc = aw_chs_key(s, space, k, err);
    return rc == AW_OK ? aw_chs_read(s, space, row, found, err) : rc;
}

uint64_t aw_chs_next_ver(chs_session *s, uint64_t prev_ver, int64_t now_ms)
{
    uint64_t seq = (prev_ver >> 16) + 1;
    if (now_ms > 0 && (uint64_t)now_ms > seq)
        seq = (uint64_t)now_ms;
    /* xorshift64: the low bits only separate writers that collide on seq. */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return seq << 16 | (s->rng & 0xffffu);
}

aw_status aw_chs_exec(chs_session *s, const char *what, aw_error *err)
{
    return aw_ch_request(&s->conn, s->sql.data, s->sql.len, what, err);
}

/* Write one row built from w (key = s->key). */
static aw_status chs_write1(chs_session *s, const aw_chs_write *w, const char *what,
                            aw_error *err)
{
    aw_buf_reset(&s->sql);
    if (aw_chs_sql_insert_head(&s->sql) || aw_chs_sql_row(&s->sql, w, true))
        return aw_chs_nomem(err);
    return aw_chs_exec(s, what, err);
}

/* ---- reaper ----------------------------------------------------------------------- */

static aw_status chs_reap(chs_session *s, int64_t now_ms, aw_error *err)
{
    int64_t cutoff = now_ms - CHS_REAP_GRACE_MS;
    aw_buf_reset(&s->sql);
    if (aw_chs_sql_optimize(&s->sql))
        return aw_chs_nomem(err);
    /* Merge first, so that no older row of a key survives the delete of its
     * newest (dead) row and brings the key back. */
    aw_status rc = aw_chs_exec(s, "merge the state table", err);
    if (rc != AW_OK)
        return rc;
    aw_buf_reset(&s->sql);
    if (aw_chs_sql_reap(&s->sql, cutoff))
        return aw_chs_nomem(err);
    return aw_chs_exec(s, "delete dead state rows", err);
}

void aw_chs_maybe_reap(chs_session *s, int64_t now_ms)
{
    int64_t due = atomic_load(&s->b->next_reap_ms);
    if (now_ms < due ||
        !atomic_compare_exchange_strong(&s->b->next_reap_ms, &due,
                                        now_ms + s->b->reap_interval_ms))
        return;
    aw_error err = {0};
    if (chs_reap(s, now_ms, &err) != AW_OK)
        AW_WARN("state", "clickhouse reaper: %s", err.msg);
}

aw_status aw_state_clickhouse_reap(void *session, int64_t now_ms, aw_error *err)
{
    return chs_reap(session, now_ms, err);
}

/* ---- life cycle ------------------------------------------------------------------- */

static aw_status chs_create(const aw_state_options *opts, void **out, aw_error *err)
{
    *out = NULL;
    chs_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return aw_chs_nomem(err);
    aw_status rc = aw_ch_config_parse("state.url", opts ? opts->url : "",
                                      opts ? opts->connect_timeout_ms : 0,
                                      opts ? opts->command_timeout_ms : 0, &b->cfg, err);
    const char *prefix = opts && opts->key_prefix ? opts->key_prefix : "";
    if (rc == AW_OK && strlen(prefix) >= sizeof(b->prefix))
        rc = aw_error_set(err, AW_CONFIG, "state.key_prefix: longer than %zu bytes",
                          sizeof(b->prefix) - 1);
    if (rc != AW_OK) {
        free(b);
        return rc;
    }
    snprintf(b->prefix, sizeof(b->prefix), "%s", prefix);
    b->prefix_len = strlen(b->prefix);
    b->reap_interval_ms = opts && opts->reaper_interval_ms > 0 ? opts->reaper_interval_ms
                                                               : CHS_REAP_DEFAULT_MS;
    atomic_init(&b->next_reap_ms, aw_time_now_ms() + b->reap_interval_ms);
    /* Fail now, naming `migrate`, rather than on the first message. */
    rc = aw_ch_schema_check_cfg(&b->cfg, err);
    if (rc != AW_OK) {
        free(b);
        return rc;
    }
    *out = b;
    return AW_OK;
}

static void chs_destroy(void *backend) { free(backend); }

static void chs_session_close(void *session);

static aw_status chs_session_connect(void *session, aw_error *err)
{
    chs_session *s = session;
    if (getrandom(&s->rng, sizeof(s->rng), 0) != (ssize_t)sizeof(s->rng))
        s->rng = (uint64_t)aw_mono_now_us() ^ (uint64_t)(uintptr_t)s;
    s->rng |= 1; /* xorshift must not start at 0 */
    return aw_ch_conn_open(&s->conn, &s->b->cfg, err);
}

static aw_status chs_session_open(void *backend, void **session, aw_error *err)
{
    return aw_session_open(backend, sizeof(chs_session), chs_session_connect, chs_session_close,
                           session, err);
}

static void chs_session_close(void *session)
{
    chs_session *s = session;
    if (!s)
        return;
    aw_ch_conn_close(&s->conn);
    aw_buf_free(&s->sql);
    aw_buf_free(&s->key);
    free(s);
}

static aw_status chs_migrate(const aw_state_options *opts, int *applied, aw_error *err)
{
    return aw_ch_migrate_url("state.url", opts ? opts->url : "",
                             opts ? opts->connect_timeout_ms : 0,
                             opts ? opts->command_timeout_ms : 0, applied, err);
}

/* ---- values -------------------------------------------------------------------------- */

/* What every value operation decides on: the newest value row of a key
 * (row zeroed and found false when it has none), the clock read just after,
 * and whether the row is live then. */
typedef struct chs_read {
    aw_chs_row row;
    bool found;
    bool live;
    int64_t now;
} chs_read;

/* Read rd for k. s->key is left holding k's stored key, for value_row. */
static aw_status read_value(chs_session *s, const aw_state_key *k, chs_read *rd, aw_error *err)
{
    aw_status rc = aw_chs_read_key(s, AW_CHS_SPACE_VALUE, k, &rd->row, &rd->found, err);
    if (rc != AW_OK)
        return rc;
    rd->now = aw_time_now_ms();
    rd->live = aw_chs_row_live(&rd->row, rd->now);
    return AW_OK;
}

/* A value row for s->key: the next ver after rd's row, version given. */
static aw_chs_write value_row(chs_session *s, const aw_state_key *k, const chs_read *rd,
                              const void *val, size_t len, uint64_t version, int64_t expires)
{
    return (aw_chs_write){.space = AW_CHS_SPACE_VALUE,
                          .key = s->key.data,
                          .klen = s->key.len,
                          .id = k->id,
                          .value = val,
                          .vlen = len,
                          .version = version,
                          .ver = aw_chs_next_ver(s, rd->found ? rd->row.ver : 0, rd->now),
                          .expires_at_ms = expires,
                          .written_at_ms = rd->now};
}

/* When a value write (check_and_set, set, compare_and_swap) writes. */
typedef enum { CHS_IF_ABSENT, CHS_ALWAYS, CHS_IF_VERSION } chs_when;

/* The one value write: read the newest row, decide, write the next one.
 * Read, then write: another writer may do the same in between (not atomic;
 * the driver does not claim AW_STATE_CAP_ATOMIC), so two concurrent writers
 * can both write version n+1 (documented weakness). *cur: the new version
 * when written, else the live one (0 when absent). AW_CONFLICT
 * (unformatted: the caller words it) when `when` said no. *now: the clock
 * reading used, 0 when the read failed. */
static aw_status chs_write_value(chs_session *s, const aw_state_key *k, const void *val,
                                 size_t len, int64_t ttl_ms, chs_when when, uint64_t expected,
                                 const char *what, uint64_t *cur, int64_t *now, aw_error *err)
{
    chs_read rd;
    *now = 0;
    aw_status rc = read_value(s, k, &rd, err);
    if (rc != AW_OK)
        return rc;
    *now = rd.now;
    *cur = rd.live ? rd.row.version : 0;
    if ((when == CHS_IF_ABSENT && rd.live) || (when == CHS_IF_VERSION && *cur != expected)) {
        rc = AW_CONFLICT;
    } else {
        aw_chs_write w = value_row(s, k, &rd, val, len, *cur + 1, chs_deadline(rd.now, ttl_ms));
        rc = chs_write1(s, &w, what, err);
        if (rc == AW_OK)
            (*cur)++;
    }
    aw_chs_row_clear(&rd.row);
    return rc;
}

static aw_status chs_check_and_set(void *ss, const aw_state_key *k, const void *val, size_t len,
                                   int64_t ttl_ms, bool *written, aw_error *err)
{
    uint64_t cur;
    int64_t now;
    aw_status rc = chs_write_value(ss, k, val, len, ttl_ms, CHS_IF_ABSENT, 0, "check_and_set",
                                   &cur, &now, err);
    *written = rc == AW_OK;
    if (rc == AW_CONFLICT)
        rc = AW_OK; /* a live key: not written, not an error */
    if (now)
        aw_chs_maybe_reap(ss, now);
    return rc;
}

static aw_status chs_get(void *ss, const aw_state_key *k, aw_state_value *out, aw_error *err)
{
    chs_read rd;
    memset(out, 0, sizeof(*out));
    aw_status rc = read_value(ss, k, &rd, err);
    if (rc != AW_OK)
        return rc;
    if (!rd.live) {
        aw_chs_row_clear(&rd.row);
        return aw_error_set(err, AW_NOT_FOUND, "key not found");
    }
    out->data = rd.row.value; /* NUL-terminated by the parser */
    out->len = rd.row.vlen;
    out->version = rd.row.version;
    rd.row.value = NULL;
    aw_chs_row_clear(&rd.row);
    return AW_OK;
}

static aw_status chs_set(void *ss, const aw_state_key *k, const void *val, size_t len,
                         int64_t ttl_ms, uint64_t *version, aw_error *err)
{
    uint64_t cur;
    int64_t now;
    aw_status rc =
        chs_write_value(ss, k, val, len, ttl_ms, CHS_ALWAYS, 0, "set", &cur, &now, err);
    if (rc == AW_OK && version)
        *version = cur;
    if (now)
        aw_chs_maybe_reap(ss, now);
    return rc;
}

static aw_status chs_del(void *ss, const aw_state_key *k, bool *existed, aw_error *err)
{
    chs_session *s = ss;
    chs_read rd;
    *existed = false;
    aw_status rc = read_value(s, k, &rd, err);
    if (rc != AW_OK)
        return rc;
    if (rd.live) {
        /* A tombstone: rows are never updated in place. */
        aw_chs_write w = value_row(s, k, &rd, NULL, 0, 0, 0);
        w.deleted = true;
        rc = chs_write1(s, &w, "delete", err);
        *existed = rc == AW_OK;
    }
    aw_chs_row_clear(&rd.row);
    return rc;
}

/* The whole value must be a decimal int64 (the text get returns). */
static bool parse_counter(const aw_chs_row *r, int64_t *out)
{
    if (r->vlen == 0 || r->vlen > 20 || strlen(r->value) != r->vlen || r->value[0] == '+' ||
        r->value[0] == ' ')
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(r->value, &end, 10);
    if (errno || end != r->value + r->vlen)
        return false;
    *out = (int64_t)v;
    return true;
}

static aw_status chs_increment(void *ss, const aw_state_key *k, int64_t delta, int64_t ttl_ms,
                               int64_t *value, aw_error *err)
{
    chs_session *s = ss;
    chs_read rd;
    aw_status rc = read_value(s, k, &rd, err);
    if (rc != AW_OK)
        return rc;
    int64_t cur = 0, expires = chs_deadline(rd.now, ttl_ms);
    uint64_t v = 1;
    if (rd.live && !parse_counter(&rd.row, &cur))
        rc = aw_error_set(err, AW_PERMANENT,
                          "increment: the stored value is not a decimal integer");
    else if ((delta > 0 && cur > INT64_MAX - delta) || (delta < 0 && cur < INT64_MIN - delta))
        rc = aw_error_set(err, AW_PERMANENT, "increment: int64 overflow");
    if (rc == AW_OK) {
        if (rd.live) {
            expires = rd.row.expires_at_ms; /* an existing counter keeps its expiry */
            v = rd.row.version + 1;
        }
        char num[24];
        int n = snprintf(num, sizeof(num), "%" PRId64, cur + delta);
        aw_chs_write w = value_row(s, k, &rd, num, (size_t)n, v, expires);
        rc = chs_write1(s, &w, "increment", err);
        if (rc == AW_OK)
            *value = cur + delta;
    }
    aw_chs_row_clear(&rd.row);
    return rc;
}

static aw_status chs_compare_and_swap(void *ss, const aw_state_key *k, uint64_t expected,
                                      const void *val, size_t len, int64_t ttl_ms,
                                      uint64_t *current, aw_error *err)
{
    uint64_t cur = 0;
    int64_t now;
    aw_status rc = chs_write_value(ss, k, val, len, ttl_ms, CHS_IF_VERSION, expected,
                                   "compare_and_swap", &cur, &now, err);
    if (rc == AW_CONFLICT)
        aw_error_set(err, AW_CONFLICT, "version mismatch: expected %" PRIu64 ", found %" PRIu64,
                     expected, cur);
    if (current && (rc == AW_OK || rc == AW_CONFLICT))
        *current = cur;
    return rc;
}

/* ---- scan ------------------------------------------------------------------------------ */

typedef struct scan_ctx {
    aw_state_scan_fn fn;
    void *ud;
    bool stopped;
} scan_ctx;

static aw_status scan_row(void *ctx, aw_chs_row *row, aw_error *err)
{
    (void)err;
    scan_ctx *c = ctx;
    if (c->stopped)
        return AW_OK;
    if (c->fn(c->ud, row->id, row->value, row->vlen) != 0)
        c->stopped = true;
    return AW_OK;
}

static aw_status chs_scan(void *ss, const char *ns, const char *tenant, const char *kind,
                          const char *prefix, aw_state_scan_fn fn, void *ud, aw_error *err)
{
    chs_session *s = ss;
    aw_state_key k = {.ns = ns, .tenant = tenant, .kind = kind, .id = prefix};
    aw_status rc = aw_chs_key(s, AW_CHS_SPACE_VALUE, &k, err);
    if (rc != AW_OK)
        return rc;
    aw_buf_reset(&s->sql);
    if (aw_chs_sql_scan(&s->sql, s->key.data, s->key.len, aw_time_now_ms()))
        return aw_chs_nomem(err);
    rc = aw_chs_exec(s, "scan", err);
    if (rc != AW_OK)
        return rc;
    /* The callback may call back into this session, which reuses the
     * response buffer: parse a copy. */
    aw_buf copy = {0};
    if (aw_buf_append(&copy, s->conn.resp.data ? s->conn.resp.data : "", s->conn.resp.len))
        return aw_chs_nomem(err);
    scan_ctx c = {.fn = fn, .ud = ud};
    rc = aw_chs_parse_rows(copy.data, copy.len, scan_row, &c, err);
    aw_buf_free(&copy);
    return rc;
}

/* No AW_STATE_CAP_ATOMIC: every conditional operation is a read followed by
 * a write (clickhouse_state.h). */
const aw_state_driver aw_state_clickhouse_driver = {
    .name = "clickhouse",
    .caps = 0,
    .create = chs_create,
    .destroy = chs_destroy,
    .session_open = chs_session_open,
    .session_close = chs_session_close,
    .check_and_set = chs_check_and_set,
    .get = chs_get,
    .set = chs_set,
    .del = chs_del,
    .increment = chs_increment,
    .compare_and_swap = chs_compare_and_swap,
    .scan = chs_scan,
    .lock_acquire = aw_chs_lock_acquire,
    .lock_extend = aw_chs_lock_extend,
    .lock_release = aw_chs_lock_release,
    .claim_batch = aw_chs_claim_batch,
    .complete_batch = aw_chs_complete_batch,
    .lease_renew_batch = aw_chs_lease_renew_batch,
    .lease_release = aw_chs_lease_release,
    /* No due-time index (the due_* slots stay NULL, so the front answers
     * AW_UNSUPPORTED): "exactly one replica takes an item" needs the
     * atomic conditional write this backend does not have, and unlike
     * dedup there is no best-effort mode an operator could opt into. */
    .migrate = chs_migrate,
};
