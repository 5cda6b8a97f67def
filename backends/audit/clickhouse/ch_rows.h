/* Pure conversions between an audit record and a JSONEachRow row of the
 * aw_audit_records table (migrations/clickhouse). */
#ifndef AW_CH_ROWS_H
#define AW_CH_ROWS_H

#include "backends/audit/audit_types.h"
#include "common/aw_buf.h"

/* Append r as one JSONEachRow line (every column, then '\n'). AW_PERMANENT
 * when r cannot be encoded (a string that is not UTF-8), AW_NOMEM. */
aw_status aw_ch_row_append(aw_buf *b, const aw_audit_record *r, aw_error *err);

/* Parse one JSONEachRow line (64-bit integers quoted or not) into *out,
 * overwritten. On failure *out is zeroed and err names the bad column. */
aw_status aw_ch_row_parse(const char *line, size_t len, aw_audit_record *out, aw_error *err);

/* "YYYY-MM-DD" (UTC) of ms, clamped to ClickHouse's Date range. */
void aw_ch_date(int64_t ms, char out[11]);

#endif
