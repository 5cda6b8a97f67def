/* Read whole topics once, up to the marks taken at open: the input side of
 * `acteon-worker replay`.
 *
 * No consumer group takes part: every partition of the topics is assigned
 * directly (the group id is a throwaway, nothing is ever committed), so
 * replaying never disturbs the workers' groups and two replays do not split
 * the partitions between them. At open, each partition's end offset (high
 * watermark) is taken as its mark; the reader stops at the marks, so a
 * replay terminates even while workers keep producing. Reads are
 * read_committed: replies of aborted transactions are never seen, and a
 * partition whose last stable offset is below its mark (a transaction still
 * open) is waited for until it commits or aborts.
 *
 * Ownership: the reader owns its librdkafka client; a message returned by
 * next() belongs to the caller (rd_kafka_message_destroy). One thread. */
#ifndef AW_TOPIC_READER_H
#define AW_TOPIC_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "common/aw_error.h"

typedef struct aw_topic_reader_options {
    const char *brokers;
    char *const *properties;      /* kafka.properties, "key=value" (TLS, SASL, ...) */
    size_t n_properties;
    const char *const *topics;
    size_t n_topics;
    int64_t since_ms;             /* start at the first message at or after this
                                     time (wall clock ms); 0 = from the beginning */
    int timeout_ms;               /* bound on metadata and offset lookups */
} aw_topic_reader_options;

typedef struct aw_topic_reader aw_topic_reader;

/* Look the topics up (AW_CONFIG naming an unknown topic), take the marks
 * and start offsets, and assign the partitions that have anything to read. */
aw_status aw_topic_reader_open(const aw_topic_reader_options *opts, aw_topic_reader **out,
                               aw_error *err);

/* The next message below the marks, waiting up to timeout_ms. *out is NULL
 * when none arrived in time or when *done (every partition reached its
 * mark). Errors: AW_TRANSIENT for a broker problem worth retrying by calling
 * again, AW_PERMANENT for a partition that cannot be read (e.g. its start
 * was deleted by retention meanwhile: the error names it). */
aw_status aw_topic_reader_next(aw_topic_reader *r, int timeout_ms, rd_kafka_message_t **out,
                               bool *done, aw_error *err);

typedef struct aw_topic_reader_progress {
    size_t partitions;     /* assigned (with something to read) */
    size_t partitions_done;
    int64_t total;         /* offsets between the starts and the marks */
    int64_t consumed;      /* of those, passed so far (messages and markers) */
} aw_topic_reader_progress;

void aw_topic_reader_get_progress(const aw_topic_reader *r, aw_topic_reader_progress *p);

void aw_topic_reader_close(aw_topic_reader *r);

#endif
