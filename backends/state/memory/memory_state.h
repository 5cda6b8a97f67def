/* Private helpers of the in-process state backend ("memory"), for its own
 * tests. Callers use state.h; the driver itself is aw_state_memory_driver in
 * state_backend.h. */
#ifndef AW_MEMORY_STATE_H
#define AW_MEMORY_STATE_H

#include <stddef.h>

/* Entries currently stored by a memory backend (the `backend` pointer of an
 * aw_state created with the "memory" driver), counting expired entries the
 * reaper has not purged yet. Locks every shard in turn, so the count is not a
 * snapshot while other threads write. For tests of the reaper. */
size_t aw_state_memory_entry_count(void *backend);

#endif
