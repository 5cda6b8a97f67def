/* Two decimal digits at a time from a table, for the hand-written number
 * and time formatting of the hot path (aw_format_int, the RFC 3339 times):
 * one load instead of a division and a remainder per digit. */
#ifndef AW_DIGITS_H
#define AW_DIGITS_H

#include <string.h>

extern const char aw_digit_pairs[200];

/* v in 0..99 as two digits at p; returns p + 2. */
static inline char *aw_two_digits(char *p, unsigned v)
{
    memcpy(p, aw_digit_pairs + 2 * v, 2);
    return p + 2;
}

#endif
