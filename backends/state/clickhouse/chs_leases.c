/* Locks and two-phase dedup of the "clickhouse" state backend. Best effort:
 * every operation reads the newest row, decides, then inserts a new row; a
 * concurrent caller can decide on the same read (clickhouse_state.h). A
 * token is the ver of the row that took the lock or lease, so tokens of a
 * name increase as long as each writer read its predecessor's row, and two
 * colliding writers still get different tokens: the loser's complete,
 * extend or release then reports stale / AW_CONFLICT once it reads the
 * winner's row.
 *
 * Done records are written twice by complete, in one INSERT: as the next
 * row of the lease's key in space 'd' (which ends the lease: renew and
 * release refuse, a claim after the window takes the key at once) and in
 * space 'D' of their own. The lease keeper renews from another thread and
 * session: a renewal that read the lease before the done record was
 * written inserts a lease row after it, newer in space 'd'. Claims and
 * completes therefore read both spaces and let a live done record of
 * either win; nothing but complete writes space 'D', so no lease row can
 * hide it from a reader or make the merge drop it. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/clickhouse/chs_internal.h"
#include "common/aw_clock.h"

/* ---- locks ---------------------------------------------------------------- */

static aw_status write_row(chs_session *s, const aw_chs_write *w, const char *what,
                           aw_error *err)
{
    aw_buf_reset(&s->sql);
    if (aw_chs_sql_insert_head(&s->sql) || aw_chs_sql_row(&s->sql, w, true))
        return aw_chs_nomem(err);
    return aw_chs_exec(s, what, err);
}

static aw_chs_write token_row(chs_session *s, char space, const aw_state_key *k,
                              const aw_chs_row *r, bool found, int64_t now)
{
    return (aw_chs_write){.space = space,
                          .key = s->key.data,
                          .klen = s->key.len,
                          .id = k->id,
                          .ver = aw_chs_next_ver(s, found ? r->ver : 0, now),
                          .token = found ? r->token : 0,
                          .phase = found ? r->phase : 0,
                          .written_at_ms = now};
}

aw_status aw_chs_lock_acquire(void *ss, const aw_state_key *k, int64_t ttl_ms, uint64_t *token,
                              aw_error *err)
{
    chs_session *s = ss;
    aw_chs_row r;
    bool found;
    aw_status rc = aw_chs_read_key(s, AW_CHS_SPACE_LOCK, k, &r, &found, err);
    if (rc != AW_OK)
        return rc;
    int64_t now = aw_time_now_ms();
    if (aw_chs_row_live(&r, now)) {
        rc = aw_error_set(err, AW_CONFLICT, "lock held (token %" PRIu64 ")", r.token);
    } else {
        aw_chs_write w = token_row(s, AW_CHS_SPACE_LOCK, k, &r, found, now);
        w.token = w.ver;
        w.expires_at_ms = ttl_ms > 0 ? now + ttl_ms : 0;
        rc = write_row(s, &w, "lock_acquire", err);
        if (rc == AW_OK)
            *token = w.token;
    }
    aw_chs_row_clear(&r);
    aw_chs_maybe_reap(s, now);
    return rc;
}

/* Rewrite a held lock or lease (extend: expires > 0; release: a
 * tombstone). AW_CONFLICT when token does not hold it now. */
static aw_status rewrite_held(chs_session *s, char space, const aw_state_key *k, uint64_t token,
                              int64_t ttl_ms, bool release, const char *what, aw_error *err)
{
    aw_chs_row r;
    bool found;
    aw_status rc = aw_chs_read_key(s, space, k, &r, &found, err);
    if (rc != AW_OK)
        return rc;
    int64_t now = aw_time_now_ms();
    bool held = aw_chs_row_live(&r, now) && r.token == token &&
                (space != AW_CHS_SPACE_DEDUP || r.phase == AW_CHS_PHASE_LEASE);
    if (!held) {
        rc = aw_error_set(err, AW_CONFLICT, "%s: token %" PRIu64 " does not hold \"%s\"", what,
                          token, k->id ? k->id : "");
    } else {
        aw_chs_write w = token_row(s, space, k, &r, found, now);
        w.deleted = release;
        w.expires_at_ms = release ? 0 : (ttl_ms > 0 ? now + ttl_ms : 0);
        rc = write_row(s, &w, what, err);
    }
    aw_chs_row_clear(&r);
    return rc;
}

aw_status aw_chs_lock_extend(void *s, const aw_state_key *k, uint64_t token, int64_t ttl_ms,
                             aw_error *err)
{
    return rewrite_held(s, AW_CHS_SPACE_LOCK, k, token, ttl_ms, false, "lock_extend", err);
}

aw_status aw_chs_lock_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return rewrite_held(s, AW_CHS_SPACE_LOCK, k, token, 0, true, "lock_release", err);
}

aw_status aw_chs_lease_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return rewrite_held(s, AW_CHS_SPACE_DEDUP, k, token, 0, true, "lease_release", err);
}

/* ---- batches: one SELECT for every identity, one INSERT for the writes ------
 * Each identity comes once per batch (the state front folds repeats). */

/* The encoded keys of a batch and the newest row of each (found or not) in
 * space 'd' and in space 'D'. */
typedef struct batch {
    aw_buf keys;     /* every key, back to back */
    size_t *off;
    size_t *len;
    aw_chs_row *rows; /* space 'd'; rows[i].key == NULL: no row for item i */
    aw_chs_row *done; /* space 'D'; likewise */
    size_t n;
} batch;

static const char dedup_spaces[] = {AW_CHS_SPACE_DEDUP, AW_CHS_SPACE_DONE, '\0'};

static void batch_free(batch *bt)
{
    for (size_t i = 0; bt->rows && i < bt->n; i++)
        aw_chs_row_clear(&bt->rows[i]);
    for (size_t i = 0; bt->done && i < bt->n; i++)
        aw_chs_row_clear(&bt->done[i]);
    free(bt->rows);
    free(bt->done);
    free(bt->off);
    free(bt->len);
    aw_buf_free(&bt->keys);
}

static const char *batch_key(const batch *bt, size_t i) { return bt->keys.data + bt->off[i]; }

static aw_status on_batch_row(void *ctx, aw_chs_row *row, aw_error *err)
{
    (void)err;
    batch *bt = ctx;
    aw_chs_row *dst = row->space == AW_CHS_SPACE_DONE ? bt->done : bt->rows;
    for (size_t i = 0; i < bt->n; i++) {
        if (dst[i].key || row->klen != bt->len[i] ||
            memcmp(row->key, batch_key(bt, i), row->klen) != 0)
            continue;
        dst[i] = *row;
        memset(row, 0, sizeof(*row));
        break;
    }
    return AW_OK;
}

/* How claim, complete and renew start: encode the keys of n items
 * (key_at(items, i)), read their rows, read the clock (*now, which every
 * decision and row of the batch uses) and start the one INSERT that
 * answers them in s->sql. batch_end sends it. */
static aw_status batch_begin(chs_session *s, batch *bt, size_t n,
                             const aw_state_key *(*key_at)(const void *, size_t),
                             const void *items, int64_t *now, aw_error *err)
{
    memset(bt, 0, sizeof(*bt));
    bt->n = n;
    bt->off = calloc(n ? n : 1, sizeof(*bt->off));
    bt->len = calloc(n ? n : 1, sizeof(*bt->len));
    bt->rows = calloc(n ? n : 1, sizeof(*bt->rows));
    bt->done = calloc(n ? n : 1, sizeof(*bt->done));
    const char **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    aw_status rc = bt->off && bt->len && bt->rows && bt->done && ptrs ? AW_OK : aw_chs_nomem(err);
    for (size_t i = 0; rc == AW_OK && i < n; i++) {
        rc = aw_chs_key(s, AW_CHS_SPACE_DEDUP, key_at(items, i), err);
        bt->off[i] = bt->keys.len;
        bt->len[i] = s->key.len;
        if (rc == AW_OK && aw_buf_append(&bt->keys, s->key.data, s->key.len))
            rc = aw_chs_nomem(err);
    }
    for (size_t i = 0; rc == AW_OK && i < n; i++)
        ptrs[i] = batch_key(bt, i);
    aw_buf_reset(&s->sql);
    if (rc == AW_OK && aw_chs_sql_latest(&s->sql, dedup_spaces, ptrs, bt->len, n))
        rc = aw_chs_nomem(err);
    free(ptrs);
    if (rc == AW_OK)
        rc = aw_chs_exec(s, "read dedup records", err);
    if (rc == AW_OK)
        rc = aw_chs_parse_rows(s->conn.resp.data, s->conn.resp.len, on_batch_row, bt, err);
    *now = aw_time_now_ms();
    aw_buf_reset(&s->sql);
    if (rc == AW_OK && aw_chs_sql_insert_head(&s->sql))
        rc = aw_chs_nomem(err);
    return rc;
}

/* Send the batch's INSERT when rc is still AW_OK and it has rows, then
 * free the batch. */
static aw_status batch_end(chs_session *s, batch *bt, aw_status rc, size_t nwrites,
                           const char *what, aw_error *err)
{
    if (rc == AW_OK && nwrites)
        rc = aw_chs_exec(s, what, err);
    batch_free(bt);
    return rc;
}

static const aw_state_key *claim_key(const void *items, size_t i)
{
    return &((const aw_claim *)items)[i].key;
}

static const aw_state_key *complete_key(const void *items, size_t i)
{
    return &((const aw_complete *)items)[i].key;
}

/* Item i's live done record: space 'D' first, else a done row of space 'd'
 * (records completed before space 'D' existed have only that one). NULL
 * when neither is live at now. */
static const aw_chs_row *live_done(const batch *bt, size_t i, int64_t now)
{
    if (aw_chs_row_live(&bt->done[i], now) && bt->done[i].phase == AW_CHS_PHASE_DONE)
        return &bt->done[i];
    if (aw_chs_row_live(&bt->rows[i], now) && bt->rows[i].phase == AW_CHS_PHASE_DONE)
        return &bt->rows[i];
    return NULL;
}

/* What the next row of item i's key follows: the larger ver of its two
 * spaces (0 when it has no row), so tokens keep growing. */
static uint64_t prev_ver(const batch *bt, size_t i)
{
    return bt->rows[i].ver > bt->done[i].ver ? bt->rows[i].ver : bt->done[i].ver;
}

/* Decide item i from its row; append the lease row to s->sql when taken. */
static aw_status claim_one(chs_session *s, batch *bt, aw_claim *items, size_t i, int64_t now,
                           size_t *nwrites, aw_error *err)
{
    aw_claim *c = &items[i];
    const aw_chs_row *d = live_done(bt, i, now);
    if (d) {
        c->result = AW_CLAIM_DONE;
        c->done_summary = strdup(d->value ? d->value : "");
        c->done_topic = strdup(d->topic ? d->topic : "");
        c->done_partition = d->partition;
        c->done_offset = d->offset;
        c->done_token = d->token;
        return c->done_summary && c->done_topic ? AW_OK : aw_chs_nomem(err);
    }
    const aw_chs_row *r = &bt->rows[i];
    if (aw_chs_row_live(r, now)) {
        c->result = AW_CLAIM_BUSY;
        c->token = r->token;
        c->retry_after_ms = r->expires_at_ms > now ? r->expires_at_ms - now : 1;
        return AW_OK;
    }
    aw_chs_write w = {.space = AW_CHS_SPACE_DEDUP,
                      .key = batch_key(bt, i),
                      .klen = bt->len[i],
                      .id = c->key.id,
                      .ver = aw_chs_next_ver(s, prev_ver(bt, i), now),
                      .phase = AW_CHS_PHASE_LEASE,
                      .expires_at_ms = now + c->lease_ms,
                      .written_at_ms = now};
    w.token = w.ver;
    if (aw_chs_sql_row(&s->sql, &w, *nwrites == 0))
        return aw_chs_nomem(err);
    (*nwrites)++;
    c->result = AW_CLAIM_ACQUIRED;
    c->token = w.token;
    return AW_OK;
}

aw_status aw_chs_claim_batch(void *ss, aw_claim *items, size_t n, aw_error *err)
{
    chs_session *s = ss;
    batch bt;
    int64_t now;
    size_t nwrites = 0;
    aw_status rc = batch_begin(s, &bt, n, claim_key, items, &now, err);
    for (size_t i = 0; rc == AW_OK && i < n; i++)
        rc = claim_one(s, &bt, items, i, now, &nwrites, err);
    /* Between the SELECT above and this INSERT another process may take
     * the same lease: both then execute (not atomic, see the header). */
    rc = batch_end(s, &bt, rc, nwrites, "take dedup leases", err);
    if (rc == AW_OK)
        aw_chs_maybe_reap(s, now);
    return rc;
}

aw_status aw_chs_complete_batch(void *ss, aw_complete *items, size_t n, aw_error *err)
{
    chs_session *s = ss;
    batch bt;
    int64_t now;
    size_t nwrites = 0;
    aw_status rc = batch_begin(s, &bt, n, complete_key, items, &now, err);
    for (size_t i = 0; rc == AW_OK && i < n; i++) {
        aw_complete *c = &items[i];
        const aw_chs_row *r = &bt.rows[i];
        /* A live done record stands even when a late renewal made the
         * caller's lease the newest row of 'd' again: a repeated complete
         * is stale, as it is without the race. */
        if (live_done(&bt, i, now) || !aw_chs_row_live(r, now) ||
            r->phase != AW_CHS_PHASE_LEASE || r->token != c->token)
            continue;
        const char *sum = c->summary ? c->summary : "";
        aw_chs_write w = {.space = AW_CHS_SPACE_DEDUP,
                          .key = batch_key(&bt, i),
                          .klen = bt.len[i],
                          .id = c->key.id,
                          .value = sum,
                          .vlen = strlen(sum),
                          .ver = aw_chs_next_ver(s, prev_ver(&bt, i), now),
                          .token = c->token,
                          .phase = AW_CHS_PHASE_DONE,
                          .topic = c->source.topic,
                          .partition = c->source.partition,
                          .offset = c->source.offset,
                          .expires_at_ms = c->window_ms > 0 ? now + c->window_ms : 0,
                          .written_at_ms = now};
        aw_chs_write own = w; /* the copy no lease row can outrank */
        own.space = AW_CHS_SPACE_DONE;
        if (aw_chs_sql_row(&s->sql, &w, nwrites == 0) || aw_chs_sql_row(&s->sql, &own, false)) {
            rc = aw_chs_nomem(err);
            break;
        }
        nwrites++;
        c->stale = false;
    }
    return batch_end(s, &bt, rc, nwrites, "write done records", err);
}

static const aw_state_key *renew_key(const void *items, size_t i)
{
    return &((const aw_lease_renewal *)items)[i].key;
}

/* Best effort like every write here: one SELECT for the batch's records,
 * then one INSERT of a new lease row (same token, expiry now + lease_ms)
 * for each item whose lease is live and held with its token, as
 * lock_extend does for one. A renewal racing a complete of another session
 * can still land after the done record (see the top of this file); a live
 * done record in space 'D' makes the item stale even when such a late
 * lease row is the newest of space 'd', so renewals stop there, as a
 * repeated complete does. */
aw_status aw_chs_lease_renew_batch(void *ss, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                                   aw_error *err)
{
    chs_session *s = ss;
    batch bt;
    int64_t now;
    size_t nwrites = 0;
    aw_status rc = batch_begin(s, &bt, n, renew_key, items, &now, err);
    for (size_t i = 0; rc == AW_OK && i < n; i++) {
        aw_lease_renewal *r = &items[i];
        const aw_chs_row *row = &bt.rows[i];
        if (live_done(&bt, i, now) || !aw_chs_row_live(row, now) ||
            row->phase != AW_CHS_PHASE_LEASE || row->token != r->token)
            continue;
        aw_chs_write w = {.space = AW_CHS_SPACE_DEDUP,
                          .key = batch_key(&bt, i),
                          .klen = bt.len[i],
                          .id = r->key.id,
                          .ver = aw_chs_next_ver(s, prev_ver(&bt, i), now),
                          .token = r->token,
                          .phase = AW_CHS_PHASE_LEASE,
                          .expires_at_ms = now + lease_ms,
                          .written_at_ms = now};
        if (aw_chs_sql_row(&s->sql, &w, nwrites == 0)) {
            rc = aw_chs_nomem(err);
            break;
        }
        nwrites++;
        r->stale = false;
    }
    /* On failure the front makes every item stale again. */
    return batch_end(s, &bt, rc, nwrites, "renew dedup leases", err);
}
