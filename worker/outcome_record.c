#include "worker/outcome_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/audit_record.h"
#include "common/aw_clock.h"

/* The record's fixed strings, packed into one allocation (job->strings):
 * one malloc and one free per message instead of nine, and the free happens
 * on another thread than the malloc, which is what costs most in glibc. */
enum { S_RECORD_ID, S_TOPIC, S_WORKER, S_ACTION_ID, S_NS, S_TENANT, S_PROVIDER, S_TYPE,
       S_KEY, S_COUNT };

/* Copy s[0..n) and a NUL to p; returns the end. */
static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    p[n] = '\0';
    return p + n + 1;
}

/* "ns:tenant:key" (aw_action_identity's form) at p, "" without src
 * (rejected). Returns the end. */
static char *put_identity(aw_audit_record *r, char *p, const char *const *src,
                          const size_t *len)
{
    r->dedup_identity = p;
    if (src) {
        memcpy(p, src[S_NS], len[S_NS]);
        p += len[S_NS];
        *p++ = ':';
        memcpy(p, src[S_TENANT], len[S_TENANT]);
        p += len[S_TENANT];
        *p++ = ':';
        memcpy(p, src[S_KEY], len[S_KEY]);
        p += len[S_KEY];
    }
    *p++ = '\0';
    return p;
}

/* The producer's own bytes of payload and metadata at p. Returns the end. */
static char *put_json_values(aw_audit_record *r, char *p, const aw_action *a)
{
    if (a->payload) {
        r->payload = p;
        p = put(p, a->payload, a->payload_len);
    }
    if (a->metadata) {
        r->metadata = p;
        p = put(p, a->metadata, a->metadata_len);
    }
    return p;
}

aw_status aw_outcome_begin(const aw_worker_ctx *ctx, aw_job *job, int64_t now_ms, aw_error *err)
{
    aw_audit_record *r = &job->record;
    const rd_kafka_message_t *m = job->msg;
    const char *topic = aw_job_topic(job);
    char id[320];
    aw_audit_record_id(id, sizeof(id), topic, m->partition, m->offset);
    /* A scheduled action has two records: `scheduled` when consumed, and
     * the outcome of its execution, under its own id (docs/scheduling.md). */
    if (job->scheduled)
        strncat(id, ":run", sizeof(id) - strlen(id) - 1);
    if (job->record_id) /* a state machine's timeout */
        snprintf(id, sizeof(id), "%s", job->record_id);
    const char *src[S_COUNT] = {id, topic, ctx->cfg->worker_id ? ctx->cfg->worker_id : "",
                                job->reject.action_id, "", "", "", "", ""};
    const aw_action *a = &job->action;
    if (!job->rejected) {
        src[S_ACTION_ID] = a->id;
        src[S_NS] = a->ns;
        src[S_TENANT] = a->tenant;
        src[S_PROVIDER] = a->provider;
        src[S_TYPE] = a->action_type;
        src[S_KEY] = aw_action_key(a);
    }
    size_t len[S_COUNT], total = 0;
    for (int i = 0; i < S_COUNT; i++)
        total += (len[i] = strlen(src[i])) + 1;
    /* + "ns:tenant:key" (aw_action_identity's form), "" when rejected */
    total += len[S_NS] + len[S_TENANT] + len[S_KEY] + 3;
    /* + the producer's own bytes of payload and metadata (a validated
     * message's values are JSON text as they stand: copying them costs far
     * less than serialising parsed values again) */
    if (!job->rejected)
        total += (a->payload ? a->payload_len + 1 : 0) + (a->metadata ? a->metadata_len + 1 : 0);
    char *p = job->strings = malloc(total);
    if (!p)
        return aw_error_set(err, AW_NOMEM, "out of memory building the audit record");
    char *dst[S_COUNT];
    for (int i = 0; i < S_COUNT; i++) {
        memcpy(p, src[i], len[i] + 1);
        dst[i] = p;
        p += len[i] + 1;
    }
    p = put_identity(r, p, job->rejected ? NULL : src, len);
    if (!job->rejected)
        p = put_json_values(r, p, a);
    r->record_id = dst[S_RECORD_ID];
    r->source_topic = dst[S_TOPIC];
    r->worker_id = dst[S_WORKER];
    r->action_id = dst[S_ACTION_ID];
    r->ns = dst[S_NS];
    r->tenant = dst[S_TENANT];
    r->provider = dst[S_PROVIDER];
    r->action_type = dst[S_TYPE];
    r->source_partition = m->partition;
    r->source_offset = m->offset;
    r->dispatched_at_ms = now_ms;
    return AW_OK;
}

aw_status aw_outcome_finish(aw_worker_ctx *ctx, aw_job *job, aw_outcome outcome,
                            char *details_text, uint64_t fencing_token, int64_t attempts,
                            aw_error *err)
{
    aw_audit_record *r = &job->record;
    r->outcome = outcome;
    free(r->details);
    r->details = details_text;
    if (!r->details)
        return aw_error_set(err, AW_NOMEM, "out of memory building the audit record");
    r->fencing_token = fencing_token;
    r->attempts = attempts;
    r->completed_at_ms = aw_time_now_ms();
    r->duration_ms = aw_mono_now_ms() - job->consumed_at_mono;
    if (r->duration_ms < 0)
        r->duration_ms = 0;
    r->expires_at_ms = r->completed_at_ms + ctx->cfg->audit.retention_s * 1000;
    atomic_fetch_add(&ctx->metrics.outcomes[outcome], 1);
    aw_histogram_observe_us(&ctx->metrics.end_to_end_ms, r->duration_ms * 1000);
    if (ctx->on_outcome)
        ctx->on_outcome(ctx->on_outcome_ud, r);
    return AW_OK;
}

