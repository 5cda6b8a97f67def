/* The terminal outcomes of a consumed message (docs/design.md section 1;
 * suppressed and throttled: docs/rules.md; scheduled: docs/scheduling.md;
 * state_changed: docs/rules.md, "state_machine"; grouped, group_flushed:
 * docs/rules.md, "group"). */
#ifndef AW_OUTCOME_H
#define AW_OUTCOME_H

#include <stdbool.h>

typedef enum aw_outcome {
    AW_OUTCOME_EXECUTED = 0,
    AW_OUTCOME_FAILED,
    AW_OUTCOME_DEDUPLICATED,
    AW_OUTCOME_REJECTED,
    AW_OUTCOME_SUPPRESSED, /* a rule said: do not execute */
    AW_OUTCOME_THROTTLED,  /* a rule's rate limit was reached */
    AW_OUTCOME_SCHEDULED,  /* not_before is in the future: stored in the due
                              index, executed later (docs/scheduling.md); the
                              one outcome a second (final) outcome follows */
    AW_OUTCOME_STATE_CHANGED, /* a state_machine rule moved an event from one
                                 state to another (docs/rules.md) */
    AW_OUTCOME_CHAIN_STARTED,   /* a chain rule started a chain (docs/rules.md) */
    AW_OUTCOME_CHAIN_COMPLETED, /* a chain's end: every step run, the last
                                   one not failed */
    AW_OUTCOME_CHAIN_FAILED,    /* a chain's end: a step failed and aborted it */
    AW_OUTCOME_GROUPED,       /* a group rule added the action to a group, which
                                 executes later as one call (docs/rules.md) */
    AW_OUTCOME_GROUP_FLUSHED, /* a group's one call executed (docs/rules.md) */
    AW_OUTCOME_COUNT
} aw_outcome;

/* "executed", "failed", "deduplicated", "rejected", "suppressed", "throttled",
 * "scheduled", "state_changed", "chain_started", "chain_completed",
 * "chain_failed", "grouped", "group_flushed".
 * Never NULL. */
const char *aw_outcome_name(aw_outcome o);
/* Return true and set *out when s names an outcome. */
bool aw_outcome_parse(const char *s, aw_outcome *out);

#endif
