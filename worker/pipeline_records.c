/* The done records of a batch (docs/operations.md, "Crashes"): an executed
 * action is exposed, a crash repeats it, until its done record exists. So
 * while the batch's calls still run, the records of the calls answered so
 * far go to the recorder (worker/recorder.h) once the oldest of them has
 * waited COMPLETE_LINGER_MS for others to share its round trip; after every
 * round the worker thread writes whatever is left itself, beside the
 * recorder's writes, retrying through outages. */
#include "worker/pipeline_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/outcome_details.h"
#include "worker/record_trace.h"

/* How long a call's answer waits for others to share its done-record round
 * trip: after a crash, calls answered within this before it can run again
 * (docs/operations.md, "Crashes"). */
#define COMPLETE_LINGER_MS 2
/* After a hand-over to the recorder failed (state backend unreachable), the
 * next waits this long: rounds can last seconds, and a blip must not hold
 * their records back that long. */
#define RESUBMIT_PAUSE_MS 100

static aw_status call_complete(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    return aw_state_complete_batch(s, items, n, err);
}

/* Is the item's done record to be written (executed, neither written nor
 * with the recorder)? */
static bool unrecorded(const item *it)
{
    return it->executed && !it->completed && !it->submitted;
}

/* The records of every unrecorded item, in the scratch: *cs and *idx (the
 * item of each record), the summaries copied there too so that they stay
 * valid while the recorder writes. Returns how many, -1 when out of memory
 * (the batch is retried later). */
static long list_records(batch *b, aw_complete **cs, size_t **idx)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += unrecorded(&b->items[i]);
    if (n == 0)
        return 0;
    aw_scratch *sc = &b->p->scratch;
    aw_buf *sums = &b->p->summaries;
    *cs = aw_scratch_calloc(sc, n, sizeof(**cs));
    /* Each written before it is read: not zeroed. */
    *idx = aw_scratch_alloc(sc, n, sizeof(**idx));
    size_t *off = aw_scratch_alloc(sc, n, sizeof(*off));
    if (!*cs || !*idx || !off)
        return -1;
    aw_buf_reset(sums);
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        if (!unrecorded(it))
            continue;
        off[k] = sums->len;
        if (aw_details_summary(sums, it->outcome, it->job->action.id, it->attempts,
                               it->applied ? it->applied->name : NULL,
                               it->details.len ? it->details.data : "{}") ||
            aw_buf_append(sums, "", 1))
            return -1;
        const rd_kafka_message_t *m = it->job->msg;
        (*cs)[k] = (aw_complete){.key = aw_pipeline_job_key(it->job), .token = it->token,
                                 .source = {aw_job_topic(it->job), m->partition, m->offset},
                                 .window_ms = b->ctx->cfg->dedup.window_s * 1000};
        (*idx)[k++] = i;
    }
    char *text = aw_scratch_alloc(sc, sums->len, 1);
    if (!text)
        return -1;
    memcpy(text, sums->data, sums->len);
    for (k = 0; k < n; k++)
        (*cs)[k].summary = text + off[k];
    return (long)n;
}

/* Book n records written at written_us (idx ascending): their leases are
 * no longer renewed, their lock rules' locks are released (the next action
 * of the key may run now that this one is recorded); a record refused as
 * stale gives its item's lease up. */
static void book_written(batch *b, const aw_complete *cs, const size_t *idx, size_t n,
                         int64_t written_us)
{
    uint64_t *handles = aw_scratch_calloc(&b->p->scratch, n, sizeof(*handles));
    size_t n_stale = 0;
    for (size_t k = 0; k < n; k++) {
        item *it = &b->items[idx[k]];
        aw_histogram_observe_us(&b->ctx->metrics.record_lag, written_us - it->answered_us);
        if (handles)
            handles[k] = it->lease;
        it->completed = true;
        it->submitted = false;
        if (cs[k].stale) {
            aw_pipeline_give_up_lease(b, it);
            n_stale++;
        } else {
            aw_pipeline_lock_release(b, it);
        }
    }
    if (handles) /* else they are removed with the batch's at its end */
        aw_lease_keeper_remove(b->ctx->keeper, handles, n);
    if (n_stale)
        AW_WARN("worker", "%zu call(s) answered after their lease was lost: results not "
                "recorded, claimed again later (the next holder's fencing token is higher)",
                n_stale);
}

/* Book the submissions the recorder is done with; with wait, wait for every
 * one (a stopping worker cancels those not yet taken). */
static void harvest(batch *b, bool wait)
{
    aw_recorder *rec = b->ctx->recorder;
    for (submission *s = b->submissions; s; s = s->next) {
        if (s->harvested)
            continue;
        if (wait)
            aw_recorder_wait(rec, &s->rb, aw_ctx_give_up(b->ctx));
        else if (!aw_recorder_done(rec, &s->rb))
            continue;
        s->harvested = true;
        if (s->rb.rc == AW_OK) {
            book_written(b, s->rb.items, s->idx, s->rb.n, s->rb.done_us);
            continue;
        }
        for (size_t k = 0; k < s->rb.n; k++)
            b->items[s->idx[k]].submitted = false;
        b->submit_failed = true;
        b->submit_failed_ms = aw_mono_now_ms();
    }
}

/* Hand the unrecorded records to the recorder. */
static void submit(batch *b)
{
    submission *s = aw_scratch_calloc(&b->p->scratch, 1, sizeof(*s));
    aw_complete *cs = NULL;
    size_t *idx = NULL;
    long n = s ? list_records(b, &cs, &idx) : -1;
    if (n <= 0) { /* nothing, or no memory: the end of the round writes them */
        b->oldest_unrecorded = 0;
        return;
    }
    s->rb.items = cs;
    s->rb.n = (size_t)n;
    s->idx = idx;
    for (long k = 0; k < n; k++)
        b->items[idx[k]].submitted = true;
    s->next = b->submissions;
    b->submissions = s;
    b->oldest_unrecorded = 0;
    aw_record_trace('H', cs, (size_t)n);
    aw_recorder_submit(b->ctx->recorder, &s->rb);
}

void aw_records_answered(batch *b)
{
    if (!b->oldest_unrecorded)
        b->oldest_unrecorded = aw_mono_now_ms();
}

/* Between waits of the provider calls: book what the recorder wrote, and
 * hand it the records once the oldest answer has waited COMPLETE_LINGER_MS
 * (and RESUBMIT_PAUSE_MS has passed since a failed hand-over); else say
 * when to come back. */
int64_t aw_records_tick(batch *b)
{
    if (!b->ctx->recorder)
        return 0;
    harvest(b, false);
    if (!b->oldest_unrecorded)
        return 0;
    int64_t now = aw_mono_now_ms();
    if (b->submit_failed) {
        int64_t pause = b->submit_failed_ms + RESUBMIT_PAUSE_MS - now;
        if (pause > 0)
            return pause;
        b->submit_failed = false;
    }
    int64_t wait = b->oldest_unrecorded + COMPLETE_LINGER_MS - now;
    if (wait > 0)
        return wait;
    submit(b);
    return 0;
}

/* Write the unrecorded records from this thread, retrying through outages. */
static bool write_listed(batch *b)
{
    aw_complete *cs = NULL;
    size_t *idx = NULL;
    long n = list_records(b, &cs, &idx);
    if (n <= 0)
        return n == 0;
    aw_record_trace('H', cs, (size_t)n);
    if (!aw_pipeline_with_retry(b->p,
                                &(aw_call_site){"complete", &b->ctx->metrics.state_retries,
                                                &b->ctx->metrics.complete_ms},
                                call_complete, cs, (size_t)n))
        return false;
    aw_record_trace('A', cs, (size_t)n);
    book_written(b, cs, idx, (size_t)n, aw_mono_now_us());
    return true;
}

/* The records not yet with the recorder go out at once, beside its writes
 * rather than after them (their answers are exposed until they leave: a
 * slow backend must not hold them behind the recorder's round trips); then
 * the recorder's are waited for, and those it failed written here too. */
bool aw_records_write(batch *b)
{
    if (!write_listed(b))
        return false;
    if (b->submissions) {
        harvest(b, true);
        if (!write_listed(b))
            return false;
    }
    b->oldest_unrecorded = 0;
    b->submit_failed = false;
    return true;
}
