#include "worker/runtime.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/outcome.h"
#include "worker/worker.h"

#define POLL_BATCH 512

void aw_job_free(aw_job *job)
{
    if (!job)
        return;
    if (!job->rejected)
        aw_action_clear(&job->action);
    aw_audit_record_clear(&job->record);
    rd_kafka_message_destroy(job->msg);
    free(job);
}

void aw_runtime_job_ack(aw_runtime *rt, aw_job *job)
{
    /* pending is 0 for jobs handed back without acknowledgements
     * (abandoned), N+1 for jobs awaiting N deliveries and the audit. */
    if (atomic_fetch_sub(&job->pending, 1) <= 1)
        aw_job_queue_push(&rt->done, job);
}

/* ---- polling thread ----------------------------------------------------- */

static aw_job *job_new(aw_runtime *rt, rd_kafka_message_t *m, uint32_t gen)
{
    aw_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->msg = m;
    j->generation = gen;
    j->consumed_at_mono = aw_mono_now_ms();
    if (aw_action_decode(m->payload, m->len, (size_t)rt->cfg->ingest.max_message_bytes,
                         &j->action, &j->reject) != 0) {
        j->rejected = true;
        /* No identity: spread rejected messages by position. */
        j->hash = (uint64_t)m->offset * 0x9e3779b97f4a7c15ull + (uint64_t)m->partition;
    } else {
        j->hash = aw_action_identity_hash(&j->action);
    }
    return j;
}

static void dispatch(aw_runtime *rt, rd_kafka_message_t **msgs, uint32_t *gens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        aw_job *j = job_new(rt, msgs[i], gens[i]);
        if (!j) {
            /* Out of memory: leave it in flight (never committed); it is
             * redelivered after a restart. */
            AW_ERROR("runtime", "out of memory: dropping message from memory");
            rd_kafka_message_destroy(msgs[i]);
            continue;
        }
        atomic_fetch_add(&rt->in_flight, 1);
        aw_worker *w = &rt->workers[j->hash % rt->n_workers];
        aw_job_queue_push(&w->queue, j);
    }
}

/* Hand finished jobs to the offset trackers and free them. */
static size_t process_done(aw_runtime *rt, int64_t timeout_ms)
{
    aw_job *list = NULL;
    size_t n = aw_job_queue_pop(&rt->done, 4096, timeout_ms, &list);
    while (list) {
        aw_job *next = list->next;
        if (!list->abandoned && !atomic_load(&list->delivery_failed) && rt->consumer)
            aw_consumer_done(rt->consumer, aw_job_topic(list), list->msg->partition,
                             list->msg->offset, list->generation);
        aw_job_free(list);
        atomic_fetch_sub(&rt->in_flight, 1);
        list = next;
    }
    return n;
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

static void backpressure(aw_runtime *rt)
{
    long in_flight = atomic_load(&rt->in_flight);
    long max = rt->cfg->workers.max_in_flight;
    bool paused = aw_consumer_paused(rt->consumer);
    if (!paused && in_flight >= max) {
        AW_INFO("runtime", "in-flight window full (%ld of %ld): pausing consumption", in_flight,
                max);
        aw_consumer_set_paused(rt->consumer, true);
    } else if (paused && in_flight <= max / 2 && !atomic_load(&rt->stopping)) {
        aw_consumer_set_paused(rt->consumer, false);
    }
}

static void log_progress(aw_runtime *rt)
{
    AW_INFO("runtime",
            "executed=%ld failed=%ld deduplicated=%ld rejected=%ld in_flight=%ld "
            "delivery_failures=%ld",
            atomic_load(&rt->outcomes[AW_OUTCOME_EXECUTED]),
            atomic_load(&rt->outcomes[AW_OUTCOME_FAILED]),
            atomic_load(&rt->outcomes[AW_OUTCOME_DEDUPLICATED]),
            atomic_load(&rt->outcomes[AW_OUTCOME_REJECTED]), atomic_load(&rt->in_flight),
            atomic_load(&rt->delivery_failures));
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
    while (atomic_load(&rt->in_flight) > 0 && !atomic_load(&rt->hard_stop) &&
           aw_mono_now_ms() < deadline) {
        /* Keep serving the group (heartbeats, rebalances) while draining;
         * anything fetched now is left uncommitted for the next owner. */
        size_t n = aw_consumer_poll(rt->consumer, msgs, gens, 64, 0);
        for (size_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
        process_done(rt, 50);
        aw_consumer_store(rt->consumer);
    }
    if (atomic_load(&rt->in_flight) > 0) {
        AW_WARN("runtime", "giving up on %ld in-flight message(s): they stay uncommitted",
                atomic_load(&rt->in_flight));
        atomic_store(&rt->hard_stop, true);
    }
    for (size_t i = 0; i < rt->n_workers; i++)
        aw_worker_join(&rt->workers[i]);
    /* Deliveries still outstanding after the bound are purged: their jobs
     * come back as failed and stay uncommitted. */
    int left = aw_producer_flush(rt->producer, atomic_load(&rt->hard_stop) ? 1000 : 10000);
    if (left > 0)
        AW_WARN("runtime", "%d reply/DLQ message(s) undelivered at exit", left);
    while (atomic_load(&rt->in_flight) > 0 && process_done(rt, 100) > 0) {
    }
    aw_consumer_store(rt->consumer);
    aw_consumer_close(rt->consumer);
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
    };
    aw_consumer_hooks hooks = {.drain = drain_hook, .ud = rt};
    aw_status rc = aw_consumer_new(&co, &hooks, &rt->consumer, err);
    if (rc != AW_OK)
        return rc;

    rd_kafka_message_t *msgs[POLL_BATCH];
    uint32_t gens[POLL_BATCH];
    int64_t next_progress = aw_mono_now_ms() + 30000;
    while (!atomic_load(&rt->stopping)) {
        /* Never take more than the window has room for: the window, not
         * the fetch size, bounds memory and the work a stop must drain.
         * When full (and paused) keep polling a little, to serve the group
         * protocol and collect what was fetched before the pause. */
        long room = rt->cfg->workers.max_in_flight - atomic_load(&rt->in_flight);
        size_t want = room <= 0 ? 1 : room < POLL_BATCH ? (size_t)room : POLL_BATCH;
        size_t n = aw_consumer_poll(rt->consumer, msgs, gens, want, 20);
        dispatch(rt, msgs, gens, n);
        process_done(rt, 0);
        aw_consumer_store(rt->consumer);
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
    aw_consumer_destroy(rt->consumer);
    rt->consumer = NULL;
    return AW_OK;
}

void aw_runtime_stop(aw_runtime *rt)
{
    /* Only lock-free atomics: safe from a signal handler. */
    if (atomic_exchange(&rt->stopping, true))
        atomic_store(&rt->hard_stop, true);
}

/* ---- construction ------------------------------------------------------- */

static aw_status open_backends(aw_runtime *rt, aw_error *err)
{
    const aw_config *cfg = rt->cfg;
    aw_state_options so = {.url = cfg->state.url, .key_prefix = cfg->state.key_prefix};
    aw_status rc = aw_state_new(cfg->state.backend, &so, &rt->state, err);
    if (rc != AW_OK)
        return rc;
    if (!aw_state_is_atomic(rt->state)) {
        if (!cfg->state.allow_eventual_consistency)
            return aw_error_set(err, AW_CONFIG,
                                "state.backend: \"%s\" has no atomic compare-and-set, so it "
                                "cannot guarantee dedup or locks; set "
                                "state.allow_eventual_consistency = true to run best effort",
                                cfg->state.backend);
        AW_WARN("runtime", "state backend %s is eventually consistent: duplicates may execute",
                cfg->state.backend);
    }
    if (cfg->audit.enabled) {
        aw_audit_options ao = {.url = cfg->audit.url,
                               .retention_ms = cfg->audit.retention_s * 1000};
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
    aw_status rc = AW_INTERNAL;
    if (aw_job_queue_init(&rt->done)) {
        free(rt);
        return aw_error_set(err, AW_INTERNAL, "cannot create the completion queue");
    }
    rc = open_backends(rt, err);
    if (rc == AW_OK)
        rc = aw_provider_set_new(cfg, &rt->providers, err);
    if (rc == AW_OK)
        rc = aw_lease_keeper_new(rt->state, cfg->dedup.lease_ms, &rt->keeper, err);
    if (rc == AW_OK) {
        aw_producer_options po = {.brokers = rt->brokers,
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
    for (size_t i = 0; i < rt->n_workers; i++)
        aw_worker_join(&rt->workers[i]);
    if (rt->producer) {
        aw_producer_flush(rt->producer, 1000);
        aw_producer_destroy(rt->producer);
    }
    /* Jobs still on the completion queue (or purged deliveries) are freed. */
    while (process_done(rt, 0) > 0) {
    }
    aw_consumer_destroy(rt->consumer);
    aw_lease_keeper_destroy(rt->keeper);
    aw_provider_set_destroy(rt->providers);
    aw_audit_destroy(rt->audit);
    aw_state_destroy(rt->state);
    aw_job_queue_destroy(&rt->done);
    free(rt->workers);
    free(rt);
}
