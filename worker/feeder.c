#include "worker/feeder.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "ingest/action.h"
#include "ingest/kafka_conf.h"

typedef struct feed_state {
    atomic_size_t acked;
    atomic_size_t failed;
    char first_error[256];
} feed_state;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    feed_state *st = opaque;
    if (m->err) {
        if (atomic_fetch_add(&st->failed, 1) == 0)
            snprintf(st->first_error, sizeof(st->first_error), "%s", rd_kafka_err2str(m->err));
    } else {
        atomic_fetch_add(&st->acked, 1);
    }
}

static void key_of(const char *line, size_t len, aw_buf *key)
{
    aw_action a;
    aw_reject rej;
    aw_buf_reset(key);
    if (aw_action_decode(line, len, (size_t)64 << 20, &a, &rej) == 0) {
        aw_action_identity(&a, key);
        aw_action_clear(&a);
    }
}

aw_status aw_feed_lines(const aw_feed_options *o, FILE *in, size_t *sent, aw_error *err)
{
    *sent = 0;
    feed_state st = {0};
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    aw_status rc = aw_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "enable.idempotence", "true", err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "linger.ms", "5", err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "message.max.bytes", "67108864", err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_apply(conf, o->properties, o->n_properties, AW_KAFKA_PRODUCER, err);
    if (rc != AW_OK) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return aw_error_set(err, AW_CONFIG, "kafka producer: %s", errstr);
    }
    char *line = NULL;
    size_t cap = 0, queued = 0;
    ssize_t len;
    aw_buf key = {0};
    while ((len = getline(&line, &cap, in)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        key_of(line, (size_t)len, &key);
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(key.len ? key.data : NULL, key.len),
                RD_KAFKA_V_VALUE(line, (size_t)len), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (e) {
                rc = aw_error_set(err, AW_PERMANENT, "produce to %s: %s", o->topic,
                                  rd_kafka_err2str(e));
                goto done;
            }
            break;
        }
        queued++;
        rd_kafka_poll(rk, 0);
    }
done:
    rd_kafka_flush(rk, 30000);
    if (rc == AW_OK && (atomic_load(&st.failed) || atomic_load(&st.acked) != queued))
        rc = aw_error_set(err, AW_TRANSIENT, "%zu of %zu message(s) not acknowledged%s%s",
                          queued - atomic_load(&st.acked), queued,
                          st.first_error[0] ? ": " : "", st.first_error);
    *sent = atomic_load(&st.acked);
    aw_buf_free(&key);
    free(line);
    rd_kafka_destroy(rk);
    return rc;
}
