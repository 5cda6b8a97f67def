/* State machine rules in the pipeline (docs/rules.md, "state_machine"): an
 * action moves its event (worker/event_state.h) and executes only when the
 * move is allowed.
 *
 * After the claim, only for items whose claim was ACQUIRED (a DONE claim is
 * answered from its done record, so a redelivered message is never judged
 * again against a state that moved on since): one aw_event_apply per item,
 * in batch order, each a read and a compare-and-swap, retried through a
 * lost race and through outages.
 *
 * Moved (or found moved by an earlier attempt of the same action, which
 * crashed before its done record): the provider executes as usual, and its
 * outcome is state_changed (failed when the provider failed: the move
 * stands, the event did change) with "state" in the details.
 *
 * Refused (no transition from the event's state on the action_type):
 * outcome suppressed with the reason, and a done record like an executed
 * action's. Why a record although nothing ran: the answer depends on the
 * event's state at that moment; without a record a redelivery (or a
 * duplicate) would be judged again against a later state and could
 * execute. With it, every delivery of the identity gets the first answer,
 * as dedup promises. */
#include <stdio.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/event_state.h"
#include "worker/outcome_details.h"
#include "worker/pipeline_internal.h"

typedef struct apply_call {
    aw_event_ctx ctx;
    const item *it;
    const char *identity;
    aw_event_result res;
} apply_call;

static aw_status call_apply(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    (void)n; /* one per call */
    apply_call *c = items;
    c->ctx.state = s;
    return aw_event_apply(&c->ctx, c->it->fingerprint, c->it->job->action.action_type,
                          c->identity, c->it->token, &c->res, err);
}

static void refused(batch *b, item *it, const aw_event_result *res)
{
    const aw_rule_config *r = it->machine;
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, r);
    if (rc)
        atomic_fetch_add(&rc->refused, 1);
    aw_buf_reset(&it->details);
    if (aw_details_state_refused(&it->details, r->name, r->machine_cfg->name, it->fingerprint,
                                 res->event.state, it->job->action.action_type))
        aw_buf_reset(&it->details);
    it->outcome = AW_OUTCOME_SUPPRESSED;
    it->applied = r;
    it->provider = -1;
    it->finished = true;
    /* The done record is written by the execute step, as for an executed
     * item (the header says why). */
    it->executed = true;
    it->answered_us = aw_mono_now_us();
}

static bool move_one(batch *b, item *it)
{
    const aw_action *a = &it->job->action;
    char identity[AW_EVENT_IDENTITY_MAX + 1];
    if (aw_event_identity(a->ns, a->tenant, aw_action_key(a), identity, sizeof(identity))) {
        AW_ERROR("worker", "%s: identity too long for an event move", it->job->record.record_id);
        return false;
    }
    apply_call *c = aw_scratch_calloc(&b->p->scratch, 1, sizeof(*c));
    if (!c)
        return false;
    *c = (apply_call){.ctx = {.machine = it->machine->machine_cfg,
                              .pool = b->ctx->cfg->kafka.group_id,
                              .now_ms = aw_time_now_ms()},
                      .it = it,
                      .identity = identity};
    if (!aw_pipeline_with_retry(b->p,
                                &(aw_call_site){"event move", &b->ctx->metrics.state_retries,
                                                &b->ctx->metrics.event_move_ms},
                                call_apply, c, 1))
        return false;
    if (c->res.verdict == AW_EVENT_NOT_ALLOWED) {
        refused(b, it, &c->res);
        return true;
    }
    it->move = aw_scratch_calloc(&b->p->scratch, 1, sizeof(*it->move));
    if (!it->move)
        return false;
    *it->move = c->res.move;
    it->move_retried = c->res.verdict == AW_EVENT_ALREADY;
    it->applied = it->machine; /* moved (now or by the crashed attempt) */
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, it->machine);
    if (!it->move_retried) {
        if (rc)
            atomic_fetch_add(&rc->moved, 1);
        aw_metrics_count_move(&b->ctx->metrics, it->machine->machine_cfg, it->move->from,
                              it->move->to);
    }
    return true;
}

bool aw_pipeline_machine(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        /* Acquired claims only (as for throttle counts and locks). */
        if (it->machine && !it->finished && it->provider >= 0 && it->token &&
            !move_one(b, it))
            return false;
    }
    return true;
}

void aw_pipeline_machine_executed(item *it, bool ok)
{
    const aw_rule_config *r = it->machine;
    if (ok)
        it->outcome = AW_OUTCOME_STATE_CHANGED;
    /* Out of memory: the details stay as they were, without the move. */
    (void)aw_details_add_state(&it->details, 0, r->name, r->machine_cfg->name, it->fingerprint,
                               it->move->from, it->move->to, it->move->seq, it->move_retried);
}
