/* Finished jobs back from the workers, the audit writer and the delivery
 * thread (rt->ctx.done): polling thread only. */
#include "worker/runtime_internal.h"

void aw_runtime_hold(aw_runtime *rt, aw_job *job)
{
    job->next = NULL;
    *rt->held_tail = job;
    rt->held_tail = &job->next;
    rt->n_held++;
}

void aw_runtime_release_job(aw_runtime *rt, aw_job *job)
{
    aw_job_free(job);
    atomic_fetch_sub(&rt->in_flight, 1);
}

/* In transactional mode a done job is kept (rt->held) until its reply is
 * produced in the transaction that commits its offset; a job coming back
 * from that reply's delivery report is simply freed. */
size_t aw_runtime_process_done(aw_runtime *rt, int64_t timeout_ms)
{
    aw_job *list = NULL;
    size_t n = aw_job_queue_pop(&rt->ctx.done, 4096, timeout_ms, &list);
    while (list) {
        aw_job *next = list->next;
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
