#include "ingest/consumer.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "ingest/kafka_conf.h"
#include "ingest/offset_tracker.h"

/* One partition this consumer has (or had) assigned. */
typedef struct part {
    char *topic;
    int32_t partition;
    aw_offset_tracker *tracker;
    uint32_t gen;        /* bumped at every assign/reset: late completions of an
                            older generation are ignored */
    bool assigned;
    bool revoking;
    int64_t stored;      /* last offset handed to rd_kafka_offsets_store */
    int64_t stored_at_us; /* monotonic us of the first store not yet
                             committed, 0 when none */
    int64_t next;        /* offset after the last message handed out in this
                            generation, -1 before the first: the position a
                            refetch seeks to */
} part;

struct aw_consumer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;     /* the consumer queue (batch polling) */
    aw_consumer_hooks hooks;
    int rebalance_timeout_ms;
    part *parts;                 /* all fields: polling thread only */
    size_t n_parts, cap_parts;
    size_t last_hit;             /* lookup cache: messages come in runs */
    uint32_t next_gen;
    bool paused;
    bool cooperative;
    bool transactional;
    bool close_abandoned;        /* close gave up: destroy must not close again */
};

static part *find_part(aw_consumer *c, const char *topic, int32_t partition)
{
    if (c->last_hit < c->n_parts) {
        part *p = &c->parts[c->last_hit];
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return p;
    }
    for (size_t i = 0; i < c->n_parts; i++) {
        part *p = &c->parts[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0) {
            c->last_hit = i;
            return p;
        }
    }
    return NULL;
}

static part *get_part(aw_consumer *c, const char *topic, int32_t partition)
{
    part *p = find_part(c, topic, partition);
    if (p)
        return p;
    if (c->n_parts == c->cap_parts) {
        size_t ncap = c->cap_parts ? c->cap_parts * 2 : 16;
        part *n = realloc(c->parts, ncap * sizeof(part));
        if (!n)
            return NULL;
        c->parts = n;
        c->cap_parts = ncap;
    }
    p = &c->parts[c->n_parts];
    memset(p, 0, sizeof(*p));
    p->topic = strdup(topic);
    p->tracker = aw_offset_tracker_new();
    if (!p->topic || !p->tracker) {
        free(p->topic);
        aw_offset_tracker_destroy(p->tracker);
        return NULL;
    }
    p->partition = partition;
    p->stored = -1;
    p->next = -1;
    c->n_parts++;
    return p;
}

static void part_reset(aw_consumer *c, part *p)
{
    aw_offset_tracker_reset(p->tracker);
    p->gen = ++c->next_gen;
    p->stored = -1;
    p->next = -1;
}

size_t aw_consumer_revoking_in_flight(const aw_consumer *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i].revoking)
            n += aw_offset_tracker_in_flight(c->parts[i].tracker);
    return n;
}

bool aw_consumer_is_assigned(const aw_consumer *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->n_parts; i++) {
        const part *p = &c->parts[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0)
            return p->assigned;
    }
    return false;
}

size_t aw_consumer_assigned_count(const aw_consumer *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_parts; i++)
        n += c->parts[i].assigned;
    return n;
}

void aw_consumer_store(aw_consumer *c)
{
    if (c->transactional)
        return; /* offsets go into the producer's transaction */
    rd_kafka_topic_partition_list_t *list = NULL;
    for (size_t i = 0; i < c->n_parts; i++) {
        part *p = &c->parts[i];
        int64_t off = aw_offset_tracker_committable(p->tracker);
        if (!p->assigned || off < 0 || off <= p->stored)
            continue;
        if (!list)
            list = rd_kafka_topic_partition_list_new((int)c->n_parts);
        rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = off;
        p->stored = off;
        if (!p->stored_at_us)
            p->stored_at_us = aw_mono_now_us();
    }
    if (!list)
        return;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, list);
    if (e) {
        /* A partition that was just taken away refuses the store (_STATE);
         * the new owner re-processes from its committed offset, and dedup
         * makes that safe. */
        AW_WARN("consumer", "offsets_store: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(list);
}

bool aw_consumer_done(aw_consumer *c, const char *topic, int32_t partition, int64_t offset,
                      uint32_t gen)
{
    part *p = find_part(c, topic, partition);
    if (!p || p->gen != gen)
        return false;
    if (aw_offset_tracker_mark_done(p->tracker, offset)) {
        AW_WARN("consumer", "completion for %s[%d]@%lld not in flight", topic, partition,
                (long long)offset);
        return false;
    }
    return true;
}

rd_kafka_topic_partition_list_t *aw_consumer_committable_list(aw_consumer *c)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    for (size_t i = 0; i < c->n_parts; i++) {
        part *p = &c->parts[i];
        int64_t off = aw_offset_tracker_committable(p->tracker);
        if (!p->assigned || off < 0)
            continue;
        if (!list)
            list = rd_kafka_topic_partition_list_new((int)c->n_parts);
        rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = off;
    }
    return list;
}

bool aw_consumer_is_current(aw_consumer *c, const char *topic, int32_t partition, uint32_t gen)
{
    part *p = find_part(c, topic, partition);
    return p && p->assigned && p->gen == gen;
}

rd_kafka_consumer_group_metadata_t *aw_consumer_group_metadata(aw_consumer *c)
{
    return rd_kafka_consumer_group_metadata(c->rk);
}

void aw_consumer_rewind(aw_consumer *c)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < c->n_parts; i++) {
        part *p = &c->parts[i];
        if (p->assigned && !p->revoking)
            rd_kafka_topic_partition_list_add(list, p->topic, p->partition);
    }
    if (list->cnt > 0) {
        /* Where the last committed transaction left each partition. */
        rd_kafka_resp_err_t e = rd_kafka_committed(c->rk, list, 30000);
        if (e)
            AW_ERROR("consumer", "rewind: committed offsets: %s", rd_kafka_err2str(e));
        for (int i = 0; !e && i < list->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &list->elems[i];
            /* Nothing committed yet: start over from the beginning (the
             * auto.offset.reset=earliest default). */
            if (tp->offset < 0)
                tp->offset = RD_KAFKA_OFFSET_BEGINNING;
            part *p = find_part(c, tp->topic, tp->partition);
            if (p)
                part_reset(c, p);
        }
        rd_kafka_error_t *err = e ? NULL : rd_kafka_seek_partitions(c->rk, list, 30000);
        if (err) {
            AW_ERROR("consumer", "rewind: seek: %s", rd_kafka_error_string(err));
            rd_kafka_error_destroy(err);
        }
        for (int i = 0; !e && i < list->cnt; i++)
            if (list->elems[i].err)
                AW_ERROR("consumer", "rewind: seek %s[%d]: %s", list->elems[i].topic,
                         list->elems[i].partition, rd_kafka_err2str(list->elems[i].err));
        AW_WARN("consumer", "rewound %d partition(s) to their committed offsets", list->cnt);
    }
    rd_kafka_topic_partition_list_destroy(list);
}

static void apply_pause(aw_consumer *c, rd_kafka_topic_partition_list_t *list, bool paused)
{
    if (!list || list->cnt == 0)
        return;
    rd_kafka_resp_err_t e =
        paused ? rd_kafka_pause_partitions(c->rk, list) : rd_kafka_resume_partitions(c->rk, list);
    if (e)
        AW_WARN("consumer", "%s partitions: %s", paused ? "pause" : "resume",
                rd_kafka_err2str(e));
}

void aw_consumer_set_paused(aw_consumer *c, bool paused)
{
    if (c->paused == paused)
        return;
    c->paused = paused;
    rd_kafka_topic_partition_list_t *list = NULL;
    if (rd_kafka_assignment(c->rk, &list) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        apply_pause(c, list, paused);
        rd_kafka_topic_partition_list_destroy(list);
    }
    /* librdkafka 2.0.2 starts fetching a resumed partition again only after
     * most of a second, which caps a drain at one in-flight window per
     * second (docs/performance.md, "The in-flight window"). A seek to the
     * current positions fetches at once: the same restart as the fetch-stall
     * watchdog, which skips and repeats nothing (tests/integration/
     * test_fetch_stall.sh). Not in transactional mode, where an abort
     * rewinds partitions to their committed offsets with a seek of its own
     * that this one must not race. */
    if (!paused && !c->transactional)
        aw_consumer_refetch(c);
    AW_INFO("consumer", "%s fetching", paused ? "paused" : "resumed");
}

bool aw_consumer_paused(const aw_consumer *c) { return c->paused; }

static void on_assign(aw_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        part *p = get_part(c, parts->elems[i].topic, parts->elems[i].partition);
        if (!p) {
            AW_ERROR("consumer", "out of memory tracking %s[%d]", parts->elems[i].topic,
                     parts->elems[i].partition);
            continue;
        }
        part_reset(c, p);
        p->assigned = true;
        p->revoking = false;
    }
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (c->cooperative)
        error = rd_kafka_incremental_assign(c->rk, parts);
    else
        e = rd_kafka_assign(c->rk, parts);
    if (error) {
        AW_ERROR("consumer", "incremental assign: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (e) {
        AW_ERROR("consumer", "assign: %s", rd_kafka_err2str(e));
    }
    /* librdkafka keeps a partition's pause flag across unassign/assign: a
     * partition paused before a rebalance would come back paused while we
     * believe fetching runs. Always state the current wish explicitly. */
    apply_pause(c, parts, c->paused);
    AW_INFO("consumer", "assigned %d partition(s), %zu in total", parts->cnt,
            aw_consumer_assigned_count(c));
    if (c->hooks.assigned)
        c->hooks.assigned(c->hooks.ud, c, aw_consumer_assigned_count(c));
}

static void on_revoke(aw_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
    bool lost = rd_kafka_assignment_lost(c->rk);
    for (int i = 0; i < parts->cnt; i++) {
        part *p = find_part(c, parts->elems[i].topic, parts->elems[i].partition);
        if (p)
            p->revoking = true;
    }
    if (!lost) {
        /* Finish what we can within the bound, then commit what is complete:
         * the next owner starts right after it. Work left unfinished is
         * redelivered to the next owner, which the dedup layer absorbs. */
        int64_t deadline = aw_mono_now_ms() + c->rebalance_timeout_ms;
        if (c->hooks.drain)
            c->hooks.drain(c->hooks.ud, c, deadline);
        size_t left = aw_consumer_revoking_in_flight(c);
        if (left)
            AW_WARN("consumer", "rebalance: abandoning %zu in-flight message(s) after %d ms",
                    left, c->rebalance_timeout_ms);
        if (c->hooks.commit) {
            c->hooks.commit(c->hooks.ud, c);
        } else {
            aw_consumer_store(c);
            rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);
            if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
                AW_WARN("consumer", "commit on revoke: %s", rd_kafka_err2str(e));
        }
    } else {
        AW_WARN("consumer", "assignment lost: dropping in-flight work without commit");
        if (c->hooks.lost)
            c->hooks.lost(c->hooks.ud);
    }
    for (int i = 0; i < parts->cnt; i++) {
        part *p = find_part(c, parts->elems[i].topic, parts->elems[i].partition);
        if (!p)
            continue;
        part_reset(c, p);
        p->assigned = false;
        p->revoking = false;
    }
    if (c->cooperative) {
        rd_kafka_error_t *error = rd_kafka_incremental_unassign(c->rk, parts);
        if (error) {
            AW_ERROR("consumer", "incremental unassign: %s", rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
    } else {
        rd_kafka_assign(c->rk, NULL);
    }
    AW_INFO("consumer", "revoked %d partition(s)%s", parts->cnt, lost ? " (lost)" : "");
    if (c->hooks.assigned)
        c->hooks.assigned(c->hooks.ud, c, aw_consumer_assigned_count(c));
}

/* A rebalance event served after librdkafka terminated the group: nothing
 * can be assigned or unassigned any more, and a commit or an assign would
 * reach a group that is gone (an assertion, or a request never answered).
 * Only our own record lets the partitions go. */
static void on_group_gone(aw_consumer *c, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *parts)
{
    AW_WARN("consumer", "rebalance event (%s of %d partition(s)) after the group was closed: "
            "ignored", rd_kafka_err2name(err), parts ? parts->cnt : 0);
    for (int i = 0; parts && i < parts->cnt; i++) {
        part *p = find_part(c, parts->elems[i].topic, parts->elems[i].partition);
        if (!p)
            continue;
        part_reset(c, p);
        p->assigned = false;
        p->revoking = false;
    }
    if (c->hooks.assigned)
        c->hooks.assigned(c->hooks.ud, c, aw_consumer_assigned_count(c));
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    aw_consumer *c = opaque;
    /* NULL once the group's request queue is shut (terminated). */
    const char *protocol = rd_kafka_rebalance_protocol(rk);
    if (!protocol) {
        on_group_gone(c, err, parts);
        return;
    }
    c->cooperative = strcmp(protocol, "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        on_assign(c, parts);
    else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        on_revoke(c, parts);
    else {
        AW_ERROR("consumer", "rebalance error: %s", rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
    }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    aw_log(aw_kafka_log_level(level, AW_LOG_INFO), "librdkafka", "%s: %s", fac, buf);
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    aw_consumer *c = opaque;
    if (c->hooks.stats)
        c->hooks.stats(c->hooks.ud, c, json, len);
    return 0; /* librdkafka frees json */
}

static void queue_event_cb(rd_kafka_t *rk, void *opaque)
{
    (void)rk;
    const aw_consumer *c = opaque;
    c->hooks.readable(c->hooks.ud);
}

/* Auto-commits and our own commits, acknowledged (served by the consumer
 * queue: the polling thread). */
static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    aw_consumer *c = opaque;
    if (err || !offsets)
        return;
    int64_t now = aw_mono_now_us();
    for (int i = 0; i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *o = &offsets->elems[i];
        part *p = o->err ? NULL : find_part(c, o->topic, o->partition);
        if (!p || !p->stored_at_us || o->offset < p->stored)
            continue;
        if (c->hooks.committed)
            c->hooks.committed(c->hooks.ud, now - p->stored_at_us);
        p->stored_at_us = 0;
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT)
        AW_WARN("consumer", "%s: %s", rd_kafka_err2name(err), reason);
    else
        AW_ERROR("consumer", "%s: %s", rd_kafka_err2name(err), reason);
}

/* The consumer's librdkafka configuration: our defaults first; the user's
 * pass-through properties override them, except the two that the no-loss
 * promise depends on (checked here). */
static aw_status consumer_conf(const aw_consumer_options *o, rd_kafka_conf_t *conf,
                               aw_error *err)
{
    static const char *const defaults[][2] = {
        {"enable.auto.commit", "true"},
        {"enable.auto.offset.store", "false"},
        /* Offsets are stored as soon as their messages finished; this
         * cadence bounds how much a crash makes the next owner redeliver
         * (answered by dedup, but each with its reply and audit write
         * again): 200 ms is a few commits a second, nothing for the group
         * coordinator, and a fifth of librdkafka's default of 5 s. */
        {"auto.commit.interval.ms", "200"},
        {"auto.offset.reset", "earliest"},
        /* Fetch, commit and heartbeat requests go out at once, not behind
         * the ACK of the previous request (see the producer's). */
        {"socket.nagle.disable", "true"},
        {"enable.partition.eof", "false"},
        {"session.timeout.ms", "10000"},
        {"statistics.interval.ms", "5000"},
    };
    aw_status rc = AW_OK;
    for (size_t i = 0; rc == AW_OK && i < sizeof(defaults) / sizeof(defaults[0]); i++)
        rc = aw_kafka_conf_set(conf, defaults[i][0], defaults[i][1], err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_set(conf, "group.id", o->group_id, err);
    if (rc == AW_OK && o->client_id)
        rc = aw_kafka_conf_set(conf, "client.id", o->client_id, err);
    if (rc == AW_OK)
        rc = aw_kafka_conf_apply(conf, o->properties, o->n_properties, AW_KAFKA_CONSUMER, err);
    /* Transactional mode: offsets are committed only inside the producer's
     * transaction, never by the consumer. */
    if (rc == AW_OK && o->transactional)
        rc = aw_kafka_conf_set(conf, "enable.auto.commit", "false", err);
    if (rc != AW_OK)
        return rc;
    char value[64];
    size_t sz = sizeof(value);
    if (rd_kafka_conf_get(conf, "enable.auto.offset.store", value, &sz) == RD_KAFKA_CONF_OK &&
        strcmp(value, "false") != 0)
        return aw_error_set(err, AW_CONFIG,
                            "kafka.properties: enable.auto.offset.store must stay false "
                            "(offsets are stored only after a message's outcome is durable)");
    return AW_OK;
}

aw_status aw_consumer_new(const aw_consumer_options *o, const aw_consumer_hooks *hooks,
                          aw_consumer **out, aw_error *err)
{
    *out = NULL;
    char errstr[512];
    aw_consumer *c = calloc(1, sizeof(*c));
    if (!c)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    c->hooks = *hooks;
    c->rebalance_timeout_ms = o->rebalance_timeout_ms;
    c->transactional = o->transactional;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    aw_status rc = consumer_conf(o, conf, err);
    if (rc != AW_OK)
        goto fail_conf;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
    rd_kafka_conf_set_opaque(conf, c);

    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!c->rk) {
        rc = aw_error_set(err, AW_CONFIG, "kafka consumer: %s", errstr);
        goto fail_conf;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    if (c->hooks.readable)
        rd_kafka_queue_cb_event_enable(c->queue, queue_event_cb, c);

    rd_kafka_topic_partition_list_t *subs =
        rd_kafka_topic_partition_list_new((int)o->n_topics);
    for (size_t i = 0; i < o->n_topics; i++)
        rd_kafka_topic_partition_list_add(subs, o->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e) {
        rc = aw_error_set(err, AW_CONFIG, "kafka subscribe: %s", rd_kafka_err2str(e));
        goto fail;
    }
    AW_INFO("consumer", "librdkafka %s, group %s, %zu topic(s)", rd_kafka_version_str(),
            o->group_id, o->n_topics);
    *out = c;
    return AW_OK;

fail_conf:
    rd_kafka_conf_destroy(conf);
fail:
    aw_consumer_destroy(c);
    return rc;
}

size_t aw_consumer_poll(aw_consumer *c, rd_kafka_message_t **msgs, uint32_t *gens, size_t max,
                        int timeout_ms)
{
    ssize_t n = rd_kafka_consume_batch_queue(c->queue, timeout_ms, msgs, max);
    if (n <= 0)
        return 0;
    size_t kept = 0;
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                AW_WARN("consumer", "consume error: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        const char *topic = rd_kafka_topic_name(m->rkt);
        part *p = find_part(c, topic, m->partition);
        if (!p || !p->assigned) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (aw_offset_tracker_add(p->tracker, m->offset)) {
            /* The partition rewound (offset reset or seek): start tracking
             * afresh; older in-flight work is now of a stale generation. */
            AW_WARN("consumer", "%s[%d] rewound to %lld: tracking afresh", topic, m->partition,
                    (long long)m->offset);
            part_reset(c, p);
            if (aw_offset_tracker_add(p->tracker, m->offset)) {
                rd_kafka_message_destroy(m);
                continue;
            }
        }
        p->next = m->offset + 1;
        gens[kept] = p->gen;
        msgs[kept++] = m;
    }
    return kept;
}

int aw_consumer_refetch(aw_consumer *c)
{
    /* Our own record of the positions, not rd_kafka_position(): librdkafka
     * 2.0.2 forgets a partition's application position at every seek
     * (rd_kafka_toppar_seek sets rktp_app_offset to INVALID), so after the
     * seek on resume a partition reports none until a message of it is
     * polled again, and a partition that stalled right after a resume could
     * never be restarted. A partition with no message handed out in this
     * generation is left alone: its fetch starts from the committed offset. */
    rd_kafka_topic_partition_list_t *seek = NULL;
    for (size_t i = 0; i < c->n_parts; i++) {
        const part *p = &c->parts[i];
        if (!p->assigned || p->revoking || p->next < 0)
            continue;
        if (!seek)
            seek = rd_kafka_topic_partition_list_new((int)c->n_parts);
        rd_kafka_topic_partition_list_add(seek, p->topic, p->partition)->offset = p->next;
    }
    if (!seek)
        return 0;
    int n = 0;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, seek, 0 /* async */);
    if (e) {
        AW_WARN("consumer", "refetch: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else {
        n = seek->cnt;
    }
    rd_kafka_topic_partition_list_destroy(seek);
    return n;
}

aw_status aw_consumer_commit(aw_consumer *c, aw_error *err)
{
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        return aw_error_set(err, AW_TRANSIENT, "commit: %s", rd_kafka_err2str(e));
    return AW_OK;
}

/* Whether this consumer is out of the group with nothing left to handle:
 * nothing assigned in our record, no event waiting on the consumer queue,
 * and librdkafka's member id cleared (it clears it when it leaves, which it
 * does only once the unsubscribe was applied). Polling thread. */
static bool left_group(aw_consumer *c)
{
    if (aw_consumer_assigned_count(c) > 0 || rd_kafka_queue_length(c->queue) > 0)
        return false;
    char *id = rd_kafka_memberid(c->rk);
    bool left = !id || !id[0];
    if (id)
        rd_kafka_mem_free(c->rk, id);
    return left;
}

/* Leave the group while it is alive: unsubscribe, then serve the consumer
 * queue (the final revoke drains and commits in the rebalance callback)
 * until left_group() or the deadline. Messages fetched meanwhile are
 * dropped uncommitted, for the next owner.
 *
 * Why not let rd_kafka_consumer_close() do it: a rebalance event that
 * librdkafka queued for us before the close (a heartbeat said "rebalance in
 * progress" after the polling loop's last poll) is served only inside the
 * close. librdkafka 2.0.2's close then unsubscribes without waiting for it
 * (rd_kafka_cgrp_terminate0 calls rd_kafka_cgrp_unsubscribe directly, which
 * resets the join state), unassigns and leaves on its own, and the late
 * callback reaches a group that is terminating or gone: its
 * rd_kafka_commit() trips the assertion in rd_kafka_cgrp_terminated
 * ("!rd_kafka_assignment_in_progress", SIGABRT), its rd_kafka_assign() is
 * purged with the group's queue and never answered (a hang), and once the
 * group is gone rd_kafka_rebalance_protocol() returns NULL (the SIGSEGV of
 * the strcmp that rebalance_cb did on it, now checked).
 * rd_kafka_unsubscribe() instead waits for a rebalance in progress,
 * including our unserved event, before it leaves; every callback runs
 * against a live group. Polling thread. */
static bool leave_group(aw_consumer *c, int64_t end)
{
    rd_kafka_resp_err_t e = rd_kafka_unsubscribe(c->rk);
    if (e) {
        AW_WARN("consumer", "unsubscribe: %s", rd_kafka_err2str(e));
        return false;
    }
    rd_kafka_message_t *msgs[64];
    for (;;) {
        ssize_t n = rd_kafka_consume_batch_queue(c->queue, 10, msgs, 64);
        for (ssize_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
        if (n <= 0 && left_group(c))
            return true;
        if (aw_mono_now_ms() >= end)
            return false;
    }
}

void aw_consumer_close(aw_consumer *c, int timeout_ms)
{
    if (!c || !c->rk)
        return;
    int64_t end = aw_mono_now_ms() + timeout_ms;
    AW_INFO("consumer", "leaving the group (%zu partition(s) assigned)",
            aw_consumer_assigned_count(c));
    if (!leave_group(c, end)) {
        /* Destroy then terminates the group without serving any callback
         * (RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE): nothing of ours can
         * reach it while it terminates. */
        AW_WARN("consumer", "leaving the group did not finish within %d ms (brokers "
                "unreachable?): closing without it", timeout_ms);
        c->close_abandoned = true;
        return;
    }
    /* rd_kafka_consumer_close() waits for the group coordinator with no
     * bound: with the brokers gone, a stopping worker would hang forever.
     * Close through a queue served here instead, and give up at the
     * deadline. Out of the group, unsubscribed and with nothing assigned,
     * the close has no rebalance event to deliver. */
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *err = rd_kafka_consumer_close_queue(c->rk, q);
    if (err) {
        AW_WARN("consumer", "close: %s", rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
    } else {
        while (!rd_kafka_consumer_closed(c->rk) && aw_mono_now_ms() < end)
            rd_kafka_queue_poll_callback(q, 100);
        if (!rd_kafka_consumer_closed(c->rk)) {
            AW_WARN("consumer", "closing the consumer did not finish within %d ms: closing "
                    "without it", timeout_ms);
            c->close_abandoned = true;
        }
    }
    rd_kafka_queue_destroy(q);
}

void aw_consumer_destroy(aw_consumer *c)
{
    if (!c)
        return;
    if (c->queue) {
        if (c->hooks.readable)
            rd_kafka_queue_cb_event_enable(c->queue, NULL, NULL);
        rd_kafka_queue_destroy(c->queue);
    }
    if (c->rk)
        rd_kafka_destroy_flags(c->rk,
                               c->close_abandoned ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    for (size_t i = 0; i < c->n_parts; i++) {
        free(c->parts[i].topic);
        aw_offset_tracker_destroy(c->parts[i].tracker);
    }
    free(c->parts);
    free(c);
}
