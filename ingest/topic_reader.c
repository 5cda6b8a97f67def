#include "ingest/topic_reader.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/aw_clock.h"
#include "ingest/kafka_conf.h"

/* One partition to read: offsets [start, mark). */
typedef struct part {
    char *topic;
    int32_t partition;
    int64_t start, mark;
    int64_t pos;        /* next offset not yet passed */
    bool done;
} part;

struct aw_topic_reader {
    rd_kafka_t *rk;
    part *parts;
    size_t n, cap, n_done;
};

static aw_status add_part(aw_topic_reader *r, const char *topic, int32_t partition,
                          int64_t start, int64_t mark, aw_error *err)
{
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        part *np = realloc(r->parts, ncap * sizeof(*np));
        if (!np)
            return aw_error_set(err, AW_NOMEM, "out of memory");
        r->parts = np;
        r->cap = ncap;
    }
    part *p = &r->parts[r->n];
    if (!(p->topic = strdup(topic)))
        return aw_error_set(err, AW_NOMEM, "out of memory");
    p->partition = partition;
    p->start = p->pos = start;
    p->mark = mark;
    p->done = start >= mark;
    r->n++;
    if (p->done)
        r->n_done++;
    return AW_OK;
}

static aw_status kafka_err(rd_kafka_resp_err_t e, const char *what, aw_error *err)
{
    bool transient = e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT ||
                     e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
                     e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                     e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    return aw_error_set(err, transient ? AW_TRANSIENT : AW_PERMANENT, "%s: %s", what,
                        rd_kafka_err2str(e));
}

static aw_status new_client(const aw_topic_reader_options *o, rd_kafka_t **rk, aw_error *err)
{
    char errstr[512];
    char group[96];
    /* assign() needs a group id; this one is never joined or committed to. */
    snprintf(group, sizeof(group), "acteon-replay-%ld-%" PRId64, (long)getpid(),
             aw_time_now_ms());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    aw_status rc = aw_kafka_conf_apply(conf, o->properties, o->n_properties, AW_KAFKA_CONSUMER,
                                       err);
    static const char *const fixed[][2] = {
        {"enable.auto.commit", "false"},   {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},  {"isolation.level", "read_committed"},
        {"auto.offset.reset", "error"},    /* never skip silently */
    };
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "group.id", group, err);
    for (size_t i = 0; rc == AW_OK && i < sizeof(fixed) / sizeof(fixed[0]); i++)
        rc = aw_kafka_conf_set(conf, fixed[i][0], fixed[i][1], err);
    if (rc != AW_OK) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    if (!(*rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(conf);
        return aw_error_set(err, AW_CONFIG, "kafka: %s", errstr);
    }
    rd_kafka_poll_set_consumer(*rk);
    return AW_OK;
}

/* The partitions of one topic with their [start, mark). */
static aw_status add_topic(aw_topic_reader *r, const aw_topic_reader_options *o,
                           const char *topic, aw_error *err)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->rk, topic, NULL);
    if (!rkt)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(r->rk, 0, rkt, &md, o->timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (e)
        return kafka_err(e, topic, err);
    aw_status rc = AW_OK;
    const struct rd_kafka_metadata_topic *t = md->topic_cnt == 1 ? &md->topics[0] : NULL;
    if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || t->partition_cnt == 0)
        rc = aw_error_set(err, AW_CONFIG, "topic \"%s\" does not exist", topic);
    else if (t->err)
        rc = kafka_err(t->err, topic, err);
    rd_kafka_topic_partition_list_t *times = rd_kafka_topic_partition_list_new(
        t ? t->partition_cnt : 1);
    int64_t *marks = calloc(t && t->partition_cnt > 0 ? (size_t)t->partition_cnt : 1,
                            sizeof(*marks));
    if (!marks)
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
    for (int i = 0; rc == AW_OK && i < t->partition_cnt; i++) {
        int32_t p = t->partitions[i].id;
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(r->rk, topic, p, &lo, &hi, o->timeout_ms);
        if (e) {
            char what[300];
            snprintf(what, sizeof(what), "%s [%" PRId32 "]: end offsets", topic, p);
            rc = kafka_err(e, what, err);
            break;
        }
        marks[i] = hi;
        rd_kafka_topic_partition_list_add(times, topic, p)->offset = o->since_ms > 0 ? o->since_ms
                                                                                     : lo;
    }
    if (rc == AW_OK && o->since_ms > 0) {
        e = rd_kafka_offsets_for_times(r->rk, times, o->timeout_ms);
        if (e)
            rc = kafka_err(e, topic, err);
    }
    for (int i = 0; rc == AW_OK && i < times->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &times->elems[i];
        /* -1: no message at or after the time: nothing to read there */
        int64_t start = tp->err || tp->offset < 0 ? marks[i] : tp->offset;
        rc = add_part(r, topic, tp->partition, start, marks[i], err);
    }
    free(marks);
    rd_kafka_topic_partition_list_destroy(times);
    rd_kafka_metadata_destroy(md);
    return rc;
}

aw_status aw_topic_reader_open(const aw_topic_reader_options *o, aw_topic_reader **out,
                               aw_error *err)
{
    *out = NULL;
    aw_topic_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = new_client(o, &r->rk, err);
    for (size_t i = 0; rc == AW_OK && i < o->n_topics; i++)
        rc = add_topic(r, o, o->topics[i], err);
    if (rc == AW_OK) {
        rd_kafka_topic_partition_list_t *as = rd_kafka_topic_partition_list_new((int)r->n + 1);
        for (size_t i = 0; i < r->n; i++)
            if (!r->parts[i].done)
                rd_kafka_topic_partition_list_add(as, r->parts[i].topic, r->parts[i].partition)
                    ->offset = r->parts[i].start;
        rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, as);
        rd_kafka_topic_partition_list_destroy(as);
        if (e)
            rc = kafka_err(e, "assign", err);
    }
    if (rc != AW_OK) {
        aw_topic_reader_close(r);
        return rc;
    }
    *out = r;
    return AW_OK;
}

static part *find_part(aw_topic_reader *r, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    for (size_t i = 0; i < r->n; i++)
        if (r->parts[i].partition == m->partition && strcmp(r->parts[i].topic, topic) == 0)
            return &r->parts[i];
    return NULL;
}

/* Passed everything up to `pos`; at the mark the partition is finished and
 * paused, so nothing beyond the mark is fetched. */
static void advance(aw_topic_reader *r, part *p, int64_t pos)
{
    if (pos > p->pos)
        p->pos = pos;
    if (p->done || p->pos < p->mark)
        return;
    p->done = true;
    r->n_done++;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    rd_kafka_pause_partitions(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

aw_status aw_topic_reader_next(aw_topic_reader *r, int timeout_ms, rd_kafka_message_t **out,
                               bool *done, aw_error *err)
{
    *out = NULL;
    *done = r->n_done == r->n;
    if (*done)
        return AW_OK;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);
    if (!m)
        return AW_OK;
    part *p = m->rkt ? find_part(r, m) : NULL;
    aw_status rc = AW_OK;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* Everything readable is read: the EOF offset passes transaction
         * markers and aborted messages too. */
        if (p)
            advance(r, p, m->offset);
    } else if (m->err) {
        char what[320];
        snprintf(what, sizeof(what), "%s [%" PRId32 "]",
                 m->rkt ? rd_kafka_topic_name(m->rkt) : "kafka", m->partition);
        rc = kafka_err(m->err, what, err);
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
            m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
            rc = aw_error_set(err, AW_PERMANENT,
                              "%s: offset %" PRId64 " no longer exists (deleted by retention "
                              "during the replay?): %s",
                              what, p ? p->pos : -1, rd_kafka_message_errstr(m));
    } else if (p && !p->done && m->offset < p->mark) {
        advance(r, p, m->offset + 1);
        *out = m;
        m = NULL;
    }
    if (m)
        rd_kafka_message_destroy(m);
    *done = r->n_done == r->n;
    return rc;
}

void aw_topic_reader_get_progress(const aw_topic_reader *r, aw_topic_reader_progress *pr)
{
    memset(pr, 0, sizeof(*pr));
    for (size_t i = 0; i < r->n; i++) {
        const part *p = &r->parts[i];
        if (p->start >= p->mark)
            continue;
        pr->partitions++;
        pr->partitions_done += p->done;
        pr->total += p->mark - p->start;
        pr->consumed += (p->pos < p->mark ? p->pos : p->mark) - p->start;
    }
}

void aw_topic_reader_close(aw_topic_reader *r)
{
    if (!r)
        return;
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    for (size_t i = 0; i < r->n; i++)
        free(r->parts[i].topic);
    free(r->parts);
    free(r);
}
