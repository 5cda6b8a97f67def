#include "worker/provider_set.h"

#include <stdlib.h>
#include <string.h>

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

aw_status aw_provider_execute(aw_provider_sessions *s, int idx, const aw_provider_call *call,
                              aw_provider_result *res, aw_error *err)
{
    const entry *e = &s->ps->entries[idx];
    return e->driver->execute(s->sessions[idx], call, res, err);
}
