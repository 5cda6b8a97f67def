/* A per-thread scratch arena for the arrays of one unit of work (a worker's
 * micro-batch): allocations are bumps in one block, all released at once by
 * aw_scratch_reset(). It replaces a dozen calloc/free pairs of a few KiB
 * per batch, which cost glibc a malloc_consolidate each time.
 *
 * Not thread-safe: one arena per thread. A zeroed struct is an empty arena.
 * Memory handed out stays valid until the next reset; aw_scratch_calloc's
 * is zeroed, aw_scratch_alloc's is not (for arrays written before they are
 * read: zeroing a batch's arrays was ~700 instructions per message). */
#ifndef AW_SCRATCH_H
#define AW_SCRATCH_H

#include <stddef.h>

typedef struct aw_scratch_block aw_scratch_block;

typedef struct aw_scratch {
    char *base;                 /* owned: the main block */
    size_t cap, used;
    aw_scratch_block *overflow; /* owned: blocks taken when base was full */
    size_t overflow_bytes;      /* their total: base grows by it at reset */
} aw_scratch;

/* n * size zeroed bytes, aligned for any type; NULL when out of memory (or
 * on overflow of n * size). */
void *aw_scratch_calloc(aw_scratch *s, size_t n, size_t size);

/* aw_scratch_calloc without the zeroing: the bytes are unspecified. */
void *aw_scratch_alloc(aw_scratch *s, size_t n, size_t size);

/* Release everything handed out; keeps (and, after an overflow, enlarges)
 * the main block for the next unit of work. */
void aw_scratch_reset(aw_scratch *s);

void aw_scratch_free(aw_scratch *s);

#endif
