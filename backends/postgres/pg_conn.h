/* One libpq connection of a PostgreSQL backend (state or audit): connect with a
 * deadline, statement_timeout, prepared statements (each PREPARED once per
 * connection, on first use), execution with a client-side deadline, the one
 * mapping of PostgreSQL errors to statuses, reconnect with backoff.
 *
 * Threads: an aw_pg_conn belongs to one session (or to the reaper) and so
 * to one thread at a time; nothing in it is locked. The config it points to
 * is immutable after the backend's create and shared read-only.
 *
 * I/O: libpq's asynchronous calls (PQsendQueryPrepared, PQconsumeInput)
 * with poll(2), so every wait is bounded: connecting by connect_timeout_ms,
 * a statement by command_timeout_ms plus AW_PG_CLIENT_SLACK_MS (the server's
 * statement_timeout, set to command_timeout_ms on every connection, fires
 * first and leaves the connection usable; the client-side bound only catches
 * a server or network that stopped answering). An optional interrupt fd cuts
 * every wait short when it becomes readable (the reaper's stop signal).
 *
 * Failures: a lost connection, a client-side timeout or an interrupt drop
 * the connection and return AW_TRANSIENT; the next call reconnects at once
 * and prepares again. When a reconnect fails, further attempts wait
 * aw_backoff_ms(failures) and calls made before then fail fast with
 * AW_TRANSIENT (no call ever sleeps here). A call that failed with
 * AW_TRANSIENT after its statement was sent may or may not have been
 * committed (the answer, not the statement, may be what was lost). */
#ifndef AW_PG_CONN_H
#define AW_PG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "backends/postgres/pg_params.h"
#include "common/aw_error.h"

#define AW_PG_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define AW_PG_DEFAULT_COMMAND_TIMEOUT_MS 5000
/* Upper bound on command_timeout_ms: the fencing-token argument of
 * pg_reaper.h needs every statement to end well within the reaper's grace. */
#define AW_PG_MAX_COMMAND_TIMEOUT_MS 30000
#define AW_PG_CLIENT_SLACK_MS 2000

/* What every connection of one backend uses. Immutable after create. */
typedef struct aw_pg_config {
    char *url;               /* libpq URI or conninfo: a secret, never logged */
    int connect_timeout_ms;
    int command_timeout_ms;  /* 0: no statement_timeout, no client bound (migrate) */
    char where[160];         /* "127.0.0.1:5432/acteon": for messages, no secret */
} aw_pg_config;

/* Counters of one connection's life (tests and benchmarks read them). */
typedef struct aw_pg_stats {
    uint64_t round_trips;    /* statements sent and answered (prepare included) */
    uint64_t execs;          /* prepared statements executed */
    uint64_t prepares;       /* PQprepare round trips */
    uint64_t connects;       /* successful connects */
} aw_pg_stats;

typedef struct aw_pg_conn {
    const aw_pg_config *cfg;
    PGconn *pg;                    /* NULL while disconnected */
    uint64_t prepared;             /* bit i: statement i prepared on pg */
    int interrupt_fd;              /* -1, or readable = abandon every wait */
    int failures;                  /* consecutive failed connect attempts */
    int64_t retry_at_ms;           /* monotonic: no connect attempt before */
    aw_status last_status;         /* why the last connect failed ... */
    char last_error[sizeof(((aw_error *)0)->msg)]; /* ... in words */
    bool refused;                  /* ... and it was TLS verification or
                                      authentication: see aw_pg_conn_probe */
    aw_pg_stats stats;
} aw_pg_conn;

/* Parse/validate url and the options into cfg (0 = default timeouts; for
 * command_timeout_ms, pass AW_PG_NO_TIMEOUT for none). section ("state",
 * "audit") names the config keys in messages.
 * AW_CONFIG on a bad URL or option. */
#define AW_PG_NO_TIMEOUT (-1)
aw_status aw_pg_config_init(aw_pg_config *cfg, const char *section, const char *url,
                            int connect_timeout_ms, int command_timeout_ms, aw_error *err);
void aw_pg_config_clear(aw_pg_config *cfg);

/* Bind c to cfg (no I/O). interrupt_fd may be -1. */
void aw_pg_conn_init(aw_pg_conn *c, const aw_pg_config *cfg, int interrupt_fd);
/* Connect now unless connected (ignores the backoff). */
aw_status aw_pg_conn_connect(aw_pg_conn *c, aw_error *err);
/* The start-up check of a backend's create: connect now. A failed TLS
 * verification (wrong sslrootcert, a host name not in the certificate) or
 * authentication (password, pg_hba.conf) is AW_CONFIG "<section> backend
 * postgres: ...": no retry fixes it, so the start fails naming it. Any
 * other failure (server down) stays AW_TRANSIENT, for the caller to go on
 * with. Sessions' own reconnects keep every connect failure transient: a
 * certificate or password fixed on the server side is picked up. */
aw_status aw_pg_conn_probe(aw_pg_conn *c, const char *section, aw_error *err);
/* Connected, or reconnect now unless the backoff after a failed attempt
 * says not yet (then fail fast, AW_TRANSIENT, with that failure's reason).
 * aw_pg_exec_stmt does this itself; call it before aw_pg_exec_params. */
aw_status aw_pg_conn_ensure(aw_pg_conn *c, aw_error *err);
/* Close the connection (the struct stays usable: the next call reconnects). */
void aw_pg_conn_drop(aw_pg_conn *c);
/* The server process id of the current connection, 0 when disconnected. */
int aw_pg_conn_backend_pid(const aw_pg_conn *c);

/* Execute statement d with p's parameters, preparing it first if this
 * connection has not yet. slot (< 64) identifies d among the statements of
 * the connection's owner (a connection serves one backend, so each backend
 * numbers its own table from 0). Results are in binary format. On AW_OK *res is
 * the result (PGRES_TUPLES_OK or PGRES_COMMAND_OK): PQclear it. On failure
 * *res is NULL and err says what went wrong, mapped by aw_pg_error_status. */
aw_status aw_pg_exec_stmt(aw_pg_conn *c, unsigned slot, const aw_pg_stmt_def *d,
                          const aw_pg_params *p, PGresult **res, aw_error *err);

/* One unnamed, parameterised statement (text or binary parameters as p
 * says; p may be NULL). *res as for aw_pg_exec; res may be NULL when the
 * result is not wanted. what names it in messages. */
aw_status aw_pg_exec_params(aw_pg_conn *c, const char *sql, const aw_pg_params *p,
                            const char *what, PGresult **res, aw_error *err);

/* Simple-query protocol: sql may hold several statements (our own fixed SQL
 * only: migrations, BEGIN/COMMIT). Fails on the first statement that fails. */
aw_status aw_pg_exec_simple(aw_pg_conn *c, const char *sql, const char *what, aw_error *err);

/* THE mapping of PostgreSQL errors to statuses: SQLSTATE class 08
 * (connection exception), a broken connection, 57P01/57P02/57P03 (server
 * shutting down or starting), 57014 (statement_timeout), 40001/40P01
 * (serialization failure, deadlock), 55P03 (lock_timeout), 53300 (too many
 * connections), 25006 (read-only: connected to a standby after a failover)
 * -> AW_TRANSIENT; 23505 (unique violation) -> AW_CONFLICT; anything else ->
 * AW_PERMANENT. sqlstate may be NULL (a client-side failure): transient when
 * the connection is bad, else AW_INTERNAL. */
aw_status aw_pg_error_status(const char *sqlstate, bool connection_bad);

/* Big-endian readers for binary result columns. */
int64_t aw_pg_get_i64(const PGresult *r, int row, int col);
int32_t aw_pg_get_i32(const PGresult *r, int row, int col);

#endif
