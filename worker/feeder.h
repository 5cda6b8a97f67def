/* Producing action lines (JSON, one per line) to a topic: the `produce`
 * command and the `dev` demo's sample feed. Each message is keyed by its
 * dedup identity when the line decodes as an action (so one identity stays
 * in one partition), unkeyed otherwise (malformed lines are sent as they
 * are: the worker must reject them). */
#ifndef AW_FEEDER_H
#define AW_FEEDER_H

#include <stddef.h>
#include <stdio.h>

#include "common/aw_error.h"

typedef struct aw_feed_options {
    const char *brokers;
    const char *topic;
    char *const *properties;  /* librdkafka pass-through */
    size_t n_properties;
    size_t max_line_bytes;    /* longer lines are still sent whole */
} aw_feed_options;

/* Send every line of in. *sent receives the number acknowledged. Blank
 * lines are skipped. Fails if any message is not acknowledged. */
aw_status aw_feed_lines(const aw_feed_options *o, FILE *in, size_t *sent, aw_error *err);

#endif
