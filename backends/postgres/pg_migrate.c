/* Schema migrations of the PostgreSQL backends: see pg_migrate.h. */
#include "backends/postgres/pg_migrate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_log.h"

#define MIGRATE_HINT "run acteon-worker migrate -c FILE"

static const aw_pg_migration *newest_embedded(void)
{
    return aw_pg_migrations_count ? &aw_pg_migrations[aw_pg_migrations_count - 1] : NULL;
}

static const aw_pg_migration *embedded(int version)
{
    for (size_t i = 0; i < aw_pg_migrations_count; i++)
        if (aw_pg_migrations[i].version == version)
            return &aw_pg_migrations[i];
    return NULL;
}

/* The embedded list must be strictly ascending (CMake sorts the files and
 * refuses duplicates; this guards the generated table). */
static aw_status check_embedded(aw_error *err)
{
    for (size_t i = 1; i < aw_pg_migrations_count; i++)
        if (aw_pg_migrations[i].version <= aw_pg_migrations[i - 1].version)
            return aw_error_set(err, AW_INTERNAL,
                                "postgres migrations: %s and %s are not in strictly ascending "
                                "version order",
                                aw_pg_migrations[i - 1].file, aw_pg_migrations[i].file);
    return AW_OK;
}

/* One text value of the first row, or NULL. */
static const char *first_value(const PGresult *r)
{
    return PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : NULL;
}

/* Does aw_schema_migrations exist in the connection's search_path? */
static aw_status table_exists(aw_pg_conn *c, bool *exists, aw_error *err)
{
    PGresult *r = NULL;
    aw_status rc = aw_pg_exec_params(c, "SELECT to_regclass('aw_schema_migrations') IS NOT NULL",
                                     NULL, "schema check", &r, err);
    if (rc != AW_OK)
        return rc;
    const char *v = first_value(r);
    *exists = v && v[0] == 't';
    PQclear(r);
    return AW_OK;
}

aw_status aw_pg_schema_check(aw_pg_conn *c, aw_error *err)
{
    const aw_pg_migration *want = newest_embedded();
    bool exists = false;
    aw_status rc = table_exists(c, &exists, err);
    if (rc != AW_OK)
        return rc;
    if (!exists)
        return aw_error_set(err, AW_CONFIG,
                            "postgres %s: the schema is missing (no aw_schema_migrations "
                            "table in the connection's search_path): " MIGRATE_HINT,
                            c->cfg->where);
    PGresult *r = NULL;
    rc = aw_pg_exec_params(c, "SELECT coalesce(max(version), 0) FROM aw_schema_migrations", NULL,
                           "schema check", &r, err);
    if (rc != AW_OK)
        return rc;
    const char *v = first_value(r);
    int have = v ? atoi(v) : 0;
    PQclear(r);
    if (want && have < want->version)
        return aw_error_set(err, AW_CONFIG,
                            "postgres %s: the schema is at version %d, this build needs "
                            "%d (%s): " MIGRATE_HINT,
                            c->cfg->where, have, want->version, want->file);
    return AW_OK;
}

/* ---- migrate --------------------------------------------------------------- */

typedef struct applied_row {
    int version;
    char name[128];
    char checksum[72];
} applied_row;

/* Read aw_schema_migrations into *rows (malloc'd, *n of them). */
static aw_status read_applied(aw_pg_conn *c, applied_row **rows, int *n, aw_error *err)
{
    PGresult *r = NULL;
    *rows = NULL;
    *n = 0;
    aw_status rc = aw_pg_exec_params(
        c, "SELECT version, name, checksum FROM aw_schema_migrations ORDER BY version", NULL,
        "read aw_schema_migrations", &r, err);
    if (rc != AW_OK)
        return rc;
    int count = PQntuples(r);
    applied_row *a = calloc(count > 0 ? (size_t)count : 1, sizeof(*a));
    if (!a) {
        PQclear(r);
        return aw_error_set(err, AW_NOMEM, "out of memory");
    }
    for (int i = 0; i < count; i++) {
        a[i].version = atoi(PQgetvalue(r, i, 0));
        snprintf(a[i].name, sizeof(a[i].name), "%s", PQgetvalue(r, i, 1));
        snprintf(a[i].checksum, sizeof(a[i].checksum), "%s", PQgetvalue(r, i, 2));
    }
    PQclear(r);
    *rows = a;
    *n = count;
    return AW_OK;
}

/* Forward-only: what was applied must be what this binary embeds. */
static aw_status verify_applied(const aw_pg_conn *c, const applied_row *rows, int n,
                                aw_error *err)
{
    for (int i = 0; i < n; i++) {
        const aw_pg_migration *m = embedded(rows[i].version);
        if (!m) {
            AW_WARN("migrate",
                    "postgres %s: applied migration %d (%s) is unknown to this binary "
                    "(migrated by a newer version?)",
                    c->cfg->where, rows[i].version, rows[i].name);
            continue;
        }
        if (strcmp(m->sha256, rows[i].checksum) != 0)
            return aw_error_set(err, AW_PERMANENT,
                                "postgres %s: migration %s was applied with checksum %.12s... "
                                "but this binary's file has %.12s...: an applied migration must "
                                "never change (add a new migration instead)",
                                c->cfg->where, m->file, rows[i].checksum, m->sha256);
        if (strcmp(m->file, rows[i].name) != 0)
            AW_WARN("migrate", "postgres: migration %d was applied as %s, now named %s",
                    m->version, rows[i].name, m->file);
    }
    return AW_OK;
}

static bool is_applied(const applied_row *rows, int n, int version)
{
    for (int i = 0; i < n; i++)
        if (rows[i].version == version)
            return true;
    return false;
}

/* One migration and its record, in one transaction. */
static aw_status apply_one(aw_pg_conn *c, const aw_pg_migration *m, aw_error *err)
{
    char what[160];
    snprintf(what, sizeof(what), "migration %s", m->file);
    aw_status rc = aw_pg_exec_simple(c, "BEGIN", what, err);
    if (rc == AW_OK)
        rc = aw_pg_exec_simple(c, m->sql, what, err);
    if (rc == AW_OK) {
        char version[16];
        snprintf(version, sizeof(version), "%d", m->version);
        aw_pg_params p;
        aw_pg_params_init(&p);
        aw_pg_param_text(&p, version);
        aw_pg_param_text(&p, m->file);
        aw_pg_param_text(&p, m->sha256);
        rc = aw_pg_exec_params(c,
                               "INSERT INTO aw_schema_migrations (version, name, checksum) "
                               "VALUES ($1::integer, $2, $3)",
                               &p, what, NULL, err);
    }
    if (rc == AW_OK)
        rc = aw_pg_exec_simple(c, "COMMIT", what, err);
    if (rc != AW_OK && c->pg) {
        aw_error ignored = {0};
        (void)aw_pg_exec_simple(c, "ROLLBACK", "rollback", &ignored);
    }
    return rc;
}

static aw_status migrate_locked(aw_pg_conn *c, int *applied, aw_error *err)
{
    aw_status rc = aw_pg_exec_simple(
        c,
        "CREATE TABLE IF NOT EXISTS aw_schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())",
        "create aw_schema_migrations", err);
    applied_row *rows = NULL;
    int n = 0;
    if (rc == AW_OK)
        rc = read_applied(c, &rows, &n, err);
    if (rc == AW_OK)
        rc = verify_applied(c, rows, n, err);
    int newest = 0;
    for (int i = 0; i < n; i++)
        if (embedded(rows[i].version) && rows[i].version > newest)
            newest = rows[i].version;
    for (size_t i = 0; rc == AW_OK && i < aw_pg_migrations_count; i++) {
        const aw_pg_migration *m = &aw_pg_migrations[i];
        if (is_applied(rows, n, m->version))
            continue;
        if (m->version < newest) {
            rc = aw_error_set(err, AW_PERMANENT,
                              "postgres %s: migration %s is numbered below the newest applied "
                              "one (%d): out-of-order migrations are refused",
                              c->cfg->where, m->file, newest);
            break;
        }
        rc = apply_one(c, m, err);
        if (rc == AW_OK) {
            AW_INFO("migrate", "postgres %s: applied %s", c->cfg->where, m->file);
            (*applied)++;
            newest = m->version;
        }
    }
    free(rows);
    return rc;
}

aw_status aw_pg_migrate(const aw_pg_config *cfg, int *applied, aw_error *err)
{
    int count = 0;
    if (applied)
        *applied = 0;
    aw_status rc = check_embedded(err);
    if (rc != AW_OK)
        return rc;
    aw_pg_conn c;
    aw_pg_conn_init(&c, cfg, -1);
    rc = aw_pg_conn_connect(&c, err);
    char ms[16], key[24];
    snprintf(ms, sizeof(ms), "%d", AW_PG_MIGRATE_LOCK_TIMEOUT_MS);
    snprintf(key, sizeof(key), "%lld", (long long)AW_PG_MIGRATE_LOCK_KEY);
    aw_pg_params p;
    if (rc == AW_OK) {
        aw_pg_params_init(&p);
        aw_pg_param_text(&p, ms);
        rc = aw_pg_exec_params(&c, "SELECT set_config('lock_timeout', $1, false)", &p,
                               "set lock_timeout", NULL, err);
    }
    if (rc == AW_OK) {
        aw_pg_params_init(&p);
        aw_pg_param_text(&p, key);
        /* Session-level: held across the per-migration transactions; the
         * end of the connection releases it too. */
        rc = aw_pg_exec_params(&c, "SELECT pg_advisory_lock($1::bigint)", &p,
                               "take the migration lock", NULL, err);
        if (rc == AW_OK) {
            rc = migrate_locked(&c, &count, err);
            aw_error ignored = {0};
            aw_pg_params_init(&p);
            aw_pg_param_text(&p, key);
            (void)aw_pg_exec_params(&c, "SELECT pg_advisory_unlock($1::bigint)", &p,
                                    "release the migration lock", NULL, &ignored);
        }
    }
    aw_pg_conn_drop(&c);
    if (applied)
        *applied = count;
    return rc;
}
