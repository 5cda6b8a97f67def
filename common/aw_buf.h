/* Growable byte buffer, always NUL-terminated. Owned by whoever declared it;
 * free with aw_buf_free(). A zeroed struct is an empty buffer. */
#ifndef AW_BUF_H
#define AW_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/aw_error.h"

typedef struct aw_buf {
    char *data;
    size_t len;
    size_t cap;
} aw_buf;

/* Return 0, or -1 when out of memory (the buffer is unchanged then). */
int aw_buf_reserve(aw_buf *b, size_t extra);
int aw_buf_append(aw_buf *b, const void *data, size_t len);
int aw_buf_puts(aw_buf *b, const char *s);
int aw_buf_printf(aw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void aw_buf_reset(aw_buf *b);
void aw_buf_free(aw_buf *b);
/* malloc'd copy of len bytes plus a NUL (binary-safe, and a C string for
 * text); NULL when out of memory. */
char *aw_memdup(const void *p, size_t len);

/* v in decimal into out (at least AW_INT_TEXT bytes), NUL-terminated;
 * returns its length. For the hot path: snprintf parses its format for
 * every number. */
#define AW_INT_TEXT 21
size_t aw_format_int(char *out, int64_t v);

/* Hand the data over to the caller (free() it); the buffer becomes empty. */
char *aw_buf_steal(aw_buf *b);

#endif
