/* Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c). */
#ifndef AW_FUZZ_UTIL_H
#define AW_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (malloc'd: ASan then sees reads past
 * its end). The parsers under test take C strings, so an embedded NUL just
 * ends the string early, as it would for a real caller. */
static inline char *aw_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The answer after the first input byte (which picks the parser), as a heap
 * copy of exactly its length: ASan then sees any read past len. */
static inline char *aw_fuzz_body(const uint8_t *data, size_t size, size_t *len)
{
    *len = size - 1;
    char *body = malloc(*len ? *len : 1);
    if (!body)
        abort();
    memcpy(body, data + 1, *len);
    return body;
}

/* Non-overlapping occurrences of needle (non-empty) in hay. */
static inline size_t aw_fuzz_count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

#endif
