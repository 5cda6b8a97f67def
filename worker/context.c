#include "worker/context.h"

#include "common/aw_clock.h"

int64_t aw_ctx_begin_stop(aw_worker_ctx *ctx, int64_t timeout_ms)
{
    long long deadline = aw_mono_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    if (deadline == 0)
        deadline = 1; /* 0 means "not stopping" */
    long long none = 0;
    if (atomic_compare_exchange_strong(&ctx->stop_deadline, &none, deadline))
        return deadline;
    return none; /* the deadline of the stop that began first */
}

bool aw_ctx_give_up(aw_worker_ctx *ctx)
{
    if (atomic_load(&ctx->hard_stop))
        return true;
    long long deadline = atomic_load(&ctx->stop_deadline);
    return deadline != 0 && aw_mono_now_ms() >= deadline;
}

bool aw_ctx_sleep(aw_worker_ctx *ctx, int64_t ms)
{
    int64_t end = aw_mono_now_ms() + ms;
    for (;;) {
        if (aw_ctx_give_up(ctx))
            return false;
        int64_t left = end - aw_mono_now_ms();
        if (left <= 0)
            return true;
        aw_sleep_ms(left < 50 ? left : 50);
    }
}
