#include "backends/audit/audit.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_registry.h"
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

static const char *name_of(const void *d) { return ((const aw_audit_driver *)d)->name; }

static aw_registry g_registry = AW_REGISTRY_INIT(drivers, name_of);

const aw_audit_driver *aw_audit_driver_find(const char *name)
{
    return aw_registry_find(&g_registry, name);
}

const char *aw_audit_driver_names(void) { return aw_registry_names(&g_registry); }

aw_status aw_audit_new(const char *name, const aw_audit_options *opts, aw_audit **out,
                       aw_error *err)
{
    *out = NULL;
    const void *found;
    aw_status rc = aw_registry_lookup(&g_registry, name, "audit.backend", &found, err);
    if (rc != AW_OK)
        return rc;
    const aw_audit_driver *d = found;
    aw_audit *a = calloc(1, sizeof(*a));
    if (!a)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    a->driver = d;
    rc = d->create(opts, &a->backend, err);
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
