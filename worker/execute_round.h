/* The execute phase of one micro-batch (docs/design.md section 2: claim ->
 * execute -> complete), as rounds of concurrent provider calls.
 *
 * A round: wait until the earliest item may make its next attempt, then
 * every such item makes it, all together (aw_provider_execute_many, one
 * call per provider present). Each answer decides: done (success, a
 * non-retriable failure, or the last of max_attempts), or another attempt
 * after an exponential backoff with jitter (the item's next_ms). The caller
 * writes the done records between rounds, so a round starts no call later
 * than start_window_ms after its start: the done record of a call that
 * returned early is not held back by a long tail of calls still to start
 * when nothing writes the records as the answers come.
 *
 * Each answer is booked as it arrives (on_final tells the caller of a final
 * one then), not when the round ends.
 *
 * Before each attempt the gate (may_start) is asked, at the round's start
 * for the whole start window (an item it refuses becomes final without a
 * call: refused, whatever attempts it made) and again, for now, just before
 * the call starts (a refusal then stops the round's starting of calls; the
 * next round's gate refuses the item).
 *
 * Metrics: provider_ms observes every call made, provider_retries counts
 * every retry scheduled (as the one-at-a-time loop did).
 *
 * Threads: an aw_exec belongs to the worker thread that runs the batch,
 * which passes its own provider sessions. */
#ifndef AW_EXECUTE_ROUND_H
#define AW_EXECUTE_ROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_scratch.h"
#include "worker/context.h"
#include "worker/job.h"
#include "worker/provider.h"
#include "worker/provider_set.h"

typedef struct aw_exec_item {
    /* set by aw_exec_add */
    aw_job *job;                /* borrowed */
    int provider;               /* index in the provider set */
    uint64_t token;             /* fencing token of the claim */
    size_t tag;                 /* the caller's own index */
    /* kept by the rounds */
    int attempts;               /* attempts made */
    int64_t next_ms;            /* aw_mono_now_ms(): no attempt before */
    bool final;                 /* res is the outcome, or refused */
    bool refused;               /* final without a call: may_start said no to
                                   its next attempt (res is not an answer) */
    bool booked;                /* its answer of the current round is booked */
    aw_provider_result res;     /* of the last attempt made */
} aw_exec_item;

/* Asked for each item just before a round makes its next attempt: may the
 * call start, given that the round starts its calls no later than
 * start_until_ms (aw_mono_now_ms() scale)? The pipeline answers whether the
 * item's lease is known held until then. */
typedef bool (*aw_exec_gate)(void *ud, const aw_exec_item *it, int64_t start_until_ms);

typedef struct aw_exec {
    aw_exec_item *items;
    size_t n, cap;
    /* scratch of one round, cap entries each */
    aw_provider_call *calls;
    aw_provider_result *res;
    size_t *due;
    size_t *map;                /* call index -> item index, one provider's */
    aw_exec_gate may_start;     /* NULL: every attempt may start */
    /* Optional: told of each item that becomes final by an answer, as soon
     * as it does (while other calls of the round still run), and asked
     * between waits for the longest wait it wants before it is asked again
     * (<= 0: no wish): the pipeline writes done records from it. */
    void (*on_final)(void *ud, const aw_exec_item *it);
    int64_t (*tick)(void *ud);
    void *ud;                   /* of may_start, on_final and tick */
} aw_exec;

/* Room for cap items, taken from s (the worker's per-batch scratch: freed
 * by its reset, nothing to free here). -1 when out of memory. */
int aw_exec_init(aw_exec *x, aw_scratch *s, size_t cap);

/* Add a claimed job (at most cap of them). */
void aw_exec_add(aw_exec *x, aw_job *job, int provider, uint64_t token, size_t tag);

/* Is an item not final yet? */
bool aw_exec_pending(const aw_exec *x);

/* Run one round (see the top). Returns false on a hard stop: then every
 * item that made an attempt is final with its last result ("report what we
 * have"), and an item that made none is left not final: it never started,
 * and the caller gives its lease back. */
bool aw_exec_round(aw_worker_ctx *ctx, aw_provider_sessions *ps, aw_exec *x,
                   int64_t start_window_ms);

#endif
