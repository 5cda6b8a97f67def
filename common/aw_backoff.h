/* Exponential backoff with full jitter ("Exponential Backoff And Jitter",
 * AWS architecture blog): the delay for attempt n (1-based) is uniform in
 * [base/2, min(max, base * 2^(n-1))], so synchronized retries spread out
 * but never collapse to zero. Thread-safe (per-thread random state). */
#ifndef AW_BACKOFF_H
#define AW_BACKOFF_H

#include <stdint.h>

int64_t aw_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms);

#endif
