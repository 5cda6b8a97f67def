#include "worker/route_map.h"

#include <stdlib.h>

#define ROUTE_MAP_FIRST_CAP 1024

/* Identity hashes are already well mixed (SipHash): the low bits index. */
static size_t home_of(const aw_route_map *m, uint64_t hash) { return (size_t)hash & (m->cap - 1); }

static uint64_t stored(uint64_t hash) { return hash ? hash : 1; }

static aw_route_entry *lookup(const aw_route_map *m, uint64_t hash)
{
    if (!m->cap)
        return NULL;
    for (size_t i = home_of(m, hash);; i = (i + 1) & (m->cap - 1)) {
        aw_route_entry *e = &m->slots[i];
        if (e->hash == hash)
            return e;
        if (!e->hash)
            return NULL;
    }
}

long aw_route_map_find(const aw_route_map *m, uint64_t hash)
{
    const aw_route_entry *e = lookup(m, stored(hash));
    return e ? (long)e->worker : -1;
}

static void put(aw_route_map *m, aw_route_entry entry)
{
    size_t i = home_of(m, entry.hash);
    while (m->slots[i].hash)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = entry;
    m->used++;
}

static int grow(aw_route_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : ROUTE_MAP_FIRST_CAP;
    aw_route_entry *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -1;
    aw_route_map old = *m;
    m->slots = slots;
    m->cap = cap;
    m->used = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].hash)
            put(m, old.slots[i]);
    free(old.slots);
    return 0;
}

int aw_route_map_add(aw_route_map *m, uint64_t hash, uint32_t worker)
{
    hash = stored(hash);
    aw_route_entry *e = lookup(m, hash);
    if (e) {
        e->count++;
        return 0;
    }
    if ((m->used + 1) * 2 > m->cap && grow(m) != 0 && m->used + 1 >= m->cap)
        return -1;
    put(m, (aw_route_entry){.hash = hash, .count = 1, .worker = worker});
    return 0;
}

void aw_route_map_remove(aw_route_map *m, uint64_t hash)
{
    aw_route_entry *e = lookup(m, stored(hash));
    if (!e || --e->count > 0)
        return;
    /* Backward shift: move each later entry of the run into the hole when
     * its home does not lie (cyclically) between the hole and itself. */
    size_t mask = m->cap - 1, hole = (size_t)(e - m->slots);
    for (size_t i = (hole + 1) & mask; m->slots[i].hash; i = (i + 1) & mask) {
        size_t home = home_of(m, m->slots[i].hash);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole] = (aw_route_entry){0};
    m->used--;
}

void aw_route_map_free(aw_route_map *m)
{
    free(m->slots);
    *m = (aw_route_map){0};
}
