/* What the runtime's files call of each other. Not for other modules.
 *
 * Call graph, one way: runtime.c -> runtime_poll.c -> runtime_txn.c ->
 * runtime_done.c; runtime.c -> runtime_http.c. Every function here runs
 * on the polling thread (aw_runtime_destroy's caller counts as one once
 * the workers are joined), except aw_runtime_start_http, which runs during
 * construction and starts the HTTP thread. */
#ifndef AW_RUNTIME_INTERNAL_H
#define AW_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "worker/runtime.h"

static inline bool aw_runtime_txn_mode(const aw_runtime *rt)
{
    return rt->ctx.cfg->kafka.transactional_replies;
}

/* runtime_done.c: finished jobs back from the workers. */

/* Hand finished jobs (waiting up to timeout_ms for the first) to the offset
 * trackers and free them; in transactional mode a job whose offset was
 * marked done is held (rt->held) until its reply is produced. Returns how
 * many came back. */
size_t aw_runtime_process_done(aw_runtime *rt, int64_t timeout_ms);
/* Append a job to rt->held (transactional mode). */
void aw_runtime_hold(aw_runtime *rt, aw_job *job);
/* Free a job and count it out of the in-flight window. */
void aw_runtime_release_job(aw_runtime *rt, aw_job *job);

/* runtime_txn.c: offsets and transactions. */

/* Non-transactional: store the completed offsets for auto-commit.
 * Transactional: commit the transaction every transaction_interval_ms (or
 * now when forced). */
void aw_runtime_commit_tick(aw_runtime *rt, bool force);
/* The consumer's commit hook in transactional mode (ud is the runtime). */
void aw_runtime_commit_hook(void *ud, aw_consumer *c);
/* Free held jobs of partitions that were revoked, reset or rewound. */
void aw_runtime_drop_stale_held(aw_runtime *rt);

/* runtime.c: write the audit writer's last records and free it, taking it
 * from the HTTP thread's view first (rt->audit_ref). Polling thread, once
 * every worker has joined. */
void aw_runtime_stop_audit_writer(aw_runtime *rt);

/* runtime_poll.c: the loop (aw_runtime_run). */

/* runtime_http.c: the operator endpoint, when http.listen is set. */
aw_status aw_runtime_start_http(aw_runtime *rt, aw_error *err);

#endif
