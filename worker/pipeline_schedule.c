/* Scheduled actions on their way in (docs/scheduling.md): a valid action
 * whose not_before is still in the future is not claimed or executed now.
 * It is put in the due index (one due_put per action, retried through an
 * outage like every state call) and finishes `scheduled`, replied and
 * audited at once, its offset committed through the normal hand-off. The
 * put is acknowledged before the outcome is set, so a committed offset
 * implies the item exists. The scheduler (worker/scheduler.h) runs it when
 * it is due. A throttle with on_limit = "delay" puts off the actions over
 * its limit the same way (aw_pipeline_delay), after their claim, for the
 * start of the next window.
 *
 * Worker thread, within one aw_pipeline_run (pipeline_internal.h). */
#include <stdio.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/outcome_details.h"
#include "worker/pipeline_internal.h"
#include "worker/schedule_item.h"

void aw_pipeline_schedule_prepare(batch *b, item *it, int64_t now_ms)
{
    (void)now_ms;
    const char *why = b->ctx->schedule_unavailable;
    if (!why) {
        it->schedule = true;
        b->n_schedule++;
        return;
    }
    /* Refused per action rather than at start-up: a deployment that does
     * not use not_before keeps working with any state backend. */
    aw_job *j = it->job;
    aw_reject *r = &j->reject;
    r->reason = AW_REJECT_INVALID_FIELD;
    snprintf(r->field, sizeof(r->field), "not_before");
    snprintf(r->detail, sizeof(r->detail),
             "not_before: scheduled actions are not available: %s", why);
    snprintf(r->action_id, sizeof(r->action_id), "%s", j->action.id);
    j->rejected = true;
    aw_pipeline_reject(it);
}

/* One due_put, through aw_pipeline_with_retry. A live lease on the item
 * (AW_CONFLICT) is an answer, not a failure: the item is being executed
 * now, by the message that put it or another with the same identity, and
 * is kept as it is. */
typedef struct put_call {
    aw_state_key key;
    int64_t due_ms;
    const aw_buf *value;
    bool conflict;
    char error[256]; /* the permanent failure's message */
} put_call;

static aw_status call_put(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    (void)n;
    put_call *c = items;
    aw_status rc = aw_state_due_put(s, &c->key, c->due_ms, c->value->data, c->value->len, err);
    if (rc == AW_CONFLICT) {
        c->conflict = true;
        return AW_OK;
    }
    if (rc != AW_OK && !err->retriable)
        snprintf(c->error, sizeof(c->error), "%s", err->msg);
    return rc;
}

/* A put refused for good (a bad key, a backend without the due index that
 * slipped past the start-up check): the action is rejected, saying why. */
static void put_refused(item *it, const char *why)
{
    aw_job *j = it->job;
    aw_reject *r = &j->reject;
    r->reason = AW_REJECT_INVALID_FIELD;
    snprintf(r->field, sizeof(r->field), "not_before");
    snprintf(r->detail, sizeof(r->detail), "not_before: the action could not be scheduled: %s",
             why);
    snprintf(r->action_id, sizeof(r->action_id), "%s", j->action.id);
    j->rejected = true;
    aw_pipeline_reject(it);
}

/* Put the item in the due index for due_ms; it finishes `scheduled` (or
 * rejected, or abandoned); false when it is time to give up. */
static bool schedule_one(batch *b, item *it, int64_t due_ms, aw_buf *id, aw_buf *value,
                         aw_buf *identity)
{
    aw_job *j = it->job;
    const aw_action *a = &j->action;
    put_call c = {.due_ms = due_ms, .value = value};
    aw_buf_reset(identity);
    if (aw_schedule_key(b->ctx->cfg->kafka.group_id, a, id, &c.key) != 0 ||
        aw_schedule_value_write(value, aw_job_topic(j), j->msg->partition, j->msg->offset,
                                j->msg->payload, j->msg->len) != 0 ||
        aw_action_identity(a, identity) != 0) {
        AW_ERROR("worker", "%s: out of memory scheduling the action", j->record.record_id);
        j->abandoned = true; /* redelivered later */
        it->finished = true;
        return true;
    }
    bool ok = aw_pipeline_with_retry(b->p,
                                     &(aw_call_site){"due_put", &b->ctx->metrics.state_retries,
                                                     &b->ctx->metrics.due_put_ms},
                                     call_put, &c, 1);
    if (!ok) {
        if (!c.error[0]) /* time to give up: the batch is abandoned */
            return false;
        put_refused(it, c.error);
        return true;
    }
    it->outcome = AW_OUTCOME_SCHEDULED;
    it->finished = true;
    const aw_rule_config *r = it->delay_until_ms ? it->throttle : NULL;
    if (aw_details_scheduled(&it->details, due_ms, identity->data, c.conflict) != 0 ||
        (r && aw_details_add_throttle(&it->details, 0, r->name, it->throttle_key, r->max_count,
                                      r->window_s) != 0))
        it->no_details = true;
    return true;
}

/* Every unfinished item with a due time (due_of) into the due index. */
static bool schedule_all(batch *b, int64_t (*due_of)(const item *it))
{
    aw_buf id = {0}, value = {0}, identity = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < b->n; i++) {
        item *it = &b->items[i];
        int64_t due = it->finished ? 0 : due_of(it);
        if (due > 0)
            ok = schedule_one(b, it, due, &id, &value, &identity);
    }
    aw_buf_free(&id);
    aw_buf_free(&value);
    aw_buf_free(&identity);
    return ok;
}

static int64_t not_before(const item *it)
{
    return it->schedule ? it->job->action.not_before_ms : 0;
}

static int64_t delay_until(const item *it)
{
    return it->delay_until_ms;
}

bool aw_pipeline_schedule(batch *b)
{
    return schedule_all(b, not_before);
}

bool aw_pipeline_delay(batch *b)
{
    return schedule_all(b, delay_until);
}
