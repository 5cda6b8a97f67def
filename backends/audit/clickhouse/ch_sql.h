/* Pure builders of the ClickHouse statements of the audit backend.
 *
 * Values are embedded as string literals built by aw_ch_quote()
 * (backends/clickhouse/ch_quote.h: 18.16 has no query parameters) and by
 * nothing else; numbers are printed from integers.
 *
 * Every builder appends to b and returns 0, or -1 when out of memory. */
#ifndef AW_CH_SQL_H
#define AW_CH_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "backends/audit/audit_types.h"
#include "backends/clickhouse/ch_quote.h"
#include "common/aw_buf.h"

#define AW_CH_TABLE "aw_audit_records"

/* The existence check of append_batch: which ids of a batch are stored.
 * The ids travel as an external table (aw_ch_request_ext, TabSeparated
 * rows of aw_ch_ids_tsv) rather than an IN list in the statement: no
 * max_query_size bound (one check per batch, however large), and
 * ClickHouse spends more CPU parsing a long list of literals than on the
 * lookup itself (docs/performance.md). The primary key (record_id) still narrows
 * the read to the granules holding those ids. Answer: JSONEachRow lines
 * {"record_id": ...}, one per stored id. */
#define AW_CH_IDS_TABLE "aw_batch_ids"
#define AW_CH_IDS_STRUCTURE "record_id String"
#define AW_CH_SQL_EXISTING                                                                     \
    "SELECT DISTINCT record_id FROM " AW_CH_TABLE " WHERE record_id IN " AW_CH_IDS_TABLE        \
    " FORMAT JSONEachRow"
/* ids[0..n) as the rows of that table. */
int aw_ch_ids_tsv(aw_buf *b, const char *const *ids, size_t n);

/* The query of q (limit+1 rows, to know whether a next page exists), the
 * cursor already decoded (has_cursor = 0: none). Shape:
 *   SELECT cols FROM (
 *     SELECT cols FROM table WHERE <message-derived equality filters>
 *       AND <time bounds, cursor time> ORDER BY record_id, <version order>
 *       LIMIT 1 BY record_id)
 *   WHERE <outcome> AND <rule, state ids> AND (completed_at_ms, record_id) < cursor
 *   ORDER BY completed_at_ms DESC, record_id DESC LIMIT n
 * One row per record_id, the version with the smallest (completed_at_ms,
 * fencing_token, worker_id, outcome): the copy a merge keeps too (ver =
 * INT64_MAX - completed_at_ms; in a tie on completed_at_ms the merge keeps
 * the last inserted, which may differ in content but never in position).
 * With that choice the upper time bound
 * and the cursor can filter before the LIMIT BY without changing which
 * version wins, so pages neither repeat nor skip a record even while
 * copies of it exist. Filters on ns, tenant, provider, action_type and
 * action_id also apply before it: they come from the message, identical in
 * every copy; outcome, rule and the state ids (fingerprint, group, chain)
 * may differ between copies (like the rule, they are the
 * verdict of one processing) and apply after. */
int aw_ch_sql_query(aw_buf *b, const aw_audit_query *q, size_t limit, int has_cursor,
                    int64_t cursor_ms, const char *cursor_id);

/* Expired day partitions: `p` (toYYYYMMDD) and `c` (rows) of every
 * partition whose max(expires_at_ms) <= now_ms, oldest first. */
int aw_ch_sql_expired_partitions(aw_buf *b, int64_t now_ms);
/* ALTER TABLE ... DROP PARTITION p. */
int aw_ch_sql_drop_partition(aw_buf *b, uint32_t p);
/* Up to limit distinct record_ids with expires_at_ms <= now_ms. */
int aw_ch_sql_expired_ids(aw_buf *b, int64_t now_ms, size_t limit);
/* ALTER TABLE ... DELETE WHERE expires_at_ms <= now_ms AND record_id IN ids. */
int aw_ch_sql_delete_ids(aw_buf *b, int64_t now_ms, const char *const *ids, size_t n);
/* How many mutations of the table are still running. */
int aw_ch_sql_pending_mutations(aw_buf *b);

#endif
