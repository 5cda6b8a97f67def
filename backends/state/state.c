#include "backends/state/state.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_registry.h"

/* Compiled-in drivers. Later backends add a line here (behind their
 * WITH_STATE_<X> option). Names must be unique. */
static const aw_state_driver *const drivers[] = {
    &aw_state_memory_driver,
    &aw_state_faulty_driver, /* fault injection, for tests */
#ifdef AW_WITH_STATE_REDIS
    &aw_state_redis_driver,
#endif
#ifdef AW_WITH_STATE_POSTGRES
    &aw_state_postgres_driver,
#endif
#ifdef AW_WITH_STATE_DYNAMODB
    &aw_state_dynamodb_driver,
#endif
#ifdef AW_WITH_CLICKHOUSE
    &aw_state_clickhouse_driver, /* eventually consistent: no AW_STATE_CAP_ATOMIC */
#endif
    NULL,
};

static const char *name_of(const void *d) { return ((const aw_state_driver *)d)->name; }

static aw_registry g_registry = AW_REGISTRY_INIT(drivers, name_of);

const aw_state_driver *aw_state_driver_find(const char *name)
{
    return aw_registry_find(&g_registry, name);
}

const char *aw_state_driver_names(void) { return aw_registry_names(&g_registry); }

aw_status aw_state_check_consistency(const char *name, bool allow_eventual, bool *best_effort,
                                     aw_error *err)
{
    const aw_state_driver *d = aw_state_driver_find(name);
    bool atomic = !d || (d->caps & AW_STATE_CAP_ATOMIC) != 0;
    if (best_effort)
        *best_effort = !atomic && allow_eventual;
    if (atomic || allow_eventual)
        return AW_OK;
    return aw_error_set(err, AW_CONFIG,
                        "state.backend: \"%s\" has no atomic compare-and-set, so it cannot "
                        "guarantee dedup or locks; set state.allow_eventual_consistency = true "
                        "to run best effort",
                        name);
}

aw_status aw_state_new(const char *name, const aw_state_options *opts, aw_state **out,
                       aw_error *err)
{
    *out = NULL;
    const void *found;
    aw_status rc = aw_registry_lookup(&g_registry, name, "state.backend", &found, err);
    if (rc != AW_OK)
        return rc;
    const aw_state_driver *d = found;
    aw_state *st = calloc(1, sizeof(*st));
    if (!st)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    st->driver = d;
    rc = d->create(opts, &st->backend, err);
    if (rc != AW_OK) {
        free(st);
        return rc;
    }
    *out = st;
    return AW_OK;
}

void aw_state_destroy(aw_state *st)
{
    if (!st)
        return;
    st->driver->destroy(st->backend);
    free(st);
}

aw_status aw_state_session_open(aw_state *st, aw_state_session **out, aw_error *err)
{
    *out = NULL;
    aw_state_session *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    ss->driver = st->driver;
    aw_status rc = st->driver->session_open(st->backend, &ss->session, err);
    if (rc != AW_OK) {
        free(ss);
        return rc;
    }
    *out = ss;
    return AW_OK;
}

void aw_state_session_close(aw_state_session *ss)
{
    if (!ss)
        return;
    ss->driver->session_close(ss->session);
    aw_state_batch_free(ss->batch);
    free(ss);
}

void aw_state_value_clear(aw_state_value *v)
{
    if (!v)
        return;
    free(v->data);
    memset(v, 0, sizeof(*v));
}

void aw_claim_clear(aw_claim *c)
{
    if (!c)
        return;
    free(c->done_summary);
    free(c->done_topic);
    c->done_summary = NULL;
    c->done_topic = NULL;
}
