#include "suite_pg_admin.h"
#include "suite_util.h"

#ifdef AW_WITH_STATE_POSTGRES

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/aw_clock.h"

void aw_pgt_url_for(const char *url, const char *schema, char *out, size_t outsz)
{
    if (!schema)
        snprintf(out, outsz, "%s", url);
    else
        snprintf(out, outsz, "%s%coptions=-csearch_path%%3D%s", url,
                 strchr(url, '?') ? '&' : '?', schema);
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *aw_pgt_admin_open(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "admin connection: %s", PQerrorMessage(c));
        PQfinish(c);
        fail_msg("cannot open the admin connection");
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

void aw_pgt_admin_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        PQclear(r);
        fail_msg("admin: %s: %s", sql, msg);
    }
    PQclear(r);
}

long long aw_pgt_admin_int(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        PQclear(r);
        fail_msg("admin: %s: %s", sql, msg);
    }
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

void aw_pgt_schema_create(PGconn *adm, char *name, size_t namesz)
{
    char sql[160];
    aw_ct_random_hex(name, namesz, "awt_");
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", name);
    aw_pgt_admin_sql(adm, sql);
}

void aw_pgt_schema_drop(PGconn *adm, const char *name)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", name);
    aw_pgt_admin_sql(adm, sql);
}

bool aw_pgt_backend_gone(PGconn *adm, int pid)
{
    char p[16];
    snprintf(p, sizeof(p), "%d", pid);
    const char *params[1] = {p};
    return aw_pgt_admin_int(adm, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::integer",
                            1, params) == 0;
}

#endif
