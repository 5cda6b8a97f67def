#include "worker/pipeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/execute_round.h"
#include "worker/outcome_delivery.h"
#include "worker/outcome_details.h"
#include "worker/outcome_record.h"

/* A round of provider calls starts no call later than this after its first
 * (execute_round.h), so that the calls of a round answer close together. */
#define ROUND_START_WINDOW_MS 20

/* How long a call's answer waits for others to share its done-record round
 * trip: after a crash, calls answered within this before it can run again
 * (docs/operations.md, "Crashes"). */
#define COMPLETE_LINGER_MS 2

/* Per-job scratch of one batch. */
typedef struct item {
    aw_job *job;
    int provider;           /* index in the provider set */
    bool finished;          /* reached an outcome (or abandoned) this round */
    bool executed;          /* the provider ran: complete must follow */
    bool completed;         /* its complete was sent (done record or stale) */
    bool no_details;        /* no memory for details that cannot default to {} */
    uint64_t token;
    uint64_t lease;         /* the lease keeper's handle of our lease, 0 = none */
    aw_outcome outcome;
    aw_buf details;         /* owned: the details object as compact JSON text,
                               written where the outcome is decided; empty
                               (read as {}) when out of memory */
    int64_t attempts;
} item;

/* The leases taken by one batch, registered with the lease keeper as one
 * group: renewed from the claim until the done records are written (the
 * wait for a turn in the batch, the provider call, complete retries through
 * a backend outage). */
typedef struct lease_group {
    uint64_t first; /* keeper handle of the first, 0 = none registered */
    size_t n;
} lease_group;

/* The arrays of complete(), taken from the scratch on its first call for a
 * batch and reused by the later ones (one per execution round). */
typedef struct completion {
    aw_complete *cs;
    size_t *idx;
    size_t *off; /* offset of each summary in p->summaries */
    uint64_t *handles; /* the lease keeper handles of the completed items */
} completion;

/* One batch on its way through the steps. */
typedef struct batch {
    aw_pipeline *p;
    aw_worker_ctx *ctx;
    item *items;
    size_t n;
    lease_group leases;
    completion done;
    int64_t oldest_unrecorded; /* answer time of the oldest executed item
                                  without its done record; 0 = none */
    int64_t leases_held_until; /* earliest held_until of the batch's leases,
                                  as last looked up */
    bool tick_failed;          /* a write between calls failed: leave the rest
                                  to the ends of the rounds (no write attempt
                                  every few ms through an outage) */
} batch;

static aw_state_key job_key(const aw_job *j)
{
    return (aw_state_key){.ns = j->action.ns, .tenant = j->action.tenant, .kind = "dedup",
                          .id = aw_action_key(&j->action)};
}

/* The details text, for the summary and the record: {} when none was
 * written (out of memory). */
static const char *details_of(const item *it)
{
    return it->details.len ? it->details.data : "{}";
}

/* ---- state calls, retried ----------------------------------------------- */

/* One backend round trip of a batch, retried by with_retry(). */
typedef aw_status (*batch_call)(aw_state_session *s, void *items, size_t n, aw_error *err);

/* What a retried call reports to: its name in logs, its retry counter and
 * its latency histogram. */
typedef struct call_site {
    const char *what;
    atomic_ulong *retries;
    aw_histogram *latency;
    bool once;              /* one attempt, no log: a later call retries */
} call_site;

/* Run a backend call until it succeeds or fails for good. Transient
 * failures (backend down) are retried with backoff for as long as it takes:
 * work stalls, the in-flight window fills and consumption pauses; nothing is
 * dropped. Returns false on a permanent error, a hard stop or (site->once)
 * any failure. */
static bool with_retry(aw_pipeline *p, const call_site *site, batch_call call, void *items,
                       size_t n)
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
        if (site->once)
            return false;
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

static aw_status call_complete(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    return aw_state_complete_batch(s, items, n, err);
}

/* ---- step 1: prepare ------------------------------------------------------ */

static void reject(item *it)
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
    reject(it);
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
            reject(it);
        } else {
            it->provider = aw_provider_set_find(b->ctx->providers, it->job->action.provider);
            if (it->provider < 0)
                reject_unknown_provider(it);
        }
    }
}

/* ---- step 2: claim -------------------------------------------------------- */

/* A done record exists: the same message again (its original outcome and
 * details), or a duplicate (details saying which message did the work). */
static void answer_done(item *it, const aw_claim *c)
{
    const rd_kafka_message_t *m = it->job->msg;
    bool same = c->done_topic && strcmp(c->done_topic, aw_job_topic(it->job)) == 0 &&
                c->done_partition == m->partition && c->done_offset == m->offset;
    it->token = c->done_token;
    it->finished = true;
    if (!same) {
        aw_details_duplicate(&it->details, c);
        it->outcome = AW_OUTCOME_DEDUPLICATED;
    } else if (aw_details_redelivered(&it->details, c, &it->outcome, &it->attempts)) {
        it->no_details = true;
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
            answer_done(it, &claims[k]);
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
    size_t *idx = aw_scratch_calloc(sc, b->n, sizeof(*idx));
    aw_state_key *keys = aw_scratch_calloc(sc, b->n, sizeof(*keys));
    uint64_t *tokens = aw_scratch_calloc(sc, b->n, sizeof(*tokens));
    if (!claims || !idx || !keys || !tokens)
        return false;
    size_t nc = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->items[i].finished)
            continue;
        claims[nc].key = job_key(b->items[i].job);
        claims[nc].lease_ms = b->ctx->cfg->dedup.lease_ms;
        idx[nc++] = i;
    }
    bool ok = true;
    /* The lease runs from no earlier than this, whichever attempt succeeds. */
    int64_t sent_mono = aw_mono_now_ms();
    if (nc)
        ok = with_retry(b->p,
                        &(call_site){"claim", &b->ctx->metrics.state_retries,
                                     &b->ctx->metrics.claim_ms},
                        call_claim, claims, nc);
    if (ok)
        claimed(b, claims, idx, nc, keys, tokens, sent_mono);
    for (size_t k = 0; k < nc; k++)
        aw_claim_clear(&claims[k]);
    return ok;
}

/* ---- step 3: execute and complete ---------------------------------------- */

/* The provider's last answer (worker/execute_round) becomes the outcome. */
static void executed(batch *b, item *it, const aw_exec_item *x)
{
    aw_details_executed(&it->details, &x->res, x->attempts);
    it->outcome = x->res.ok ? AW_OUTCOME_EXECUTED : AW_OUTCOME_FAILED;
    it->attempts = x->attempts;
    it->executed = true;
    it->finished = true;
    if (b->p->on_executed)
        b->p->on_executed(b->p->on_executed_ud, it->job, it->token);
}

/* Was the job's partition lost (not handed over in order: session timed
 * out) since it was polled? Then its offset can never be committed here. */
static bool partition_lost(const batch *b, const aw_job *j)
{
    return j->lost_epoch != atomic_load(&b->ctx->lost_epoch);
}

/* The gate of every provider call (aw_exec_gate): the partition is still
 * ours and the lease known held until the call has started. */
static bool lease_held(void *ud, const aw_exec_item *x, int64_t start_until_ms)
{
    batch *b = ud;
    const item *it = &b->items[x->tag];
    if (partition_lost(b, it->job) || !it->lease)
        return false;
    /* One look at the whole batch's leases per round, usually enough. */
    if (b->leases_held_until <= start_until_ms)
        b->leases_held_until =
            aw_lease_keeper_held_until_batch(b->ctx->keeper, b->leases.first, b->leases.n);
    return b->leases_held_until > start_until_ms ||
           aw_lease_keeper_held_until(b->ctx->keeper, it->lease) > start_until_ms;
}

/* Stop renewing the leases of items whose done record is written or whose
 * lease is given up; handles[] ascend as the items do. */
static void release_leases(batch *b, uint64_t *handles, size_t n)
{
    aw_lease_keeper_remove(b->ctx->keeper, handles, n);
}

/* The item's lease is no longer ours (not known held before a call, or its
 * done record refused as stale after one): no outcome is recorded for what
 * it did under that lease, no reply, no commit. If the partition is still
 * ours the job goes back to the worker to be claimed again later (the claim
 * then answers with whatever the next holder recorded, or takes a new lease
 * with a higher token once ours has expired); else it is abandoned. */
static void give_up_lease(batch *b, item *it)
{
    aw_job *j = it->job;
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
            give_up_lease(b, it);
            n_refused++;
        } else if (x->final) {
            executed(b, it, x);
        } else if (!going) {
            aw_state_key key = job_key(it->job);
            aw_error err;
            aw_state_lease_release(b->p->state, &key, it->token, &err);
            it->job->abandoned = true;
            it->finished = true;
        }
    }
    if (gone)
        release_leases(b, gone, n_gone);
    if (n_refused)
        AW_WARN("worker", "%zu call(s) not started: lease not known held (state backend "
                "unreachable or partition lost); claimed again later", n_refused);
}

/* Take the arrays of complete() on its first call for the batch. */
static bool completion_arrays(batch *b)
{
    completion *c = &b->done;
    if (!c->cs) {
        c->cs = aw_scratch_calloc(&b->p->scratch, b->n, sizeof(*c->cs));
        c->idx = aw_scratch_calloc(&b->p->scratch, b->n, sizeof(*c->idx));
        c->off = aw_scratch_calloc(&b->p->scratch, b->n, sizeof(*c->off));
        c->handles = aw_scratch_calloc(&b->p->scratch, b->n, sizeof(*c->handles));
    }
    return c->cs && c->idx && c->off && c->handles;
}

/* List the done records of everything executed and not yet completed, their
 * summaries in p->summaries (NUL-separated; pointers are taken once it stops
 * growing). Returns how many, or -1 when out of memory. */
static long list_done_records(batch *b)
{
    completion *c = &b->done;
    aw_buf *sums = &b->p->summaries;
    aw_buf_reset(sums);
    size_t nc = 0;
    for (size_t i = 0; i < b->n; i++) {
        item *it = &b->items[i];
        if (!it->executed || it->completed)
            continue;
        c->off[nc] = sums->len;
        if (aw_details_summary(sums, it->outcome, it->job->action.id, it->attempts,
                               details_of(it)) ||
            aw_buf_append(sums, "", 1))
            return -1; /* the batch is retried later */
        const rd_kafka_message_t *m = it->job->msg;
        c->cs[nc] = (aw_complete){.key = job_key(it->job), .token = it->token,
                                  .source = {aw_job_topic(it->job), m->partition, m->offset},
                                  .window_ms = b->ctx->cfg->dedup.window_s * 1000};
        c->idx[nc++] = i;
    }
    for (size_t k = 0; k < nc; k++)
        c->cs[k].summary = sums->data + c->off[k];
    return (long)nc;
}

/* Write the done records of everything executed and not yet completed, one
 * round trip (once: a single attempt, while calls still run). */
static bool complete(batch *b, bool once)
{
    if (!completion_arrays(b))
        return false;
    long nc = list_done_records(b);
    if (nc < 0)
        return false;
    completion *c = &b->done;
    if (nc && !with_retry(b->p,
                          &(call_site){"complete", &b->ctx->metrics.state_retries,
                                       &b->ctx->metrics.complete_ms, once},
                          call_complete, c->cs, (size_t)nc))
        return false;
    b->oldest_unrecorded = 0;
    size_t n_stale = 0;
    for (long k = 0; k < nc; k++) {
        item *it = &b->items[c->idx[k]];
        c->handles[k] = it->lease;
        it->completed = true;
        if (c->cs[k].stale) {
            give_up_lease(b, it);
            n_stale++;
        }
    }
    release_leases(b, c->handles, (size_t)nc);
    if (n_stale)
        AW_WARN("worker", "%zu call(s) answered after their lease was lost: results not "
                "recorded, claimed again later (the next holder's fencing token is higher)",
                n_stale);
    return true;
}

/* An answer made an item final while other calls may still run. */
static void on_final(void *ud, const aw_exec_item *x)
{
    batch *b = ud;
    item *it = &b->items[x->tag];
    if (it->finished || it->provider < 0 || x->refused)
        return;
    executed(b, it, x);
    if (!b->oldest_unrecorded)
        b->oldest_unrecorded = aw_mono_now_ms();
}

/* Between waits of the provider calls: write the done records once the
 * oldest answer has waited COMPLETE_LINGER_MS; else say when to come back.
 * A failed write is left to the end of the round, which retries it. */
static int64_t on_tick(void *ud)
{
    batch *b = ud;
    if (!b->oldest_unrecorded || b->tick_failed)
        return 0;
    int64_t wait = b->oldest_unrecorded + COMPLETE_LINGER_MS - aw_mono_now_ms();
    if (wait > 0)
        return wait;
    b->tick_failed = !complete(b, true);
    return 0;
}

/* Execute in rounds of concurrent calls (worker/execute_round.h). An
 * executed action is exposed (a crash repeats it) until its done record
 * exists, so done records are written as the answers come, each within
 * COMPLETE_LINGER_MS of its answer while the state backend answers, and
 * after every round. */
static bool execute_and_complete(batch *b)
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
        bool going = aw_exec_round(b->ctx, b->p->providers, &ex, ROUND_START_WINDOW_MS);
        round_done(b, &ex, going);
        if (!complete(b, false))
            return false;
        if (!going)
            break;
    }
    return complete(b, false);
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
    for (size_t i = 0; i < b->n; i++) {
        aw_job *j = b->items[i].job;
        if (!b->items[i].finished)
            continue;
        finished[nf++] = j;
        if (j->abandoned) {
            aw_job_queue_ack(&ctx->done, j);
            continue;
        }
        atomic_store(&j->pending, txn ? 1 : aw_outcome_deliveries(j) + 1);
        if (!txn) {
            aw_outcome_send(ctx, j);
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
    bool ok = claim(&b) && execute_and_complete(&b);
    aw_lease_keeper_remove_batch(p->ctx->keeper, b.leases.first, b.leases.n);
    finish(&b, ok);
    return hand_off(&b, finished);
}

void aw_pipeline_free(aw_pipeline *p)
{
    aw_scratch_free(&p->scratch);
    aw_buf_free(&p->summaries);
}
