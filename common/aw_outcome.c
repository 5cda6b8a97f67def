#include "common/aw_outcome.h"

#include <string.h>

static const char *const names[AW_OUTCOME_COUNT] = {
    [AW_OUTCOME_EXECUTED] = "executed",
    [AW_OUTCOME_FAILED] = "failed",
    [AW_OUTCOME_DEDUPLICATED] = "deduplicated",
    [AW_OUTCOME_REJECTED] = "rejected",
    [AW_OUTCOME_SUPPRESSED] = "suppressed",
    [AW_OUTCOME_THROTTLED] = "throttled",
    [AW_OUTCOME_SCHEDULED] = "scheduled",
    [AW_OUTCOME_STATE_CHANGED] = "state_changed",
    [AW_OUTCOME_CHAIN_STARTED] = "chain_started",
    [AW_OUTCOME_CHAIN_COMPLETED] = "chain_completed",
    [AW_OUTCOME_CHAIN_FAILED] = "chain_failed",
    [AW_OUTCOME_GROUPED] = "grouped",
    [AW_OUTCOME_GROUP_FLUSHED] = "group_flushed",
};

const char *aw_outcome_name(aw_outcome o)
{
    return (unsigned)o < AW_OUTCOME_COUNT ? names[o] : "unknown";
}

bool aw_outcome_parse(const char *s, aw_outcome *out)
{
    for (int i = 0; s && i < AW_OUTCOME_COUNT; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (aw_outcome)i;
            return true;
        }
    }
    return false;
}
