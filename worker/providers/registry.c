/* The table of compiled-in provider types. */
#include "worker/provider.h"

#include "common/aw_clock.h"
#include "common/aw_registry.h"

/* A new provider adds one line; a type listed twice is refused on lookup. */
static const aw_provider_driver *const drivers[] = {
    &aw_provider_log_driver,
    &aw_provider_noop_driver,
    &aw_provider_webhook_driver,
    NULL,
};

static const char *type_of(const void *d) { return ((const aw_provider_driver *)d)->type; }

static aw_registry g_registry = AW_REGISTRY_INIT(drivers, type_of);

const aw_provider_driver *aw_provider_driver_find(const char *type)
{
    return aw_registry_find(&g_registry, type);
}

const char *aw_provider_driver_types(void) { return aw_registry_names(&g_registry); }

bool aw_http_status_retriable(int status)
{
    /* 408: the server gave up waiting for us; 429: throttled; 5xx: the
     * server failed. Everything else (other 4xx, 3xx since redirects are not
     * followed) says the request itself is wrong and would fail again. */
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

bool aw_provider_may_start(const aw_provider_stop *stop, size_t started)
{
    if (!stop)
        return true;
    if (stop->flag && atomic_load(stop->flag))
        return false;
    if (started > 0 && stop->start_until_ms != 0 && aw_mono_now_ms() >= stop->start_until_ms)
        return false;
    return !stop->may_start || stop->may_start(stop->ud, started);
}

void aw_provider_answered(const aw_provider_stop *stop, size_t i)
{
    if (stop && stop->answered)
        stop->answered(stop->ud, i);
}

int64_t aw_provider_tick(const aw_provider_stop *stop, int64_t otherwise)
{
    int64_t want = stop && stop->tick ? stop->tick(stop->ud) : 0;
    return want > 0 && want < otherwise ? want : otherwise;
}
