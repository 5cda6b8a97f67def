/* The operator endpoint's handlers (/metrics, /healthz, /readyz). They run
 * on the HTTP endpoint's thread and read the runtime through atomics only,
 * plus rt->probe and rt->probe_at_mono, which belong to that thread. */
#include "worker/runtime_internal.h"

#include <stdio.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"

static void http_metrics(void *ud, aw_buf *out)
{
    aw_runtime *rt = ud;
    aw_metrics_gauges g = {.in_flight = atomic_load(&rt->in_flight),
                           .max_in_flight = rt->ctx.cfg->workers.max_in_flight,
                           .in_flight_bytes = (long)atomic_load(&rt->in_flight_bytes),
                           .max_in_flight_bytes = (long)rt->ctx.cfg->workers.max_in_flight_bytes};
    pthread_mutex_lock(&rt->audit_ref);
    if (rt->ctx.audit_writer) {
        g.audit_queue_depth = (long)aw_audit_writer_depth(rt->ctx.audit_writer);
        g.audit_queue_capacity = rt->ctx.cfg->audit.queue_capacity;
    }
    pthread_mutex_unlock(&rt->audit_ref);
    aw_metrics_render(&rt->ctx.metrics, &g, out);
}

static bool http_healthy(void *ud, char *why, size_t whysz)
{
    aw_runtime *rt = ud;
    /* The loop may legitimately block in a rebalance drain for up to
     * rebalance_timeout_ms; beyond that plus slack it is stuck. */
    int64_t silent = aw_mono_now_ms() - atomic_load(&rt->last_tick_mono);
    int64_t limit = rt->ctx.cfg->workers.rebalance_timeout_ms + 10000;
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
        rc = aw_state_session_open(rt->ctx.state, &rt->probe, &err);
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
    aw_backend_health_seen(&rt->ctx.state_health, rc == AW_OK, err.msg);
}

static bool http_ready(void *ud, char *why, size_t whysz)
{
    aw_runtime *rt = ud;
    probe_state(rt);
    if (atomic_load(&rt->stopping)) {
        snprintf(why, whysz, "stopping");
        return false;
    }
    if (atomic_load(&rt->ctx.metrics.assigned_partitions) <= 0) {
        snprintf(why, whysz, "no partitions assigned");
        return false;
    }
    if (!aw_backend_health_ok(&rt->ctx.state_health)) {
        snprintf(why, whysz, "state backend unreachable");
        return false;
    }
    if (rt->audit && !aw_backend_health_ok(&rt->ctx.audit_health)) {
        snprintf(why, whysz, "audit backend unreachable");
        return false;
    }
    return true;
}

aw_status aw_runtime_start_http(aw_runtime *rt, aw_error *err)
{
    if (!rt->ctx.cfg->http.listen || !rt->ctx.cfg->http.listen[0])
        return AW_OK;
    aw_http_handlers h = {.metrics = http_metrics, .healthy = http_healthy,
                          .ready = http_ready, .ud = rt};
    aw_status rc = aw_http_endpoint_start(rt->ctx.cfg->http.listen, &h, &rt->http, err);
    if (rc != AW_OK && strcmp(rt->ctx.cfg->source ? rt->ctx.cfg->source : "", "<dev>") == 0) {
        /* The demo must run even when another demo holds the port. */
        AW_WARN("runtime", "%s: continuing without the HTTP endpoint", err->msg);
        return AW_OK;
    }
    return rc;
}

