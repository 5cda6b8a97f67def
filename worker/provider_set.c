#include "worker/provider_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"

typedef struct entry {
    const aw_provider_config *cfg;  /* borrowed from the config */
    const aw_provider_driver *driver;
    void *provider;
} entry;

struct aw_provider_set {
    entry *entries;
    size_t n;
};

struct aw_provider_sessions {
    const aw_provider_set *ps;
    void **sessions;                /* one per entry */
};

aw_status aw_provider_set_new(const aw_config *cfg, aw_provider_set **out, aw_error *err)
{
    *out = NULL;
    aw_provider_set *ps = calloc(1, sizeof(*ps));
    if (!ps || !(ps->entries = calloc(cfg->n_providers ? cfg->n_providers : 1, sizeof(entry)))) {
        free(ps);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const aw_provider_config *pc = &cfg->providers[i];
        const aw_provider_driver *d = aw_provider_driver_find(pc->type);
        if (!d) {
            aw_error_set(err, AW_CONFIG, "providers[%zu].type: unknown type \"%s\" (valid: %s)",
                         i, pc->type, aw_provider_driver_types());
            aw_provider_set_destroy(ps);
            return AW_CONFIG;
        }
        aw_status rc = d->create(pc, &ps->entries[i].provider, err);
        if (rc != AW_OK) {
            aw_provider_set_destroy(ps);
            return rc;
        }
        ps->entries[i].cfg = pc;
        ps->entries[i].driver = d;
        ps->n = i + 1;
    }
    *out = ps;
    return AW_OK;
}

void aw_provider_set_destroy(aw_provider_set *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++)
        ps->entries[i].driver->destroy(ps->entries[i].provider);
    free(ps->entries);
    free(ps);
}

int aw_provider_set_find(const aw_provider_set *ps, const char *name)
{
    for (size_t i = 0; name && i < ps->n; i++)
        if (strcmp(ps->entries[i].cfg->name, name) == 0)
            return (int)i;
    return -1;
}

const aw_provider_config *aw_provider_set_config(const aw_provider_set *ps, int idx)
{
    return ps->entries[idx].cfg;
}

aw_status aw_provider_sessions_open(const aw_provider_set *ps, aw_provider_sessions **out,
                                    aw_error *err)
{
    *out = NULL;
    aw_provider_sessions *s = calloc(1, sizeof(*s));
    if (!s || !(s->sessions = calloc(ps->n ? ps->n : 1, sizeof(void *)))) {
        free(s);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    s->ps = ps;
    for (size_t i = 0; i < ps->n; i++) {
        aw_status rc = ps->entries[i].driver->session_open(ps->entries[i].provider,
                                                           &s->sessions[i], err);
        if (rc != AW_OK) {
            aw_provider_sessions_close(s);
            return rc;
        }
    }
    *out = s;
    return AW_OK;
}

void aw_provider_sessions_close(aw_provider_sessions *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ps->n; i++)
        if (s->sessions[i])
            s->ps->entries[i].driver->session_close(s->sessions[i]);
    free(s->sessions);
    free(s);
}


/* A failure that is not an answer, reported as one (what the pipeline has
 * always recorded for it). */
static void result_from_error(const aw_error *err, aw_provider_result *res)
{
    memset(res, 0, sizeof(*res));
    res->retriable = err->retriable;
    snprintf(res->error_code, sizeof(res->error_code), "%s", aw_status_name(err->code));
    snprintf(res->error, sizeof(res->error), "%s", err->msg);
}

void aw_provider_execute_many(aw_provider_sessions *s, int idx, const aw_provider_call *calls,
                              aw_provider_result *res, size_t n, const aw_provider_stop *stop)
{
    const entry *e = &s->ps->entries[idx];
    aw_error err;
    aw_error_clear(&err);
    if (e->driver->execute_many) {
        int64_t t0 = aw_mono_now_us();
        if (e->driver->execute_many(s->sessions[idx], calls, res, n, stop, &err) == AW_OK)
            return;
        int64_t took = aw_mono_now_us() - t0;
        for (size_t i = 0; i < n; i++) {
            result_from_error(&err, &res[i]);
            res[i].elapsed_us = took;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!aw_provider_may_start(stop, i)) {
            memset(&res[i], 0, sizeof(res[i]));
            res[i].not_started = true;
            continue;
        }
        aw_error_clear(&err);
        int64_t t0 = aw_mono_now_us();
        if (e->driver->execute(s->sessions[idx], &calls[i], &res[i], &err) != AW_OK)
            result_from_error(&err, &res[i]);
        res[i].not_started = false;
        res[i].elapsed_us = aw_mono_now_us() - t0;
        aw_provider_answered(stop, i);
        aw_provider_tick(stop, 0);
    }
}
