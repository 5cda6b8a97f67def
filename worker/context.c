#include "worker/context.h"

#include "common/aw_clock.h"

bool aw_ctx_sleep(aw_worker_ctx *ctx, int64_t ms)
{
    int64_t end = aw_mono_now_ms() + ms;
    for (;;) {
        if (atomic_load(&ctx->hard_stop))
            return false;
        int64_t left = end - aw_mono_now_ms();
        if (left <= 0)
            return true;
        aw_sleep_ms(left < 50 ? left : 50);
    }
}
