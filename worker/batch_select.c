#include "worker/batch_select.h"

#include <string.h>

/* Same identity as an earlier job? Rejected jobs have no identity. */
static bool same_identity(const aw_job *a, const aw_job *b)
{
    if (a->rejected || b->rejected || a->hash != b->hash)
        return false;
    return strcmp(a->action.ns, b->action.ns) == 0 &&
           strcmp(a->action.tenant, b->action.tenant) == 0 &&
           strcmp(aw_action_key(&a->action), aw_action_key(&b->action)) == 0;
}

size_t aw_batch_select(aw_job *const *pending, size_t n, aw_job **out, size_t max,
                       int64_t now_mono, int64_t *next_due)
{
    size_t picked = 0;
    *next_due = INT64_MAX;
    for (size_t i = 0; i < n && picked < max; i++) {
        aw_job *j = pending[i];
        bool blocked = false;
        /* Pending lists hold at most two batches (plus the jobs parked on
         * a lock rule's lock: worker.c), so the quadratic scan is a few
         * thousand hash comparisons at worst without lock rules. */
        for (size_t k = 0; k < i && !blocked; k++)
            blocked = same_identity(pending[k], j);
        if (blocked)
            continue;
        if (j->not_before_mono > now_mono) {
            if (j->not_before_mono < *next_due)
                *next_due = j->not_before_mono;
            continue;
        }
        out[picked++] = j;
    }
    return picked;
}
