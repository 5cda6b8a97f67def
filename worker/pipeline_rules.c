/* Rules in the pipeline (docs/rules.md): run only when rules are
 * configured (pipeline.c checks cfg->n_rules once per action).
 *
 * prepare: the first matching rule decides. suppress finishes the item at
 * once (no state touched); a throttle whose key cannot be rendered rejects
 * the action (reason rule_field, to the DLQ); a throttle otherwise renders
 * its key and waits for the claim.
 *
 * throttle: after the claim, only for items whose claim was ACQUIRED (a
 * DONE claim answered as without rules, so a redelivered message never
 * counts twice): one atomic increment of the counter of (rule, key, fixed
 * window) per item, made as one increment by n for the n items of a batch
 * that share a counter (a hot key costs one round trip per batch). Over
 * max_count the lease is released without a done record, so a later
 * message of the same identity may execute in a later window, and then: on_limit "reject": outcome throttled; "delay": the
 * action is put off to the start of the next window, through the due index
 * as a scheduled action (pipeline_schedule.c, outcome scheduled), where it
 * is counted again. A scheduled run over the limit (the next window full
 * too) is not finished: the scheduler offers its due item again at the
 * next window's start (scheduler.c, run_jobs), and no reply is sent until
 * it executes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/outcome_details.h"
#include "worker/pipeline_internal.h"
#include "worker/rules.h"

aw_rule_counters *aw_pipeline_rule_counters(batch *b, const aw_rule_config *r)
{
    size_t i = (size_t)(r - b->ctx->cfg->rules);
    return i < b->ctx->metrics.n_rules ? &b->ctx->metrics.rules[i] : NULL;
}

/* A field of the key template is missing or not a scalar: rejected like an
 * invalid action (DLQ copy, reply when the id is known). */
static void reject_rule_field(batch *b, item *it, const aw_rule_config *r,
                              const char *field, const char *why)
{
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, r);
    if (rc)
        atomic_fetch_add(&rc->rejected, 1);
    aw_job *j = it->job;
    aw_reject *rej = &j->reject;
    rej->reason = AW_REJECT_RULE_FIELD;
    snprintf(rej->field, sizeof(rej->field), "%s", field);
    snprintf(rej->detail, sizeof(rej->detail), "rule \"%.64s\": key: %s", r->name, why);
    snprintf(rej->action_id, sizeof(rej->action_id), "%s", j->action.id);
    j->rejected = true;
    aw_details_rejected(&it->details, rej);
    it->applied = r;
    it->outcome = AW_OUTCOME_REJECTED;
    it->finished = true;
}

static void suppress(batch *b, item *it, const aw_rule_config *r)
{
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, r);
    if (rc)
        atomic_fetch_add(&rc->suppressed, 1);
    if (aw_details_suppressed(&it->details, r->name))
        aw_buf_reset(&it->details); /* read as {} */
    it->applied = r;
    it->outcome = AW_OUTCOME_SUPPRESSED;
    it->finished = true;
    it->provider = -1;
}

/* The rendered key is copied into the batch's scratch: the item keeps a
 * pointer, the buffer is reused. Out of memory: the job is abandoned and
 * comes again (as when its audit record cannot begin). A throttle counts
 * after the claim, a lock is taken after it (pipeline_lock.c), a state
 * machine's event is moved after it (pipeline_machine.c). */
static void prepare_keyed(batch *b, item *it, const aw_rule_config *r, aw_rule_scope *sc)
{
    aw_buf key = {0};
    char field[64] = "", why[192] = "";
    int rc = aw_rules_render_key(r, &it->job->action, sc, &key, field, sizeof(field), why,
                                 sizeof(why));
    if (rc == -1) {
        reject_rule_field(b, it, r, field, why);
    } else {
        char *copy = rc == 0 ? aw_scratch_calloc(&b->p->scratch, key.len + 1, 1) : NULL;
        if (!copy) {
            AW_ERROR("worker", "%s: out of memory rendering a %s key",
                     it->job->record.record_id, r->verdict);
            it->job->abandoned = true;
            it->finished = true;
        } else {
            memcpy(copy, key.data ? key.data : "", key.len);
            if (strcmp(r->verdict, "lock") == 0) {
                it->lock = r;
                it->lock_key = copy;
                b->n_lock++;
            } else if (r->machine_cfg) {
                it->machine = r;
                it->fingerprint = copy;
                b->n_machine++;
            } else if (strcmp(r->verdict, "group") == 0) {
                it->group = r;
                it->group_key = copy;
                b->n_group++;
            } else {
                it->throttle = r;
                it->throttle_key = copy;
                b->n_throttle++;
            }
        }
    }
    aw_buf_free(&key);
}

void aw_pipeline_rules_prepare(batch *b, item *it)
{
    aw_rule_scope sc = {0};
    const aw_rule_config *r = aw_rules_match(b->ctx->cfg, &it->job->action, &sc);
    if (r && strcmp(r->verdict, "suppress") == 0) {
        suppress(b, it, r);
    } else if (r && r->chain_cfg) { /* started after the claim (pipeline_chain.c) */
        it->chain = r;
        b->n_chain++;
    } else if (r) { /* throttle, lock, state_machine or group: the others config check lets
                       through */
        prepare_keyed(b, it, r, &sc);
    }
    aw_rule_scope_clear(&sc);
}

/* ---- counting ------------------------------------------------------------- */

typedef struct count_call {
    aw_state_key key;
    int64_t ttl_ms;
    int64_t by;
    int64_t value;
} count_call;

static aw_status call_increment(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    (void)n; /* one per call: a retried batch would count its first items twice */
    count_call *c = items;
    return aw_state_increment(s, &c->key, c->by, c->ttl_ms, &c->value, err);
}

/* Over the limit: not executed now; the lease goes back at once (best
 * effort: it expires anyway) and the keeper stops renewing it. */
static void give_back_lease(batch *b, item *it)
{
    aw_pipeline_release_lease(b, it, "a throttled action");
    it->token = 0; /* nothing ran under the lease */
    it->provider = -1;
}

static void throttled(batch *b, item *it, int64_t retry_after_ms)
{
    const aw_rule_config *r = it->throttle;
    give_back_lease(b, it);
    aw_buf_reset(&it->details);
    if (aw_details_throttled(&it->details, r->name, it->throttle_key, r->max_count,
                             r->window_s, retry_after_ms))
        aw_buf_reset(&it->details);
    it->outcome = AW_OUTCOME_THROTTLED;
    it->finished = true;
}

/* Put off to the next window's start (ends_ms, wall clock). */
static void delayed(batch *b, item *it, int64_t now_ms, int64_t ends_ms)
{
    give_back_lease(b, it);
    if (it->job->scheduled) {
        /* Already in the due index, leased by this run: left unfinished,
         * the scheduler offers it again then. */
        it->job->not_before_mono = aw_mono_now_ms() + (ends_ms - now_ms);
    } else {
        it->delay_until_ms = ends_ms;
        b->n_delay++;
    }
}

/* Does the item count on a throttle now? Acquired claims only: finished
 * (DONE, rejected) and busy items (provider -1) are not counted. */
static bool to_count(const item *it)
{
    return it->throttle && !it->finished && it->provider >= 0 && it->token;
}

static bool same_counter(const item *a, const item *b)
{
    return a->throttle == b->throttle && strcmp(a->throttle_key, b->throttle_key) == 0;
}

/* Count the n items of one counter (items[first] and the later ones with
 * the same rule and key, marked in `counted`) with one increment by n: the
 * counter's new value v means they drew v-n+1 .. v, in batch order, as n
 * increments by 1 would have. False when the state backend failed for good. */
static bool count_group(batch *b, size_t first, bool *counted)
{
    item *lead = &b->items[first];
    const aw_rule_config *r = lead->throttle;
    int64_t n = 0;
    for (size_t i = first; i < b->n; i++)
        if (!counted[i] && to_count(&b->items[i]) && same_counter(lead, &b->items[i]))
            counted[i] = true, n++;
    int64_t now = aw_time_now_ms(), ends;
    int64_t window = aw_rules_window(now, r->window_s, &ends);
    aw_buf id = {0};
    if (aw_rules_counter_id(&id, window, lead->throttle_key)) {
        aw_buf_free(&id);
        return false;
    }
    count_call c = {.key = {.ns = "acteon.rules", .tenant = r->name, .kind = "throttle",
                            .id = id.data},
                    .ttl_ms = aw_rules_counter_ttl_ms(now, ends), .by = n};
    bool ok = aw_pipeline_with_retry(b->p,
                                     &(aw_call_site){"throttle count",
                                                     &b->ctx->metrics.state_retries,
                                                     &b->ctx->metrics.throttle_ms},
                                     call_increment, &c, 1);
    aw_buf_free(&id);
    if (!ok)
        return false;
    atomic_fetch_add(&b->ctx->metrics.throttle_counts, 1);
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, r);
    int64_t drawn = c.value - n;
    for (size_t i = first; i < b->n; i++) {
        item *it = &b->items[i];
        if (!counted[i] || !to_count(it) || !same_counter(lead, it))
            continue;
        bool over = ++drawn > r->max_count;
        it->applied = r; /* counted: its verdict applies, throttled, delayed or let through */
        bool delay = over && aw_rules_delays(r);
        if (rc)
            atomic_fetch_add(!over ? &rc->allowed : delay ? &rc->delayed : &rc->throttled, 1);
        if (delay)
            delayed(b, it, now, ends);
        else if (over)
            throttled(b, it, ends - now);
    }
    return true;
}

bool aw_pipeline_throttle(batch *b)
{
    bool *counted = aw_scratch_calloc(&b->p->scratch, b->n, sizeof(*counted));
    if (!counted)
        return false;
    for (size_t i = 0; i < b->n; i++)
        if (!counted[i] && to_count(&b->items[i]) && !count_group(b, i, counted))
            return false;
    return !b->n_delay || aw_pipeline_delay(b);
}
