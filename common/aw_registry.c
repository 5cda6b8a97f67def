#include "common/aw_registry.h"

#include <pthread.h>
#include <string.h>

/* Guards the one-time build of every registry's name list (rare, short). */
static pthread_mutex_t g_names_mu = PTHREAD_MUTEX_INITIALIZER;

/* 1 when found once, 0 when absent, 2 when found twice or more. */
static int find(const aw_registry *r, const char *name, const void **out)
{
    int found = 0;
    *out = NULL;
    for (size_t i = 0; name && r->entries[i]; i++)
        if (strcmp(r->name_of(r->entries[i]), name) == 0 && found++ == 0)
            *out = r->entries[i];
    return found;
}

aw_status aw_registry_lookup(aw_registry *r, const char *name, const char *what,
                             const void **out, aw_error *err)
{
    int found = find(r, name, out);
    if (found == 1)
        return AW_OK;
    *out = NULL;
    if (found > 1)
        return aw_error_set(err, AW_INTERNAL, "%s: \"%s\" is registered twice", what, name);
    return aw_error_set(err, AW_CONFIG, "%s: unknown backend \"%s\" (valid: %s)", what,
                        name ? name : "", aw_registry_names(r));
}

const void *aw_registry_find(aw_registry *r, const char *name)
{
    const void *e;
    return find(r, name, &e) == 1 ? e : NULL;
}

const char *aw_registry_names(aw_registry *r)
{
    if (atomic_load(&r->ready))
        return r->names;
    pthread_mutex_lock(&g_names_mu);
    if (!atomic_load(&r->ready)) {
        size_t o = 0;
        r->names[0] = '\0';
        for (size_t i = 0; r->entries[i]; i++) {
            const char *n = r->name_of(r->entries[i]);
            size_t len = strlen(n);
            if (o + len + 3 >= sizeof(r->names))
                break; /* truncated at a name boundary */
            if (i) {
                memcpy(r->names + o, ", ", 2);
                o += 2;
            }
            memcpy(r->names + o, n, len + 1);
            o += len;
        }
        atomic_store(&r->ready, true);
    }
    pthread_mutex_unlock(&g_names_mu);
    return r->names;
}
