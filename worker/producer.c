#include "worker/producer.h"

#include <pthread.h>
#include <stdatomic.h>
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
    aw_log(level <= 3 ? AW_LOG_ERROR : level <= 4 ? AW_LOG_WARN : AW_LOG_DEBUG, "librdkafka",
           "%s: %s", fac, buf);
}

static void *delivery_thread(void *arg)
{
    aw_producer *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 100);
    return NULL;
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
    /* Idempotence gives acks=all and safe retries; an infinite message
     * timeout means a broker outage stalls replies (and so, through the
     * in-flight window, consumption) instead of failing them. */
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"linger.ms", "5"},
        {"message.timeout.ms", "0"},
        {"topic.metadata.propagation.max.ms", "10000"},
    };
    aw_status rc = AW_OK;
    for (size_t i = 0; rc == AW_OK && i < sizeof(defaults) / sizeof(defaults[0]); i++)
        rc = aw_kafka_conf_set(conf, defaults[i][0], defaults[i][1], err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err);
    if (rc == AW_OK && o->client_id)
        rc = aw_kafka_conf_set(conf, "client.id", o->client_id, err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_apply(conf, o->properties, o->n_properties, AW_KAFKA_PRODUCER, err);
    if (rc != AW_OK) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return rc;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return aw_error_set(err, AW_CONFIG, "kafka producer: %s", errstr);
    }
    if (pthread_create(&p->thread, NULL, delivery_thread, p)) {
        rd_kafka_destroy(p->rk);
        free(p);
        return aw_error_set(err, AW_INTERNAL, "cannot start the delivery thread");
    }
    p->thread_started = true;
    *out = p;
    return AW_OK;
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
    return rd_kafka_fatal_error(p->rk, reason, reason_sz) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

void aw_producer_destroy(aw_producer *p)
{
    if (!p)
        return;
    /* Purge what is left so every outstanding message gets its delivery
     * report (with a purge error): the owners of the opaques learn about it
     * instead of leaking. */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p->rk, 2000);
    if (p->thread_started) {
        atomic_store(&p->stop, true);
        pthread_join(p->thread, NULL);
    }
    rd_kafka_destroy(p->rk);
    free(p);
}
