#include "backends/audit/audit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_names.h"
#ifdef AW_WITH_CLICKHOUSE
#include "backends/audit/clickhouse/clickhouse_audit.h"
#endif

/* Compiled-in drivers; later backends add a line (behind WITH_AUDIT_<X>). */
static const aw_audit_driver *const drivers[] = {
    &aw_audit_memory_driver,
#ifdef AW_WITH_STATE_POSTGRES
    &aw_audit_postgres_driver,
#endif
    &aw_audit_elasticsearch_driver,
#ifdef AW_WITH_CLICKHOUSE
    &aw_audit_clickhouse_driver,
#endif
    NULL,
};

const aw_audit_driver *aw_audit_driver_find(const char *name)
{
    for (size_t i = 0; name && drivers[i]; i++)
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    return NULL;
}

static const char *name_at(size_t i) { return drivers[i] ? drivers[i]->name : NULL; }

/* Built once so concurrent callers never race on the buffer. */
static char g_names[256];
static pthread_once_t g_names_once = PTHREAD_ONCE_INIT;

static void build_names(void) { aw_names_join(g_names, sizeof(g_names), name_at); }

const char *aw_audit_driver_names(void)
{
    pthread_once(&g_names_once, build_names);
    return g_names;
}

aw_status aw_audit_new(const char *name, const aw_audit_options *opts, aw_audit **out,
                       aw_error *err)
{
    *out = NULL;
    const aw_audit_driver *d = aw_audit_driver_find(name);
    if (!d)
        return aw_error_set(err, AW_CONFIG, "audit.backend: unknown backend \"%s\" (valid: %s)",
                            name ? name : "", aw_audit_driver_names());
    aw_audit *a = calloc(1, sizeof(*a));
    if (!a)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    a->driver = d;
    aw_status rc = d->create(opts, &a->backend, err);
    if (rc != AW_OK) {
        free(a);
        return rc;
    }
    *out = a;
    return AW_OK;
}

void aw_audit_destroy(aw_audit *a)
{
    if (!a)
        return;
    a->driver->destroy(a->backend);
    free(a);
}

aw_status aw_audit_session_open(aw_audit *a, aw_audit_session **out, aw_error *err)
{
    *out = NULL;
    aw_audit_session *s = calloc(1, sizeof(*s));
    if (!s)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    s->driver = a->driver;
    aw_status rc = a->driver->session_open(a->backend, &s->session, err);
    if (rc != AW_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return AW_OK;
}

void aw_audit_session_close(aw_audit_session *s)
{
    if (!s)
        return;
    s->driver->session_close(s->session);
    free(s);
}
