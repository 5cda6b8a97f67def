/* The scheduler: runs scheduled actions (not_before) when they are due
 * (docs/scheduling.md). One per replica, on its own thread, with its own
 * state and provider sessions and its own pipeline.
 *
 * A round: due_take up to schedule.batch_size items of the pool
 * (kafka.group_id, AW_SCHEDULE_KIND) due by now, each leased for
 * schedule.lease_ms; each becomes a job (aw_job_new_scheduled: a copy of the
 * original message, same topic/partition/offset) run through the ordinary
 * pipeline (claim/complete dedup, rules, provider, reply, audit); once its
 * acknowledgements are in (audit durable, reply delivered: the job's `home`
 * is the scheduler's queue, not the polling thread's, and there is no offset
 * to commit), due_done removes the item. An item whose identity is leased
 * elsewhere, or whose job was abandoned or whose reply failed, is released
 * for a later take instead. While the round runs, the lease keeper
 * (context.h) keeps the items' due leases alive (due_extend at a third of
 * schedule.lease_ms), so a round longer than the lease keeps its items; an
 * item whose renewal was refused (lost: another replica may hold it) is
 * neither done nor released by this one, counted in due_lost and logged
 * once per round. A crash between take and done leaves the item
 * leased: the lease runs out, another replica takes it with a higher
 * token, and the dedup claim answers DONE if it had completed (the same
 * source coordinates: the original outcome is replied again, nothing
 * runs twice).
 *
 * State machines' timeouts (worker/event_timeout.h) share the rounds: when
 * a machine has timeouts, each round also takes the pool's items of kind
 * AW_EVENT_TIMEOUT_KIND; each fires (moves its event, or finds it moved
 * on) and, if it moved, becomes a job with its outcome already decided that
 * the same pipeline records and replies; the item is removed once that is
 * acknowledged, exactly as for a scheduled action.
 *
 * Cost while nothing is due: one due_take every schedule.poll_ms. A full
 * take is followed by another at once.
 *
 * Gauges: a round first refreshes the due index's gauges (metrics.h,
 * due_pool_*) with one due_stats when schedule.stats_interval_ms has
 * passed since the last refresh by the round's now_ms (0 = never; a
 * backend without due_stats leaves them absent).
 *
 * Threads: aw_scheduler_start/stop on the runtime's thread; everything
 * else on the scheduler's thread (or, in tests, the caller's, through
 * aw_scheduler_round). The context is borrowed and must outlive the
 * scheduler; its audit writer and producer must stay alive until
 * aw_scheduler_stop returned (the round in progress waits for their
 * acknowledgements). */
#ifndef AW_SCHEDULER_H
#define AW_SCHEDULER_H

#include <stdint.h>

#include "common/aw_error.h"
#include "worker/context.h"

typedef struct aw_scheduler aw_scheduler;

/* Why this configuration cannot schedule actions (a static string), or
 * NULL when it can: the state backend has no due-time index (ClickHouse),
 * or kafka.transactional_replies is on (a scheduled job's reply has no
 * offset to join a transaction with). Then actions with a future
 * not_before are rejected naming the field, and no scheduler runs. One
 * rule for `run` and `config check`. Pure. */
const char *aw_scheduler_unavailable(const aw_config *cfg);

/* A scheduler for ctx, not started: no session open yet. */
aw_status aw_scheduler_new(aw_worker_ctx *ctx, aw_scheduler **out, aw_error *err);

/* Start the thread: it opens its sessions (retrying while the backends are
 * unreachable) and runs rounds until aw_scheduler_stop or a stop of ctx. */
aw_status aw_scheduler_start(aw_scheduler *s, aw_error *err);

/* One round on the caller's thread at wall-clock now_ms, opening the
 * sessions first if needed (and refreshing the gauges when due): returns the number of items taken (-1 when a
 * session could not be opened or due_take failed; logged). Tests call it
 * directly, on a scheduler not started. */
int aw_scheduler_round(aw_scheduler *s, int64_t now_ms);

/* Ask the thread to stop after its round in progress, wait for it, close
 * the sessions and free. NULL is a no-op. */
void aw_scheduler_stop(aw_scheduler *s);

#endif
