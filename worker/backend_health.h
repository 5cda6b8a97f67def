/* Whether a backend ("state", "audit") answered its last call, for /readyz,
 * with one log line per transition (aw_fail_log): "down" with the reason,
 * a reminder at most every 30 s with the failed attempts since, "up again"
 * with how long it was down and how many attempts failed. Every thread
 * calling the backend reports here, so a backend unreachable for all of
 * them still logs once, not once per thread and attempt.
 *
 * Threads: written by every thread that calls the backend (workers, audit
 * writers, the HTTP thread's readiness probe) and read by the HTTP thread;
 * atomics only, no lock. `name` is immutable after init. */
#ifndef AW_BACKEND_HEALTH_H
#define AW_BACKEND_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/aw_fail_log.h"

typedef struct aw_backend_health {
    const char *name;         /* a literal: "state", "audit" */
    atomic_bool ok;           /* the last call succeeded (false until one did) */
    aw_fail_log log;          /* the transitions, subject "<name> backend" */
} aw_backend_health;

/* name: "state" or "audit" (the subject of the log lines is "<name>
 * backend"; other names are logged as "backend"). */
void aw_backend_health_init(aw_backend_health *h, const char *name);

/* Record one answer (ok) or failure (why, may be NULL). Any thread. */
void aw_backend_health_seen(aw_backend_health *h, bool ok, const char *why);

static inline bool aw_backend_health_ok(aw_backend_health *h) { return atomic_load(&h->ok); }

#endif
