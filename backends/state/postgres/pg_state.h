/* Private hooks of the "postgres" state backend for its tests and
 * benchmarks (tests/conformance/test_state_postgres.c). Not part of the
 * state interface: the worker never includes this. `backend` and `session`
 * are the opaque pointers of aw_state / aw_state_session. */
#ifndef AW_PG_STATE_H
#define AW_PG_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/postgres/pg_conn.h"
#include "backends/postgres/pg_migrate.h"

/* The session connection's counters: execs counts prepared statements
 * executed (PQsendQueryPrepared calls), round_trips every statement sent. */
void aw_state_postgres_session_stats(void *session, aw_pg_stats *out);
/* The server process id of the session's connection (0 if disconnected). */
int aw_state_postgres_session_pid(void *session);

/* The reaper of a backend (NULL when disabled). */
bool aw_state_postgres_has_reaper(void *backend);
void aw_state_postgres_set_reap_grace_ms(void *backend, int64_t ms);
uint64_t aw_state_postgres_reaper_sweeps(void *backend);

#endif
