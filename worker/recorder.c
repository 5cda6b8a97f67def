#include "worker/recorder.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_fail_log.h"
#include "common/aw_log.h"
#include "worker/record_trace.h"

/* At most this many records in one write, whatever is queued: a round trip
 * of a bounded size, and a thread left free for what comes meanwhile. */
#define MAX_RECORDS_PER_WRITE 1024
#define MAX_SUBMISSIONS_PER_WRITE 64

/* A recorder thread that cannot open its state session is logged once per
 * transition for all of them (the backend's health says the rest). */
static aw_fail_log open_log =
    AW_FAIL_LOG_INIT("recorder", "done-record writers: state session",
                     "the worker threads write their records themselves meanwhile",
                     AW_FAIL_LOG_REMIND_MS);

struct aw_recorder {
    aw_recorder_options o;      /* immutable */
    pthread_t *threads;
    int n_threads;              /* started */
    pthread_mutex_t lock;
    pthread_cond_t work;        /* a submission queued, or stop */
    pthread_cond_t finished;    /* some submission is done */
    /* guarded by lock: */
    aw_record_batch *head, *tail;
    bool stop;
};

/* What one recorder thread owns. */
typedef struct writer {
    aw_recorder *r;
    aw_state_session *ss;       /* opened on first use, reopened after failing */
    aw_complete *merged;        /* the records of one write */
    size_t cap;
    aw_record_batch *taken[MAX_SUBMISSIONS_PER_WRITE]; /* of one write */
} writer;

/* Mark the submissions taken[0..n) done with rc. Caller holds r->lock. */
static void finish_locked(aw_recorder *r, aw_record_batch **taken, size_t n, aw_status rc)
{
    int64_t now = aw_mono_now_us();
    for (size_t i = 0; i < n; i++) {
        taken[i]->rc = rc;
        taken[i]->done_us = now;
        taken[i]->done = true;
    }
    pthread_cond_broadcast(&r->finished);
}

/* Take queued submissions, up to MAX_RECORDS_PER_WRITE records and
 * MAX_SUBMISSIONS_PER_WRITE submissions (at least one, whatever its size).
 * Returns how many, 0 on stop. */
static size_t take(writer *w)
{
    aw_recorder *r = w->r;
    pthread_mutex_lock(&r->lock);
    while (!r->head && !r->stop)
        pthread_cond_wait(&r->work, &r->lock);
    size_t n = 0, records = 0;
    while (r->head && n < MAX_SUBMISSIONS_PER_WRITE &&
           (n == 0 || records + r->head->n <= MAX_RECORDS_PER_WRITE)) {
        aw_record_batch *b = r->head;
        r->head = b->next;
        if (!r->head)
            r->tail = NULL;
        b->next = NULL;
        w->taken[n++] = b;
        records += b->n;
    }
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* The records of taken[0..n) in one array (copies of the items: the state
 * front reorders and folds what it is given). */
static size_t merge(writer *w, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += w->taken[i]->n;
    if (total > w->cap) {
        aw_complete *m = realloc(w->merged, total * sizeof(*m));
        if (!m)
            return 0;
        w->merged = m;
        w->cap = total;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(&w->merged[k], w->taken[i]->items, w->taken[i]->n * sizeof(*w->merged));
        k += w->taken[i]->n;
    }
    return total;
}

/* Write the records of taken[0..n) in one round trip; their `stale`
 * results go back into the submitters' items. */
static aw_status write_taken(writer *w, size_t n)
{
    aw_recorder *r = w->r;
    aw_error err;
    aw_error_clear(&err);
    if (!w->ss) {
        if (aw_state_session_open(r->o.state, &w->ss, &err) != AW_OK) {
            aw_fail_log_failed(&open_log, err.msg);
            w->ss = NULL;
            return err.code ? err.code : AW_TRANSIENT;
        }
        aw_fail_log_ok(&open_log);
    }
    size_t total = merge(w, n);
    if (total == 0)
        return AW_NOMEM;
    int64_t t0 = aw_mono_now_us();
    for (size_t i = 0; i < n; i++)
        aw_histogram_observe_us(r->o.queued, t0 - w->taken[i]->submitted_us);
    aw_status rc = aw_state_complete_batch(w->ss, w->merged, total, &err);
    aw_histogram_observe_us(r->o.latency, aw_mono_now_us() - t0);
    atomic_fetch_add(r->o.writes, 1);
    aw_backend_health_seen(r->o.health, rc == AW_OK || !err.retriable, err.msg);
    if (rc != AW_OK) {
        AW_DEBUG("recorder", "done records: %s (the worker threads retry them)", err.msg);
        return rc;
    }
    aw_record_trace('A', w->merged, total);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < w->taken[i]->n; j++)
            w->taken[i]->items[j].stale = w->merged[k++].stale;
    return AW_OK;
}

static void *recorder_thread(void *arg)
{
    writer w = {.r = arg};
    size_t n;
    while ((n = take(&w)) > 0) {
        aw_status rc = write_taken(&w, n);
        pthread_mutex_lock(&w.r->lock);
        finish_locked(w.r, w.taken, n, rc);
        pthread_mutex_unlock(&w.r->lock);
    }
    aw_state_session_close(w.ss);
    free(w.merged);
    return NULL;
}

aw_status aw_recorder_start(const aw_recorder_options *o, aw_recorder **out, aw_error *err)
{
    *out = NULL;
    aw_recorder *r = calloc(1, sizeof(*r));
    if (!r || !(r->threads = calloc((size_t)o->threads, sizeof(*r->threads)))) {
        free(r);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    r->o = *o;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->finished, NULL);
    for (int i = 0; i < o->threads; i++) {
        if (pthread_create(&r->threads[i], NULL, recorder_thread, r)) {
            aw_recorder_stop(r);
            return aw_error_set(err, AW_INTERNAL, "cannot start done-record writer thread %d",
                                i + 1);
        }
        r->n_threads = i + 1;
    }
    *out = r;
    return AW_OK;
}

void aw_recorder_stop(aw_recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_broadcast(&r->work);
    pthread_mutex_unlock(&r->lock);
    for (int i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    /* Nothing submits after the workers joined; fail whatever a broken
     * start left queued. */
    for (aw_record_batch *b = r->head; b; b = b->next) {
        b->rc = AW_TRANSIENT;
        b->done_us = aw_mono_now_us();
        b->done = true;
    }
    pthread_cond_destroy(&r->finished);
    pthread_cond_destroy(&r->work);
    pthread_mutex_destroy(&r->lock);
    free(r->threads);
    free(r);
}

void aw_recorder_submit(aw_recorder *r, aw_record_batch *b)
{
    b->done = false;
    b->rc = AW_OK;
    b->next = NULL;
    b->submitted_us = aw_mono_now_us();
    pthread_mutex_lock(&r->lock);
    if (r->tail)
        r->tail->next = b;
    else
        r->head = b;
    r->tail = b;
    pthread_cond_signal(&r->work);
    pthread_mutex_unlock(&r->lock);
}

bool aw_recorder_done(aw_recorder *r, aw_record_batch *b)
{
    pthread_mutex_lock(&r->lock);
    bool done = b->done;
    pthread_mutex_unlock(&r->lock);
    return done;
}

/* Take b out of the queue if it is still there. Caller holds r->lock. */
static bool unqueue_locked(aw_recorder *r, aw_record_batch *b)
{
    aw_record_batch *prev = NULL;
    for (aw_record_batch *q = r->head; q; prev = q, q = q->next) {
        if (q != b)
            continue;
        if (prev)
            prev->next = q->next;
        else
            r->head = q->next;
        if (r->tail == q)
            r->tail = prev;
        q->next = NULL;
        return true;
    }
    return false;
}

void aw_recorder_wait(aw_recorder *r, aw_record_batch *b, bool cancel_queued)
{
    pthread_mutex_lock(&r->lock);
    if (!b->done && cancel_queued && unqueue_locked(r, b)) {
        b->rc = AW_TRANSIENT;
        b->done_us = aw_mono_now_us();
        b->done = true;
    }
    while (!b->done)
        pthread_cond_wait(&r->finished, &r->lock);
    pthread_mutex_unlock(&r->lock);
}
