#include "common/aw_clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/aw_digits.h"

/* AW_CLOCK_OFFSET_MS (aw_clock.h), read once before main and never
 * written again, so every thread reads it without a lock. */
static int64_t clock_offset_ms;

__attribute__((constructor)) static void read_clock_offset(void)
{
    const char *v = getenv("AW_CLOCK_OFFSET_MS");
    if (!v || !*v)
        return;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    /* a year either way is more than any skew worth simulating */
    if (errno || *end || n < -31536000000LL || n > 31536000000LL) {
        fprintf(stderr, "AW_CLOCK_OFFSET_MS=\"%s\": not a number of ms within a year: "
                        "ignored\n", v);
        return;
    }
    clock_offset_ms = n;
}

int64_t aw_clock_offset_ms(void)
{
    return clock_offset_ms;
}

int64_t aw_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + clock_offset_ms;
}

int64_t aw_mono_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t aw_mono_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * civil_from_days): pure arithmetic, no locale or time zone lookup as in
 * gmtime_r, for the three times of every audit record and reply. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                       /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                     /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

char *aw_time_format_rfc3339(int64_t ms, char *out, size_t outsz)
{
    int64_t secs = ms / 1000;
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    /* The dates of the last two days formatted on this thread: a record's
     * times fall on today and, for expires_at, on the day its retention
     * ends, record after record. */
    static _Thread_local struct {
        int64_t days, year;
        int mon, mday;
    } cache[2] = {{INT64_MIN, 0, 0, 0}, {INT64_MIN, 0, 0, 0}};
    static _Thread_local unsigned next_slot;
    unsigned slot = cache[0].days == days ? 0 : cache[1].days == days ? 1 : 2;
    if (slot == 2) {
        slot = next_slot;
        next_slot ^= 1;
        civil_from_days(days, &cache[slot].year, &cache[slot].mon, &cache[slot].mday);
        cache[slot].days = days;
    }
    int64_t year = cache[slot].year;
    int mon = cache[slot].mon, mday = cache[slot].mday;
    int hour = (int)(sod / 3600), min = (int)(sod / 60 % 60), sec = (int)(sod % 60);
    if (year < 0 || year > 9999 || outsz < 25) {
        snprintf(out, outsz, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)year, mon, mday,
                 hour, min, sec, frac);
        return out;
    }
    /* The common case by hand: snprintf was a visible share of the
     * per-message CPU. */
    unsigned y = (unsigned)year;
    char *p = out;
    p = aw_two_digits(p, y / 100);
    p = aw_two_digits(p, y % 100);
    *p++ = '-';
    p = aw_two_digits(p, (unsigned)mon);
    *p++ = '-';
    p = aw_two_digits(p, (unsigned)mday);
    *p++ = 'T';
    p = aw_two_digits(p, (unsigned)hour);
    *p++ = ':';
    p = aw_two_digits(p, (unsigned)min);
    *p++ = ':';
    p = aw_two_digits(p, (unsigned)sec);
    *p++ = '.';
    *p++ = (char)('0' + frac / 100);
    p = aw_two_digits(p, (unsigned)(frac % 100));
    *p++ = 'Z';
    *p = '\0';
    return out;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int aw_time_parse_rfc3339(const char *s, int64_t *ms)
{
    int Y, M, D, h, mi, sec;
    if (!s || strlen(s) < 20)
        return -1;
    if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60)
        return -1;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap)
        return -1;
    const char *p = s + 19;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    int64_t days = days_from_civil(Y, M, D);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + (sec == 60 ? 59 : sec) - offset_min * 60;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

void aw_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

void aw_mono_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}
