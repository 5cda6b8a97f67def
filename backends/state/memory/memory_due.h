/* The due-time index of the in-process state backend ("memory"); used by
 * memory_state.c only. One aw_mem_due per backend object, shared by all its
 * sessions: every function is thread-safe (one mutex guards the whole index,
 * see memory_due.c). Strings and values passed in are borrowed (copied). */
#ifndef AW_MEMORY_DUE_H
#define AW_MEMORY_DUE_H

#include "backends/state/state_types.h"

typedef struct aw_mem_due aw_mem_due;

/* NULL when out of memory. */
aw_mem_due *aw_mem_due_new(void);
void aw_mem_due_free(aw_mem_due *d);

/* The driver slots of state_backend.h, with their preconditions. */
aw_status aw_mem_due_put(aw_mem_due *d, const aw_state_key *k, int64_t due_ms, const void *val,
                         size_t len, aw_error *err);
aw_status aw_mem_due_take(aw_mem_due *d, const char *ns, const char *kind, int64_t now_ms,
                          size_t limit, int64_t lease_ms, aw_due_item *out, size_t *n,
                          aw_error *err);
aw_status aw_mem_due_done(aw_mem_due *d, const aw_state_key *k, uint64_t token, aw_error *err);
aw_status aw_mem_due_release(aw_mem_due *d, const aw_state_key *k, uint64_t token,
                             int64_t retry_at_ms, aw_error *err);
/* Each item under mu, one at a time (mu is taken once for the batch). */
void aw_mem_due_extend(aw_mem_due *d, aw_due_extension *items, size_t n, int64_t lease_ms);
/* One pass over every item under mu (O(n), no allocation): cannot fail. */
void aw_mem_due_stats(aw_mem_due *d, const char *ns, const char *kind, int64_t now_ms,
                      aw_due_stats *out);

#endif
