/* Offsets and transactions (kafka.transactional_replies): polling thread
 * only.
 *
 * Workers never produce in this mode. A finished job (audit durable) comes
 * back here, marks its offset done and waits in rt->held. A commit takes a
 * snapshot of every assigned partition's committable offset (the contiguous
 * done prefix), produces the replies/DLQ copies of exactly the held jobs
 * below it, flushes (every delivery report of the transaction is in), and
 * commits those offsets and messages in one transaction. So the committed
 * replies are exactly the committed offsets' messages: out-of-order
 * completions beyond a gap wait for a later transaction instead of having a
 * reply committed without their offset. An abort rewinds the partitions to
 * their committed offsets; the messages come again, dedup answers them with
 * their original outcome (same source) and the replies go into a later
 * transaction. Only the polling thread produces in this mode (plus the
 * delivery thread's reply_to fallback, inside flush's wait), so no lock
 * between producers and the committer is needed. */

#include "worker/runtime_internal.h"

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/outcome_delivery.h"

static bool same_offsets(const rd_kafka_topic_partition_list_t *a,
                         const rd_kafka_topic_partition_list_t *b)
{
    if (!a || !b)
        return !a && !b;
    if (a->cnt != b->cnt)
        return false;
    for (int i = 0; i < a->cnt; i++) {
        const rd_kafka_topic_partition_t *x = &a->elems[i];
        rd_kafka_topic_partition_t *y =
            rd_kafka_topic_partition_list_find(b, x->topic, x->partition);
        if (!y || y->offset != x->offset)
            return false;
    }
    return true;
}

static void drain_done(aw_runtime *rt)
{
    while (aw_runtime_process_done(rt, 0) > 0) {
    }
}

void aw_runtime_drop_stale_held(aw_runtime *rt)
{
    aw_job *list = rt->held;
    rt->held = NULL;
    rt->held_tail = &rt->held;
    rt->n_held = 0;
    while (list) {
        aw_job *j = list;
        list = j->next;
        j->next = NULL;
        if (rt->consumer && aw_consumer_is_current(rt->consumer, aw_job_topic(j),
                                                   j->msg->partition, j->generation)) {
            aw_runtime_hold(rt, j);
        } else {
            aw_runtime_release_job(rt, j);
        }
    }
}

/* Produce the replies of exactly the held jobs below the snapshot offs;
 * the others stay held. Returns how many were sent. */
static size_t produce_held(aw_runtime *rt, const rd_kafka_topic_partition_list_t *offs)
{
    aw_job *list = rt->held;
    rt->held = NULL;
    rt->held_tail = &rt->held;
    rt->n_held = 0;
    size_t sent = 0;
    while (list) {
        aw_job *j = list;
        list = j->next;
        j->next = NULL;
        rd_kafka_topic_partition_t *tp =
            offs ? rd_kafka_topic_partition_list_find(offs, aw_job_topic(j), j->msg->partition)
                 : NULL;
        if (tp && j->msg->offset < tp->offset) {
            j->txn_replied = true;
            atomic_store(&j->pending, aw_outcome_deliveries(j));
            aw_outcome_send(&rt->ctx, j); /* its delivery reports hand it back: freed */
            sent++;
        } else {
            aw_runtime_hold(rt, j);
        }
    }
    return sent;
}

static void set_last(aw_runtime *rt, rd_kafka_topic_partition_list_t *offs)
{
    if (rt->txn_last)
        rd_kafka_topic_partition_list_destroy(rt->txn_last);
    rt->txn_last = offs;
}

/* The commit failed: an abort rewinds to the committed offsets, anything
 * else stops the worker without committing more. */
static void txn_failed(aw_runtime *rt, aw_status rc, const aw_error *err)
{
    set_last(rt, NULL);
    if (rc == AW_TRANSIENT) {
        rt->txn_aborts++;
        AW_WARN("runtime", "transaction aborted (%s): rewinding to the committed offsets",
                err->msg);
        /* Purged messages of the aborted transaction are no failures of
         * the next one. */
        aw_producer_flush(rt->ctx.producer, 1000);
        drain_done(rt);
        atomic_store(&rt->ctx.txn_send_failures, 0);
        aw_consumer_rewind(rt->consumer);
        aw_runtime_drop_stale_held(rt);
        return;
    }
    AW_ERROR("runtime", "transaction failed fatally (%s): stopping without commit", err->msg);
    rt->txn_fatal = true;
    atomic_store(&rt->stopping, true);
}

/* The flush and commit timeout of a transaction: 30 s while running; once
 * a stop began, what is left of its bound (at least 1 s, and 1 s after a
 * hard stop), so a stop with the brokers gone is not held 60 s here. */
static int txn_timeout_ms(aw_runtime *rt)
{
    long long deadline = atomic_load(&rt->ctx.stop_deadline);
    if (deadline == 0)
        return 30000;
    if (atomic_load(&rt->ctx.hard_stop))
        return 1000;
    long long left = deadline - aw_mono_now_ms();
    return left > 30000 ? 30000 : left < 1000 ? 1000 : (int)left;
}

static void txn_commit(aw_runtime *rt)
{
    aw_consumer *c = rt->consumer;
    if (rt->txn_fatal || !c)
        return;
    drain_done(rt);
    aw_runtime_drop_stale_held(rt);
    rd_kafka_topic_partition_list_t *offs = aw_consumer_committable_list(c);
    size_t sent = produce_held(rt, offs);
    if (sent == 0 && same_offsets(offs, rt->txn_last)) {
        if (offs)
            rd_kafka_topic_partition_list_destroy(offs);
        return; /* nothing new */
    }
    int left = aw_producer_flush(rt->ctx.producer, txn_timeout_ms(rt));
    drain_done(rt);
    unsigned long failures = atomic_exchange(&rt->ctx.txn_send_failures, 0);
    bool abort_now = left > 0 || failures > 0;
    if (abort_now)
        AW_WARN("runtime", "transaction: %d reply/DLQ message(s) undelivered, %lu failed: "
                "aborting", left, failures);
    rd_kafka_consumer_group_metadata_t *cgmd = aw_consumer_group_metadata(c);
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = aw_producer_txn_commit(rt->ctx.producer, offs, cgmd, abort_now,
                                           txn_timeout_ms(rt), &err);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (rc == AW_OK) {
        rt->txn_commits++;
        AW_DEBUG("runtime", "transaction committed: %zu reply/DLQ job(s), %d partition(s)", sent,
                 offs ? offs->cnt : 0);
        set_last(rt, offs);
        return;
    }
    if (offs)
        rd_kafka_topic_partition_list_destroy(offs);
    txn_failed(rt, rc, &err);
}

void aw_runtime_commit_hook(void *ud, aw_consumer *c)
{
    (void)c;
    txn_commit(ud);
}

void aw_runtime_commit_tick(aw_runtime *rt, bool force)
{
    if (!aw_runtime_txn_mode(rt)) {
        aw_consumer_store(rt->consumer);
        return;
    }
    int64_t now = aw_mono_now_ms();
    if (!force && now < rt->next_txn_mono)
        return;
    txn_commit(rt);
    rt->next_txn_mono = aw_mono_now_ms() + rt->ctx.cfg->kafka.transaction_interval_ms;
}
