/* Table management of the "dynamodb" state backend: the check create()
 * runs and `acteon-worker migrate` (the driver's migrate slot).
 *
 * migrate, forward-only and idempotent (safe to run concurrently):
 *  1. DescribeTable; when missing, CreateTable from the embedded
 *     migrations/dynamodb/0001_state_table.json (ResourceInUseException =
 *     another migrate created it first: fine), then wait (bounded) until the
 *     table is ACTIVE (real DynamoDB creates tables asynchronously);
 *  2. TTL on expires_at: DescribeTimeToLive, UpdateTimeToLive when not yet
 *     enabled. A server without these operations (dynalite:
 *     UnknownOperationException) is reported and skipped: the backend
 *     enforces expiry itself on every read and condition; only the purge of
 *     expired items is missing then.
 * *applied counts the steps that changed something (0 on a second run). */
#include <stdlib.h>
#include <string.h>

#include "backends/http/http.h"
#include "backends/state/dynamodb/ddb_attrs.h"
#include "backends/state/dynamodb/ddb_internal.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

#define DDB_ACTIVE_WAIT_MS 120000

static const char *env_lookup(const char *name) { return getenv(name); }

/* DescribeTable: AW_OK with *active, AW_NOT_FOUND, or another error. */
static aw_status describe(aw_ddb_conn *c, aw_ddb_call *call, const char *table, bool *active,
                          aw_error *err)
{
    aw_status rc = aw_ddb_do(c, call, "DescribeTable", aw_ddb_build_describe_table(table), err);
    if (rc == AW_OK)
        rc = aw_ddb_parse_table(call->resp.data, call->resp.len, table, active, err);
    return rc;
}

aw_status aw_ddb_table_check(aw_ddb_conn *c, const char *table, aw_error *err)
{
    aw_ddb_call call = {0};
    bool active = false;
    aw_status rc = describe(c, &call, table, &active, err);
    aw_ddb_call_clear(&call);
    if (rc == AW_NOT_FOUND)
        return aw_error_set(err, AW_CONFIG,
                            "dynamodb: table %s not found: create it with "
                            "`acteon-worker migrate -c FILE`",
                            table);
    return rc;
}

static aw_status wait_active(aw_ddb_conn *c, aw_ddb_call *call, const char *table,
                             aw_error *err)
{
    int64_t deadline = aw_mono_now_ms() + DDB_ACTIVE_WAIT_MS;
    for (;;) {
        bool active = false;
        aw_status rc = describe(c, call, table, &active, err);
        if (rc != AW_OK && rc != AW_NOT_FOUND) /* NOT_FOUND: not visible yet */
            return rc;
        if (rc == AW_OK && active)
            return AW_OK;
        if (aw_mono_now_ms() > deadline)
            return aw_error_set(err, AW_TRANSIENT, "dynamodb: table %s not ACTIVE after %d s",
                                table, DDB_ACTIVE_WAIT_MS / 1000);
        aw_sleep_ms(500);
    }
}

static aw_status enable_ttl(aw_ddb_conn *c, aw_ddb_call *call, const char *table, int *applied,
                            aw_error *err)
{
    bool enabled = false;
    aw_status rc = aw_ddb_do(c, call, "DescribeTimeToLive", aw_ddb_build_describe_ttl(table), err);
    if (rc == AW_OK)
        rc = aw_ddb_parse_ttl(call->resp.data, call->resp.len, AW_DDB_A_TTL, &enabled, err);
    if (rc == AW_OK && !enabled) {
        rc = aw_ddb_do(c, call, "UpdateTimeToLive", aw_ddb_build_update_ttl(table, AW_DDB_A_TTL),
                       err);
        if (rc == AW_OK)
            (*applied)++;
    }
    if (rc == AW_UNSUPPORTED) {
        AW_INFO("state.dynamodb",
                "this server has no TTL operations (dynalite?): expiry is still enforced on "
                "every read and condition, expired items are just not purged");
        aw_error_clear(err);
        rc = AW_OK;
    }
    return rc;
}

aw_status aw_ddb_migrate(const aw_state_options *opts, int *applied, aw_error *err)
{
    aw_ddb_url url;
    aw_ddb_conn c;
    aw_ddb_call call = {0};
    int n = 0;
    bool active = false;
    if (applied)
        *applied = 0;
    aw_http_global_init();
    aw_status rc = aw_ddb_url_parse(opts ? opts->url : NULL, env_lookup, &url, err);
    if (rc != AW_OK)
        return rc;
    rc = aw_ddb_conn_init(&c, &url, opts ? opts->connect_timeout_ms : 0,
                          opts ? opts->command_timeout_ms : 0, err);
    if (rc == AW_OK)
        rc = describe(&c, &call, url.table, &active, err);
    if (rc == AW_NOT_FOUND) {
        rc = aw_ddb_do(&c, &call, "CreateTable",
                       aw_ddb_build_create_table(url.table, aw_ddb_table_definition), err);
        if (rc == AW_OK) {
            AW_INFO("state.dynamodb", "created table %s", url.table);
            n++;
        } else if (rc == AW_CONFLICT) { /* ResourceInUse: a concurrent migrate */
            aw_error_clear(err);
            rc = AW_OK;
        }
        if (rc == AW_OK)
            rc = wait_active(&c, &call, url.table, err);
    } else if (rc == AW_OK && !active) {
        rc = wait_active(&c, &call, url.table, err);
    }
    if (rc == AW_OK)
        rc = enable_ttl(&c, &call, url.table, &n, err);
    aw_ddb_call_clear(&call);
    aw_ddb_conn_clear(&c);
    aw_ddb_url_clear(&url);
    if (rc == AW_OK && applied)
        *applied = n;
    return rc;
}
