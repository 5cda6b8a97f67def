/* The hand-written formatters of the hot path, against libc's own:
 * aw_time_format_rfc3339 (civil_from_days) against gmtime_r + snprintf over
 * edge dates and a sweep of 50,000 pseudo-random instants, aw_format_int
 * against snprintf, aw_key_encode's layout (and aw_key_decode back),
 * aw_audit_record_id, the word-at-a-time scans of common/aw_text_scan.h
 * against byte loops, and the JSON string escaper against jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backends/audit/audit_types.h"
#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "common/aw_json_out.h"
#include "common/aw_key.h"
#include "common/aw_text_scan.h"

/* What the formatter did before it was written by hand. */
static void reference_time(int64_t ms, char *out, size_t outsz)
{
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static void expect_time(int64_t ms)
{
    char got[64], want[64];
    aw_time_format_rfc3339(ms, got, sizeof got);
    reference_time(ms, want, sizeof want);
    if (strcmp(got, want) != 0)
        fail_msg("%" PRId64 ": got %s, want %s", ms, got, want);
}

static void test_time_format(void **state)
{
    (void)state;
    static const int64_t edges[] = {
        0, 1, 999, 1000, -1, -999, -1000, -1001, 86399999, 86400000, -86400000,
        951782400000,     /* 2000-02-29 */
        951868800000,     /* 2000-03-01 */
        4107456000000,    /* 2100-02-28 */
        4107542400000,    /* 2100-03-01 */
        -2203891200000,   /* 1900-03-01 */
        -62135596800000,  /* 0001-01-01 */
        -62167219200000,  /* 0000-01-01 */
        253402300799999,  /* 9999-12-31T23:59:59.999 */
        253402300800000,  /* 10000-01-01: the slow path */
        -62167219200001,  /* -0001-12-31T23:59:59.999: the slow path */
        1764115200123,    /* 2025-11-26 */
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        expect_time(edges[i]);
    /* A linear congruential sweep over years 0..9999 (both signs of ms). */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 50000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int64_t span = 253402300800000 + 62167219200000;
        expect_time((int64_t)(x % (uint64_t)span) - 62167219200000);
    }
    /* Record after record: today, today again, the day retention ends,
     * and now and then a third day (the per-thread cache of two dates). */
    for (int i = 0; i < 300; i++) {
        int64_t now = 1764115200123 + (int64_t)i * 3600 * 1000;
        expect_time(now);
        expect_time(now + 17);
        expect_time(now + 7 * 86400000LL);
        if (i % 7 == 0)
            expect_time(now - 400 * 86400000LL);
    }
    char small[10];
    aw_time_format_rfc3339(0, small, sizeof small); /* too small: cut, terminated */
    assert_int_equal(strlen(small), sizeof small - 1);
}

static void test_format_int(void **state)
{
    (void)state;
    static const int64_t values[] = {0, 1, -1, 9, 10, 99, 100, 2147483647, -2147483648LL,
                                     1000000007, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char got[AW_INT_TEXT], want[32];
        size_t n = aw_format_int(got, values[i]);
        snprintf(want, sizeof want, "%" PRId64, values[i]);
        assert_string_equal(got, want);
        assert_int_equal(n, strlen(want));
    }
}

static void test_key_and_record_id(void **state)
{
    (void)state;
    aw_buf b = {0};
    assert_int_equal(aw_key_encode(&b, "ns", "tenant:x", "d", "id-1"), 0);
    assert_string_equal(b.data, "2:ns8:tenant:x1:did-1");
    assert_int_equal(aw_key_encode(&b, "", "", "", NULL), 0); /* appends */
    assert_string_equal(b.data, "2:ns8:tenant:x1:did-10:0:0:");
    /* Lengths of two digits, and the parts read back. */
    char tenant[12] = "0123456789:";
    aw_buf_reset(&b);
    assert_int_equal(aw_key_encode(&b, "ns", tenant, "lock", "a:b"), 0);
    assert_string_equal(b.data, "2:ns11:0123456789:4:locka:b");
    const char *ns, *t, *kind, *kid;
    size_t ns_len, t_len, kind_len, kid_len;
    assert_int_equal(aw_key_decode(b.data, b.len, &ns, &ns_len, &t, &t_len, &kind, &kind_len,
                                   &kid, &kid_len),
                     0);
    assert_int_equal(t_len, strlen(tenant));
    assert_memory_equal(t, tenant, t_len);
    assert_int_equal(kind_len, 4);
    assert_int_equal(kid_len, 3);
    assert_memory_equal(kid, "a:b", 3);
    /* Three digits. */
    char big[151];
    memset(big, 'x', 150);
    big[150] = '\0';
    aw_buf_reset(&b);
    assert_int_equal(aw_key_encode(&b, big, "t", "k", "i"), 0);
    assert_memory_equal(b.data, "150:xx", 6);
    assert_string_equal(b.data + 4 + 150, "1:t1:ki");
    aw_buf_free(&b);

    char id[64];
    aw_audit_record_id(id, sizeof id, "orders", 3, INT64_MAX);
    assert_string_equal(id, "orders:3:9223372036854775807");
    aw_audit_record_id(id, sizeof id, NULL, -1, -2);
    assert_string_equal(id, ":-1:-2");
    char small[9];
    aw_audit_record_id(small, sizeof small, "orders", 12, 5);
    assert_string_equal(small, "orders:1");
}

static const unsigned char *plain_ref(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

static const unsigned char *quote_ref(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* Every special byte at every position of buffers of every length up to 40,
 * followed by another, the rest filled with plain bytes of several values. */
static void test_scans(void **state)
{
    (void)state;
    static const unsigned char specials[] = {0x00, 0x01, 0x1f, '"', '\\', 0x80, 0xc3, 0xff,
                                             0x20, 0x7f, 'a'};
    unsigned char buf[48];
    for (int fill = 0x20; fill < 0x80; fill += 0x0b) {
        for (size_t len = 0; len <= 40; len++) {
            for (size_t at = 0; at <= len; at++) {
                for (size_t s = 0; s < sizeof specials; s++) {
                    memset(buf, fill, sizeof buf);
                    if (at < len)
                        buf[at] = specials[s];
                    /* a second one just after, of another kind: the scans
                     * must still stop at the first */
                    if (at + 1 < len)
                        buf[at + 1] = specials[(s + 3) % sizeof specials];
                    const unsigned char *end = buf + len;
                    for (size_t from = 0; from <= len; from += 3) {
                        assert_ptr_equal(aw_scan_plain(buf + from, end),
                                         plain_ref(buf + from, end));
                        assert_ptr_equal(aw_scan_quote(buf + from, end),
                                         quote_ref(buf + from, end));
                    }
                }
            }
        }
    }
}

/* aw_json_out_string (aw_json_escape_into) against json_dumps of the same
 * string: every special byte at every position of strings up to 40 bytes
 * (short runs are copied by fixed-size moves, long ones by memcpy). */
static void test_escape(void **state)
{
    (void)state;
    static const unsigned char specials[] = {0x01, 0x1f, '\n', '"', '\\', 0x7f, '/', 'a'};
    char s[48];
    for (size_t len = 0; len <= 40; len++) {
        for (size_t at = 0; at <= len; at++) {
            for (size_t k = 0; k < sizeof specials; k++) {
                for (size_t i = 0; i < len; i++)
                    s[i] = (char)('a' + i % 26);
                if (at < len)
                    s[at] = (char)specials[k];
                if (at + 2 < len) /* and a two-byte UTF-8 sequence after it */
                    s[at + 1] = (char)0xc3, s[at + 2] = (char)0xa9;
                json_t *j = json_stringn(s, len);
                assert_non_null(j);
                char *want = json_dumps(j, JSON_ENCODE_ANY);
                aw_buf got = {0};
                assert_int_equal(aw_json_out_string(&got, s, len), 0);
                if (strcmp(got.data, want) != 0)
                    fail_msg("len %zu, byte 0x%02x at %zu: got %s, want %s", len, specials[k],
                             at, got.data, want);
                aw_buf_free(&got);
                free(want);
                json_decref(j);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_format_int),
        cmocka_unit_test(test_key_and_record_id),
        cmocka_unit_test(test_scans),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
