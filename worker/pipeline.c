#include "worker/pipeline_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/outcome_delivery.h"
#include "worker/outcome_details.h"
#include "worker/outcome_record.h"
#include "worker/rules.h"

aw_state_key aw_pipeline_job_key(const aw_job *j)
{
    return (aw_state_key){.ns = j->action.ns, .tenant = j->action.tenant, .kind = "dedup",
                          .id = aw_action_key(&j->action)};
}

/* ---- state calls, retried ----------------------------------------------- */

/* Transient failures (backend down) are retried with backoff for as long as
 * it takes: work stalls, the in-flight window fills and consumption pauses;
 * nothing is dropped. Returns false on a permanent error or when it is time
 * to give up (hard stop, stop deadline). */
bool aw_pipeline_with_retry(aw_pipeline *p, const aw_call_site *site, aw_pipeline_call call,
                            void *items, size_t n)
{
    for (int attempt = 1;; attempt++) {
        aw_error err;
        aw_error_clear(&err);
        int64_t t0 = aw_mono_now_us();
        aw_status rc = call(p->state, items, n, &err);
        aw_histogram_observe_us(site->latency, aw_mono_now_us() - t0);
        aw_backend_health_seen(&p->ctx->state_health, rc == AW_OK || !err.retriable, err.msg);
        if (rc == AW_OK)
            return true;
        atomic_fetch_add(site->retries, 1);
        if (err.retriable) /* the state backend's health logs the outage once */
            AW_DEBUG("worker", "%s: %s (attempt %d)", site->what, err.msg, attempt);
        else
            AW_WARN("worker", "%s: %s", site->what, err.msg);
        if (!err.retriable || !aw_ctx_sleep(p->ctx, aw_backoff_ms(attempt, 50, 5000)))
            return false;
    }
}

static aw_status call_claim(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    return aw_state_claim_batch(s, items, n, err);
}

/* ---- step 1: prepare ------------------------------------------------------ */

void aw_pipeline_reject(item *it)
{
    aw_details_rejected(&it->details, &it->job->reject);
    it->outcome = AW_OUTCOME_REJECTED;
    it->finished = true;
}

/* A valid action naming a provider that is not configured is rejected. */
static void reject_unknown_provider(item *it)
{
    aw_job *j = it->job;
    aw_reject *r = &j->reject;
    r->reason = AW_REJECT_UNKNOWN_PROVIDER;
    snprintf(r->field, sizeof(r->field), "provider");
    snprintf(r->detail, sizeof(r->detail), "provider: no provider named \"%.128s\" is configured",
             j->action.provider);
    snprintf(r->action_id, sizeof(r->action_id), "%s", j->action.id);
    j->rejected = true;
    aw_pipeline_reject(it);
}

/* Begin each job's audit record and decide the rejections. */
static void prepare(batch *b, aw_job **jobs)
{
    int64_t now = aw_time_now_ms();
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        it->job = jobs[i];
        aw_error err;
        if (!it->job->record.record_id &&
            aw_outcome_begin(b->ctx, it->job, now, &err) != AW_OK) {
            AW_ERROR("worker", "%s", err.msg);
            it->job->abandoned = true;
            it->finished = true;
        } else if (it->job->rejected) {
            aw_pipeline_reject(it);
        } else if (it->job->preset_details) {
            /* Decided already (a state machine's timeout): recorded and
             * replied as it is; nothing is claimed, nothing runs. */
            it->outcome = it->job->preset_outcome;
            if (aw_buf_puts(&it->details, it->job->preset_details))
                aw_buf_reset(&it->details);
            it->finished = true;
            it->provider = -1;
        } else {
            it->provider = aw_provider_set_find(b->ctx->providers, it->job->action.provider);
            if (it->provider < 0)
                reject_unknown_provider(it);
            else if (it->job->action.not_before_ms > now && !it->job->scheduled)
                /* Rules judge it when it runs, not now. */
                aw_pipeline_schedule_prepare(b, it, now);
            else if (it->job->group_rule) /* a group's call: its members were judged */
                it->applied = it->job->group_rule;
            else if (b->ctx->cfg->n_rules && !it->job->chain_part) /* the one check when no
                                                                   rules; a chain's step
                                                                   is not judged again */
                aw_pipeline_rules_prepare(b, it);
        }
    }
}

/* ---- step 2: claim -------------------------------------------------------- */

/* A done record exists: the same message again (its original outcome,
 * details and rule, while that rule is still configured), or a duplicate
 * (details saying which message did the work; no rule judged it). */
static void answer_done(batch *b, item *it, const aw_claim *c)
{
    const rd_kafka_message_t *m = it->job->msg;
    bool same = c->done_topic && strcmp(c->done_topic, aw_job_topic(it->job)) == 0 &&
                c->done_partition == m->partition && c->done_offset == m->offset;
    it->token = c->done_token;
    it->finished = true;
    if (!same) {
        aw_details_duplicate(&it->details, c);
        it->outcome = AW_OUTCOME_DEDUPLICATED;
    } else {
        char rule[256];
        if (aw_details_redelivered(&it->details, c, &it->outcome, &it->attempts, rule,
                                   sizeof(rule)))
            it->no_details = true;
        it->applied = aw_rules_by_name(b->ctx->cfg, rule[0] ? rule : NULL);
    }
}

/* The identity is leased by another holder: wait for a later batch. */
static void busy(batch *b, item *it, const aw_claim *c)
{
    aw_job *j = it->job;
    j->busy_waits++;
    atomic_fetch_add(&b->ctx->metrics.lease_busy_waits, 1);
    int64_t wait = aw_backoff_ms(j->busy_waits, b->ctx->cfg->dedup.busy_retry_ms, 1000);
    if (c->retry_after_ms > 0 && c->retry_after_ms < wait)
        wait = c->retry_after_ms;
    j->not_before_mono = aw_mono_now_ms() + wait;
    it->provider = -1; /* not this round */
    if (j->busy_waits == 1 || j->busy_waits % 50 == 0)
        AW_DEBUG("worker", "%s: identity leased elsewhere (token %" PRIu64 "), waiting",
                 j->record.record_id, c->token);
}

/* Book the claims' answers; the acquired leases go to the lease keeper. The
 * keys point into the jobs' actions, which outlive the group. */
static void claimed(batch *b, aw_claim *claims, const size_t *idx, size_t nc,
                    aw_state_key *keys, uint64_t *tokens, int64_t sent_mono)
{
    size_t n_leased = 0;
    for (size_t k = 0; k < nc; k++) {
        item *it = &b->items[idx[k]];
        switch (claims[k].result) {
        case AW_CLAIM_ACQUIRED:
            it->token = claims[k].token;
            it->lease = n_leased + 1; /* made a keeper handle below */
            keys[n_leased] = claims[k].key;
            tokens[n_leased++] = it->token;
            break;
        case AW_CLAIM_DONE:
            answer_done(b, it, &claims[k]);
            break;
        case AW_CLAIM_BUSY:
            busy(b, it, &claims[k]);
            break;
        }
    }
    b->leases.n = n_leased;
    b->leases.first = n_leased ? aw_lease_keeper_add_batch(b->ctx->keeper, keys, tokens,
                                                           n_leased, sent_mono)
                               : 0;
    /* Without a registration (no memory) no lease is known held: 0. */
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].lease)
            b->items[i].lease = b->leases.first ? b->leases.first + b->items[i].lease - 1 : 0;
}

/* Claim every valid job of the batch in one round trip. */
static bool claim(batch *b)
{
    aw_scratch *sc = &b->p->scratch;
    aw_claim *claims = aw_scratch_calloc(sc, b->n, sizeof(*claims));
    /* Each written before it is read: not zeroed. */
    size_t *idx = aw_scratch_alloc(sc, b->n, sizeof(*idx));
    aw_state_key *keys = aw_scratch_alloc(sc, b->n, sizeof(*keys));
    uint64_t *tokens = aw_scratch_alloc(sc, b->n, sizeof(*tokens));
    if (!claims || !idx || !keys || !tokens)
        return false;
    size_t nc = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->items[i].finished)
            continue;
        claims[nc].key = aw_pipeline_job_key(b->items[i].job);
        claims[nc].lease_ms = b->ctx->cfg->dedup.lease_ms;
        idx[nc++] = i;
    }
    bool ok = true;
    /* The lease runs from no earlier than this, whichever attempt succeeds. */
    int64_t sent_mono = aw_mono_now_ms();
    if (nc)
        ok = aw_pipeline_with_retry(b->p,
                                    &(aw_call_site){"claim", &b->ctx->metrics.state_retries,
                                                    &b->ctx->metrics.claim_ms},
                                    call_claim, claims, nc);
    if (ok)
        claimed(b, claims, idx, nc, keys, tokens, sent_mono);
    for (size_t k = 0; k < nc; k++)
        aw_claim_clear(&claims[k]);
    return ok;
}

/* ---- step 4: finish ------------------------------------------------------- */

/* Set each finished job's outcome on its record. When the state backend
 * failed for good (ok false) or we are stopping hard, nothing is recorded
 * for a job not yet rejected: it is abandoned, its offset stays uncommitted
 * and it is processed again later. */
static void finish(batch *b, bool ok)
{
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        aw_job *j = it->job;
        if (!ok && !j->rejected && !j->abandoned) {
            j->abandoned = true;
            it->finished = true;
        }
        if (it->finished && !j->abandoned) {
            char *text = it->no_details ? NULL
                         : it->details.len ? aw_buf_steal(&it->details)
                                           : strdup("{}");
            /* The name lives in the configuration, which outlives every
             * job (aw_job_free leaves it alone). */
            j->record.rule = it->applied ? it->applied->name : NULL;
            /* The event it moved or was refused by; owned by the record
             * (NULL when out of memory: the record goes without it). */
            if (it->machine && it->applied == it->machine && !j->record.fingerprint)
                j->record.fingerprint = strdup(it->fingerprint);
            if (it->group && !j->record.group_id) /* likewise, the group it joined */
                j->record.group_id = aw_pipeline_group_record_id(it, text);
            aw_error err;
            if (aw_outcome_finish(b->ctx, j, it->outcome, text, it->token, it->attempts,
                                  &err) != AW_OK) {
                AW_ERROR("worker", "%s", err.msg);
                j->abandoned = true;
            }
        }
        aw_buf_free(&it->details);
    }
}

/* ---- step 5: hand off ----------------------------------------------------- */

/* Hand every finished job on; an abandoned one back at once, the others
 * once their acknowledgements are in: the audit record durable (audit
 * writer) and, outside transactional mode, each reply/DLQ copy delivered.
 * In transactional mode the polling thread produces the reply/DLQ copy
 * inside the open transaction together with the offset, once the message is
 * in its partition's completed prefix, so "reply committed" implies
 * "terminal outcome recorded" and "offset committed". Replies go out before
 * the audit write so the two overlap. Returns the number handed on. */
static size_t hand_off(batch *b, aw_job **finished)
{
    aw_worker_ctx *ctx = b->ctx;
    bool txn = ctx->cfg->kafka.transactional_replies;
    /* Not touched after their acknowledgement: a job may be freed by then. */
    aw_job **to_audit = aw_scratch_calloc(&b->p->scratch, b->n, sizeof(*to_audit));
    size_t nf = 0, na = 0;
    int64_t now_us = aw_mono_now_us();
    for (size_t i = 0; i < b->n; i++) {
        aw_job *j = b->items[i].job;
        if (!b->items[i].finished)
            continue;
        finished[nf++] = j;
        j->handed_us = now_us;
        if (j->abandoned) {
            aw_job_queue_ack(&ctx->done, j);
            continue;
        }
        /* A scheduled job has no offset, hence no place in a transaction:
         * its reply goes out at once (scheduling is unavailable in
         * transactional mode, docs/scheduling.md, so only tests meet one
         * there). No producer: unit tests, nothing to deliver. */
        bool send = !(txn && !j->scheduled) && ctx->producer;
        atomic_store(&j->pending, send ? aw_outcome_deliveries(j) + 1 : 1);
        if (send) {
            aw_outcome_send_with(ctx, j, &b->p->reply);
            /* Nothing reads the parsed action any more (the reply is built,
             * the audit record has its own copy): free the tree on the
             * thread that allocated it, before any acknowledgement can hand
             * the job back. */
            aw_action_clear(&j->action);
        }
        if (!ctx->audit_writer)
            aw_job_queue_ack(&ctx->done, j);
        else if (to_audit)
            to_audit[na++] = j;
        else /* no memory for the list: one at a time */
            aw_audit_writer_push(ctx->audit_writer, &j, 1);
    }
    if (na)
        aw_audit_writer_push(ctx->audit_writer, to_audit, na);
    return nf;
}

/* ---- the steps together --------------------------------------------------- */

size_t aw_pipeline_run(aw_pipeline *p, aw_job **jobs, size_t n, aw_job **finished)
{
    aw_scratch_reset(&p->scratch);
    batch b = {.p = p, .ctx = p->ctx, .n = n};
    b.items = aw_scratch_calloc(&p->scratch, n, sizeof(*b.items));
    if (!b.items)
        return 0;
    prepare(&b, jobs);
    bool ok = (!b.n_schedule || aw_pipeline_schedule(&b)) && claim(&b) &&
              (!b.n_throttle || aw_pipeline_throttle(&b)) && (!b.n_lock || aw_pipeline_lock(&b)) &&
              (!b.n_machine || aw_pipeline_machine(&b)) && (!b.n_group || aw_pipeline_group(&b)) &&
              (!b.n_chain || aw_pipeline_chain(&b)) &&
              aw_pipeline_execute(&b);
    aw_lease_keeper_remove_batch(p->ctx->keeper, b.leases.first, b.leases.n);
    /* Locks still held here belong to items that did not get as far as a
     * done record (a backend failure, a hard stop): give them back. */
    for (size_t i = 0; b.n_lock && i < b.n; i++)
        aw_pipeline_lock_release(&b, &b.items[i]);
    finish(&b, ok);
    return hand_off(&b, finished);
}

void aw_pipeline_free(aw_pipeline *p)
{
    aw_scratch_free(&p->scratch);
    aw_buf_free(&p->summaries);
    aw_buf_free(&p->reply);
}
