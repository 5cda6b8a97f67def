/* Helpers shared by the benchmark programs: a plain librdkafka consumer that
 * reads whole topics from the beginning (no consumer group: nothing to join,
 * nothing committed), and a wall clock in microseconds. */
#ifndef AW_BENCH_KAFKA_H
#define AW_BENCH_KAFKA_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* Wall clock in microseconds (Kafka timestamps and completed_at are wall time). */
int64_t aw_bench_now_us(void);

/* A consumer on brokers with librdkafka's defaults (the worker's too), for
 * manual assignment. Exits the process on failure: benchmark programs have
 * nothing to clean up. */
rd_kafka_t *aw_bench_consumer_new(const char *brokers);

/* Assign every partition of each topic (NULL-terminated list) at the
 * beginning. Returns the number of partitions, exits on failure. */
int aw_bench_assign_all(rd_kafka_t *rk, const char *const *topics);

#endif
