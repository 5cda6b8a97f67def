/* The acknowledgement path (worker/job_queue.h): a job reaches the
 * completion queue exactly once, after its last acknowledgement and never
 * before, whichever threads acknowledge it and in whatever order; an
 * abandoned job (nothing pending) goes at once; pops keep FIFO order and a
 * closed queue drains, then returns 0 at once. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/aw_clock.h"
#include "worker/job_queue.h"

#define N_JOBS 2000
#define N_ACKERS 3 /* each job waits for one acknowledgement per acker */

typedef struct acker {
    aw_job_queue *done;
    aw_job *jobs;
    pthread_t thread;
} acker;

static void *acker_main(void *arg)
{
    acker *a = arg;
    for (size_t i = 0; i < N_JOBS; i++)
        aw_job_queue_ack(a->done, &a->jobs[i]);
    return NULL;
}

/* Drain the queue into seen[] counts until want jobs came back or WAIT. */
static size_t collect(aw_job_queue *q, aw_job *base, int *seen, size_t want)
{
    size_t got = 0;
    int64_t end = aw_mono_now_ms() + 10000;
    while (got < want && aw_mono_now_ms() < end) {
        aw_job *list = NULL;
        aw_job_queue_pop(q, 512, 20, &list);
        for (; list; list = list->next, got++)
            seen[list - base]++;
    }
    return got;
}

static void test_last_ack_hands_back_once(void **state)
{
    (void)state;
    aw_job_queue done;
    assert_int_equal(aw_job_queue_init(&done), 0);
    aw_job *jobs = calloc(N_JOBS, sizeof(*jobs));
    int *seen = calloc(N_JOBS, sizeof(*seen));
    assert_non_null(jobs);
    assert_non_null(seen);
    for (size_t i = 0; i < N_JOBS; i++)
        atomic_store(&jobs[i].pending, N_ACKERS + 1);
    /* one acknowledgement from here first: nothing may come back yet */
    for (size_t i = 0; i < N_JOBS; i++)
        aw_job_queue_ack(&done, &jobs[i]);
    assert_int_equal(aw_job_queue_len(&done), 0);
    acker a[N_ACKERS];
    for (int k = 0; k < N_ACKERS; k++) {
        a[k] = (acker){.done = &done, .jobs = jobs};
        assert_int_equal(pthread_create(&a[k].thread, NULL, acker_main, &a[k]), 0);
    }
    size_t got = collect(&done, jobs, seen, N_JOBS);
    for (int k = 0; k < N_ACKERS; k++)
        assert_int_equal(pthread_join(a[k].thread, NULL), 0);
    assert_int_equal(got, N_JOBS);
    for (size_t i = 0; i < N_JOBS; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(aw_job_queue_len(&done), 0);
    free(seen);
    free(jobs);
    aw_job_queue_destroy(&done);
}

static void test_abandoned_goes_at_once(void **state)
{
    (void)state;
    aw_job_queue done;
    assert_int_equal(aw_job_queue_init(&done), 0);
    aw_job j;
    memset(&j, 0, sizeof(j));
    j.abandoned = true; /* pending 0: handed back without acknowledgements */
    aw_job_queue_ack(&done, &j);
    assert_int_equal(aw_job_queue_len(&done), 1);
    aw_job *list = NULL;
    assert_int_equal(aw_job_queue_pop(&done, 8, 0, &list), 1);
    assert_ptr_equal(list, &j);
    aw_job_queue_destroy(&done);
}

static void test_fifo_and_close(void **state)
{
    (void)state;
    aw_job_queue q;
    assert_int_equal(aw_job_queue_init(&q), 0);
    aw_job jobs[5];
    memset(jobs, 0, sizeof(jobs));
    for (int i = 0; i < 5; i++)
        aw_job_queue_push(&q, &jobs[i]);
    aw_job *list = NULL;
    assert_int_equal(aw_job_queue_pop(&q, 3, 0, &list), 3);
    for (int i = 0; i < 3; i++, list = list->next)
        assert_ptr_equal(list, &jobs[i]);
    aw_job_queue_close(&q);
    int64_t t0 = aw_mono_now_ms();
    assert_int_equal(aw_job_queue_pop(&q, 8, 5000, &list), 2); /* what is left */
    assert_ptr_equal(list, &jobs[3]);
    assert_int_equal(aw_job_queue_pop(&q, 8, 5000, &list), 0); /* closed: at once */
    assert_true(aw_mono_now_ms() - t0 < 2500);
    aw_job_queue_destroy(&q);
}

/* A wake ends the wait of the next pop that waits (the polling thread's
 * wait for finished jobs, woken by the consumer queue) with what is there,
 * nothing here, and is used up by it: the pop after it waits again. */
static void test_wake_ends_a_wait(void **state)
{
    (void)state;
    aw_job_queue q;
    assert_int_equal(aw_job_queue_init(&q), 0);
    aw_job *list = NULL;
    aw_job_queue_wake(&q);
    assert_int_equal(aw_job_queue_pop(&q, 8, 0, &list), 0); /* no wait: not used up */
    int64_t t0 = aw_mono_now_ms();
    assert_int_equal(aw_job_queue_pop(&q, 8, 30000, &list), 0);
    assert_true(aw_mono_now_ms() - t0 < 15000);
    assert_null(list);
    assert_false(q.woken); /* used up by the pop that waited */
    aw_job job;
    memset(&job, 0, sizeof(job));
    aw_job_queue_push(&q, &job);
    assert_int_equal(aw_job_queue_pop(&q, 8, 30000, &list), 1);
    assert_ptr_equal(list, &job);
    aw_job_queue_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_ack_hands_back_once),
        cmocka_unit_test(test_abandoned_goes_at_once),
        cmocka_unit_test(test_fifo_and_close),
        cmocka_unit_test(test_wake_ends_a_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
