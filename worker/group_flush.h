/* The flushes of group rules (docs/rules.md, "group"), fired by the
 * scheduler (worker/scheduler.c) from its due items of kind
 * AW_GROUP_FLUSH_KIND (worker/group_state.h says how they are put).
 *
 * A fired flush closes its group (its member list becomes final) and
 * becomes the grouped call: a job claimed, executed and recorded like any
 * action, so the claim gives the flush its exactly-once and its fencing
 * token. A flush taken again after a crash (its due lease ran out) finds
 * the group closed and makes the same job: the claim answers DONE when the
 * first call completed (no second call), else it calls again with a
 * higher fencing token. Rules do not judge it (its members were judged).
 *
 * The job's action: id the group id (or "group:<16 hex digits>", a hash of
 * it, when longer than an action id may be), namespace AW_GROUP_NS,
 * tenant the rule, provider and action_type the rule's group_provider and
 * group_action_type or else the first member's, payload
 * {group_id, rule, key, size, members:[{id, identity, record_id, payload}]};
 * record id "group:<group id>"; source: topic AW_GROUP_NS, partition -1,
 * offset the generation. Outcome
 * group_flushed (failed when the provider failed), details "group":
 * {id, size, members:[ids]}.
 *
 * Called on the scheduler's thread with its own state session. */
#ifndef AW_GROUP_FLUSH_H
#define AW_GROUP_FLUSH_H

#include "backends/state/state.h"
#include "config/config.h"
#include "worker/event_timeout.h"
#include "worker/job.h"
#include "worker/metrics.h"

/* Fire the flush of due item `it` at wall-clock now_ms: AW_TIMEOUT_JOB with
 * *job, AW_TIMEOUT_DROP (no such group any more: expired, or its rule
 * removed) or AW_TIMEOUT_RETRY (the state backend failed, or the item was
 * due early: *retry_at_ms, the caller's next look, is then made no later
 * than the window's end).
 * A group closed now (not by an earlier attempt) is counted in metrics. */
aw_timeout_fired aw_group_flush_fire(const aw_config *cfg, aw_state_session *s,
                                     const aw_due_item *it, int64_t now_ms, aw_metrics *metrics,
                                     aw_job **job, int64_t *retry_at_ms);

/* The flush job's outcome once its provider answered (ok: it succeeded):
 * group_flushed or failed, and "group" appended to the details object at
 * details[start..]. */
int aw_group_flush_details(const aw_job *j, aw_buf *details, size_t start);

#endif
