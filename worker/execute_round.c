#include "worker/execute_round.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"

int aw_exec_init(aw_exec *x, aw_scratch *s, size_t cap)
{
    memset(x, 0, sizeof(*x));
    size_t c = cap ? cap : 1;
    x->cap = cap;
    /* Not zeroed: aw_exec_add writes an item whole before anything reads
     * it, a round its calls, results, due list and map. */
    x->items = aw_scratch_alloc(s, c, sizeof(*x->items));
    x->calls = aw_scratch_alloc(s, c, sizeof(*x->calls));
    x->res = aw_scratch_alloc(s, c, sizeof(*x->res));
    x->due = aw_scratch_alloc(s, c, sizeof(*x->due));
    x->map = aw_scratch_alloc(s, c, sizeof(*x->map));
    return x->items && x->calls && x->res && x->due && x->map ? 0 : -1;
}

void aw_exec_add(aw_exec *x, aw_job *job, int provider, uint64_t token, size_t tag)
{
    if (x->n < x->cap)
        x->items[x->n++] = (aw_exec_item){.job = job, .provider = provider, .token = token,
                                          .tag = tag};
}

bool aw_exec_pending(const aw_exec *x)
{
    for (size_t i = 0; i < x->n; i++)
        if (!x->items[i].final)
            return true;
    return false;
}

/* Hard stop: what made an attempt reports it; the rest never started. */
static bool stopped(aw_exec *x)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->items[i].attempts > 0)
            x->items[i].final = true;
    return false;
}

/* Book one answer: done, or another attempt after a backoff. */
static void answered(aw_worker_ctx *ctx, aw_exec_item *it, const aw_provider_result *res)
{
    const aw_provider_config *pc = aw_provider_set_config(ctx->providers, it->provider);
    aw_histogram_observe_us(&ctx->metrics.provider_ms, res->elapsed_us);
    it->attempts++;
    it->res = *res;
    if (res->ok || !res->retriable || it->attempts >= pc->max_attempts) {
        it->final = true;
        return;
    }
    atomic_fetch_add(&ctx->metrics.provider_retries, 1);
    it->next_ms = aw_mono_now_ms() +
                  aw_backoff_ms(it->attempts, pc->backoff_base_ms, pc->backoff_max_ms);
}

/* One provider's calls of a round: call i is item map[i]. */
typedef struct round_calls {
    aw_worker_ctx *ctx;
    aw_exec *x;
    size_t *map;
} round_calls;

/* Book call i's answer (once), telling the caller when it is final. */
static void book(round_calls *rc, size_t i)
{
    aw_exec *x = rc->x;
    aw_exec_item *it = &x->items[rc->map[i]];
    const aw_provider_result *r = &x->res[i];
    if (it->booked || r->not_started) /* not started: still due, next round */
        return;
    it->booked = true;
    answered(rc->ctx, it, r);
    if (it->final && x->on_final)
        x->on_final(x->ud, it);
}

static void on_answer(void *ud, size_t i) { book(ud, i); }

/* Each call, just before it starts: the gate again, now (a partition lost
 * since the round began stops its calls; leases were checked to last until
 * the round's start window closes). */
static bool on_may_start(void *ud, size_t i)
{
    round_calls *rc = ud;
    aw_exec *x = rc->x;
    return !x->may_start || x->may_start(x->ud, &x->items[rc->map[i]], aw_mono_now_ms());
}

static int64_t on_tick(void *ud)
{
    round_calls *rc = ud;
    return rc->x->tick ? rc->x->tick(rc->x->ud) : 0;
}

/* Make the next attempt of the due items of one provider together. */
static void run_provider(aw_worker_ctx *ctx, aw_provider_sessions *ps, aw_exec *x, int provider,
                         size_t n_due, int64_t start_window_ms)
{
    size_t m = 0;
    for (size_t k = 0; k < n_due; k++) {
        aw_exec_item *it = &x->items[x->due[k]];
        if (it->provider != provider)
            continue;
        aw_job *j = it->job;
        it->booked = false;
        x->map[m] = x->due[k];
        /* A driver may fill only some fields of its answer. */
        x->res[m] = (aw_provider_result){0};
        x->calls[m++] = (aw_provider_call){
            .action = &j->action, .body = j->msg->payload, .body_len = j->msg->len,
            .identity = j->record.dedup_identity, .fencing_token = it->token,
            .lock_token = j->lock_token,
            .attempt = it->attempts + 1, .answer = j->answer, .answer_max = j->answer_max};
    }
    round_calls rc = {.ctx = ctx, .x = x, .map = x->map};
    aw_provider_stop stop = {.flag = &ctx->hard_stop,
                             .start_until_ms = aw_mono_now_ms() + start_window_ms,
                             .answered = on_answer, .tick = on_tick,
                             .may_start = on_may_start, .ud = &rc};
    aw_provider_execute_many(ps, provider, x->calls, x->res, m, &stop);
    /* Answers no hook told of (a driver failing as a whole fills them all
     * at the end). */
    for (size_t i = 0; i < m; i++)
        book(&rc, i);
}

bool aw_exec_round(aw_worker_ctx *ctx, aw_provider_sessions *ps, aw_exec *x,
                   int64_t start_window_ms)
{
    int64_t earliest = INT64_MAX;
    for (size_t i = 0; i < x->n; i++)
        if (!x->items[i].final && x->items[i].next_ms < earliest)
            earliest = x->items[i].next_ms;
    if (earliest == INT64_MAX)
        return true;
    int64_t now = aw_mono_now_ms();
    if (atomic_load(&ctx->hard_stop) ||
        (earliest > now && !aw_ctx_sleep(ctx, earliest - now)))
        return stopped(x);
    now = aw_mono_now_ms();
    size_t n_due = 0;
    for (size_t i = 0; i < x->n; i++) {
        aw_exec_item *it = &x->items[i];
        if (it->final || it->next_ms > now)
            continue;
        if (x->may_start && !x->may_start(x->ud, it, now + start_window_ms))
            it->final = it->refused = true;
        else
            x->due[n_due++] = i;
    }
    /* One execute_many per provider present, in order of first appearance.
     * A batch rarely mixes providers; when it does they run one after the
     * other. */
    for (size_t k = 0; k < n_due; k++) {
        int p = x->items[x->due[k]].provider;
        bool seen = false;
        for (size_t e = 0; e < k && !seen; e++)
            seen = x->items[x->due[e]].provider == p;
        if (!seen)
            run_provider(ctx, ps, x, p, n_due, start_window_ms);
    }
    return atomic_load(&ctx->hard_stop) ? stopped(x) : true;
}
