/* The producer of replies and DLQ copies: one idempotent librdkafka
 * producer shared by all worker threads (rd_kafka_producev is thread-safe),
 * with a thread of its own serving delivery reports.
 *
 * Every message carries an opaque; its delivery report calls `on_delivery`
 * exactly once per send, on the producer's thread, with the final error
 * (0 = acknowledged by the broker). The callback may re-send (it receives
 * the reported message so the payload need not be kept elsewhere). */
#ifndef AW_PRODUCER_H
#define AW_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "common/aw_error.h"

typedef struct aw_producer aw_producer;

typedef void (*aw_delivery_fn)(void *ud, aw_producer *p, const rd_kafka_message_t *msg,
                               void *opaque);

typedef struct aw_producer_options {
    const char *brokers;
    const char *client_id;
    char *const *properties; /* user pass-through (see aw_kafka_props_for) */
    size_t n_properties;
    aw_delivery_fn on_delivery;
    void *ud;
    /* Non-NULL: a transactional producer (transactional.id). aw_producer_new
     * then runs init_transactions and opens the first transaction; every
     * message sent belongs to the open transaction until
     * aw_producer_txn_commit(). */
    const char *transactional_id;
} aw_producer_options;

aw_status aw_producer_new(const aw_producer_options *o, aw_producer **out, aw_error *err);

/* Send a copy of value (and key) to topic. headers (may be NULL) is consumed
 * in every case. Blocks (with backoff) while librdkafka's queue is full: the
 * caller is a worker thread, and blocking it is the backpressure we want. */
aw_status aw_producer_send(aw_producer *p, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t value_len, rd_kafka_headers_t *headers,
                           void *opaque, aw_error *err);

/* Wait up to timeout_ms for outstanding deliveries. Returns how many are
 * still outstanding. */
int aw_producer_flush(aw_producer *p, int timeout_ms);

/* Stops the delivery thread and destroys the handle (call flush first). */
void aw_producer_destroy(aw_producer *p);

/* Transactional producers only (polling thread). Adds `offsets` (may be
 * NULL or empty) for the consumer group of `cgmd` to the open transaction
 * and commits it; retriable errors are retried within timeout_ms. Then opens
 * the next transaction. Returns
 *   AW_OK         committed;
 *   AW_TRANSIENT  the transaction was aborted (an abortable error, or
 *                 abort_now): nothing of it is visible, the caller rewinds;
 *   AW_PERMANENT  fatal (fenced by a newer instance, ...): stop, commit nothing.
 * Call aw_producer_flush() first so every delivery report has arrived. */
aw_status aw_producer_txn_commit(aw_producer *p, const rd_kafka_topic_partition_list_t *offsets,
                                 const rd_kafka_consumer_group_metadata_t *cgmd, bool abort_now,
                                 int timeout_ms, aw_error *err);

/* A fatal producer error (idempotence broken) was raised. */
int aw_producer_fatal(aw_producer *p, char *reason, size_t reason_sz);

#endif
