/* Schema migrations of the ClickHouse backends (audit and state).
 *
 * One embedded sequence for both: the audit and the state driver's migrate
 * slots both run aw_ch_migrate(), so configuring either (or both, against
 * the same database) applies every file; a second run applies nothing.
 * create() of either checks that the newest embedded version is recorded.
 *
 * migrations/clickhouse/NNNN_name.sql are embedded at build time
 * (aw_embed_migrations in CMakeLists.txt). A file holds statements separated
 * by ';' at the end of a line ('--' comment lines are dropped; no ';' at a
 * line end inside a literal), sent one per request.
 *
 * aw_ch_migrate() (the driver's migrate slot):
 *  - creates AW_CH_MIGRATIONS_TABLE (version, name, checksum, applied_at;
 *    ReplacingMergeTree on version) if missing. Its name comes from its
 *    first user, the audit backend; it is kept so deployments migrated
 *    before the state backend existed stay recognised;
 *  - an applied migration whose checksum differs from the embedded file is
 *    an error naming the file (forward-only);
 *  - applies the pending files in version order, then records each one.
 * ClickHouse has no transactions and no locks: concurrency safety comes from
 * every statement being idempotent (CREATE ... IF NOT EXISTS), so two
 * concurrent migrates both apply a file harmlessly and both record it; the
 * version table collapses the duplicate row and readers group by version.
 * 18.16 has no ADD COLUMN IF NOT EXISTS: an ALTER TABLE ... ADD COLUMN
 * answered "column with this name already exists" (code 44) counts as
 * applied, which makes a plain ADD COLUMN idempotent too. */
#ifndef AW_CH_MIGRATE_H
#define AW_CH_MIGRATE_H

#include <stddef.h>

#include "backends/clickhouse/ch_http.h"

#define AW_CH_MIGRATIONS_TABLE "aw_audit_schema_migrations"

typedef struct aw_ch_migration {
    int version;
    const char *file;
    const char *sql;  /* NUL-terminated */
    size_t len;
    const char *sha256;
} aw_ch_migration;

extern const aw_ch_migration aw_ch_migrations[];
extern const size_t aw_ch_migrations_count;

aw_status aw_ch_migrate(aw_ch_conn *c, int *applied, aw_error *err);

/* AW_OK when every embedded migration is recorded; AW_CONFIG (saying to run
 * `acteon-worker migrate -c FILE`) when the schema is missing or older. */
aw_status aw_ch_schema_check(aw_ch_conn *c, aw_error *err);

/* The two above on a connection of their own, for the drivers' create
 * (check with cfg) and migrate slot (parse url for `setting`, e.g.
 * "audit.url", then migrate). */
aw_status aw_ch_schema_check_cfg(const aw_ch_config *cfg, aw_error *err);
aw_status aw_ch_migrate_url(const char *setting, const char *url, int connect_timeout_ms,
                            int request_timeout_ms, int *applied, aw_error *err);

/* Split sql into statements (see above): calls fn for each non-empty one
 * (text without the ';'); stops at the first non-OK status. Pure. */
aw_status aw_ch_split_statements(const char *sql,
                                 aw_status (*fn)(void *ctx, const char *stmt, size_t len,
                                                 aw_error *err),
                                 void *ctx, aw_error *err);

#endif
