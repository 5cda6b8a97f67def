#include "worker/worker.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_fail_log.h"
#include "common/aw_log.h"
#include "worker/batch_select.h"

/* Provider sessions failing to open, once per transition for every worker
 * thread (a state backend failing is logged by ctx->state_health). */
static aw_fail_log provider_open_log =
    AW_FAIL_LOG_INIT("worker", "provider sessions", "worker threads retrying with backoff",
                     AW_FAIL_LOG_REMIND_MS);

/* Nothing queued for this thread: a stop need not wait for its sessions. */
static bool queue_idle(aw_worker *w)
{
    pthread_mutex_lock(&w->queue.lock);
    bool idle = w->queue.head == NULL;
    pthread_mutex_unlock(&w->queue.lock);
    return idle;
}

/* Whether open_sessions should stop retrying: time to give up (hard stop,
 * stop deadline), or a stop began and this thread has nothing to finish. */
static bool stop_opening(aw_worker *w)
{
    return aw_ctx_give_up(w->ctx) || (aw_ctx_stopping(w->ctx) && queue_idle(w));
}

/* Open this thread's backend and provider sessions, retrying while a backend
 * is unreachable (consumption stalls meanwhile: nothing is dropped). Gives
 * up (false) when stop_opening() says so; the backoff sleeps in slices so a
 * stop is seen within 50 ms. Failures are logged once per transition for
 * all threads, not per attempt. */
static bool open_sessions(aw_worker *w)
{
    aw_worker_ctx *ctx = w->ctx;
    aw_error err;
    for (int attempt = 1;; attempt++) {
        aw_status rc = AW_OK;
        aw_error_clear(&err);
        if (!w->state)
            rc = aw_state_session_open(ctx->state, &w->state, &err);
        aw_backend_health_seen(&ctx->state_health, w->state != NULL, err.msg);
        if (rc == AW_OK && !w->providers) {
            rc = aw_provider_sessions_open(ctx->providers, &w->providers, &err);
            if (rc == AW_OK)
                aw_fail_log_ok(&provider_open_log);
            else
                aw_fail_log_failed(&provider_open_log, err.msg);
        }
        if (rc == AW_OK) {
            w->pipeline.state = w->state;
            w->pipeline.providers = w->providers;
            return true;
        }
        int64_t end = aw_mono_now_ms() + aw_backoff_ms(attempt, 100, 5000);
        while (aw_mono_now_ms() < end) {
            if (stop_opening(w)) {
                AW_DEBUG("worker", "worker %zu: stopping before its sessions opened", w->index);
                return false;
            }
            aw_sleep_ms(50);
        }
    }
}

static int pending_push(aw_worker *w, aw_job *j)
{
    if (w->n_pending == w->cap_pending) {
        size_t ncap = w->cap_pending ? w->cap_pending * 2 : 128;
        aw_job **n = realloc(w->pending, ncap * sizeof(*n));
        if (!n)
            return -1;
        w->pending = n;
        w->cap_pending = ncap;
    }
    w->pending[w->n_pending++] = j;
    return 0;
}

/* Jobs parked on a lock rule's lock held elsewhere (worker/pipeline_lock.c):
 * not counted against the pending list's size, so that a hot lock key's
 * waiters do not keep this thread from taking the jobs of other keys. The
 * in-flight window (workers.max_in_flight) still bounds them. */
static size_t lock_waiters(const aw_worker *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n_pending; i++)
        n += w->pending[i]->lock_wait_since_mono != 0;
    return n;
}

/* Move jobs from the shared queue into the local pending list. */
static size_t fill(aw_worker *w, int64_t timeout_ms)
{
    size_t want = (size_t)w->ctx->cfg->workers.batch_size * 2;
    if (w->ctx->cfg->n_rules) /* the one check when no rules */
        want += lock_waiters(w);
    if (w->n_pending >= want)
        return 0;
    aw_job *list = NULL;
    size_t n = aw_job_queue_pop(&w->queue, want - w->n_pending, timeout_ms, &list);
    size_t max_bytes = (size_t)w->ctx->cfg->ingest.max_message_bytes;
    int64_t now_us = list ? aw_mono_now_us() : 0;
    while (list) {
        aw_job *next = list->next;
        list->next = NULL;
        list->taken_us = now_us;
        /* Parsing and validation happen here, in parallel on every worker,
         * not on the polling thread (which only scanned the identity). */
        aw_job_decode(list, max_bytes);
        if (pending_push(w, list)) {
            /* Out of memory: give the job up; it is redelivered after a
             * restart because its offset is never marked done. */
            list->abandoned = true;
            aw_job_queue_ack(&w->ctx->done, list);
            atomic_fetch_sub(&w->load, 1);
        }
        list = next;
    }
    return n;
}

/* Drop finished jobs (those the pipeline handed on) from the pending list,
 * keeping the order of the rest. */
static void compact(aw_worker *w, aw_job **finished, size_t n_finished)
{
    size_t o = 0;
    for (size_t i = 0; i < w->n_pending; i++) {
        bool done = false;
        for (size_t k = 0; k < n_finished && !done; k++)
            done = w->pending[i] == finished[k];
        if (!done)
            w->pending[o++] = w->pending[i];
    }
    w->n_pending = o;
}

static void abandon_all(aw_worker *w)
{
    for (size_t i = 0; i < w->n_pending; i++) {
        w->pending[i]->abandoned = true;
        aw_job_queue_ack(&w->ctx->done, w->pending[i]);
    }
    atomic_fetch_sub(&w->load, (long)w->n_pending);
    w->n_pending = 0;
    aw_job *list = NULL;
    size_t n;
    while ((n = aw_job_queue_pop(&w->queue, 1024, 0, &list))) {
        atomic_fetch_sub(&w->load, (long)n);
        while (list) {
            aw_job *next = list->next;
            list->abandoned = true;
            aw_job_queue_ack(&w->ctx->done, list);
            list = next;
        }
    }
}

static void *worker_main(void *arg)
{
    aw_worker *w = arg;
    size_t max = (size_t)w->ctx->cfg->workers.batch_size;
    aw_job **batch = calloc(max, sizeof(*batch));
    aw_job **finished = calloc(max, sizeof(*finished));
    if (!batch || !finished || !open_sessions(w)) {
        abandon_all(w);
        free(batch);
        free(finished);
        return NULL;
    }
    int64_t next_due = INT64_MAX;
    for (;;) {
        if (aw_ctx_give_up(w->ctx)) /* second signal, or the stop's bound passed */
            break;
        int64_t now = aw_mono_now_ms();
        int64_t wait = 0;
        if (w->n_pending == 0)
            wait = 200;
        else if (next_due != INT64_MAX && next_due > now)
            wait = next_due - now < 200 ? next_due - now : 200;
        size_t got = fill(w, wait);
        if (got == 0 && w->n_pending == 0) {
            /* Empty and nothing came: closed queue means we are done. */
            pthread_mutex_lock(&w->queue.lock);
            bool closed = w->queue.closed && !w->queue.head;
            pthread_mutex_unlock(&w->queue.lock);
            if (closed)
                break;
            continue;
        }
        size_t n = aw_batch_select(w->pending, w->n_pending, batch, max, aw_mono_now_ms(), &next_due);
        if (n == 0)
            continue;
        size_t n_finished = aw_pipeline_run(&w->pipeline, batch, n, finished);
        compact(w, finished, n_finished);
        atomic_fetch_sub(&w->load, (long)n_finished);
    }
    abandon_all(w);
    free(batch);
    free(finished);
    aw_provider_sessions_close(w->providers);
    aw_state_session_close(w->state);
    w->providers = NULL;
    w->state = NULL;
    return NULL;
}

aw_status aw_worker_start(aw_worker *w, aw_worker_ctx *ctx, size_t index, aw_error *err)
{
    memset(w, 0, sizeof(*w));
    atomic_init(&w->load, 0);
    w->ctx = ctx;
    w->pipeline.ctx = ctx;
    w->index = index;
    if (aw_job_queue_init(&w->queue))
        return aw_error_set(err, AW_INTERNAL, "worker %zu: queue init failed", index);
    if (pthread_create(&w->thread, NULL, worker_main, w)) {
        aw_job_queue_destroy(&w->queue);
        return aw_error_set(err, AW_INTERNAL, "worker %zu: cannot start thread", index);
    }
    w->started = true;
    return AW_OK;
}

void aw_worker_join(aw_worker *w)
{
    if (!w->started)
        return;
    aw_job_queue_close(&w->queue);
    pthread_join(w->thread, NULL);
    /* A thread that gave up opening its sessions (stop begun, nothing
     * queued) may have been handed jobs by the last dispatch after it
     * looked: hand them back abandoned rather than lose them. */
    abandon_all(w);
    aw_job_queue_destroy(&w->queue);
    free(w->pending);
    w->pending = NULL;
    aw_pipeline_free(&w->pipeline);
    w->started = false;
}
