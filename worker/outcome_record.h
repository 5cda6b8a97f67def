/* A job's audit record: its fixed fields packed when the worker first takes
 * the job, its outcome set when the pipeline decides it.
 *
 * Threads: both run on the worker thread that holds the job; the record
 * belongs to the job (job.h) and is read by the other threads only after
 * the job was handed on (audit writer, delivery, polling thread). */
#ifndef AW_OUTCOME_RECORD_H
#define AW_OUTCOME_RECORD_H

#include <stdint.h>

#include "worker/context.h"
#include "worker/job.h"

/* Fill the fields known at dispatch (record id, source, action fields,
 * worker id, dispatched_at), packed into one allocation job->strings owns:
 * one malloc and one free per message instead of nine. */
aw_status aw_outcome_begin(const aw_worker_ctx *ctx, aw_job *job, int64_t now_ms,
                           aw_error *err);

/* Set the outcome, count it in the metrics and tell ctx->on_outcome.
 * details_text (compact JSON object text, malloc'd) is taken over by the
 * record; NULL means out of memory and fails. */
aw_status aw_outcome_finish(aw_worker_ctx *ctx, aw_job *job, aw_outcome outcome,
                            char *details_text, uint64_t fencing_token, int64_t attempts,
                            aw_error *err);

#endif
