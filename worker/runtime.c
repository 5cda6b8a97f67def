#include "worker/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/outcome.h"
#include "worker/worker.h"
#include "worker/backend_options.h"

#define POLL_BATCH 512

void aw_runtime_job_ack(aw_runtime *rt, aw_job *job)
{
    /* pending is 0 for jobs handed back without acknowledgements
     * (abandoned), N+1 for jobs awaiting N deliveries and the audit. */
    if (atomic_fetch_sub(&job->pending, 1) <= 1)
        aw_job_queue_push(&rt->done, job);
}

void aw_runtime_backend_seen(aw_runtime *rt, const char *which, atomic_bool *flag, bool ok,
                             const char *why)
{
    atomic_llong *since = flag == &rt->audit_ok ? &rt->audit_down_since : &rt->state_down_since;
    bool was = atomic_exchange(flag, ok);
    if (ok && !was) {
        long long t0 = atomic_exchange(since, 0);
        if (t0)
            AW_INFO("runtime", "%s backend up again after %lld ms", which, aw_mono_now_ms() - t0);
    } else if (!ok) {
        long long none = 0;
        if (atomic_compare_exchange_strong(since, &none, aw_mono_now_ms()))
            AW_WARN("runtime", "%s backend down: %s (retrying with backoff; consumption "
                    "pauses when the in-flight window fills)", which, why ? why : "");
    }
}

/* ---- polling thread ----------------------------------------------------- */

/* Shard the polled messages by identity, one queue append per worker. */
static void dispatch(aw_runtime *rt, rd_kafka_message_t **msgs, uint32_t *gens, size_t n)
{
    size_t nw = rt->n_workers;
    for (size_t i = 0; i < n; i++) {
        aw_job *j = aw_job_new(msgs[i], gens[i], (size_t)rt->cfg->ingest.max_message_bytes);
        if (!j) {
            /* Out of memory: leave it in flight (never committed); it is
             * redelivered after a restart. */
            AW_ERROR("runtime", "out of memory: dropping message from memory");
            rd_kafka_message_destroy(msgs[i]);
            continue;
        }
        atomic_fetch_add(&rt->in_flight, 1);
        atomic_fetch_add(&rt->metrics.consumed, 1);
        aw_worker *w = &rt->workers[j->hash % nw];
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
        aw_job_queue_push_list(&w->queue, w->out_head, w->out_tail, w->out_n);
        w->out_head = w->out_tail = NULL;
        w->out_n = 0;
    }
}

static bool txn_mode(const aw_runtime *rt) { return rt->cfg->kafka.transactional_replies; }

static void release_job(aw_runtime *rt, aw_job *job)
{
    aw_job_free(job);
    atomic_fetch_sub(&rt->in_flight, 1);
}

/* Hand finished jobs to the offset trackers and free them. In transactional
 * mode a done job is kept (rt->held) until its reply is produced in the
 * transaction that commits its offset; a job coming back from that reply's
 * delivery report is simply freed. */
static size_t process_done(aw_runtime *rt, int64_t timeout_ms)
{
    aw_job *list = NULL;
    size_t n = aw_job_queue_pop(&rt->done, 4096, timeout_ms, &list);
    while (list) {
        aw_job *next = list->next;
        bool done = false;
        if (!list->txn_replied && !list->abandoned && !atomic_load(&list->delivery_failed) &&
            rt->consumer)
            done = aw_consumer_done(rt->consumer, aw_job_topic(list), list->msg->partition,
                                    list->msg->offset, list->generation);
        if (done && txn_mode(rt)) {
            list->next = NULL;
            *rt->held_tail = list;
            rt->held_tail = &list->next;
            rt->n_held++;
        } else {
            release_job(rt, list);
        }
        list = next;
    }
    return n;
}

/* ---- transactions (kafka.transactional_replies) --------------------------
 *
 * Workers never produce in this mode. A finished job (audit durable) comes
 * back here, marks its offset done and waits in rt->held. A commit takes a
 * snapshot of every assigned partition's committable offset (the contiguous
 * done prefix), produces the replies/DLQ copies of exactly the held jobs
 * below it, flushes (every delivery report of the transaction is in), and
 * commits those offsets and messages in one transaction. So the committed
 * replies are exactly the committed offsets' messages: out-of-order
 * completions beyond a gap wait for a later transaction instead of having a
 * reply committed without their offset. An abort rewinds the partitions to
 * their committed offsets; the messages come again, dedup answers them with
 * their original outcome (same source) and the replies go into a later
 * transaction. Only the polling thread produces in this mode (plus the
 * delivery thread's reply_to fallback, inside flush's wait), so no lock
 * between producers and the committer is needed. */

static bool same_offsets(const rd_kafka_topic_partition_list_t *a,
                         const rd_kafka_topic_partition_list_t *b)
{
    if (!a || !b)
        return !a && !b;
    if (a->cnt != b->cnt)
        return false;
    for (int i = 0; i < a->cnt; i++) {
        const rd_kafka_topic_partition_t *x = &a->elems[i];
        rd_kafka_topic_partition_t *y =
            rd_kafka_topic_partition_list_find(b, x->topic, x->partition);
        if (!y || y->offset != x->offset)
            return false;
    }
    return true;
}

/* Free held jobs of partitions that were revoked, reset or rewound. */
static void drop_stale_held(aw_runtime *rt)
{
    aw_job *list = rt->held;
    rt->held = NULL;
    rt->held_tail = &rt->held;
    rt->n_held = 0;
    while (list) {
        aw_job *j = list;
        list = j->next;
        j->next = NULL;
        if (rt->consumer && aw_consumer_is_current(rt->consumer, aw_job_topic(j),
                                                   j->msg->partition, j->generation)) {
            *rt->held_tail = j;
            rt->held_tail = &j->next;
            rt->n_held++;
        } else {
            release_job(rt, j);
        }
    }
}

static void txn_commit(aw_runtime *rt)
{
    aw_consumer *c = rt->consumer;
    if (rt->txn_fatal || !c)
        return;
    while (process_done(rt, 0) > 0) {
    }
    drop_stale_held(rt);
    rd_kafka_topic_partition_list_t *offs = aw_consumer_committable_list(c);
    /* Produce the replies of exactly the held jobs below the snapshot. */
    aw_job *list = rt->held;
    rt->held = NULL;
    rt->held_tail = &rt->held;
    rt->n_held = 0;
    size_t sent = 0;
    while (list) {
        aw_job *j = list;
        list = j->next;
        j->next = NULL;
        rd_kafka_topic_partition_t *tp =
            offs ? rd_kafka_topic_partition_list_find(offs, aw_job_topic(j), j->msg->partition)
                 : NULL;
        if (tp && j->msg->offset < tp->offset) {
            j->txn_replied = true;
            atomic_store(&j->pending, aw_outcome_deliveries(rt, j));
            aw_outcome_send(rt, j); /* its delivery reports hand it back: freed */
            sent++;
        } else {
            *rt->held_tail = j;
            rt->held_tail = &j->next;
            rt->n_held++;
        }
    }
    if (sent == 0 && same_offsets(offs, rt->txn_last)) {
        if (offs)
            rd_kafka_topic_partition_list_destroy(offs);
        return; /* nothing new */
    }
    int left = aw_producer_flush(rt->producer, 30000);
    while (process_done(rt, 0) > 0) {
    }
    unsigned long failures = atomic_exchange(&rt->txn_send_failures, 0);
    bool abort_now = left > 0 || failures > 0;
    if (abort_now)
        AW_WARN("runtime", "transaction: %d reply/DLQ message(s) undelivered, %lu failed: "
                "aborting", left, failures);
    rd_kafka_consumer_group_metadata_t *cgmd = aw_consumer_group_metadata(c);
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = aw_producer_txn_commit(rt->producer, offs, cgmd, abort_now, 30000, &err);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (rc == AW_OK) {
        rt->txn_commits++;
        AW_DEBUG("runtime", "transaction committed: %zu reply/DLQ job(s), %d partition(s)", sent,
                 offs ? offs->cnt : 0);
        if (rt->txn_last)
            rd_kafka_topic_partition_list_destroy(rt->txn_last);
        rt->txn_last = offs;
        return;
    }
    if (offs)
        rd_kafka_topic_partition_list_destroy(offs);
    if (rt->txn_last)
        rd_kafka_topic_partition_list_destroy(rt->txn_last);
    rt->txn_last = NULL;
    if (rc == AW_TRANSIENT) {
        rt->txn_aborts++;
        AW_WARN("runtime", "transaction aborted (%s): rewinding to the committed offsets",
                err.msg);
        /* Purged messages of the aborted transaction are no failures of
         * the next one. */
        aw_producer_flush(rt->producer, 1000);
        while (process_done(rt, 0) > 0) {
        }
        atomic_store(&rt->txn_send_failures, 0);
        aw_consumer_rewind(c);
        drop_stale_held(rt);
        return;
    }
    AW_ERROR("runtime", "transaction failed fatally (%s): stopping without commit", err.msg);
    rt->txn_fatal = true;
    atomic_store(&rt->stopping, true);
}

static void commit_hook(void *ud, aw_consumer *c)
{
    (void)c;
    txn_commit(ud);
}

/* Non-transactional: store the completed offsets for auto-commit.
 * Transactional: commit the transaction every transaction_interval_ms (or
 * now when forced). */
static void commit_tick(aw_runtime *rt, bool force)
{
    if (!txn_mode(rt)) {
        aw_consumer_store(rt->consumer);
        return;
    }
    int64_t now = aw_mono_now_ms();
    if (!force && now < rt->next_txn_mono)
        return;
    txn_commit(rt);
    rt->next_txn_mono = aw_mono_now_ms() + rt->cfg->kafka.transaction_interval_ms;
}

static void drain_hook(void *ud, aw_consumer *c, int64_t deadline)
{
    aw_runtime *rt = ud;
    while (aw_consumer_revoking_in_flight(c) > 0 && !atomic_load(&rt->hard_stop)) {
        int64_t left = deadline - aw_mono_now_ms();
        if (left <= 0)
            break;
        process_done(rt, left < 100 ? left : 100);
    }
}

static void assigned_hook(void *ud, size_t n_partitions)
{
    aw_runtime *rt = ud;
    atomic_fetch_add(&rt->metrics.rebalances, 1);
    atomic_store(&rt->metrics.assigned_partitions, (long)n_partitions);
}

static void stats_hook(void *ud, const char *json, size_t len)
{
    aw_runtime *rt = ud;
    aw_metrics_update_lag(&rt->metrics, json, len);
}

static void backpressure(aw_runtime *rt)
{
    long in_flight = atomic_load(&rt->in_flight);
    long max = rt->cfg->workers.max_in_flight;
    bool paused = aw_consumer_paused(rt->consumer);
    if (!paused && in_flight >= max) {
        AW_INFO("runtime", "in-flight window full (%ld of %ld): pausing consumption", in_flight,
                max);
        aw_consumer_set_paused(rt->consumer, true);
        atomic_store(&rt->metrics.paused, 1);
    } else if (paused && in_flight <= max / 2 && !atomic_load(&rt->stopping)) {
        aw_consumer_set_paused(rt->consumer, false);
        atomic_store(&rt->metrics.paused, 0);
    }
}

static void log_progress(aw_runtime *rt)
{
    aw_metrics *m = &rt->metrics;
    AW_INFO("runtime",
            "executed=%lu failed=%lu deduplicated=%lu rejected=%lu in_flight=%ld "
            "delivery_failures=%lu",
            atomic_load(&m->outcomes[AW_OUTCOME_EXECUTED]),
            atomic_load(&m->outcomes[AW_OUTCOME_FAILED]),
            atomic_load(&m->outcomes[AW_OUTCOME_DEDUPLICATED]),
            atomic_load(&m->outcomes[AW_OUTCOME_REJECTED]), atomic_load(&rt->in_flight),
            atomic_load(&m->delivery_failures));
    if (txn_mode(rt))
        AW_INFO("runtime", "transactions committed=%lu aborted=%lu held=%ld", rt->txn_commits,
                rt->txn_aborts, rt->n_held);
}

/* Stop fetching, let the workers finish what they hold within the bound,
 * then close: the final revoke stores and commits every completed offset. */
static void shutdown_consumer(aw_runtime *rt)
{
    aw_consumer_set_paused(rt->consumer, true);
    int64_t deadline = aw_mono_now_ms() + rt->cfg->workers.shutdown_timeout_ms;
    rd_kafka_message_t *msgs[64];
    uint32_t gens[64];
    AW_INFO("runtime", "stopping: draining %ld in-flight message(s) (bound %d ms)",
            atomic_load(&rt->in_flight), rt->cfg->workers.shutdown_timeout_ms);
    /* Held jobs (transactional mode) wait for a commit, not for workers. */
    while (atomic_load(&rt->in_flight) - rt->n_held > 0 && !atomic_load(&rt->hard_stop) &&
           aw_mono_now_ms() < deadline) {
        /* Keep serving the group (heartbeats, rebalances) while draining;
         * anything fetched now is left uncommitted for the next owner. */
        size_t n = aw_consumer_poll(rt->consumer, msgs, gens, 64, 0);
        for (size_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
        process_done(rt, 50);
        commit_tick(rt, false);
    }
    if (atomic_load(&rt->in_flight) - rt->n_held > 0) {
        AW_WARN("runtime", "giving up on %ld in-flight message(s): they stay uncommitted",
                atomic_load(&rt->in_flight));
        atomic_store(&rt->hard_stop, true);
    }
    for (size_t i = 0; i < rt->n_workers; i++)
        aw_worker_join(&rt->workers[i]);
    /* The workers pushed their last records: write them (or, after a hard
     * stop, hand them back failed). */
    aw_audit_writer_stop(rt->audit_writer);
    rt->audit_writer = NULL;
    /* Deliveries still outstanding after the bound are purged: their jobs
     * come back as failed and stay uncommitted. */
    int left = aw_producer_flush(rt->producer, atomic_load(&rt->hard_stop) ? 1000 : 10000);
    if (left > 0)
        AW_WARN("runtime", "%d reply/DLQ message(s) undelivered at exit", left);
    while (atomic_load(&rt->in_flight) > 0 && process_done(rt, 100) > 0) {
    }
    commit_tick(rt, true);
    /* Leaving the group is bounded too: with the brokers gone it cannot
     * finish, and the process must still exit. */
    aw_consumer_close(rt->consumer, atomic_load(&rt->hard_stop) ? 1000 : 10000);
}

/* Fetch-stall watchdog. librdkafka 2.0.2 can leave a partition without
 * fetches after rapid pause/resume cycles (seen on a real broker under
 * constant backpressure): nothing in flight, not paused, the statistics
 * report lag, yet no message arrives. After kafka.fetch_stall_ms of that,
 * restart the fetchers from the current positions (nothing skipped, nothing
 * repeated beyond what was prefetched). Polling thread only. */
static bool stalled(aw_runtime *rt, int64_t now, int64_t last_msg, int64_t last_refetch)
{
    int64_t stall_ms = rt->cfg->kafka.fetch_stall_ms;
    if (stall_ms <= 0 || now - last_msg < stall_ms || now - last_refetch < stall_ms ||
        aw_consumer_paused(rt->consumer) || atomic_load(&rt->in_flight) - rt->n_held > 0)
        return false;
    /* Between a lost assignment and the rejoin nothing is assigned and the
     * lag table still holds the last statistics: nothing to restart (seen
     * with the group coordinator's broker down, test_broker_faults). */
    if (aw_consumer_assigned_count(rt->consumer) == 0)
        return false;
    int64_t lag = aw_metrics_total_lag(&rt->metrics);
    if (lag <= 0)
        return false;
    int n = aw_consumer_refetch(rt->consumer);
    /* No assigned partition has a position yet (just assigned: the fetch
     * starts from the committed offsets anyway): nothing was restarted, and
     * the next look is kafka.fetch_stall_ms away. */
    if (n == 0) {
        AW_DEBUG("runtime", "fetch-stall watchdog: no partition has a position yet");
        return true;
    }
    AW_WARN("runtime", "no message for %lld ms although the consumer lag is %lld: restarted "
            "the fetch of %d partition(s) from their positions", (long long)(now - last_msg),
            (long long)lag, n);
    return true;
}

aw_status aw_runtime_run(aw_runtime *rt, aw_error *err)
{
    aw_consumer_options co = {
        .brokers = rt->brokers,
        .group_id = rt->cfg->kafka.group_id,
        .client_id = rt->cfg->worker_id,
        .topics = rt->cfg->kafka.topics,
        .n_topics = rt->cfg->kafka.n_topics,
        .properties = rt->cfg->kafka.properties,
        .n_properties = rt->cfg->kafka.n_properties,
        .rebalance_timeout_ms = rt->cfg->workers.rebalance_timeout_ms,
        .transactional = txn_mode(rt),
    };
    aw_consumer_hooks hooks = {.drain = drain_hook, .assigned = assigned_hook,
                               .stats = stats_hook, .commit = txn_mode(rt) ? commit_hook : NULL,
                               .ud = rt};
    aw_status rc = aw_consumer_new(&co, &hooks, &rt->consumer, err);
    if (rc != AW_OK)
        return rc;

    rd_kafka_message_t *msgs[POLL_BATCH];
    uint32_t gens[POLL_BATCH];
    int64_t next_progress = aw_mono_now_ms() + 30000;
    int64_t last_msg_mono = aw_mono_now_ms(), last_refetch_mono = 0;
    while (!atomic_load(&rt->stopping)) {
        atomic_store(&rt->last_tick_mono, aw_mono_now_ms());
        /* Never take more than the window has room for: the window, not
         * the fetch size, bounds memory and the work a stop must drain.
         * When full (and paused) keep polling a little, to serve the group
         * protocol and collect what was fetched before the pause. */
        long room = rt->cfg->workers.max_in_flight - atomic_load(&rt->in_flight);
        size_t want = room <= 0 ? 1 : room < POLL_BATCH ? (size_t)room : POLL_BATCH;
        size_t n = aw_consumer_poll(rt->consumer, msgs, gens, want, 20);
        int64_t now = aw_mono_now_ms();
        if (n)
            last_msg_mono = now;
        else if (stalled(rt, now, last_msg_mono, last_refetch_mono))
            last_refetch_mono = now;
        dispatch(rt, msgs, gens, n);
        process_done(rt, 0);
        commit_tick(rt, false);
        backpressure(rt);
        if (aw_mono_now_ms() >= next_progress) {
            log_progress(rt);
            next_progress = aw_mono_now_ms() + 30000;
        }
        char reason[256];
        if (aw_producer_fatal(rt->producer, reason, sizeof(reason))) {
            AW_ERROR("runtime", "producer failed fatally (%s): stopping", reason);
            atomic_store(&rt->stopping, true);
        }
    }
    shutdown_consumer(rt);
    log_progress(rt);
    drop_stale_held(rt); /* consumer closed: nothing is current any more */
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

void aw_runtime_stop(aw_runtime *rt)
{
    /* Only lock-free atomics: safe from a signal handler. */
    if (atomic_exchange(&rt->stopping, true))
        atomic_store(&rt->hard_stop, true);
}

/* ---- operator endpoint (its own thread: atomics only) ----------------- */

static void http_metrics(void *ud, aw_buf *out)
{
    aw_runtime *rt = ud;
    aw_metrics_gauges g = {.in_flight = atomic_load(&rt->in_flight),
                           .max_in_flight = rt->cfg->workers.max_in_flight};
    if (rt->audit_writer) {
        g.audit_queue_depth = (long)aw_audit_writer_depth(rt->audit_writer);
        g.audit_queue_capacity = rt->cfg->audit.queue_capacity;
    }
    aw_metrics_render(&rt->metrics, &g, out);
}

static bool http_healthy(void *ud, char *why, size_t whysz)
{
    aw_runtime *rt = ud;
    /* The loop may legitimately block in a rebalance drain for up to
     * rebalance_timeout_ms; beyond that plus slack it is stuck. */
    int64_t silent = aw_mono_now_ms() - atomic_load(&rt->last_tick_mono);
    int64_t limit = rt->cfg->workers.rebalance_timeout_ms + 10000;
    if (atomic_load(&rt->last_tick_mono) == 0) {
        snprintf(why, whysz, "starting");
        return true;
    }
    if (silent > limit) {
        snprintf(why, whysz, "consumer loop silent for %lld ms", (long long)silent);
        return false;
    }
    return true;
}

/* /readyz asks the state backend itself (one read of a probe key, at most
 * once a second) so that readiness follows the backend even while no
 * message flows; the workers' own calls update the same flag. */
#define READY_PROBE_EVERY_MS 1000

static void probe_state(aw_runtime *rt)
{
    int64_t now = aw_mono_now_ms();
    if (rt->probe_at_mono && now - rt->probe_at_mono < READY_PROBE_EVERY_MS)
        return;
    rt->probe_at_mono = now;
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = AW_OK;
    if (!rt->probe)
        rc = aw_state_session_open(rt->state, &rt->probe, &err);
    if (rc == AW_OK) {
        aw_state_key k = {.ns = "acteon", .tenant = "readyz", .kind = "probe", .id = "probe"};
        aw_state_value v = {0};
        rc = aw_state_get(rt->probe, &k, &v, &err);
        aw_state_value_clear(&v);
        if (rc == AW_NOT_FOUND)
            rc = AW_OK;
    }
    if (rc != AW_OK && rt->probe) { /* a fresh connection next time */
        aw_state_session_close(rt->probe);
        rt->probe = NULL;
    }
    aw_runtime_backend_seen(rt, "state", &rt->state_ok, rc == AW_OK, err.msg);
}

static bool http_ready(void *ud, char *why, size_t whysz)
{
    aw_runtime *rt = ud;
    probe_state(rt);
    if (atomic_load(&rt->stopping)) {
        snprintf(why, whysz, "stopping");
        return false;
    }
    if (atomic_load(&rt->metrics.assigned_partitions) <= 0) {
        snprintf(why, whysz, "no partitions assigned");
        return false;
    }
    if (!atomic_load(&rt->state_ok)) {
        snprintf(why, whysz, "state backend unreachable");
        return false;
    }
    if (rt->audit && !atomic_load(&rt->audit_ok)) {
        snprintf(why, whysz, "audit backend unreachable");
        return false;
    }
    return true;
}

static aw_status start_http(aw_runtime *rt, aw_error *err)
{
    if (!rt->cfg->http.listen || !rt->cfg->http.listen[0])
        return AW_OK;
    aw_http_handlers h = {.metrics = http_metrics, .healthy = http_healthy,
                          .ready = http_ready, .ud = rt};
    aw_status rc = aw_http_endpoint_start(rt->cfg->http.listen, &h, &rt->http, err);
    if (rc != AW_OK && strcmp(rt->cfg->source ? rt->cfg->source : "", "<dev>") == 0) {
        /* The demo must run even when another demo holds the port. */
        AW_WARN("runtime", "%s: continuing without the HTTP endpoint", err->msg);
        return AW_OK;
    }
    return rc;
}

/* ---- construction ------------------------------------------------------- */

static aw_status open_backends(aw_runtime *rt, aw_error *err)
{
    const aw_config *cfg = rt->cfg;
    aw_state_options so = aw_state_options_from_config(cfg);
    bool best_effort = false;
    /* Refuse before connecting: the answer must not depend on the server. */
    aw_status rc = aw_state_check_consistency(cfg->state.backend,
                                              cfg->state.allow_eventual_consistency, &best_effort,
                                              err);
    if (rc != AW_OK)
        return rc;
    rc = aw_state_new(cfg->state.backend, &so, &rt->state, err);
    if (rc != AW_OK)
        return rc;
    if (best_effort)
        AW_WARN("runtime", "state backend %s is eventually consistent: duplicates may execute",
                cfg->state.backend);
    if (cfg->audit.enabled) {
        aw_audit_options ao = aw_audit_options_from_config(cfg);
        rc = aw_audit_new(cfg->audit.backend, &ao, &rt->audit, err);
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

aw_status aw_runtime_new(const aw_config *cfg, const char *brokers, aw_runtime **out,
                         aw_error *err)
{
    *out = NULL;
    aw_runtime *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    rt->cfg = cfg;
    rt->brokers = brokers ? brokers : cfg->kafka.brokers;
    rt->held_tail = &rt->held;
    aw_status rc = AW_INTERNAL;
    if (aw_job_queue_init(&rt->done)) {
        free(rt);
        return aw_error_set(err, AW_INTERNAL, "cannot create the completion queue");
    }
    if (aw_metrics_init(&rt->metrics)) {
        aw_job_queue_destroy(&rt->done);
        free(rt);
        return aw_error_set(err, AW_INTERNAL, "cannot create the metrics");
    }
    rc = open_backends(rt, err);
    if (rc == AW_OK)
        rc = aw_provider_set_new(cfg, &rt->providers, err);
    if (rc == AW_OK)
        rc = aw_lease_keeper_new(rt->state, cfg->dedup.lease_ms, &rt->keeper, err);
    char txn_id[512];
    snprintf(txn_id, sizeof(txn_id), "%s-%s", cfg->kafka.group_id, cfg->worker_id);
    if (rc == AW_OK) {
        aw_producer_options po = {.brokers = rt->brokers,
                                  .transactional_id =
                                      cfg->kafka.transactional_replies ? txn_id : NULL,
                                  .client_id = cfg->worker_id,
                                  .properties = cfg->kafka.properties,
                                  .n_properties = cfg->kafka.n_properties,
                                  .on_delivery = aw_outcome_delivered,
                                  .ud = rt};
        rc = aw_producer_new(&po, &rt->producer, err);
    }
    if (rc == AW_OK) {
        rt->workers = calloc((size_t)cfg->workers.threads, sizeof(aw_worker));
        if (!rt->workers)
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
    }
    if (rc == AW_OK && rt->audit)
        rc = aw_audit_writer_start(rt, &rt->audit_writer, err);
    if (rc == AW_OK)
        rc = start_http(rt, err);
    for (size_t i = 0; rc == AW_OK && i < (size_t)cfg->workers.threads; i++) {
        rc = aw_worker_start(&rt->workers[i], rt, i, err);
        if (rc == AW_OK)
            rt->n_workers = i + 1;
    }
    if (rc != AW_OK) {
        aw_runtime_destroy(rt);
        return rc;
    }
    *out = rt;
    return AW_OK;
}

void aw_runtime_destroy(aw_runtime *rt)
{
    if (!rt)
        return;
    atomic_store(&rt->stopping, true);
    aw_http_endpoint_stop(rt->http);
    rt->http = NULL;
    aw_state_session_close(rt->probe);
    rt->probe = NULL;
    for (size_t i = 0; i < rt->n_workers; i++)
        aw_worker_join(&rt->workers[i]);
    aw_audit_writer_stop(rt->audit_writer);
    rt->audit_writer = NULL;
    if (rt->producer) {
        aw_producer_flush(rt->producer, 1000);
        aw_producer_destroy(rt->producer);
    }
    /* Jobs still on the completion queue (or purged deliveries) are freed. */
    while (process_done(rt, 0) > 0) {
    }
    aw_consumer_destroy(rt->consumer);
    rt->consumer = NULL;
    drop_stale_held(rt);
    aw_lease_keeper_destroy(rt->keeper);
    aw_provider_set_destroy(rt->providers);
    aw_audit_destroy(rt->audit);
    aw_state_destroy(rt->state);
    aw_job_queue_destroy(&rt->done);
    aw_metrics_destroy(&rt->metrics);
    free(rt->workers);
    free(rt);
}
