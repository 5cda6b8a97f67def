/* The audit writer: batches the audit records of finished jobs from every
 * worker into large backend calls (audit.batch_size records, or whatever
 * arrived within audit.flush_interval_ms), on audit.writers threads with a
 * session each.
 *
 * Why a separate stage: a worker's micro-batch is small (one identity shard,
 * a few dozen jobs) while audit backends want hundreds of rows per call
 * (COPY, JSONEachRow, _bulk); and a slow audit write no longer holds up the
 * next claim.
 *
 * Promise kept: a job's audit acknowledgement (aw_job_queue_ack) is given
 * only after the batch holding its record was acknowledged by the backend,
 * so its offset is never marked done before its record is durable. Transient
 * failures are retried with backoff for as long as it takes (nothing is
 * dropped) or, once a stop began, until its deadline; meanwhile the queue fills, pushing workers wait, the in-flight
 * window fills and consumption pauses. A record the backend refuses for good
 * is isolated by splitting its batch, logged, and its job comes back marked
 * delivery_failed: its offset stays uncommitted (processed again after a
 * restart) rather than committed without a record.
 *
 * Ownership: the writer borrows what its options point to (the audit
 * backend, the completion queue, the metrics, the hard-stop flag, the health
 * flag), which must outlive it, and never frees a job. A pushed job belongs
 * to the writer until it acknowledges it; jobs are linked through job->next
 * while queued.
 *
 * Threads: push() from any worker; stop() and depth() from any thread.
 * `lock` guards the queue (head, tail, len, oldest_mono, closed); the rest
 * is immutable after start or owned by one writer thread. */
#ifndef AW_AUDIT_WRITER_H
#define AW_AUDIT_WRITER_H

#include <stddef.h>

#include <stdatomic.h>
#include <stdint.h>

#include "backends/audit/audit.h"
#include "common/aw_error.h"
#include "config/config.h"
#include "worker/backend_health.h"
#include "worker/job.h"
#include "worker/job_queue.h"
#include "worker/metrics.h"

typedef struct aw_audit_writer aw_audit_writer;

typedef struct aw_audit_writer_options {
    aw_audit *audit;              /* the backend (non-NULL) */
    size_t batch_size;            /* records per call at most (audit.batch_size) */
    int64_t flush_ms;             /* longest wait of a queued record */
    size_t capacity;              /* queue bound; pushers wait beyond it */
    size_t writers;               /* threads, a session each */
    int64_t cleanup_every_ms;     /* retention cleanup period; 0 = none */
    size_t cleanup_batch;         /* records per cleanup call */
    aw_job_queue *done;           /* acknowledgements: aw_job_queue_ack(done, job) */
    const atomic_bool *hard_stop; /* set: stop waiting, hand jobs back failed */
    /* mono ms at which a stop gives up, 0 while running (NULL: never).
     * Once passed it acts as hard_stop: a batch still failing is handed
     * back failed (its offsets stay uncommitted, redelivered). */
    const atomic_llong *stop_deadline;
    aw_metrics *metrics;          /* audit_* counters and audit_ms */
    aw_backend_health *health;    /* the audit backend's reachability */
} aw_audit_writer_options;

/* The sizes and periods of cfg's audit section; the pointers are left NULL
 * for the caller to fill. */
aw_audit_writer_options aw_audit_writer_options_from_config(const aw_config *cfg);

/* Start the writer threads. o is copied. */
aw_status aw_audit_writer_start(const aw_audit_writer_options *o, aw_audit_writer **out,
                                aw_error *err);

/* Queue the records of n finished jobs (job->record filled, job->pending
 * counting this acknowledgement). Waits while the queue is full; on a hard
 * stop it stops waiting and acknowledges the jobs as failed at once. */
void aw_audit_writer_push(aw_audit_writer *w, aw_job *const *jobs, size_t n);

/* Records queued and not yet written (for the metrics). */
size_t aw_audit_writer_depth(aw_audit_writer *w);

/* Write what is queued (giving up at a hard stop or the stop deadline:
 * those jobs come back as failed), join the threads and free the writer.
 * A writer still opening its session with nothing queued stops at once.
 * NULL is a no-op. */
void aw_audit_writer_stop(aw_audit_writer *w);

#endif
