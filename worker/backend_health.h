/* Whether a backend ("state", "audit") answered its last call, for /readyz,
 * with one log line per transition: "down" with the reason, "up again" with
 * how long it was down.
 *
 * Threads: written by every thread that calls the backend (workers, audit
 * writers, the HTTP thread's readiness probe) and read by the HTTP thread;
 * atomics only, no lock. `name` is immutable after init. */
#ifndef AW_BACKEND_HEALTH_H
#define AW_BACKEND_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>

typedef struct aw_backend_health {
    const char *name;         /* a literal: "state", "audit" */
    atomic_bool ok;           /* the last call succeeded (false until one did) */
    atomic_llong down_since;  /* mono ms of the first failure, 0 = up */
} aw_backend_health;

void aw_backend_health_init(aw_backend_health *h, const char *name);

/* Record one answer (ok) or failure (why, may be NULL). Any thread. */
void aw_backend_health_seen(aw_backend_health *h, bool ok, const char *why);

static inline bool aw_backend_health_ok(aw_backend_health *h) { return atomic_load(&h->ok); }

#endif
