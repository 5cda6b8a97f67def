#include "common/aw_scratch.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct aw_scratch_block {
    aw_scratch_block *next;
    alignas(max_align_t) char data[];
};

#define ALIGN_UP(x) (((x) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

void *aw_scratch_alloc(aw_scratch *s, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t raw = n * size;
    size_t bytes = ALIGN_UP(raw > 0 ? raw : 1);
    if (s->base && s->cap - s->used >= bytes) {
        void *p = s->base + s->used;
        s->used += bytes;
        return p;
    }
    aw_scratch_block *b = malloc(sizeof(*b) + bytes);
    if (!b)
        return NULL;
    b->next = s->overflow;
    s->overflow = b;
    s->overflow_bytes += bytes;
    return b->data;
}

void *aw_scratch_calloc(aw_scratch *s, size_t n, size_t size)
{
    void *p = aw_scratch_alloc(s, n, size);
    /* n * size cannot overflow here: aw_scratch_alloc refused that. */
    return p ? memset(p, 0, n * size) : NULL;
}

void aw_scratch_reset(aw_scratch *s)
{
    size_t want = s->used + s->overflow_bytes;
    while (s->overflow) {
        aw_scratch_block *next = s->overflow->next;
        free(s->overflow);
        s->overflow = next;
    }
    if (want > s->cap) {
        /* What the last unit needed in all, with room to spare: the next
         * one fits in the main block. */
        size_t cap = ALIGN_UP(want + want / 2);
        char *p = malloc(cap);
        if (p) {
            free(s->base);
            s->base = p;
            s->cap = cap;
        }
    }
    s->used = 0;
    s->overflow_bytes = 0;
}

void aw_scratch_free(aw_scratch *s)
{
    aw_scratch_reset(s);
    free(s->base);
    memset(s, 0, sizeof(*s));
}
