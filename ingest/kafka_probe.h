/* A bounded check, at start, that a secured Kafka connection can be made.
 *
 * librdkafka treats a failed TLS handshake or SASL authentication like a
 * broker being down: it retries for ever, and a worker with a wrong CA or
 * password would sit there looking alive. A retry cannot fix either, so the
 * worker asks for the cluster's metadata once at start and stops, naming
 * the cause, when the handshake or authentication fails.
 *
 * Ownership: nothing is kept; the probe's own client is destroyed before
 * returning. Threading: call from one thread; no shared state. */
#ifndef AW_KAFKA_PROBE_H
#define AW_KAFKA_PROBE_H

#include <stddef.h>

#include "common/aw_error.h"

/* With a security.protocol other than plaintext among props ("key=value",
 * as for the consumer and producer), connect to brokers and wait up to
 * timeout_ms for metadata. AW_CONFIG "kafka: SASL authentication failed:
 * ..." or "kafka: TLS handshake failed: ..." when the broker refused us;
 * AW_OK when metadata came, when no broker answered at all within the bound
 * (a broker down at start is waited for as before, with a warning) and,
 * at once, for plaintext. librdkafka's reason is quoted; it never holds
 * the password. */
aw_status aw_kafka_probe(const char *brokers, char *const *props, size_t n_props,
                         int timeout_ms, aw_error *err);

#endif
