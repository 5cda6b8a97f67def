/* Construction and teardown of the runtime (the caller's thread, before
 * aw_runtime_run and after it returned). */
#include "worker/runtime_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_log.h"
#include "ingest/kafka_probe.h"
#include "worker/backend_options.h"
#include "worker/rules.h"
#include "worker/outcome_delivery.h"

static aw_status open_backends(aw_runtime *rt, aw_error *err)
{
    const aw_config *cfg = rt->ctx.cfg;
    aw_state_options so = aw_state_options_from_config(cfg);
    bool best_effort = false;
    /* Refuse before connecting: the answer must not depend on the server. */
    aw_status rc = aw_state_check_consistency(cfg->state.backend,
                                              cfg->state.allow_eventual_consistency, &best_effort,
                                              err);
    if (rc == AW_OK)
        rc = aw_rules_check_backend(cfg, best_effort, err);
    if (rc != AW_OK)
        return rc;
    rc = aw_state_new(cfg->state.backend, &so, &rt->ctx.state, err);
    if (rc != AW_OK)
        return rc;
    if (best_effort) {
        AW_WARN("runtime", "state backend %s is eventually consistent: duplicates may execute",
                cfg->state.backend);
        /* Its increment is read-then-insert: racing counts can be lost. */
        for (size_t i = 0; i < cfg->n_rules; i++)
            if (cfg->rules[i].enabled && strcmp(cfg->rules[i].verdict, "throttle") == 0)
                AW_WARN("runtime", "rule %s: throttles on state backend %s are best effort "
                        "(concurrent counts can be lost; docs/rules.md)", cfg->rules[i].name,
                        cfg->state.backend);
    }
    /* Scheduled actions need the due index and replies outside a
     * transaction; without them, actions with a future not_before are
     * rejected naming the field (docs/scheduling.md), everything else runs. */
    rt->ctx.schedule_unavailable = aw_scheduler_unavailable(cfg);
    if (rt->ctx.schedule_unavailable)
        AW_INFO("runtime", "scheduled actions (not_before) are rejected: %s",
                rt->ctx.schedule_unavailable);
    if (cfg->audit.enabled) {
        aw_audit_options ao = aw_audit_options_from_config(cfg);
        rc = aw_audit_new(cfg->audit.backend, &ao, &rt->audit, err);
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

static aw_status start_producer(aw_runtime *rt, aw_error *err)
{
    const aw_config *cfg = rt->ctx.cfg;
    char txn_id[512];
    snprintf(txn_id, sizeof(txn_id), "%s-%s", cfg->kafka.group_id, cfg->worker_id);
    aw_producer_options po = {.brokers = rt->brokers,
                              .transactional_id =
                                  cfg->kafka.transactional_replies ? txn_id : NULL,
                              .client_id = cfg->worker_id,
                              .properties = cfg->kafka.properties,
                              .n_properties = cfg->kafka.n_properties,
                              .on_delivery = aw_outcome_delivered,
                              .ud = &rt->ctx};
    return aw_producer_new(&po, &rt->ctx.producer, err);
}

static aw_status start_recorder(aw_runtime *rt, aw_error *err)
{
    aw_recorder_options o = {.state = rt->ctx.state,
                             .threads = rt->ctx.cfg->dedup.recorder_threads,
                             .health = &rt->ctx.state_health,
                             .latency = &rt->ctx.metrics.complete_ms,
                             .queued = &rt->ctx.metrics.recorder_queue,
                             .writes = &rt->ctx.metrics.recorder_writes};
    return aw_recorder_start(&o, &rt->ctx.recorder, err);
}

static aw_status start_audit_writer(aw_runtime *rt, aw_error *err)
{
    if (!rt->audit)
        return AW_OK;
    aw_audit_writer_options o = aw_audit_writer_options_from_config(rt->ctx.cfg);
    o.audit = rt->audit;
    o.done = &rt->ctx.done;
    o.hard_stop = &rt->ctx.hard_stop;
    o.stop_deadline = &rt->ctx.stop_deadline;
    o.metrics = &rt->ctx.metrics;
    o.health = &rt->ctx.audit_health;
    return aw_audit_writer_start(&o, &rt->ctx.audit_writer, err);
}

static aw_status start_workers(aw_runtime *rt, aw_error *err)
{
    size_t n = (size_t)rt->ctx.cfg->workers.threads;
    rt->dispatch_by_key = aw_config_dispatch_by_key(rt->ctx.cfg);
    if (rt->dispatch_by_key)
        AW_INFO("runtime", "messages go to worker threads by their Kafka key "
                "(workers.dispatch)");
    rt->workers = calloc(n, sizeof(aw_worker));
    if (!rt->workers)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        aw_status rc = aw_worker_start(&rt->workers[i], &rt->ctx, i, err);
        if (rc != AW_OK)
            return rc;
        rt->n_workers = i + 1;
    }
    return AW_OK;
}

static aw_status start_scheduler(aw_runtime *rt, aw_error *err)
{
    if (rt->ctx.schedule_unavailable)
        return AW_OK;
    aw_status rc = aw_scheduler_new(&rt->ctx, &rt->scheduler, err);
    if (rc == AW_OK)
        rc = aw_scheduler_start(rt->scheduler, err);
    return rc;
}

/* How long the start-up probe of a secured Kafka connection waits for a
 * handshake's verdict: a refusal comes in well under a second; no answer at
 * all (brokers down) is not an error and only costs this much once. */
#define KAFKA_PROBE_MS 10000

/* Everything after the runtime's own queue and metrics, in order; the
 * caller destroys the runtime when one fails. */
static aw_status start_parts(aw_runtime *rt, aw_error *err)
{
    const aw_config *cfg = rt->ctx.cfg;
    aw_status rc = open_backends(rt, err);
    if (rc == AW_OK)
        rc = aw_provider_set_new(cfg, &rt->ctx.providers, err);
    if (rc == AW_OK)
        rc = aw_lease_keeper_new(rt->ctx.state, cfg->dedup.lease_ms, &rt->ctx.keeper, err);
    if (rc == AW_OK)
        rc = start_recorder(rt, err);
    /* A wrong CA or password stops the start here, naming the cause,
     * instead of the clients retrying it for ever (ingest/kafka_probe.h). */
    if (rc == AW_OK)
        rc = aw_kafka_probe(rt->brokers, cfg->kafka.properties, cfg->kafka.n_properties,
                            KAFKA_PROBE_MS, err);
    if (rc == AW_OK)
        rc = start_producer(rt, err);
    if (rc == AW_OK)
        rc = start_audit_writer(rt, err);
    if (rc == AW_OK)
        rc = aw_runtime_start_http(rt, err);
    if (rc == AW_OK)
        rc = start_workers(rt, err);
    if (rc == AW_OK)
        rc = start_scheduler(rt, err);
    return rc;
}

void aw_runtime_stop_audit_writer(aw_runtime *rt)
{
    pthread_mutex_lock(&rt->audit_ref);
    aw_audit_writer *w = rt->ctx.audit_writer;
    rt->ctx.audit_writer = NULL;
    pthread_mutex_unlock(&rt->audit_ref);
    aw_audit_writer_stop(w);
}

/* /metrics counters per rule, named as configured, and per state machine
 * (only used by rules). */
static int init_rule_metrics(aw_runtime *rt)
{
    const aw_config *cfg = rt->ctx.cfg;
    if (!cfg->n_rules)
        return 0;
    const char **names = calloc(cfg->n_rules, sizeof(*names));
    if (!names)
        return -1;
    for (size_t i = 0; i < cfg->n_rules; i++)
        names[i] = cfg->rules[i].name;
    int rc = aw_metrics_init_rules(&rt->ctx.metrics, names, cfg->n_rules);
    free(names);
    return rc ? rc : aw_metrics_init_machines(&rt->ctx.metrics, cfg->machines, cfg->n_machines);
}

aw_status aw_runtime_new(const aw_config *cfg, const char *brokers, aw_runtime **out,
                         aw_error *err)
{
    *out = NULL;
    aw_runtime *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    rt->ctx.cfg = cfg;
    rt->brokers = brokers ? brokers : cfg->kafka.brokers;
    rt->held_tail = &rt->held;
    pthread_mutex_init(&rt->audit_ref, NULL);
    aw_backend_health_init(&rt->ctx.state_health, "state");
    aw_backend_health_init(&rt->ctx.audit_health, "audit");
    aw_status rc;
    if (aw_job_queue_init(&rt->ctx.done)) {
        rc = aw_error_set(err, AW_INTERNAL, "cannot create the completion queue");
        goto fail_queue;
    }
    if (aw_metrics_init(&rt->ctx.metrics)) {
        rc = aw_error_set(err, AW_INTERNAL, "cannot create the metrics");
        goto fail_metrics;
    }
    if (init_rule_metrics(rt) != 0) {
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
        aw_runtime_destroy(rt); /* frees the queue and the metrics too */
        return rc;
    }
    rc = start_parts(rt, err);
    if (rc != AW_OK) {
        aw_runtime_destroy(rt); /* frees the queue and the metrics too */
        return rc;
    }
    *out = rt;
    return AW_OK;
fail_metrics:
    aw_job_queue_destroy(&rt->ctx.done);
fail_queue:
    pthread_mutex_destroy(&rt->audit_ref);
    free(rt);
    return rc;
}

void aw_runtime_set_outcome_hook(aw_runtime *rt, aw_outcome_fn fn, void *ud)
{
    rt->ctx.on_outcome = fn;
    rt->ctx.on_outcome_ud = ud;
}

void aw_runtime_stop(aw_runtime *rt)
{
    /* Only lock-free atomics and clock_gettime: safe from a signal handler.
     * The bound counts from the first signal, whatever the threads are
     * waiting for when it arrives. */
    if (atomic_exchange(&rt->stopping, true))
        atomic_store(&rt->ctx.hard_stop, true);
    else
        aw_ctx_begin_stop(&rt->ctx, rt->ctx.cfg->workers.shutdown_timeout_ms);
}

void aw_runtime_destroy(aw_runtime *rt)
{
    if (!rt)
        return;
    atomic_store(&rt->stopping, true);
    /* Not run (start-up failed) or already drained: the workers have
     * nothing to finish, and those still opening their sessions stop. */
    aw_ctx_begin_stop(&rt->ctx, rt->ctx.cfg->workers.shutdown_timeout_ms);
    aw_http_endpoint_stop(rt->http);
    rt->http = NULL;
    aw_state_session_close(rt->probe);
    rt->probe = NULL;
    /* Before the audit writer and the producer go: its round in progress
     * waits for their acknowledgements. */
    aw_scheduler_stop(rt->scheduler);
    rt->scheduler = NULL;
    for (size_t i = 0; i < rt->n_workers; i++)
        aw_worker_join(&rt->workers[i]);
    aw_runtime_stop_audit_writer(rt);
    if (rt->ctx.producer) {
        aw_producer_flush(rt->ctx.producer, 1000);
        aw_producer_destroy(rt->ctx.producer);
    }
    /* Jobs still on the completion queue (or purged deliveries) are freed. */
    while (aw_runtime_process_done(rt, 0) > 0) {
    }
    aw_consumer_destroy(rt->consumer);
    rt->consumer = NULL;
    aw_runtime_drop_stale_held(rt);
    aw_recorder_stop(rt->ctx.recorder); /* after the workers joined */
    aw_lease_keeper_destroy(rt->ctx.keeper);
    aw_provider_set_destroy(rt->ctx.providers);
    aw_audit_destroy(rt->audit);
    aw_state_destroy(rt->ctx.state);
    aw_job_queue_destroy(&rt->ctx.done);
    aw_metrics_destroy(&rt->ctx.metrics);
    free(rt->workers);
    aw_route_map_free(&rt->routes);
    pthread_mutex_destroy(&rt->audit_ref);
    free(rt);
}
