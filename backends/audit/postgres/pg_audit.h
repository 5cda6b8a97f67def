/* Private hooks of the "postgres" audit backend for its tests and
 * benchmarks (tests/conformance/test_audit_postgres.c). Not part of the
 * audit interface: the worker never includes this. `session` is the opaque
 * pointer of aw_audit_session. */
#ifndef AW_PG_AUDIT_H
#define AW_PG_AUDIT_H

#include "backends/postgres/pg_conn.h"

/* The session connection's counters: round_trips counts every statement
 * sent (a prepare included), execs the prepared statements executed. */
void aw_audit_postgres_session_stats(void *session, aw_pg_stats *out);
/* The server process id of the session's connection (0 if disconnected). */
int aw_audit_postgres_session_pid(void *session);

#endif
