/* Per-partition completion tracking: messages finish out of order, but only
 * the contiguous completed prefix may be committed.
 *
 * For one partition, offsets are added in consumption order (strictly
 * increasing; gaps are normal: compaction, transaction markers). mark_done()
 * may come in any order. committable() is the offset to store: the first
 * offset not yet done, or last added + 1 when everything is done.
 *
 * Not thread-safe: owned by the polling thread. */
#ifndef AW_OFFSET_TRACKER_H
#define AW_OFFSET_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct aw_offset_tracker aw_offset_tracker;

aw_offset_tracker *aw_offset_tracker_new(void);
void aw_offset_tracker_destroy(aw_offset_tracker *t);

/* Record a consumed offset. Return 0, -1 when out of memory or when offset is
 * not above the last one added (a rewind: call reset first). */
int aw_offset_tracker_add(aw_offset_tracker *t, int64_t offset);

/* Mark an added offset done. Return 0, or -1 if it is not in flight. */
int aw_offset_tracker_mark_done(aw_offset_tracker *t, int64_t offset);

/* Offset to commit (next to consume after the done prefix), or -1 when
 * nothing was ever added. */
int64_t aw_offset_tracker_committable(const aw_offset_tracker *t);

/* Number of offsets added and not yet released by the done prefix. */
size_t aw_offset_tracker_in_flight(const aw_offset_tracker *t);

/* Forget everything (after a seek or a reassignment). */
void aw_offset_tracker_reset(aw_offset_tracker *t);

#endif
