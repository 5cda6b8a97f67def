/* Finding the next byte of interest in JSON text, eight bytes at a time.
 *
 * Every message is walked three times on the hot path (the identity scan,
 * the strict check, the reply's string escaping), and nearly all of its
 * bytes are plain string content. Testing a 64-bit word at once for
 * "any byte below 0x20, '"', '\\' or 0x80 and above" (the classic zero-byte
 * bit tricks) and only then looking at single bytes makes those walks
 * several times cheaper. The word tests can flag bytes above a true hit
 * (a borrow carries into them) but never below one, and never miss one: on
 * little-endian machines the lowest flagged byte is the answer, elsewhere a
 * byte loop finds it.
 *
 * Where SSE2 is there (every x86-64) sixteen bytes are tested at a time
 * first: one signed comparison with 0x20 finds both control characters and
 * non-ASCII bytes (0x80 and above are negative), and the string walks cost
 * about half the instructions they did eight bytes at a time
 * (docs/performance.md, "Instructions per action"). */
#ifndef AW_TEXT_SCAN_H
#define AW_TEXT_SCAN_H

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define AW_TS_FIRST(p, mask) return (p) + (__builtin_ctzll(mask) >> 3)
#else
#define AW_TS_FIRST(p, mask) break
#endif

/* The first byte in [p, end) that is a control character, '"', '\\' or
 * not ASCII; end when there is none. */
static inline const unsigned char *aw_scan_plain(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    if (end - p >= 16) {
        const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                      space = _mm_set1_epi8(0x20);
        do {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i hit = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                _mm_cmplt_epi8(x, space));
            unsigned mask = (unsigned)_mm_movemask_epi8(hit);
            if (mask)
                return p + __builtin_ctz(mask);
            p += 16;
        } while (end - p >= 16);
    }
#endif
    while (end - p >= 8) {
        uint64_t x = aw_ts_load(p);
        uint64_t special = ((x - AW_TS_ONES * 0x20) & ~x & AW_TS_HIGHS) | (x & AW_TS_HIGHS) |
                           aw_ts_zero_byte(x ^ (AW_TS_ONES * '"')) |
                           aw_ts_zero_byte(x ^ (AW_TS_ONES * '\\'));
        if (special)
            AW_TS_FIRST(p, special);
        p += 8;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Four of the last seven bytes the same way: the end of a short string
     * is the common case when the caller bounds the scan by the string. */
    if (end - p >= 4) {
        uint32_t x;
        memcpy(&x, p, sizeof x);
        const uint32_t ones = (uint32_t)AW_TS_ONES, highs = (uint32_t)AW_TS_HIGHS;
        uint32_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        uint32_t special = ((x - ones * 0x20) & ~x & highs) | (x & highs) |
                           ((q - ones) & ~q & highs) | ((b - ones) & ~b & highs);
        if (special)
            return p + (__builtin_ctz(special) >> 3);
        p += 4;
    }
#endif
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* The first '"' or '\\' in [p, end); end when there is none. */
static inline const unsigned char *aw_scan_quote(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    if (end - p >= 16) {
        const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
        do {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned mask = (unsigned)_mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
            if (mask)
                return p + __builtin_ctz(mask);
            p += 16;
        } while (end - p >= 16);
    }
#endif
    while (end - p >= 8) {
        uint64_t x = aw_ts_load(p);
        uint64_t hit = aw_ts_zero_byte(x ^ (AW_TS_ONES * '"')) |
                       aw_ts_zero_byte(x ^ (AW_TS_ONES * '\\'));
        if (hit)
            AW_TS_FIRST(p, hit);
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

#endif
