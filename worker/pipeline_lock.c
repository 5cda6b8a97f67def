/* Lock rules in the pipeline (docs/rules.md, "lock"): actions whose rendered
 * lock key is equal execute one at a time across all replicas, whatever
 * their dedup identity.
 *
 * After the claim, only for items whose claim was ACQUIRED (a DONE claim is
 * answered as without rules, a BUSY one waits as always): one
 * lock_acquire per item, in the state backend every replica shares (key:
 * ns "acteon.rules", tenant the rule name, kind "lock", id the rendered
 * key), one round trip each.
 *
 * Acquired: the lock goes to the lease keeper, which extends it while the
 * call runs; the call's gate (pipeline_execute.c) starts no attempt unless
 * the lock, like the dedup lease, is known held until the call has started.
 * Its token goes to the provider (X-Acteon-Lock-Token) and into the
 * details ("lock": {key, token}). It is released right after the done
 * record is written (pipeline_records.c), or when the item is given up.
 *
 * Held elsewhere: the dedup lease is released (so a parked action holds no
 * identity while it waits: a duplicate of it elsewhere is not blocked
 * behind a lock it does not hold either) and the job is parked like a BUSY
 * claim: not_before set with backoff, its offset uncommitted; no thread
 * blocks, other keys go on. Its next try claims again from the start. Once
 * it has waited longer than max_wait_ms: outcome failed (error_code
 * lock_timeout) or, with on_timeout = "dlq", rejected (reason lock_timeout,
 * a DLQ copy); the lease is released without a done record, as for a
 * throttled action: nothing ran. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/outcome_details.h"
#include "worker/pipeline_internal.h"

/* The longest single park between two tries (the wait grows with backoff
 * from dedup.busy_retry_ms up to this). Short enough that a lock freed is
 * taken again soon; long enough that 100 waiters on one key make 100 tries a
 * second, not thousands. */
#define LOCK_RETRY_MAX_MS 1000

aw_state_key aw_pipeline_lock_key(const item *it)
{
    return (aw_state_key){.ns = "acteon.rules", .tenant = it->lock->name, .kind = "lock",
                          .id = it->lock_key};
}

typedef struct acquire_call {
    aw_state_key key;
    int64_t ttl_ms;
    uint64_t token;
    bool conflict;
} acquire_call;

/* A conflict is an answer (held elsewhere), not a failure to retry. */
static aw_status call_acquire(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    (void)n;
    acquire_call *c = items;
    c->conflict = false;
    aw_status rc = aw_state_lock_acquire(s, &c->key, c->ttl_ms, &c->token, err);
    if (rc == AW_CONFLICT) {
        c->conflict = true;
        return AW_OK;
    }
    return rc;
}

/* Waited too long: failed or, with on_timeout = "dlq", rejected to the DLQ;
 * nothing ran, so no done record and token 0. */
static void timed_out(batch *b, item *it, int64_t waited_ms)
{
    const aw_rule_config *r = it->lock;
    aw_job *j = it->job;
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, r);
    if (rc)
        atomic_fetch_add(&rc->timed_out, 1);
    it->applied = r;
    aw_buf_reset(&it->details);
    if (strcmp(r->on_timeout, "dlq") == 0) {
        aw_reject *rej = &j->reject;
        rej->reason = AW_REJECT_LOCK_TIMEOUT;
        snprintf(rej->field, sizeof(rej->field), "%s", "");
        snprintf(rej->detail, sizeof(rej->detail),
                 "rule \"%.64s\": lock \"%.100s\" held elsewhere for more than %lld ms",
                 r->name, it->lock_key, (long long)r->max_wait_ms);
        snprintf(rej->action_id, sizeof(rej->action_id), "%s", j->action.id);
        j->rejected = true;
        if (aw_details_rejected(&it->details, rej))
            aw_buf_reset(&it->details);
        it->outcome = AW_OUTCOME_REJECTED;
    } else {
        if (aw_details_lock_timeout(&it->details, r->name, it->lock_key, waited_ms,
                                    r->max_wait_ms))
            aw_buf_reset(&it->details);
        it->outcome = AW_OUTCOME_FAILED;
    }
    AW_INFO("worker", "%s: rule %s: lock %s still held elsewhere after %lld ms: %s",
            j->record.record_id, r->name, it->lock_key, (long long)waited_ms,
            aw_outcome_name(it->outcome));
    it->token = 0;
    it->finished = true;
    it->provider = -1;
}

/* Held elsewhere: park the job (like busy() in pipeline.c), or time out. */
static void held_elsewhere(batch *b, item *it)
{
    aw_job *j = it->job;
    int64_t now = aw_mono_now_ms();
    if (!j->lock_wait_since_mono)
        j->lock_wait_since_mono = now;
    int64_t waited = now - j->lock_wait_since_mono;
    aw_pipeline_release_lease(b, it, "a lock waiter");
    if (waited > it->lock->max_wait_ms) {
        timed_out(b, it, waited);
        return;
    }
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, it->lock);
    if (rc)
        atomic_fetch_add(&rc->waited, 1);
    j->lock_waits++;
    int64_t wait = aw_backoff_ms(j->lock_waits, b->ctx->cfg->dedup.busy_retry_ms,
                                 LOCK_RETRY_MAX_MS);
    /* Come back just after the deadline at the latest, to time out on time. */
    int64_t left = it->lock->max_wait_ms - waited + 1;
    if (left < wait)
        wait = left;
    j->not_before_mono = now + wait;
    it->provider = -1; /* not this round */
    if (j->lock_waits == 1 || j->lock_waits % 50 == 0)
        AW_DEBUG("worker", "%s: rule %s: lock %s held elsewhere, waiting (%d)",
                 j->record.record_id, it->lock->name, it->lock_key, j->lock_waits);
}

/* Taken: renewed by the keeper from the time the request was sent. */
static void acquired(batch *b, item *it, uint64_t token, int64_t sent_mono)
{
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, it->lock);
    if (rc)
        atomic_fetch_add(&rc->acquired, 1);
    it->applied = it->lock;
    it->lock_token = token;
    it->job->lock_token = token;
    it->job->lock_waits = 0;
    it->job->lock_wait_since_mono = 0;
    aw_state_key key = aw_pipeline_lock_key(it);
    /* 0 (no memory): not known held, so the gate refuses the call and the
     * job is claimed again later. */
    it->lock_handle = aw_lease_keeper_add_lock(b->ctx->keeper, &key, token, it->lock->lock_ttl_ms,
                                               sent_mono);
}

bool aw_pipeline_lock(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        /* Acquired claims only (as for throttle counts). */
        if (!it->lock || it->finished || it->provider < 0 || !it->token)
            continue;
        acquire_call c = {.key = aw_pipeline_lock_key(it), .ttl_ms = it->lock->lock_ttl_ms};
        int64_t sent = aw_mono_now_ms();
        if (!aw_pipeline_with_retry(b->p,
                                    &(aw_call_site){"lock acquire", &b->ctx->metrics.state_retries,
                                                    &b->ctx->metrics.lock_ms},
                                    call_acquire, &c, 1))
            return false;
        if (c.conflict)
            held_elsewhere(b, it);
        else
            acquired(b, it, c.token, sent);
    }
    return true;
}

bool aw_pipeline_lock_held(batch *b, const item *it, int64_t start_until_ms)
{
    if (!it->lock_token)
        return true;
    return aw_lease_keeper_held_until(b->ctx->keeper, it->lock_handle) > start_until_ms;
}

void aw_pipeline_lock_release(batch *b, item *it)
{
    if (!it->lock_token)
        return;
    if (it->lock_handle)
        aw_lease_keeper_remove(b->ctx->keeper, &it->lock_handle, 1);
    aw_state_key key = aw_pipeline_lock_key(it);
    aw_error err;
    /* A failure costs a wait: the lock expires after lock_ttl_ms. */
    if (aw_state_lock_release(b->p->state, &key, it->lock_token, &err) != AW_OK)
        AW_DEBUG("worker", "%s: releasing lock %s (token %" PRIu64 "): %s",
                 it->job->record.record_id, it->lock_key, it->lock_token, err.msg);
    it->lock_handle = 0;
    it->lock_token = 0;
    it->job->lock_token = 0;
}
