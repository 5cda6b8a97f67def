#include "worker/job.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "ingest/action_scan.h"

/* Rejected messages have no identity: spread them by position. */
static uint64_t position_hash(const rd_kafka_message_t *m)
{
    return (uint64_t)m->offset * 0x9e3779b97f4a7c15ull + (uint64_t)m->partition;
}

aw_job *aw_job_new(rd_kafka_message_t *m, uint32_t generation, size_t max_bytes)
{
    aw_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->msg = m;
    j->generation = generation;
    j->consumed_at_mono = aw_mono_now_ms();
    /* An oversized message is rejected by size alone: never scan it. */
    j->scanned = m->len <= max_bytes && aw_action_scan_identity(m->payload, m->len, &j->hash) == 0;
    if (!j->scanned) {
        aw_job_decode(j, max_bytes);
        if (j->rejected)
            j->hash = position_hash(m);
    }
    return j;
}

aw_job *aw_job_new_scheduled(const char *topic, int32_t partition, int64_t offset,
                             const void *value, size_t len, size_t max_bytes)
{
    aw_job *j = calloc(1, sizeof(*j));
    /* The message and its value in one block, freed by aw_job_free. */
    rd_kafka_message_t *m = calloc(1, sizeof(*m) + len + 1);
    char *t = strdup(topic);
    if (!j || !m || !t) {
        free(j);
        free(m);
        free(t);
        return NULL;
    }
    m->payload = (char *)(m + 1);
    if (len)
        memcpy(m->payload, value, len);
    m->len = len;
    m->partition = partition;
    m->offset = offset;
    j->msg = m;
    j->topic = t;
    j->scheduled = true;
    j->consumed_at_mono = aw_mono_now_ms();
    aw_job_decode(j, max_bytes);
    j->hash = j->rejected ? position_hash(m) : j->hash;
    return j;
}

void aw_job_decode(aw_job *j, size_t max_bytes)
{
    if (j->decoded)
        return;
    j->decoded = true;
    const rd_kafka_message_t *m = j->msg;
    if (aw_action_decode(m->payload, m->len, max_bytes, &j->action, &j->reject) != 0)
        j->rejected = true;
    else if (!j->scanned)
        /* A scanned hash is equal to this one (tests/fuzz/fuzz_action.c
         * checks it); batch selection compares identities through it. */
        j->hash = aw_action_identity_hash(&j->action);
}

void aw_job_free(aw_job *job)
{
    if (!job)
        return;
    /* Not only when !rejected: the pipeline rejects decoded actions too
     * (unknown provider), and those still own their strings. A failed
     * decode leaves the action zeroed, which clears as a no-op. */
    aw_action_clear(&job->action);
    if (job->answer) {
        aw_buf_free(job->answer);
        free(job->answer);
    }
    /* The record's strings but details live in one block (worker/outcome.c). */
    aw_audit_record *r = &job->record;
    r->record_id = r->source_topic = r->worker_id = r->action_id = r->ns = r->tenant = NULL;
    r->provider = r->action_type = r->dedup_identity = r->payload = r->metadata = NULL;
    r->rule = NULL; /* the configuration's (worker/pipeline.c) */
    free(job->strings);
    aw_audit_record_clear(r);
    if (job->scheduled) /* aw_job_new_scheduled's block */
        free(job->msg);
    else if (job->msg) /* NULL: the message was not librdkafka's (tests) */
        rd_kafka_message_destroy(job->msg);
    free(job->topic);
    free(job->record_id);
    free(job->preset_details);
    free(job->group_details);
    free(job);
}
