/* Sending a job's reply and/or DLQ copy, and handling their delivery
 * reports.
 *
 * Threads:
 *  - aw_outcome_send: a worker thread (the job's pipeline), or the polling
 *    thread in transactional mode (runtime_txn.c), which produces inside
 *    the open transaction;
 *  - aw_outcome_delivered: the producer's delivery thread (producer.h); in
 *    transactional mode also inside the polling thread's flush;
 *  - aw_outcome_deliveries: any thread holding the job.
 * Ownership: each delivery report acknowledges the job once
 * (aw_job_queue_ack on ctx->done); after its last acknowledgement the job
 * belongs to the polling thread and is not touched here again. The delivery
 * contexts (job->deliveries) live in the job. Nothing here takes a lock:
 * the job is only touched by whoever holds it, counters are atomics. */
#ifndef AW_OUTCOME_DELIVERY_H
#define AW_OUTCOME_DELIVERY_H

#include <librdkafka/rdkafka.h>

#include "common/aw_buf.h"
#include "worker/context.h"
#include "worker/job.h"

/* Number of deliveries the job needs (reply and/or DLQ). */
int aw_outcome_deliveries(const aw_job *job);

/* Send the reply and/or DLQ copy; each delivery report acks the job once.
 * A send that fails at once is acked as a failed delivery. */
void aw_outcome_send(aw_worker_ctx *ctx, aw_job *job);

/* aw_outcome_send writing the reply's text in the caller's text (reset
 * first, its room kept): a worker thread passes the same buffer for every
 * reply, which saves a malloc and free of ~1.5 KiB per reply. */
void aw_outcome_send_with(aw_worker_ctx *ctx, aw_job *job, aw_buf *text);

/* The delivery report handler (producer options' on_delivery; ud is the
 * aw_worker_ctx). */
void aw_outcome_delivered(void *ud, aw_producer *p, const rd_kafka_message_t *msg, void *opaque);

#endif
