#include "worker/outcome.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/audit_record.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

/* The record's fixed strings, packed into one allocation (job->strings):
 * one malloc and one free per message instead of nine, and the free happens
 * on another thread than the malloc, which is what costs most in glibc. */
enum { S_RECORD_ID, S_TOPIC, S_WORKER, S_ACTION_ID, S_NS, S_TENANT, S_PROVIDER, S_TYPE,
       S_KEY, S_COUNT };

aw_status aw_outcome_begin(aw_runtime *rt, aw_job *job, int64_t now_ms, aw_error *err)
{
    aw_audit_record *r = &job->record;
    const rd_kafka_message_t *m = job->msg;
    const char *topic = aw_job_topic(job);
    char id[320];
    aw_audit_record_id(id, sizeof(id), topic, m->partition, m->offset);
    const char *src[S_COUNT] = {id, topic, rt->cfg->worker_id ? rt->cfg->worker_id : "",
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
    r->dedup_identity = p;
    if (!job->rejected) {
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
    if (!job->rejected && a->payload) {
        r->payload = p;
        memcpy(p, a->payload, a->payload_len);
        p += a->payload_len;
        *p++ = '\0';
    }
    if (!job->rejected && a->metadata) {
        r->metadata = p;
        memcpy(p, a->metadata, a->metadata_len);
        p += a->metadata_len;
        *p++ = '\0';
    }
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

aw_status aw_outcome_finish(aw_runtime *rt, aw_job *job, aw_outcome outcome,
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
    r->expires_at_ms = r->completed_at_ms + rt->cfg->audit.retention_s * 1000;
    atomic_fetch_add(&rt->metrics.outcomes[outcome], 1);
    aw_histogram_observe_us(&rt->metrics.end_to_end_ms, r->duration_ms * 1000);
    if (rt->on_outcome)
        rt->on_outcome(rt->on_outcome_ud, r);
    return AW_OK;
}

int aw_outcome_deliveries(const aw_runtime *rt, const aw_job *job)
{
    (void)rt;
    if (job->rejected)
        return job->reject.action_id[0] ? 2 : 1;
    return 1;
}

static rd_kafka_headers_t *reply_headers(const aw_job *job)
{
    const aw_audit_record *r = &job->record;
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    char num[32];
    rd_kafka_header_add(h, "acteon.correlation_id", -1, r->action_id, -1);
    rd_kafka_header_add(h, "acteon.outcome", -1, aw_outcome_name(r->outcome), -1);
    rd_kafka_header_add(h, "acteon.source_topic", -1, r->source_topic, -1);
    rd_kafka_header_add(h, "acteon.source_partition", -1, num,
                        (ssize_t)aw_format_int(num, r->source_partition));
    rd_kafka_header_add(h, "acteon.source_offset", -1, num,
                        (ssize_t)aw_format_int(num, r->source_offset));
    if (!job->rejected && job->action.traceparent)
        rd_kafka_header_add(h, "traceparent", -1, job->action.traceparent, -1);
    if (!job->rejected && job->action.tracestate)
        rd_kafka_header_add(h, "tracestate", -1, job->action.tracestate, -1);
    return h;
}

/* Header saying why a DLQ copy has no value; the bytes stay on the source
 * topic (acteon.dlq.source_*) until its retention ends. */
#define AW_DLQ_VALUE_OMITTED_HEADER "acteon.dlq.value_omitted"

static void add_value_omitted(rd_kafka_headers_t *h, size_t len, const char *why)
{
    char text[384];
    snprintf(text, sizeof(text), "%zu bytes: %s", len, why);
    rd_kafka_header_add(h, AW_DLQ_VALUE_OMITTED_HEADER, -1, text, -1);
}

static rd_kafka_headers_t *dlq_headers(const aw_job *job)
{
    const aw_audit_record *r = &job->record;
    rd_kafka_headers_t *orig = NULL, *h;
    /* Keep the producer's own headers, then add ours. */
    if (rd_kafka_message_headers(job->msg, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
        h = rd_kafka_headers_copy(orig);
    else
        h = rd_kafka_headers_new(8);
    char num[40];
    rd_kafka_header_add(h, "acteon.dlq.reason", -1, aw_reject_reason_name(job->reject.reason), -1);
    rd_kafka_header_add(h, "acteon.dlq.error", -1, job->reject.detail, -1);
    rd_kafka_header_add(h, "acteon.dlq.source_topic", -1, r->source_topic, -1);
    snprintf(num, sizeof(num), "%" PRId32, r->source_partition);
    rd_kafka_header_add(h, "acteon.dlq.source_partition", -1, num, -1);
    snprintf(num, sizeof(num), "%" PRId64, r->source_offset);
    rd_kafka_header_add(h, "acteon.dlq.source_offset", -1, num, -1);
    aw_time_format_rfc3339(r->dispatched_at_ms, num, sizeof(num));
    rd_kafka_header_add(h, "acteon.dlq.first_seen", -1, num, -1);
    if (r->action_id[0])
        rd_kafka_header_add(h, "acteon.dlq.action_id", -1, r->action_id, -1);
    /* The whole outcome, as a reply would carry it: a rejected message with
     * no readable id has no reply, and `replay` rebuilds its audit record
     * from the DLQ copy instead. */
    aw_buf text = {0};
    if (aw_reply_write(r, &text) == 0)
        rd_kafka_header_add(h, AW_AUDIT_RECORD_HEADER, -1, text.data, (ssize_t)text.len);
    aw_buf_free(&text);
    return h;
}

static void delivery_failed_ex(aw_runtime *rt, aw_job *job, bool purged)
{
    atomic_store(&job->delivery_failed, true);
    /* A transaction missing one of its replies must not commit (purged
     * messages belong to a transaction being aborted anyway). */
    if (job->txn_replied && !purged)
        atomic_fetch_add(&rt->txn_send_failures, 1);
    atomic_fetch_add(&rt->metrics.delivery_failures, 1);
    aw_runtime_job_ack(rt, job);
}

static void delivery_failed(aw_runtime *rt, aw_job *job) { delivery_failed_ex(rt, job, false); }

/* An action may direct its reply only to a topic the operator allowed. */
static bool reply_to_allowed(const aw_config *cfg, const char *topic)
{
    for (size_t i = 0; i < cfg->kafka.n_reply_to_allow; i++)
        if (fnmatch(cfg->kafka.reply_to_allow[i], topic, 0) == 0)
            return true;
    return false;
}

static void send_reply(aw_runtime *rt, aw_job *job)
{
    aw_delivery *d = &job->deliveries[AW_DELIVERY_REPLY];
    d->job = job;
    d->kind = AW_DELIVERY_REPLY;
    const char *topic = rt->cfg->kafka.reply_topic;
    d->to_override = false;
    bool refused = false;
    if (!job->rejected && job->action.reply_to) {
        if (reply_to_allowed(rt->cfg, job->action.reply_to)) {
            topic = job->action.reply_to;
            d->to_override = true;
        } else {
            refused = true;
        }
    }
    aw_buf text = {0};
    aw_error err;
    if (aw_reply_write(&job->record, &text) != 0) {
        AW_ERROR("reply", "%s: cannot encode the reply (out of memory?)", job->record.record_id);
        aw_buf_free(&text);
        delivery_failed(rt, job);
        return;
    }
    const char *key = job->record.action_id;
    rd_kafka_headers_t *h = reply_headers(job);
    if (refused) {
        AW_WARN("reply", "%s: reply_to \"%.249s\" is not in kafka.reply_to_allow; replying on %s",
                job->record.record_id, job->action.reply_to, rt->cfg->kafka.reply_topic);
        char why[400];
        snprintf(why, sizeof(why), "reply_to \"%s\" is not allowed (kafka.reply_to_allow)",
                 job->action.reply_to);
        rd_kafka_header_add(h, "acteon.reply_to_error", -1, why, -1);
    }
    if (aw_producer_send(rt->producer, topic, key, strlen(key), text.data, text.len, h, d,
                         &err) != AW_OK) {
        AW_ERROR("reply", "%s: %s", job->record.record_id, err.msg);
        delivery_failed(rt, job);
    }
    aw_buf_free(&text);
}

static void send_dlq(aw_runtime *rt, aw_job *job)
{
    aw_delivery *d = &job->deliveries[AW_DELIVERY_DLQ];
    d->job = job;
    d->kind = AW_DELIVERY_DLQ;
    d->to_override = false;
    const rd_kafka_message_t *m = job->msg;
    d->value_omitted = false;
    aw_error err;
    if (aw_producer_send(rt->producer, rt->cfg->kafka.dlq_topic, m->key, m->key_len, m->payload,
                         m->len, dlq_headers(job), d, &err) == AW_OK)
        return;
    /* Refused before sending (in practice: over the producer's
     * message.max.bytes). Retrying the same bytes would be refused forever
     * and hold back every later commit of the partition: dead-letter the
     * outcome without the value instead. */
    AW_WARN("dlq", "%s: %s; sending the DLQ copy without its value", job->record.record_id,
            err.msg);
    rd_kafka_headers_t *h = dlq_headers(job);
    add_value_omitted(h, m->len, err.msg);
    d->value_omitted = true;
    if (aw_producer_send(rt->producer, rt->cfg->kafka.dlq_topic, m->key, m->key_len, NULL, 0, h,
                         d, &err) != AW_OK) {
        AW_ERROR("dlq", "%s: %s", job->record.record_id, err.msg);
        delivery_failed(rt, job);
    }
}

void aw_outcome_send(aw_runtime *rt, aw_job *job)
{
    if (job->rejected) {
        send_dlq(rt, job);
        if (job->reject.action_id[0])
            send_reply(rt, job);
    } else {
        send_reply(rt, job);
    }
}

static bool too_large(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

static bool unknown_topic(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
           e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
}

void aw_outcome_delivered(void *ud, aw_producer *p, const rd_kafka_message_t *msg, void *opaque)
{
    aw_runtime *rt = ud;
    aw_delivery *d = opaque;
    aw_job *job = d->job;
    if (!msg->err) {
        atomic_fetch_add(d->kind == AW_DELIVERY_DLQ ? &rt->metrics.dlq_delivered
                                                    : &rt->metrics.replies_delivered, 1);
        aw_runtime_job_ack(rt, job);
        return;
    }
    if (d->kind == AW_DELIVERY_REPLY && d->to_override && unknown_topic(msg->err)) {
        /* The action named a reply topic that does not exist (or that we may
         * not write): the reply goes to the default reply topic instead,
         * saying why, rather than being lost. */
        d->to_override = false;
        rd_kafka_headers_t *orig = NULL, *h;
        if (rd_kafka_message_headers(msg, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
            h = rd_kafka_headers_copy(orig);
        else
            h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, "acteon.reply_to_error", -1, rd_kafka_err2str(msg->err), -1);
        AW_WARN("reply", "%s: reply_to topic %s: %s; replying on %s", job->record.record_id,
                rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err),
                rt->cfg->kafka.reply_topic);
        aw_error err;
        if (aw_producer_send(p, rt->cfg->kafka.reply_topic, msg->key, msg->key_len, msg->payload,
                             msg->len, h, d, &err) == AW_OK)
            return;
        AW_ERROR("reply", "%s: %s", job->record.record_id, err.msg);
    } else if (d->kind == AW_DELIVERY_DLQ && !d->value_omitted && too_large(msg->err)) {
        /* The DLQ topic refused the copy (its max.message.bytes is below the
         * source topic's, or our headers pushed it over): the same bytes
         * would be refused forever, so send the outcome without them. */
        d->value_omitted = true;
        rd_kafka_headers_t *orig = NULL, *h;
        if (rd_kafka_message_headers(msg, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
            h = rd_kafka_headers_copy(orig);
        else
            h = rd_kafka_headers_new(2);
        add_value_omitted(h, msg->len, rd_kafka_err2str(msg->err));
        AW_WARN("dlq", "%s: %s refused the copy: %s; sending it without its value",
                job->record.record_id, rd_kafka_topic_name(msg->rkt),
                rd_kafka_err2str(msg->err));
        aw_error err;
        if (aw_producer_send(p, rd_kafka_topic_name(msg->rkt), msg->key, msg->key_len, NULL, 0,
                             h, d, &err) == AW_OK)
            return;
        AW_ERROR("dlq", "%s: %s", job->record.record_id, err.msg);
    } else if (msg->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
               msg->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        /* Not acknowledged: the offset stays uncommitted, so the message is
         * processed again after a restart or rebalance (dedup answers it with
         * its original outcome and the reply is sent again). */
        AW_ERROR(d->kind == AW_DELIVERY_DLQ ? "dlq" : "reply", "%s: delivery to %s failed: %s",
                 job->record.record_id, rd_kafka_topic_name(msg->rkt),
                 rd_kafka_err2str(msg->err));
    }
    delivery_failed_ex(rt, job, msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                                    msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT);
}
