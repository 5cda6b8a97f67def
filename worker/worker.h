/* One worker thread: takes micro-batches of jobs from its queue, keeping
 * jobs of one identity in offset order, and runs them through the pipeline.
 *
 * The runtime shards jobs by identity hash, so one identity always lands on
 * the same worker.
 *
 * Threads and ownership: `queue` is the only field shared between threads
 * (it has its own lock); the fields under "worker thread only" are touched
 * by the worker's thread alone, those under "polling thread only" by the
 * polling thread alone (dispatch, runtime_poll.c). The worker borrows the
 * context; it owns its sessions, its pipeline and the jobs it holds until
 * it hands them on. */
#ifndef AW_WORKER_H
#define AW_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "worker/context.h"
#include "worker/job_queue.h"
#include "worker/pipeline.h"

typedef struct aw_worker {
    aw_worker_ctx *ctx;        /* borrowed */
    size_t index;
    pthread_t thread;
    bool started;
    aw_job_queue queue;

    /* worker thread only: */
    aw_state_session *state;
    aw_provider_sessions *providers;
    aw_pipeline pipeline;      /* borrows the two sessions above */
    aw_job **pending;          /* jobs taken from the queue, in arrival order */
    size_t n_pending, cap_pending;

    /* polling thread only: jobs of one poll on their way to `queue` */
    aw_job *out_head, *out_tail;
    size_t out_n;
} aw_worker;

/* Start the thread (called by the polling thread during start-up). */
aw_status aw_worker_start(aw_worker *w, aw_worker_ctx *ctx, size_t index, aw_error *err);
/* Close the queue and join: the thread finishes (or, on hard stop or at
 * the stop deadline, abandons) what it holds first; jobs still queued
 * after it exited come back abandoned. Polling thread. */
void aw_worker_join(aw_worker *w);

#endif
