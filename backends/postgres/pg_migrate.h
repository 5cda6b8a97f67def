/* Schema migrations of the PostgreSQL backends (state and audit: one
 * numbered sequence, one runner, one aw_schema_migrations table).
 *
 * The files migrations/postgres/NNNN_name.sql are embedded into the binary
 * at build time (CMakeLists.txt generates pg_migrations_data.c from them,
 * with each file's SHA-256), so a deployed binary needs no source tree.
 *
 * aw_pg_migrate() is what `acteon-worker migrate -c FILE` runs (through the
 * driver's migrate slot):
 *  - one connection without statement_timeout (a migration may take long)
 *    but with lock_timeout AW_PG_MIGRATE_LOCK_TIMEOUT_MS;
 *  - pg_advisory_lock(AW_PG_MIGRATE_LOCK_KEY) first, so concurrent migrates
 *    (several replicas starting a deploy job) apply each migration once: the
 *    others wait, then find nothing to do;
 *  - aw_schema_migrations (version, name, checksum, applied_at) in the
 *    connection's current schema records what was applied;
 *  - every applied migration must still have the checksum it was applied
 *    with: forward-only, an edited migration is an error naming the file;
 *  - pending migrations are applied in version order, each in its own
 *    transaction together with its aw_schema_migrations row (all or
 *    nothing per file); one numbered below the newest applied one is
 *    refused (out of order);
 *  - applied versions this binary does not know (a newer binary migrated)
 *    are accepted as they are.
 *
 * The worker itself never migrates: the backend's create() checks the
 * recorded version (aw_pg_schema_check) and refuses to start with a message
 * saying to run the migrate command. */
#ifndef AW_PG_MIGRATE_H
#define AW_PG_MIGRATE_H

#include <stddef.h>

#include "backends/postgres/pg_conn.h"

#define AW_PG_MIGRATE_LOCK_KEY 0x61776d6967726174LL /* "awmigrat" */
#define AW_PG_MIGRATE_LOCK_TIMEOUT_MS 60000

typedef struct aw_pg_migration {
    int version;          /* NNNN of the file name */
    const char *file;     /* "0001_state.sql" */
    const char *sql;      /* the file's bytes, NUL-terminated */
    size_t len;
    const char *sha256;   /* lowercase hex of the file's SHA-256 */
} aw_pg_migration;

/* Generated at build time, in version order. */
extern const aw_pg_migration aw_pg_migrations[];
extern const size_t aw_pg_migrations_count;

/* Bring the schema up to date (see above). cfg should have no command
 * timeout (AW_PG_NO_TIMEOUT). *applied (may be NULL) receives the number of
 * migrations this call applied; 0 = already up to date. */
aw_status aw_pg_migrate(const aw_pg_config *cfg, int *applied, aw_error *err);

/* On a connected c: AW_OK when every embedded migration is recorded as
 * applied, AW_CONFIG (saying to run `acteon-worker migrate -c FILE`) when
 * the schema is missing or older, another status when the check failed. */
aw_status aw_pg_schema_check(aw_pg_conn *c, aw_error *err);

#endif
