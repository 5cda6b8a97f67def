/* What the worker side of the runtime shares: everything a worker thread,
 * an audit writer's acknowledgement or the producer's delivery thread
 * reads, and nothing of the polling thread's own state (consumer, offsets,
 * transactions, the HTTP endpoint). The runtime (runtime.h) embeds one and
 * fills it before the first worker starts.
 *
 * Ownership: the runtime creates and frees every member; the worker code
 * borrows the context for its lifetime.
 *
 * Threads and locks:
 *  - cfg, state, providers, producer, keeper, recorder, audit_writer,
 *    schedule_unavailable, on_outcome and on_outcome_ud are set before the worker threads start and not changed
 *    while they run (audit_writer is cleared once every worker has joined);
 *    the objects they point to are thread-safe (their own locks) or, for
 *    state and providers, hand each thread its own session;
 *  - done has its own lock (job_queue.h); metrics, the health flags,
 *    hard_stop, stop_deadline and txn_send_failures are atomics.
 *
 * Stopping: the first signal sets stop_deadline (aw_ctx_begin_stop, safe in
 * a signal handler); every wait and retry loop of the worker side gives up
 * at that deadline (aw_ctx_give_up, aw_ctx_sleep) or at once on hard_stop
 * (second signal), and a loop that has no work left (a session open with
 * nothing queued) gives up as soon as the stop begins. */
#ifndef AW_CONTEXT_H
#define AW_CONTEXT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/audit/audit_types.h"
#include "backends/state/state.h"
#include "config/config.h"
#include "worker/audit_writer.h"
#include "worker/backend_health.h"
#include "worker/job_queue.h"
#include "worker/lease_keeper.h"
#include "worker/metrics.h"
#include "worker/producer.h"
#include "worker/provider_set.h"
#include "worker/recorder.h"

/* Called on a worker thread when a message reaches its outcome (before the
 * acknowledgements): `dev` prints it. Must be thread-safe. */
typedef void (*aw_outcome_fn)(void *ud, const aw_audit_record *rec);

typedef struct aw_worker_ctx {
    const aw_config *cfg;           /* borrowed, immutable */
    aw_state *state;                /* each thread opens its own session */
    aw_provider_set *providers;     /* read-only; sessions per thread */
    aw_producer *producer;          /* replies and DLQ copies */
    aw_lease_keeper *keeper;        /* renews the leases of running calls */
    aw_recorder *recorder;          /* writes done records while calls run;
                                       NULL: only between rounds */
    aw_audit_writer *audit_writer;  /* NULL when audit is disabled */
    /* Why actions with a future not_before cannot be scheduled (they are
     * then rejected naming the field: docs/scheduling.md), NULL when they
     * can. A static string. */
    const char *schedule_unavailable;
    aw_outcome_fn on_outcome;       /* NULL: nobody listens */
    void *on_outcome_ud;

    aw_job_queue done;              /* finished jobs, back to the polling thread
                                       (aw_job_queue_ack) */
    aw_metrics metrics;             /* atomics; see metrics.h */
    aw_backend_health state_health; /* for /readyz */
    aw_backend_health audit_health;
    atomic_bool hard_stop;          /* second signal: give up waiting */
    atomic_uint lost_epoch;         /* bumped by the polling thread when the
                                       assignment is lost: jobs polled before
                                       start no provider call any more */
    /* mono ms at which a stop gives up waiting (workers.shutdown_timeout_ms
     * after the first signal); 0 while running. */
    atomic_llong stop_deadline;
    /* kafka.transactional_replies: failed sends of the open transaction
     * (delivery thread adds, polling thread takes). */
    atomic_ulong txn_send_failures;
} aw_worker_ctx;

/* Begin a stop bounded by timeout_ms from now, unless one began already.
 * Returns the stop's deadline (mono ms). Any thread, and signal handlers
 * (clock_gettime and lock-free atomics only). */
int64_t aw_ctx_begin_stop(aw_worker_ctx *ctx, int64_t timeout_ms);

/* A stop has begun (its deadline is set). Any thread. */
static inline bool aw_ctx_stopping(aw_worker_ctx *ctx)
{
    return atomic_load(&ctx->stop_deadline) != 0;
}

/* Stop waiting and retrying: a hard stop, or the stop's deadline passed.
 * Work given up then stays uncommitted (redelivered). Any thread. */
bool aw_ctx_give_up(aw_worker_ctx *ctx);

/* Sleep up to ms, waking early when it is time to give up (aw_ctx_give_up).
 * Returns false then. Any thread. */
bool aw_ctx_sleep(aw_worker_ctx *ctx, int64_t ms);

#endif
