/* The pure parts of the "clickhouse" state backend, no server: the byte
 * quoting (NUL and every control byte), the statement shapes, and the
 * TabSeparated answer parser (good rows, hex round trip, malformed rows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backends/clickhouse/ch_quote.h"
#include "backends/state/clickhouse/chs_sql.h"

/* Pure code: tested even in a build without the ClickHouse backends. */
#ifndef AW_WITH_CLICKHOUSE
#include "backends/clickhouse/ch_quote.c"
#include "backends/state/clickhouse/chs_sql.c"
#endif

static void test_quote_bytes(void **state)
{
    (void)state;
    static const char in[] = {'a', '\0', '\'', '\\', '\n', (char)0x7f, (char)0xff};
    aw_buf b = {0};
    assert_int_equal(aw_ch_quote_bytes(&b, in, sizeof(in)), 0);
    assert_string_equal(b.data, "'a\\x00\\'\\\\\\x0a\\x7f\xff'");
    aw_buf_free(&b);
}

static void test_latest_shape(void **state)
{
    (void)state;
    const char *keys[] = {"k'1", "k2"};
    size_t lens[] = {3, 2};
    aw_buf b = {0};
    assert_int_equal(aw_chs_sql_latest(&b, "v", keys, lens, 2), 0);
    assert_non_null(strstr(b.data, "WHERE space IN ('v') AND key IN ('k\\'1', 'k2')"));
    assert_non_null(strstr(
        b.data, "ORDER BY space, key, ver DESC LIMIT 1 BY space, key FORMAT TabSeparated"));
    assert_null(strstr(b.data, "FINAL"));
    aw_buf_reset(&b);
    /* Dedup reads: leases and done records, one row per space and key. */
    const char spaces[] = {AW_CHS_SPACE_DEDUP, AW_CHS_SPACE_DONE, '\0'};
    assert_int_equal(aw_chs_sql_latest(&b, spaces, keys, lens, 1), 0);
    assert_non_null(strstr(b.data, "WHERE space IN ('d', 'D') AND key IN ('k\\'1')"));
    aw_buf_free(&b);
}

static void test_scan_prefix_is_literal(void **state)
{
    (void)state;
    aw_buf b = {0};
    assert_int_equal(aw_chs_sql_scan(&b, "p%_", 3, 1234), 0);
    assert_non_null(strstr(b.data, "substring(key, 1, 3) = 'p%_'"));
    assert_null(strstr(b.data, "LIKE"));
    assert_non_null(strstr(b.data, "expires_at_ms > 1234"));
    aw_buf_free(&b);
}

static void test_row_sends_every_column(void **state)
{
    (void)state;
    aw_chs_write w = {.space = 'v', .key = "k", .klen = 1, .id = "i", .value = "\0x", .vlen = 2,
                      .version = 3, .ver = 4, .token = 5, .phase = 1, .topic = "t",
                      .partition = 6, .offset = 7, .expires_at_ms = 8, .deleted = true,
                      .written_at_ms = 9};
    aw_buf b = {0};
    assert_int_equal(aw_chs_sql_insert_head(&b), 0);
    assert_int_equal(aw_chs_sql_row(&b, &w, true), 0);
    assert_int_equal(aw_chs_sql_row(&b, &w, false), 0);
    const char *row = "('v', 'k', 'i', '\\x00x', 3, 4, 5, 1, 't', 6, 7, 8, 1, 9)";
    const char *first = strstr(b.data, row);
    assert_non_null(first);
    assert_non_null(strstr(first + 1, row));
    aw_buf_free(&b);
}

typedef struct got {
    int n;
    aw_chs_row last;
} got;

static aw_status on_row(void *ctx, aw_chs_row *row, aw_error *err)
{
    (void)err;
    got *g = ctx;
    g->n++;
    aw_chs_row_clear(&g->last);
    g->last = *row;
    memset(row, 0, sizeof(*row));
    return AW_OK;
}

static void test_parse_rows(void **state)
{
    (void)state;
    /* key "k\0", value "a\0b", topic "t", id "i", space 'D'; 64-bit
     * numbers unquoted */
    const char text[] =
        "6B00\t18446744073709551615\t2\t3\t2\t0\t-1\t-5\t9\t610062\t74\t69\t44\n";
    got g = {0};
    aw_error err = {0};
    assert_int_equal(aw_chs_parse_rows(text, strlen(text), on_row, &g, &err), AW_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.last.klen, 2);
    assert_memory_equal(g.last.key, "k\0", 2);
    assert_true(g.last.ver == UINT64_MAX);
    assert_int_equal(g.last.version, 2);
    assert_int_equal(g.last.phase, AW_CHS_PHASE_DONE);
    assert_int_equal(g.last.expires_at_ms, -1);
    assert_int_equal(g.last.partition, -5);
    assert_int_equal(g.last.vlen, 3);
    assert_memory_equal(g.last.value, "a\0b", 3);
    assert_string_equal(g.last.topic, "t");
    assert_string_equal(g.last.id, "i");
    assert_int_equal(g.last.space, AW_CHS_SPACE_DONE);
    assert_true(aw_chs_row_live(&g.last, 0) == false); /* expires -1: in the past */
    aw_chs_row_clear(&g.last);
    aw_chs_row none = {0};
    assert_false(aw_chs_row_live(&none, 0)); /* no row is not a live row */
}

static void test_parse_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "6B\t1\t1\t1\t0\t0\t0\t0\t0\t\t\t64\n",             /* 12 fields */
        "6B\t1\t1\t1\t0\t0\t0\t0\t0\t\t\t\t64\t\n",       /* 14 fields */
        "6G\t1\t1\t1\t0\t0\t0\t0\t0\t\t\t\t64\n",         /* bad hex */
        "6B\tx\t1\t1\t0\t0\t0\t0\t0\t\t\t69\t64\n",       /* not a number */
        "6\t1\t1\t1\t0\t0\t0\t0\t0\t\t\t69\t64\n",        /* odd hex */
        "6B\t-1\t1\t1\t0\t0\t0\t0\t0\t\t\t69\t64\n",      /* negative unsigned */
        "6B\t1\t1\t1\t0\t0\t0\t0\t0\t\t\t69\t6464\n",     /* space of 2 bytes */
        "6B\t1\t1\t1\t0\t0\t0\t0\t0\t\t\t69\t\n",         /* no space */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        got g = {0};
        aw_error err = {0};
        if (aw_chs_parse_rows(bad[i], strlen(bad[i]), on_row, &g, &err) != AW_PERMANENT)
            fail_msg("case %zu parsed", i);
        assert_int_equal(g.n, 0);
        aw_chs_row_clear(&g.last);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_bytes),
        cmocka_unit_test(test_latest_shape),
        cmocka_unit_test(test_scan_prefix_is_literal),
        cmocka_unit_test(test_row_sends_every_column),
        cmocka_unit_test(test_parse_rows),
        cmocka_unit_test(test_parse_malformed),
    };
    return cmocka_run_group_tests_name("clickhouse state sql", tests, NULL, NULL);
}
