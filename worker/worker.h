/* One worker thread: takes micro-batches of jobs from its queue, keeping
 * jobs of one identity in offset order, and runs them through the pipeline.
 *
 * The runtime gives the jobs of an identity with jobs in flight to the
 * worker holding those (worker/route_map.h), so one identity's jobs in
 * flight together are on one worker, in order.
 *
 * Threads and ownership: `queue` (it has its own lock) and `load` (atomic)
 * are the only fields shared between threads; the fields under "worker
 * thread only" are touched by the worker's thread alone, those under
 * "polling thread only" by the polling thread alone (dispatch,
 * runtime_poll.c). The worker borrows the context; it owns its sessions,
 * its pipeline and the jobs it holds until it hands them on. */
#ifndef AW_WORKER_H
#define AW_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
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
    atomic_long load;          /* jobs given to this worker and not yet handed
                                  on (queued, or pending here): the polling
                                  thread adds what it pushes, the worker
                                  thread subtracts what leaves it */

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
