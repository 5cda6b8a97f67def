/* Which worker thread holds the in-flight jobs of each routing hash (an
 * identity's, or a Kafka key's with workers.dispatch = "key").
 *
 * Order is kept per identity by giving its jobs to the thread that already
 * holds one of them; an identity with nothing in flight may go to any
 * thread, so the polling thread can give a poll's messages to one idle
 * thread as one batch instead of spreading them one per thread (at a
 * moderate rate that spread made a batch, with its state round trips, per
 * message). Different identities that share a 64-bit hash share a thread
 * while both are in flight: more order than needed, never less.
 *
 * An open-addressing table (linear probing, deletion by backward shift)
 * that grows as needed; an entry lives while its count is above zero.
 * Polling thread only; the map owns its table. */
#ifndef AW_ROUTE_MAP_H
#define AW_ROUTE_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct aw_route_entry {
    uint64_t hash;     /* 0 = empty slot (hash 0 is stored as 1) */
    uint32_t count;    /* jobs of this hash in flight */
    uint32_t worker;   /* the thread holding them */
} aw_route_entry;

typedef struct aw_route_map {
    aw_route_entry *slots;
    size_t cap;        /* a power of two, or 0 before the first add */
    size_t used;
} aw_route_map;

/* The worker holding jobs of hash, or -1 when none is in flight. */
long aw_route_map_find(const aw_route_map *m, uint64_t hash);

/* One more job of hash in flight on worker (which must be the one find
 * returned, or any when it returned -1). The table doubles at half full; a
 * doubling that fails leaves it as it is, still taking entries until it is
 * full. 0, or -1 when full and out of memory: the job is then not counted
 * (the caller must not aw_route_map_remove it) and its order is kept only
 * if the caller falls back to a fixed thread per hash. */
int aw_route_map_add(aw_route_map *m, uint64_t hash, uint32_t worker);

/* One job of hash no longer in flight. */
void aw_route_map_remove(aw_route_map *m, uint64_t hash);

void aw_route_map_free(aw_route_map *m);

#endif
