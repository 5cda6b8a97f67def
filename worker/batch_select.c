#include "worker/batch_select.h"

#include <stdlib.h>
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

/* Does a job before pending[i] have its identity? Every earlier job, the
 * slow way. */
static bool blocked_by_scan(aw_job *const *pending, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (same_identity(pending[k], pending[i]))
            return true;
    return false;
}

/* Earlier jobs' identity hashes, so that each job costs one probe rather
 * than a comparison with every job before it (a batch of 64 from two
 * batches pending was ~2,000 comparisons, 3% of a message's instructions:
 * docs/performance.md). A slot holds 1 + the index of the first job with
 * its hash. */
enum { INLINE_SLOTS = 512 };

typedef struct seen_hashes {
    uint32_t *slot;
    size_t mask;
    uint32_t inline_slot[INLINE_SLOTS];
} seen_hashes;

static bool seen_init(seen_hashes *s, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    s->mask = cap - 1;
    s->slot = NULL; /* seen_free's no-op until a table is taken */
    if (n >= UINT32_MAX) /* slots hold 1 + an index */
        return false;
    s->slot = cap <= INLINE_SLOTS ? s->inline_slot : malloc(cap * sizeof *s->slot);
    if (!s->slot)
        return false;
    memset(s->slot, 0, cap * sizeof *s->slot);
    return true;
}

static void seen_free(seen_hashes *s)
{
    if (s->slot != s->inline_slot)
        free(s->slot);
}

/* Is pending[i] blocked by an earlier job of its identity? Records its hash
 * when it is the first with it. */
static bool seen_blocked(seen_hashes *s, aw_job *const *pending, size_t i)
{
    const aw_job *j = pending[i];
    if (j->rejected)
        return false;
    for (size_t at = (size_t)j->hash & s->mask;; at = (at + 1) & s->mask) {
        uint32_t v = s->slot[at];
        if (v == 0) {
            s->slot[at] = (uint32_t)i + 1;
            return false;
        }
        const aw_job *first = pending[v - 1];
        if (first->hash == j->hash)
            /* The first job of this hash, or (a hash shared by two
             * identities, rare) any other earlier one. */
            return same_identity(first, j) || blocked_by_scan(pending, i);
    }
}

size_t aw_batch_select(aw_job *const *pending, size_t n, aw_job **out, size_t max,
                       int64_t now_mono, int64_t *next_due)
{
    size_t picked = 0;
    *next_due = INT64_MAX;
    seen_hashes seen;
    bool hashed = seen_init(&seen, n);
    for (size_t i = 0; i < n && picked < max; i++) {
        aw_job *j = pending[i];
        if (hashed ? seen_blocked(&seen, pending, i) : blocked_by_scan(pending, i))
            continue;
        if (j->not_before_mono > now_mono) {
            if (j->not_before_mono < *next_due)
                *next_due = j->not_before_mono;
            continue;
        }
        out[picked++] = j;
    }
    seen_free(&seen);
    return picked;
}
