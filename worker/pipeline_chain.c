/* Chain rules in the pipeline (docs/rules.md, "chain"): an action matching
 * one starts a run of its chain (worker/chain_state.h) instead of
 * executing.
 *
 * After the claim, only for items whose claim was ACQUIRED (a DONE claim
 * is answered from its done record: a redelivered trigger starts nothing
 * again): the chain's record is created (compare-and-swap on version 0;
 * one found there is this trigger's, made by an attempt that crashed
 * before its done record) and its due item put due now, both before the
 * done record, so no crash leaves a trigger answered without its chain.
 * The outcome is chain_started, details {"chain":{"id","name"}}; the
 * scheduler runs the steps (worker/chain_run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/chain_state.h"
#include "worker/event_state.h"
#include "worker/outcome_details.h"
#include "worker/pipeline_internal.h"

typedef struct start_call {
    const aw_chain_config *chain;
    const char *pool;
    const char *id;
    const aw_job *job;
    int64_t now_ms;
    bool created;
} start_call;

static aw_status call_start(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    (void)n; /* one per call */
    start_call *c = items;
    const rd_kafka_message_t *m = c->job->msg;
    return aw_chain_start(s, c->chain, c->pool, c->id, m->payload, m->len, c->now_ms,
                          &c->created, err);
}

static bool start_one(batch *b, item *it)
{
    const aw_action *a = &it->job->action;
    char identity[AW_EVENT_IDENTITY_MAX + 1];
    if (aw_event_identity(a->ns, a->tenant, aw_action_key(a), identity, sizeof(identity))) {
        AW_ERROR("worker", "%s: identity too long for a chain", it->job->record.record_id);
        return false;
    }
    const aw_chain_config *c = it->chain->chain_cfg;
    char id[AW_CHAIN_ID_LEN + 1];
    aw_chain_id(identity, it->job->record.record_id, c->name, id);
    start_call call = {.chain = c, .pool = b->ctx->cfg->kafka.group_id, .id = id,
                       .job = it->job, .now_ms = aw_time_now_ms()};
    if (!aw_pipeline_with_retry(b->p,
                                &(aw_call_site){"chain start", &b->ctx->metrics.state_retries,
                                                &b->ctx->metrics.chain_start_ms},
                                call_start, &call, 1))
        return false;
    if (call.created)
        atomic_fetch_add(&b->ctx->metrics.chains_started, 1);
    /* The record's own (audit search --chain); NULL when out of memory:
     * the record goes without it. */
    if (!it->job->record.chain_id)
        it->job->record.chain_id = strdup(id);
    aw_buf_reset(&it->details);
    if (aw_details_chain_started(&it->details, id, c->name))
        aw_buf_reset(&it->details);
    it->outcome = AW_OUTCOME_CHAIN_STARTED;
    it->applied = it->chain;
    it->provider = -1;
    it->finished = true;
    /* Nothing ran, but the answer is recorded like an executed action's:
     * every delivery of the trigger then gets the same chain. */
    it->executed = true;
    it->answered_us = aw_mono_now_us();
    return true;
}

bool aw_pipeline_chain(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        if (it->chain && !it->finished && it->provider >= 0 && it->token && !start_one(b, it))
            return false;
    }
    return true;
}
