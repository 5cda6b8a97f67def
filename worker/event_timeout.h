/* The timeouts of state machines (docs/rules.md, "state_machine"), fired
 * by the scheduler (worker/scheduler.c) from its due items of kind
 * AW_EVENT_TIMEOUT_KIND (worker/event_state.h says how they are armed).
 *
 * A fired timeout that moved its event (or finds that it moved it before:
 * a retry after a crash between the move and due_done) becomes a job whose
 * outcome is already decided: state_changed, record id
 * "event:<machine>:<fingerprint>:<born_ms>:<seq>" (born_ms: the event's
 * first move, so that an event forgotten after retention_s and seen again
 * never reuses an id still in the audit trail), the details saying timeout. The
 * pipeline records and replies it like any other (no claim, no provider
 * call: a timeout is a change of state, not an action), and the scheduler
 * removes the item once both are acknowledged. A timeout whose event moved
 * on makes no job: the item is simply removed.
 *
 * The job's action, as the reply and the audit record show it: id = the
 * record id, namespace AW_EVENT_NS, tenant the machine, provider
 * "state_machine", action_type "timeout", payload {machine, fingerprint,
 * from, to, seq}; source: topic AW_EVENT_NS, partition -1, offset the seq.
 *
 * Called on the scheduler's thread with its own state session. */
#ifndef AW_EVENT_TIMEOUT_H
#define AW_EVENT_TIMEOUT_H

#include "backends/state/state.h"
#include "config/config.h"
#include "worker/job.h"
#include "worker/metrics.h"

typedef enum aw_timeout_fired {
    AW_TIMEOUT_JOB,   /* *job: record and reply it, then due_done */
    AW_TIMEOUT_DROP,  /* nothing to record (moved on, or not ours to read):
                         due_done */
    AW_TIMEOUT_RETRY, /* the state backend failed: release for later */
} aw_timeout_fired;

/* Fire the timeout of due item `it` at wall-clock now_ms; a move made now
 * (not one found made before) is counted in metrics. */
aw_timeout_fired aw_event_timeout_fire(const aw_config *cfg, aw_state_session *s,
                                       const aw_due_item *it, int64_t now_ms,
                                       aw_metrics *metrics, aw_job **job);

/* Does any machine of cfg have a timeout (is the kind worth a take)? */
bool aw_event_timeouts_configured(const aw_config *cfg);

#endif
