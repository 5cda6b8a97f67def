/* ClickHouse string literals, shared by the audit and state backends.
 *
 * ClickHouse 18.16 has no query parameters ({name:Type} arrived in 19.x),
 * so every value a caller supplies is embedded as a string literal built by
 * aw_ch_quote() and by nothing else: single quotes around, backslash and
 * quote escaped, every control byte (< 0x20, 0x7f, NUL included) written as
 * \xHH, other bytes copied. Nothing a caller supplies can end the literal.
 * Pure. */
#ifndef AW_CH_QUOTE_H
#define AW_CH_QUOTE_H

#include <stddef.h>

#include "common/aw_buf.h"

/* Append s (NUL-terminated) as a ClickHouse string literal. 0, or -1 when
 * out of memory. */
int aw_ch_quote(aw_buf *b, const char *s);
/* The same for len arbitrary bytes (NUL allowed: binary state values). */
int aw_ch_quote_bytes(aw_buf *b, const void *data, size_t len);

#endif
