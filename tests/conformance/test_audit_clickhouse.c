/* The audit conformance suite against a real ClickHouse, plus what only the
 * ClickHouse backend can be asked.
 *
 * Needs AW_TEST_CLICKHOUSE_URL (scripts/test-servers.sh start DIR writes it
 * to DIR/env; ctest runs the program twice: conformance/ on 18.16 and, through
 * tests/support/clickhouse_current.sh, conformance-current/ on a current
 * engine); without it the program says why and exits 77 (skipped),
 * the pure parts (quoting, URL, error mapping, statement splitting)
 * included: one program per backend.
 *
 *  0. the migrations through the driver's migrate slot (twice: the second
 *     applies nothing), a missing schema refused by create();
 *  1. the suite;
 *  2. specifics: aw_ch_quote() and the TabSeparated escaping of the insert
 *     and the external table against hostile strings (expected text, and
 *     a round trip through the server returning the same bytes), hostile
 *     text in every column through append and query, URL
 *     parsing and redaction, the error mapping, a replayed batch (inserted
 *     = 0) and a cross-process race simulated by a raw INSERT of copies
 *     (queries still show each record once; OPTIMIZE FINAL collapses them),
 *     a server that is down (transient), and the write rate of 20,000
 *     records in batches of 500 (printed, not asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef AW_WITH_CLICKHOUSE

int main(void)
{
    printf("SKIP: the clickhouse audit backend is not compiled in "
           "(cmake -DWITH_CLICKHOUSE=ON)\n");
    return 77;
}

#else

#include <inttypes.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/audit/audit.h"
#include "backends/audit/audit_record.h"
#include "backends/audit/clickhouse/ch_rows.h"
#include "backends/audit/clickhouse/ch_sql.h"
#include "backends/clickhouse/ch_http.h"
#include "backends/clickhouse/ch_migrate.h"
#include "backends/clickhouse/ch_tsv.h"
#include "backends/http/http.h"
#include "common/aw_clock.h"
#include "suite_audit.h"
#include "suite_ch_admin.h"
#include "suite_util.h"

static const char *g_url;
static char g_run[20];

/* ---- pure parts ------------------------------------------------------------ */

static const struct {
    const char *in, *want;
} quote_cases[] = {
    {"", "''"},
    {"acme", "'acme'"},
    {"x' OR '1'='1", "'x\\' OR \\'1\\'=\\'1'"},
    {"acme\\", "'acme\\\\'"},
    {"\\'", "'\\\\\\''"},
    {"a\nb\r\tc", "'a\\x0ab\\x0d\\x09c'"},
    {"\x01\x1f\x7f", "'\\x01\\x1f\\x7f'"},
    {"caf\xc3\xa9 \xe2\x9c\x93", "'caf\xc3\xa9 \xe2\x9c\x93'"},
    {"'; DROP TABLE aw_audit_records; --", "'\\'; DROP TABLE aw_audit_records; --'"},
    {"{x:String}", "'{x:String}'"},
    {"%_*?", "'%_*?'"},
    {"\xff\xfe", "'\xff\xfe'"},
};

static void test_quote_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++) {
        aw_buf b = {0};
        assert_int_equal(aw_ch_quote(&b, quote_cases[i].in), 0);
        assert_string_equal(b.data, quote_cases[i].want);
        aw_buf_free(&b);
    }
}

/* The server reads every quoted literal back as exactly the input bytes. */
static void test_quote_roundtrip(void **state)
{
    (void)state;
    aw_ch_config cfg;
    aw_ch_conn c;
    aw_cht_admin_open("audit.url", g_url, &cfg, &c);
    for (size_t i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++) {
        const char *in = quote_cases[i].in;
        aw_buf b = {0};
        assert_int_equal(aw_buf_puts(&b, "SELECT hex("), 0);
        assert_int_equal(aw_ch_quote(&b, in), 0);
        assert_int_equal(aw_buf_puts(&b, ") = hex(unhex('"), 0);
        for (const unsigned char *p = (const unsigned char *)in; *p; p++)
            assert_int_equal(aw_buf_printf(&b, "%02X", *p), 0);
        assert_int_equal(aw_buf_puts(&b, "')) AS same FORMAT TabSeparated"), 0);
        aw_error err = {0};
        if (aw_ch_request(&c, b.data, b.len, "quote", &err) != AW_OK)
            fail_msg("case %zu: %s", i, err.msg);
        if (strcmp(c.resp.data, "1\n") != 0)
            fail_msg("case %zu: server read a different string (%s)", i, c.resp.data);
        aw_buf_free(&b);
    }
    aw_ch_conn_close(&c);
}

static void test_url(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        aw_status rc;
        const char *base, *user, *pass;
    } cases[] = {
        {"clickhouse://u:p%40ss@db.example:9999/audit", AW_OK,
         "http://db.example:9999/?database=audit", "u", "p@ss"},
        {"clickhouses://h/x", AW_OK, "https://h:8443/?database=x", "", ""},
        {"clickhouse://h", AW_OK, "http://h:8123/?database=default", "", ""},
        {"http://127.0.0.1:8123/?database=acteon_test", AW_OK,
         "http://127.0.0.1:8123/?database=acteon_test", "", ""},
        {"https://a:b@h:1/", AW_OK, "https://h:1/?database=default", "a", "b"},
        {"http://h:1/?database=x;DROP", AW_CONFIG, NULL, NULL, NULL},
        {"http://h:1/?database=x&y=1", AW_CONFIG, NULL, NULL, NULL},
        {"http://h:1/db", AW_CONFIG, NULL, NULL, NULL},
        {"clickhouse://h/a-b", AW_CONFIG, NULL, NULL, NULL},
        {"redis://h:1/0", AW_CONFIG, NULL, NULL, NULL},
        {"", AW_CONFIG, NULL, NULL, NULL},
        {"not a url", AW_CONFIG, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_ch_config cfg;
        aw_error err = {0};
        aw_status rc = aw_ch_config_parse("audit.url", cases[i].url, 0, 0, &cfg, &err);
        if (rc != cases[i].rc)
            fail_msg("%s: %s (%s)", cases[i].url, aw_status_name(rc), err.msg);
        if (rc != AW_OK) {
            assert_null(strstr(err.msg, "p%40ss"));
            continue;
        }
        assert_string_equal(cfg.base_url, cases[i].base);
        assert_string_equal(cfg.user, cases[i].user);
        assert_string_equal(cfg.password, cases[i].pass);
        if (cfg.password[0]) { /* never the password in messages */
            assert_non_null(strstr(cfg.where, ":***@"));
            assert_null(strstr(cfg.where, "p%40ss"));
        }
    }
}

static void test_error_mapping(void **state)
{
    (void)state;
    static const struct {
        long http;
        const char *body;
        aw_status want;
    } cases[] = {
        {500, "Code: 252, e.displayText() = DB::Exception: Too many parts", AW_TRANSIENT},
        {500, "Code: 202, e.displayText() = Too many simultaneous queries", AW_TRANSIENT},
        {500, "Code: 241, e.displayText() = Memory limit exceeded", AW_TRANSIENT},
        {500, "Code: 159, e.displayText() = Timeout exceeded", AW_TRANSIENT},
        {404, "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist", AW_CONFIG},
        {500, "Code: 81, e.displayText() = Database x doesn't exist", AW_CONFIG},
        {500, "Code: 516, e.displayText() = Authentication failed", AW_CONFIG},
        {500, "Code: 62, e.displayText() = Syntax error", AW_PERMANENT},
        {400, "Code: 27, e.displayText() = Cannot parse input", AW_PERMANENT},
        {404, "Code: 47, e.displayText() = Unknown identifier", AW_PERMANENT},
        {503, "Service Unavailable", AW_TRANSIENT},
        {502, "", AW_TRANSIENT},
        {429, "slow down", AW_TRANSIENT},
        {400, "Bad Request", AW_PERMANENT},
        {403, NULL, AW_PERMANENT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_status got = aw_ch_error_status(cases[i].http, cases[i].body);
        if (got != cases[i].want)
            fail_msg("case %zu (%ld %s): %s", i, cases[i].http,
                     cases[i].body ? cases[i].body : "(null)", aw_status_name(got));
    }
}

typedef struct split_ctx {
    char out[8][128];
    int n;
} split_ctx;

static aw_status on_stmt(void *ctx, const char *stmt, size_t len, aw_error *err)
{
    (void)err;
    split_ctx *s = ctx;
    snprintf(s->out[s->n++], sizeof(s->out[0]), "%.*s", (int)len, stmt);
    return AW_OK;
}

static void test_split_statements(void **state)
{
    (void)state;
    split_ctx s = {.n = 0};
    aw_error err = {0};
    assert_int_equal(aw_ch_split_statements("-- c1\nCREATE a (x;y);\n  -- c2\n\nSELECT 1 ;  \n"
                                            "SELECT 'no semicolon at the end'\n",
                                            on_stmt, &s, &err),
                     AW_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.out[0], "CREATE a (x;y)\n");
    assert_string_equal(s.out[1], "\nSELECT 1 \n");
    assert_string_equal(s.out[2], "SELECT 'no semicolon at the end'\n");
    /* the embedded migrations split into at least one statement each */
    for (size_t i = 0; i < aw_ch_migrations_count; i++) {
        s.n = 0;
        assert_int_equal(aw_ch_split_statements(aw_ch_migrations[i].sql, on_stmt, &s, &err),
                         AW_OK);
        assert_true(s.n >= 1);
    }
}

/* ---- against the server ------------------------------------------------------ */

static void make_rec(aw_audit_record *r, const char *topic, int64_t off, int64_t ms)
{
    memset(r, 0, sizeof(*r));
    char id[160];
    aw_audit_record_id(id, sizeof(id), topic, 0, off);
    r->record_id = strdup(id);
    r->action_id = strdup("act");
    r->ns = strdup(topic);
    r->tenant = strdup("acme");
    r->provider = strdup("log");
    r->action_type = strdup("notify");
    r->dedup_identity = strdup("x:acme:act");
    r->outcome = AW_OUTCOME_EXECUTED;
    r->details = strdup("{\"provider_status\":200}");
    r->payload = strdup("{\"a\":1}");
    r->metadata = NULL;
    r->source_topic = strdup(topic);
    r->source_offset = off;
    r->worker_id = strdup("w1");
    r->fencing_token = 7;
    r->attempts = 1;
    r->completed_at_ms = ms;
    r->dispatched_at_ms = ms - 3;
    r->duration_ms = 3;
    r->expires_at_ms = ms + 365 * 86400000LL;
}

static size_t count_ns(aw_audit_session *s, const char *ns)
{
    size_t total = 0;
    char *cursor = NULL;
    do {
        aw_audit_query q = {.ns = ns, .outcome = -1, .limit = 1000, .cursor = cursor};
        aw_audit_page p;
        aw_error err = {0};
        if (aw_audit_query_run(s, &q, &p, &err) != AW_OK)
            fail_msg("query: %s", err.msg);
        total += p.count;
        free(cursor);
        cursor = p.next_cursor;
        p.next_cursor = NULL;
        aw_audit_page_clear(&p);
    } while (cursor);
    return total;
}

static void open_backend(aw_audit **a, aw_audit_session **s)
{
    aw_audit_options o = {.url = g_url};
    aw_error err = {0};
    if (aw_audit_new("clickhouse", &o, a, &err) != AW_OK)
        fail_msg("create: %s", err.msg);
    if (aw_audit_session_open(*a, s, &err) != AW_OK)
        fail_msg("session: %s", err.msg);
}

/* Paging through topic with every limit 1..4 yields exactly r (newest
 * first), never a losing copy, and no filter on outcome sees one. */
static void check_first_copies(aw_audit_session *s, const char *topic,
                               const aw_audit_record *r, size_t n)
{
    aw_error err = {0};
    for (size_t limit = 1; limit <= 4; limit++) {
        size_t seen = 0;
        char *cursor = NULL;
        do {
            aw_audit_query q = {.ns = topic, .outcome = -1, .limit = limit, .cursor = cursor};
            aw_audit_page p;
            if (aw_audit_query_run(s, &q, &p, &err) != AW_OK)
                fail_msg("query (limit %zu): %s", limit, err.msg);
            for (size_t k = 0; k < p.count; k++) {
                assert_true(seen < n);
                assert_int_equal(p.records[k].outcome, AW_OUTCOME_EXECUTED);
                assert_true(aw_audit_record_equal(&p.records[k], &r[n - 1 - seen]));
                seen++;
            }
            free(cursor);
            cursor = p.next_cursor;
            p.next_cursor = NULL;
            aw_audit_page_clear(&p);
        } while (cursor);
        assert_int_equal(seen, n);
    }
    aw_audit_query q = {.ns = topic, .outcome = AW_OUTCOME_DEDUPLICATED};
    aw_audit_page p;
    assert_int_equal(aw_audit_query_run(s, &q, &p, &err), AW_OK);
    assert_int_equal(p.count, 0);
    aw_audit_page_clear(&p);
}

static void test_replay_collapses(void **state)
{
    (void)state;
    enum { N = 10 };
    char topic[64];
    snprintf(topic, sizeof(topic), "awch.%s.replay", g_run);
    aw_audit *a;
    aw_audit_session *s;
    open_backend(&a, &s);
    aw_audit_record r[N];
    int64_t base = aw_time_now_ms() / 1000 * 1000 - 60000;
    for (int i = 0; i < N; i++)
        make_rec(&r[i], topic, i, base + i);
    size_t ins = 0;
    aw_error err = {0};
    assert_int_equal(aw_audit_append_batch(s, r, N, &ins, &err), AW_OK);
    assert_int_equal(ins, N);
    assert_int_equal(aw_audit_append_batch(s, r, N, &ins, &err), AW_OK);
    assert_int_equal(ins, 0); /* the replay */
    assert_int_equal(count_ns(s, topic), N);

    /* Another process racing the existence check: copies land anyway, one
     * with a different completed_at and outcome. Queries still show each
     * record once, as first written (the smallest completed_at). */
    aw_ch_config cfg;
    aw_ch_conn c;
    aw_cht_admin_open("audit.url", g_url, &cfg, &c);
    aw_buf body = {0};
    assert_int_equal(aw_buf_puts(&body, AW_CH_INSERT_HEAD), 0);
    for (int i = 0; i < N; i++) {
        aw_audit_record copy;
        assert_int_equal(aw_audit_record_copy(&copy, &r[i], &err), AW_OK);
        copy.completed_at_ms += 5000;
        copy.outcome = AW_OUTCOME_DEDUPLICATED;
        assert_int_equal(aw_ch_row_append(&body, &copy, &err), AW_OK);
        aw_audit_record_clear(&copy);
    }
    if (aw_ch_request(&c, body.data, body.len, "raw insert", &err) != AW_OK)
        fail_msg("%s", err.msg);
    aw_buf_free(&body);
    check_first_copies(s, topic, r, N);
    /* the merge keeps the same copies the queries picked: nothing moves
     * (base and base+5 s may straddle midnight: then two partitions, no
     * merge, same answer) */
    aw_cht_admin_exec(&c, "OPTIMIZE TABLE " AW_CH_TABLE " FINAL");
    check_first_copies(s, topic, r, N);
    char d0[11], d1[11];
    aw_ch_date(base, d0);
    aw_ch_date(base + N + 5000, d1);
    if (strcmp(d0, d1) == 0) { /* one partition: the copies are gone */
        aw_buf q = {0};
        assert_int_equal(aw_buf_puts(&q, "SELECT count() FROM " AW_CH_TABLE " WHERE ns = "), 0);
        assert_int_equal(aw_ch_quote(&q, topic), 0);
        /* OPTIMIZE ... FINAL does nothing, silently, while a background
         * merge holds the parts (seen on a loaded machine): again until
         * the merge is done, within a bound. */
        int rows = -1;
        for (int attempt = 0; attempt < 100; attempt++) {
            assert_int_equal(aw_ch_request(&c, q.data, q.len, "count", &err), AW_OK);
            if ((rows = atoi(c.resp.data)) == N)
                break;
            aw_sleep_ms(100);
            aw_cht_admin_exec(&c, "OPTIMIZE TABLE " AW_CH_TABLE " FINAL");
        }
        assert_int_equal(rows, N);
        aw_buf_free(&q);
    }
    aw_ch_conn_close(&c);
    for (int i = 0; i < N; i++)
        aw_audit_record_clear(&r[i]);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
}

/* ---- TabSeparated: the insert format and the external table -------------- */

static const struct {
    const char *in, *want;
} tsv_cases[] = {
    {"", ""},
    {"acme", "acme"},
    {"a\tb", "a\\tb"},
    {"a\nb\r\n", "a\\nb\\r\\n"},
    {"back\\slash\\", "back\\\\slash\\\\"},
    {"\\t is not a tab, \\N is not NULL", "\\\\t is not a tab, \\\\N is not NULL"},
    {"quote ' and \" and `", "quote ' and \" and `"},
    {"\x01\x1f\x7f\b\f", "\x01\x1f\x7f\b\f"},
    {"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"},
    {"\xff\xfe not UTF-8", "\xff\xfe not UTF-8"},
};

static void test_tsv_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(tsv_cases) / sizeof(tsv_cases[0]); i++) {
        aw_buf b = {0};
        assert_int_equal(aw_ch_tsv_bytes(&b, tsv_cases[i].in, strlen(tsv_cases[i].in)), 0);
        assert_string_equal(b.data ? b.data : "", tsv_cases[i].want);
        aw_buf_free(&b);
    }
    aw_buf b = {0};
    assert_int_equal(aw_ch_tsv_bytes(&b, "a\0b", 3), 0);
    assert_memory_equal(b.data, "a\\0b", 5);
    aw_buf_reset(&b);
    assert_int_equal(aw_ch_tsv_int(&b, INT64_MIN), 0);
    assert_int_equal(aw_ch_tsv_int(&b, -1), 0);
    assert_int_equal(aw_ch_tsv_int(&b, 0), 0);
    assert_int_equal(aw_ch_tsv_uint(&b, UINT64_MAX), 0);
    assert_string_equal(b.data, "-9223372036854775808-1018446744073709551615");
    aw_buf_free(&b);
}

/* Every byte value (NUL included), the cases above and a 1 MiB string go
 * through an external table and come back as the same bytes: hex() of what
 * the server read equals the hex of what we meant. */
static void test_tsv_roundtrip(void **state)
{
    (void)state;
    enum { LONG = 1 << 20 };
    size_t ncases = sizeof(tsv_cases) / sizeof(tsv_cases[0]);
    char all[256], *big = malloc(LONG);
    assert_non_null(big);
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    for (size_t i = 0; i < LONG; i++)
        big[i] = "ab\t\\\n\xc3\xa9"[i % 7];
    aw_buf rows = {0}, want = {0};
    for (size_t i = 0; i <= ncases + 1; i++) {
        const char *v = i < ncases ? tsv_cases[i].in : i == ncases ? all : big;
        size_t len = i < ncases ? strlen(v) : i == ncases ? sizeof(all) : (size_t)LONG;
        assert_int_equal(aw_buf_printf(&rows, "%zu\t", i), 0);
        assert_int_equal(aw_ch_tsv_bytes(&rows, v, len), 0);
        assert_int_equal(aw_buf_append(&rows, "\n", 1), 0);
        assert_int_equal(aw_buf_printf(&want, "%zu\t", i), 0);
        for (size_t k = 0; k < len; k++)
            assert_int_equal(aw_buf_printf(&want, "%02X", (unsigned char)v[k]), 0);
        assert_int_equal(aw_buf_append(&want, "\n", 1), 0);
    }
    aw_ch_config cfg;
    aw_ch_conn c;
    aw_cht_admin_open("audit.url", g_url, &cfg, &c);
    aw_error err = {0};
    if (aw_ch_request_ext(&c, "SELECT i, hex(s) FROM t ORDER BY i FORMAT TabSeparated", "t",
                          "i UInt32, s String", rows.data, rows.len, "tsv", &err) != AW_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(c.resp.len, want.len);
    assert_memory_equal(c.resp.data, want.data, want.len);
    /* the connection goes back to plain requests afterwards */
    aw_cht_admin_exec(&c, "SELECT 1 FORMAT TabSeparated");
    assert_string_equal(c.resp.data, "1\n");
    aw_ch_conn_close(&c);
    aw_buf_free(&rows);
    aw_buf_free(&want);
    free(big);
}

/* Hostile text in every string column, record ids included, through the
 * backend's TabSeparated insert and back through its query: every field
 * equal. A replay of the batch finds every id (the external table carries
 * them byte for byte: control bytes too, test_tsv_roundtrip) and inserts
 * nothing; a record that is not UTF-8
 * fails the batch with nothing written. */
static void test_hostile_strings(void **state)
{
    (void)state;
    enum { N = 6, LONG = 64 * 1024 };
    static const char *const nasty[N] = {
        "tab\there, newline\nthere, CR\r, backslash\\ and \\t \\n \\N \\x41 \\\\",
        "quotes ' \" ` and {\"json\":\"with \\\" escapes\\n\"}",
        "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87",
        "ends with a backslash\\",
        "\t\n\\",
        "",
    };
    char topic[64];
    snprintf(topic, sizeof(topic), "awch.%s.hostile", g_run);
    char *big = malloc(LONG + 1);
    assert_non_null(big);
    for (size_t i = 0; i < LONG; i++)
        big[i] = "x\t\\\n\xc3\xa9"[i % 6];
    big[LONG] = '\0';
    aw_audit *a;
    aw_audit_session *s;
    open_backend(&a, &s);
    aw_audit_record r[N];
    int64_t base = aw_time_now_ms() / 1000 * 1000 - 30000;
    for (int i = 0; i < N; i++) {
        make_rec(&r[i], topic, i, base + i);
        const char *v = i == N - 1 ? big : nasty[i];
        char **text[] = {&r[i].action_id,    &r[i].tenant,    &r[i].provider,
                         &r[i].action_type,  &r[i].dedup_identity, &r[i].details,
                         &r[i].payload,      &r[i].worker_id};
        for (size_t k = 0; k < sizeof(text) / sizeof(text[0]); k++) {
            free(*text[k]);
            *text[k] = strdup(v);
        }
        r[i].metadata = strdup(nasty[(i + 1) % (N - 1)]);
        /* the id: hostile too (but no control bytes: ids never hold
         * them, see aw_audit_cursor_decode), still unique */
        static const char *const id_tail[N] = {"back\\slash", "\\N", "quote'\"`",
                                               "caf\xc3\xa9", "\\",   "\\t\\n"};
        char id[512];
        snprintf(id, sizeof(id), "%s:0:%d%s", topic, i, id_tail[i]);
        free(r[i].record_id);
        r[i].record_id = strdup(id);
    }
    size_t ins = 0;
    aw_error err = {0};
    if (aw_audit_append_batch(s, r, N, &ins, &err) != AW_OK)
        fail_msg("append: %s", err.msg);
    assert_int_equal(ins, N);
    check_first_copies(s, topic, r, N);
    assert_int_equal(aw_audit_append_batch(s, r, N, &ins, &err), AW_OK);
    assert_int_equal(ins, 0);
    assert_int_equal(count_ns(s, topic), N);

    aw_audit_record bad[2];
    make_rec(&bad[0], topic, 100, base);
    make_rec(&bad[1], topic, 101, base);
    free(bad[1].payload);
    bad[1].payload = strdup("{\"x\":\"\xff\"}");
    assert_int_equal(aw_audit_append_batch(s, bad, 2, &ins, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "UTF-8"));
    assert_int_equal(count_ns(s, topic), N);
    for (int i = 0; i < 2; i++)
        aw_audit_record_clear(&bad[i]);
    for (int i = 0; i < N; i++)
        aw_audit_record_clear(&r[i]);
    free(big);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void test_server_down(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof(url), "clickhouse://user:secret@127.0.0.1:%d/acteon_test",
             closed_port());
    aw_audit_options o = {.url = url, .connect_timeout_ms = 1000, .request_timeout_ms = 2000};
    aw_audit *a = NULL;
    aw_error err = {0};
    assert_int_equal(aw_audit_new("clickhouse", &o, &a, &err), AW_TRANSIENT);
    assert_true(err.retriable);
    assert_null(strstr(err.msg, "secret"));
    assert_null(a);
    int applied = -1;
    const aw_audit_driver *d = aw_audit_driver_find("clickhouse");
    assert_int_equal(d->migrate(&o, &applied, &err), AW_TRANSIENT);
    assert_null(strstr(err.msg, "secret"));
}

/* A database without the schema: create() refuses, naming migrate. */
static void test_schema_missing(void **state)
{
    (void)state;
    aw_ch_config cfg;
    aw_ch_conn c;
    aw_cht_admin_open("audit.url", g_url, &cfg, &c);
    char sql[128], url[256];
    snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS awt_%s", g_run);
    aw_cht_admin_exec(&c, sql);
    snprintf(url, sizeof(url), "%.*sawt_%s", (int)(strstr(cfg.base_url, "database=") -
                                                   cfg.base_url + 9),
             cfg.base_url, g_run);
    aw_audit_options o = {.url = url};
    aw_audit *a = NULL;
    aw_error err = {0};
    assert_int_equal(aw_audit_new("clickhouse", &o, &a, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "acteon-worker migrate"));
    /* migrate, then it opens; concurrent-safe = idempotent: twice is fine */
    const aw_audit_driver *d = aw_audit_driver_find("clickhouse");
    int applied = -1;
    if (d->migrate(&o, &applied, &err) != AW_OK)
        fail_msg("migrate: %s", err.msg);
    assert_int_equal(applied, (int)aw_ch_migrations_count);
    assert_int_equal(d->migrate(&o, &applied, &err), AW_OK);
    assert_int_equal(applied, 0);
    /* every file applied again over a schema that has it all (as when a
     * concurrent migrate got there first, unrecorded yet): harmless, the
     * ADD COLUMN of 0003 included, which 18.16 cannot say IF NOT EXISTS */
    snprintf(sql, sizeof(sql), "DROP TABLE awt_%s." AW_CH_MIGRATIONS_TABLE, g_run);
    aw_cht_admin_exec(&c, sql);
    if (d->migrate(&o, &applied, &err) != AW_OK)
        fail_msg("migrate over an applied schema: %s", err.msg);
    assert_int_equal(applied, (int)aw_ch_migrations_count);
    if (aw_audit_new("clickhouse", &o, &a, &err) != AW_OK)
        fail_msg("create after migrate: %s", err.msg);
    aw_audit_destroy(a);
    /* a tampered checksum is refused */
    snprintf(sql, sizeof(sql),
             "INSERT INTO awt_%s." AW_CH_MIGRATIONS_TABLE " VALUES (1, 'x', 'bad', now())",
             g_run);
    aw_cht_admin_exec(&c, sql);
    assert_int_equal(d->migrate(&o, &applied, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, aw_ch_migrations[0].file));
    snprintf(sql, sizeof(sql), "DROP DATABASE awt_%s", g_run);
    aw_cht_admin_exec(&c, sql);
    aw_ch_conn_close(&c);
}

/* Rows of the table in day partition p (active parts). */
static long long partition_rows(aw_ch_conn *c, unsigned p, const char *what)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM system.parts WHERE database = currentDatabase() AND "
             "table = '" AW_CH_TABLE "' AND active AND partition = '%u'",
             what, p);
    aw_error err = {0};
    if (aw_ch_request(c, sql, strlen(sql), "parts", &err) != AW_OK)
        fail_msg("%s", err.msg);
    return atoll(c->resp.data);
}

/* Retention by day partition: a fully expired day is dropped whole when it
 * fits the budget, and only then; a smaller budget deletes single rows. The
 * day is a random one of the 1990s, so no other run shares the partition.
 * Like the suite's cleanup test it assumes no other process runs cleanup
 * on the same table meanwhile (cleanup is global by contract). */
static void test_cleanup_partitions(void **state)
{
    (void)state;
    enum { N = 5 };
    char topic[64];
    snprintf(topic, sizeof(topic), "awch.%s.days", g_run);
    aw_audit *a;
    aw_audit_session *s;
    open_backend(&a, &s);
    aw_ch_config cfg;
    aw_ch_conn c;
    aw_cht_admin_open("audit.url", g_url, &cfg, &c);
    const int64_t day_ms = 86400000LL;
    int64_t day0 = (int64_t)(strtoull(g_run + 8, NULL, 16) % 3650) + 7305; /* 1990.. */
    int64_t base = day0 * day_ms + 3600000;
    char date[11];
    aw_ch_date(base, date);
    unsigned p = (unsigned)atoi(date) * 10000 + (unsigned)atoi(date + 5) * 100 +
                 (unsigned)atoi(date + 8);
    aw_audit_record r[N];
    for (int i = 0; i < N; i++) {
        make_rec(&r[i], topic, i, base + i);
        r[i].expires_at_ms = base + day_ms;
    }
    size_t ins = 0, deleted = 0;
    aw_error err = {0};
    assert_int_equal(aw_audit_append_batch(s, r, N, &ins, &err), AW_OK);
    assert_int_equal(ins, N);
    assert_int_equal(partition_rows(&c, p, "sum(rows)"), N);
    const int64_t now = aw_time_now_ms();
    /* budget 2 < 5 rows: the day stays, at most 2 rows go */
    if (aw_audit_cleanup(s, now, 2, &deleted, &err) != AW_OK)
        fail_msg("cleanup: %s", err.msg);
    assert_true(deleted >= 1 && deleted <= 2);
    long long left = partition_rows(&c, p, "sum(rows)");
    assert_true(left >= N - 2 && left <= N);
    /* a budget the day fits in: dropped whole (other runs' expired rows may
     * share the budget: drain until nothing is left) */
    size_t steps = 0;
    do {
        if (aw_audit_cleanup(s, now, 1000, &deleted, &err) != AW_OK)
            fail_msg("cleanup: %s", err.msg);
        assert_true(deleted <= 1000);
        assert_true(++steps < 1000);
    } while (deleted > 0);
    assert_int_equal(partition_rows(&c, p, "sum(rows)"), 0);
    /* dropped, not emptied by a mutation (which leaves an empty part) */
    assert_int_equal(partition_rows(&c, p, "count()"), 0);
    aw_audit_query q = {.ns = topic, .outcome = -1};
    aw_audit_page pg;
    assert_int_equal(aw_audit_query_run(s, &q, &pg, &err), AW_OK);
    assert_int_equal(pg.count, 0);
    aw_audit_page_clear(&pg);
    aw_ch_conn_close(&c);
    for (int i = 0; i < N; i++)
        aw_audit_record_clear(&r[i]);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
}

static void test_write_rate(void **state)
{
    (void)state;
    enum { TOTAL = 20000, BATCH = 500 };
    char topic[64];
    snprintf(topic, sizeof(topic), "awch.%s.rate", g_run);
    aw_audit *a;
    aw_audit_session *s;
    open_backend(&a, &s);
    aw_audit_record *r = calloc(TOTAL, sizeof(*r));
    assert_non_null(r);
    int64_t base = aw_time_now_ms() - 600000;
    for (int i = 0; i < TOTAL; i++)
        make_rec(&r[i], topic, i, base + i);
    int64_t t0 = aw_mono_now_ms();
    size_t total = 0;
    for (int i = 0; i < TOTAL; i += BATCH) {
        size_t ins = 0;
        aw_error err = {0};
        if (aw_audit_append_batch(s, r + i, BATCH, &ins, &err) != AW_OK)
            fail_msg("append: %s", err.msg);
        total += ins;
    }
    int64_t ms = aw_mono_now_ms() - t0;
    assert_int_equal(total, TOTAL);
    printf("clickhouse audit write rate: %d records in batches of %d in %" PRId64
           " ms = %.0f records/s\n",
           TOTAL, BATCH, ms, ms > 0 ? TOTAL * 1000.0 / (double)ms : 0.0);
    fflush(stdout);
    for (int i = 0; i < TOTAL; i++)
        aw_audit_record_clear(&r[i]);
    free(r);
    aw_audit_session_close(s);
    aw_audit_destroy(a);
}

int main(void)
{
    g_url = aw_ct_server_url("AW_TEST_CLICKHOUSE_URL");
    if (!g_url)
        return 77;
    aw_http_global_init();
    aw_ct_random_hex(g_run, sizeof(g_run), "");
    aw_audit_options opts = {.url = g_url, .retention_ms = 7 * 24 * 3600 * 1000LL};
    aw_error err = {0};
    int applied = -1;
    const aw_audit_driver *d = aw_audit_driver_find("clickhouse");
    if (!d || d->migrate(&opts, &applied, &err) != AW_OK) {
        fprintf(stderr, "migrate: %s\n", err.msg);
        return 1;
    }
    int failed = aw_audit_conformance_run("clickhouse", &opts);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_text),
        cmocka_unit_test(test_quote_roundtrip),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_split_statements),
        cmocka_unit_test(test_replay_collapses),
        cmocka_unit_test(test_tsv_text),
        cmocka_unit_test(test_tsv_roundtrip),
        cmocka_unit_test(test_hostile_strings),
        cmocka_unit_test(test_server_down),
        cmocka_unit_test(test_schema_missing),
        cmocka_unit_test(test_cleanup_partitions),
        cmocka_unit_test(test_write_rate),
    };
    failed += cmocka_run_group_tests_name("audit_clickhouse", tests, NULL, NULL);
    aw_http_global_cleanup();
    return failed;
}

#endif
