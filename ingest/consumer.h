/* The consumer-group consumer: subscription, rebalances, per-partition
 * completion tracking and offset storage, pause/resume for backpressure.
 *
 * Threading: every function here is called from the one polling thread
 * (the rebalance callback runs inside aw_consumer_poll() on that thread, and
 * calls hooks->drain there too). Nothing is shared with workers: completions
 * reach the polling thread through the runtime, which calls
 * aw_consumer_done(). */
#ifndef AW_CONSUMER_H
#define AW_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "common/aw_error.h"

typedef struct aw_consumer aw_consumer;

typedef struct aw_consumer_hooks {
    /* Called inside the rebalance callback before partitions are let go:
     * feed completions to aw_consumer_done() until
     * aw_consumer_revoking_in_flight() is 0 or the monotonic deadline passes. */
    void (*drain)(void *ud, aw_consumer *c, int64_t deadline_mono_ms);
    /* Told after an assignment change (for logs and metrics), once the
     * consumer's record of what is assigned (aw_consumer_is_assigned) is
     * up to date; may be NULL. */
    void (*assigned)(void *ud, aw_consumer *c, size_t n_partitions);
    /* librdkafka statistics JSON (statistics.interval.ms, default 5 s), on
     * the polling thread; may be NULL. */
    void (*stats)(void *ud, aw_consumer *c, const char *json, size_t len);
    /* When set (transactional mode), called on revoke after drain instead of
     * storing and committing through the consumer: the runtime commits the
     * completed offsets in its transaction. May be NULL. */
    void (*commit)(void *ud, aw_consumer *c);
    /* Called inside the rebalance callback when the assignment was lost
     * (the group went on without us: session timed out), before its
     * partitions are dropped: work polled from them must not start any
     * more provider call. May be NULL. */
    void (*lost)(void *ud);
    /* An offset commit of one partition acknowledged, `age_us` after the
     * first of the offsets it covers was stored (on the polling thread,
     * inside aw_consumer_poll); may be NULL. */
    void (*committed)(void *ud, int64_t age_us);
    /* Called from a librdkafka thread when the consumer queue, empty until
     * then, gets a message or an event to serve: a polling loop that waits
     * elsewhere between polls (aw_consumer_poll with timeout 0) is woken by
     * it. Must not call into the consumer. May be NULL. */
    void (*readable)(void *ud);
    void *ud;
} aw_consumer_hooks;

typedef struct aw_consumer_options {
    const char *brokers;
    const char *group_id;
    const char *client_id;
    char *const *topics;
    size_t n_topics;
    char *const *properties; /* user "key=value" pass-through, applied last */
    size_t n_properties;
    int rebalance_timeout_ms; /* bound on draining revoked partitions */
    bool transactional;       /* offsets go into the producer's transaction:
                                 enable.auto.commit is forced to false and the
                                 consumer never stores or commits */
} aw_consumer_options;

/* Create and subscribe. hooks is copied. */
aw_status aw_consumer_new(const aw_consumer_options *o, const aw_consumer_hooks *hooks,
                          aw_consumer **out, aw_error *err);

/* Poll up to max messages (waiting up to timeout_ms for the first). Each
 * returned message (ownership passes to the caller) is registered as in
 * flight; gens[i] receives its partition's assignment generation, to be
 * passed back to aw_consumer_done(). Consumer errors are logged, not
 * returned. */
size_t aw_consumer_poll(aw_consumer *c, rd_kafka_message_t **msgs, uint32_t *gens, size_t max,
                        int timeout_ms);

/* A message reached its terminal outcome. Stale generations (the partition
 * was revoked or reset meanwhile) are ignored: returns false for them. */
bool aw_consumer_done(aw_consumer *c, const char *topic, int32_t partition, int64_t offset,
                      uint32_t gen);

/* Store (for auto-commit) every partition's committable offset that moved. */
void aw_consumer_store(aw_consumer *c);

/* In-flight messages of partitions being revoked right now. */
size_t aw_consumer_revoking_in_flight(const aw_consumer *c);

/* Pause or resume fetching on every assigned partition (backpressure and
 * shutdown). Also applies to partitions assigned later. */
void aw_consumer_set_paused(aw_consumer *c, bool paused);
bool aw_consumer_paused(const aw_consumer *c);

/* Seek every assigned partition to its current position (the offset after
 * the last message handed out since it was assigned; partitions with none
 * are left alone), which restarts its fetcher: the way out
 * of a fetch that stalled after a pause/resume (librdkafka 2.0.2). Messages
 * prefetched beyond the position are fetched again, none is skipped.
 * Returns how many partitions were sought. Polling thread only. */
int aw_consumer_refetch(aw_consumer *c);

/* Synchronous commit of the stored offsets. */
aw_status aw_consumer_commit(aw_consumer *c, aw_error *err);

/* Leave the group, then close, within timeout_ms. The leave unsubscribes
 * and serves the rebalance callbacks until nothing is assigned and nothing
 * is pending (the final revoke drains and commits), so that no callback of
 * ours runs while librdkafka terminates the group (consumer.c,
 * leave_group). Past the deadline (brokers unreachable) it gives up:
 * destroy then terminates the group without serving any callback. Polling
 * thread. */
void aw_consumer_close(aw_consumer *c, int timeout_ms);
void aw_consumer_destroy(aw_consumer *c);

/* ---- transactional mode -------------------------------------------------- */

/* The committable offset (contiguous done prefix) of every assigned
 * partition that has one; NULL when there is none. Caller destroys. */
rd_kafka_topic_partition_list_t *aw_consumer_committable_list(aw_consumer *c);

/* True when gen is the partition's current generation and it is assigned. */
bool aw_consumer_is_current(aw_consumer *c, const char *topic, int32_t partition, uint32_t gen);

/* For rd_kafka_send_offsets_to_transaction; caller destroys. */
rd_kafka_consumer_group_metadata_t *aw_consumer_group_metadata(aw_consumer *c);

/* After an aborted transaction: seek every assigned partition (not being
 * revoked) back to its committed offset and forget its tracking (a new
 * generation: completions of the aborted work are ignored). */
void aw_consumer_rewind(aw_consumer *c);

/* Number of partitions currently assigned. */
size_t aw_consumer_assigned_count(const aw_consumer *c);

/* True when topic[partition] is assigned to this consumer now. Polling
 * thread only. */
bool aw_consumer_is_assigned(const aw_consumer *c, const char *topic, int32_t partition);

#endif
