/* ClickHouse string literals, shared by the audit and state backends.
 *
 * ClickHouse 18.16 has no query parameters ({name:Type} arrived in 19.x),
 * so every value a caller supplies is embedded as a string literal built by
 * aw_ch_quote() and by nothing else: single quotes around, backslash and
 * quote escaped, every control byte (< 0x20, 0x7f) written as \xHH, other
 * bytes copied. Nothing a caller supplies can end the literal. Bytes that
 * may contain NUL (state values) are hex-encoded first and the hex text is
 * quoted (unhex('..') in the statement). Pure. */
#ifndef AW_CH_QUOTE_H
#define AW_CH_QUOTE_H

#include "common/aw_buf.h"

/* Append s (NUL-terminated) as a ClickHouse string literal. 0, or -1 when
 * out of memory. */
int aw_ch_quote(aw_buf *b, const char *s);

#endif
