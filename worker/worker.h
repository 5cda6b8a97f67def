/* One worker thread: takes micro-batches of jobs from its queue, keeping
 * jobs of one identity in offset order, and runs them through the pipeline.
 *
 * The runtime shards jobs by identity hash, so one identity always lands on
 * the same worker. Fields under "worker thread only" are touched by that
 * thread alone; `queue` is the only shared field (it has its own lock). */
#ifndef AW_WORKER_H
#define AW_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/aw_buf.h"
#include "common/aw_scratch.h"
#include "worker/runtime.h"

struct aw_worker {
    aw_runtime *rt;
    size_t index;
    pthread_t thread;
    bool started;
    aw_job_queue queue;

    /* worker thread only: */
    aw_state_session *state;
    aw_provider_sessions *providers;
    aw_job **pending;          /* jobs taken from the queue, in arrival order */
    size_t n_pending, cap_pending;
    aw_scratch scratch;        /* arrays of the batch in the pipeline */
    aw_buf summaries;          /* done-record summaries of one complete call */

    /* polling thread only: jobs of one poll on their way to `queue` */
    aw_job *out_head, *out_tail;
    size_t out_n;
};

aw_status aw_worker_start(aw_worker *w, aw_runtime *rt, size_t index, aw_error *err);
/* Close the queue and join: the thread finishes (or, on hard stop, abandons)
 * what it holds first. */
void aw_worker_join(aw_worker *w);

/* Sleep up to ms, waking early on a hard stop. Returns false on hard stop. */
bool aw_worker_sleep(aw_worker *w, int64_t ms);

#endif
