/* Finished jobs back from the workers, the audit writer and the delivery
 * thread (rt->ctx.done): polling thread only. */
#include "worker/runtime_internal.h"

#include "common/aw_clock.h"

void aw_runtime_hold(aw_runtime *rt, aw_job *job)
{
    job->next = NULL;
    *rt->held_tail = job;
    rt->held_tail = &job->next;
    rt->n_held++;
}

void aw_runtime_release_job(aw_runtime *rt, aw_job *job)
{
    atomic_fetch_sub(&rt->in_flight_bytes, job->window_bytes);
    aw_job_free(job);
    atomic_fetch_sub(&rt->in_flight, 1);
}

static void observe(aw_histogram *stages, aw_stage s, int64_t from_us, int64_t to_us)
{
    if (from_us && to_us)
        aw_histogram_observe_us(&stages[s], to_us - from_us);
}

/* The stages of a job that went the whole way (metrics.h, aw_stage). */
static void observe_stages(aw_runtime *rt, const aw_job *j, int64_t now_us)
{
    if (!j->handed_us || j->abandoned)
        return;
    aw_histogram *st = rt->ctx.metrics.stages;
    observe(st, AW_STAGE_QUEUE, j->polled_us, j->taken_us);
    observe(st, AW_STAGE_PROCESS, j->taken_us, j->handed_us);
    observe(st, AW_STAGE_REPLY, j->handed_us, j->reply_acked_us);
    observe(st, AW_STAGE_AUDIT, j->handed_us, j->audit_acked_us);
    observe(st, AW_STAGE_ACK, j->acked_us, now_us);
    observe(st, AW_STAGE_IN_FLIGHT, j->polled_us, now_us);
}

/* In transactional mode a done job is kept (rt->held) until its reply is
 * produced in the transaction that commits its offset; a job coming back
 * from that reply's delivery report is simply freed. */
size_t aw_runtime_process_done(aw_runtime *rt, int64_t timeout_ms)
{
    aw_job *list = NULL;
    size_t n = aw_job_queue_pop(&rt->ctx.done, 4096, timeout_ms, &list);
    int64_t now_us = n ? aw_mono_now_us() : 0;
    while (list) {
        aw_job *next = list->next;
        if (list->routed) { /* its worker is done with it */
            aw_route_map_remove(&rt->routes, list->route_hash);
            list->routed = false;
        }
        if (!list->txn_replied)
            observe_stages(rt, list, now_us);
        bool done = false;
        if (!list->txn_replied && !list->abandoned && !atomic_load(&list->delivery_failed) &&
            rt->consumer)
            done = aw_consumer_done(rt->consumer, aw_job_topic(list), list->msg->partition,
                                    list->msg->offset, list->generation);
        if (done && aw_runtime_txn_mode(rt))
            aw_runtime_hold(rt, list);
        else
            aw_runtime_release_job(rt, list);
        list = next;
    }
    return n;
}
