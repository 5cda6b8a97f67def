/* The running service: consumer, worker pool, producer, backends.
 *
 * Threads:
 *  - the polling thread (the caller of aw_runtime_run): owns the consumer,
 *    the offset trackers and dispatch; frees finished jobs;
 *  - N worker threads (worker.c): claim, execute, complete, reply;
 *  - audit.writers audit writer threads (audit_writer.c): batched records;
 *  - the producer's delivery thread: reports reply/DLQ deliveries;
 *  - the lease keeper thread; the memory backends' reaper threads.
 * Shared fields are documented on the struct; the rest is immutable after
 * aw_runtime_new() returns. */
#ifndef AW_RUNTIME_H
#define AW_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/audit/audit.h"
#include "backends/state/state.h"
#include "common/aw_outcome.h"
#include "config/config.h"
#include "ingest/consumer.h"
#include "worker/job.h"
#include "worker/job_queue.h"
#include "worker/audit_writer.h"
#include "worker/http_endpoint.h"
#include "worker/lease_keeper.h"
#include "worker/metrics.h"
#include "worker/producer.h"
#include "worker/provider_set.h"

typedef struct aw_runtime aw_runtime;

/* Called on a worker thread when a message reaches its outcome (before the
 * acknowledgements): `dev` prints it. Must be thread-safe. */
typedef void (*aw_outcome_fn)(void *ud, const aw_audit_record *rec);

typedef struct aw_worker aw_worker;

struct aw_runtime {
    const aw_config *cfg;        /* borrowed, immutable */
    const char *brokers;         /* effective bootstrap (embedded or configured) */
    aw_state *state;
    aw_audit *audit;             /* NULL when audit is disabled */
    aw_audit_writer *audit_writer; /* NULL when audit is disabled */
    aw_provider_set *providers;
    aw_producer *producer;
    aw_lease_keeper *keeper;
    aw_consumer *consumer;       /* polling thread only */
    aw_worker *workers;
    size_t n_workers;
    aw_outcome_fn on_outcome;
    void *on_outcome_ud;

    /* Finished jobs on their way back to the polling thread. */
    aw_job_queue done;

    atomic_long in_flight;       /* jobs alive (consumed, not yet freed) */
    atomic_bool stopping;        /* graceful stop requested */
    atomic_bool hard_stop;       /* second signal: give up waiting */
    aw_metrics metrics;          /* atomics; see metrics.h */
    aw_http_endpoint *http;      /* NULL when http.listen is empty */
    atomic_llong last_tick_mono; /* polling loop heartbeat, for /healthz */
    atomic_bool state_ok;        /* last state call succeeded, for /readyz */
    atomic_bool audit_ok;        /* last audit call succeeded, for /readyz */
    atomic_llong state_down_since; /* mono ms of the first failure, 0 = up */
    aw_state_session *probe;     /* HTTP thread only: /readyz's own state session */
    int64_t probe_at_mono;       /* HTTP thread only: last probe */
    atomic_llong audit_down_since;

    /* kafka.transactional_replies (see runtime.c, "transactions"). */
    atomic_ulong txn_send_failures; /* failed sends of the open transaction */
    aw_job *held;                /* polling thread only: done jobs (offset marked,
                                    audit durable) whose reply is not produced yet */
    aw_job **held_tail;
    long n_held;
    rd_kafka_topic_partition_list_t *txn_last; /* offsets of the last commit */
    int64_t next_txn_mono;       /* polling thread only: next periodic commit */
    bool txn_fatal;              /* polling thread only: stop, commit nothing */
    unsigned long txn_commits, txn_aborts; /* polling thread only */
};

/* Build everything from cfg (borrowed; must outlive the runtime). brokers
 * overrides cfg->kafka.brokers when non-NULL (the embedded cluster). */
aw_status aw_runtime_new(const aw_config *cfg, const char *brokers, aw_runtime **out,
                         aw_error *err);

/* Consume until aw_runtime_stop(); then drain within
 * workers.shutdown_timeout_ms, commit and return. */
aw_status aw_runtime_run(aw_runtime *rt, aw_error *err);

/* Async-signal-safe: first call drains gracefully, second gives up waiting. */
void aw_runtime_stop(aw_runtime *rt);

void aw_runtime_destroy(aw_runtime *rt);

/* Called by a worker (or the delivery thread) when one acknowledgement of
 * the job arrived; the last one hands the job back to the polling thread. */
void aw_runtime_job_ack(aw_runtime *rt, aw_job *job);

/* Record whether a backend ("state", "audit") answered, for /readyz, and
 * log the transitions once each: "down" with the reason, "up again" with
 * how long it was down. Any thread. */
void aw_runtime_backend_seen(aw_runtime *rt, const char *which, atomic_bool *flag, bool ok,
                             const char *why);

#endif
