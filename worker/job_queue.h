/* A FIFO of jobs between threads (multi-producer, multi-consumer).
 * Unbounded by itself: the runtime bounds the total in flight and pauses
 * consumption instead. All fields are guarded by `lock`. */
#ifndef AW_JOB_QUEUE_H
#define AW_JOB_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "worker/job.h"

typedef struct aw_job_queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* signalled on push and on close */
    aw_job *head, *tail;   /* guarded by lock */
    size_t len;            /* guarded by lock */
    bool closed;           /* guarded by lock */
    bool woken;            /* guarded by lock: aw_job_queue_wake was called
                              since the last pop that waited */
} aw_job_queue;

int aw_job_queue_init(aw_job_queue *q);
void aw_job_queue_destroy(aw_job_queue *q);

void aw_job_queue_push(aw_job_queue *q, aw_job *j);
/* Append n jobs linked through ->next from head to tail, in one lock. */
void aw_job_queue_push_list(aw_job_queue *q, aw_job *head, aw_job *tail, size_t n);

/* Take up to max jobs (linked through ->next, in FIFO order) into *out.
 * Waits up to timeout_ms (<0 = forever, 0 = no wait) for the first one.
 * Returns how many were taken; 0 on timeout or when closed and empty. */
size_t aw_job_queue_pop(aw_job_queue *q, size_t max, int64_t timeout_ms, aw_job **out);

/* End the wait of a pop in progress (or of the next one) with what is
 * queued, possibly nothing: something else the waiter looks after is ready
 * (the polling thread waits here for finished jobs and for the consumer
 * queue). Any thread. */
void aw_job_queue_wake(aw_job_queue *q);

/* Wake every waiter; later pops return what is left, then 0 at once. */
void aw_job_queue_close(aw_job_queue *q);

size_t aw_job_queue_len(aw_job_queue *q);

/* One acknowledgement of job arrived (its audit record durable, or one of
 * its reply/DLQ deliveries reported): job->pending counts those still
 * missing, and the last one pushes the job onto `done`, the queue back to
 * the polling thread, or job->home when set (a scheduled job goes back to
 * the scheduler). A job handed back with pending 0 (abandoned) goes at
 * once. Any thread; the job must not be touched by the caller afterwards. */
void aw_job_queue_ack(aw_job_queue *done, aw_job *job);

#endif
