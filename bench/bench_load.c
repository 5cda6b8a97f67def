/* Produce N benchmark actions to a topic, keyed like `acteon-worker produce`
 * (by dedup identity, so one identity stays on one partition).
 *
 *   bench_load -b BROKERS -t TOPIC -n N [--prefix P] [--rate PER_S]
 *              [--provider NAME] [--unique] [--payload-bytes B]
 *              [--not-before-s S] [--group-size K] [--events M] [--warm-up-s S]
 *
 * Every 10th action repeats the identity of the action 5 before it (10%
 * duplicates, each seen after its original was produced) unless --unique.
 * Provider "noop" unless --provider names another (bench/run.sh
 * slow-webhook: "webhook").
 * --payload-bytes B pads the action's payload object (its JSON text, the
 * part a producer controls) to exactly B bytes with a "pad" string field
 * (bench/run.sh payload); without it the payload is about 70 bytes and the
 * whole action about 290.
 * --group-size K adds "host":"h<i / K>" to the payload (bench/run.sh group:
 * a group rule's group_by {payload.host} makes groups of K).
 * --not-before-s S gives every action a `not_before` S seconds after the
 * start of the load (docs/scheduling.md: each is put in the due index and
 * answered `scheduled`; bench/run.sh rules, case "scheduled").
 * --events M makes a state-machine load (bench/bench_events.h, bench/run.sh
 * machine): unique actions, action i concerns event i % M (payload field
 * "event", "e<event>") with the action_type of its round, and is keyed by
 * its event so that one partition holds an event's actions in order
 * (docs/rules.md; the producer is idempotent for that); it also prints how many actions move their event when
 * each event's actions are applied in order (moves=).
 * metadata.sent_us is the wall time of the produce call, in microseconds:
 * bench_replies subtracts it from the reply's completed_at (the Kafka
 * CreateTime of the message is the same instant, but replies do not carry
 * it). --rate paces the load (open loop) for the latency phase; without it
 * the topic is filled as fast as the producer goes. Prints the produce rate.
 * --warm-up-s S (with --rate) first sends S seconds of actions at the same
 * rate from the same producer, ids "<prefix>w-<i>" and metadata "warm_up":
 * "1", which bench_replies leaves out of its figures: the paced load then
 * stands for a producer that has been running. A new producer's first
 * seconds against a broker that serves the worker's fetches are slow (its
 * produce requests queue at the broker, up to 0.7 s, for 1-3 s), and that
 * start was most of a 10 s phase's p99 (docs/performance.md, "The paced
 * load's start"). Not counted in N. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "bench/bench_events.h"
#include "bench/bench_kafka.h"
#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "ingest/action.h"

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err) {
        fprintf(stderr, "bench_load: delivery failed: %s\n", rd_kafka_err2str(m->err));
        exit(1);
    }
    (*(long *)opaque)++;
}

/* Sleep until t when it is more than a millisecond away: a paced load goes
 * out in bursts of about 1 ms (the producer's linger.ms batches them so
 * anyway), and costs a sleep per millisecond rather than per action (at
 * 5,000/s a sleep per action was 0.26 of a core, half of it in the kernel:
 * the load generator shares the cores with what it measures). Each
 * action's sent_us is still the time it was produced. */
static void sleep_until_us(int64_t t)
{
    int64_t d = t - aw_bench_now_us();
    if (d > 1000) {
        struct timespec ts = {.tv_sec = d / 1000000, .tv_nsec = (d % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Close the payload object in p (its text so far has no closing brace),
 * padded to exactly `bytes` bytes when bytes > 0. Returns -1 if the
 * unpadded payload is already longer, or on allocation failure. */
static int pad_payload(aw_buf *p, size_t bytes)
{
    static const char field[] = ",\"pad\":\"\"}";
    if (bytes == 0)
        return aw_buf_puts(p, "}");
    size_t fixed = p->len + sizeof(field) - 1;
    if (bytes < fixed)
        return -1;
    if (aw_buf_puts(p, ",\"pad\":\"") != 0 || aw_buf_reserve(p, bytes - fixed + 3) != 0)
        return -1;
    for (size_t k = 0; k < bytes - fixed; k++)
        p->data[p->len++] = (char)('a' + k % 26);
    p->data[p->len] = '\0';
    return aw_buf_puts(p, "\"}");
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL, *prefix = "b", *provider = "noop";
    long n = 0, payload_bytes = 0, not_before_s = 0, group_size = 0, events = 0, moves = 0;
    double warm_up_s = 0;
    bool unique = false;
    double rate = 0;
    static const struct option opts[] = {{"prefix", required_argument, NULL, 'p'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"provider", required_argument, NULL, 'P'},
                                         {"unique", no_argument, NULL, 'u'},
                                         {"payload-bytes", required_argument, NULL, 'B'},
                                         {"not-before-s", required_argument, NULL, 'N'},
                                         {"group-size", required_argument, NULL, 'G'},
                                         {"events", required_argument, NULL, 'E'},
                                         {"warm-up-s", required_argument, NULL, 'W'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "b:t:n:", opts, NULL)) != -1) {
        if (aw_bench_kafka_opt(c, optarg, &brokers, &topic, &n))
            continue;
        if (c == 'p')
            prefix = optarg;
        else if (c == 'r')
            rate = atof(optarg);
        else if (c == 'P')
            provider = optarg;
        else if (c == 'u')
            unique = true;
        else if (c == 'B')
            payload_bytes = atol(optarg);
        else if (c == 'N')
            not_before_s = atol(optarg);
        else if (c == 'G')
            group_size = atol(optarg);
        else if (c == 'E')
            events = atol(optarg);
        else if (c == 'W')
            warm_up_s = atof(optarg);
        else
            return 2;
    }
    if (!brokers || !topic || n <= 0 || payload_bytes < 0 || payload_bytes > 16 << 20 ||
        not_before_s < 0 || group_size < 0 || events < 0 || warm_up_s < 0 ||
        (warm_up_s > 0 && (rate <= 0 || events))) {
        fprintf(stderr, "usage: bench_load -b BROKERS -t TOPIC -n N [--prefix P] [--rate R] "
                        "[--provider NAME] [--unique] [--payload-bytes B (<= 16 MiB)] "
                        "[--not-before-s S] [--group-size K] [--events M] "
                        "[--warm-up-s S (with --rate, not --events)]\n");
        return 2;
    }
    /* One due time for the whole load: the field is the same text in
     * every action, so it costs nothing per action here. */
    char not_before[80] = "";
    if (not_before_s > 0) {
        char at[40];
        aw_time_format_rfc3339(aw_time_now_ms() + not_before_s * 1000, at, sizeof at);
        snprintf(not_before, sizeof not_before, "\"not_before\":\"%s\",", at);
    }
    char errstr[256];
    long acked = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", rate > 0 ? "1" : "5", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", errstr,
                          sizeof(errstr))) {
        fprintf(stderr, "bench_load: %s\n", errstr);
        return 1;
    }
    /* An event's actions must reach their partition in order: without
     * idempotence a retried produce request can land after a later one
     * (seen on the real broker under load: up to 1% of a load reordered). */
    if (events && rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr,
                                    sizeof(errstr))) {
        fprintf(stderr, "bench_load: %s\n", errstr);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, &acked);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "bench_load: %s\n", errstr);
        return 1;
    }
    aw_buf key = {0}, payload = {0}, line = {0};
    long warm = (long)(warm_up_s * rate);
    char warm_prefix[256];
    snprintf(warm_prefix, sizeof warm_prefix, "%sw", prefix);
    int64_t t0 = aw_bench_now_us(), t_measured = t0;
    for (long k = 0; k < warm + n; k++) {
        if (rate > 0)
            sleep_until_us(t0 + (int64_t)((double)k * 1e6 / rate));
        /* The warm-up's actions, then the N measured ones, each numbered
         * from 0 (the same pattern of repeated identities). */
        bool warming = k < warm;
        long i = warming ? k : k - warm;
        if (k == warm)
            t_measured = aw_bench_now_us();
        long ident = !unique && !events && i % 10 == 9 ? i - 5 : i;
        const char *type = events ? aw_bench_event_type(i, events) : "notify";
        aw_buf_reset(&payload);
        aw_buf_reset(&line);
        if (aw_buf_printf(&payload,
                          "{\"n\":%ld,\"to\":\"user%ld@example.com\",\"subject\":\"benchmark action\"",
                          i, ident) != 0 ||
            (group_size && aw_buf_printf(&payload, ",\"host\":\"h%ld\"", ident / group_size)) ||
            (events && aw_buf_printf(&payload, ",\"event\":\"e%ld\"",
                                     aw_bench_event_of(i, events)) != 0) ||
            pad_payload(&payload, (size_t)payload_bytes) != 0 ||
            aw_buf_printf(&line,
                          "{\"id\":\"%s-%ld\",\"namespace\":\"bench\",\"tenant\":\"t%ld\","
                          "\"provider\":\"%s\",\"action_type\":\"%s\",%s\"payload\":%s,"
                          "\"metadata\":{\"sent_us\":\"%" PRId64 "\"%s}}",
                          warming ? warm_prefix : prefix, ident, ident % 8, provider, type,
                          not_before, payload.data, aw_bench_now_us(),
                          warming ? ",\"warm_up\":\"1\"" : "") != 0) {
            fprintf(stderr, "bench_load: cannot build action %ld (payload of %ld bytes: the "
                            "smallest is about 70)\n",
                    i, payload_bytes);
            aw_buf_free(&key);
            aw_buf_free(&payload);
            aw_buf_free(&line);
            rd_kafka_destroy(rk);
            return 1;
        }
        aw_action a;
        aw_reject rej;
        if (aw_action_decode(line.data, line.len, 0, &a, &rej) != 0) {
            fprintf(stderr, "bench_load: generated an invalid action: %s\n", rej.detail);
            return 1;
        }
        aw_buf_reset(&key);
        if (events) {
            moves += aw_bench_event_moves(i, events);
            aw_buf_printf(&key, "e%ld", aw_bench_event_of(i, events));
        } else {
            aw_action_identity(&a, &key);
        }
        aw_action_clear(&a);
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(key.data, key.len), RD_KAFKA_V_VALUE(line.data, line.len),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (e) {
                fprintf(stderr, "bench_load: produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    double s = (double)(aw_bench_now_us() - t_measured) / 1e6;
    if (acked != warm + n) {
        fprintf(stderr, "bench_load: %ld of %ld acknowledged\n", acked, warm + n);
        return 1;
    }
    printf("produced=%ld seconds=%.3f rate=%.0f", n, s, (double)n / s);
    if (events)
        printf(" events=%ld moves=%ld", events, moves);
    printf("\n");
    aw_buf_free(&key);
    aw_buf_free(&payload);
    aw_buf_free(&line);
    rd_kafka_destroy(rk);
    return 0;
}
