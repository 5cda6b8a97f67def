#include "ingest/kafka_probe.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "ingest/kafka_conf.h"

/* The first refusal seen (error_cb runs inside rd_kafka_poll on the
 * probing thread: no lock). */
typedef struct refusal {
    rd_kafka_resp_err_t err;
    char reason[512];
} refusal;

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    refusal *r = opaque;
    if (r->err || (err != RD_KAFKA_RESP_ERR__AUTHENTICATION && err != RD_KAFKA_RESP_ERR__SSL))
        return;
    r->err = err;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

/* librdkafka's own lines of the probe are the consumer's and producer's
 * again a moment later: kept for debugging only. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    AW_DEBUG("kafka-probe", "%s: %s", fac, buf);
}

static bool secured(rd_kafka_conf_t *conf)
{
    char proto[32];
    size_t sz = sizeof(proto);
    return rd_kafka_conf_get(conf, "security.protocol", proto, &sz) == RD_KAFKA_CONF_OK &&
           strcmp(proto, "plaintext") != 0;
}

aw_status aw_kafka_probe(const char *brokers, char *const *props, size_t n_props,
                         int timeout_ms, aw_error *err)
{
    refusal r = {0};
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    aw_status rc = aw_kafka_conf_set(conf, "bootstrap.servers", brokers, err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_apply(conf, props, n_props, AW_KAFKA_PRODUCER, err);
    if (rc != AW_OK || !secured(conf)) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, &r);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return aw_error_set(err, AW_CONFIG, "kafka: %s", errstr);
    }
    int64_t deadline = aw_mono_now_ms() + timeout_ms;
    bool answered = false;
    while (!answered && !r.err && aw_mono_now_ms() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        answered = rd_kafka_metadata(rk, 0, NULL, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR;
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_poll(rk, 0); /* serves error_cb */
    }
    rd_kafka_destroy(rk);
    if (r.err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
        return aw_error_set(err, AW_CONFIG,
                            "kafka: SASL authentication failed (check sasl.mechanisms, "
                            "sasl.username, sasl.password): %s", r.reason);
    if (r.err == RD_KAFKA_RESP_ERR__SSL)
        return aw_error_set(err, AW_CONFIG,
                            "kafka: TLS handshake failed (check ssl.ca.location and the "
                            "broker's certificate): %s", r.reason);
    if (!answered)
        AW_WARN("kafka-probe", "no broker of %s answered within %d ms: starting anyway "
                "(the consumer keeps trying)", brokers, timeout_ms);
    return AW_OK;
}
