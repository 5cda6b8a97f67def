/* The Kafka ceiling: how fast a plain librdkafka consumer (defaults, manual
 * assignment, no processing) reads N messages of a topic from the beginning,
 * on the same machine and broker as the worker run it is compared with.
 *
 *   bench_consume -b BROKERS -t TOPIC -n N
 *
 * The clock starts at the first message, so connection set-up is excluded,
 * as it is from the worker's figure. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench/bench_kafka.h"

int main(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    long n = 0;
    int c;
    while ((c = getopt(argc, argv, "b:t:n:")) != -1) {
        if (!aw_bench_kafka_opt(c, optarg, &brokers, &topic, &n))
            return 2;
    }
    if (!brokers || !topic || n <= 0) {
        fprintf(stderr, "usage: bench_consume -b BROKERS -t TOPIC -n N\n");
        return 2;
    }
    rd_kafka_t *rk = aw_bench_consume_topic(brokers, topic, NULL);
    long got = 0, bytes = 0;
    int64_t first = 0, deadline = aw_bench_now_us() + 120 * 1000000LL;
    while (got < n && aw_bench_now_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            if (!got)
                first = aw_bench_now_us();
            got++;
            bytes += (long)m->len;
        }
        rd_kafka_message_destroy(m);
    }
    double s = (double)(aw_bench_now_us() - first) / 1e6;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (got < n) {
        fprintf(stderr, "bench_consume: only %ld of %ld messages in 120 s\n", got, n);
        return 1;
    }
    printf("consumed=%ld bytes=%ld seconds=%.3f rate=%.0f\n", got, bytes, s,
           (double)(got - 1) / s);
    return 0;
}
