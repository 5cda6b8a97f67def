/* Pure statement builders and answer parser of the "clickhouse" state
 * backend (table aw_state, migrations/clickhouse/0002_state.sql).
 *
 * Every value goes into a statement through aw_ch_quote_bytes()
 * (backends/clickhouse/ch_quote.h); numbers are printed from integers.
 * Answers are TabSeparated with every string column hex()-encoded, so any
 * byte of a key or value comes back unchanged and no JSON or TSV escaping
 * has to be undone. Builders return 0, or -1 when out of memory. */
#ifndef AW_CHS_SQL_H
#define AW_CHS_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"
#include "common/aw_error.h"

#define AW_CHS_TABLE "aw_state"

#define AW_CHS_SPACE_VALUE 'v'
#define AW_CHS_SPACE_LOCK 'l'
#define AW_CHS_SPACE_DEDUP 'd'
/* Done records again, apart from the leases of space 'd': a lease row
 * (a renewal that read the lease before complete wrote the done record)
 * can then never be newer than a done record, neither for a reader nor for
 * the merge, which keeps only the largest ver of each (space, key). */
#define AW_CHS_SPACE_DONE 'D'
#define AW_CHS_DEDUP_KIND "dedup" /* dedup records ignore the caller's kind */

#define AW_CHS_PHASE_VALUE 0
#define AW_CHS_PHASE_LEASE 1
#define AW_CHS_PHASE_DONE 2

/* One row to insert: every column (18.16 zero-fills missing ones). Borrowed
 * pointers; value/topic may be NULL with length 0. */
typedef struct aw_chs_write {
    char space;
    const char *key;
    size_t klen;
    const char *id;
    const void *value;
    size_t vlen;
    uint64_t version;
    uint64_t ver;
    uint64_t token;
    int phase;
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t expires_at_ms; /* 0 = never */
    bool deleted;
    int64_t written_at_ms;
} aw_chs_write;

/* The newest row of a key as read back. Strings owned (malloc'd,
 * NUL-terminated); release with aw_chs_row_clear(). */
typedef struct aw_chs_row {
    char space;
    char *key;
    size_t klen;
    uint64_t ver;
    uint64_t version;
    uint64_t token;
    int phase;
    bool deleted;
    int64_t expires_at_ms;
    int32_t partition;
    int64_t offset;
    char *value;
    size_t vlen;
    char *topic;
    char *id;
} aw_chs_row;

void aw_chs_row_clear(aw_chs_row *r);

/* A row is live when it was read (a zeroed row means "no row at all"), is
 * not a tombstone and has not expired at now_ms. */
static inline bool aw_chs_row_live(const aw_chs_row *r, int64_t now_ms)
{
    return r && r->key && !r->deleted && (r->expires_at_ms == 0 || r->expires_at_ms > now_ms);
}

/* The newest row of each of keys[0..n) (lengths klens) in each space named
 * by a letter of spaces (e.g. "d", or "dD": up to one row per space and key):
 *   SELECT cols FROM aw_state WHERE space IN (...) AND key IN (...)
 *   ORDER BY space, key, ver DESC LIMIT 1 BY space, key FORMAT TabSeparated
 * LIMIT 1 BY rather than FINAL: see clickhouse_state.h. */
int aw_chs_sql_latest(aw_buf *b, const char *spaces, const char *const *keys,
                      const size_t *klens, size_t n);

/* Live values of space 'v' whose key starts with the bytes pfx[0..plen),
 * newest row per key, judged at now_ms; the prefix is compared with
 * substring(), never LIKE, so no byte of it is a wildcard. */
int aw_chs_sql_scan(aw_buf *b, const char *pfx, size_t plen, int64_t now_ms);

/* "INSERT INTO aw_state (cols) VALUES " then one "(...)" per call to
 * aw_chs_sql_row (comma-separated: pass first = true for the first). */
int aw_chs_sql_insert_head(aw_buf *b);
int aw_chs_sql_row(aw_buf *b, const aw_chs_write *w, bool first);

/* The reaper's two statements (see clickhouse_state.h). */
int aw_chs_sql_optimize(aw_buf *b);
int aw_chs_sql_reap(aw_buf *b, int64_t cutoff_ms);

/* Parse a TabSeparated answer of aw_chs_sql_latest/scan: calls fn for
 * each row (the row is cleared after fn returns); stops at the first
 * non-OK status. AW_PERMANENT naming the problem on a malformed line. */
aw_status aw_chs_parse_rows(const char *text, size_t len,
                            aw_status (*fn)(void *ctx, aw_chs_row *row, aw_error *err),
                            void *ctx, aw_error *err);

#endif
