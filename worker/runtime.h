/* The running service: consumer, worker pool, producer, backends.
 *
 * Threads (and the file that runs each):
 *  - the polling thread, the caller of aw_runtime_run (runtime_poll.c; its
 *    transactions in runtime_txn.c, finished jobs in runtime_done.c): owns
 *    the consumer, the offset trackers, dispatch and the fields marked
 *    "polling thread only"; frees finished jobs;
 *  - N worker threads (worker.c, pipeline.c): claim, execute, complete,
 *    reply; they see only rt->ctx (context.h);
 *  - the scheduler thread (scheduler.c): runs due scheduled actions through
 *    its own pipeline; it too sees only rt->ctx;
 *  - audit.writers audit writer threads (audit_writer.c);
 *  - the producer's delivery thread (outcome_delivery.c);
 *  - the HTTP endpoint's thread (runtime_http.c): atomics only, plus the
 *    fields marked "HTTP thread only";
 *  - the lease keeper thread; the memory backends' reaper threads.
 * No lock of the runtime's own: shared fields are atomics (or rt->ctx's,
 * documented there); everything else is immutable after aw_runtime_new()
 * returns or belongs to the one thread named on it.
 *
 * The functions below run on the caller's thread, which becomes the polling
 * thread in aw_runtime_run; aw_runtime_stop may be called from any thread
 * or a signal handler.
 *
 * Ownership: the runtime owns everything it builds (backends, providers,
 * producer, keeper, workers, consumer, endpoint) and every job in flight;
 * it borrows cfg. */
#ifndef AW_RUNTIME_H
#define AW_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/audit/audit.h"
#include "config/config.h"
#include "ingest/consumer.h"
#include "worker/context.h"
#include "worker/http_endpoint.h"
#include "worker/job.h"
#include "worker/route_map.h"
#include "worker/scheduler.h"
#include "worker/worker.h"

typedef struct aw_runtime {
    aw_worker_ctx ctx;           /* what the worker threads share */
    const char *brokers;         /* effective bootstrap (embedded or configured) */
    aw_audit *audit;             /* NULL when audit is disabled */
    aw_consumer *consumer;       /* polling thread only */
    aw_worker *workers;
    size_t n_workers;
    bool dispatch_by_key;        /* aw_config_dispatch_by_key, set at start */
    aw_route_map routes;         /* polling thread only: the worker holding
                                    each identity's (or key's) jobs in flight */
    aw_scheduler *scheduler;     /* NULL when scheduling is unavailable;
                                  stopped (and NULL again) by the polling
                                  thread before the workers are joined */

    atomic_long in_flight;       /* jobs alive (consumed, not yet freed) */
    atomic_llong in_flight_bytes; /* their messages' bytes (aw_job.window_bytes) */
    int64_t full_since_us;       /* polling thread only: since when the window
                                    is full with no job released (0: not full) */
    atomic_bool stopping;        /* graceful stop requested */
    aw_http_endpoint *http;      /* NULL when http.listen is empty */
    pthread_mutex_t audit_ref;   /* guards ctx.audit_writer between the HTTP
                                    thread (/metrics reads its depth) and the
                                    stop that frees it */
    atomic_llong last_tick_mono; /* polling loop heartbeat, for /healthz */
    int64_t paused_at_us;        /* polling thread only: the pause under way
                                    (monotonic us), 0 when none */
    int64_t resumed_at_us;       /* polling thread only: the last resume not
                                    yet followed by a message, 0 when none */
    aw_state_session *probe;     /* HTTP thread only: /readyz's own state session */
    int64_t probe_at_mono;       /* HTTP thread only: last probe */

    /* kafka.transactional_replies (runtime_txn.c), polling thread only: */
    aw_job *held;                /* done jobs (offset marked, audit durable)
                                    whose reply is not produced yet */
    aw_job **held_tail;
    long n_held;
    rd_kafka_topic_partition_list_t *txn_last; /* offsets of the last commit */
    int64_t next_txn_mono;       /* next periodic commit */
    bool txn_fatal;              /* stop, commit nothing */
    unsigned long txn_commits, txn_aborts;
} aw_runtime;

/* Build everything from cfg (borrowed; must outlive the runtime). brokers
 * overrides cfg->kafka.brokers when non-NULL (the embedded cluster). */
aw_status aw_runtime_new(const aw_config *cfg, const char *brokers, aw_runtime **out,
                         aw_error *err);

/* Have fn called with each outcome (see aw_outcome_fn). Before
 * aw_runtime_run. */
void aw_runtime_set_outcome_hook(aw_runtime *rt, aw_outcome_fn fn, void *ud);

/* Consume until aw_runtime_stop(); then drain within
 * workers.shutdown_timeout_ms, commit and return. */
aw_status aw_runtime_run(aw_runtime *rt, aw_error *err);

/* Async-signal-safe: first call drains gracefully, second gives up waiting. */
void aw_runtime_stop(aw_runtime *rt);

void aw_runtime_destroy(aw_runtime *rt);

#endif
