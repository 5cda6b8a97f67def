/* The ClickHouse answer parsers: the state backend's TabSeparated rows
 * (backends/state/clickhouse/chs_sql.c), the audit backend's JSONEachRow
 * rows (backends/audit/clickhouse/ch_rows.c) and the error mapping
 * (backends/clickhouse/ch_http.c). Every byte comes from the network. The
 * first input byte picks the parser, the rest is the answer. */
#include "backends/audit/audit_types.h"
#include "backends/audit/clickhouse/ch_rows.h"
#include "backends/clickhouse/ch_http.h"
#include "backends/state/clickhouse/chs_sql.h"
#include "tests/fuzz/fuzz_util.h"

static aw_status count_row(void *ctx, aw_chs_row *row, aw_error *err)
{
    (void)row;
    (void)err;
    ++*(size_t *)ctx;
    return AW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    unsigned pick = data[0];
    size_t len = size - 1;
    aw_error err = {0};
    switch (pick % 3) {
    case 0: {
        char *text = aw_fuzz_body(data, size, &len);
        size_t rows = 0;
        (void)aw_chs_parse_rows(text, len, count_row, &rows, &err);
        free(text);
        break;
    }
    case 1: {
        char *line = aw_fuzz_body(data, size, &len);
        aw_audit_record r;
        if (aw_ch_row_parse(line, len, &r, &err) == AW_OK)
            aw_audit_record_clear(&r);
        free(line);
        break;
    }
    default: {
        static const long statuses[] = {200, 400, 404, 429, 500, 503};
        char *body = aw_fuzz_cstr(data + 1, len);
        (void)aw_ch_error_code(body);
        (void)aw_ch_error_status(statuses[(pick >> 2) % 6], body);
        free(body);
        break;
    }
    }
    if (!memchr(err.msg, '\0', sizeof err.msg))
        abort();
    return 0;
}
