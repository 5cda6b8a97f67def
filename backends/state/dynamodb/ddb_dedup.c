/* Two-phase dedup of the "dynamodb" state backend (docs/design.md
 * section 1).
 *
 * claim_batch: one conditional UpdateItem per identity (see
 * aw_ddb_build_acquire), all in flight at once on the session's multi
 * handle; the losers' items are then read (ConsistentRead, again all at
 * once) to tell DONE from BUSY. A loser whose read finds the record absent
 * or expired (released or expired between the two requests) claims again,
 * for a bounded number of rounds.
 *
 * Each identity comes once per batch (the state front folds repeats): two
 * requests of one batch for one item would race each other.
 *
 * A batch that fails (AW_TRANSIENT) part-way may have taken some leases:
 * a retried claim then finds them BUSY (its own, unknown to it) until they
 * expire, as with any remote backend whose answer was lost. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/dynamodb/ddb_internal.h"
#include "common/aw_clock.h"

aw_status aw_ddb_batch_reserve(ddb_session *s, size_t n, aw_error *err)
{
    if (n <= s->cap)
        return AW_OK;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    aw_ddb_call *c = realloc(s->calls, cap * sizeof(*c));
    if (!c)
        return aw_ddb_nomem(err);
    s->calls = c;
    aw_buf *k = realloc(s->keys, cap * sizeof(*k));
    if (!k)
        return aw_ddb_nomem(err);
    s->keys = k;
    memset(s->calls + s->cap, 0, (cap - s->cap) * sizeof(*c));
    memset(s->keys + s->cap, 0, (cap - s->cap) * sizeof(*k));
    s->cap = cap;
    return AW_OK;
}

/* Encode item i's dedup pk into s->keys[i]. */
static aw_status batch_key(ddb_session *s, size_t i, const aw_state_key *k, aw_ddb_key *out,
                           aw_error *err)
{
    aw_buf_reset(&s->keys[i]);
    int rc = aw_ddb_item_pk(s->b, &s->keys[i], k, DDB_SPACE_DEDUP);
    if (rc == -2)
        return aw_error_set(err, AW_PERMANENT,
                            "state key: namespace, tenant and kind are required");
    if (rc)
        return aw_ddb_nomem(err);
    *out = (aw_ddb_key){s->keys[i].data, s->keys[i].len, DDB_ITEM_SK, strlen(DDB_ITEM_SK)};
    return AW_OK;
}

/* Prepare batch call slot j with op and body (owned by the slot from now;
 * NULL: out of memory). */
static aw_status slot(ddb_session *s, size_t j, const char *op, char *body, aw_error *err)
{
    aw_ddb_call_clear(&s->calls[j]);
    s->calls[j].op = op;
    s->calls[j].body = body;
    return body ? AW_OK : aw_ddb_nomem(err);
}

/* Fill c from the loser's read r: DONE, BUSY, or (absent/expired) false. */
static bool claim_from_read(aw_claim *c, aw_ddb_record *r, int64_t now)
{
    if (!aw_ddb_record_live(r, now))
        return false;
    if (r->st == 'D') {
        c->result = AW_CLAIM_DONE;
        c->done_token = r->tok;
        c->done_summary = r->sum ? r->sum : strdup("");
        c->done_topic = r->topic ? r->topic : strdup("");
        r->sum = r->topic = NULL;
        c->done_partition = r->part;
        c->done_offset = r->off;
        return true;
    }
    c->result = AW_CLAIM_BUSY;
    c->token = r->tok;
    c->retry_after_ms = r->has_exp ? r->exp_ms - now : 1;
    if (c->retry_after_ms < 1)
        c->retry_after_ms = 1;
    return true;
}

aw_status aw_ddb_claim_batch(void *ss, aw_claim *items, size_t n, aw_error *err)
{
    ddb_session *s = ss;
    aw_status rc = aw_ddb_batch_reserve(s, n, err);
    size_t *pend = malloc(n * sizeof(*pend));
    aw_ddb_key *keys = malloc(n * sizeof(*keys));
    size_t npend = 0;
    if (!pend || !keys)
        rc = aw_ddb_nomem(err);
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        rc = batch_key(s, i, &items[i].key, &keys[i], err);
        pend[npend++] = i;
    }
    for (int round = 0; rc == AW_OK && npend > 0; round++) {
        if (round == DDB_MAX_ROUNDS) {
            rc = aw_error_set(err, AW_TRANSIENT, "dynamodb claim: records keep changing");
            break;
        }
        /* 1. the conditional claims */
        int64_t now = aw_time_now_ms();
        for (size_t j = 0; j < npend && rc == AW_OK; j++) {
            size_t i = pend[j];
            rc = slot(s, j, "UpdateItem",
                      aw_ddb_build_acquire(s->b->url.table, &keys[i], true, items[i].lease_ms,
                                           now),
                      err);
        }
        if (rc == AW_OK)
            rc = aw_ddb_run(&s->conn, s->calls, npend, err);
        size_t nlost = 0;
        for (size_t j = 0; j < npend && rc == AW_OK; j++) {
            size_t i = pend[j];
            aw_status st = aw_ddb_call_status(&s->calls[j], err);
            if (st == AW_CONFLICT) {
                pend[nlost++] = i; /* in place: nlost <= j */
                continue;
            }
            if (st != AW_OK) {
                rc = st;
                break;
            }
            aw_ddb_record r;
            rc = aw_ddb_parse_record(s->calls[j].resp.data, s->calls[j].resp.len, "Attributes",
                                     &r, err);
            if (rc == AW_OK) {
                items[i].result = AW_CLAIM_ACQUIRED;
                items[i].token = r.tok;
                if (!r.tok)
                    rc = aw_error_set(err, AW_INTERNAL, "dynamodb claim: no token returned");
            }
            aw_ddb_record_clear(&r);
        }
        if (rc != AW_OK)
            break;
        aw_error_clear(err); /* the losses were expected */
        if (nlost == 0)
            break;
        /* 2. read the records the losers met */
        for (size_t j = 0; j < nlost && rc == AW_OK; j++)
            rc = slot(s, j, "GetItem", aw_ddb_build_get(s->b->url.table, &keys[pend[j]]), err);
        if (rc == AW_OK)
            rc = aw_ddb_run(&s->conn, s->calls, nlost, err);
        now = aw_time_now_ms();
        npend = 0;
        for (size_t j = 0; j < nlost && rc == AW_OK; j++) {
            size_t i = pend[j];
            aw_ddb_record r;
            rc = aw_ddb_call_status(&s->calls[j], err);
            if (rc == AW_OK)
                rc = aw_ddb_parse_record(s->calls[j].resp.data, s->calls[j].resp.len, "Item", &r,
                                         err);
            if (rc != AW_OK)
                break;
            if (!claim_from_read(&items[i], &r, now))
                pend[npend++] = i; /* gone meanwhile: claim again */
            aw_ddb_record_clear(&r);
        }
    }
    free(pend);
    free(keys);
    return rc;
}

/* Send the n conditional updates in s->calls: an item whose condition
 * held is marked held (not stale); a lost condition is that item's stale
 * answer, not an error; any other failure fails the call. */
static aw_status run_conditional(ddb_session *s, size_t n, void (*held)(void *items, size_t i),
                                 void *items, aw_error *err)
{
    aw_status rc = aw_ddb_run(&s->conn, s->calls, n, err);
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        aw_status st = aw_ddb_call_status(&s->calls[i], err);
        if (st == AW_OK)
            held(items, i);
        else if (st != AW_CONFLICT)
            rc = st;
    }
    if (rc == AW_OK)
        aw_error_clear(err);
    return rc;
}

aw_status aw_ddb_conditional_batch(ddb_session *s, void *items, size_t n, int64_t ttl_ms,
                                   aw_ddb_body_fn body, void (*held)(void *items, size_t i),
                                   aw_error *err)
{
    aw_status rc = aw_ddb_batch_reserve(s, n, err);
    int64_t now = aw_time_now_ms();
    for (size_t i = 0; i < n && rc == AW_OK; i++) {
        char *req = NULL;
        rc = body(s, items, i, ttl_ms, now, &req, err);
        if (rc == AW_OK)
            rc = slot(s, i, "UpdateItem", req, err);
    }
    return rc == AW_OK ? run_conditional(s, n, held, items, err) : rc;
}

static void complete_held(void *items, size_t i) { ((aw_complete *)items)[i].stale = false; }

static void renewal_held(void *items, size_t i) { ((aw_lease_renewal *)items)[i].stale = false; }

static aw_status complete_body(ddb_session *s, const void *items, size_t i, int64_t ttl_ms,
                               int64_t now, char **req, aw_error *err)
{
    (void)ttl_ms;
    aw_ddb_key key;
    const aw_complete *c = &((const aw_complete *)items)[i];
    aw_status rc = batch_key(s, i, &c->key, &key, err);
    if (rc == AW_OK)
        *req = aw_ddb_build_complete(s->b->url.table, &key, c->token, c->source.topic,
                                     c->source.partition, c->source.offset, c->summary,
                                     c->window_ms, now);
    return rc;
}

aw_status aw_ddb_complete_batch(void *ss, aw_complete *items, size_t n, aw_error *err)
{
    return aw_ddb_conditional_batch(ss, items, n, 0, complete_body, complete_held, err);
}

static aw_status renew_body(ddb_session *s, const void *items, size_t i, int64_t lease_ms,
                            int64_t now, char **req, aw_error *err)
{
    aw_ddb_key key;
    const aw_lease_renewal *r = &((const aw_lease_renewal *)items)[i];
    aw_status rc = batch_key(s, i, &r->key, &key, err);
    if (rc == AW_OK)
        *req = aw_ddb_build_hold(s->b->url.table, &key, true, r->token, AW_DDB_HOLD_EXTEND,
                                 lease_ms, now);
    return rc;
}

/* DynamoDB has no batch of conditional updates (BatchWriteItem takes no
 * condition; TransactWriteItems would make one lost lease fail them all,
 * and dynalite has no transactions), so each renewal is its own
 * conditional UpdateItem, as for complete_batch: all sent concurrently on
 * the session's multi handle, AW_DDB_MAX_INFLIGHT in flight at a time. A
 * lost condition is the item's stale answer; any other failure fails the
 * call (some leases may have been renewed: the caller counts none). */
aw_status aw_ddb_lease_renew_batch(void *ss, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                                   aw_error *err)
{
    return aw_ddb_conditional_batch(ss, items, n, lease_ms, renew_body, renewal_held, err);
}

aw_status aw_ddb_lease_release(void *ss, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return aw_ddb_hold(ss, k, true, token, AW_DDB_HOLD_RELEASE, 0, err);
}
