/* Read the worker's replies and turn them into the end-to-end figures.
 *
 *   bench_replies -b BROKERS -t REPLY_TOPIC -n TOTAL --fill TOPIC [--paced TOPIC]...
 *
 * Waits (at most 600 s) until TOTAL replies are on the reply topic, then
 * prints one line of key=value figures per source topic:
 *   rate     (replies - 1) / (last completed_at - first completed_at): the
 *            worker's steady drain rate, without start-up and group join;
 *   p50/p99  completed_at - metadata.sent_us (produce time, bench_load), ms;
 *   outcomes executed / deduplicated / other.
 * For the pre-filled topic the latency is mostly time spent queued in
 * Kafka; a paced topic (open-loop load below the drain rate) gives the
 * latency an action sees when the worker keeps up. Each --paced topic (at
 * most MAX_PACED) gets its own line, "paced topic=NAME ...". 
 *
 * Replies to a warm-up action (bench_load --warm-up-s: metadata.warm_up) are
 * counted towards TOTAL and left out of every figure.
 * AW_BENCH_REPLIES_DUMP=FILE writes one line per reply to FILE: sent_us,
 * completed_at (ms), the reply's Kafka timestamp (ms), the latency (ms),
 * its source topic: to see when the slow ones happened.
 *
 * It shares the 2 cores with the worker it measures, so it reads replies
 * with the worker's own strict checker (ingest/json_check.h) instead of a
 * jansson tree: that took it from about a core at 60,000 replies/s to a
 * fraction of one. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_kafka.h"
#include "common/aw_clock.h"
#include "ingest/json_check.h"

typedef struct series {
    const char *topic;
    double *lat_ms;
    long n, cap, executed, dedup, other;
    int64_t first_us, last_us;
} series;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void add(series *s, int64_t completed_us, double lat_ms, const char *outcome)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->lat_ms = realloc(s->lat_ms, (size_t)s->cap * sizeof(double));
        if (!s->lat_ms)
            exit(1);
    }
    s->lat_ms[s->n++] = lat_ms;
    if (!s->first_us || completed_us < s->first_us)
        s->first_us = completed_us;
    if (completed_us > s->last_us)
        s->last_us = completed_us;
    if (strcmp(outcome, "executed") == 0)
        s->executed++;
    else if (strcmp(outcome, "deduplicated") == 0)
        s->dedup++;
    else
        s->other++;
}

#define MAX_PACED 8

static void report(const char *name, series *s)
{
    if (!s->n)
        return;
    qsort(s->lat_ms, (size_t)s->n, sizeof(double), cmp_double);
    double span = (double)(s->last_us - s->first_us) / 1e6;
    printf("%s%s%s replies=%ld executed=%ld deduplicated=%ld other=%ld rate=%.0f "
           "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
           name, strcmp(name, "paced") == 0 ? " topic=" : "",
           strcmp(name, "paced") == 0 ? s->topic : "", s->n, s->executed, s->dedup, s->other,
           span > 0 ? (double)(s->n - 1) / span : 0.0, s->lat_ms[s->n / 2],
           s->lat_ms[(long)((double)s->n * 0.99)], s->lat_ms[s->n - 1]);
}

/* The members of a reply the figures need, as unescaped strings. */
typedef struct reply_view {
    char topic[256], completed_at[64], outcome[32], sent_us[32], warm_up[8];
} reply_view;

typedef struct member_want {
    const char *name;
    char *out;
    size_t outsz;
    aw_json_value *obj; /* or: keep the object value here */
} member_want;

typedef struct member_set {
    member_want *w;
    size_t n;
} member_set;

static void take_member(void *ctx, const char *key, size_t key_len, const aw_json_value *v)
{
    member_set *set = ctx;
    for (size_t i = 0; i < set->n; i++) {
        member_want *w = &set->w[i];
        if (strlen(w->name) != key_len || memcmp(w->name, key, key_len) != 0)
            continue;
        if (w->obj && v->kind == AW_JSON_OBJECT)
            *w->obj = *v;
        else if (w->out && v->kind == AW_JSON_STRING && v->str_len < w->outsz)
            aw_json_string_copy(v, w->out);
    }
}

static bool members(const char *text, size_t len, member_want *w, size_t n)
{
    member_set set = {w, n};
    aw_json_value root;
    aw_json_error err;
    return aw_json_check(text, len, 64, take_member, &set, &root, &err) == 0 &&
           root.kind == AW_JSON_OBJECT;
}

static bool read_reply(const char *text, size_t len, reply_view *r)
{
    memset(r, 0, sizeof *r);
    aw_json_value source = {0}, metadata = {0};
    member_want top[] = {{"completed_at", r->completed_at, sizeof r->completed_at, NULL},
                         {"outcome", r->outcome, sizeof r->outcome, NULL},
                         {"source", NULL, 0, &source},
                         {"metadata", NULL, 0, &metadata}};
    member_want src[] = {{"topic", r->topic, sizeof r->topic, NULL}};
    member_want meta[] = {{"sent_us", r->sent_us, sizeof r->sent_us, NULL},
                          {"warm_up", r->warm_up, sizeof r->warm_up, NULL}};
    return members(text, len, top, 4) && source.text && metadata.text &&
           members(source.text, source.len, src, 1) &&
           members(metadata.text, metadata.len, meta, 2) && r->topic[0] &&
           r->completed_at[0] && r->outcome[0] && r->sent_us[0];
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    series fill = {0}, paced[MAX_PACED] = {{0}};
    size_t n_paced = 0;
    long total = 0;
    static const struct option opts[] = {{"fill", required_argument, NULL, 'f'},
                                         {"paced", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "b:t:n:", opts, NULL)) != -1) {
        if (aw_bench_kafka_opt(c, optarg, &brokers, &topic, &total))
            continue;
        if (c == 'f')
            fill.topic = optarg;
        else if (c == 'p' && n_paced < MAX_PACED)
            paced[n_paced++].topic = optarg;
        else
            return 2;
    }
    if (!brokers || !topic || total <= 0 || !fill.topic) {
        fprintf(stderr, "usage: bench_replies -b B -t REPLY_TOPIC -n TOTAL --fill T "
                        "[--paced T]\n");
        return 2;
    }
    /* The reader's own delay is in no figure (both ends of a latency are
     * times written into the messages, completed_at and sent_us), so it
     * lets the broker gather replies for up to 100 ms per fetch: fetching
     * each few replies as they come cost the broker, on the same two cores
     * as the worker it measures, about a tenth of a core at 5,000/s
     * (docs/performance.md, "The paced load's start"). */
    static const char *const lazy_fetch[] = {"fetch.wait.max.ms", "100", "fetch.min.bytes",
                                             "1048576", NULL};
    rd_kafka_t *rk = aw_bench_consume_topic(brokers, topic, lazy_fetch);
    long got = 0, bad = 0;
    const char *dump_path = getenv("AW_BENCH_REPLIES_DUMP");
    FILE *dump = dump_path ? fopen(dump_path, "w") : NULL;
    if (dump_path && !dump) {
        perror(dump_path);
        return 2;
    }
    int64_t deadline = aw_bench_now_us() + 600 * 1000000LL;
    while (got < total && aw_bench_now_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        got++;
        reply_view r;
        bool ok = read_reply(m->payload, m->len, &r);
        if (ok && r.warm_up[0]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        int64_t at_ms;
        series *s = ok && strcmp(r.topic, fill.topic) == 0 ? &fill : NULL;
        for (size_t i = 0; ok && !s && i < n_paced; i++)
            if (strcmp(r.topic, paced[i].topic) == 0)
                s = &paced[i];
        if (s && aw_time_parse_rfc3339(r.completed_at, &at_ms) == 0) {
            /* completed_at has millisecond resolution: the latency is
             * accurate to 1 ms, enough for figures of several ms. */
            int64_t sent_us = strtoll(r.sent_us, NULL, 10);
            add(s, at_ms * 1000, (double)(at_ms * 1000 - sent_us) / 1000.0, r.outcome);
            if (dump)
                fprintf(dump, "%lld %lld %lld %.1f %s\n", (long long)sent_us, (long long)at_ms,
                        (long long)rd_kafka_message_timestamp(m, NULL),
                        (double)(at_ms * 1000 - sent_us) / 1000.0, r.topic);
        } else {
            bad++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (dump)
        fclose(dump);
    report("fill", &fill);
    for (size_t i = 0; i < n_paced; i++)
        report("paced", &paced[i]);
    if (bad)
        printf("unreadable replies=%ld\n", bad);
    if (got < total) {
        fprintf(stderr, "bench_replies: only %ld of %ld replies in 600 s\n", got, total);
        return 1;
    }
    return 0;
}
