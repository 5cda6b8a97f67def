/* The polling thread: the consumer loop (aw_runtime_run), dispatch to the
 * workers, backpressure, the fetch-stall watchdog and the shutdown drain.
 * Everything here runs on the polling thread; the consumer hooks run inside
 * its aw_consumer_poll. */
#include "worker/runtime_internal.h"

#include <limits.h>
#include <pthread.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "ingest/action.h"

#define POLL_BATCH 512

/* How long the window may stay full with no job finishing before fetching
 * pauses. While jobs finish, a full window just stops taking messages:
 * librdkafka's prefetch (bounded by queued.max.messages.kbytes) waits in
 * its queue and is taken as room appears, with no fetch restarted. A pause
 * drops that prefetch, and the fetch after the resume costs a broker round
 * trip or more (the "refetch" stage), so it is kept for a stall, where it
 * also lets the group protocol's events behind the prefetch be served. */
#define STALL_PAUSE_MS 1000

/* How long the loop waits for a finished job or the consumer queue when
 * neither had anything: a bound on how late a timer-driven step (commit
 * tick, backpressure, progress log) can be, not a cadence of the work. */
#define IDLE_WAIT_MS 20
/* What orders a job: its identity (the default: one identity's messages in
 * order), or its message's Kafka key (workers.dispatch: one key's messages
 * in their partition's order; a thread judges its jobs in the order it
 * gets them). */
static uint64_t route_hash_of(const aw_runtime *rt, const aw_job *j)
{
    const rd_kafka_message_t *m = j->msg;
    if (rt->dispatch_by_key && m->key && m->key_len)
        return aw_identity_hash("", 0, "", 0, m->key, m->key_len);
    return j->hash;
}

/* The thread with the fewest jobs given and not handed on (counting those
 * of this dispatch not pushed yet), the first of those: a lightly loaded
 * worker keeps its threads few and their batches large. */
static size_t least_loaded(const aw_runtime *rt)
{
    size_t best = 0;
    long best_load = LONG_MAX;
    for (size_t k = 0; k < rt->n_workers; k++) {
        const aw_worker *w = &rt->workers[k];
        long load = atomic_load(&w->load) + (long)w->out_n;
        if (load < best_load) {
            best = k;
            best_load = load;
        }
    }
    return best;
}

/* The worker for job j: the one holding its identity's jobs in flight,
 * else the thread the poll's current chunk goes to (*chunk_left jobs of
 * workers.batch_size left before the least loaded is picked again). */
static size_t route(aw_runtime *rt, aw_job *j, size_t *cur, size_t *chunk_left)
{
    if (rt->n_workers == 1)
        return 0;
    uint64_t h = route_hash_of(rt, j);
    long held = aw_route_map_find(&rt->routes, h);
    size_t k;
    if (held >= 0) {
        k = (size_t)held;
    } else {
        if (!*chunk_left) {
            *cur = least_loaded(rt);
            *chunk_left = (size_t)rt->ctx.cfg->workers.batch_size;
        }
        k = *cur;
        (*chunk_left)--;
    }
    /* Out of memory with the map full: routed uncounted, so a later job of
     * the identity may go to another thread while this one runs. */
    if (aw_route_map_add(&rt->routes, h, (uint32_t)k) == 0) {
        j->route_hash = h;
        j->routed = true;
    }
    return k;
}

/* Route the polled messages (route()), one queue append per worker. */
static void dispatch(aw_runtime *rt, rd_kafka_message_t **msgs, uint32_t *gens, size_t n)
{
    size_t nw = rt->n_workers, cur = 0, chunk_left = 0;
    if (!n)
        return;
    int64_t now_us = aw_mono_now_us(), wall_ms = aw_time_now_ms();
    aw_histogram *in_kafka = &rt->ctx.metrics.stages[AW_STAGE_KAFKA];
    for (size_t i = 0; i < n; i++) {
        int64_t produced_ms = rd_kafka_message_timestamp(msgs[i], NULL);
        if (produced_ms > 0)
            aw_histogram_observe_us(in_kafka, (wall_ms - produced_ms) * 1000);
        aw_job *j = aw_job_new(msgs[i], gens[i], (size_t)rt->ctx.cfg->ingest.max_message_bytes);
        if (j) {
            j->lost_epoch = atomic_load(&rt->ctx.lost_epoch);
            j->polled_us = now_us;
            j->window_bytes = (int64_t)(msgs[i]->len + msgs[i]->key_len);
            atomic_fetch_add(&rt->in_flight_bytes, j->window_bytes);
        }
        if (!j) {
            /* Out of memory: leave it in flight (never committed); it is
             * redelivered after a restart. */
            AW_ERROR("runtime", "out of memory: dropping message from memory");
            rd_kafka_message_destroy(msgs[i]);
            continue;
        }
        atomic_fetch_add(&rt->in_flight, 1);
        atomic_fetch_add(&rt->ctx.metrics.consumed, 1);
        aw_worker *w = &rt->workers[route(rt, j, &cur, &chunk_left)];
        j->next = NULL;
        if (w->out_tail)
            w->out_tail->next = j;
        else
            w->out_head = j;
        w->out_tail = j;
        w->out_n++;
    }
    for (size_t k = 0; k < nw; k++) {
        aw_worker *w = &rt->workers[k];
        if (!w->out_n)
            continue;
        atomic_fetch_add(&w->load, (long)w->out_n);
        aw_job_queue_push_list(&w->queue, w->out_head, w->out_tail, w->out_n);
        w->out_head = w->out_tail = NULL;
        w->out_n = 0;
    }
}

static void drain_hook(void *ud, aw_consumer *c, int64_t deadline)
{
    aw_runtime *rt = ud;
    /* A stop's bound also ends a revoke's wait (the revoke at close). */
    while (aw_consumer_revoking_in_flight(c) > 0 && !aw_ctx_give_up(&rt->ctx)) {
        int64_t left = deadline - aw_mono_now_ms();
        if (left <= 0)
            break;
        aw_runtime_process_done(rt, left < 100 ? left : 100);
    }
}

/* aw_lag_assigned_fn over the consumer's own record (polling thread). */
static bool lag_assigned(void *ud, const char *topic, int32_t partition)
{
    return aw_consumer_is_assigned(ud, topic, partition);
}

static void assigned_hook(void *ud, aw_consumer *c, size_t n_partitions)
{
    aw_runtime *rt = ud;
    atomic_fetch_add(&rt->ctx.metrics.rebalances, 1);
    atomic_store(&rt->ctx.metrics.assigned_partitions, (long)n_partitions);
    /* A revoked (or lost) partition's lag leaves /metrics now, not at the
     * next statistics. */
    aw_metrics_mark_assigned(&rt->ctx.metrics, lag_assigned, c);
}

/* The group went on without us: work already polled must not start a
 * provider call (its lease may be taken over by the partition's new owner). */
static void lost_hook(void *ud)
{
    aw_runtime *rt = ud;
    atomic_fetch_add(&rt->ctx.lost_epoch, 1);
}

static void readable_hook(void *ud)
{
    aw_runtime *rt = ud;
    aw_job_queue_wake(&rt->ctx.done);
}

static void committed_hook(void *ud, int64_t age_us)
{
    aw_runtime *rt = ud;
    aw_histogram_observe_us(&rt->ctx.metrics.stages[AW_STAGE_COMMIT], age_us);
}

static void stats_hook(void *ud, aw_consumer *c, const char *json, size_t len)
{
    aw_runtime *rt = ud;
    aw_metrics_update_lag(&rt->ctx.metrics, json, len, lag_assigned, c);
}

/* How many messages the window has room for now: 0 when full. Counted in
 * messages (workers.max_in_flight) and in bytes: before it is polled a
 * message's size is unknown, so only as many are taken as would fit were
 * each of the largest accepted size (ingest.max_message_bytes; the config
 * check makes the bound hold at least one). Larger ones (rejected by size)
 * are the only overshoot. */
static size_t window_room(const aw_runtime *rt)
{
    const aw_config *cfg = rt->ctx.cfg;
    long room = cfg->workers.max_in_flight - atomic_load(&rt->in_flight);
    int64_t fit = (cfg->workers.max_in_flight_bytes - atomic_load(&rt->in_flight_bytes)) /
                  cfg->ingest.max_message_bytes;
    if (room <= 0 || fit <= 0)
        return 0;
    return (size_t)(fit < room ? fit : room);
}

/* Pause fetching when the window stayed full for STALL_PAUSE_MS with no job
 * finishing (`released`: how many this round released); resume once it is
 * half empty, in messages and bytes. */
static void backpressure(aw_runtime *rt, size_t released)
{
    long in_flight = atomic_load(&rt->in_flight);
    long max = rt->ctx.cfg->workers.max_in_flight;
    bool paused = aw_consumer_paused(rt->consumer);
    if (!paused) {
        if (released || window_room(rt) > 0) {
            rt->full_since_us = 0;
            return;
        }
        int64_t now = aw_mono_now_us();
        if (!rt->full_since_us)
            rt->full_since_us = now;
        if (now - rt->full_since_us < (int64_t)STALL_PAUSE_MS * 1000)
            return;
        AW_INFO("runtime", "in-flight window full (%ld of %ld, %lld bytes) with nothing "
                "finished for %d ms: pausing consumption", in_flight, max,
                (long long)atomic_load(&rt->in_flight_bytes), STALL_PAUSE_MS);
        aw_consumer_set_paused(rt->consumer, true);
        atomic_store(&rt->ctx.metrics.paused, 1);
        rt->paused_at_us = now;
        rt->full_since_us = 0;
    } else if (in_flight <= max / 2 &&
               atomic_load(&rt->in_flight_bytes) <= rt->ctx.cfg->workers.max_in_flight_bytes / 2 &&
               !atomic_load(&rt->stopping)) {
        aw_consumer_set_paused(rt->consumer, false);
        atomic_store(&rt->ctx.metrics.paused, 0);
        rt->resumed_at_us = aw_mono_now_us();
        if (rt->paused_at_us)
            aw_histogram_observe_us(&rt->ctx.metrics.stages[AW_STAGE_PAUSED],
                                    rt->resumed_at_us - rt->paused_at_us);
        rt->paused_at_us = 0;
    }
}

static void log_progress(aw_runtime *rt)
{
    aw_metrics *m = &rt->ctx.metrics;
    AW_INFO("runtime",
            "executed=%lu failed=%lu deduplicated=%lu rejected=%lu suppressed=%lu "
            "throttled=%lu in_flight=%ld "
            "delivery_failures=%lu",
            atomic_load(&m->outcomes[AW_OUTCOME_EXECUTED]),
            atomic_load(&m->outcomes[AW_OUTCOME_FAILED]),
            atomic_load(&m->outcomes[AW_OUTCOME_DEDUPLICATED]),
            atomic_load(&m->outcomes[AW_OUTCOME_REJECTED]),
            atomic_load(&m->outcomes[AW_OUTCOME_SUPPRESSED]),
            atomic_load(&m->outcomes[AW_OUTCOME_THROTTLED]), atomic_load(&rt->in_flight),
            atomic_load(&m->delivery_failures));
    if (aw_runtime_txn_mode(rt))
        AW_INFO("runtime", "transactions committed=%lu aborted=%lu held=%ld", rt->txn_commits,
                rt->txn_aborts, rt->n_held);
}

/* How long a last step of the stop (producer flush, leaving the group) may
 * take: what is left of the stop's bound, at most `normal_ms`, and at least
 * a second so that a stop whose bound ran out can still hand over what is
 * done (1 s too after a hard stop). */
static int final_step_ms(aw_runtime *rt, int64_t deadline, int normal_ms)
{
    if (atomic_load(&rt->ctx.hard_stop))
        return 1000;
    int64_t left = deadline - aw_mono_now_ms();
    return left > normal_ms ? normal_ms : left < 1000 ? 1000 : (int)left;
}

/* Stop fetching, let the workers finish what they hold within the bound
 * (counted from the first signal: aw_runtime_stop), then close: the final
 * revoke stores and commits every completed offset. Every step is bounded
 * by what is left of workers.shutdown_timeout_ms (plus about a second each
 * for the producer flush and the group leave), whatever the backends and
 * brokers do. */
static void shutdown_consumer(aw_runtime *rt)
{
    aw_consumer_set_paused(rt->consumer, true);
    int64_t deadline = aw_ctx_begin_stop(&rt->ctx, rt->ctx.cfg->workers.shutdown_timeout_ms);
    rd_kafka_message_t *msgs[64];
    uint32_t gens[64];
    AW_INFO("runtime", "stopping: draining %ld in-flight message(s) (bound %d ms)",
            atomic_load(&rt->in_flight), rt->ctx.cfg->workers.shutdown_timeout_ms);
    /* Held jobs (transactional mode) wait for a commit, not for workers. */
    while (atomic_load(&rt->in_flight) - rt->n_held > 0 && !atomic_load(&rt->ctx.hard_stop) &&
           aw_mono_now_ms() < deadline) {
        /* Keep serving the group (heartbeats, rebalances) while draining;
         * anything fetched now is left uncommitted for the next owner. */
        size_t n = aw_consumer_poll(rt->consumer, msgs, gens, 64, 0);
        for (size_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
        aw_runtime_process_done(rt, 50);
        aw_runtime_commit_tick(rt, false);
    }
    if (atomic_load(&rt->in_flight) - rt->n_held > 0) {
        AW_WARN("runtime", "giving up on %ld in-flight message(s): they stay uncommitted",
                atomic_load(&rt->in_flight));
        atomic_store(&rt->ctx.hard_stop, true);
    }
    /* The scheduler finishes its round (its jobs' acknowledgements come
     * from the audit writer and the producer, still running) and takes no
     * more: what is due later stays in the due index for the next replica. */
    aw_scheduler_stop(rt->scheduler);
    rt->scheduler = NULL;
    /* Prompt: a worker still opening its sessions has nothing queued now,
     * and every other wait gives up at the deadline or the hard stop. */
    for (size_t i = 0; i < rt->n_workers; i++)
        aw_worker_join(&rt->workers[i]);
    /* The workers pushed their last records: write them (or, after a hard
     * stop, hand them back failed). */
    aw_runtime_stop_audit_writer(rt);
    /* Deliveries still outstanding after the bound are purged: their jobs
     * come back as failed and stay uncommitted. */
    int left = aw_producer_flush(rt->ctx.producer, final_step_ms(rt, deadline, 10000));
    if (left > 0)
        AW_WARN("runtime", "%d reply/DLQ message(s) undelivered at exit", left);
    while (atomic_load(&rt->in_flight) > 0 && aw_runtime_process_done(rt, 100) > 0) {
    }
    aw_runtime_commit_tick(rt, true);
    /* Leaving the group is bounded too: with the brokers gone it cannot
     * finish, and the process must still exit. */
    aw_consumer_close(rt->consumer, final_step_ms(rt, deadline, 10000));
    if (aw_mono_now_ms() > deadline + 1000) /* the steps' floors exceeded */
        AW_WARN("runtime", "stop took %lld ms beyond its bound of %d ms (flush and group leave)",
                (long long)(aw_mono_now_ms() - deadline),
                rt->ctx.cfg->workers.shutdown_timeout_ms);
}

/* The lag of the last statistics, split by ownership. */
typedef struct lag_split {
    int64_t assigned;       /* on partitions assigned here now */
    int64_t unassigned;     /* on partitions this consumer lost */
    size_t n_unassigned;    /* how many of those have lag > 0 */
} lag_split;

/* Lag of the partitions assigned here now, and (for the log) of the others.
 * librdkafka's statistics keep reporting a partition this consumer lost in
 * a rebalance, with the high watermark and committed offset it had when
 * this consumer stopped fetching and committing it (librdkafka 2.0.2
 * refreshes them only from its own Fetch and OffsetCommit answers), so its
 * lag never falls here while the new owner drains it. Counting it made the
 * watchdog "restart" an idle consumer that had nothing left to fetch after
 * every scale-out (docs/operations.md, "Fetch-stall watchdog"). Asks the
 * consumer, not the table's marks (metrics.h), which only decide what
 * /metrics shows. Polling thread only. */
static lag_split split_lag(aw_runtime *rt)
{
    aw_metrics *m = &rt->ctx.metrics;
    lag_split s = {0};
    pthread_mutex_lock(&m->lag_lock);
    for (size_t i = 0; i < m->n_lags; i++) {
        const aw_partition_lag *l = &m->lags[i];
        if (l->lag <= 0)
            continue;
        if (aw_consumer_is_assigned(rt->consumer, l->topic, l->partition)) {
            s.assigned += l->lag;
        } else {
            s.unassigned += l->lag;
            s.n_unassigned++;
        }
    }
    pthread_mutex_unlock(&m->lag_lock);
    return s;
}

/* The watchdog's view of the consumer's idleness (polling thread only). */
typedef struct stall_watch {
    int64_t last_busy;    /* monotonic ms of the last message polled or the
                             last look that found work in flight */
    int64_t last_refetch; /* monotonic ms of the last restart (or look) */
    bool idle_noted;      /* this idle stretch was logged as lag-free */
} stall_watch;

/* Fetch-stall watchdog, a last resort. librdkafka 2.0.2 can leave a
 * partition without fetches after rapid pause/resume cycles (seen on a real
 * broker under constant backpressure): nothing in flight, not paused, the
 * statistics report lag on an assigned partition, yet no message arrives.
 * After kafka.fetch_stall_ms of that, restart the fetchers from the current
 * positions (nothing skipped, nothing repeated beyond what was prefetched).
 * Polling thread only. */
static void stall_check(aw_runtime *rt, stall_watch *w, int64_t now)
{
    int64_t stall_ms = rt->ctx.cfg->kafka.fetch_stall_ms;
    if (stall_ms <= 0)
        return;
    /* The idle stretch starts when the last work finished, not at the last
     * message polled: the lag in the statistics falls only once the last
     * completions are committed (auto.commit.interval.ms) and reported
     * (statistics.interval.ms), and work that took longer than
     * fetch_stall_ms (retries) would otherwise be followed at once by a
     * look at a lag that is merely not reported yet. */
    if (atomic_load(&rt->in_flight) - rt->n_held > 0) {
        w->last_busy = now;
        w->idle_noted = false;
        return;
    }
    if (now - w->last_busy < stall_ms || now - w->last_refetch < stall_ms ||
        aw_consumer_paused(rt->consumer))
        return;
    /* Between a lost assignment and the rejoin nothing is assigned and the
     * lag table still holds the last statistics: nothing to restart (seen
     * with the group coordinator's broker down, test_broker_faults). */
    if (aw_consumer_assigned_count(rt->consumer) == 0)
        return;
    lag_split split = split_lag(rt);
    int64_t lag = split.assigned;
    if (lag <= 0) {
        /* Idle and caught up: the normal end of a drain. Said once per idle
         * stretch, so that a test can tell the watchdog looked and let it
         * be, and whether lost partitions' frozen lag was there to ignore. */
        if (!w->idle_noted)
            AW_DEBUG("runtime", "fetch-stall watchdog: idle for %lld ms, no lag on the %zu "
                     "assigned partition(s); ignored a lag of %lld on %zu partition(s) no "
                     "longer assigned", (long long)(now - w->last_busy),
                     aw_consumer_assigned_count(rt->consumer), (long long)split.unassigned,
                     split.n_unassigned);
        w->idle_noted = true;
        return;
    }
    w->last_refetch = now;
    int n = aw_consumer_refetch(rt->consumer);
    /* No assigned partition has a position yet (just assigned: the fetch
     * starts from the committed offsets anyway): nothing was restarted, and
     * the next look is kafka.fetch_stall_ms away. */
    if (n == 0) {
        AW_DEBUG("runtime", "fetch-stall watchdog: no partition has a position yet");
        return;
    }
    AW_WARN("runtime", "no message for %lld ms although the consumer lag is %lld: restarted "
            "the fetch of %d partition(s) from their positions", (long long)(now - w->last_busy),
            (long long)lag, n);
}

static aw_status open_consumer(aw_runtime *rt, aw_error *err)
{
    const aw_config *cfg = rt->ctx.cfg;
    aw_consumer_options co = {
        .brokers = rt->brokers,
        .group_id = cfg->kafka.group_id,
        .client_id = cfg->worker_id,
        .topics = cfg->kafka.topics,
        .n_topics = cfg->kafka.n_topics,
        .properties = cfg->kafka.properties,
        .n_properties = cfg->kafka.n_properties,
        .rebalance_timeout_ms = cfg->workers.rebalance_timeout_ms,
        .transactional = aw_runtime_txn_mode(rt),
    };
    aw_consumer_hooks hooks = {.drain = drain_hook, .assigned = assigned_hook,
                               .stats = stats_hook, .lost = lost_hook,
                               .committed = committed_hook, .readable = readable_hook,
                               .commit = aw_runtime_txn_mode(rt) ? aw_runtime_commit_hook : NULL,
                               .ud = rt};
    return aw_consumer_new(&co, &hooks, &rt->consumer, err);
}

/* Stop when the producer failed for good: nothing could be replied. */
static void check_producer(aw_runtime *rt)
{
    char reason[256];
    if (aw_producer_fatal(rt->ctx.producer, reason, sizeof(reason))) {
        AW_ERROR("runtime", "producer failed fatally (%s): stopping", reason);
        atomic_store(&rt->stopping, true);
    }
}

static void poll_loop(aw_runtime *rt)
{
    rd_kafka_message_t *msgs[POLL_BATCH];
    uint32_t gens[POLL_BATCH];
    int64_t next_progress = aw_mono_now_ms() + 30000;
    stall_watch watch = {.last_busy = aw_mono_now_ms()};
    while (!atomic_load(&rt->stopping)) {
        atomic_store(&rt->last_tick_mono, aw_mono_now_ms());
        /* Never take more than the window has room for: the window, not
         * the fetch size, bounds memory and the work a stop must drain.
         * Full, the loop leaves messages in librdkafka's queue; paused, it
         * polls one at a time to serve the group protocol (a paused
         * partition delivers nothing). Never blocks here: the wait is on
         * the completion queue below, which the consumer queue wakes. */
        size_t room = window_room(rt);
        bool paused = aw_consumer_paused(rt->consumer);
        size_t want = room ? (room < POLL_BATCH ? room : POLL_BATCH) : paused ? 1 : 0;
        size_t n = want ? aw_consumer_poll(rt->consumer, msgs, gens, want, 0) : 0;
        int64_t now = aw_mono_now_ms();
        if (n) {
            watch.last_busy = now;
            watch.idle_noted = false;
            if (rt->resumed_at_us) { /* the first message since a resume */
                aw_histogram_observe_us(&rt->ctx.metrics.stages[AW_STAGE_REFETCH],
                                        aw_mono_now_us() - rt->resumed_at_us);
                rt->resumed_at_us = 0;
            }
        } else {
            stall_check(rt, &watch, now);
        }
        dispatch(rt, msgs, gens, n);
        size_t released = aw_runtime_process_done(rt, 0);
        /* Nothing came either way: wait for a finished job or for the
         * consumer queue (readable_hook), whichever first. */
        if (!n && !released)
            released = aw_runtime_process_done(rt, IDLE_WAIT_MS);
        aw_runtime_commit_tick(rt, false);
        backpressure(rt, released);
        if (aw_mono_now_ms() >= next_progress) {
            log_progress(rt);
            next_progress = aw_mono_now_ms() + 30000;
        }
        check_producer(rt);
    }
}

aw_status aw_runtime_run(aw_runtime *rt, aw_error *err)
{
    aw_status rc = open_consumer(rt, err);
    if (rc != AW_OK)
        return rc;
    poll_loop(rt);
    shutdown_consumer(rt);
    log_progress(rt);
    aw_runtime_drop_stale_held(rt); /* consumer closed: nothing is current any more */
    aw_consumer_destroy(rt->consumer);
    rt->consumer = NULL;
    if (rt->txn_last)
        rd_kafka_topic_partition_list_destroy(rt->txn_last);
    rt->txn_last = NULL;
    if (rt->txn_fatal)
        return aw_error_set(err, AW_INTERNAL,
                            "transactional producer failed fatally: nothing more committed");
    return AW_OK;
}

