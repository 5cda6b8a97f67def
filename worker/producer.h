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

/* A fatal producer error (idempotence broken) was raised. */
int aw_producer_fatal(aw_producer *p, char *reason, size_t reason_sz);

#endif
