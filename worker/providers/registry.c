/* The table of compiled-in provider types. */
#include "worker/provider.h"

#include <pthread.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_names.h"

/* Types must be unique; a new provider adds one line. */
static const aw_provider_driver *const drivers[] = {
    &aw_provider_log_driver,
    &aw_provider_noop_driver,
    &aw_provider_webhook_driver,
    NULL,
};

const aw_provider_driver *aw_provider_driver_find(const char *type)
{
    for (size_t i = 0; type && drivers[i]; i++)
        if (strcmp(drivers[i]->type, type) == 0)
            return drivers[i];
    return NULL;
}

static const char *type_at(size_t i) { return drivers[i] ? drivers[i]->type : NULL; }

/* Built once so concurrent callers never race on the buffer. */
static char g_types[128];
static pthread_once_t g_types_once = PTHREAD_ONCE_INIT;

static void build_types(void) { aw_names_join(g_types, sizeof(g_types), type_at); }

const char *aw_provider_driver_types(void)
{
    pthread_once(&g_types_once, build_types);
    return g_types;
}

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
    return started == 0 || stop->start_until_ms == 0 || aw_mono_now_ms() < stop->start_until_ms;
}
