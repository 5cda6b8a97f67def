/* Step 3 of the pipeline: rounds of provider calls (worker/execute_round.h),
 * each call behind the lease gate, the done records written as the answers
 * come (pipeline_records.c). */
#include "worker/pipeline_internal.h"

#include <stdio.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/execute_round.h"
#include "worker/group_flush.h"
#include "worker/outcome_details.h"

/* How long after its start a round may still start calls
 * (execute_round.h). While the recorder takes the done records as the
 * answers come, a round is a sliding window over the whole batch: a call
 * starts as soon as another answers, for a third of the shortest lease the
 * batch's calls need (the claim's, and a lock rule's lock's): the lease
 * keeper renews at that age, so the gate still finds each one held, where a
 * longer window would have it refuse every call under a shorter lock.
 * While hand-overs to the recorder fail, rounds are kept short
 * (ROUND_START_WINDOW_SHORT_MS): the worker thread's own write at the end
 * of each round, retried through the outage, is then what records them. */
#define ROUND_START_WINDOW_SHORT_MS 20

static int64_t round_start_window_ms(const batch *b)
{
    int64_t shortest = b->ctx->cfg->dedup.lease_ms;
    for (size_t i = 0; i < b->n; i++) {
        const item *it = &b->items[i];
        if (it->lock_token && it->lock && it->lock->lock_ttl_ms < shortest)
            shortest = it->lock->lock_ttl_ms;
    }
    int64_t third = shortest / 3;
    return b->submit_failed || third < ROUND_START_WINDOW_SHORT_MS ? ROUND_START_WINDOW_SHORT_MS
                                                                   : third;
}

/* The provider's last answer (worker/execute_round) becomes the outcome. */
static void executed(batch *b, item *it, const aw_exec_item *x)
{
    aw_details_executed(&it->details, &x->res, x->attempts);
    it->outcome = x->res.ok ? AW_OUTCOME_EXECUTED : AW_OUTCOME_FAILED;
    it->attempts = x->attempts;
    it->executed = true;
    it->finished = true;
    it->answered_us = aw_mono_now_us();
    /* Out of memory: the details stay as they were, without the lock. */
    if (it->lock_token)
        (void)aw_details_add_lock(&it->details, 0, it->lock_key, it->lock_token);
    if (it->move)
        aw_pipeline_machine_executed(it, x->res.ok);
    /* A chain step's result goes into its done record with the outcome: a
     * replica that finds the step done continues with it (chain_run.h). */
    if (it->job->answer)
        (void)aw_details_add_result(&it->details, 0, it->job->answer->data,
                                    it->job->answer->len);
    if (it->job->group_rule) { /* a group's call: out of memory, no "group" */
        if (x->res.ok)
            it->outcome = AW_OUTCOME_GROUP_FLUSHED;
        (void)aw_group_flush_details(it->job, &it->details, 0);
    }
    if (b->p->on_executed)
        b->p->on_executed(b->p->on_executed_ud, it->job, it->token);
}

/* Was the job's partition lost (not handed over in order: session timed
 * out) since it was polled? Then its offset can never be committed here.
 * A scheduled job has no partition of ours: its due lease stands for it. */
static bool partition_lost(const batch *b, const aw_job *j)
{
    return !j->scheduled && j->lost_epoch != atomic_load(&b->ctx->lost_epoch);
}

/* The gate of every provider call (aw_exec_gate): the partition is still
 * ours and the lease, and a lock rule's lock, known held until the call has
 * started. */
static bool lease_held(void *ud, const aw_exec_item *x, int64_t start_until_ms)
{
    batch *b = ud;
    const item *it = &b->items[x->tag];
    if (partition_lost(b, it->job) || !it->lease ||
        !aw_pipeline_lock_held(b, it, start_until_ms))
        return false;
    /* One look at the whole batch's leases per round, usually enough. */
    if (b->leases_held_until <= start_until_ms)
        b->leases_held_until =
            aw_lease_keeper_held_until_batch(b->ctx->keeper, b->leases.first, b->leases.n);
    return b->leases_held_until > start_until_ms ||
           aw_lease_keeper_held_until(b->ctx->keeper, it->lease) > start_until_ms;
}

/* No outcome is recorded for what the item did under a lease no longer
 * ours (not known held before a call, or its done record refused as stale
 * after one): no reply, no commit. If the partition is still ours the job
 * goes back to the worker to be claimed again later (the claim then answers
 * with whatever the next holder recorded, or takes a new lease with a higher
 * token once ours has expired); else it is abandoned. */
void aw_pipeline_give_up_lease(batch *b, item *it)
{
    aw_job *j = it->job;
    aw_pipeline_lock_release(b, it);
    it->executed = it->finished = false;
    it->provider = -1;
    aw_buf_reset(&it->details);
    if (partition_lost(b, j)) {
        j->abandoned = true;
        it->finished = true;
    } else {
        j->not_before_mono = aw_mono_now_ms() + b->ctx->cfg->dedup.busy_retry_ms;
    }
}

void aw_pipeline_release_lease(batch *b, item *it, const char *whose)
{
    if (it->lease)
        aw_lease_keeper_remove(b->ctx->keeper, &it->lease, 1);
    it->lease = 0;
    aw_state_key key = aw_pipeline_job_key(it->job);
    aw_error err;
    if (aw_state_lease_release(b->p->state, &key, it->token, &err) != AW_OK &&
        err.code != AW_CONFLICT)
        AW_DEBUG("worker", "%s: releasing the lease of %s: %s", it->job->record.record_id, whose,
                 err.msg);
}

/* Book the results of one round: final ones are outcomes; after a hard
 * stop, one that never started gives its lease back (so another replica
 * need not wait for it to expire) and is abandoned. */
static void round_done(batch *b, const aw_exec *ex, bool going)
{
    uint64_t *gone = aw_scratch_calloc(&b->p->scratch, ex->n, sizeof(*gone));
    size_t n_gone = 0, n_refused = 0;
    for (size_t k = 0; k < ex->n; k++) {
        const aw_exec_item *x = &ex->items[k];
        item *it = &b->items[x->tag];
        if (it->finished || it->provider < 0)
            continue;
        if (x->refused) {
            if (gone)
                gone[n_gone++] = it->lease;
            aw_pipeline_give_up_lease(b, it);
            n_refused++;
        } else if (x->final) {
            executed(b, it, x);
        } else if (!going) {
            aw_state_key key = aw_pipeline_job_key(it->job);
            aw_error err;
            aw_state_lease_release(b->p->state, &key, it->token, &err);
            it->job->abandoned = true;
            it->finished = true;
        }
    }
    if (gone)
        aw_lease_keeper_remove(b->ctx->keeper, gone, n_gone);
    if (n_refused)
        AW_WARN("worker", "%zu call(s) not started: lease not known held (state backend "
                "unreachable or partition lost); claimed again later", n_refused);
}

/* An answer made an item final while other calls may still run. */
static void on_final(void *ud, const aw_exec_item *x)
{
    batch *b = ud;
    item *it = &b->items[x->tag];
    if (it->finished || it->provider < 0 || x->refused)
        return;
    executed(b, it, x);
    aw_records_answered(b);
}

static int64_t on_tick(void *ud)
{
    return aw_records_tick(ud);
}

/* Execute in rounds of concurrent calls. An executed action is exposed (a
 * crash repeats it) until its done record exists, so the records leave as
 * the answers come, each within the completion linger of its answer, and
 * whatever is left after every round. */
bool aw_pipeline_execute(batch *b)
{
    aw_exec ex;
    if (aw_exec_init(&ex, &b->p->scratch, b->n) != 0)
        return false;
    ex.may_start = lease_held;
    ex.on_final = on_final;
    ex.tick = on_tick;
    ex.ud = b;
    for (size_t i = 0; i < b->n; i++)
        if (!b->items[i].finished && b->items[i].provider >= 0)
            aw_exec_add(&ex, b->items[i].job, b->items[i].provider, b->items[i].token, i);
    while (aw_exec_pending(&ex)) {
        bool going = aw_exec_round(b->ctx, b->p->providers, &ex, round_start_window_ms(b));
        round_done(b, &ex, going);
        if (!aw_records_write(b))
            return false;
        if (!going)
            break;
    }
    return aw_records_write(b);
}
