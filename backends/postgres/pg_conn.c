/* One libpq connection of a PostgreSQL backend: see pg_conn.h. */
#include "backends/postgres/pg_conn.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

#define CONN_BACKOFF_BASE_MS 50
#define CONN_BACKOFF_MAX_MS 5000
#define CONN_APP_NAME "acteon-worker"

/* ---- config -------------------------------------------------------------- */

/* The value of option key in parsed conninfo opts, NULL when unset. */
static const char *opt_value(const PQconninfoOption *opts, const char *key)
{
    for (const PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            return o->val && *o->val ? o->val : NULL;
    return NULL;
}

aw_status aw_pg_config_init(aw_pg_config *cfg, const char *section, const char *url,
                            int connect_timeout_ms, int command_timeout_ms, aw_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    if (connect_timeout_ms < 0 ||
        (command_timeout_ms < 0 && command_timeout_ms != AW_PG_NO_TIMEOUT))
        return aw_error_set(err, AW_CONFIG,
                            "postgres %s: connect/command timeouts must be >= 0 (0 = default)",
                            section);
    /* Only state needs the cap (its fencing relies on it); audit calls may
     * legitimately take longer (a large batch, a cleanup chunk). */
    if (strcmp(section, "state") == 0 && command_timeout_ms > AW_PG_MAX_COMMAND_TIMEOUT_MS)
        return aw_error_set(err, AW_CONFIG,
                            "postgres %s: command timeout %d ms is above the limit of %d ms "
                            "(fencing tokens rely on statements ending well within the "
                            "reaper's grace period)",
                            section, command_timeout_ms, AW_PG_MAX_COMMAND_TIMEOUT_MS);
    if (!url || !*url)
        return aw_error_set(err, AW_CONFIG,
                            "%s.url: empty; the postgres backend needs a libpq URI such as "
                            "postgres://user:password@host:5432/db?sslmode=require",
                            section);
    /* libpq's parse messages may quote parts of the string (a password
     * among them): they are not repeated here. */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        if (perr)
            PQfreemem(perr);
        return aw_error_set(err, AW_CONFIG,
                            "%s.url: not a valid libpq connection URI (expected "
                            "postgres://user:password@host:port/db?param=value...)",
                            section);
    }
    const char *host = opt_value(opts, "host"), *hostaddr = opt_value(opts, "hostaddr");
    const char *port = opt_value(opts, "port"), *db = opt_value(opts, "dbname");
    const char *ct = opt_value(opts, "connect_timeout");
    snprintf(cfg->where, sizeof(cfg->where), "%s:%s/%s",
             host ? host : hostaddr ? hostaddr : "localhost", port ? port : "5432",
             db ? db : "(default db)");
    int url_ct_s = ct ? atoi(ct) : 0;
    int url_ct_ms = url_ct_s > 0 ? (url_ct_s > 3600 ? 3600 : url_ct_s) * 1000 : 0;
    PQconninfoFree(opts);

    cfg->url = strdup(url);
    if (!cfg->url)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    /* Explicit options win over the URL, the URL over the defaults. */
    cfg->connect_timeout_ms = connect_timeout_ms ? connect_timeout_ms
                              : url_ct_ms > 0    ? url_ct_ms
                                                 : AW_PG_DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->command_timeout_ms = command_timeout_ms == AW_PG_NO_TIMEOUT ? 0
                              : command_timeout_ms                   ? command_timeout_ms
                                                 : AW_PG_DEFAULT_COMMAND_TIMEOUT_MS;
    return AW_OK;
}

void aw_pg_config_clear(aw_pg_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->url);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- errors -------------------------------------------------------------- */

aw_status aw_pg_error_status(const char *sqlstate, bool connection_bad)
{
    /* The server cannot serve this now but will: the connection went away,
     * the server is shutting down, restarting or overloaded, a timeout
     * fired, a concurrent transaction forced a retry, or this is a standby
     * (after a failover: the next connect should find the new primary). */
    static const char *const transient[] = {
        "57P01", /* admin_shutdown (pg_terminate_backend, fast shutdown) */
        "57P02", /* crash_shutdown */
        "57P03", /* cannot_connect_now (starting up) */
        "57014", /* query_canceled: statement_timeout */
        "40001", /* serialization_failure */
        "40P01", /* deadlock_detected */
        "55P03", /* lock_not_available: lock_timeout */
        "53300", /* too_many_connections */
        "25006", /* read_only_sql_transaction: a standby */
    };
    if (connection_bad)
        return AW_TRANSIENT;
    if (!sqlstate || strlen(sqlstate) != 5)
        return AW_INTERNAL; /* libpq failed on its own with the connection fine */
    if (strncmp(sqlstate, "08", 2) == 0) /* connection_exception class */
        return AW_TRANSIENT;
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (strcmp(sqlstate, transient[i]) == 0)
            return AW_TRANSIENT;
    if (strcmp(sqlstate, "23505") == 0) /* unique_violation */
        return AW_CONFLICT;
    return AW_PERMANENT;
}

/* Errors after which this connection should not be used again even though
 * libpq still considers it open: a standby (reconnecting may reach the new
 * primary), prepared statements gone (DISCARD ALL by a pooler), a prepared
 * plan whose result type a migration changed ("cached plan must not change
 * result type"). The next call reconnects and prepares afresh. */
static bool sqlstate_drops(const char *sqlstate)
{
    return sqlstate && (strcmp(sqlstate, "25006") == 0 || strcmp(sqlstate, "26000") == 0 ||
                        strcmp(sqlstate, "0A000") == 0);
}

/* The objects of migration 0001 are missing (or of an older schema). */
static bool sqlstate_schema(const char *sqlstate)
{
    return sqlstate && (strcmp(sqlstate, "42P01") == 0 || strcmp(sqlstate, "42883") == 0 ||
                        strcmp(sqlstate, "42703") == 0 || strcmp(sqlstate, "42704") == 0);
}

/* libpq messages end with a newline; keep the first line only. */
static void first_line(const char *msg, char *out, size_t outsz)
{
    size_t n = strcspn(msg ? msg : "", "\n");
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, msg ? msg : "", n);
    out[n] = '\0';
}

/* Fill err from a failed result (res may be NULL: use the connection's
 * message); drop the connection when it cannot be used again. */
static aw_status conn_fail(aw_pg_conn *c, const PGresult *res, const char *what, aw_error *err)
{
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    bool bad = !c->pg || PQstatus(c->pg) == CONNECTION_BAD;
    aw_status st = aw_pg_error_status(sqlstate, bad);
    char msg[200];
    first_line(primary ? primary : c->pg ? PQerrorMessage(c->pg) : "not connected", msg,
               sizeof(msg));
    aw_error_set(err, st, "postgres %s: %s: %s%s%s%s", c->cfg->where, what,
                 sqlstate ? sqlstate : "", sqlstate ? " " : "", msg,
                 sqlstate_schema(sqlstate)
                     ? " (schema missing or outdated: run acteon-worker migrate -c FILE)"
                     : "");
    if (bad || sqlstate_drops(sqlstate))
        aw_pg_conn_drop(c);
    return st;
}

/* ---- waiting ------------------------------------------------------------- */

typedef enum { WAIT_READY, WAIT_TIMEOUT, WAIT_INTERRUPTED, WAIT_ERROR } wait_result;

/* Wait until fd has one of events, the deadline (monotonic ms; 0 = none)
 * passes, or the interrupt fd becomes readable. */
static wait_result conn_wait(const aw_pg_conn *c, int fd, short events, int64_t deadline)
{
    if (fd < 0)
        return WAIT_ERROR;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = fd, .events = events},
                                {.fd = c->interrupt_fd, .events = POLLIN}};
        nfds_t n = c->interrupt_fd >= 0 ? 2 : 1;
        int timeout = -1;
        if (deadline > 0) {
            int64_t left = deadline - aw_mono_now_ms();
            if (left <= 0)
                return WAIT_TIMEOUT;
            timeout = left > 60000 ? 60000 : (int)left;
        }
        int r = poll(pfd, n, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return WAIT_ERROR;
        if (n == 2 && pfd[1].revents)
            return WAIT_INTERRUPTED;
        if (r > 0 && pfd[0].revents)
            return WAIT_READY;
    }
}

static aw_status wait_fail(aw_pg_conn *c, wait_result w, const char *what, int64_t bound_ms,
                           aw_error *err)
{
    char why[64];
    if (w == WAIT_TIMEOUT)
        snprintf(why, sizeof(why), "no answer within %" PRId64 " ms", bound_ms);
    else
        snprintf(why, sizeof(why), "%s",
                 w == WAIT_INTERRUPTED ? "interrupted (shutting down)" : "poll failed");
    aw_pg_conn_drop(c);
    return aw_error_set(err, AW_TRANSIENT, "postgres %s: %s: %s", c->cfg->where, what, why);
}

/* ---- connection ---------------------------------------------------------- */

void aw_pg_conn_init(aw_pg_conn *c, const aw_pg_config *cfg, int interrupt_fd)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->interrupt_fd = interrupt_fd;
}

void aw_pg_conn_drop(aw_pg_conn *c)
{
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    c->prepared = 0;
}

int aw_pg_conn_backend_pid(const aw_pg_conn *c) { return c->pg ? PQbackendPID(c->pg) : 0; }

static aw_status roundtrip(aw_pg_conn *c, const char *what, PGresult **res, aw_error *err);

/* Server notices ("relation already exists, skipping" from a migration run
 * twice) go to the debug log, not to libpq's default of stderr. */
static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    char line[200];
    first_line(message, line, sizeof(line));
    AW_DEBUG("postgres", "server notice: %s", line);
}

/* libpq's words (PostgreSQL 15 client and server) for a connection the
 * server or our TLS check refused, rather than one that could not be made. */
static bool connect_refused(const char *msg)
{
    static const char *const phrases[] = {
        "certificate verify failed", "does not match host name",
        "password authentication failed", "no pg_hba.conf entry", "pg_hba.conf rejects",
        "server does not support SSL", "root certificate file",
    };
    for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
        if (strstr(msg, phrases[i]))
            return true;
    return false;
}

static aw_status connect_fail(aw_pg_conn *c, aw_status st, const char *msg, aw_error *err)
{
    aw_pg_conn_drop(c);
    c->refused = connect_refused(msg);
    c->failures++;
    c->retry_at_ms = aw_mono_now_ms() + aw_backoff_ms(c->failures, CONN_BACKOFF_BASE_MS,
                                                      CONN_BACKOFF_MAX_MS);
    c->last_status = st;
    snprintf(c->last_error, sizeof(c->last_error), "postgres %s: connect: %s", c->cfg->where,
             msg);
    return aw_error_set(err, st, "%s", c->last_error);
}

aw_status aw_pg_conn_connect(aw_pg_conn *c, aw_error *err)
{
    if (c->pg)
        return AW_OK;
    /* The URL is expanded as dbname; our fallback_application_name comes
     * after it and only applies when the URL sets none. Nothing placed after
     * dbname may override what the URL says (options, search_path...). */
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const vals[] = {c->cfg->url, CONN_APP_NAME, NULL};
    int64_t deadline = aw_mono_now_ms() + c->cfg->connect_timeout_ms;
    c->pg = PQconnectStartParams(keys, vals, 1);
    if (!c->pg)
        return connect_fail(c, AW_NOMEM, "out of memory", err);
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    char msg[200];
    while (ps != PGRES_POLLING_OK) {
        if (ps == PGRES_POLLING_FAILED || PQstatus(c->pg) == CONNECTION_BAD) {
            first_line(PQerrorMessage(c->pg), msg, sizeof(msg));
            return connect_fail(c, AW_TRANSIENT, msg, err);
        }
        wait_result w = conn_wait(c, PQsocket(c->pg),
                                  ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
        if (w != WAIT_READY) {
            snprintf(msg, sizeof(msg), "%s",
                     w == WAIT_TIMEOUT ? "no connection within the connect timeout"
                     : w == WAIT_INTERRUPTED ? "interrupted (shutting down)"
                                             : "poll failed");
            if (w == WAIT_TIMEOUT)
                snprintf(msg, sizeof(msg), "no connection within %d ms",
                         c->cfg->connect_timeout_ms);
            return connect_fail(c, AW_TRANSIENT, msg, err);
        }
        ps = PQconnectPoll(c->pg);
    }
    PQsetNoticeProcessor(c->pg, notice_to_log, NULL);
    if (PQsetnonblocking(c->pg, 1) != 0)
        return connect_fail(c, AW_INTERNAL, "cannot switch to non-blocking mode", err);
    /* The server's own bound on every statement of this connection
     * (0 = none). A parameter, like everything else. */
    char ms[16];
    snprintf(ms, sizeof(ms), "%d", c->cfg->command_timeout_ms);
    aw_pg_params p;
    aw_pg_params_init(&p);
    aw_pg_param_text(&p, ms);
    aw_error serr = {0};
    if (aw_pg_exec_params(c, "SELECT set_config('statement_timeout', $1, false)", &p,
                          "set statement_timeout", NULL, &serr) != AW_OK)
        return connect_fail(c, serr.code == AW_PERMANENT ? AW_PERMANENT : AW_TRANSIENT,
                            serr.msg, err);
    c->failures = 0;
    c->retry_at_ms = 0;
    c->refused = false;
    c->stats.connects++;
    return AW_OK;
}

aw_status aw_pg_conn_probe(aw_pg_conn *c, const char *section, aw_error *err)
{
    aw_status rc = aw_pg_conn_connect(c, err);
    if (rc == AW_TRANSIENT && c->refused)
        return aw_error_set(err, AW_CONFIG, "%s backend postgres: %s", section, c->last_error);
    return rc;
}

aw_status aw_pg_conn_ensure(aw_pg_conn *c, aw_error *err)
{
    if (c->pg)
        return AW_OK;
    int64_t now = aw_mono_now_ms();
    if (c->failures > 0 && now < c->retry_at_ms)
        return aw_error_set(err, c->last_status, "%s (next attempt in %" PRId64 " ms)",
                            c->last_error, c->retry_at_ms - now);
    return aw_pg_conn_connect(c, err);
}

/* ---- one round trip -------------------------------------------------------- */

/* After a PQsend*: flush the request, then read every result until libpq
 * says the command is complete. *res (may be NULL) gets the result of the
 * last statement; the first failed statement decides the outcome. */
static aw_status roundtrip(aw_pg_conn *c, const char *what, PGresult **res, aw_error *err)
{
    int64_t bound = c->cfg->command_timeout_ms > 0
                        ? c->cfg->command_timeout_ms + AW_PG_CLIENT_SLACK_MS
                        : 0;
    int64_t deadline = bound ? aw_mono_now_ms() + bound : 0;
    int sock = PQsocket(c->pg);
    c->stats.round_trips++;
    for (;;) {
        int f = PQflush(c->pg);
        if (f == 0)
            break;
        if (f < 0)
            return conn_fail(c, NULL, what, err);
        wait_result w = conn_wait(c, sock, POLLIN | POLLOUT, deadline);
        if (w != WAIT_READY)
            return wait_fail(c, w, what, bound, err);
        if (!PQconsumeInput(c->pg))
            return conn_fail(c, NULL, what, err);
    }
    PGresult *last = NULL, *failed = NULL;
    for (;;) {
        while (PQisBusy(c->pg)) {
            wait_result w = conn_wait(c, sock, POLLIN, deadline);
            if (w != WAIT_READY) {
                PQclear(last);
                PQclear(failed);
                return wait_fail(c, w, what, bound, err);
            }
            if (!PQconsumeInput(c->pg)) {
                PQclear(last);
                PQclear(failed);
                return conn_fail(c, NULL, what, err);
            }
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r)
            break;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
            PQclear(last);
            last = r;
        } else if (!failed) {
            failed = r;
        } else {
            PQclear(r);
        }
        if (PQstatus(c->pg) == CONNECTION_BAD)
            break; /* no more results will come */
    }
    if (failed || PQstatus(c->pg) == CONNECTION_BAD || !last) {
        aw_status rc = conn_fail(c, failed, what, err);
        PQclear(failed);
        PQclear(last);
        return rc;
    }
    if (res)
        *res = last;
    else
        PQclear(last);
    return AW_OK;
}

/* A send failed before anything was on the wire. */
static aw_status send_fail(aw_pg_conn *c, const char *what, aw_error *err)
{
    return conn_fail(c, NULL, what, err);
}

static aw_status conn_prepare(aw_pg_conn *c, unsigned id, const aw_pg_stmt_def *d,
                              aw_error *err)
{
    if (c->prepared & (UINT64_C(1) << id))
        return AW_OK;
    if (!PQsendPrepare(c->pg, d->name, d->sql, d->nparams, NULL))
        return send_fail(c, d->name, err);
    c->stats.prepares++;
    aw_status rc = roundtrip(c, d->name, NULL, err);
    if (rc == AW_OK)
        c->prepared |= UINT64_C(1) << id;
    return rc;
}

aw_status aw_pg_exec_stmt(aw_pg_conn *c, unsigned slot, const aw_pg_stmt_def *d,
                          const aw_pg_params *p, PGresult **res, aw_error *err)
{
    *res = NULL;
    if (!d || slot >= 64 || p->n != d->nparams)
        return aw_error_set(err, AW_INTERNAL, "postgres: statement %u called with %d parameters",
                            slot, p->n);
    aw_status rc = aw_pg_conn_ensure(c, err);
    if (rc == AW_OK)
        rc = conn_prepare(c, slot, d, err);
    if (rc != AW_OK)
        return rc;
    if (!PQsendQueryPrepared(c->pg, d->name, p->n, p->values, p->lengths, p->formats, 1))
        return send_fail(c, d->name, err);
    c->stats.execs++;
    return roundtrip(c, d->name, res, err);
}

aw_status aw_pg_exec_params(aw_pg_conn *c, const char *sql, const aw_pg_params *p,
                            const char *what, PGresult **res, aw_error *err)
{
    if (res)
        *res = NULL;
    if (!c->pg)
        return aw_error_set(err, AW_TRANSIENT, "postgres %s: %s: not connected", c->cfg->where,
                            what);
    if (!PQsendQueryParams(c->pg, sql, p ? p->n : 0, NULL, p ? p->values : NULL,
                           p ? p->lengths : NULL, p ? p->formats : NULL, 0))
        return send_fail(c, what, err);
    return roundtrip(c, what, res, err);
}

aw_status aw_pg_exec_simple(aw_pg_conn *c, const char *sql, const char *what, aw_error *err)
{
    if (!c->pg)
        return aw_error_set(err, AW_TRANSIENT, "postgres %s: %s: not connected", c->cfg->where,
                            what);
    if (!PQsendQuery(c->pg, sql))
        return send_fail(c, what, err);
    return roundtrip(c, what, NULL, err);
}

/* ---- binary results ---------------------------------------------------- */

int64_t aw_pg_get_i64(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

int32_t aw_pg_get_i32(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 4)
        return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 8) | p[i];
    return (int32_t)v;
}
