/* Choosing a worker's next micro-batch while keeping per-key order
 * (docs/design.md section 1, "Order per key"): a job never overtakes an earlier
 * pending job of the same dedup identity, and a job whose identity is
 * leased by another holder waits until its not_before time (without holding
 * up jobs of other identities). Pure function: no locks, no I/O. */
#ifndef AW_BATCH_SELECT_H
#define AW_BATCH_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "worker/job.h"

/* From pending[0..n) (arrival order), pick up to max runnable jobs into out.
 * *next_due receives the earliest not_before among waiting jobs (INT64_MAX
 * when none). Returns the number picked. */
size_t aw_batch_select(aw_job *const *pending, size_t n, aw_job **out, size_t max,
                       int64_t now_mono, int64_t *next_due);

#endif
