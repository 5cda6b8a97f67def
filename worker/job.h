/* One consumed message on its way through the pipeline.
 *
 * Life cycle: created by the polling thread (ingest -> dispatch), owned by
 * exactly one worker thread while processed, then handed to the producer
 * (reply/DLQ delivery) and finally back to the polling thread through the
 * runtime's completion queue, which frees it. `pending` counts the
 * acknowledgements still missing (audit durable, reply delivered, DLQ
 * delivered); whoever brings it to zero hands the job back. A scheduled
 * job (aw_job_new_scheduled) is made by the scheduler thread instead, runs
 * on it, and is handed back to the scheduler (`home`), which frees it. */
#ifndef AW_JOB_H
#define AW_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "backends/audit/audit_types.h"
#include "ingest/action.h"

struct aw_job;

/* What a delivery report refers to: one reply or DLQ copy of a job. */
typedef enum aw_delivery_kind { AW_DELIVERY_REPLY = 0, AW_DELIVERY_DLQ } aw_delivery_kind;

typedef struct aw_delivery {
    struct aw_job *job;
    aw_delivery_kind kind;
    bool to_override;          /* sent to the action's reply_to: fall back to
                                  the default reply topic if that topic is
                                  unknown */
    bool value_omitted;        /* DLQ copy sent without the original value,
                                  which the producer or the DLQ topic refused
                                  as too large */
} aw_delivery;

struct aw_job_queue;

typedef struct aw_job {
    rd_kafka_message_t *msg;   /* owned; the original message (scheduled: a
                                  copy made by aw_job_new_scheduled, not
                                  librdkafka's: rkt NULL, no headers) */
    /* Scheduled execution (worker/scheduler.h, docs/scheduling.md): the job
     * came from the due index, not from the consumer. It has no offset to
     * commit; its acknowledgements go to `home` (the scheduler's queue),
     * which then calls due_done. */
    bool scheduled;
    char *topic;               /* owned; scheduled: the source topic */
    /* A state machine's timeout (worker/event_timeout.h): the move is made
     * before the job exists, so the pipeline only records and replies this
     * outcome (no claim, no provider), under its own record id. */
    char *record_id;           /* owned; NULL: "<topic>:<partition>:<offset>" */
    char *preset_details;      /* owned; NULL: the pipeline decides */
    aw_outcome preset_outcome;
    /* A chain's step or end (worker/chain_run.h): made by the scheduler.
     * A step is claimed, executed and replied as any action but not judged
     * by rules; its provider's answer body is kept in `answer` (at most
     * answer_max bytes) for its result. */
    enum { AW_JOB_PLAIN = 0, AW_JOB_CHAIN_STEP, AW_JOB_CHAIN_END } chain_part;
    int chain_step;            /* the step's index in its chain */
    int chain_attempt;         /* 1-based run of the step */
    struct aw_buf *answer;     /* owned; chain steps only, else NULL */
    size_t answer_max;
    /* A group's flush (worker/group_flush.h): the grouped call, claimed and
     * executed like any action but judged by no rule (its members were). */
    const struct aw_rule_config *group_rule; /* the group rule, or NULL */
    char *group_details;       /* owned: {"id","size","members":[ids]} */
    struct aw_job_queue *home; /* NULL: the runtime's completion queue */
    uint32_t generation;       /* assignment generation of its partition */
    unsigned lost_epoch;       /* the context's lost_epoch when it was polled */
    bool decoded;              /* action/reject valid; until then only hash is
                                  (the polling thread scans the identity, the
                                  worker thread decodes: aw_job_decode) */
    bool rejected;             /* decode/validation failed: see reject */
    aw_action action;          /* valid when !rejected */
    aw_reject reject;
    uint64_t hash;             /* identity hash (routing + per-identity order) */
    bool scanned;              /* hash came from the identity scan */
    uint64_t route_hash;       /* polling thread only: its entry in the
                                  runtime's route map (worker/route_map.h) */
    bool routed;               /* polling thread only: counted there */
    int64_t consumed_at_mono;
    int64_t not_before_mono;   /* lease busy elsewhere: retry after this */
    int busy_waits;            /* how many times the claim found a live lease */
    int lock_waits;            /* how many times a lock rule's lock was held
                                  elsewhere (worker/pipeline_lock.c) */
    int64_t lock_wait_since_mono; /* the first of those waits; 0 = none */
    uint64_t lock_token;       /* the lock held for the provider call, 0 = none:
                                  sent as X-Acteon-Lock-Token */

    aw_audit_record record;    /* the outcome, filled by the pipeline; its
                                  strings but details, fingerprint,
                                  group_id and chain_id (its own) point
                                  into `strings`, rule into the
                                  configuration */
    char *strings;             /* owned: one block (worker/outcome.c) */
    atomic_int pending;        /* acknowledgements still missing */
    atomic_bool delivery_failed; /* a reply/DLQ delivery failed for good */
    bool abandoned;            /* given up (hard stop): offset not committed */
    bool txn_replied;          /* transactional mode: its reply/DLQ copy was
                                  produced in the open transaction by the
                                  polling thread (its offset is already done) */
    aw_delivery deliveries[2]; /* delivery report contexts (reply, DLQ) */
    int64_t audit_queued_mono; /* when the audit writer queued its record */
    /* Stage times (monotonic us, 0 = not reached) for the stage histograms
     * (metrics.h, aw_stage), read by the polling thread when it releases
     * the job. Each is written by one thread before its acknowledgement
     * (whose atomic decrement of `pending` orders it before the release). */
    int64_t polled_us;         /* dispatched by the polling thread */
    int64_t taken_us;          /* taken from the queue by its worker thread */
    int64_t handed_us;         /* outcome handed on (reply sent, audit queued) */
    int64_t reply_acked_us;    /* last reply/DLQ copy acknowledged (delivery thread) */
    int64_t audit_acked_us;    /* audit record durable (audit writer) */
    int64_t acked_us;          /* its last acknowledgement (aw_job_queue_ack) */
    int64_t window_bytes;      /* its message's bytes in the runtime's
                                  in_flight_bytes (polling thread) */
    struct aw_job *next;       /* intrusive link for queues */
} aw_job;

/* A new job for message m (ownership moves to the job): finds the dedup
 * identity hash without decoding when it can (ingest/action_scan.h), else
 * decodes at once. NULL when out of memory (m is then still the caller's). */
aw_job *aw_job_new(rd_kafka_message_t *m, uint32_t generation, size_t max_bytes);

/* A job for a scheduled action taken from the due index: a copy of the
 * original message's value and coordinates (topic, partition, offset),
 * decoded at once. NULL when out of memory. */
aw_job *aw_job_new_scheduled(const char *topic, int32_t partition, int64_t offset,
                             const void *value, size_t len, size_t max_bytes);

/* Decode and validate the message if not done yet (worker thread). */
void aw_job_decode(aw_job *job, size_t max_bytes);

/* Free a job and everything it owns (msg may be NULL: a caller that made
 * the message itself takes it back first). */
void aw_job_free(aw_job *job);

/* Borrowed views of the message. */
static inline const char *aw_job_topic(const aw_job *j)
{
    return j->topic ? j->topic : rd_kafka_topic_name(j->msg->rkt);
}

#endif
