/* Test and diagnostic hooks of the "redis" state backend. Callers use
 * state.h; the driver itself is aw_state_redis_driver in state_backend.h and
 * its guarantees are documented at the top of redis_state.c. */
#ifndef AW_REDIS_STATE_H
#define AW_REDIS_STATE_H

#include <stdint.h>

/* Counters of one session's connection. */
typedef struct aw_redis_stats {
    uint64_t round_trips;  /* pipelined write-then-read exchanges, connect included */
    uint64_t commands;     /* commands sent */
    uint64_t script_loads; /* SCRIPT LOAD rounds: one per connect + NOSCRIPT recoveries */
    uint64_t connects;     /* successful connects */
    long long client_id;   /* CLIENT ID of the current connection; 0 = unknown/none */
} aw_redis_stats;

/* Copy the counters of `session` (the session pointer of an aw_state_session
 * opened on a "redis" backend) into *out. Same thread rules as every other
 * call on the session. */
void aw_state_redis_session_stats(void *session, aw_redis_stats *out);

#endif
