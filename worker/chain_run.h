/* Running chains (docs/rules.md, "chain"): the scheduler
 * (worker/scheduler.c) takes the due items of kind AW_CHAIN_KIND (one per
 * chain run, worker/chain_state.h) and, for each, makes the job of what
 * comes next:
 *  - while the run is going: its current step, an action of its own
 *    (id "<chain id>:<step>", "#<n>" appended for the n-th run of the
 *    step; namespace and tenant the trigger's; provider and action_type
 *    the step's; payload its template rendered), claimed, executed and
 *    audited and replied by the ordinary pipeline (so replay rebuilds its
 *    record; docs/messages.md). Its answer body is
 *    kept in its done record's details ("result"), so a replica that finds
 *    the step done (its claim answers DONE) continues with the same result
 *    without calling again. Audit record id "chain:<chain id>:<step>[#n]".
 *  - once it ended: the end, a job whose outcome is decided
 *    (chain_completed or chain_failed, details listing every run), recorded
 *    and replied like a state machine's timeout, record id
 *    "chain:<chain id>:end"; its action: the trigger's namespace, tenant,
 *    reply_to and metadata, provider "chain", action_type "chain_end".
 * Once a step's job is acknowledged, aw_chain_settle books its outcome and
 * result in the record by compare-and-swap (progress stored after every
 * step) and the item is released to be taken again at once; once the end
 * is acknowledged the item is removed. A killed replica's item is taken by
 * another when its lease runs out, which continues from the record.
 *
 * A payload that cannot be rendered (a value missing, not a JSON object)
 * books a failed run of the step, its "error" saying why, without a job:
 * nothing is called, claimed or audited.
 *
 * Called on the scheduler's thread with its own state session. */
#ifndef AW_CHAIN_RUN_H
#define AW_CHAIN_RUN_H

#include "backends/state/state.h"
#include "config/config.h"
#include "worker/job.h"
#include "worker/metrics.h"

typedef enum aw_chain_next {
    AW_CHAIN_JOB,   /* *job: run it, then aw_chain_settle */
    AW_CHAIN_AGAIN, /* progress booked without a job: release, take at once */
    AW_CHAIN_DROP,  /* nothing more to do (ended and replied, expired, or not
                       ours to read): due_done */
    AW_CHAIN_RETRY, /* the state backend failed: release for later */
} aw_chain_next;

aw_chain_next aw_chain_next_job(const aw_config *cfg, aw_state_session *s, const aw_due_item *it,
                                int64_t now_ms, aw_metrics *metrics, aw_job **job);

/* Book an acknowledged job j of item it: AGAIN (a step booked, or booked
 * already by an earlier holder), DROP (the end was replied) or RETRY. */
aw_chain_next aw_chain_settle(const aw_config *cfg, aw_state_session *s, const aw_due_item *it,
                              const aw_job *j, int64_t now_ms, aw_metrics *metrics);

#endif
