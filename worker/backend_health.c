#include "worker/backend_health.h"

#include <string.h>

void aw_backend_health_init(aw_backend_health *h, const char *name)
{
    h->name = name;
    atomic_init(&h->ok, false);
    /* The subject must be a literal: the fail log borrows it. */
    const char *subject = strcmp(name, "state") == 0   ? "state backend"
                          : strcmp(name, "audit") == 0 ? "audit backend"
                                                       : "backend";
    aw_fail_log_init(&h->log, "runtime", subject,
                     "retrying with backoff; consumption pauses when the in-flight window fills",
                     AW_FAIL_LOG_REMIND_MS);
}

void aw_backend_health_seen(aw_backend_health *h, bool ok, const char *why)
{
    atomic_store(&h->ok, ok);
    if (ok)
        aw_fail_log_ok(&h->log);
    else
        aw_fail_log_failed(&h->log, why);
}
