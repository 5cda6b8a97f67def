/* Helpers for the PostgreSQL test programs (state and audit): the
 * operator's side of the server, through a plain blocking libpq connection.
 * Every failure fails the running cmocka test. Test code only. */
#ifndef AW_SUITE_PG_ADMIN_H
#define AW_SUITE_PG_ADMIN_H

#ifdef AW_WITH_STATE_POSTGRES

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/* url with the search_path set to schema (NULL: url itself). */
void aw_pgt_url_for(const char *url, const char *schema, char *out, size_t outsz);
/* A connection with server notices silenced ("drop cascades to ..."). */
PGconn *aw_pgt_admin_open(const char *url);
/* Run fixed SQL (several statements allowed). */
void aw_pgt_admin_sql(PGconn *c, const char *sql);
/* One integer from a parameterised query (text parameters). */
long long aw_pgt_admin_int(PGconn *c, const char *sql, int n, const char *const *params);
/* A fresh, empty schema named awt_<hex> (a plain identifier), and its drop. */
void aw_pgt_schema_create(PGconn *adm, char *name, size_t namesz);
void aw_pgt_schema_drop(PGconn *adm, const char *name);
/* True when no server backend with this pid is left. */
bool aw_pgt_backend_gone(PGconn *adm, int pid);

#endif
#endif
