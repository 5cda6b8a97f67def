#include "worker/outcome_delivery.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/audit_record.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

int aw_outcome_deliveries(const aw_job *job)
{
    if (job->rejected)
        return job->reject.action_id[0] ? 2 : 1;
    return 1;
}

/* A header whose name is a literal: its length known, no strlen. */
#define ADD_HEADER(h, name, value, len) \
    rd_kafka_header_add(h, name, (ssize_t)sizeof(name) - 1, value, len)

static rd_kafka_headers_t *reply_headers(const aw_job *job)
{
    const aw_audit_record *r = &job->record;
    bool traced = !job->rejected && (job->action.traceparent || job->action.tracestate);
    /* Sized to what it gets: the list grows by doubling otherwise. */
    rd_kafka_headers_t *h = rd_kafka_headers_new(traced ? 8 : 6);
    char num[AW_INT_TEXT];
    ADD_HEADER(h, "acteon.correlation_id", r->action_id, -1);
    ADD_HEADER(h, "acteon.outcome", aw_outcome_name(r->outcome), -1);
    ADD_HEADER(h, "acteon.source_topic", r->source_topic, -1);
    ADD_HEADER(h, "acteon.source_partition", num, (ssize_t)aw_format_int(num, r->source_partition));
    ADD_HEADER(h, "acteon.source_offset", num, (ssize_t)aw_format_int(num, r->source_offset));
    if (!job->rejected && job->action.traceparent)
        ADD_HEADER(h, "traceparent", job->action.traceparent, -1);
    if (!job->rejected && job->action.tracestate)
        ADD_HEADER(h, "tracestate", job->action.tracestate, -1);
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

/* A copy of m's headers, or new ones (room for `room`) when it has none. */
static rd_kafka_headers_t *copy_headers(const rd_kafka_message_t *m, size_t room)
{
    rd_kafka_headers_t *orig = NULL;
    /* A scheduled job's message is a copy without headers (aw_job_new_scheduled):
     * librdkafka must not look behind it. */
    if (m->rkt && rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
        return rd_kafka_headers_copy(orig);
    return rd_kafka_headers_new(room);
}

static rd_kafka_headers_t *dlq_headers(const aw_job *job)
{
    const aw_audit_record *r = &job->record;
    /* Keep the producer's own headers, then add ours. */
    rd_kafka_headers_t *h = copy_headers(job->msg, 8);
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

static void delivery_failed_ex(aw_worker_ctx *ctx, aw_job *job, bool purged)
{
    atomic_store(&job->delivery_failed, true);
    /* A transaction missing one of its replies must not commit (purged
     * messages belong to a transaction being aborted anyway). */
    if (job->txn_replied && !purged)
        atomic_fetch_add(&ctx->txn_send_failures, 1);
    atomic_fetch_add(&ctx->metrics.delivery_failures, 1);
    aw_job_queue_ack(&ctx->done, job);
}

static void delivery_failed(aw_worker_ctx *ctx, aw_job *job) { delivery_failed_ex(ctx, job, false); }

/* An action may direct its reply only to a topic the operator allowed. */
static bool reply_to_allowed(const aw_config *cfg, const char *topic)
{
    for (size_t i = 0; i < cfg->kafka.n_reply_to_allow; i++)
        if (fnmatch(cfg->kafka.reply_to_allow[i], topic, 0) == 0)
            return true;
    return false;
}

static void send_reply(aw_worker_ctx *ctx, aw_job *job, aw_buf *text)
{
    aw_delivery *d = &job->deliveries[AW_DELIVERY_REPLY];
    d->job = job;
    d->kind = AW_DELIVERY_REPLY;
    const char *topic = ctx->cfg->kafka.reply_topic;
    d->to_override = false;
    bool refused = false;
    if (!job->rejected && job->action.reply_to) {
        if (reply_to_allowed(ctx->cfg, job->action.reply_to)) {
            topic = job->action.reply_to;
            d->to_override = true;
        } else {
            refused = true;
        }
    }
    aw_error err;
    aw_buf_reset(text);
    if (aw_reply_write(&job->record, text) != 0) {
        AW_ERROR("reply", "%s: cannot encode the reply (out of memory?)", job->record.record_id);
        delivery_failed(ctx, job);
        return;
    }
    const char *key = job->record.action_id;
    rd_kafka_headers_t *h = reply_headers(job);
    if (refused) {
        AW_WARN("reply", "%s: reply_to \"%.249s\" is not in kafka.reply_to_allow; replying on %s",
                job->record.record_id, job->action.reply_to, ctx->cfg->kafka.reply_topic);
        char why[400];
        snprintf(why, sizeof(why), "reply_to \"%s\" is not allowed (kafka.reply_to_allow)",
                 job->action.reply_to);
        rd_kafka_header_add(h, "acteon.reply_to_error", -1, why, -1);
    }
    /* librdkafka copies the value: text is free again once this returns. */
    if (aw_producer_send(ctx->producer, topic, key, strlen(key), text->data, text->len, h, d,
                         &err) != AW_OK) {
        AW_ERROR("reply", "%s: %s", job->record.record_id, err.msg);
        delivery_failed(ctx, job);
    }
}

static void send_dlq(aw_worker_ctx *ctx, aw_job *job)
{
    aw_delivery *d = &job->deliveries[AW_DELIVERY_DLQ];
    d->job = job;
    d->kind = AW_DELIVERY_DLQ;
    d->to_override = false;
    const rd_kafka_message_t *m = job->msg;
    d->value_omitted = false;
    aw_error err;
    if (aw_producer_send(ctx->producer, ctx->cfg->kafka.dlq_topic, m->key, m->key_len, m->payload,
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
    if (aw_producer_send(ctx->producer, ctx->cfg->kafka.dlq_topic, m->key, m->key_len, NULL, 0, h,
                         d, &err) != AW_OK) {
        AW_ERROR("dlq", "%s: %s", job->record.record_id, err.msg);
        delivery_failed(ctx, job);
    }
}

void aw_outcome_send_with(aw_worker_ctx *ctx, aw_job *job, aw_buf *text)
{
    if (job->rejected) {
        send_dlq(ctx, job);
        if (job->reject.action_id[0])
            send_reply(ctx, job, text);
    } else {
        send_reply(ctx, job, text);
    }
}

void aw_outcome_send(aw_worker_ctx *ctx, aw_job *job)
{
    aw_buf text = {0};
    aw_outcome_send_with(ctx, job, &text);
    aw_buf_free(&text);
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

/* The action named a reply topic that does not exist (or that we may not
 * write): the reply goes to the default reply topic instead, saying why,
 * rather than being lost. Returns true when sent again. */
static bool reply_on_default_topic(aw_worker_ctx *ctx, aw_producer *p,
                                   const rd_kafka_message_t *msg, aw_delivery *d)
{
    d->to_override = false;
    rd_kafka_headers_t *h = copy_headers(msg, 2);
    rd_kafka_header_add(h, "acteon.reply_to_error", -1, rd_kafka_err2str(msg->err), -1);
    AW_WARN("reply", "%s: reply_to topic %s: %s; replying on %s", d->job->record.record_id,
            rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err),
            ctx->cfg->kafka.reply_topic);
    aw_error err;
    if (aw_producer_send(p, ctx->cfg->kafka.reply_topic, msg->key, msg->key_len, msg->payload,
                         msg->len, h, d, &err) == AW_OK)
        return true;
    AW_ERROR("reply", "%s: %s", d->job->record.record_id, err.msg);
    return false;
}

/* The DLQ topic refused the copy (its max.message.bytes is below the source
 * topic's, or our headers pushed it over): the same bytes would be refused
 * forever, so send the outcome without them. Returns true when sent again. */
static bool dlq_without_value(aw_producer *p, const rd_kafka_message_t *msg, aw_delivery *d)
{
    d->value_omitted = true;
    rd_kafka_headers_t *h = copy_headers(msg, 2);
    add_value_omitted(h, msg->len, rd_kafka_err2str(msg->err));
    AW_WARN("dlq", "%s: %s refused the copy: %s; sending it without its value",
            d->job->record.record_id, rd_kafka_topic_name(msg->rkt),
            rd_kafka_err2str(msg->err));
    aw_error err;
    if (aw_producer_send(p, rd_kafka_topic_name(msg->rkt), msg->key, msg->key_len, NULL, 0, h,
                         d, &err) == AW_OK)
        return true;
    AW_ERROR("dlq", "%s: %s", d->job->record.record_id, err.msg);
    return false;
}

static bool purged(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__PURGE_QUEUE || e == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
}

void aw_outcome_delivered(void *ud, aw_producer *p, const rd_kafka_message_t *msg, void *opaque)
{
    aw_worker_ctx *ctx = ud;
    aw_delivery *d = opaque;
    aw_job *job = d->job;
    if (!msg->err) {
        atomic_fetch_add(d->kind == AW_DELIVERY_DLQ ? &ctx->metrics.dlq_delivered
                                                    : &ctx->metrics.replies_delivered, 1);
        job->reply_acked_us = aw_mono_now_us(); /* this thread's only: DLQ and reply */
        aw_job_queue_ack(&ctx->done, job);
        return;
    }
    if (d->kind == AW_DELIVERY_REPLY && d->to_override && unknown_topic(msg->err)) {
        if (reply_on_default_topic(ctx, p, msg, d))
            return;
    } else if (d->kind == AW_DELIVERY_DLQ && !d->value_omitted && too_large(msg->err)) {
        if (dlq_without_value(p, msg, d))
            return;
    } else if (!purged(msg->err)) {
        /* Not acknowledged: the offset stays uncommitted, so the message is
         * processed again after a restart or rebalance (dedup answers it with
         * its original outcome and the reply is sent again). */
        AW_ERROR(d->kind == AW_DELIVERY_DLQ ? "dlq" : "reply", "%s: delivery to %s failed: %s",
                 job->record.record_id, rd_kafka_topic_name(msg->rkt),
                 rd_kafka_err2str(msg->err));
    }
    delivery_failed_ex(ctx, job, purged(msg->err));
}
