#include "worker/producer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "ingest/kafka_conf.h"

struct aw_producer {
    rd_kafka_t *rk;
    aw_delivery_fn on_delivery;
    void *ud;
    pthread_t thread;
    atomic_bool stop;     /* set by destroy, read by the delivery thread */
    bool thread_started;
    bool transactional;
    bool txn_fatal;       /* polling thread only */
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    aw_producer *p = opaque;
    p->on_delivery(p->ud, p, m, m->_private);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        AW_ERROR("producer", "fatal: %s", reason);
    else
        AW_WARN("producer", "%s: %s", rd_kafka_err2name(err), reason);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    aw_log(aw_kafka_log_level(level, AW_LOG_DEBUG), "librdkafka", "%s: %s", fac, buf);
}

static void *delivery_thread(void *arg)
{
    aw_producer *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 100);
    return NULL;
}

/* The producer's librdkafka configuration: our defaults, then the user's
 * properties. */
static aw_status producer_conf(const aw_producer_options *o, rd_kafka_conf_t *conf,
                               aw_error *err)
{
    /* Idempotence gives acks=all and safe retries; an infinite message
     * timeout means a broker outage stalls replies (and so, through the
     * in-flight window, consumption) instead of failing them. */
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"linger.ms", "5"},
        /* A reply request waits for nothing once librdkafka sends it:
         * with Nagle's algorithm a request smaller than the MSS (all of
         * them on loopback) waited for the previous one's ACK while others
         * were in flight (docs/performance.md, "Where a message's time
         * goes"). */
        {"socket.nagle.disable", "true"},
        {"message.timeout.ms", "0"},
        {"topic.metadata.propagation.max.ms", "10000"},
        /* A DLQ copy carries the original value, which may be as large as
         * anything the consumer accepts (receive.message.max.bytes, 100 MB
         * by default): with librdkafka's 1 MB producer default a too_large
         * message could never be dead-lettered, and its uncommitted offset
         * held back every later commit of its partition. */
        {"message.max.bytes", "100000000"},
    };
    aw_status rc = AW_OK;
    for (size_t i = 0; rc == AW_OK && i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        /* A transaction bounds its messages' lifetime: librdkafka requires
         * message.timeout.ms <= transaction.timeout.ms, and a stalled
         * transaction is aborted and redone rather than waited for. */
        if (o->transactional_id && strcmp(defaults[i][0], "message.timeout.ms") == 0)
            continue;
        rc = aw_kafka_conf_set(conf, defaults[i][0], defaults[i][1], err);
    }
    if (rc == AW_OK && o->transactional_id)
        rc = aw_kafka_conf_set(conf, "transactional.id", o->transactional_id, err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err);
    if (rc == AW_OK && o->client_id)
        rc = aw_kafka_conf_set(conf, "client.id", o->client_id, err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_apply(conf, o->properties, o->n_properties, AW_KAFKA_PRODUCER, err);
    return rc;
}

/* Initialise transactions and open the first one. */
static aw_status start_transactions(aw_producer *p, const char *transactional_id, aw_error *err)
{
    p->transactional = true;
    rd_kafka_error_t *e = rd_kafka_init_transactions(p->rk, 60000);
    if (!e)
        e = rd_kafka_begin_transaction(p->rk);
    if (e) {
        aw_status rc = aw_error_set(err, AW_CONFIG,
                                    "kafka producer: transactions (transactional.id %s): %s "
                                    "(kafka.transactional_replies needs Kafka >= 2.5)",
                                    transactional_id, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        p->txn_fatal = true;
        return rc;
    }
    AW_INFO("producer", "transactional replies: transactional.id %s", transactional_id);
    return AW_OK;
}

aw_status aw_producer_new(const aw_producer_options *o, aw_producer **out, aw_error *err)
{
    *out = NULL;
    char errstr[512];
    aw_producer *p = calloc(1, sizeof(*p));
    if (!p)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    p->on_delivery = o->on_delivery;
    p->ud = o->ud;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    aw_status rc = producer_conf(o, conf, err);
    if (rc != AW_OK)
        goto fail_conf;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!p->rk) {
        rc = aw_error_set(err, AW_CONFIG, "kafka producer: %s", errstr);
        goto fail_conf;
    }
    if (pthread_create(&p->thread, NULL, delivery_thread, p)) {
        rc = aw_error_set(err, AW_INTERNAL, "cannot start the delivery thread");
        goto fail_rk;
    }
    p->thread_started = true;
    if (o->transactional_id && (rc = start_transactions(p, o->transactional_id, err)) != AW_OK) {
        aw_producer_destroy(p);
        return rc;
    }
    *out = p;
    return AW_OK;
fail_rk:
    rd_kafka_destroy(p->rk);
    free(p);
    return rc;
fail_conf:
    rd_kafka_conf_destroy(conf);
    free(p);
    return rc;
}

/* Abort the open transaction (bounded retries of retriable errors). */
static aw_status txn_abort(aw_producer *p, int timeout_ms, aw_error *err)
{
    int64_t deadline = aw_mono_now_ms() + timeout_ms;
    for (;;) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(p->rk, timeout_ms);
        if (!e)
            return AW_OK;
        bool retry = rd_kafka_error_is_retriable(e) && aw_mono_now_ms() < deadline;
        aw_status rc = aw_error_set(err, AW_PERMANENT, "abort_transaction: %s",
                                    rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        if (!retry) {
            p->txn_fatal = true;
            return rc;
        }
        aw_sleep_ms(100);
    }
}

/* After one try of a transaction step, e its error: 0 when it succeeded,
 * 1 to try again (a retriable error before the deadline: e is destroyed
 * and a pause taken), -1 when it failed (e is kept for the caller). Both
 * commit steps retry alike, so the rule is written once. */
static int txn_again(rd_kafka_error_t *e, int64_t deadline)
{
    if (!e)
        return 0;
    if (!rd_kafka_error_is_retriable(e) || aw_mono_now_ms() >= deadline)
        return -1;
    rd_kafka_error_destroy(e);
    aw_sleep_ms(50);
    return 1;
}

aw_status aw_producer_txn_commit(aw_producer *p, const rd_kafka_topic_partition_list_t *offsets,
                                 const rd_kafka_consumer_group_metadata_t *cgmd, bool abort_now,
                                 int timeout_ms, aw_error *err)
{
    if (!p->transactional || p->txn_fatal)
        return aw_error_set(err, AW_PERMANENT, "no usable transactional producer");
    int64_t deadline = aw_mono_now_ms() + timeout_ms;
    rd_kafka_error_t *e = NULL;
    const char *step = "send_offsets_to_transaction";
    int again = 0;
    if (abort_now)
        goto abort;
    if (offsets && offsets->cnt > 0) {
        do {
            e = rd_kafka_send_offsets_to_transaction(p->rk, offsets, cgmd, timeout_ms);
        } while ((again = txn_again(e, deadline)) > 0);
    }
    if (again < 0)
        goto failed;
    step = "commit_transaction";
    do {
        e = rd_kafka_commit_transaction(p->rk, timeout_ms);
    } while ((again = txn_again(e, deadline)) > 0);
    if (again < 0)
        goto failed;
    e = rd_kafka_begin_transaction(p->rk);
    if (e) {
        step = "begin_transaction";
        goto fatal;
    }
    return AW_OK;

failed:
    /* Fatal (fenced by a newer instance, ...): stop. Anything else - an
     * abortable error, or a retriable one past the deadline, whose outcome
     * we cannot know - is resolved by aborting. */
    if (rd_kafka_error_is_fatal(e))
        goto fatal;
    aw_error_set(err, AW_TRANSIENT, "%s: %s", step, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    e = NULL;
abort: {
    aw_error aerr;
    aw_error_clear(&aerr);
    if (txn_abort(p, timeout_ms, &aerr) != AW_OK) {
        *err = aerr;
        return AW_PERMANENT;
    }
    rd_kafka_error_t *b = rd_kafka_begin_transaction(p->rk);
    if (b) {
        aw_error_set(err, AW_PERMANENT, "begin_transaction: %s", rd_kafka_error_string(b));
        rd_kafka_error_destroy(b);
        p->txn_fatal = true;
        return AW_PERMANENT;
    }
    if (abort_now)
        aw_error_set(err, AW_TRANSIENT, "transaction aborted");
    return AW_TRANSIENT;
}
fatal:
    aw_error_set(err, AW_PERMANENT, "%s: %s", step, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    p->txn_fatal = true;
    return AW_PERMANENT;
}

aw_status aw_producer_send(aw_producer *p, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t value_len, rd_kafka_headers_t *headers,
                           void *opaque, aw_error *err)
{
    int64_t backoff = 1;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return AW_OK; /* headers now owned by the message */
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (headers)
                rd_kafka_headers_destroy(headers);
            return aw_error_set(err, AW_PERMANENT, "produce to %s: %s", topic,
                                rd_kafka_err2str(e));
        }
        aw_sleep_ms(backoff);
        if (backoff < 100)
            backoff *= 2;
    }
}

int aw_producer_flush(aw_producer *p, int timeout_ms)
{
    rd_kafka_flush(p->rk, timeout_ms);
    return rd_kafka_outq_len(p->rk);
}

int aw_producer_fatal(aw_producer *p, char *reason, size_t reason_sz)
{
    if (p->txn_fatal) {
        snprintf(reason, reason_sz, "transaction failed fatally");
        return 1;
    }
    return rd_kafka_fatal_error(p->rk, reason, reason_sz) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

void aw_producer_destroy(aw_producer *p)
{
    if (!p)
        return;
    /* Purge what is left so every outstanding message gets its delivery
     * report (with a purge error): the owners of the opaques learn about it
     * instead of leaking. */
    if (p->transactional && !p->txn_fatal) {
        /* The open transaction holds nothing committed-worthy: abort it so
         * read_committed readers need not wait for transaction.timeout.ms. */
        rd_kafka_error_t *e = rd_kafka_abort_transaction(p->rk, 5000);
        if (e)
            rd_kafka_error_destroy(e);
    }
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p->rk, 2000);
    if (p->thread_started) {
        atomic_store(&p->stop, true);
        pthread_join(p->thread, NULL);
    }
    rd_kafka_destroy(p->rk);
    free(p);
}
