/* The per-batch pipeline of docs/design.md section 1, run on a worker thread:
 *   rejected -> DLQ + audit (+ reply when an id was readable)
 *   valid    -> claim (batch) -> execute (provider, lease renewed)
 *            -> complete (batch) -> audit (batch) -> reply
 * A message's offset is marked done only when its audit record is durable
 * and its reply/DLQ delivery was acknowledged (aw_runtime_job_ack). */
#ifndef AW_PIPELINE_H
#define AW_PIPELINE_H

#include <stddef.h>

#include "worker/worker.h"

/* Process jobs[0..n). Jobs that reached an outcome (or were abandoned) are
 * handed on and listed in finished[]; jobs whose identity is leased by
 * another holder stay with the worker (not_before set). Returns the number
 * of finished jobs. */
size_t aw_pipeline_run(aw_worker *w, aw_job **jobs, size_t n, aw_job **finished);

#endif
