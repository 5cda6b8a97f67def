/* The audit writer (worker/audit_writer.h) against a scripted audit driver:
 * batches bounded by size and by time, acknowledgements only after the
 * backend accepted the batch, transient failures retried, refused records
 * isolated, a bounded queue that makes pushers wait, and a hard stop that
 * hands everything back as failed. Every wait is for a condition, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/aw_clock.h"
#include "worker/audit_writer.h"

#define WAIT_MS 10000

/* ---- a scripted audit backend -------------------------------------------- */

typedef struct fake {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t calls;             /* append_batch calls, failed ones included */
    size_t stored;            /* records accepted */
    size_t batch_sizes[4096]; /* of the accepted calls */
    size_t n_batches;
    int transient_left;       /* fail this many calls with a retriable error */
    const char *refuse_id;    /* a batch holding this record fails for good */
    bool gate_closed;         /* calls wait while set */
    bool in_call;             /* a call is waiting at the gate */
    bool open_fails;          /* session_open fails (backend unreachable) */
} fake;

static fake g_fake;

static aw_status fake_create(const aw_audit_options *o, void **b, aw_error *err)
{
    (void)o, (void)err;
    *b = &g_fake;
    return AW_OK;
}
static void fake_destroy(void *b) { (void)b; }
static aw_status fake_open(void *b, void **s, aw_error *err)
{
    fake *f = b;
    pthread_mutex_lock(&f->lock);
    bool fails = f->open_fails;
    pthread_mutex_unlock(&f->lock);
    if (fails)
        return aw_error_set(err, AW_TRANSIENT, "fake: connection refused");
    *s = b;
    return AW_OK;
}
static void fake_close(void *s) { (void)s; }

static aw_status fake_append(void *s, const aw_audit_record *recs, size_t n, size_t *inserted,
                             aw_error *err)
{
    fake *f = s;
    aw_status rc = AW_OK;
    pthread_mutex_lock(&f->lock);
    f->calls++;
    f->in_call = true;
    pthread_cond_broadcast(&f->cond);
    while (f->gate_closed)
        pthread_cond_wait(&f->cond, &f->lock);
    f->in_call = false;
    if (f->transient_left > 0) {
        f->transient_left--;
        rc = aw_error_set(err, AW_TRANSIENT, "fake: backend down");
    }
    for (size_t i = 0; rc == AW_OK && f->refuse_id && i < n; i++)
        if (strcmp(recs[i].record_id, f->refuse_id) == 0)
            rc = aw_error_set(err, AW_PERMANENT, "fake: record %s refused", f->refuse_id);
    if (rc == AW_OK) {
        f->stored += n;
        if (f->n_batches < 4096)
            f->batch_sizes[f->n_batches++] = n;
        *inserted = n;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static aw_status fake_query(void *s, const aw_audit_query *q, aw_audit_page *p, aw_error *err)
{
    (void)s, (void)q, (void)p;
    return aw_error_set(err, AW_PERMANENT, "not used");
}
static aw_status fake_cleanup(void *s, int64_t now, size_t max, size_t *deleted, aw_error *err)
{
    (void)s, (void)now, (void)max, (void)err;
    *deleted = 0;
    return AW_OK;
}

static const aw_audit_driver fake_driver = {
    .name = "fake", .create = fake_create, .destroy = fake_destroy,
    .session_open = fake_open, .session_close = fake_close, .append_batch = fake_append,
    .query = fake_query, .cleanup = fake_cleanup,
};

static void fake_set_gate(bool closed)
{
    pthread_mutex_lock(&g_fake.lock);
    g_fake.gate_closed = closed;
    pthread_cond_broadcast(&g_fake.cond);
    pthread_mutex_unlock(&g_fake.lock);
}

static size_t fake_stored(void)
{
    pthread_mutex_lock(&g_fake.lock);
    size_t n = g_fake.stored;
    pthread_mutex_unlock(&g_fake.lock);
    return n;
}

/* ---- what the writer borrows ---------------------------------------------- */

typedef struct harness {
    aw_audit audit;
    struct {
        aw_job_queue done;
        aw_metrics metrics;
        atomic_bool hard_stop;
        atomic_llong stop_deadline;
        aw_backend_health audit_health;
    } rt;
    aw_audit_writer *w;
    aw_job *jobs;
    size_t n_jobs;
    size_t n_back;   /* jobs handed back so far */
    size_t n_failed; /* of which marked delivery_failed */
} harness;

/* Set before harness_start: the fake backend refuses session opens from
 * the start (harness_start resets the fake, then applies this). */
static bool g_start_unreachable;

static void harness_start(harness *h, int batch, int flush_ms, int capacity, size_t n_jobs)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_destroy(&g_fake.lock);
    pthread_cond_destroy(&g_fake.cond);
    memset(&g_fake, 0, sizeof(g_fake));
    pthread_mutex_init(&g_fake.lock, NULL);
    pthread_cond_init(&g_fake.cond, NULL);
    g_fake.open_fails = g_start_unreachable;
    h->audit.driver = &fake_driver;
    h->audit.backend = &g_fake;
    aw_backend_health_init(&h->rt.audit_health, "audit");
    assert_int_equal(aw_job_queue_init(&h->rt.done), 0);
    assert_int_equal(aw_metrics_init(&h->rt.metrics), 0);
    h->jobs = calloc(n_jobs, sizeof(*h->jobs));
    assert_non_null(h->jobs);
    h->n_jobs = n_jobs;
    for (size_t i = 0; i < n_jobs; i++) {
        char id[64];
        snprintf(id, sizeof(id), "t:0:%zu", i);
        h->jobs[i].record.record_id = strdup(id);
        atomic_store(&h->jobs[i].pending, 1);
    }
    aw_audit_writer_options o = {.audit = &h->audit, .batch_size = (size_t)batch,
                                 .flush_ms = flush_ms, .capacity = (size_t)capacity,
                                 .writers = 1, .done = &h->rt.done,
                                 .hard_stop = &h->rt.hard_stop,
                                 .stop_deadline = &h->rt.stop_deadline,
                                 .metrics = &h->rt.metrics, .health = &h->rt.audit_health};
    aw_error err = {0};
    assert_int_equal(aw_audit_writer_start(&o, &h->w, &err), AW_OK);
}

/* Collect handed-back jobs until `want` came back or WAIT_MS passed. */
static void wait_back(harness *h, size_t want)
{
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (h->n_back < want && aw_mono_now_ms() < end) {
        aw_job *list = NULL;
        aw_job_queue_pop(&h->rt.done, 100000, 20, &list);
        for (; list; list = list->next) {
            h->n_back++;
            if (atomic_load(&list->delivery_failed))
                h->n_failed++;
        }
    }
    assert_int_equal(h->n_back, want);
}

static void push_range(harness *h, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        aw_job *j = &h->jobs[i];
        aw_audit_writer_push(h->w, &j, 1);
    }
}

static void harness_stop(harness *h)
{
    aw_audit_writer_stop(h->w);
    for (size_t i = 0; i < h->n_jobs; i++)
        free(h->jobs[i].record.record_id);
    free(h->jobs);
    aw_metrics_destroy(&h->rt.metrics);
    aw_job_queue_destroy(&h->rt.done);
}

/* ---- tests ---------------------------------------------------------------- */

/* With a flush interval far beyond the test, only full batches are written
 * until stop() writes the rest: batches are bounded by size. */
static void test_full_batches(void **state)
{
    (void)state;
    harness h;
    harness_start(&h, 500, 600000, 100000, 1200);
    push_range(&h, 0, 1200);
    wait_back(&h, 1000);
    assert_int_equal(fake_stored(), 1000);
    assert_int_equal(g_fake.n_batches, 2);
    assert_int_equal(g_fake.batch_sizes[0], 500);
    assert_int_equal(g_fake.batch_sizes[1], 500);
    aw_audit_writer_stop(h.w); /* graceful: the last 200 are written */
    h.w = NULL;
    wait_back(&h, 1200);
    assert_int_equal(h.n_failed, 0);
    assert_int_equal(fake_stored(), 1200);
    assert_int_equal(g_fake.batch_sizes[2], 200);
    assert_int_equal(atomic_load(&h.rt.metrics.audit_records), 1200);
    harness_stop(&h);
}

/* A lone record does not wait for a full batch: the time bound writes it. */
static void test_time_bound(void **state)
{
    (void)state;
    harness h;
    harness_start(&h, 500, 20, 100000, 3);
    push_range(&h, 0, 3);
    wait_back(&h, 3); /* without stop(): only the flush interval can do it */
    assert_int_equal(h.n_failed, 0);
    assert_int_equal(fake_stored(), 3);
    harness_stop(&h);
}

/* No acknowledgement before the backend accepted the batch. */
static void test_no_ack_before_durable(void **state)
{
    (void)state;
    harness h;
    harness_start(&h, 10, 0, 100000, 10);
    fake_set_gate(true);
    push_range(&h, 0, 10);
    pthread_mutex_lock(&g_fake.lock);
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (!g_fake.in_call && aw_mono_now_ms() < end) {
        struct timespec ts = {0};
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&g_fake.cond, &g_fake.lock, &ts);
    }
    assert_true(g_fake.in_call);
    pthread_mutex_unlock(&g_fake.lock);
    assert_int_equal(aw_job_queue_len(&h.rt.done), 0); /* the call is still open */
    fake_set_gate(false);
    wait_back(&h, 10);
    assert_int_equal(h.n_failed, 0);
    harness_stop(&h);
}

/* Transient failures are retried until the backend answers: nothing is
 * dropped or failed. */
static void test_transient_retried(void **state)
{
    (void)state;
    harness h;
    harness_start(&h, 50, 0, 100000, 50);
    g_fake.transient_left = 3;
    push_range(&h, 0, 50);
    wait_back(&h, 50);
    assert_int_equal(h.n_failed, 0);
    assert_int_equal(fake_stored(), 50);
    assert_true(atomic_load(&h.rt.metrics.audit_retries) >= 3);
    assert_false(g_fake.transient_left > 0);
    harness_stop(&h);
}

/* A record refused for good is isolated: the rest of its batch is stored
 * and only its job comes back failed. */
static void test_refused_isolated(void **state)
{
    (void)state;
    harness h;
    harness_start(&h, 64, 600000, 100000, 64);
    g_fake.refuse_id = "t:0:37";
    push_range(&h, 0, 64); /* one full batch */
    wait_back(&h, 64);
    assert_int_equal(h.n_failed, 1);
    assert_int_equal(fake_stored(), 63);
    assert_true(atomic_load(&h.jobs[37].delivery_failed));
    assert_false(atomic_load(&h.jobs[36].delivery_failed));
    assert_int_equal(atomic_load(&h.rt.metrics.audit_refused), 1);
    harness_stop(&h);
}

typedef struct pusher {
    harness *h;
    size_t from, to;
} pusher;

static void *pusher_main(void *p)
{
    pusher *a = p;
    push_range(a->h, a->from, a->to);
    return NULL;
}

/* The queue is bounded: while the backend hangs, a pusher waits once the
 * queue holds its capacity, and everything goes through once it answers. */
static void test_bounded_queue(void **state)
{
    (void)state;
    harness h;
    harness_start(&h, 5, 0, 10, 40);
    fake_set_gate(true);
    pusher p = {&h, 0, 40};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pusher_main, &p), 0);
    /* wait until the queue is full: 5 in the hanging call, 10 queued */
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (aw_audit_writer_depth(h.w) < 10 && aw_mono_now_ms() < end)
        aw_sleep_ms(2);
    assert_int_equal(aw_audit_writer_depth(h.w), 10);
    /* the pusher is stuck (the depth never exceeds the capacity) */
    for (int i = 0; i < 20; i++) {
        assert_true(aw_audit_writer_depth(h.w) <= 10);
        aw_sleep_ms(1);
    }
    assert_int_equal(aw_job_queue_len(&h.rt.done), 0);
    fake_set_gate(false);
    assert_int_equal(pthread_join(th, NULL), 0);
    wait_back(&h, 40);
    assert_int_equal(h.n_failed, 0);
    assert_int_equal(fake_stored(), 40);
    harness_stop(&h);
}

/* Stop while the backend is down, with a hard stop (`hard`) or with a stop
 * deadline 200 ms away: stop() returns (by the deadline; before this
 * writer observed it, it retried until the backend answered), and every
 * job comes back failed (its offset stays uncommitted), none stored. */
static void stop_with_backend_down(bool hard)
{
    harness h;
    harness_start(&h, 10, 0, 100000, 30);
    g_fake.transient_left = 1000000;
    push_range(&h, 0, 30);
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (atomic_load(&h.rt.metrics.audit_retries) < 2 && aw_mono_now_ms() < end)
        aw_sleep_ms(2);
    if (hard)
        atomic_store(&h.rt.hard_stop, true);
    else
        atomic_store(&h.rt.stop_deadline, aw_mono_now_ms() + 200);
    int64_t t0 = aw_mono_now_ms();
    aw_audit_writer_stop(h.w);
    h.w = NULL;
    assert_true(aw_mono_now_ms() - t0 < WAIT_MS);
    assert_int_equal(atomic_load(&h.rt.hard_stop), hard);
    wait_back(&h, 30);
    assert_int_equal(h.n_failed, 30);
    assert_int_equal(fake_stored(), 0);
    harness_stop(&h);
}

static void test_hard_stop(void **state)
{
    (void)state;
    stop_with_backend_down(true);
}

static void test_stop_deadline(void **state)
{
    (void)state;
    stop_with_backend_down(false);
}

/* The backend unreachable from the start and nothing queued: stop() does
 * not wait for a session nobody needs (no deadline, no hard stop set). */
static void test_stop_while_opening(void **state)
{
    (void)state;
    harness h;
    g_start_unreachable = true;
    harness_start(&h, 10, 0, 100000, 1);
    g_start_unreachable = false;
    /* the writer is in its session-open backoff (up to 5 s a round): wait
     * for its first failure */
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (!aw_fail_log_failing(&h.rt.audit_health.log) && aw_mono_now_ms() < end)
        aw_sleep_ms(2);
    assert_true(aw_fail_log_failing(&h.rt.audit_health.log));
    int64_t t0 = aw_mono_now_ms();
    aw_audit_writer_stop(h.w);
    h.w = NULL;
    assert_true(aw_mono_now_ms() - t0 < WAIT_MS);
    harness_stop(&h);
}

int main(void)
{
    pthread_mutex_init(&g_fake.lock, NULL);
    pthread_cond_init(&g_fake.cond, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_batches),
        cmocka_unit_test(test_time_bound),
        cmocka_unit_test(test_no_ack_before_durable),
        cmocka_unit_test(test_transient_retried),
        cmocka_unit_test(test_refused_isolated),
        cmocka_unit_test(test_bounded_queue),
        cmocka_unit_test(test_hard_stop),
        cmocka_unit_test(test_stop_deadline),
        cmocka_unit_test(test_stop_while_opening),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
