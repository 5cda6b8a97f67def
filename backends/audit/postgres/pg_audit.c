/* The PostgreSQL audit backend ("postgres"), on libpq.
 *
 *   audit = { backend = "postgres";
 *             url = "postgres://user:password@host:5432/db?sslmode=require"; };
 *
 * Records live in aw_audit_records (migrations/postgres/0002_audit.sql),
 * created by `acteon-worker migrate -c FILE` (the migrate slot: the same
 * runner and migration sequence as the state backend, backends/postgres/
 * pg_migrate.h). create() never changes the schema: it refuses to start,
 * naming that command, when the schema is missing or older than this build.
 *
 * Sessions: one connection each (backends/postgres/pg_conn.h), so a session
 * inherits its behaviour: bounded waits, statement_timeout =
 * request_timeout_ms, reconnect on the next call after a lost connection
 * (AW_TRANSIENT for the call that saw the loss), errors mapped in one place
 * (connection loss, timeouts, serialization failures and deadlocks are
 * transient; everything else permanent).
 *
 * Operations: append_batch in pg_audit_write.c, query in pg_audit_query.c,
 * cleanup here (one bounded DELETE). Threads: see pg_audit_internal.h. */
#include "backends/audit/postgres/pg_audit.h"

#include <stdlib.h>
#include <string.h>

#include "backends/audit/postgres/pg_audit_internal.h"
#include "backends/postgres/pg_migrate.h"
#include "common/aw_log.h"
#include "common/aw_session.h"

static const aw_pg_stmt_def stmts[PGA_STMT_COUNT] = {
    /* One binary array per column (pg_audit_write.c); unnest walks them in
     * step, in the order sent. */
    [PGA_INSERT] = {"aw_audit_insert",
                    "INSERT INTO aw_audit_records (" PGA_COLUMN_LIST ") "
                    "SELECT r, a, n, t, p, ty, d, o, de::json, pa::json, me::json, st, sp, so, w, "
                    "       f, att, da, co, du, ex, ru, fp, gi, ci "
                    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
                    "            $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], "
                    "            $11::text[], $12::text[], $13::integer[], $14::bigint[], "
                    "            $15::text[], $16::bigint[], $17::bigint[], $18::bigint[], "
                    "            $19::bigint[], $20::bigint[], $21::bigint[], $22::text[], $23::text[], "
                    "            $24::text[], $25::text[]) "
                    "     AS b(r, a, n, t, p, ty, d, o, de, pa, me, st, sp, so, w, "
                    "          f, att, da, co, du, ex, ru, fp, gi, ci) "
                    "ON CONFLICT (record_id) DO NOTHING",
                    PGA_COLUMNS},

    /* $1 now_ms, $2 max_rows. The expires_at index finds at most $2 expired
     * rows; the delete then goes straight to them by physical address (no
     * second index lookup). Rows deleted meanwhile by another cleanup are
     * skipped, not counted. */
    [PGA_CLEANUP] = {"aw_audit_cleanup",
                     "DELETE FROM aw_audit_records WHERE ctid = ANY (ARRAY("
                     "  SELECT ctid FROM aw_audit_records "
                     "  WHERE expires_at_ms <= $1::bigint LIMIT $2::bigint))",
                     2},
};

const aw_pg_stmt_def *aw_pga_stmt_get(pga_stmt id)
{
    return id < PGA_STMT_COUNT ? &stmts[id] : NULL;
}

aw_status aw_pga_nomem(aw_error *err) { return aw_error_set(err, AW_NOMEM, "out of memory"); }

/* ---- create / destroy / sessions ------------------------------------------ */

static void pga_destroy(void *backend)
{
    pga_backend *b = backend;
    if (!b)
        return;
    aw_pg_config_clear(&b->cfg);
    free(b);
}

static aw_status pga_create(const aw_audit_options *opts, void **out, aw_error *err)
{
    *out = NULL;
    /* retention_ms is not needed: every record carries its expires_at. */
    aw_pg_conn probe;
    pga_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return aw_pga_nomem(err);
    aw_status rc = aw_pg_config_init(&b->cfg, "audit", opts ? opts->url : NULL,
                                     opts ? opts->connect_timeout_ms : 0,
                                     opts ? opts->request_timeout_ms : 0, err);
    if (rc != AW_OK)
        goto fail;
    /* Check the schema once, so a database nobody migrated fails the
     * start-up with the command to run, and so does a refused TLS check
     * or password (aw_pg_conn_probe). An unreachable server does not:
     * sessions retry. */
    aw_pg_conn_init(&probe, &b->cfg, -1);
    rc = aw_pg_conn_probe(&probe, "audit", err);
    if (rc == AW_OK)
        rc = aw_pg_schema_check(&probe, err);
    aw_pg_conn_drop(&probe);
    if (rc == AW_TRANSIENT) {
        AW_WARN("audit.postgres", "%s (continuing: sessions will retry)",
                err ? err->msg : "postgres not reachable");
        rc = AW_OK;
    }
    if (rc != AW_OK)
        goto fail;
    *out = b;
    return AW_OK;

fail:
    pga_destroy(b);
    return rc;
}

static void pga_session_close(void *session)
{
    pga_session *s = session;
    if (!s)
        return;
    aw_pg_conn_drop(&s->conn);
    for (size_t i = 0; i < PGA_COLUMNS; i++)
        aw_buf_free(&s->arr[i]);
    aw_buf_free(&s->sql);
    free(s);
}

static aw_status pga_session_connect(void *session, aw_error *err)
{
    pga_session *s = session;
    aw_pg_conn_init(&s->conn, &s->b->cfg, -1);
    return aw_pg_conn_connect(&s->conn, err);
}

static aw_status pga_session_open(void *backend, void **session, aw_error *err)
{
    return aw_session_open(backend, sizeof(pga_session), pga_session_connect,
                           pga_session_close, session, err);
}

void aw_audit_postgres_session_stats(void *session, aw_pg_stats *out)
{
    *out = ((pga_session *)session)->conn.stats;
}

int aw_audit_postgres_session_pid(void *session)
{
    return aw_pg_conn_backend_pid(&((pga_session *)session)->conn);
}

/* ---- cleanup --------------------------------------------------------------- */

static aw_status pga_cleanup(void *session, int64_t now_ms, size_t max_rows, size_t *deleted,
                             aw_error *err)
{
    pga_session *s = session;
    *deleted = 0;
    if (max_rows == 0)
        return AW_OK; /* no work at all, not even a round trip */
    aw_pg_params p;
    PGresult *r = NULL;
    aw_pg_params_init(&p);
    aw_pg_param_i64(&p, now_ms);
    aw_pg_param_i64(&p, max_rows > INT64_MAX ? INT64_MAX : (int64_t)max_rows);
    aw_status rc =
        aw_pg_exec_stmt(&s->conn, PGA_CLEANUP, aw_pga_stmt_get(PGA_CLEANUP), &p, &r, err);
    if (rc != AW_OK)
        return rc;
    *deleted = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return AW_OK;
}

/* ---- migrations ------------------------------------------------------------ */

static aw_status pga_migrate(const aw_audit_options *opts, int *applied, aw_error *err)
{
    aw_pg_config cfg;
    /* No statement_timeout: building an index on a large table may take
     * long; waits for locks are bounded by lock_timeout instead. */
    aw_status rc = aw_pg_config_init(&cfg, "audit", opts ? opts->url : NULL,
                                     opts ? opts->connect_timeout_ms : 0, AW_PG_NO_TIMEOUT, err);
    if (rc == AW_OK)
        rc = aw_pg_migrate(&cfg, applied, err);
    aw_pg_config_clear(&cfg);
    return rc;
}

const aw_audit_driver aw_audit_postgres_driver = {
    .name = "postgres",
    .create = pga_create,
    .destroy = pga_destroy,
    .session_open = pga_session_open,
    .session_close = pga_session_close,
    .append_batch = aw_pga_append_batch,
    .query = aw_pga_query,
    .cleanup = pga_cleanup,
    .migrate = pga_migrate,
};
