#include "worker/audit_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

/* Cleanup calls per round (each deletes at most audit.cleanup_batch
 * records): bounded work, so a large backlog is worked off over several
 * rounds instead of one long statement holding up the writes. */
#define CLEANUP_CALLS_PER_ROUND 10

/* One writer thread and its scratch arrays (batch_size each), owned by it. */
typedef struct writer_thread {
    aw_audit_writer *w;
    size_t index;
    pthread_t thread;
    bool started;
    aw_job **batch;
    aw_audit_record *recs;     /* shallow views of the batch's records */
    bool *refused;             /* per record: refused for good */
} writer_thread;

struct aw_audit_writer {
    aw_audit_writer_options o; /* immutable; what it points to is borrowed */

    pthread_mutex_t lock;
    pthread_cond_t not_empty;  /* signalled on push and close */
    pthread_cond_t not_full;   /* signalled when a writer takes jobs, and on hard stop */
    aw_job *head, *tail;       /* guarded by lock */
    size_t len;                /* guarded by lock */
    bool closed;               /* guarded by lock */

    writer_thread *threads;
    size_t n_threads;
};

/* ---- helpers ------------------------------------------------------------- */

/* Time to stop waiting: a hard stop, or the stop's deadline passed. */
static bool hard_stopped(const aw_audit_writer *w)
{
    if (atomic_load(w->o.hard_stop))
        return true;
    long long deadline = w->o.stop_deadline ? atomic_load(w->o.stop_deadline) : 0;
    return deadline != 0 && aw_mono_now_ms() >= deadline;
}

static bool closed_and_empty(aw_audit_writer *w);

/* Sleep up to ms, in slices so a hard stop is noticed. False on hard stop,
 * and, when `idle_stops`, as soon as the writer is closed with nothing
 * queued (a session open that no record waits for). */
static bool nap(aw_audit_writer *w, int64_t ms, bool idle_stops)
{
    int64_t end = aw_mono_now_ms() + ms;
    for (;;) {
        if (hard_stopped(w) || (idle_stops && closed_and_empty(w)))
            return false;
        int64_t left = end - aw_mono_now_ms();
        if (left <= 0)
            return true;
        aw_sleep_ms(left < 50 ? left : 50);
    }
}

/* The job's audit acknowledgement; `failed` keeps its offset uncommitted. */
static void ack(aw_audit_writer *w, aw_job *j, bool failed)
{
    if (failed)
        atomic_store(&j->delivery_failed, true);
    else
        j->audit_acked_us = aw_mono_now_us();
    aw_job_queue_ack(w->o.done, j);
}

/* ---- queue --------------------------------------------------------------- */

void aw_audit_writer_push(aw_audit_writer *w, aw_job *const *jobs, size_t n)
{
    int64_t now = aw_mono_now_ms();
    size_t i = 0;
    pthread_mutex_lock(&w->lock);
    while (i < n) {
        /* Room for at least one: a batch larger than the capacity still
         * goes in, piece by piece. */
        while (w->len >= w->o.capacity && !hard_stopped(w)) {
            struct timespec ts;
            aw_mono_deadline(&ts, 50); /* re-check the hard stop */
            pthread_cond_timedwait(&w->not_full, &w->lock, &ts);
        }
        if (hard_stopped(w))
            break;
        for (; i < n && w->len < w->o.capacity; i++) {
            aw_job *j = jobs[i];
            j->next = NULL;
            j->audit_queued_mono = now;
            if (w->tail)
                w->tail->next = j;
            else
                w->head = j;
            w->tail = j;
            w->len++;
        }
        pthread_cond_signal(&w->not_empty);
    }
    pthread_mutex_unlock(&w->lock);
    for (; i < n; i++) /* hard stop: nothing more will be written */
        ack(w, jobs[i], true);
}

size_t aw_audit_writer_depth(aw_audit_writer *w)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->len;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* Take the next batch into out (at most batch_size): as soon as a full batch
 * is queued, or the oldest queued record has waited flush_ms, or the writer
 * is closing. Waits at most until `until_mono` when nothing is queued (the
 * next cleanup). Returns the count (0: nothing yet, or closed and empty). */
static size_t take(aw_audit_writer *w, aw_job **out, int64_t until_mono)
{
    size_t n = 0;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (w->len >= w->o.batch_size || (w->closed && w->len > 0) || hard_stopped(w))
            break;
        if (w->closed)
            break;
        int64_t now = aw_mono_now_ms();
        int64_t due = w->head ? w->head->audit_queued_mono + w->o.flush_ms : until_mono;
        if (now >= due)
            break;
        struct timespec ts;
        /* at most 50 ms at a time: a hard stop sets no condition variable */
        aw_mono_deadline(&ts, due - now < 50 ? due - now : 50);
        pthread_cond_timedwait(&w->not_empty, &w->lock, &ts);
    }
    while (w->head && n < w->o.batch_size) {
        out[n++] = w->head;
        w->head = w->head->next;
        w->len--;
    }
    if (!w->head)
        w->tail = NULL;
    if (n)
        pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->lock);
    return n;
}

static bool closed_and_empty(aw_audit_writer *w)
{
    pthread_mutex_lock(&w->lock);
    bool done = w->closed && w->len == 0;
    pthread_mutex_unlock(&w->lock);
    return done;
}

/* ---- writing ------------------------------------------------------------- */

/* Write recs[0..n) until durable. Transient failures are retried with
 * backoff until the backend answers or a hard stop; a permanent failure
 * splits the batch to find the records the backend refuses, which are
 * marked in `refused`. Returns false only on a hard stop. */
static bool write_batch(aw_audit_writer *w, aw_audit_session *s, const aw_audit_record *recs,
                        size_t n, bool *refused)
{
    aw_metrics *m = w->o.metrics;
    for (int attempt = 1;; attempt++) {
        aw_error err;
        aw_error_clear(&err);
        size_t inserted = 0;
        int64_t t0 = aw_mono_now_us();
        aw_status rc = aw_audit_append_batch(s, recs, n, &inserted, &err);
        aw_histogram_observe_us(&m->audit_ms, aw_mono_now_us() - t0);
        aw_backend_health_seen(w->o.health, rc == AW_OK || !err.retriable, err.msg);
        if (rc == AW_OK) {
            atomic_fetch_add(&m->audit_records, inserted);
            atomic_fetch_add(&m->audit_batches, 1);
            return true;
        }
        if (!err.retriable) {
            if (n == 1) {
                AW_ERROR("audit", "%s: the audit backend refuses this record for good: %s; "
                         "its offset stays uncommitted",
                         recs[0].record_id, err.msg);
                atomic_fetch_add(&m->audit_refused, 1);
                refused[0] = true;
                return true;
            }
            /* Isolate the bad record(s): the rest of the batch is fine. */
            size_t half = n / 2;
            return write_batch(w, s, recs, half, refused) &&
                   write_batch(w, s, recs + half, n - half, refused + half);
        }
        /* Logged by the health flag, once per outage for every writer. */
        atomic_fetch_add(&m->audit_retries, 1);
        AW_DEBUG("audit", "writing %zu record(s): %s (attempt %d, retrying)", n, err.msg,
                 attempt);
        if (!nap(w, aw_backoff_ms(attempt, 50, 5000), false))
            return false;
    }
}

/* Delete expired records in bounded chunks; failures are only logged (the
 * next round tries again). */
static void cleanup_round(aw_audit_writer *w, aw_audit_session *s)
{
    size_t total = 0;
    for (int call = 0; call < CLEANUP_CALLS_PER_ROUND && !hard_stopped(w); call++) {
        aw_error err;
        aw_error_clear(&err);
        size_t deleted = 0;
        if (aw_audit_cleanup(s, aw_time_now_ms(), w->o.cleanup_batch, &deleted, &err) != AW_OK) {
            AW_WARN("audit", "retention cleanup: %s", err.msg);
            break;
        }
        total += deleted;
        if (deleted < w->o.cleanup_batch)
            break;
    }
    if (total)
        AW_INFO("audit", "retention cleanup: %zu expired record(s) deleted", total);
}

/* Open a session, retrying while the backend is unreachable (logged by the
 * health flag, once per outage for every writer). NULL on a hard stop, at
 * the stop deadline, or once the writer is closed with nothing queued. */
static aw_audit_session *open_session(aw_audit_writer *w, size_t index)
{
    for (int attempt = 1;; attempt++) {
        aw_audit_session *s = NULL;
        aw_error err;
        aw_error_clear(&err);
        if (aw_audit_session_open(w->o.audit, &s, &err) == AW_OK) {
            aw_backend_health_seen(w->o.health, true, NULL);
            return s;
        }
        aw_backend_health_seen(w->o.health, false, err.msg);
        AW_DEBUG("audit", "writer %zu: opening a session: %s (attempt %d)", index, err.msg,
                 attempt);
        if (!nap(w, aw_backoff_ms(attempt, 100, 5000), true))
            return NULL;
    }
}

static void *writer_main(void *arg)
{
    writer_thread *t = arg;
    aw_audit_writer *w = t->w;
    /* Only the first writer cleans up: one is enough per process. */
    bool cleans = t->index == 0 && w->o.cleanup_every_ms > 0;
    int64_t next_cleanup = aw_mono_now_ms() + (cleans ? w->o.cleanup_every_ms : INT64_MAX / 2);
    /* At once, not at the first record: /readyz reports the audit backend's
     * reachability from here on. */
    aw_audit_session *s = open_session(w, t->index);
    for (;;) {
        size_t n = take(w, t->batch, next_cleanup);
        if (n == 0 && closed_and_empty(w))
            break;
        if (n == 0 && hard_stopped(w)) {
            aw_sleep_ms(10); /* until stop() closes the queue */
            continue;
        }
        if (!s && !hard_stopped(w))
            s = open_session(w, t->index);
        bool ok = s != NULL && !hard_stopped(w);
        if (n) {
            for (size_t i = 0; i < n; i++) {
                t->recs[i] = t->batch[i]->record; /* shallow: the jobs own the strings */
                t->refused[i] = false;
            }
            if (ok)
                ok = write_batch(w, s, t->recs, n, t->refused);
            /* a hard stop during the write: the batch is not known durable */
            for (size_t i = 0; i < n; i++)
                ack(w, t->batch[i], !ok || t->refused[i]);
        }
        if (ok && cleans && aw_mono_now_ms() >= next_cleanup) {
            cleanup_round(w, s);
            next_cleanup = aw_mono_now_ms() + w->o.cleanup_every_ms;
        }
    }
    aw_audit_session_close(s);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

aw_audit_writer_options aw_audit_writer_options_from_config(const aw_config *cfg)
{
    return (aw_audit_writer_options){
        .batch_size = (size_t)cfg->audit.batch_size,
        .flush_ms = cfg->audit.flush_interval_ms,
        .capacity = (size_t)cfg->audit.queue_capacity,
        .writers = (size_t)cfg->audit.writers,
        .cleanup_every_ms = (int64_t)cfg->audit.cleanup_interval_s * 1000,
        .cleanup_batch = (size_t)cfg->audit.cleanup_batch};
}

aw_status aw_audit_writer_start(const aw_audit_writer_options *o, aw_audit_writer **out,
                                aw_error *err)
{
    *out = NULL;
    aw_audit_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    w->o = *o;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    bool ok = pthread_mutex_init(&w->lock, NULL) == 0;
    bool c1 = ok && pthread_cond_init(&w->not_empty, &ca) == 0;
    bool c2 = c1 && pthread_cond_init(&w->not_full, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!c2) {
        if (c1)
            pthread_cond_destroy(&w->not_empty);
        if (ok)
            pthread_mutex_destroy(&w->lock);
        free(w);
        return aw_error_set(err, AW_INTERNAL, "audit writer: cannot create its lock");
    }
    w->threads = calloc(o->writers ? o->writers : 1, sizeof(*w->threads));
    if (!w->threads) {
        aw_audit_writer_stop(w);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < o->writers; i++) {
        writer_thread *t = &w->threads[i];
        t->w = w;
        t->index = i;
        w->n_threads = i + 1;
        t->batch = calloc(w->o.batch_size, sizeof(*t->batch));
        t->recs = calloc(w->o.batch_size, sizeof(*t->recs));
        t->refused = calloc(w->o.batch_size, sizeof(*t->refused));
        if (!t->batch || !t->recs || !t->refused) {
            aw_audit_writer_stop(w);
            return aw_error_set(err, AW_NOMEM, "out of memory");
        }
        if (pthread_create(&t->thread, NULL, writer_main, t) != 0) {
            aw_audit_writer_stop(w);
            return aw_error_set(err, AW_INTERNAL, "audit writer: cannot start thread %zu", i);
        }
        t->started = true;
    }
    *out = w;
    return AW_OK;
}

void aw_audit_writer_stop(aw_audit_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->closed = true;
    pthread_cond_broadcast(&w->not_empty);
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < w->n_threads; i++) {
        writer_thread *t = &w->threads[i];
        if (t->started)
            pthread_join(t->thread, NULL);
        free(t->batch);
        free(t->recs);
        free(t->refused);
    }
    /* No thread ever started: whatever was queued comes back failed. */
    while (w->head) {
        aw_job *j = w->head;
        w->head = j->next;
        ack(w, j, true);
    }
    free(w->threads);
    pthread_cond_destroy(&w->not_full);
    pthread_cond_destroy(&w->not_empty);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
