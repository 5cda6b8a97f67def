#include "backends/audit/clickhouse/ch_sql.h"

#include <inttypes.h>
#include <string.h>

#include "backends/audit/clickhouse/ch_rows.h"
#include "backends/clickhouse/ch_tsv.h"
#include "common/aw_outcome.h"

static int quote_list(aw_buf *b, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((i && aw_buf_puts(b, ",") != 0) || aw_ch_quote(b, ids[i]) != 0)
            return -1;
    return 0;
}

int aw_ch_ids_tsv(aw_buf *b, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (aw_ch_tsv_bytes(b, ids[i], strlen(ids[i])) != 0 || aw_buf_append(b, "\n", 1) != 0)
            return -1;
    return 0;
}

#define CH_COLS                                                                                \
    "record_id, action_id, ns, tenant, provider, action_type, dedup_identity, outcome, "      \
    "details, payload, has_payload, metadata, has_metadata, source_topic, source_partition, "  \
    "source_offset, worker_id, fencing_token, attempts, dispatched_at_ms, completed_at_ms, "   \
    "duration_ms, expires_at_ms, rule, fingerprint, group_id, chain_id"

static int eq_filter(aw_buf *b, const char *col, const char *v)
{
    if (!v)
        return 0;
    if (aw_buf_printf(b, " AND %s = ", col) || aw_ch_quote(b, v))
        return -1;
    return 0;
}

int aw_ch_sql_query(aw_buf *b, const aw_audit_query *q, size_t limit, int has_cursor,
                    int64_t cursor_ms, const char *cursor_id)
{
    if (aw_buf_puts(b, "SELECT " CH_COLS " FROM (SELECT " CH_COLS " FROM " AW_CH_TABLE
                       " WHERE 1") ||
        eq_filter(b, "ns", q->ns) || eq_filter(b, "tenant", q->tenant) ||
        eq_filter(b, "provider", q->provider) || eq_filter(b, "action_type", q->action_type) ||
        eq_filter(b, "action_id", q->action_id))
        return -1;
    /* Time bounds; the completed_date ones let ClickHouse skip whole day
     * partitions (its min/max index on the partition key). */
    char day[11];
    if (q->from_ms != 0) {
        aw_ch_date(q->from_ms, day);
        if (aw_buf_printf(b, " AND completed_at_ms >= %" PRId64 " AND completed_date >= '%s'",
                          q->from_ms, day))
            return -1;
    }
    if (q->to_ms != 0) {
        aw_ch_date(q->to_ms, day);
        if (aw_buf_printf(b, " AND completed_at_ms < %" PRId64 " AND completed_date <= '%s'",
                          q->to_ms, day))
            return -1;
    }
    if (has_cursor) {
        aw_ch_date(cursor_ms, day);
        if (aw_buf_printf(b, " AND completed_at_ms <= %" PRId64 " AND completed_date <= '%s'",
                          cursor_ms, day))
            return -1;
    }
    if (aw_buf_puts(b, " ORDER BY record_id, completed_at_ms, fencing_token, worker_id, outcome"
                       " LIMIT 1 BY record_id) WHERE 1"))
        return -1;
    if ((q->outcome >= 0 && eq_filter(b, "outcome", aw_outcome_name((aw_outcome)q->outcome))) ||
        eq_filter(b, "rule", q->rule) || eq_filter(b, "fingerprint", q->fingerprint) ||
        eq_filter(b, "group_id", q->group_id) || eq_filter(b, "chain_id", q->chain_id))
        return -1;
    if (has_cursor) {
        if (aw_buf_printf(b, " AND (completed_at_ms, record_id) < (%" PRId64 ", ", cursor_ms) ||
            aw_ch_quote(b, cursor_id) || aw_buf_puts(b, ")"))
            return -1;
    }
    return aw_buf_printf(b,
                         " ORDER BY completed_at_ms DESC, record_id DESC LIMIT %zu"
                         " FORMAT JSONEachRow",
                         limit);
}

int aw_ch_sql_expired_partitions(aw_buf *b, int64_t now_ms)
{
    return aw_buf_printf(b,
                         "SELECT toYYYYMMDD(completed_date) AS p, count() AS c FROM " AW_CH_TABLE
                         " GROUP BY p HAVING max(expires_at_ms) <= %" PRId64
                         " ORDER BY p LIMIT 100 FORMAT JSONEachRow",
                         now_ms);
}

int aw_ch_sql_drop_partition(aw_buf *b, uint32_t p)
{
    return aw_buf_printf(b, "ALTER TABLE " AW_CH_TABLE " DROP PARTITION %" PRIu32, p);
}

int aw_ch_sql_expired_ids(aw_buf *b, int64_t now_ms, size_t limit)
{
    return aw_buf_printf(b,
                         "SELECT DISTINCT record_id FROM " AW_CH_TABLE
                         " WHERE expires_at_ms <= %" PRId64 " LIMIT %zu FORMAT JSONEachRow",
                         now_ms, limit);
}

int aw_ch_sql_delete_ids(aw_buf *b, int64_t now_ms, const char *const *ids, size_t n)
{
    if (aw_buf_printf(b,
                      "ALTER TABLE " AW_CH_TABLE " DELETE WHERE expires_at_ms <= %" PRId64
                      " AND record_id IN (",
                      now_ms) ||
        quote_list(b, ids, n) || aw_buf_puts(b, ")"))
        return -1;
    return 0;
}

int aw_ch_sql_pending_mutations(aw_buf *b)
{
    return aw_buf_puts(b, "SELECT count() AS n FROM system.mutations WHERE database = "
                          "currentDatabase() AND table = '" AW_CH_TABLE
                          "' AND is_done = 0 FORMAT JSONEachRow");
}
