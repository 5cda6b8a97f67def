/* The configured providers by name, and each worker thread's sessions.
 * aw_provider_set is built once at start-up, then read-only and shared;
 * aw_provider_sessions belongs to one worker thread. */
#ifndef AW_PROVIDER_SET_H
#define AW_PROVIDER_SET_H

#include "config/config.h"
#include "worker/provider.h"

typedef struct aw_provider_set aw_provider_set;
typedef struct aw_provider_sessions aw_provider_sessions;

aw_status aw_provider_set_new(const aw_config *cfg, aw_provider_set **out, aw_error *err);
void aw_provider_set_destroy(aw_provider_set *ps);

/* Index of the provider named name, or -1. */
int aw_provider_set_find(const aw_provider_set *ps, const char *name);
const aw_provider_config *aw_provider_set_config(const aw_provider_set *ps, int idx);

aw_status aw_provider_sessions_open(const aw_provider_set *ps, aw_provider_sessions **out,
                                    aw_error *err);
void aw_provider_sessions_close(aw_provider_sessions *s);

/* One attempt of each of calls[0..n) through provider idx: concurrently when
 * the driver has execute_many, else one after the other (stop is honoured
 * between calls). Every res[i] is filled: an answer with elapsed_us set, or
 * not_started. A failure that is not an answer (a broken session) becomes a
 * failed result: error_code the status name, error its message, retriable
 * as the error says. */
void aw_provider_execute_many(aw_provider_sessions *s, int idx, const aw_provider_call *calls,
                              aw_provider_result *res, size_t n, const aw_provider_stop *stop);

#endif
