#include "worker/pipeline.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_json_out.h"
#include "common/aw_log.h"
#include "ingest/json_check.h"
#include "worker/execute_round.h"
#include "worker/outcome.h"

/* Longest time an executed action waits for its done record. */
#define COMPLETE_EVERY_MS 20

/* Per-job scratch of one batch. */
typedef struct item {
    aw_job *job;
    int provider;           /* index in the provider set */
    bool finished;          /* reached an outcome (or abandoned) this round */
    bool executed;          /* the provider ran: complete must follow */
    bool completed;         /* its complete was sent (done record or stale) */
    uint64_t token;
    aw_outcome outcome;
    json_t *details;        /* owned */
    char *details_text;     /* owned: details as compact JSON, made once
                               (details_text()) for the done record and the
                               audit record; NULL until then */
    int64_t attempts;
} item;

static aw_state_key job_key(const aw_job *j)
{
    return (aw_state_key){.ns = j->action.ns, .tenant = j->action.tenant, .kind = "dedup",
                          .id = aw_action_key(&j->action)};
}

/* One backend round trip of a batch, retried by with_retry(). */
typedef aw_status (*batch_call)(aw_worker *w, void *items, size_t n, aw_error *err);

/* What a retried call reports to: its name in logs, its retry counter, its
 * latency histogram and the reachability flag /readyz reads. */
typedef struct call_site {
    const char *what;
    atomic_ulong *retries;
    aw_histogram *latency;
    atomic_bool *reachable;
} call_site;

/* Run a backend call until it succeeds or fails for good. Transient
 * failures (backend down) are retried with backoff for as long as it takes:
 * work stalls, the in-flight window fills and consumption pauses; nothing is
 * dropped. Returns false on a permanent error or a hard stop. */
static bool with_retry(aw_worker *w, const call_site *site, batch_call call, void *items,
                       size_t n)
{
    for (int attempt = 1;; attempt++) {
        aw_error err;
        aw_error_clear(&err);
        int64_t t0 = aw_mono_now_us();
        aw_status rc = call(w, items, n, &err);
        aw_histogram_observe_us(site->latency, aw_mono_now_us() - t0);
        aw_runtime_backend_seen(w->rt, "state", site->reachable, rc == AW_OK || !err.retriable,
                                err.msg);
        if (rc == AW_OK)
            return true;
        atomic_fetch_add(site->retries, 1);
        AW_WARN("worker", "%s: %s (attempt %d)", site->what, err.msg, attempt);
        if (!err.retriable || !aw_worker_sleep(w, aw_backoff_ms(attempt, 50, 5000)))
            return false;
    }
}

static aw_status call_claim(aw_worker *w, void *items, size_t n, aw_error *err)
{
    return aw_state_claim_batch(w->state, items, n, err);
}

static aw_status call_complete(aw_worker *w, void *items, size_t n, aw_error *err)
{
    return aw_state_complete_batch(w->state, items, n, err);
}

static void reject(aw_worker *w, item *it)
{
    aw_job *j = it->job;
    (void)w;
    json_t *d = json_object();
    json_object_set_new(d, "reason", json_string(aw_reject_reason_name(j->reject.reason)));
    if (j->reject.field[0])
        json_object_set_new(d, "field", json_string(j->reject.field));
    json_object_set_new(d, "error", json_string(j->reject.detail));
    it->outcome = AW_OUTCOME_REJECTED;
    it->details = d;
    it->finished = true;
}

/* The same message coming back (redelivery after a crash between complete
 * and commit) gets its original outcome and details again. Rare: through
 * jansson. */
static void answer_redelivered(item *it, const aw_claim *c)
{
    json_t *summary = c->done_summary ? json_loads(c->done_summary, 0, NULL) : NULL;
    const char *orig = summary ? json_string_value(json_object_get(summary, "outcome")) : NULL;
    aw_outcome orig_outcome = AW_OUTCOME_EXECUTED;
    if (orig)
        aw_outcome_parse(orig, &orig_outcome);
    json_t *d = summary ? json_object_get(summary, "details") : NULL;
    it->outcome = orig_outcome;
    it->details = d ? json_incref(d) : json_object();
    json_object_set_new(it->details, "redelivered", json_true());
    it->attempts = summary ? json_integer_value(json_object_get(summary, "attempts")) : 0;
    json_decref(summary);
}

/* What a duplicate's details need of the done record's summary (JSON that
 * summary_for wrote): its outcome and action id. */
typedef struct summary_view {
    aw_json_value outcome, action_id;
    bool has_outcome, has_action_id;
} summary_view;

static void summary_member(void *ctx, const char *key, size_t key_len, const aw_json_value *v)
{
    summary_view *sv = ctx;
    if (v->kind != AW_JSON_STRING)
        return;
    if (key_len == 7 && memcmp(key, "outcome", 7) == 0)
        sv->outcome = *v, sv->has_outcome = true;
    else if (key_len == 9 && memcmp(key, "action_id", 9) == 0)
        sv->action_id = *v, sv->has_action_id = true;
}

/* Append `"name":` and the JSON string of v (unescaped first, so the bytes
 * are what jansson would write), then ','. */
static int put_summary_string(aw_buf *b, const char *name, const aw_json_value *v)
{
    char small[128], *s = v->str_len < sizeof small ? small : malloc(v->str_len + 1);
    if (!s)
        return -1;
    aw_json_string_copy(v, s);
    int rc = aw_json_out_name(b, name) || aw_json_out_string(b, s, v->str_len) ||
             aw_buf_puts(b, ",");
    if (s != small)
        free(s);
    return rc ? -1 : 0;
}

/* Any other message with this identity is a duplicate: its details say
 * which message did the work. One per duplicate (10% of a typical load):
 * written as text, where parsing the summary and dumping a tree with jansson
 * cost ~40,000 instructions. Members and order as that tree had them. */
static void answer_duplicate(item *it, const aw_claim *c)
{
    summary_view sv = {0};
    aw_json_value root;
    aw_json_error jerr;
    if (c->done_summary &&
        (aw_json_check(c->done_summary, strlen(c->done_summary), 64, summary_member, &sv,
                       &root, &jerr) != 0 ||
         root.kind != AW_JSON_OBJECT))
        sv = (summary_view){0}; /* unreadable: as if there were none */
    aw_outcome orig_outcome = AW_OUTCOME_EXECUTED;
    if (sv.has_outcome) {
        char name[32];
        if (sv.outcome.str_len < sizeof name) {
            aw_json_string_copy(&sv.outcome, name);
            aw_outcome_parse(name, &orig_outcome);
        }
    }
    aw_buf b = {0};
    bool ok = !aw_buf_puts(&b, "{") && !aw_json_out_name(&b, "original_outcome") &&
              !aw_json_out_cstr(&b, aw_outcome_name(orig_outcome)) &&
              !aw_buf_puts(&b, ",\"original_source\":{") && !aw_json_out_name(&b, "topic") &&
              !aw_json_out_cstr(&b, c->done_topic ? c->done_topic : "") &&
              !aw_buf_puts(&b, ",") && !aw_json_out_name(&b, "partition") &&
              !aw_json_out_int(&b, c->done_partition) && !aw_buf_puts(&b, ",") &&
              !aw_json_out_name(&b, "offset") && !aw_json_out_int(&b, c->done_offset) &&
              !aw_buf_puts(&b, "},") &&
              (!sv.has_action_id || !put_summary_string(&b, "original_action_id", &sv.action_id)) &&
              !aw_json_out_name(&b, "original_fencing_token") &&
              !aw_json_out_int(&b, (int64_t)c->done_token) && !aw_buf_puts(&b, "}");
    if (!ok)
        aw_buf_free(&b); /* out of memory: details_text() falls back to {} */
    it->details_text = b.data;
    it->outcome = AW_OUTCOME_DEDUPLICATED;
}

/* A done record exists: the same message again, or a duplicate. */
static void answer_done(item *it, const aw_claim *c)
{
    const rd_kafka_message_t *m = it->job->msg;
    bool same = c->done_topic && strcmp(c->done_topic, aw_job_topic(it->job)) == 0 &&
                c->done_partition == m->partition && c->done_offset == m->offset;
    it->token = c->done_token;
    it->finished = true;
    if (same)
        answer_redelivered(it, c);
    else
        answer_duplicate(it, c);
}

static void busy(aw_worker *w, item *it, const aw_claim *c)
{
    aw_job *j = it->job;
    j->busy_waits++;
    atomic_fetch_add(&w->rt->metrics.lease_busy_waits, 1);
    int64_t wait = aw_backoff_ms(j->busy_waits, w->rt->cfg->dedup.busy_retry_ms, 1000);
    if (c->retry_after_ms > 0 && c->retry_after_ms < wait)
        wait = c->retry_after_ms;
    j->not_before_mono = aw_mono_now_ms() + wait;
    if (j->busy_waits == 1 || j->busy_waits % 50 == 0)
        AW_DEBUG("worker", "%s: identity leased elsewhere (token %" PRIu64 "), waiting",
                 j->record.record_id, c->token);
}

/* Append "name":"value", as json_object_set_new(.., json_string(value)) did:
 * a NULL value, or one that is not valid UTF-8 (json_string refuses it), is
 * left out. Out of memory also leaves it out; the caller's next append
 * fails then. */
static void put_text_member(aw_buf *b, const char *name, const char *value)
{
    size_t at = b->len;
    if (!value || (!aw_json_out_name(b, name) && !aw_json_out_cstr(b, value) &&
                   !aw_buf_puts(b, ",")))
        return;
    if (b->data) {
        b->len = at;
        b->data[at] = '\0';
    }
}

/* The provider's last answer (worker/execute_round) becomes the outcome.
 * Its details are written as text directly (one per executed action; a
 * jansson tree and its dump cost a dozen allocations): the members and their
 * order are those the tree had. */
static void execute_done(item *it, const aw_exec_item *x)
{
    const aw_provider_result *res = &x->res;
    aw_buf b = {0};
    bool ok = !aw_buf_puts(&b, "{");
    if (res->http_status)
        ok = ok && !aw_json_out_name(&b, "provider_status") &&
             !aw_json_out_int(&b, res->http_status) && !aw_buf_puts(&b, ",");
    if (ok && !res->ok) {
        put_text_member(&b, "error_code", res->error_code);
        put_text_member(&b, "error", res->error);
    }
    ok = ok && !aw_json_out_name(&b, "attempts") && !aw_json_out_int(&b, x->attempts) &&
         !aw_buf_puts(&b, "}");
    if (!ok)
        aw_buf_free(&b); /* out of memory: details_text() falls back to {} */
    it->details_text = b.data;
    it->outcome = res->ok ? AW_OUTCOME_EXECUTED : AW_OUTCOME_FAILED;
    it->attempts = x->attempts;
    it->executed = true;
    it->finished = true;
}

/* Claim every valid job of the batch in one round trip. */
/* The leases taken by one batch, registered with the lease keeper as one
 * group: renewed from the claim until the done records are written (the
 * wait for a turn in the batch, the provider call, complete retries through
 * a backend outage). */
typedef struct lease_group {
    uint64_t first; /* keeper handle of the first, 0 = none registered */
    size_t n;
} lease_group;

static bool claim_all(aw_worker *w, item *items, size_t n, lease_group *leases)
{
    aw_scratch *sc = &w->scratch;
    aw_claim *claims = aw_scratch_calloc(sc, n, sizeof(*claims));
    size_t *idx = aw_scratch_calloc(sc, n, sizeof(*idx));
    aw_state_key *leased_keys = aw_scratch_calloc(sc, n, sizeof(*leased_keys));
    uint64_t *leased_tokens = aw_scratch_calloc(sc, n, sizeof(*leased_tokens));
    size_t nc = 0, n_leased = 0;
    bool ok = claims && idx && leased_keys && leased_tokens;
    for (size_t i = 0; ok && i < n; i++) {
        if (items[i].finished)
            continue;
        claims[nc].key = job_key(items[i].job);
        claims[nc].lease_ms = w->rt->cfg->dedup.lease_ms;
        idx[nc++] = i;
    }
    if (ok && nc)
        ok = with_retry(w,
                        &(call_site){"claim", &w->rt->metrics.state_retries,
                                     &w->rt->metrics.claim_ms, &w->rt->state_ok},
                        call_claim, claims, nc);
    for (size_t k = 0; ok && k < nc; k++) {
        item *it = &items[idx[k]];
        switch (claims[k].result) {
        case AW_CLAIM_ACQUIRED:
            it->token = claims[k].token;
            leased_keys[n_leased] = claims[k].key;
            leased_tokens[n_leased++] = it->token;
            break;
        case AW_CLAIM_DONE:
            answer_done(it, &claims[k]);
            break;
        case AW_CLAIM_BUSY:
            busy(w, it, &claims[k]);
            it->provider = -1; /* not this round */
            break;
        }
    }
    /* The keys point into the jobs' actions, which outlive the group. */
    leases->n = n_leased;
    leases->first = n_leased ? aw_lease_keeper_add_batch(w->rt->keeper, leased_keys,
                                                         leased_tokens, n_leased)
                             : 0;
    for (size_t k = 0; claims && k < nc; k++)
        aw_claim_clear(&claims[k]);
    return ok;
}

/* details as compact JSON text, dumped once and kept; NULL when out of
 * memory. */
static const char *details_text(item *it)
{
    if (!it->details_text)
        it->details_text = it->details ? json_dumps(it->details, JSON_COMPACT) : strdup("{}");
    return it->details_text;
}

/* Append the done record's summary, written directly (one per executed
 * action): {"outcome":..,"action_id":..,"attempts":..,"details":{..}}.
 * Returns -1 when out of memory, with out as it was. */
static int summary_for(item *it, aw_buf *out)
{
    size_t start = out->len;
    const char *d = details_text(it);
    if (d && !aw_buf_puts(out, "{\"outcome\":\"") &&
        !aw_buf_puts(out, aw_outcome_name(it->outcome)) && !aw_buf_puts(out, "\",") &&
        !aw_json_out_name(out, "action_id") && !aw_json_out_cstr(out, it->job->action.id) &&
        !aw_buf_puts(out, ",") && !aw_json_out_name(out, "attempts") &&
        !aw_json_out_int(out, it->attempts) && !aw_buf_puts(out, ",") &&
        !aw_json_out_name(out, "details") && !aw_buf_puts(out, d) && !aw_buf_puts(out, "}"))
        return 0;
    if (out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return -1;
}

/* The arrays of complete_all, taken from the worker's scratch on its first
 * call for a batch and reused by the later ones (one per execution round). */
typedef struct completion {
    aw_complete *cs;
    size_t *idx;
    size_t *off; /* offset of each summary in w->summaries */
} completion;

/* Write the done records of everything executed and not yet completed, one
 * round trip. */
static bool complete_all(aw_worker *w, item *items, size_t n, completion *c)
{
    if (!c->cs) {
        c->cs = aw_scratch_calloc(&w->scratch, n, sizeof(*c->cs));
        c->idx = aw_scratch_calloc(&w->scratch, n, sizeof(*c->idx));
        c->off = aw_scratch_calloc(&w->scratch, n, sizeof(*c->off));
    }
    aw_complete *cs = c->cs;
    size_t *idx = c->idx;
    size_t nc = 0;
    bool ok = cs && idx && c->off;
    /* Every summary in one buffer, NUL-separated; pointers are taken once
     * it stops growing. */
    aw_buf *sums = &w->summaries;
    aw_buf_reset(sums);
    for (size_t i = 0; ok && i < n; i++) {
        item *it = &items[i];
        if (!it->executed || it->completed)
            continue;
        c->off[nc] = sums->len;
        if (summary_for(it, sums) || aw_buf_append(sums, "", 1))
            ok = false; /* out of memory: the batch is retried later */
        const rd_kafka_message_t *m = it->job->msg;
        cs[nc] = (aw_complete){.key = job_key(it->job), .token = it->token,
                               .source = {aw_job_topic(it->job), m->partition, m->offset},
                               .window_ms = w->rt->cfg->dedup.window_s * 1000};
        idx[nc++] = i;
    }
    for (size_t k = 0; ok && k < nc; k++)
        cs[k].summary = sums->data + c->off[k];
    if (ok && nc)
        ok = with_retry(w,
                        &(call_site){"complete", &w->rt->metrics.state_retries,
                                     &w->rt->metrics.complete_ms, &w->rt->state_ok},
                        call_complete, cs, nc);
    for (size_t k = 0; ok && k < nc; k++) {
        items[idx[k]].completed = true;
        if (!cs[k].stale)
            continue;
        /* Our lease expired and another holder took over while the provider
         * ran: the call may have happened twice; the fencing token lets the
         * provider refuse the stale one. Say so in the record. */
        item *it = &items[idx[k]];
        AW_WARN("worker", "%s: lease lost before completion (token %" PRIu64 ")",
                it->job->record.record_id, it->token);
        if (!it->details && it->details_text) /* written as text by execute_done */
            it->details = json_loads(it->details_text, 0, NULL);
        if (!it->details)
            it->details = json_object();
        json_object_set_new(it->details, "lease_lost", json_true());
        free(it->details_text); /* dumped again with the flag */
        it->details_text = NULL;
    }
    return ok;
}

size_t aw_pipeline_run(aw_worker *w, aw_job **jobs, size_t n, aw_job **finished)
{
    aw_runtime *rt = w->rt;
    aw_scratch_reset(&w->scratch);
    completion completion_arrays = {0};
    item *items = aw_scratch_calloc(&w->scratch, n, sizeof(*items));
    if (!items)
        return 0;
    int64_t now = aw_time_now_ms();
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        it->job = jobs[i];
        aw_error err;
        if (!it->job->record.record_id && aw_outcome_begin(rt, it->job, now, &err) != AW_OK) {
            AW_ERROR("worker", "%s", err.msg);
            it->job->abandoned = true;
            it->finished = true;
            continue;
        }
        if (it->job->rejected) {
            reject(w, it);
            continue;
        }
        it->provider = aw_provider_set_find(rt->providers, it->job->action.provider);
        if (it->provider < 0) {
            aw_reject *r = &it->job->reject;
            r->reason = AW_REJECT_UNKNOWN_PROVIDER;
            snprintf(r->field, sizeof(r->field), "provider");
            snprintf(r->detail, sizeof(r->detail), "provider: no provider named \"%.128s\" is configured",
                     it->job->action.provider);
            snprintf(r->action_id, sizeof(r->action_id), "%s", it->job->action.id);
            it->job->rejected = true;
            reject(w, it);
        }
    }

    lease_group leases = {0};
    bool ok = claim_all(w, items, n, &leases);
    /* Execute in rounds of concurrent calls (worker/execute_round.h). An
     * executed action is exposed (a crash repeats it) until its done record
     * exists, so done records are written after every round, and a round
     * starts no call later than COMPLETE_EVERY_MS after its first. */
    aw_exec exec, *ex = &exec;
    ok = ok && aw_exec_init(ex, &w->scratch, n) == 0;
    for (size_t i = 0; ok && i < n; i++)
        if (!items[i].finished && items[i].provider >= 0)
            aw_exec_add(ex, items[i].job, items[i].provider, items[i].token, i);
    while (ok && aw_exec_pending(ex)) {
        bool going = aw_exec_round(w, ex, COMPLETE_EVERY_MS);
        for (size_t k = 0; k < ex->n; k++) {
            const aw_exec_item *x = &ex->items[k];
            item *it = &items[x->tag];
            if (it->finished)
                continue;
            if (x->final) {
                execute_done(it, x);
            } else if (!going) {
                /* Not started: give the lease back so another replica need
                 * not wait for it to expire. */
                aw_state_key key = job_key(it->job);
                aw_error err;
                aw_state_lease_release(w->state, &key, it->token, &err);
                it->job->abandoned = true;
                it->finished = true;
            }
        }
        ok = complete_all(w, items, n, &completion_arrays);
        if (!going)
            break;
    }
    if (ok)
        ok = complete_all(w, items, n, &completion_arrays);
    aw_lease_keeper_remove_batch(rt->keeper, leases.first, leases.n);

    size_t nf = 0;
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (!ok && !it->job->rejected && !it->job->abandoned) {
            /* The state backend failed for good, or we are stopping hard:
             * nothing is recorded for this job and its offset stays
             * uncommitted, so it is processed again later. */
            it->job->abandoned = true;
            it->finished = true;
        }
        if (!it->finished)
            continue;
        if (!it->job->abandoned) {
            aw_error err;
            details_text(it);
            if (aw_outcome_finish(rt, it->job, it->outcome, it->details_text, it->token,
                                  it->attempts, &err) != AW_OK) {
                AW_ERROR("worker", "%s", err.msg);
                it->job->abandoned = true;
            }
            it->details_text = NULL;
        }
        json_decref(it->details);
        it->details = NULL;
        free(it->details_text);
        it->details_text = NULL;
    }

    /* Every finished job is handed back; an abandoned one at once, the others
     * once their acknowledgements are in: the audit record durable (audit
     * writer) and, outside transactional mode, each reply/DLQ copy
     * delivered. In transactional mode the polling thread produces the
     * reply/DLQ copy inside the open transaction together with the offset,
     * once the message is in its partition's completed prefix, so "reply
     * committed" implies "terminal outcome recorded" and "offset
     * committed". Replies go out before the audit write so the two
     * overlap. */
    bool txn = rt->cfg->kafka.transactional_replies;
    /* Not touched after their acknowledgement: a job may be freed by then. */
    aw_job **to_audit = aw_scratch_calloc(&w->scratch, n, sizeof(*to_audit));
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (!it->finished)
            continue;
        finished[nf++] = it->job;
        if (it->job->abandoned) {
            aw_runtime_job_ack(rt, it->job);
            continue;
        }
        atomic_store(&it->job->pending, txn ? 1 : aw_outcome_deliveries(rt, it->job) + 1);
        if (!txn) {
            aw_outcome_send(rt, it->job);
            /* Nothing reads the parsed action any more (the reply is built,
             * the audit record has its own copy): free the tree on the
             * thread that allocated it, before any acknowledgement can hand
             * the job back. */
            aw_action_clear(&it->job->action);
        }
        if (!rt->audit_writer)
            aw_runtime_job_ack(rt, it->job);
        else if (to_audit)
            to_audit[na++] = it->job;
        else /* no memory for the list: one at a time */
            aw_audit_writer_push(rt->audit_writer, &it->job, 1);
    }
    if (na)
        aw_audit_writer_push(rt->audit_writer, to_audit, na);

    return nf;
}
