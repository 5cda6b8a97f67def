/* The per-batch pipeline of docs/design.md sections 1 and 2, run on a worker thread:
 *   rejected -> DLQ + audit (+ reply when an id was readable)
 *   valid    -> claim (batch) -> execute (provider, lease renewed)
 *            -> complete (batch) -> audit (batch) -> reply
 * A message's offset is marked done only when its audit record is durable
 * and its reply/DLQ delivery was acknowledged (aw_job_queue_ack).
 * A valid action with a future not_before is put in the due index instead
 * of claimed (outcome `scheduled`, pipeline_schedule.c); a scheduled job
 * (job->scheduled, from worker/scheduler.c) runs through the same steps;
 * a state machine's timeout (job->preset_details, worker/event_timeout.h)
 * is only recorded and replied.
 *
 * The steps of aw_pipeline_run: prepare (audit record begun, rejections
 * decided, and with rules configured each action's rule verdict), claim
 * (one round trip), throttle counts (only for throttle rules, on acquired
 * claims: pipeline_rules.c, docs/rules.md), locks (only for lock rules, on
 * acquired claims: taken, or the job parked while the lock is held
 * elsewhere: pipeline_lock.c), event moves (only for state_machine rules,
 * on acquired claims: the provider runs only after an allowed move, a
 * refused one is suppressed with a done record: pipeline_machine.c),
 * execute and complete (rounds of provider
 * calls behind the lease gate, pipeline_execute.c; each done record handed
 * to a recorder thread within 2 ms of its answer and the rest written after
 * every round, pipeline_records.c), finish (the outcome set on each
 * record), hand off (reply/DLQ sent, record to the audit writer, or the job
 * straight back when abandoned).
 *
 * Threads and ownership: an aw_pipeline belongs to one worker thread, with
 * that thread's own state and provider sessions; it borrows the context.
 * The jobs of a batch are the caller's while the batch runs; the finished
 * ones are handed on (to the producer, the audit writer or the completion
 * queue) before aw_pipeline_run returns and must not be touched after. */
#ifndef AW_PIPELINE_H
#define AW_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"
#include "common/aw_scratch.h"
#include "worker/context.h"
#include "worker/job.h"

/* Called once per executed job whose provider call reached its outcome,
 * before its done record is written (tests use it to let the lease be
 * taken meanwhile). NULL in production. */
typedef void (*aw_pipeline_executed_fn)(void *ud, aw_job *job, uint64_t token);

typedef struct aw_pipeline {
    aw_worker_ctx *ctx;              /* borrowed */
    aw_state_session *state;         /* this thread's session (borrowed) */
    aw_provider_sessions *providers; /* this thread's sessions (borrowed) */
    aw_scratch scratch;              /* owned: the arrays of one batch */
    aw_buf summaries;                /* owned: done-record summaries of one
                                        complete call */
    aw_buf reply;                    /* owned: the text of the reply being
                                        sent (aw_outcome_send_with) */
    aw_pipeline_executed_fn on_executed;
    void *on_executed_ud;
} aw_pipeline;

/* Process jobs[0..n). Jobs that reached an outcome (or were abandoned) are
 * handed on and listed in finished[]; jobs whose identity is leased by
 * another holder, or whose lock rule's lock is held elsewhere
 * (lock_wait_since_mono set), stay with the caller (not_before set).
 * Returns the number of finished jobs. */
size_t aw_pipeline_run(aw_pipeline *p, aw_job **jobs, size_t n, aw_job **finished);

/* Free what the pipeline owns (not the sessions). */
void aw_pipeline_free(aw_pipeline *p);

#endif
