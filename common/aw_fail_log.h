/* Log a repeated failure once per transition, not once per attempt: many
 * threads retrying the same unreachable backend share one aw_fail_log, so
 * eight worker threads backing off for ten minutes write a handful of lines
 * instead of thousands.
 *
 * Lines (component and subject from init):
 *   WARN "<subject> down: <why> (<note>)"            first failure of a streak
 *   WARN "<subject> still down: <why> (N failed attempt(s) over T s)"
 *                                                   at most every remind_ms
 *   INFO "<subject> up again after T ms (N failed attempt(s))"
 *                                                   first success after it
 *
 * Threads: any thread may call failed()/ok() at once; atomics only, no
 * lock, no allocation. When threads race at a transition a count may be off
 * by the racing attempts, never a line repeated per thread. The strings
 * passed to init are borrowed (literals) and immutable afterwards. */
#ifndef AW_FAIL_LOG_H
#define AW_FAIL_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/aw_log.h"

#define AW_FAIL_LOG_REMIND_MS 30000

typedef struct aw_fail_log {
    const char *component;    /* log component, e.g. "runtime" */
    const char *subject;      /* e.g. "state backend" */
    const char *note;         /* said once at the first failure, e.g. "retrying with backoff" */
    int64_t remind_ms;        /* <= 0: no reminders */
    atomic_llong since;       /* mono ms of the streak's first failure; 0 = no streak */
    atomic_ulong failures;    /* failed attempts in the current streak */
    atomic_llong next_remind; /* mono ms before which no reminder is logged */
} aw_fail_log;

/* A static initializer, for a fail log with static storage (one per
 * process, e.g. in the file whose threads retry). */
#define AW_FAIL_LOG_INIT(component_, subject_, note_, remind_ms_)                             \
    {.component = (component_), .subject = (subject_), .note = (note_),                       \
     .remind_ms = (remind_ms_), .since = 0, .failures = 0, .next_remind = 0}

/* Before any thread uses f (or use AW_FAIL_LOG_INIT). */
void aw_fail_log_init(aw_fail_log *f, const char *component, const char *subject,
                      const char *note, int64_t remind_ms);

/* One failed attempt (why may be NULL). Logs at the start of a streak and
 * at most every remind_ms after; returns whether this call logged. */
bool aw_fail_log_failed(aw_fail_log *f, const char *why);

/* One success: ends the streak, logging the recovery once if there was one.
 * Returns the number of failed attempts the streak had (0: none). */
unsigned long aw_fail_log_ok(aw_fail_log *f);

/* Whether a streak is open (the last transition was to failing). */
static inline bool aw_fail_log_failing(aw_fail_log *f) { return atomic_load(&f->since) != 0; }

#endif
