/* The state-machine load of the benchmarks (bench/run.sh machine): which
 * event an action concerns and which action_type it has, shared by the
 * producer (bench_load --events) and the ceiling (bench_event_ceiling) so
 * both make the same moves.
 *
 * Action i (0-based) of a load over m events concerns event i % m, and is
 * its round r = i / m; its action_type is AW_BENCH_EVENT_TYPES[r % 10].
 * On the machine of bench/run.sh (new, open, acked, resolved; alert: new |
 * resolved -> open, ack: open -> acked, resolve: open | acked -> resolved)
 * an event that sees its actions in order moves on 8 rounds of 10 and
 * refuses two: the second alert in a row (round 4, "open" on "alert") and
 * the ack of a resolved event (round 7). Round 10 (alert on resolved) moves
 * like round 0 (alert on new), so the pattern repeats. Nothing kept: any
 * thread. */
#ifndef AW_BENCH_EVENTS_H
#define AW_BENCH_EVENTS_H

#include <stdbool.h>

#define AW_BENCH_EVENT_ROUNDS 10

static const char *const AW_BENCH_EVENT_TYPES[AW_BENCH_EVENT_ROUNDS] = {
    "alert", "ack", "resolve", "alert", "alert", "ack", "resolve", "ack", "alert", "resolve"};

static inline long aw_bench_event_of(long i, long m) { return i % m; }

static inline const char *aw_bench_event_type(long i, long m)
{
    return AW_BENCH_EVENT_TYPES[(i / m) % AW_BENCH_EVENT_ROUNDS];
}

/* Whether action i moves its event when the event's actions are applied in
 * order (the expected count the figures are checked against). */
static inline bool aw_bench_event_moves(long i, long m)
{
    long r = (i / m) % AW_BENCH_EVENT_ROUNDS;
    return r != 4 && r != 7;
}

#endif
