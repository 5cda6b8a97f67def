/* Schema migrations of the ClickHouse backends: see ch_migrate.h. */
#include "backends/clickhouse/ch_migrate.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "backends/clickhouse/ch_quote.h"
#include "common/aw_log.h"

#define MIGRATE_HINT "run acteon-worker migrate -c FILE"

aw_status aw_ch_split_statements(const char *sql,
                                 aw_status (*fn)(void *ctx, const char *stmt, size_t len,
                                                 aw_error *err),
                                 void *ctx, aw_error *err)
{
    aw_buf stmt = {0};
    aw_status rc = AW_OK;
    const char *p = sql;
    while (rc == AW_OK && *p) {
        size_t n = strcspn(p, "\n");
        const char *line = p;
        p += n + (p[n] == '\n');
        size_t lead = strspn(line, " \t\r");
        if (n - lead >= 2 && line[lead] == '-' && line[lead + 1] == '-')
            continue; /* a comment line */
        size_t end = n;
        while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r'))
            end--;
        bool last = end > 0 && line[end - 1] == ';';
        if (aw_buf_append(&stmt, line, last ? end - 1 : n) || aw_buf_puts(&stmt, "\n")) {
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
            break;
        }
        if (last || !*p) {
            if (stmt.len && strspn(stmt.data, " \t\r\n") < stmt.len)
                rc = fn(ctx, stmt.data, stmt.len, err);
            aw_buf_reset(&stmt);
        }
    }
    aw_buf_free(&stmt);
    return rc;
}

/* ---- reading the version table ----------------------------------------------- */

typedef struct applied {
    int version;
    char checksum[72];
} applied;

/* Rows of c->resp, one JSON object per line: call fn for each. */
static aw_status each_line(aw_ch_conn *c, aw_status (*fn)(void *, json_t *, aw_error *),
                           void *ctx, aw_error *err)
{
    const char *p = c->resp.data ? c->resp.data : "";
    aw_status rc = AW_OK;
    while (rc == AW_OK && *p) {
        size_t n = strcspn(p, "\n");
        if (n) {
            json_t *o = json_loadb(p, n, 0, NULL);
            rc = o ? fn(ctx, o, err)
                   : aw_error_set(err, AW_PERMANENT, "clickhouse: unreadable answer line");
            json_decref(o);
        }
        p += n + (p[n] == '\n');
    }
    return rc;
}

typedef struct applied_list {
    applied rows[64];
    int n;
} applied_list;

static aw_status on_applied(void *ctx, json_t *o, aw_error *err)
{
    applied_list *l = ctx;
    if (l->n == (int)(sizeof(l->rows) / sizeof(l->rows[0])))
        return aw_error_set(err, AW_INTERNAL, "clickhouse migrate: too many applied versions");
    json_t *v = json_object_get(o, "version");
    const char *sum = json_string_value(json_object_get(o, "checksum"));
    applied *a = &l->rows[l->n++];
    a->version = json_is_integer(v) ? (int)json_integer_value(v)
                 : json_is_string(v) ? atoi(json_string_value(v))
                                     : 0;
    snprintf(a->checksum, sizeof(a->checksum), "%s", sum ? sum : "");
    return AW_OK;
}

static aw_status read_applied(aw_ch_conn *c, applied_list *l, aw_error *err)
{
    /* Concurrent migrates may have recorded a version twice (same
     * checksum); copies that disagree read as "conflicting", never match an
     * embedded checksum, and so are reported like an edited migration. */
    static const char sql[] = "SELECT version, if(min(checksum) = max(checksum), "
                              "min(checksum), 'conflicting') AS checksum FROM "
                              AW_CH_MIGRATIONS_TABLE " GROUP BY version ORDER BY version"
                              " FORMAT JSONEachRow";
    l->n = 0;
    aw_status rc = aw_ch_request(c, sql, sizeof(sql) - 1, "read the schema version", err);
    return rc == AW_OK ? each_line(c, on_applied, l, err) : rc;
}

static const aw_ch_migration *newest_embedded(void)
{
    return aw_ch_migrations_count ? &aw_ch_migrations[aw_ch_migrations_count - 1] : NULL;
}

aw_status aw_ch_schema_check(aw_ch_conn *c, aw_error *err)
{
    applied_list l;
    aw_status rc = read_applied(c, &l, err);
    if (rc == AW_CONFIG && aw_ch_error_code(c->resp.data) == 60)
        return aw_error_set(err, AW_CONFIG,
                            "clickhouse %s: the schema is missing (no "
                            AW_CH_MIGRATIONS_TABLE "): " MIGRATE_HINT, c->cfg->where);
    if (rc != AW_OK)
        return rc;
    const aw_ch_migration *want = newest_embedded();
    int have = l.n ? l.rows[l.n - 1].version : 0;
    if (want && have < want->version)
        return aw_error_set(err, AW_CONFIG,
                            "clickhouse %s: the schema is at version %d, this build needs "
                            "%d (%s): " MIGRATE_HINT,
                            c->cfg->where, have, want->version, want->file);
    return AW_OK;
}

/* ---- migrate ------------------------------------------------------------------- */

typedef struct run_ctx {
    aw_ch_conn *c;
    const aw_ch_migration *m;
} run_ctx;

/* Does stmt (len bytes) start with `ALTER TABLE` and hold `ADD COLUMN`? */
static bool is_add_column(const char *stmt, size_t len)
{
    while (len && isspace((unsigned char)*stmt))
        stmt++, len--;
    if (len < 11 || strncasecmp(stmt, "ALTER TABLE", 11) != 0)
        return false;
    for (size_t i = 11; i + 10 <= len; i++)
        if (strncasecmp(stmt + i, "ADD COLUMN", 10) == 0)
            return true;
    return false;
}

/* 18.16 has no ADD COLUMN IF NOT EXISTS: a column a concurrent (or
 * interrupted) migrate already added answers "column with this name
 * already exists", which means the statement's work is done. Any other
 * failure stands. The code says the same thing under two numbers: 18.16
 * answers ILLEGAL_COLUMN (44), current versions DUPLICATE_COLUMN (15). */
static bool column_exists_error(const char *body)
{
    int code = body ? aw_ch_error_code(body) : -1;
    return (code == 44 || code == 15) && strstr(body, "already exists");
}

static aw_status run_stmt(void *ctx, const char *stmt, size_t len, aw_error *err)
{
    run_ctx *r = ctx;
    char what[128];
    snprintf(what, sizeof(what), "migration %s", r->m->file);
    aw_status rc = aw_ch_request(r->c, stmt, len, what, err);
    const char *body = r->c->resp.data;
    if (rc != AW_OK && is_add_column(stmt, len) && column_exists_error(body)) {
        AW_INFO("migrate", "clickhouse %s: %s: the column is there already", r->c->cfg->where,
                r->m->file);
        aw_error_clear(err);
        return AW_OK;
    }
    return rc;
}

static aw_status record_applied(aw_ch_conn *c, const aw_ch_migration *m, aw_error *err)
{
    aw_buf b = {0};
    aw_status rc = AW_OK;
    if (aw_buf_printf(&b, "INSERT INTO " AW_CH_MIGRATIONS_TABLE
                          " (version, name, checksum, applied_at) VALUES (%d, ",
                      m->version) ||
        aw_ch_quote(&b, m->file) || aw_buf_puts(&b, ", ") || aw_ch_quote(&b, m->sha256) ||
        aw_buf_puts(&b, ", now())"))
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
    if (rc == AW_OK)
        rc = aw_ch_request(c, b.data, b.len, "record a migration", err);
    aw_buf_free(&b);
    return rc;
}

aw_status aw_ch_migrate(aw_ch_conn *c, int *applied_count, aw_error *err)
{
    static const char create[] =
        "CREATE TABLE IF NOT EXISTS " AW_CH_MIGRATIONS_TABLE " (version UInt32, name String, "
        "checksum String, applied_at DateTime) ENGINE = ReplacingMergeTree() ORDER BY version";
    if (applied_count)
        *applied_count = 0;
    aw_status rc = aw_ch_request(c, create, sizeof(create) - 1, "create the version table", err);
    applied_list l;
    if (rc == AW_OK)
        rc = read_applied(c, &l, err);
    for (size_t i = 0; rc == AW_OK && i < aw_ch_migrations_count; i++) {
        const aw_ch_migration *m = &aw_ch_migrations[i];
        const applied *a = NULL;
        for (int k = 0; k < l.n; k++)
            if (l.rows[k].version == m->version)
                a = &l.rows[k];
        if (a) {
            if (strcmp(a->checksum, m->sha256) != 0)
                rc = aw_error_set(err, AW_PERMANENT,
                                  "clickhouse %s: migration %s was applied with checksum "
                                  "%.12s... but this binary's file has %.12s...: an applied "
                                  "migration must never change (add a new one)",
                                  c->cfg->where, m->file, a->checksum, m->sha256);
            continue;
        }
        run_ctx r = {c, m};
        rc = aw_ch_split_statements(m->sql, run_stmt, &r, err);
        if (rc == AW_OK)
            rc = record_applied(c, m, err);
        if (rc == AW_OK) {
            AW_INFO("migrate", "clickhouse %s: applied %s", c->cfg->where, m->file);
            if (applied_count)
                (*applied_count)++;
        }
    }
    return rc;
}

aw_status aw_ch_schema_check_cfg(const aw_ch_config *cfg, aw_error *err)
{
    aw_ch_conn c;
    aw_status rc = aw_ch_conn_open(&c, cfg, err);
    if (rc == AW_OK)
        rc = aw_ch_schema_check(&c, err);
    aw_ch_conn_close(&c);
    return rc;
}

aw_status aw_ch_migrate_url(const char *setting, const char *url, int connect_timeout_ms,
                            int request_timeout_ms, int *applied_count, aw_error *err)
{
    aw_ch_config cfg;
    aw_status rc = aw_ch_config_parse(setting, url, connect_timeout_ms, request_timeout_ms, &cfg,
                                      err);
    if (rc != AW_OK)
        return rc;
    aw_ch_conn c;
    rc = aw_ch_conn_open(&c, &cfg, err);
    if (rc == AW_OK)
        rc = aw_ch_migrate(&c, applied_count, err);
    aw_ch_conn_close(&c);
    return rc;
}
