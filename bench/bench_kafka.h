/* Helpers shared by the benchmark programs: a plain librdkafka consumer that
 * reads whole topics from the beginning (no consumer group: nothing to join,
 * nothing committed), a wall clock in microseconds, and the state backend of
 * a worker config. */
#ifndef AW_BENCH_KAFKA_H
#define AW_BENCH_KAFKA_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "backends/state/state.h"
#include "config/config.h"

/* Wall clock in microseconds (Kafka timestamps and completed_at are wall time). */
int64_t aw_bench_now_us(void);

/* A consumer on brokers with librdkafka's defaults (the worker's too), for
 * manual assignment, then props (NULL, or name, value, ..., NULL). Exits the
 * process on failure: benchmark programs have nothing to clean up. */
rd_kafka_t *aw_bench_consumer_new(const char *brokers, const char *const *props);

/* Assign every partition of each topic (NULL-terminated list) at the
 * beginning. Returns the number of partitions, exits on failure. */
int aw_bench_assign_all(rd_kafka_t *rk, const char *const *topics);

/* A consumer on brokers (with props, as above) assigned to all of topic
 * from the beginning. */
rd_kafka_t *aw_bench_consume_topic(const char *brokers, const char *topic,
                                   const char *const *props);

/* The -b BROKERS -t TOPIC -n N options of the Kafka benchmarks: true when
 * getopt's c is one of them (stored; strings point into argv). */
bool aw_bench_kafka_opt(int c, const char *arg, const char **brokers, const char **topic,
                        long *n);

/* The command line of the state benchmarks (bench_backend,
 * bench_state_calls, bench_event_ceiling): -c WORKER_CONFIG -n N
 * [--run-id ID] [--server-pid PID] [--events M].
 * Strings point into argv. Returns 0, or prints usage (prog) and returns 2. */
typedef struct aw_bench_args {
    const char *config, *run_id;
    long n, server_pid; /* server_pid 0: not given */
    long events;        /* --events: 0 when not given */
} aw_bench_args;
int aw_bench_args_parse(int argc, char **argv, const char *prog, aw_bench_args *out);

/* CPU seconds (user + system, all threads) of process pid, from
 * /proc/PID/stat; -1 if unreadable. */
double aw_bench_proc_cpu_s(long pid);

/* Load the worker config at path (*cfg: the caller's, aw_config_destroy)
 * and create its state backend as the worker does (*st: the caller's,
 * aw_state_destroy). Exits the process on failure. */
void aw_bench_open_state(const char *path, aw_config **cfg, aw_state **st);

/* Print "prog: what: err->msg" on stderr and exit 1 (benchmark programs
 * have nothing to clean up). */
_Noreturn void aw_bench_die(const char *prog, const char *what, const aw_error *err);

/* A session of st (the caller closes it). Exits the process on failure. */
aw_state_session *aw_bench_state_session(aw_state *st);

#endif
