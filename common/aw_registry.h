/* A table of compiled-in drivers looked up by name: the state and audit
 * backends and the provider types share this one helper.
 *
 * The table is a NULL-terminated array of driver pointers (static const,
 * owned by the module that defines it); name_of gives an entry's name.
 * Names must be unique: a name found twice is refused at lookup
 * (AW_INTERNAL), so a build that registers two drivers under one name fails
 * on first use instead of picking one silently. */
#ifndef AW_REGISTRY_H
#define AW_REGISTRY_H

#include <stdatomic.h>
#include <stddef.h>

#include "common/aw_error.h"

typedef struct aw_registry {
    const void *const *entries;          /* NULL-terminated */
    const char *(*name_of)(const void *entry);
    /* The "a, b, c" list for messages, built once on first use (under the
     * helper's own mutex; `ready` is then read without it). */
    atomic_bool ready;
    char names[256];
} aw_registry;

#define AW_REGISTRY_INIT(table, name_fn)                                                        \
    {.entries = (const void *const *)(table), .name_of = (name_fn)}

/* The entry named name. AW_CONFIG "<what>: unknown backend "x" (valid: ...)"
 * when there is none (what: the config setting, e.g. "state.backend"),
 * AW_INTERNAL when two entries carry the name. *out is NULL on error. */
aw_status aw_registry_lookup(aw_registry *r, const char *name, const char *what,
                             const void **out, aw_error *err);
/* The entry named name, or NULL when unknown or duplicated. */
const void *aw_registry_find(aw_registry *r, const char *name);
/* Comma-separated names, in table order. Thread-safe; the string lives as
 * long as r. */
const char *aw_registry_names(aw_registry *r);

#endif
