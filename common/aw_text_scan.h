/* Finding the next byte of interest in JSON text, eight bytes at a time.
 *
 * Every message is walked three times on the hot path (the identity scan,
 * the strict check, the reply's string escaping), and nearly all of its
 * bytes are plain string content. Testing a 64-bit word at once for
 * "any byte below 0x20, '"', '\\' or 0x80 and above" (the classic zero-byte
 * bit tricks) and only then looking at single bytes makes those walks
 * several times cheaper. The word tests may flag a word that holds no such
 * byte (never the reverse): the byte loop then decides. */
#ifndef AW_TEXT_SCAN_H
#define AW_TEXT_SCAN_H

#include <stdint.h>
#include <string.h>

#define AW_TS_ONES 0x0101010101010101ULL
#define AW_TS_HIGHS 0x8080808080808080ULL

/* Non-zero when some byte of x is zero. */
static inline uint64_t aw_ts_zero_byte(uint64_t x)
{
    return (x - AW_TS_ONES) & ~x & AW_TS_HIGHS;
}

static inline uint64_t aw_ts_load(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* The first byte in [p, end) that is a control character, '"', '\\' or
 * not ASCII; end when there is none. */
static inline const unsigned char *aw_scan_plain(const unsigned char *p, const unsigned char *end)
{
    while (end - p >= 8) {
        uint64_t x = aw_ts_load(p);
        uint64_t special = ((x - AW_TS_ONES * 0x20) & ~x & AW_TS_HIGHS) | (x & AW_TS_HIGHS) |
                           aw_ts_zero_byte(x ^ (AW_TS_ONES * '"')) |
                           aw_ts_zero_byte(x ^ (AW_TS_ONES * '\\'));
        if (special)
            break;
        p += 8;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* The first '"' or '\\' in [p, end); end when there is none. */
static inline const unsigned char *aw_scan_quote(const unsigned char *p, const unsigned char *end)
{
    while (end - p >= 8) {
        uint64_t x = aw_ts_load(p);
        if (aw_ts_zero_byte(x ^ (AW_TS_ONES * '"')) | aw_ts_zero_byte(x ^ (AW_TS_ONES * '\\')))
            break;
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

#endif
