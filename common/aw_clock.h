/* Clocks and RFC 3339 timestamps. All times are int64 milliseconds. */
#ifndef AW_CLOCK_H
#define AW_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock (CLOCK_REALTIME), ms since the Unix epoch: for records and TTLs.
 * Plus the environment's AW_CLOCK_OFFSET_MS (read once at start-up; for
 * tests and drills only): a replica whose clock is skewed, as far as every
 * decision the worker takes by its wall clock goes (leases judged by the
 * worker's clock, due times, throttle windows, record times), without
 * moving the clock of the process's other libraries. Why not libfaketime:
 * under its offsets librdkafka 2.0.2's timers stall (3 group heartbeats in
 * 20 s instead of 35, measured), so the replica loses its partitions
 * instead of showing the skew. */
int64_t aw_time_now_ms(void);
/* That offset, 0 when unset (the worker logs it at start when set). */
int64_t aw_clock_offset_ms(void);

/* Monotonic clock, ms: for timeouts, backoff and durations. */
int64_t aw_mono_now_ms(void);
/* Monotonic clock, microseconds: for latency histograms. */
int64_t aw_mono_now_us(void);

/* "2026-11-25T20:14:38.123Z" into out (at least 25 bytes). Returns out. */
char *aw_time_format_rfc3339(int64_t ms, char *out, size_t outsz);

/* Parse an RFC 3339 date-time (fraction and offset optional only as RFC 3339
 * allows: "T" or " " separator, "Z" or +hh:mm). Return 0 and set *ms, or -1. */
int aw_time_parse_rfc3339(const char *s, int64_t *ms);

/* Sleep for ms (no-op for <= 0). Not for test synchronisation. */
void aw_sleep_ms(int64_t ms);

/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait on a
 * condition variable created with pthread_condattr_setclock(MONOTONIC). */
struct timespec;
void aw_mono_deadline(struct timespec *ts, int64_t ms);

#endif
