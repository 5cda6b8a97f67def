/* The scheduler thread (worker/scheduler.h says what a round does and
 * why). Everything here runs on the scheduler's thread, or on a test's
 * thread through aw_scheduler_round; only `stop` is shared (atomic). */
#include "worker/scheduler.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/chain_run.h"
#include "worker/chain_state.h"
#include "worker/event_state.h"
#include "worker/event_timeout.h"
#include "worker/group_flush.h"
#include "worker/group_state.h"
#include "worker/job_queue.h"
#include "worker/pipeline.h"
#include "worker/schedule_item.h"

struct aw_scheduler {
    aw_worker_ctx *ctx;              /* borrowed */
    aw_state_session *state;         /* owned; NULL until opened */
    aw_provider_sessions *providers; /* owned; NULL until opened */
    aw_pipeline pipeline;            /* borrows the two sessions */
    aw_job_queue back;               /* its jobs' acknowledgements (job->home) */
    size_t cap;                      /* schedule.batch_size */
    aw_due_item *items;              /* one round's take */
    aw_job **jobs, **finished;       /* one round's jobs */
    size_t *item_of;                 /* jobs[k] was made from items[item_of[k]] */
    aw_state_key *keys;              /* items[i]'s key (borrows items[i]) */
    uint64_t *tokens;                /* items[i]'s token */
    uint64_t due_first;              /* lease keeper handle of items[0]'s due lease
                                        (items[i]: due_first + i); 0 = none */
    size_t round_lost;               /* items of this round found lost (lease_lost) */
    /* The due-index gauges (refresh_stats): */
    int64_t stats_at_ms;             /* now_ms of the last refresh; 0 = none yet */
    bool stats_unsupported;          /* the backend has no due_stats: never again */
    bool timeouts;                   /* a state machine has timeouts: their
                                        kind is taken too */
    bool chains;                     /* chains are configured: their kind too */
    bool chain_moved;                /* this round released a chain to go on at
                                        once: the next round follows without a
                                        nap (a step every schedule.poll_ms
                                        would pace every chain by it) */
    bool groups;                     /* a group rule is configured: the
                                        flushes' kind is taken too */
    pthread_t thread;
    bool started;
    atomic_bool stop;                /* aw_scheduler_stop's request */
};

const char *aw_scheduler_unavailable(const aw_config *cfg)
{
    const aw_state_driver *d = aw_state_driver_find(cfg->state.backend);
    if (d && !d->due_put)
        return "the state backend has no due-time index";
    if (cfg->kafka.transactional_replies)
        return "not supported with kafka.transactional_replies";
    return NULL;
}

static bool stopping(aw_scheduler *s)
{
    return atomic_load(&s->stop) || aw_ctx_stopping(s->ctx);
}

static bool open_sessions(aw_scheduler *s)
{
    aw_worker_ctx *ctx = s->ctx;
    aw_error err;
    aw_error_clear(&err);
    if (!s->state && aw_state_session_open(ctx->state, &s->state, &err) != AW_OK) {
        aw_backend_health_seen(&ctx->state_health, false, err.msg);
        return false;
    }
    if (!s->providers && aw_provider_sessions_open(ctx->providers, &s->providers, &err) != AW_OK) {
        AW_WARN("scheduler", "provider sessions: %s", err.msg);
        return false;
    }
    s->pipeline.state = s->state;
    s->pipeline.providers = s->providers;
    return true;
}

static aw_state_key item_key(const aw_due_item *it)
{
    return (aw_state_key){.ns = it->ns, .tenant = it->tenant, .kind = it->kind, .id = it->id};
}

/* Keeping the due leases: why the lease keeper and not the wait loop of
 * run_jobs. aw_pipeline_run runs on this thread and blocks for as long as
 * the round's provider calls take (retries and backoff included): a
 * renewal step here would not run while a lease is most at risk. The
 * keeper's thread already renews the dedup leases and the locks of those
 * same calls with its own session, batched, and says which lease was lost;
 * the due leases are a third kind there (aw_lease_keeper_add_due), renewed
 * at a third of schedule.lease_ms with one due_extend per batch. */

/* Stop the keeper renewing items[i]'s due lease (it is being settled now);
 * true when the keeper had found it lost (a renewal refused: expired, or
 * the item taken by another replica): not ours to settle, counted, and
 * logged once per round (aw_scheduler_round). A renewal racing this is
 * harmless: the keeper books nothing for a lease no longer registered. */
static bool lease_lost(aw_scheduler *s, size_t i)
{
    if (!s->due_first)
        return false; /* not registered (no memory): the backend judges */
    uint64_t h = s->due_first + i;
    bool lost = aw_lease_keeper_held_until(s->ctx->keeper, h) == 0;
    aw_lease_keeper_remove(s->ctx->keeper, &h, 1);
    if (lost) {
        atomic_fetch_add(&s->ctx->metrics.due_lost, 1);
        s->round_lost++;
    }
    return lost;
}

/* due_done or due_release, retried briefly through a transient failure.
 * Not forever: an item left leased is offered again when its lease ends,
 * and the dedup claim then keeps it from running twice. */
static aw_status finish_item(aw_scheduler *s, size_t i, bool done, int64_t retry_at_ms,
                             atomic_ulong *counter)
{
    const aw_due_item *it = &s->items[i];
    if (lease_lost(s, i))
        return AW_CONFLICT;
    aw_state_key k = item_key(it);
    aw_error err;
    aw_status rc = AW_OK;
    for (int attempt = 1; attempt <= 5; attempt++) {
        aw_error_clear(&err);
        rc = done ? aw_state_due_done(s->state, &k, it->token, &err)
                  : aw_state_due_release(s->state, &k, it->token, retry_at_ms, &err);
        aw_backend_health_seen(&s->ctx->state_health, rc == AW_OK || !err.retriable, err.msg);
        if (rc == AW_OK || !err.retriable || !aw_ctx_sleep(s->ctx, aw_backoff_ms(attempt, 50, 1000)))
            break;
    }
    if (rc == AW_CONFLICT) {
        /* The lease ran out before the keeper could renew it (the state
         * backend slow or unreachable for most of schedule.lease_ms):
         * another replica may hold the item now; its claim answers with
         * our outcome. */
        atomic_fetch_add(&s->ctx->metrics.due_lost, 1);
        AW_WARN("scheduler", "due item %s/%s: lease lost before %s (not renewed in time)",
                it->tenant, it->id, done ? "due_done" : "due_release");
    } else if (rc != AW_OK) {
        AW_WARN("scheduler", "due item %s/%s: %s: %s (offered again when its lease ends)",
                it->tenant, it->id, done ? "due_done" : "due_release", err.msg);
    } else {
        atomic_fetch_add(counter, 1);
    }
    return rc;
}

/* The job of a taken item, or NULL: an unreadable item is removed (it can
 * never run; logged and counted), and one we have no memory for is
 * released for a later take. */
static aw_job *make_job(aw_scheduler *s, size_t i)
{
    const aw_due_item *it = &s->items[i];
    char topic[AW_ACTION_MAX_TOPIC_LEN + 1];
    int32_t partition;
    int64_t offset;
    const void *msg;
    size_t len;
    if (aw_schedule_value_read(it->value, it->len, topic, sizeof(topic), &partition, &offset,
                               &msg, &len) != 0) {
        AW_ERROR("scheduler", "due item %s/%s is not a scheduled action: removed", it->tenant,
                 it->id);
        finish_item(s, i, true, 0, &s->ctx->metrics.due_dropped);
        return NULL;
    }
    aw_job *j = aw_job_new_scheduled(topic, partition, offset, msg, len,
                                     (size_t)s->ctx->cfg->ingest.max_message_bytes);
    if (!j) {
        AW_ERROR("scheduler", "out of memory: due item %s/%s released", it->tenant, it->id);
        finish_item(s, i, false, 0, &s->ctx->metrics.due_released);
        return NULL;
    }
    return j;
}

/* The job of a state machine's timeout item (worker/event_timeout.h) or of
 * a group's flush (worker/group_flush.h), or NULL: nothing to do (removed),
 * or the state backend failed (released, offered again after a pause). */
static aw_job *make_timeout_job(aw_scheduler *s, size_t i, int64_t now_ms)
{
    const aw_due_item *it = &s->items[i];
    aw_job *j = NULL;
    bool group = strcmp(it->kind, AW_GROUP_FLUSH_KIND) == 0;
    int64_t retry_at = now_ms + s->ctx->cfg->schedule.poll_ms;
    switch (group ? aw_group_flush_fire(s->ctx->cfg, s->state, it, now_ms, &s->ctx->metrics, &j,
                                        &retry_at)
                  : aw_event_timeout_fire(s->ctx->cfg, s->state, it, now_ms, &s->ctx->metrics,
                                          &j)) {
    case AW_TIMEOUT_JOB:
        if (!group)
            atomic_fetch_add(&s->ctx->metrics.event_timeouts_fired, 1);
        return j;
    case AW_TIMEOUT_DROP:
        if (!group)
            atomic_fetch_add(&s->ctx->metrics.event_timeouts_moved_on, 1);
        finish_item(s, i, true, 0, &s->ctx->metrics.due_done);
        return NULL;
    case AW_TIMEOUT_RETRY:
        finish_item(s, i, false, retry_at, &s->ctx->metrics.due_released);
        return NULL;
    }
    return NULL;
}

/* The job of a chain's item (worker/chain_run.h), or NULL: progress booked
 * without one (released, taken again at once), nothing left to do
 * (removed), or the state backend failed (released, offered again after a
 * pause). */
static aw_job *make_chain_job(aw_scheduler *s, size_t i, int64_t now_ms)
{
    aw_job *j = NULL;
    aw_chain_next next = aw_chain_next_job(s->ctx->cfg, s->state, &s->items[i], now_ms,
                                           &s->ctx->metrics, &j);
    if (next == AW_CHAIN_DROP)
        finish_item(s, i, true, 0, &s->ctx->metrics.due_done);
    else if (next != AW_CHAIN_JOB &&
             finish_item(s, i, false,
                         next == AW_CHAIN_AGAIN ? 0 : now_ms + s->ctx->cfg->schedule.poll_ms,
                         &s->ctx->metrics.due_released) == AW_OK &&
             next == AW_CHAIN_AGAIN)
        s->chain_moved = true;
    return j;
}

/* A chain's job acknowledged: its step booked in the chain's record, the
 * item released to continue (or removed after the end). */
static void settle_chain(aw_scheduler *s, size_t i, const aw_job *j)
{
    int64_t now_ms = aw_time_now_ms();
    aw_chain_next next = aw_chain_settle(s->ctx->cfg, s->state, &s->items[i], j, now_ms,
                                         &s->ctx->metrics);
    if (next == AW_CHAIN_DROP)
        finish_item(s, i, true, 0, &s->ctx->metrics.due_done);
    else if (finish_item(s, i, false,
                         next == AW_CHAIN_AGAIN ? 0 : now_ms + s->ctx->cfg->schedule.poll_ms,
                         &s->ctx->metrics.due_released) == AW_OK &&
             next == AW_CHAIN_AGAIN)
        s->chain_moved = true;
}

static size_t index_of(aw_job *const *jobs, size_t n, const aw_job *j)
{
    for (size_t k = 0; k < n; k++)
        if (jobs[k] == j)
            return k;
    return n;
}

/* Run the round's jobs through the pipeline and settle each item. */
static void run_jobs(aw_scheduler *s, size_t nj)
{
    size_t nf = aw_pipeline_run(&s->pipeline, s->jobs, nj, s->finished);
    /* The unfinished ones (their identity leased elsewhere: a message with
     * the same identity is running) are still ours: offered again once
     * that lease may be gone. The finished ones are no longer ours to
     * read, only to compare: they are freed below, once popped. */
    for (size_t k = 0; k < nj; k++) {
        if (index_of(s->finished, nf, s->jobs[k]) < nf)
            continue;
        aw_job *j = s->jobs[k];
        int64_t wait = j->not_before_mono - aw_mono_now_ms();
        finish_item(s, s->item_of[k], false, aw_time_now_ms() + (wait > 0 ? wait : 0),
                    &s->ctx->metrics.due_released);
        aw_job_free(j);
        s->jobs[k] = NULL;
    }
    /* The finished ones come back once their audit record is durable and
     * their reply delivered (or at once when abandoned). The audit writer
     * and the producer hand every job back in the end, failed if need be,
     * so this wait ends; it is logged when long. */
    int64_t started = aw_mono_now_ms(), said = started;
    for (size_t got = 0; got < nf;) {
        aw_job *list = NULL;
        got += aw_job_queue_pop(&s->back, nf - got, 100, &list);
        while (list) {
            aw_job *j = list;
            list = j->next;
            size_t k = index_of(s->jobs, nj, j);
            if (k == nj) { /* not one of this round's: cannot happen */
                AW_ERROR("scheduler", "%s: unknown job handed back", j->record.record_id);
                continue;
            }
            size_t i = s->item_of[k];
            if (j->abandoned || atomic_load(&j->delivery_failed))
                /* No outcome recorded or its reply lost: again, at once (a
                 * recorded outcome is answered DONE and replied again). */
                finish_item(s, i, false, 0, &s->ctx->metrics.due_released);
            else if (j->chain_part)
                settle_chain(s, i, j);
            else
                finish_item(s, i, true, 0, &s->ctx->metrics.due_done);
            s->jobs[k] = NULL;
            aw_job_free(j);
        }
        if (aw_mono_now_ms() - said > 30000) {
            said = aw_mono_now_ms();
            AW_WARN("scheduler", "waiting %" PRId64 " s for %zu scheduled action(s) to be "
                    "acknowledged", (said - started) / 1000, nf - got);
        }
    }
}

/* Refresh the due-index gauges (metrics.h: this thread writes them, the
 * HTTP thread reads them) when schedule.stats_interval_ms has passed since
 * the last refresh, by the round's clock: one due_stats per interval per
 * replica, whatever the rounds' pace (a full take is followed by another
 * at once). A clock stepped back refreshes at once rather than waiting for
 * it. A failure keeps the last values (the state backend's health reports
 * the outage) and is tried again after the interval. */
static void refresh_stats(aw_scheduler *s, int64_t now_ms)
{
    aw_worker_ctx *ctx = s->ctx;
    int64_t every = ctx->cfg->schedule.stats_interval_ms;
    if (every <= 0 || s->stats_unsupported ||
        (s->stats_at_ms > 0 && now_ms >= s->stats_at_ms && now_ms - s->stats_at_ms < every))
        return;
    s->stats_at_ms = now_ms > 0 ? now_ms : 1;
    aw_due_stats st;
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = aw_state_due_stats(s->state, ctx->cfg->kafka.group_id, AW_SCHEDULE_KIND, now_ms,
                                      &st, &err);
    if (rc == AW_UNSUPPORTED) {
        s->stats_unsupported = true;
        AW_INFO("scheduler", "no due-index gauges: %s", err.msg);
        return;
    }
    if (rc != AW_OK) {
        AW_DEBUG("scheduler", "due_stats: %s", err.msg);
        return;
    }
    int64_t lag = st.has_oldest && now_ms > st.oldest_due_ms ? now_ms - st.oldest_due_ms : 0;
    atomic_store(&ctx->metrics.due_pool_items, st.items);
    atomic_store(&ctx->metrics.due_pool_waiting, st.waiting);
    atomic_store(&ctx->metrics.due_oldest_lag_ms, lag);
    atomic_store(&ctx->metrics.due_stats_seen, true);
}

/* One take of the pool's items of `kind` due by now_ms, made into jobs and
 * run: the number taken, -1 when due_take failed. */
static int take_and_run(aw_scheduler *s, const char *kind, int64_t now_ms)
{
    aw_worker_ctx *ctx = s->ctx;
    size_t n = 0;
    aw_error err;
    aw_error_clear(&err);
    int64_t t0 = aw_mono_now_us();
    aw_status rc = aw_state_due_take(s->state, ctx->cfg->kafka.group_id, kind, now_ms,
                                     s->cap, ctx->cfg->schedule.lease_ms, s->items, &n, &err);
    aw_histogram_observe_us(&ctx->metrics.due_take_ms, aw_mono_now_us() - t0);
    aw_backend_health_seen(&ctx->state_health, rc == AW_OK || !err.retriable, err.msg);
    if (rc != AW_OK) {
        if (err.retriable) /* the state backend's health logs the outage once */
            AW_DEBUG("scheduler", "due_take: %s", err.msg);
        else
            AW_WARN("scheduler", "due_take: %s", err.msg);
        return -1;
    }
    atomic_fetch_add(&ctx->metrics.due_taken, n);
    /* Kept alive from the time the take was sent (the backend's lease
     * runs from a later instant) until each item is settled. */
    for (size_t i = 0; i < n; i++) {
        s->keys[i] = item_key(&s->items[i]);
        s->tokens[i] = s->items[i].token;
    }
    s->round_lost = 0;
    s->due_first = n ? aw_lease_keeper_add_due(ctx->keeper, s->keys, s->tokens, n,
                                               ctx->cfg->schedule.lease_ms, t0 / 1000)
                     : 0;
    size_t nj = 0;
    bool timeouts = strcmp(kind, AW_EVENT_TIMEOUT_KIND) == 0 ||
                    strcmp(kind, AW_GROUP_FLUSH_KIND) == 0;
    bool chains = strcmp(kind, AW_CHAIN_KIND) == 0;
    for (size_t i = 0; i < n; i++) {
        aw_job *j = chains     ? make_chain_job(s, i, now_ms)
                    : timeouts ? make_timeout_job(s, i, now_ms)
                               : make_job(s, i);
        if (j) {
            j->home = &s->back;
            j->lost_epoch = atomic_load(&s->ctx->lost_epoch);
            s->jobs[nj] = j;
            s->item_of[nj++] = i;
        }
    }
    if (nj)
        run_jobs(s, nj);
    /* Every item was settled (each one left the keeper then); the keys it
     * borrowed go now. */
    aw_lease_keeper_remove_batch(ctx->keeper, s->due_first, n);
    s->due_first = 0;
    if (s->round_lost)
        AW_WARN("scheduler", "%zu of %zu scheduled action(s) of this round lost their due lease "
                "while running (a renewal was refused: expired or taken by another replica): "
                "left to their new holder", s->round_lost, n);
    for (size_t i = 0; i < n; i++)
        aw_due_item_clear(&s->items[i]);
    return (int)n;
}

int aw_scheduler_round(aw_scheduler *s, int64_t now_ms)
{
    if (!open_sessions(s))
        return -1;
    /* Before the take: what waits includes what this round is about to
     * take, so a backlog shows even when each round drains a full batch. */
    refresh_stats(s, now_ms);
    int n = take_and_run(s, AW_SCHEDULE_KIND, now_ms);
    if (n >= 0 && s->timeouts) {
        int t = take_and_run(s, AW_EVENT_TIMEOUT_KIND, now_ms);
        n = t < 0 ? -1 : t > n ? t : n; /* a full take of any: more may be due */
    }
    if (n >= 0 && s->chains) {
        int c = take_and_run(s, AW_CHAIN_KIND, now_ms);
        n = c < 0 ? -1 : c > n ? c : n;
    }
    if (n >= 0 && s->groups) {
        int g = take_and_run(s, AW_GROUP_FLUSH_KIND, now_ms);
        n = g < 0 ? -1 : g > n ? g : n;
    }
    return n;
}

/* Sleep up to ms, in slices, so a stop is seen within 20 ms. */
static void nap(aw_scheduler *s, int64_t ms)
{
    int64_t end = aw_mono_now_ms() + ms;
    for (int64_t now = aw_mono_now_ms(); now < end && !stopping(s); now = aw_mono_now_ms())
        aw_sleep_ms(end - now < 20 ? end - now : 20);
}

static void *scheduler_main(void *arg)
{
    aw_scheduler *s = arg;
    int failures = 0;
    while (!stopping(s)) {
        s->chain_moved = false;
        int n = aw_scheduler_round(s, aw_time_now_ms());
        failures = n < 0 ? failures + 1 : 0;
        if (n >= (int)s->cap || s->chain_moved)
            continue; /* more may be due already */
        nap(s, n < 0 ? aw_backoff_ms(failures, s->ctx->cfg->schedule.poll_ms, 5000)
                     : s->ctx->cfg->schedule.poll_ms);
    }
    return NULL;
}

/* The per-round arrays (any of them may be NULL). */
static void free_arrays(aw_scheduler *s)
{
    free(s->items);
    free(s->jobs);
    free(s->finished);
    free(s->item_of);
    free(s->keys);
    free(s->tokens);
}

aw_status aw_scheduler_new(aw_worker_ctx *ctx, aw_scheduler **out, aw_error *err)
{
    *out = NULL;
    aw_scheduler *s = calloc(1, sizeof(*s));
    if (!s)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    s->ctx = ctx;
    s->pipeline.ctx = ctx;
    s->cap = (size_t)ctx->cfg->schedule.batch_size;
    s->timeouts = aw_event_timeouts_configured(ctx->cfg);
    s->chains = ctx->cfg->n_chains > 0;
    s->groups = aw_group_rules_configured(ctx->cfg);
    s->items = calloc(s->cap, sizeof(*s->items));
    s->jobs = calloc(s->cap, sizeof(*s->jobs));
    s->finished = calloc(s->cap, sizeof(*s->finished));
    s->item_of = calloc(s->cap, sizeof(*s->item_of));
    s->keys = calloc(s->cap, sizeof(*s->keys));
    s->tokens = calloc(s->cap, sizeof(*s->tokens));
    if (!s->items || !s->jobs || !s->finished || !s->item_of || !s->keys || !s->tokens ||
        aw_job_queue_init(&s->back)) {
        free_arrays(s);
        free(s);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    *out = s;
    return AW_OK;
}

aw_status aw_scheduler_start(aw_scheduler *s, aw_error *err)
{
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0)
        return aw_error_set(err, AW_INTERNAL, "cannot start the scheduler thread");
    s->started = true;
    return AW_OK;
}

void aw_scheduler_stop(aw_scheduler *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    if (s->started)
        pthread_join(s->thread, NULL);
    aw_provider_sessions_close(s->providers);
    aw_state_session_close(s->state);
    aw_pipeline_free(&s->pipeline);
    aw_job_queue_destroy(&s->back);
    free_arrays(s);
    free(s);
}
