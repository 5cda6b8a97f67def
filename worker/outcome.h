/* Building a job's audit record and sending its reply or DLQ copy. */
#ifndef AW_OUTCOME_BUILD_H
#define AW_OUTCOME_BUILD_H

#include <jansson.h>

#include "worker/runtime.h"

/* Fill the fields known at dispatch (record id, source, action fields,
 * worker id, dispatched_at). */
aw_status aw_outcome_begin(aw_runtime *rt, aw_job *job, int64_t now_ms, aw_error *err);

/* Set the outcome. details_text (compact JSON object text, malloc'd) is
 * taken over by the record; NULL means out of memory and fails. */
aw_status aw_outcome_finish(aw_runtime *rt, aw_job *job, aw_outcome outcome,
                            char *details_text, uint64_t fencing_token, int64_t attempts,
                            aw_error *err);

/* Number of deliveries the job needs (reply and/or DLQ). */
int aw_outcome_deliveries(const aw_runtime *rt, const aw_job *job);

/* Send the reply and/or DLQ copy; each delivery report acks the job once.
 * A send that fails at once is acked as a failed delivery. */
void aw_outcome_send(aw_runtime *rt, aw_job *job);

/* The delivery report handler (producer thread). */
void aw_outcome_delivered(void *ud, aw_producer *p, const rd_kafka_message_t *msg, void *opaque);

#endif
