/* Process metrics, rendered in the Prometheus text format by the HTTP
 * endpoint. Counters, gauges and histograms are lock-free atomics updated
 * from any thread; the per-partition lag table (written by the consumer's
 * statistics callback and re-marked at every assignment change, both on the
 * polling thread; read by the HTTP thread and the fetch-stall watchdog) has
 * its own mutex, lag_lock.
 *
 * Ownership: the metrics own their lag table; the caller owns the aw_metrics
 * (aw_metrics_init / aw_metrics_destroy) and the output buffer of render. */
#ifndef AW_METRICS_H
#define AW_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"
#include "common/aw_outcome.h"

#define AW_HIST_BUCKETS 17

/* Latency histogram in milliseconds (fixed buckets, see metrics.c). */
typedef struct aw_histogram {
    atomic_ulong buckets[AW_HIST_BUCKETS]; /* cumulative at render time */
    atomic_ulong count;
    atomic_ullong sum_us;
} aw_histogram;

void aw_histogram_observe_us(aw_histogram *h, int64_t us);

/* Where a consumed message's time goes, stage by stage (docs/performance.md,
 * "Where a message's time goes"), rendered as acteon_stage_seconds{stage}.
 * Observed on the polling thread: kafka when the message is polled, the
 * job's stages when its job is released (runtime_done.c), paused and
 * refetch at a resume, commit when librdkafka reports an offset commit. */
typedef enum aw_stage {
    AW_STAGE_KAFKA = 0, /* produced (the message's timestamp) -> polled:
                           queued in Kafka, fetched and handed over */
    AW_STAGE_QUEUE,     /* polled -> taken from its worker thread's queue */
    AW_STAGE_PROCESS,   /* taken -> outcome handed on: decode, claim,
                           rules, provider call, done record */
    AW_STAGE_REPLY,     /* handed on -> reply (and DLQ copy) acknowledged
                           by the broker */
    AW_STAGE_AUDIT,     /* handed on -> audit record durable */
    AW_STAGE_ACK,       /* last acknowledgement -> released by the polling
                           thread (its slot in the window free) */
    AW_STAGE_IN_FLIGHT, /* polled -> released: what workers.max_in_flight
                           counts */
    AW_STAGE_COMMIT,    /* offset stored -> committed to the group */
    AW_STAGE_PAUSED,    /* one pause of consumption (window full) */
    AW_STAGE_REFETCH,   /* resume -> the next message polled */
    AW_STAGE_COUNT
} aw_stage;

/* The stage's label value in /metrics. */
const char *aw_stage_name(aw_stage s);

typedef struct aw_partition_lag {
    char topic[250];
    int32_t partition;
    int64_t lag;             /* consumer_lag from librdkafka statistics */
    int64_t committed;
    bool assigned;           /* assigned to this consumer when last marked:
                                only these are exported (see
                                aw_metrics_update_lag) */
} aw_partition_lag;

/* What one rule decided (docs/rules.md), by verdict. */
typedef struct aw_rule_counters {
    char *name;               /* owned copy of the rule's name */
    atomic_ulong suppressed;  /* suppress verdicts */
    atomic_ulong allowed;     /* throttle: counted within the limit */
    atomic_ulong throttled;   /* throttle: over the limit, rejected */
    atomic_ulong delayed;     /* throttle: over the limit, put off to the next
                                 window (on_limit = "delay") */
    atomic_ulong rejected;    /* throttle, lock: key field missing or not a scalar */
    atomic_ulong acquired;    /* lock: taken, the action executes under it */
    atomic_ulong waited;      /* lock: held elsewhere, the action parked */
    atomic_ulong timed_out;   /* lock: waited longer than max_wait_ms */
    atomic_ulong moved;       /* state_machine: the transition made, executed */
    atomic_ulong refused;     /* state_machine: no transition, suppressed */
    atomic_ulong grouped;     /* group: joined a group (its members) */
    atomic_ulong groups_opened; /* group: of those, the first of a new group */
} aw_rule_counters;

/* The moves of one state machine's events (docs/rules.md, "state_machine"),
 * by (from, to): an n_states x n_states matrix indexed by the states'
 * positions in the machine's `states`. */
struct aw_machine_config;
typedef struct aw_machine_counters {
    const struct aw_machine_config *machine; /* borrowed: the config outlives
                                                the metrics */
    atomic_ulong *moves;                     /* owned, [from * n + to] */
} aw_machine_counters;

/* Whether topic[partition] is assigned to this consumer now (the consumer's
 * own record). Called with lag_lock held: must not call back into the
 * metrics. */
typedef bool (*aw_lag_assigned_fn)(void *ud, const char *topic, int32_t partition);

typedef struct aw_metrics {
    atomic_ulong consumed;
    atomic_ulong outcomes[AW_OUTCOME_COUNT];
    atomic_ulong dlq_delivered;
    atomic_ulong replies_delivered;
    atomic_ulong delivery_failures;
    atomic_ulong state_retries;
    atomic_ulong audit_retries;
    atomic_ulong audit_records;    /* newly stored (duplicates not counted) */
    atomic_ulong audit_batches;
    atomic_ulong audit_refused;    /* refused for good */
    atomic_ulong provider_retries;
    atomic_ulong lease_busy_waits;
    atomic_ulong recorder_writes;  /* done-record writes of the recorder */
    atomic_ulong throttle_counts;  /* throttle counters incremented (rules) */
    /* Scheduled actions (docs/scheduling.md; the `scheduled` outcome is
     * counted in outcomes[]): */
    atomic_ulong due_taken;        /* due items taken by this replica's scheduler */
    atomic_ulong due_done;         /* ... whose execution reached its outcome
                                      and was removed from the index */
    atomic_ulong due_released;     /* ... offered again (identity busy,
                                      abandoned, reply failed) */
    atomic_ulong due_lost;         /* ... whose lease ran out before due_done
                                      (another replica re-takes it) */
    atomic_ulong due_dropped;      /* unreadable items removed (logged) */
    /* The due index's pool of scheduled actions (kind AW_SCHEDULE_KIND), as
     * the state backend's due_stats saw it. Written by the scheduler thread
     * only (worker/scheduler.c, at most once per
     * schedule.stats_interval_ms), read by the HTTP thread (render): the
     * values are stored first, then due_stats_seen, so a render that sees
     * due_stats_seen sees values of some refresh (the three may come from
     * two consecutive refreshes). due_stats_seen stays false, and the
     * gauges absent from /metrics, without a scheduler, with the interval
     * 0, or with a backend that has no due_stats. */
    atomic_bool due_stats_seen;
    atomic_ullong due_pool_items;  /* every item of the pool: waiting + leased */
    atomic_ullong due_pool_waiting; /* due and not leased */
    atomic_llong due_oldest_lag_ms; /* refresh's now - the oldest waiting
                                       item's due time; 0 when none */
    /* State machines' timeouts (docs/rules.md), among those due items: */
    atomic_ulong event_timeouts_fired;    /* moved their event (recorded) */
    atomic_ulong event_timeouts_moved_on; /* found the event moved on: nothing */
    /* Chains (docs/rules.md, "chain"), counted where the chain's record
     * changed by this replica's hand (so once across replicas): */
    atomic_ulong chains_started;   /* records created by a trigger */
    atomic_ulong chains_completed; /* ended, the last step not failed */
    atomic_ulong chains_failed;    /* ended, aborted by a failed step */
    atomic_ulong chain_steps;      /* step runs recorded in their chain */
    /* Group rules' flushes (docs/rules.md, "group"), among those due items: */
    atomic_ulong groups_closed;           /* a group closed by this replica's
                                             flush (its one call follows) */
    atomic_ulong rebalances;
    atomic_long assigned_partitions;
    atomic_int paused;
    aw_histogram claim_ms, complete_ms, audit_ms, provider_ms, end_to_end_ms;
    aw_histogram record_lag;    /* a call's answer -> its done record written */
    aw_histogram recorder_queue; /* done records waiting for a recorder thread */
    aw_histogram throttle_ms;   /* throttle counter increments (rules) */
    aw_histogram lock_ms;       /* lock rules' lock_acquire round trips */
    aw_histogram event_move_ms; /* state_machine rules' moves (reads and
                                   compare-and-swaps, races included) */
    aw_histogram chain_start_ms; /* chain rules' starts (record read and
                                    created, due item put) */
    aw_histogram group_join_ms; /* group rules' joins (reads, marker and
                                   compare-and-swaps, races included) */
    aw_histogram due_put_ms;    /* due_put round trips (scheduling) */
    aw_histogram due_take_ms;   /* due_take round trips (the scheduler) */
    aw_histogram stages[AW_STAGE_COUNT];

    /* Per configured rule, in the configuration's order (index = the rule's
     * index); NULL without rules or until aw_metrics_init_rules(). Set
     * before the worker threads start, fixed afterwards. */
    aw_rule_counters *rules;
    size_t n_rules;
    /* Per configured state machine, set up like rules (NULL until
     * aw_metrics_init_machines()). */
    aw_machine_counters *machines;
    size_t n_machines;

    pthread_mutex_t lag_lock;   /* guards lags, n_lags, cap_lags and every
                                   entry's fields */
    aw_partition_lag *lags;
    size_t n_lags, cap_lags;
} aw_metrics;

int aw_metrics_init(aw_metrics *m);
void aw_metrics_destroy(aw_metrics *m);

/* Counters for n rules named names[0..n) (copied). 0, or -1 when out of
 * memory (then none). Once, before the worker threads start. */
int aw_metrics_init_rules(aw_metrics *m, const char *const *names, size_t n);

/* Counters for the n machines at `machines` (the configuration's, borrowed):
 * 0, or -1 when out of memory (nothing set up). */
int aw_metrics_init_machines(aw_metrics *m, const struct aw_machine_config *machines, size_t n);

/* Count one move of machine mc's event from state `from` to `to` (any
 * thread); no-op for a machine or state without counters. */
void aw_metrics_count_move(aw_metrics *m, const struct aw_machine_config *mc, const char *from,
                           const char *to);

/* Sum of the positive per-partition lags of the last statistics (0 when
 * none were seen yet). Any thread. */
int64_t aw_metrics_total_lag(aw_metrics *m);

/* Replace the lag table from a librdkafka statistics JSON document, marking
 * each partition with assigned(ud, ...). librdkafka keeps reporting a
 * partition this consumer lost (revoked or lost assignment) with the lag it
 * had when it stopped fetching and committing it, for good: such a series
 * is kept in the table (the fetch-stall watchdog looks at it) but not
 * exported, so /metrics never shows a frozen lag for a partition another
 * consumer owns. Polling thread (the statistics callback). */
void aw_metrics_update_lag(aw_metrics *m, const char *stats_json, size_t len,
                           aw_lag_assigned_fn assigned, void *ud);

/* Re-mark every partition of the lag table after an assignment change, so a
 * revoked partition's series leaves /metrics at once rather than at the
 * next statistics. Polling thread. */
void aw_metrics_mark_assigned(aw_metrics *m, aw_lag_assigned_fn assigned, void *ud);

/* Extra gauges the runtime knows (in flight, last loop tick). */
typedef struct aw_metrics_gauges {
    long in_flight;
    long max_in_flight;
    long in_flight_bytes;
    long max_in_flight_bytes;
    long audit_queue_depth;
    long audit_queue_capacity;
} aw_metrics_gauges;

/* Append the Prometheus exposition text to out: acteon_consumer_lag has a
 * series for each partition assigned now, none for the others. Any
 * thread. */
int aw_metrics_render(aw_metrics *m, const aw_metrics_gauges *g, aw_buf *out);

#endif
