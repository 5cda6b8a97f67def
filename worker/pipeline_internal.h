/* What the files of the pipeline share (not for other callers):
 *   pipeline.c          prepare, claim, finish, hand off; aw_pipeline_run
 *   pipeline_execute.c  rounds of provider calls behind the lease gate
 *   pipeline_records.c  the done records: written as the answers come
 *   pipeline_rules.c    rules: verdicts at prepare, throttle counts after
 *                       the claim (only when rules are configured)
 *   pipeline_lock.c     lock rules: the lock taken after the claim, parked
 *                       while held elsewhere, released after the record
 *   pipeline_machine.c  state_machine rules: the event moved after the
 *                       claim, the provider executed only if allowed
 *   pipeline_schedule.c scheduled actions: a future not_before is put in
 *                       the due index (outcome `scheduled`) before the claim
 *   pipeline_chain.c    chain rules: the chain's record and due item made
 *                       after the claim (outcome `chain_started`)
 *   pipeline_group.c    group rules: the member joins its group after the
 *                       claim (outcome `grouped`, no provider call)
 *
 * Threads: everything here runs on the worker thread that owns the
 * pipeline; a batch and its items live in the pipeline's scratch for one
 * aw_pipeline_run. Only the done-record submissions are shared, with the
 * recorder's threads (worker/recorder.h says how). */
#ifndef AW_PIPELINE_INTERNAL_H
#define AW_PIPELINE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"
#include "worker/pipeline.h"
#include "worker/recorder.h"

/* Per-job scratch of one batch. */
typedef struct item {
    aw_job *job;
    int provider;           /* index in the provider set */
    bool finished;          /* reached an outcome (or abandoned) this round */
    bool executed;          /* the provider ran: complete must follow */
    bool submitted;         /* its done record is with the recorder */
    bool completed;         /* its complete was sent (done record or stale) */
    bool no_details;        /* no memory for details that cannot default to {} */
    bool schedule;          /* a future not_before: to be put in the due index
                               (pipeline_schedule.c) instead of claimed */
    uint64_t token;
    uint64_t lease;         /* the lease keeper's handle of our lease, 0 = none */
    aw_outcome outcome;
    aw_buf details;         /* owned: the details object as compact JSON text,
                               written where the outcome is decided; empty
                               (read as {}) when out of memory */
    int64_t attempts;
    int64_t answered_us;    /* aw_mono_now_us() when the outcome was known */
    const aw_rule_config *throttle; /* the throttle rule that matched, or NULL */
    const char *throttle_key;       /* its rendered key (in the scratch) */
    int64_t delay_until_ms;         /* over a delaying throttle's limit: to be
                                       put in the due index for then (wall
                                       ms; pipeline_schedule.c), 0 = not */
    const aw_rule_config *lock;     /* the lock rule that matched, or NULL */
    const char *lock_key;           /* its rendered key (in the scratch) */
    uint64_t lock_token;            /* the lock held, 0 = none */
    uint64_t lock_handle;           /* the lease keeper's handle of the lock, 0 = none */
    const aw_rule_config *applied;  /* the rule whose verdict applied (the audit
                                       record's `rule`), NULL = none: set where
                                       it decides, not where it merely matched */
    const aw_rule_config *machine;  /* the state_machine rule that matched, or NULL */
    const char *fingerprint;        /* its rendered fingerprint (in the scratch) */
    struct aw_event_move *move;     /* the transition made (in the scratch), NULL
                                       until pipeline_machine.c made or found it */
    bool move_retried;              /* the move was an earlier attempt's */
    const aw_rule_config *chain;    /* the chain rule that matched, or NULL */
    const aw_rule_config *group;    /* the group rule that matched, or NULL */
    const char *group_key;          /* its rendered group_by (in the scratch) */
    const char *group_id;           /* the group it joined (in the scratch), NULL
                                       until pipeline_group.c joined it */
} item;

/* The leases taken by one batch, registered with the lease keeper as one
 * group: renewed from the claim until the done records are written (the
 * wait for a turn in the batch, the provider call, complete retries through
 * a backend outage). */
typedef struct lease_group {
    uint64_t first; /* keeper handle of the first, 0 = none registered */
    size_t n;
} lease_group;

/* One hand-over of done records to the recorder, and which items they are. */
typedef struct submission {
    aw_record_batch rb;     /* rb.items: its records, in the scratch */
    size_t *idx;            /* item index of each record */
    bool harvested;         /* its results were booked */
    struct submission *next;
} submission;

/* One batch on its way through the steps. */
typedef struct batch {
    aw_pipeline *p;
    aw_worker_ctx *ctx;
    item *items;
    size_t n;
    lease_group leases;
    int64_t oldest_unrecorded; /* answer time of the oldest executed item
                                  neither recorded nor submitted; 0 = none */
    int64_t leases_held_until; /* earliest held_until of the batch's leases,
                                  as last looked up */
    submission *submissions;   /* handed to the recorder, newest first */
    size_t n_throttle;         /* items with a throttle rule (rules configured) */
    size_t n_lock;             /* items with a lock rule (rules configured) */
    size_t n_machine;          /* items with a state_machine rule */
    size_t n_chain;            /* items with a chain rule */
    size_t n_group;            /* items with a group rule */
    size_t n_schedule;         /* items to put in the due index */
    size_t n_delay;            /* of the throttled, those to put off */
    bool submit_failed;        /* a submission failed: no other one for
                                  RESUBMIT_PAUSE_MS (no attempt every few ms
                                  through an outage); the end of the round
                                  writes what is left */
    int64_t submit_failed_ms;  /* aw_mono_now_ms() when it was found */
} batch;

/* The state key of a job's identity. */
aw_state_key aw_pipeline_job_key(const aw_job *j);

/* Finish a rejected item (its job's reject filled): outcome, details. */
void aw_pipeline_reject(item *it);

/* One backend round trip of a batch, retried by aw_pipeline_with_retry(). */
typedef aw_status (*aw_pipeline_call)(aw_state_session *s, void *items, size_t n,
                                      aw_error *err);

/* What a retried call reports to: its name in logs, its retry counter and
 * its latency histogram. */
typedef struct aw_call_site {
    const char *what;
    atomic_ulong *retries;
    aw_histogram *latency;
} aw_call_site;

/* Run a backend call until it succeeds or fails for good (pipeline.c). */
bool aw_pipeline_with_retry(aw_pipeline *p, const aw_call_site *site, aw_pipeline_call call,
                            void *items, size_t n);

/* Execute and complete (pipeline_execute.c): false when the state backend
 * failed for good or a hard stop came. */
bool aw_pipeline_execute(batch *b);

/* The item's lease is no longer ours (pipeline_execute.c). */
void aw_pipeline_give_up_lease(batch *b, item *it);
/* Give the item's dedup lease back before anything ran under it (best
 * effort: it expires anyway) and stop renewing it; `whose` says in the
 * debug log what it was (pipeline_execute.c). */
void aw_pipeline_release_lease(batch *b, item *it, const char *whose);

/* Rules (pipeline_rules.c), used only when rules are configured: the
 * verdict of a prepared item (suppressed, rejected for a key field, or a
 * throttle to count), and the counting of the throttled items whose claim
 * was acquired (false when the state backend failed for good). */
void aw_pipeline_rules_prepare(batch *b, item *it);
/* The rule's counters on /metrics; NULL when they were not set up. */
aw_rule_counters *aw_pipeline_rule_counters(batch *b, const aw_rule_config *r);
bool aw_pipeline_throttle(batch *b);

/* Lock rules (pipeline_lock.c), used only for items with a lock rule:
 * take the locks of the items whose claim was acquired (parking, or timing
 * out, those held elsewhere; false when the state backend failed for good);
 * is the item's lock known held until start_until_ms (true without one);
 * give the item's lock back (after its done record is written, or when the
 * item is given up; no-op without one). */
bool aw_pipeline_lock(batch *b);
bool aw_pipeline_lock_held(batch *b, const item *it, int64_t start_until_ms);
void aw_pipeline_lock_release(batch *b, item *it);
/* The lock's state key: ns "acteon.rules", tenant the rule name, kind "lock". */
aw_state_key aw_pipeline_lock_key(const item *it);
/* State machine rules (pipeline_machine.c), used only for items with a
 * state_machine rule: after the claim, move each acquired item's event
 * (made: the provider executes, outcome state_changed; refused: outcome
 * suppressed, with a done record); false when the state backend failed for
 * good. And the move's part of an executed item's outcome. */
bool aw_pipeline_machine(batch *b);
void aw_pipeline_machine_executed(item *it, bool ok);
/* Chain rules (pipeline_chain.c), used only for items with a chain rule:
 * after the claim, start each acquired item's chain (outcome
 * chain_started, with a done record); false when the state backend failed
 * for good. */
bool aw_pipeline_chain(batch *b);
/* Group rules (pipeline_group.c), used only for items with a group rule:
 * after the claim, each acquired item joins its group (outcome grouped,
 * with a done record; nothing executes); false when the state backend
 * failed for good. */
bool aw_pipeline_group(batch *b);
/* The audit record's group_id of a finished member (owned by the caller),
 * or NULL: the group it joined now, or, redelivered, the one the details
 * of its done record name. (A group's call has its own from its job.) */
char *aw_pipeline_group_record_id(const item *it, const char *details);
/* Scheduled actions (pipeline_schedule.c): at prepare, whether a valid
 * item is to be scheduled (set it->schedule, or reject it when scheduling
 * is unavailable); then put every such item in the due index, each
 * finishing `scheduled` (false when the state backend failed for good or
 * it is time to give up: the batch is abandoned). */
void aw_pipeline_schedule_prepare(batch *b, item *it, int64_t now_ms);
bool aw_pipeline_schedule(batch *b);
/* The items a delaying throttle put off (delay_until_ms set, not
 * finished), put in the due index like scheduled actions, each finishing
 * `scheduled` with the throttle's details; false as aw_pipeline_schedule. */
bool aw_pipeline_delay(batch *b);

/* The done records (pipeline_records.c). */
void aw_records_answered(batch *b);             /* an item became executed */
int64_t aw_records_tick(batch *b);              /* while calls run */
bool aw_records_write(batch *b);                /* between rounds: all of them */

#endif
