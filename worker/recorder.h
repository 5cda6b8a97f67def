/* Writes done records off the worker threads (docs/operations.md,
 * "Crashes").
 *
 * While a batch's provider calls still run, its worker thread hands the done
 * records of the calls answered so far to the recorder and goes straight
 * back to its calls. A recorder thread writes them, merged with whatever
 * other worker threads handed in meanwhile, in one aw_state_complete_batch
 * round trip. With several recorder threads a write is not held back by
 * another one still under way (while a thread is free), so a record leaves
 * the worker within the completion linger of its answer even when the state
 * backend takes longer than that to answer, and the worker thread itself
 * never waits for a write while its calls run.
 *
 * One attempt per submission: a failure (backend unreachable, no session)
 * is reported, nothing is known written, and the submitter writes those
 * records itself, retrying with backoff (worker/pipeline_execute.c).
 *
 * Ownership: a submission (aw_record_batch), its items and every string they
 * point to are the submitter's and must stay valid, and untouched except for
 * reads, until aw_recorder_done()/aw_recorder_wait() say it is done. The
 * recorder owns its threads and their state sessions.
 *
 * Threads and locks: every function is thread-safe. The recorder's mutex
 * guards its queue and the `done`, `rc`, `done_us` and `next` fields of every
 * submission; a recorder thread writes the items' `stale` results before it
 * marks the submission done under the mutex, and the submitter reads them
 * after seeing it done under the same mutex. */
#ifndef AW_RECORDER_H
#define AW_RECORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "backends/state/state.h"
#include "worker/backend_health.h"
#include "worker/metrics.h"

typedef struct aw_recorder aw_recorder;

/* One submission: the done records of some answered calls. */
typedef struct aw_record_batch {
    aw_complete *items;             /* the submitter's; stale filled in */
    size_t n;
    /* the recorder's (its mutex): */
    bool done;
    aw_status rc;                   /* once done: AW_OK (every item written or
                                       stale), else nothing is known written */
    int64_t done_us;                /* once done: aw_mono_now_us() then */
    int64_t submitted_us;           /* set by aw_recorder_submit */
    struct aw_record_batch *next;   /* queue link */
} aw_record_batch;

typedef struct aw_recorder_options {
    aw_state *state;                /* borrowed: each thread opens a session */
    int threads;                    /* >= 1 */
    aw_backend_health *health;      /* borrowed: told of every write's result */
    aw_histogram *latency;          /* borrowed: each write's duration */
    aw_histogram *queued;           /* borrowed: each submission's wait for a
                                       thread (submit -> write sent) */
    atomic_ulong *writes;           /* borrowed: counts the round trips */
} aw_recorder_options;

aw_status aw_recorder_start(const aw_recorder_options *o, aw_recorder **out, aw_error *err);

/* Stop and join the threads. Submissions still queued are failed (a
 * submitter waiting for one is woken). NULL is accepted. */
void aw_recorder_stop(aw_recorder *r);

/* Queue b (b->items, b->n set) for writing; returns at once. */
void aw_recorder_submit(aw_recorder *r, aw_record_batch *b);

/* Is b done (b->rc set)? Never blocks on a write. */
bool aw_recorder_done(aw_recorder *r, aw_record_batch *b);

/* Wait until b is done. With cancel_queued, a b that no thread has taken
 * yet is taken out of the queue and failed (AW_TRANSIENT) at once: a
 * stopping worker does not wait for writes behind others. A write under way
 * always runs to its end (bounded by the state backend's request timeout). */
void aw_recorder_wait(aw_recorder *r, aw_record_batch *b, bool cancel_queued);

#endif
