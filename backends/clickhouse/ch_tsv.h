/* TabSeparated values for ClickHouse request bodies (an INSERT's rows, an
 * external table), shared by the ClickHouse backends.
 *
 * ClickHouse (18.16 and later) reads a TabSeparated String field up to the
 * next unescaped tab or newline and turns a backslash sequence back into
 * one byte (\\ \t \n \r \0 \b \f \a \v \xHH; \c for any other c is c). We
 * escape exactly the bytes that could end the field or the row or start a
 * sequence: backslash, tab, newline, and CR and NUL for readability of the
 * body; every other byte (UTF-8 included) is copied, so any byte string
 * reads back as itself (tests/conformance/test_audit_clickhouse.c sends
 * hostile strings through the real server). No CR or LF ever appears
 * inside an escaped field, which the multipart body of an external table
 * relies on (ch_http.h). Pure. */
#ifndef AW_CH_TSV_H
#define AW_CH_TSV_H

#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"

/* Append s[0..len) escaped. 0, or -1 when out of memory. */
int aw_ch_tsv_bytes(aw_buf *b, const char *s, size_t len);
/* Decimal integers, as TabSeparated writes them. 0, or -1. */
int aw_ch_tsv_int(aw_buf *b, int64_t v);
int aw_ch_tsv_uint(aw_buf *b, uint64_t v);
/* Read one back: the whole of s as a decimal integer, as ClickHouse writes
 * an Int64 or a UInt64 (in TabSeparated, and quoted in JSON output).
 * strtoll/strtoull rules, nothing after the digits, no overflow, and no
 * leading '-' for the unsigned one. 0, or -1 with *out untouched. */
int aw_ch_tsv_parse_int(const char *s, int64_t *out);
int aw_ch_tsv_parse_uint(const char *s, uint64_t *out);

#endif
