#include "ingest/offset_tracker.h"

#include <stdlib.h>
#include <string.h>

/* A ring of in-flight offsets in consumption order. Offsets are increasing,
 * so mark_done() finds its slot by binary search; the done prefix is popped
 * from the head, which keeps the ring as small as the real in-flight window. */
typedef struct slot {
    int64_t offset;
    bool done;
} slot;

struct aw_offset_tracker {
    slot *ring;
    size_t cap;   /* power of two */
    size_t head;  /* index of the oldest in-flight slot */
    size_t count;
    int64_t last_added;   /* -1 when nothing added */
    int64_t committable;  /* -1 when nothing added */
};

aw_offset_tracker *aw_offset_tracker_new(void)
{
    aw_offset_tracker *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cap = 64;
    t->ring = calloc(t->cap, sizeof(slot));
    if (!t->ring) {
        free(t);
        return NULL;
    }
    t->last_added = -1;
    t->committable = -1;
    return t;
}

void aw_offset_tracker_destroy(aw_offset_tracker *t)
{
    if (!t)
        return;
    free(t->ring);
    free(t);
}

static slot *at(const aw_offset_tracker *t, size_t i)
{
    return &t->ring[(t->head + i) & (t->cap - 1)];
}

static int grow(aw_offset_tracker *t)
{
    size_t ncap = t->cap * 2;
    slot *n = malloc(ncap * sizeof(slot));
    if (!n)
        return -1;
    for (size_t i = 0; i < t->count; i++)
        n[i] = *at(t, i);
    free(t->ring);
    t->ring = n;
    t->cap = ncap;
    t->head = 0;
    return 0;
}

int aw_offset_tracker_add(aw_offset_tracker *t, int64_t offset)
{
    if (offset < 0 || offset <= t->last_added)
        return -1;
    if (t->count == t->cap && grow(t))
        return -1;
    *at(t, t->count) = (slot){.offset = offset, .done = false};
    t->count++;
    t->last_added = offset;
    if (t->count == 1)
        t->committable = offset;
    return 0;
}

int aw_offset_tracker_mark_done(aw_offset_tracker *t, int64_t offset)
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(t, mid)->offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->count || at(t, lo)->offset != offset || at(t, lo)->done)
        return -1;
    at(t, lo)->done = true;
    while (t->count && at(t, 0)->done) {
        t->head = (t->head + 1) & (t->cap - 1);
        t->count--;
    }
    t->committable = t->count ? at(t, 0)->offset : t->last_added + 1;
    return 0;
}

int64_t aw_offset_tracker_committable(const aw_offset_tracker *t) { return t->committable; }

size_t aw_offset_tracker_in_flight(const aw_offset_tracker *t) { return t->count; }

void aw_offset_tracker_reset(aw_offset_tracker *t)
{
    t->head = 0;
    t->count = 0;
    t->last_added = -1;
    t->committable = -1;
}
