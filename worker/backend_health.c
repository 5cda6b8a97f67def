#include "worker/backend_health.h"

#include "common/aw_clock.h"
#include "common/aw_log.h"

void aw_backend_health_init(aw_backend_health *h, const char *name)
{
    h->name = name;
    atomic_init(&h->ok, false);
    atomic_init(&h->down_since, 0);
}

void aw_backend_health_seen(aw_backend_health *h, bool ok, const char *why)
{
    bool was = atomic_exchange(&h->ok, ok);
    if (ok && !was) {
        long long t0 = atomic_exchange(&h->down_since, 0);
        if (t0)
            AW_INFO("runtime", "%s backend up again after %lld ms", h->name,
                    aw_mono_now_ms() - t0);
    } else if (!ok) {
        long long none = 0;
        if (atomic_compare_exchange_strong(&h->down_since, &none, aw_mono_now_ms()))
            AW_WARN("runtime", "%s backend down: %s (retrying with backoff; consumption "
                    "pauses when the in-flight window fills)", h->name, why ? why : "");
    }
}
