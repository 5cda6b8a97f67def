/* Pure conversions between an audit record and a row of the
 * aw_audit_records table (migrations/clickhouse): written as TabSeparated
 * (ClickHouse parses it faster than JSONEachRow, see
 * docs/performance.md, and no jansson tree is built per row),
 * read back from JSONEachRow answers of queries. */
#ifndef AW_CH_ROWS_H
#define AW_CH_ROWS_H

#include "backends/audit/audit_types.h"
#include "backends/audit/clickhouse/ch_sql.h"
#include "common/aw_buf.h"

/* The columns of a row, in the order aw_ch_row_append writes them: every
 * one (18.16 fills a missing column with its zero value, not the DEFAULT). */
#define AW_CH_ROW_COLUMNS                                                                      \
    "record_id, action_id, ns, tenant, provider, action_type, dedup_identity, outcome, "      \
    "details, payload, has_payload, metadata, has_metadata, source_topic, source_partition, "  \
    "source_offset, worker_id, fencing_token, attempts, dispatched_at_ms, completed_at_ms, "   \
    "duration_ms, expires_at_ms, completed_date, ver, rule, fingerprint, group_id, chain_id"

/* The INSERT statement line; the rows of aw_ch_row_append follow it. */
#define AW_CH_INSERT_HEAD                                                                      \
    "INSERT INTO " AW_CH_TABLE " (" AW_CH_ROW_COLUMNS ") FORMAT TabSeparated\n"

/* Append r as one TabSeparated row (every column of AW_CH_ROW_COLUMNS, then
 * '\n'). AW_PERMANENT when r cannot be encoded (a string that is not
 * UTF-8), AW_NOMEM; b is unchanged then. */
aw_status aw_ch_row_append(aw_buf *b, const aw_audit_record *r, aw_error *err);

/* Parse one JSONEachRow line (64-bit integers quoted or not) into *out,
 * overwritten. On failure *out is zeroed and err names the bad column. */
aw_status aw_ch_row_parse(const char *line, size_t len, aw_audit_record *out, aw_error *err);

/* "YYYY-MM-DD" (UTC) of ms, clamped to ClickHouse's Date range. */
void aw_ch_date(int64_t ms, char out[11]);

#endif
