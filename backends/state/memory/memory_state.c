/* The in-process state backend ("memory").
 *
 * Scope of the guarantee: the table lives in this process. It gives every
 * promise of docs/design.md section 3 (atomic compare-and-set, fencing tokens,
 * exactly one claimer per identity) to all threads and sessions of ONE
 * process. Two worker processes each have their own table, so "across
 * replicas" here means "across the worker threads of one replica"; running
 * several replicas needs Redis, PostgreSQL or DynamoDB.
 *
 * Clock: every TTL is judged by CLOCK_MONOTONIC (aw_mono_now_ms). The table
 * never leaves the process, so it needs no wall-clock meaning, and a
 * monotonic clock cannot make a lease live longer or die sooner when the
 * system time is stepped. An entry with expires_ms <= now is expired and
 * behaves exactly as an absent one (it is purged when an operation meets it,
 * or by the reaper).
 *
 * Layout: one hash table striped into MEM_SHARDS shards, each with its own
 * mutex: an operation locks the single shard its key hashes to, so there is
 * no per-operation global lock. Stored keys are
 *     key_prefix | space byte | aw_key_encode(ns, tenant, kind, id)
 * where the space byte keeps plain values ('v'), locks ('l') and dedup
 * records ('d') apart: a `set` can never overwrite a lock or a lease. Because
 * the id comes last and raw in the encoding, a scan by id prefix is a byte
 * prefix match on the stored key (no wildcard of any kind). The due index
 * lives apart, under its own mutex (memory_due.c).
 *
 * Fencing tokens (locks and claims) come from one backend-wide 64-bit atomic
 * counter. Tokens are drawn while the key's shard mutex is held, so for one
 * name they increase in the order the lock/lease was taken, and because the
 * counter is not stored in any entry, it survives lock expiry and the reaper.
 *
 * Reaper: one thread wakes every reaper_interval_ms (default 1000) and purges
 * expired entries, shard by shard, at most MEM_REAP_CHUNK buckets per mutex
 * hold so no writer waits behind a long sweep. destroy() wakes it through a
 * condition variable and joins it, so destroy does not wait out an interval. */
#include "backends/state/memory/memory_state.h"
#include "backends/state/memory/memory_due.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "backends/state/state_backend.h"
#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "common/aw_key.h"

#define MEM_SHARD_BITS 6
#define MEM_SHARDS (1u << MEM_SHARD_BITS)
#define MEM_INITIAL_BUCKETS 64u
#define MEM_REAP_CHUNK 256u
#define MEM_DEFAULT_REAPER_MS 1000
#define MEM_CACHELINE 64

/* Key spaces (the byte after key_prefix). */
#define MEM_SPACE_VALUE 'v'
#define MEM_SPACE_LOCK 'l'
#define MEM_SPACE_DEDUP 'd'
/* Kind under which dedup records are encoded (callers' key.kind is ignored). */
#define MEM_DEDUP_KIND "dedup"

/* One stored key. Every field is guarded by the mutex of the shard whose
 * table links the entry; an entry is never shared between shards. */
typedef struct mem_entry {
    struct mem_entry *next;   /* bucket chain */
    uint64_t hash;            /* of key[0..klen) */
    int64_t expires_ms;       /* monotonic deadline; 0 = never */
    uint64_t version;         /* 1 on insert, +1 per write */
    uint64_t token;           /* locks and dedup: the fencing token */
    char *val;                /* value / decimal counter / done summary;
                                 malloc'd, NUL-terminated, vlen excludes NUL */
    size_t vlen;
    bool done;                /* dedup: a done record (else a lease) */
    char *topic;              /* dedup done record: source of the message;
                                 points into val's allocation (freed with
                                 it), NULL otherwise */
    int32_t partition;
    int64_t offset;
    size_t klen;
    char key[];               /* stored key bytes, not NUL-terminated */
} mem_entry;

/* A stripe of the table. Aligned to a cache line so two shards' mutexes do
 * not share one. */
typedef struct mem_shard {
    _Alignas(MEM_CACHELINE) pthread_mutex_t mu;
    /* guarded by mu: */
    mem_entry **buckets;      /* nbuckets chains */
    size_t nbuckets;          /* power of two; only grows */
    size_t count;             /* entries linked, expired ones included */
    size_t reap_cursor;       /* next bucket the reaper visits */
} mem_shard;

typedef struct mem_backend {
    /* Immutable after create (read by every thread without a lock): */
    char *key_prefix;
    size_t prefix_len;
    int64_t reaper_interval_ms;
    uint64_t seed[2];          /* SipHash key: keys come from producers, so a
                                  seeded hash keeps chains short on purpose-
                                  built collisions */
    size_t shards_ready;       /* shards whose mutex/buckets exist (create
                                  and destroy only) */
    mem_shard shards[MEM_SHARDS];
    aw_mem_due *due;           /* the due-time index (memory_due.c; own lock) */

    /* Lock-free: fetch_add'ed while holding the shard mutex of the name. */
    _Atomic uint64_t last_token;

    /* Reaper control. stop is written under reaper_mu (so the reaper cannot
     * miss the wake-up) and read with atomic loads between chunks. */
    pthread_mutex_t reaper_mu;
    pthread_cond_t reaper_cv;  /* signalled by destroy */
    atomic_bool stop;
    bool reaper_sync_ready;    /* create/destroy only */
    bool reaper_running;       /* create/destroy only */
    pthread_t reaper;
} mem_backend;

/* A session: the backend plus a scratch buffer for encoding keys. Used by
 * one thread at a time (the interface's rule), so the buffer needs no lock. */
typedef struct mem_session {
    mem_backend *b;
    aw_buf key;
} mem_session;

/* The stored key of one operation, built in the session's scratch buffer. */
typedef struct mem_ref {
    mem_shard *shard;
    const char *key;
    size_t klen;
    uint64_t hash;
} mem_ref;

/* ---- hashing ---------------------------------------------------------- */

#define MEM_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define MEM_SIPROUND                                                                      \
    do {                                                                                  \
        v0 += v1;                                                                         \
        v1 = MEM_ROTL(v1, 13);                                                            \
        v1 ^= v0;                                                                         \
        v0 = MEM_ROTL(v0, 32);                                                            \
        v2 += v3;                                                                         \
        v3 = MEM_ROTL(v3, 16);                                                            \
        v3 ^= v2;                                                                         \
        v0 += v3;                                                                         \
        v3 = MEM_ROTL(v3, 21);                                                            \
        v3 ^= v0;                                                                         \
        v2 += v1;                                                                         \
        v1 = MEM_ROTL(v1, 17);                                                            \
        v1 ^= v2;                                                                         \
        v2 = MEM_ROTL(v2, 32);                                                            \
    } while (0)

/* SipHash-1-3 (one compression round, three finalisation rounds): cheap, and
 * keyed so a producer cannot choose dedup keys that all land in one chain.
 * Words are read in host order; the result only has to be stable within the
 * process. */
static uint64_t mem_hash(const uint64_t seed[2], const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ seed[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ seed[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ seed[0];
    uint64_t v3 = 0x7465646279746573ULL ^ seed[1];
    uint64_t last = (uint64_t)len << 56;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t m;
        memcpy(&m, p + i, 8);
        v3 ^= m;
        MEM_SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; i + j < len; j++)
        last |= (uint64_t)p[i + j] << (8 * j);
    v3 ^= last;
    MEM_SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    MEM_SIPROUND;
    MEM_SIPROUND;
    MEM_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static void mem_seed(uint64_t seed[2])
{
    if (getrandom(seed, 2 * sizeof(seed[0]), 0) == (ssize_t)(2 * sizeof(seed[0])))
        return;
    /* No entropy available (very early boot, seccomp): the hash still works,
     * it is only easier to flood. */
    seed[0] = (uint64_t)aw_time_now_ms() * 0x9e3779b97f4a7c15ULL;
    seed[1] = (uint64_t)aw_mono_now_ms() ^ (uint64_t)(uintptr_t)seed;
}

/* ---- small helpers ---------------------------------------------------- */

static aw_status mem_nomem(aw_error *err) { return aw_error_set(err, AW_NOMEM, "out of memory"); }

/* Absolute monotonic deadline for a TTL; 0 (never) when ttl_ms <= 0. */
static int64_t mem_deadline(int64_t now, int64_t ttl_ms)
{
    if (ttl_ms <= 0)
        return 0;
    if (ttl_ms > INT64_MAX - now)
        return INT64_MAX;
    return now + ttl_ms;
}

static bool mem_expired(const mem_entry *e, int64_t now)
{
    return e->expires_ms != 0 && e->expires_ms <= now;
}

/* Next fencing token. Call with the shard mutex of the name held. */
static uint64_t mem_next_token(mem_backend *b)
{
    return atomic_fetch_add(&b->last_token, 1) + 1;
}

/* Build the stored key for (space, ns, tenant, kind, id) in the session's
 * scratch buffer; ref stays valid until the session's next operation. */
static aw_status mem_ref_build(mem_session *ss, char space, const char *ns, const char *tenant,
                               const char *kind, const char *id, mem_ref *ref, aw_error *err)
{
    mem_backend *b = ss->b;
    if (!ns || !tenant || !kind)
        return aw_error_set(err, AW_PERMANENT,
                            "state key: namespace, tenant and kind are required");
    aw_buf_reset(&ss->key);
    if (aw_buf_append(&ss->key, b->key_prefix, b->prefix_len) ||
        aw_buf_append(&ss->key, &space, 1) || aw_key_encode(&ss->key, ns, tenant, kind, id))
        return mem_nomem(err);
    ref->key = ss->key.data;
    ref->klen = ss->key.len;
    ref->hash = mem_hash(b->seed, ref->key, ref->klen);
    ref->shard = &b->shards[ref->hash >> (64 - MEM_SHARD_BITS)];
    return AW_OK;
}

static aw_status mem_ref_key(mem_session *ss, char space, const aw_state_key *k, mem_ref *ref,
                             aw_error *err)
{
    if (!k)
        return aw_error_set(err, AW_PERMANENT, "state key: missing");
    const char *kind = space == MEM_SPACE_DEDUP ? MEM_DEDUP_KIND : k->kind;
    return mem_ref_build(ss, space, k->ns, k->tenant, kind, k->id, ref, err);
}

/* mem_ref_key, then take the shard mutex: how every operation that needs
 * nothing prepared outside the mutex starts. mem_unlock ends it. */
static aw_status mem_lock_key(mem_session *ss, char space, const aw_state_key *k, mem_ref *ref,
                              aw_error *err)
{
    aw_status rc = mem_ref_key(ss, space, k, ref, err);
    if (rc == AW_OK)
        pthread_mutex_lock(&ref->shard->mu);
    return rc;
}

/* Release the shard mutex, then word rc (aw_error_set formats outside the
 * mutex): AW_NOMEM as mem_nomem does, any other failure as what says. */
static aw_status mem_unlock(const mem_ref *ref, aw_status rc, const char *what, aw_error *err)
{
    pthread_mutex_unlock(&ref->shard->mu);
    if (rc == AW_NOMEM)
        return mem_nomem(err);
    return rc == AW_OK ? AW_OK : aw_error_set(err, rc, "%s", what);
}

/* ---- the table (caller holds the shard mutex) -------------------------- */

static void mem_entry_free(mem_entry *e)
{
    if (!e)
        return;
    free(e->val); /* and the topic inside it */
    free(e);
}

/* The link pointing at ref's entry, or NULL when it is not stored. */
static mem_entry **mem_link(const mem_ref *ref)
{
    mem_shard *sh = ref->shard;
    mem_entry **link = &sh->buckets[ref->hash & (sh->nbuckets - 1)];
    for (; *link; link = &(*link)->next) {
        const mem_entry *e = *link;
        if (e->hash == ref->hash && e->klen == ref->klen &&
            memcmp(e->key, ref->key, ref->klen) == 0)
            return link;
    }
    return NULL;
}

static void mem_unlink(mem_shard *sh, mem_entry **link)
{
    mem_entry *e = *link;
    *link = e->next;
    sh->count--;
    mem_entry_free(e);
}

/* The live entry for ref, or NULL. An expired entry met here is purged: it
 * is absent for every purpose, and cleanup on access keeps the reaper's work
 * small. */
static mem_entry *mem_live(const mem_ref *ref, int64_t now)
{
    mem_entry **link = mem_link(ref);
    if (!link)
        return NULL;
    if (mem_expired(*link, now)) {
        mem_unlink(ref->shard, link);
        return NULL;
    }
    return *link;
}

/* Double the bucket array when the load factor passes 1. Best effort: when
 * the allocation fails the table keeps working with longer chains. */
static void mem_shard_grow(mem_shard *sh)
{
    if (sh->count < sh->nbuckets)
        return;
    size_t n = sh->nbuckets * 2;
    mem_entry **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < sh->nbuckets; i++) {
        mem_entry *e = sh->buckets[i];
        while (e) {
            mem_entry *next = e->next;
            mem_entry **head = &nb[e->hash & (n - 1)];
            e->next = *head;
            *head = e;
            e = next;
        }
    }
    free(sh->buckets);
    sh->buckets = nb;
    sh->nbuckets = n;
}

/* Link a new, empty entry (version 0: the first write makes it 1). */
static mem_entry *mem_insert(const mem_ref *ref)
{
    mem_shard *sh = ref->shard;
    /* Not calloc: the fields are set here and the key bytes copied, so
     * zeroing them first would be wasted (one insert per message). */
    mem_entry *e = malloc(sizeof(*e) + ref->klen);
    if (!e)
        return NULL;
    *e = (mem_entry){.hash = ref->hash, .klen = ref->klen};
    memcpy(e->key, ref->key, ref->klen);
    mem_shard_grow(sh);
    mem_entry **head = &sh->buckets[e->hash & (sh->nbuckets - 1)];
    e->next = *head;
    *head = e;
    sh->count++;
    return e;
}

/* One write of a value: swap *val in (the old value comes back in *val for
 * the caller to free after unlocking), bump the version, set the expiry. */
static void mem_write(mem_entry *e, char **val, size_t len, int64_t expires_ms)
{
    char *old = e->val;
    e->val = *val;
    e->vlen = len;
    *val = old;
    e->version++;
    e->expires_ms = expires_ms;
}

/* ---- create / destroy / sessions -------------------------------------- */

static void mem_shards_free(mem_backend *b)
{
    for (size_t i = 0; i < b->shards_ready; i++) {
        mem_shard *sh = &b->shards[i];
        for (size_t j = 0; j < sh->nbuckets; j++) {
            mem_entry *e = sh->buckets[j];
            while (e) {
                mem_entry *next = e->next;
                mem_entry_free(e);
                e = next;
            }
        }
        free(sh->buckets);
        pthread_mutex_destroy(&sh->mu);
    }
    b->shards_ready = 0;
}

static int mem_shard_init(mem_shard *sh)
{
    sh->buckets = calloc(MEM_INITIAL_BUCKETS, sizeof(*sh->buckets));
    if (!sh->buckets)
        return -1;
    if (pthread_mutex_init(&sh->mu, NULL) != 0) {
        free(sh->buckets);
        sh->buckets = NULL;
        return -1;
    }
    sh->nbuckets = MEM_INITIAL_BUCKETS;
    return 0;
}

/* The reaper's condition variable waits on CLOCK_MONOTONIC, like the TTLs. */
static int mem_reaper_sync_init(mem_backend *b)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&b->reaper_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&b->reaper_mu, NULL) != 0) {
        pthread_cond_destroy(&b->reaper_cv);
        return -1;
    }
    b->reaper_sync_ready = true;
    return 0;
}

/* Purge expired entries of one shard, MEM_REAP_CHUNK buckets per mutex hold,
 * until the cursor wraps. Stops early when destroy asks. */
static void mem_reap_shard(mem_backend *b, mem_shard *sh)
{
    bool wrapped = false;
    while (!wrapped && !atomic_load(&b->stop)) {
        pthread_mutex_lock(&sh->mu);
        int64_t now = aw_mono_now_ms();
        size_t end = sh->reap_cursor + MEM_REAP_CHUNK;
        if (end > sh->nbuckets)
            end = sh->nbuckets;
        for (size_t i = sh->reap_cursor; i < end; i++) {
            mem_entry **link = &sh->buckets[i];
            while (*link) {
                if (mem_expired(*link, now))
                    mem_unlink(sh, link);
                else
                    link = &(*link)->next;
            }
        }
        sh->reap_cursor = end;
        if (sh->reap_cursor >= sh->nbuckets) {
            sh->reap_cursor = 0;
            wrapped = true;
        }
        pthread_mutex_unlock(&sh->mu);
    }
}

static void *mem_reaper_main(void *arg)
{
    mem_backend *b = arg;
    pthread_mutex_lock(&b->reaper_mu);
    while (!atomic_load(&b->stop)) {
        struct timespec ts;
        aw_mono_deadline(&ts, b->reaper_interval_ms);
        int rc = 0;
        while (!atomic_load(&b->stop) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&b->reaper_cv, &b->reaper_mu, &ts);
        if (atomic_load(&b->stop))
            break;
        /* Sweep without reaper_mu so destroy can flag stop meanwhile. */
        pthread_mutex_unlock(&b->reaper_mu);
        for (size_t i = 0; i < MEM_SHARDS && !atomic_load(&b->stop); i++)
            mem_reap_shard(b, &b->shards[i]);
        pthread_mutex_lock(&b->reaper_mu);
    }
    pthread_mutex_unlock(&b->reaper_mu);
    return NULL;
}

static void mem_destroy(void *backend)
{
    mem_backend *b = backend;
    if (!b)
        return;
    if (b->reaper_running) {
        pthread_mutex_lock(&b->reaper_mu);
        atomic_store(&b->stop, true);
        pthread_cond_signal(&b->reaper_cv);
        pthread_mutex_unlock(&b->reaper_mu);
        pthread_join(b->reaper, NULL);
    }
    if (b->reaper_sync_ready) {
        pthread_cond_destroy(&b->reaper_cv);
        pthread_mutex_destroy(&b->reaper_mu);
    }
    mem_shards_free(b);
    aw_mem_due_free(b->due);
    free(b->key_prefix);
    free(b);
}

static aw_status mem_create(const aw_state_options *opts, void **out, aw_error *err)
{
    *out = NULL;
    const char *prefix = opts && opts->key_prefix ? opts->key_prefix : "";
    int64_t interval = opts ? opts->reaper_interval_ms : 0;
    if (interval < 0)
        return aw_error_set(err, AW_CONFIG, "state.reaper_interval_ms must be >= 0 (0 = default)");

    /* aligned_alloc needs a size that is a multiple of the alignment; the
     * struct's alignment (from mem_shard) guarantees it. */
    mem_backend *b = aligned_alloc(_Alignof(mem_backend), sizeof(*b));
    if (!b)
        return mem_nomem(err);
    memset(b, 0, sizeof(*b));
    atomic_init(&b->last_token, 0);
    atomic_init(&b->stop, false);
    b->reaper_interval_ms = interval ? interval : MEM_DEFAULT_REAPER_MS;
    mem_seed(b->seed);
    b->key_prefix = strdup(prefix);
    if (!b->key_prefix)
        goto nomem;
    b->prefix_len = strlen(prefix);
    if (!(b->due = aw_mem_due_new()))
        goto nomem;
    for (; b->shards_ready < MEM_SHARDS; b->shards_ready++)
        if (mem_shard_init(&b->shards[b->shards_ready]))
            goto nomem;
    if (mem_reaper_sync_init(b))
        goto internal;
    /* Last step: the reaper is the first other thread to see b, and nothing
     * after this point can fail. */
    if (pthread_create(&b->reaper, NULL, mem_reaper_main, b) != 0)
        goto internal;
    b->reaper_running = true;
    *out = b;
    return AW_OK;

nomem:
    mem_destroy(b);
    return mem_nomem(err);
internal:
    mem_destroy(b);
    return aw_error_set(err, AW_INTERNAL, "memory state: cannot start the reaper thread");
}

static aw_status mem_session_open(void *backend, void **session, aw_error *err)
{
    *session = NULL;
    mem_session *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return mem_nomem(err);
    ss->b = backend;
    *session = ss;
    return AW_OK;
}

static void mem_session_close(void *session)
{
    mem_session *ss = session;
    if (!ss)
        return;
    aw_buf_free(&ss->key);
    free(ss);
}

size_t aw_state_memory_entry_count(void *backend)
{
    mem_backend *b = backend;
    size_t n = 0;
    for (size_t i = 0; i < MEM_SHARDS; i++) {
        pthread_mutex_lock(&b->shards[i].mu);
        n += b->shards[i].count;
        pthread_mutex_unlock(&b->shards[i].mu);
    }
    return n;
}

/* ---- generic key/value operations -------------------------------------- */

/* When a value write (check_and_set, set, compare_and_swap) writes. */
typedef enum { MEM_IF_ABSENT, MEM_ALWAYS, MEM_IF_VERSION } mem_when;

/* The one value write: key and copy prepared before locking (the mutex is
 * held for pointer swaps only), then under the shard mutex the condition
 * decides. *cur: the new version when written, else the stored one (0 when
 * absent). AW_CONFLICT (unformatted, the caller words it) when `when` said
 * no; *written says whether it wrote. */
static aw_status mem_write_value(mem_session *ss, const aw_state_key *k, const void *val,
                                 size_t len, int64_t ttl_ms, mem_when when, uint64_t expected,
                                 bool *written, uint64_t *cur, aw_error *err)
{
    mem_ref ref;
    *written = false;
    aw_status rc = mem_ref_key(ss, MEM_SPACE_VALUE, k, &ref, err);
    if (rc != AW_OK)
        return rc;
    char *copy = aw_memdup(val, len);
    if (!copy)
        return mem_nomem(err);
    pthread_mutex_lock(&ref.shard->mu);
    int64_t now = aw_mono_now_ms();
    mem_entry *e = mem_live(&ref, now);
    *cur = e ? e->version : 0;
    if ((when == MEM_IF_ABSENT && e) || (when == MEM_IF_VERSION && *cur != expected)) {
        rc = AW_CONFLICT;
    } else if (e || (e = mem_insert(&ref)) != NULL) {
        /* No TTL means no expiry: an older deadline is cleared here. */
        mem_write(e, &copy, len, mem_deadline(now, ttl_ms));
        *cur = e->version;
        *written = true;
    } else {
        rc = AW_NOMEM;
    }
    pthread_mutex_unlock(&ref.shard->mu);
    free(copy); /* NULL after a write */
    return rc == AW_NOMEM ? mem_nomem(err) : rc;
}

static aw_status mem_check_and_set(void *s, const aw_state_key *k, const void *val, size_t len,
                                   int64_t ttl_ms, bool *written, aw_error *err)
{
    uint64_t cur;
    aw_status rc = mem_write_value(s, k, val, len, ttl_ms, MEM_IF_ABSENT, 0, written, &cur, err);
    return rc == AW_CONFLICT ? AW_OK : rc; /* a live key: not written, not an error */
}

static aw_status mem_get(void *s, const aw_state_key *k, aw_state_value *out, aw_error *err)
{
    mem_session *ss = s;
    mem_ref ref;
    memset(out, 0, sizeof(*out));
    aw_status rc = mem_lock_key(ss, MEM_SPACE_VALUE, k, &ref, err);
    if (rc != AW_OK)
        return rc;
    mem_entry *e = mem_live(&ref, aw_mono_now_ms());
    if (!e) {
        rc = AW_NOT_FOUND;
    } else if ((out->data = aw_memdup(e->val, e->vlen)) != NULL) {
        out->len = e->vlen;
        out->version = e->version;
    } else {
        rc = AW_NOMEM;
    }
    return mem_unlock(&ref, rc, "key not found", err);
}

static aw_status mem_set(void *s, const aw_state_key *k, const void *val, size_t len,
                         int64_t ttl_ms, uint64_t *version, aw_error *err)
{
    bool written;
    uint64_t cur = 0; /* set when rc is AW_OK; gcc -O2 cannot tell */
    aw_status rc = mem_write_value(s, k, val, len, ttl_ms, MEM_ALWAYS, 0, &written, &cur, err);
    if (rc == AW_OK && version)
        *version = cur;
    return rc;
}

static aw_status mem_del(void *s, const aw_state_key *k, bool *existed, aw_error *err)
{
    mem_session *ss = s;
    mem_ref ref;
    *existed = false;
    aw_status rc = mem_lock_key(ss, MEM_SPACE_VALUE, k, &ref, err);
    if (rc != AW_OK)
        return rc;
    mem_entry **link = mem_link(&ref);
    if (link) {
        *existed = !mem_expired(*link, aw_mono_now_ms());
        mem_unlink(ref.shard, link);
    }
    pthread_mutex_unlock(&ref.shard->mu);
    return AW_OK;
}

/* Parse a stored counter: the whole value must be a decimal int64, the same
 * text `get` returns, so a counter has exactly one representation. */
static bool mem_parse_counter(const mem_entry *e, int64_t *out)
{
    if (e->vlen == 0 || e->vlen > 20 || strlen(e->val) != e->vlen)
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(e->val, &end, 10);
    if (errno != 0 || end != e->val + e->vlen || e->val[0] == '+' || e->val[0] == ' ')
        return false;
    *out = (int64_t)v;
    return true;
}

static bool mem_add_overflows(int64_t a, int64_t b)
{
    return (b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b);
}

/* The increment proper; caller holds the shard mutex (aw_error_set only
 * formats into the caller's struct, so it is fine under the mutex). */
static aw_status mem_increment_locked(const mem_ref *ref, int64_t delta, int64_t ttl_ms,
                                      int64_t *value, aw_error *err)
{
    int64_t now = aw_mono_now_ms();
    mem_entry *e = mem_live(ref, now);
    int64_t cur = 0, expires = mem_deadline(now, ttl_ms);
    if (e) {
        if (!mem_parse_counter(e, &cur))
            return aw_error_set(err, AW_PERMANENT,
                                "increment: the stored value is not a decimal integer");
        expires = e->expires_ms; /* an existing counter keeps its expiry */
    }
    if (mem_add_overflows(cur, delta))
        return aw_error_set(err, AW_PERMANENT, "increment: int64 overflow");
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, cur + delta);
    char *copy = aw_memdup(num, (size_t)n);
    if (!copy || (!e && !(e = mem_insert(ref)))) {
        free(copy);
        return mem_nomem(err);
    }
    mem_write(e, &copy, (size_t)n, expires);
    free(copy);
    *value = cur + delta;
    return AW_OK;
}

static aw_status mem_increment(void *s, const aw_state_key *k, int64_t delta, int64_t ttl_ms,
                               int64_t *value, aw_error *err)
{
    mem_session *ss = s;
    mem_ref ref;
    aw_status rc = mem_lock_key(ss, MEM_SPACE_VALUE, k, &ref, err);
    if (rc != AW_OK)
        return rc;
    rc = mem_increment_locked(&ref, delta, ttl_ms, value, err);
    pthread_mutex_unlock(&ref.shard->mu);
    return rc;
}

static aw_status mem_compare_and_swap(void *s, const aw_state_key *k, uint64_t expected,
                                      const void *val, size_t len, int64_t ttl_ms,
                                      uint64_t *current, aw_error *err)
{
    bool written;
    uint64_t cur = 0;
    aw_status rc = mem_write_value(s, k, val, len, ttl_ms, MEM_IF_VERSION, expected, &written,
                                   &cur, err);
    /* On success *current is the new version, on conflict the stored one. */
    if (current)
        *current = cur;
    if (rc == AW_CONFLICT)
        return aw_error_set(err, AW_CONFLICT,
                            "version mismatch: expected %" PRIu64 ", found %" PRIu64, expected,
                            cur);
    return rc;
}

/* ---- scan --------------------------------------------------------------- */

/* One match copied out of a shard, so the callback runs without a mutex held
 * (it may call back into the backend). */
typedef struct mem_hit {
    struct mem_hit *next;
    char *id;
    char *val;
    size_t vlen;
} mem_hit;

static void mem_hits_free(mem_hit *h)
{
    while (h) {
        mem_hit *next = h->next;
        free(h->id);
        free(h->val);
        free(h);
        h = next;
    }
}

/* Copy the live entries of one shard whose key starts with pfx[0..plen);
 * id_off is where the id starts in such a key. -1 when out of memory. */
static int mem_collect_shard(mem_shard *sh, const char *pfx, size_t plen, size_t id_off,
                             mem_hit **out)
{
    int rc = 0;
    pthread_mutex_lock(&sh->mu);
    int64_t now = aw_mono_now_ms();
    for (size_t i = 0; i < sh->nbuckets && rc == 0; i++) {
        for (const mem_entry *e = sh->buckets[i]; e && rc == 0; e = e->next) {
            if (e->klen < plen || memcmp(e->key, pfx, plen) != 0 || mem_expired(e, now))
                continue;
            mem_hit *h = calloc(1, sizeof(*h));
            if (h) {
                h->next = *out;
                *out = h;
                h->id = aw_memdup(e->key + id_off, e->klen - id_off);
                h->val = aw_memdup(e->val, e->vlen);
                h->vlen = e->vlen;
            }
            if (!h || !h->id || !h->val)
                rc = -1;
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Walks every shard (the memory table has no order to seek in): a scan is
 * O(entries) and not a snapshot across shards, which the contract allows. */
static aw_status mem_scan(void *s, const char *ns, const char *tenant, const char *kind,
                          const char *prefix, aw_state_scan_fn fn, void *ud, aw_error *err)
{
    mem_session *ss = s;
    mem_ref ref;
    aw_status rc = mem_ref_build(ss, MEM_SPACE_VALUE, ns, tenant, kind, "", &ref, err);
    if (rc != AW_OK)
        return rc;
    size_t id_off = ref.klen;
    if (prefix && aw_buf_puts(&ss->key, prefix))
        return mem_nomem(err);
    const char *pfx = ss->key.data;
    size_t plen = ss->key.len;
    bool stopped = false;
    for (size_t i = 0; i < MEM_SHARDS && !stopped; i++) {
        mem_hit *hits = NULL;
        if (mem_collect_shard(&ss->b->shards[i], pfx, plen, id_off, &hits)) {
            mem_hits_free(hits);
            return mem_nomem(err);
        }
        for (const mem_hit *h = hits; h && !stopped; h = h->next)
            stopped = fn(ud, h->id, h->val, h->vlen) != 0;
        mem_hits_free(hits);
    }
    return AW_OK;
}

/* ---- locks -------------------------------------------------------------- */

static aw_status mem_lock_acquire(void *s, const aw_state_key *k, int64_t ttl_ms, uint64_t *token,
                                  aw_error *err)
{
    mem_session *ss = s;
    mem_ref ref;
    *token = 0;
    aw_status rc = mem_lock_key(ss, MEM_SPACE_LOCK, k, &ref, err);
    if (rc != AW_OK)
        return rc;
    int64_t now = aw_mono_now_ms();
    mem_entry *e = mem_live(&ref, now);
    if (e) {
        rc = AW_CONFLICT;
    } else if ((e = mem_insert(&ref)) != NULL) {
        e->token = mem_next_token(ss->b);
        e->version = 1;
        e->expires_ms = mem_deadline(now, ttl_ms);
        *token = e->token;
    } else {
        rc = AW_NOMEM;
    }
    return mem_unlock(&ref, rc, "lock is held", err);
}

/* The live lock entry iff token holds it; caller holds the shard mutex. */
static mem_entry *mem_lock_held(const mem_ref *ref, uint64_t token, int64_t now)
{
    mem_entry *e = mem_live(ref, now);
    return e && e->token == token ? e : NULL;
}

/* The token operations (lock extend/release, lease renew/release): find
 * the entry this token holds in its space, then extend it to ttl_ms, or
 * drop it when ttl_ms < 0. */
typedef mem_entry *(*mem_held_fn)(const mem_ref *ref, uint64_t token, int64_t now);

static aw_status mem_token_op(mem_session *ss, char space, mem_held_fn held_fn,
                              const aw_state_key *k, uint64_t token, int64_t ttl_ms,
                              const char *not_held, aw_error *err)
{
    mem_ref ref;
    aw_status rc = mem_lock_key(ss, space, k, &ref, err);
    if (rc != AW_OK)
        return rc;
    int64_t now = aw_mono_now_ms();
    mem_entry *e = held_fn(&ref, token, now);
    bool held = e != NULL;
    if (e && ttl_ms >= 0)
        e->expires_ms = mem_deadline(now, ttl_ms);
    else if (e)
        mem_unlink(ref.shard, mem_link(&ref));
    return mem_unlock(&ref, held ? AW_OK : AW_CONFLICT, not_held, err);
}

static aw_status mem_lock_extend(void *s, const aw_state_key *k, uint64_t token, int64_t ttl_ms,
                                 aw_error *err)
{
    return mem_token_op(s, MEM_SPACE_LOCK, mem_lock_held, k, token, ttl_ms > 0 ? ttl_ms : 0,
                        "lock not held with this token", err);
}

static aw_status mem_lock_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return mem_token_op(s, MEM_SPACE_LOCK, mem_lock_held, k, token, -1,
                        "lock not held with this token", err);
}

/* ---- two-phase dedup ---------------------------------------------------- */

/* Fill c from a done record; caller holds the shard mutex. */
static aw_status mem_claim_done(const mem_entry *e, aw_claim *c)
{
    c->result = AW_CLAIM_DONE;
    c->done_summary = aw_memdup(e->val, e->vlen);
    c->done_topic = strdup(e->topic ? e->topic : "");
    c->done_partition = e->partition;
    c->done_offset = e->offset;
    c->done_token = e->token;
    return c->done_summary && c->done_topic ? AW_OK : AW_NOMEM;
}

static aw_status mem_claim_one(mem_session *ss, aw_claim *c, aw_error *err)
{
    mem_ref ref;
    aw_status rc = mem_lock_key(ss, MEM_SPACE_DEDUP, &c->key, &ref, err);
    if (rc != AW_OK)
        return rc;
    int64_t now = aw_mono_now_ms();
    mem_entry *e = mem_live(&ref, now);
    if (e && e->done) {
        rc = mem_claim_done(e, c);
    } else if (e) {
        c->result = AW_CLAIM_BUSY;
        c->token = e->token;
        c->retry_after_ms = e->expires_ms - now > 0 ? e->expires_ms - now : 1;
    } else if ((e = mem_insert(&ref)) != NULL) {
        /* Absent, or an expired lease/done record just purged by mem_live:
         * take the lease with a token above every earlier one. */
        e->token = mem_next_token(ss->b);
        e->version = 1;
        e->expires_ms = mem_deadline(now, c->lease_ms);
        c->result = AW_CLAIM_ACQUIRED;
        c->token = e->token;
    } else {
        rc = AW_NOMEM;
    }
    return mem_unlock(&ref, rc, "claim failed", err); /* rc: AW_OK or AW_NOMEM here */
}

/* A batch item by item (n items of size bytes from items): each identity
 * is claimed or completed atomically under its own shard mutex; the batch
 * as a whole is not a transaction (nor is it remotely). */
static aw_status mem_each(void *s, void *items, size_t size, size_t n,
                          aw_status (*one)(mem_session *, void *, aw_error *), aw_error *err)
{
    for (size_t i = 0; i < n; i++) {
        aw_status rc = one(s, (char *)items + i * size, err);
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

static aw_status mem_claim_item(mem_session *ss, void *c, aw_error *err)
{
    return mem_claim_one(ss, c, err);
}

static aw_status mem_claim_batch(void *s, aw_claim *items, size_t n, aw_error *err)
{
    return mem_each(s, items, sizeof(*items), n, mem_claim_item, err);
}

/* Turn the caller's lease into a done record; caller holds the shard mutex.
 * *summary (whose allocation holds topic too) is swapped in: the caller
 * frees what comes back, the old value with the old topic. */
static bool mem_complete_locked(const mem_ref *ref, const aw_complete *c, char **summary,
                                size_t summary_len, char *topic)
{
    int64_t now = aw_mono_now_ms();
    mem_entry *e = mem_live(ref, now);
    if (!e || e->done || e->token != c->token)
        return false;
    mem_write(e, summary, summary_len, mem_deadline(now, c->window_ms));
    e->topic = topic;
    e->partition = c->source.partition;
    e->offset = c->source.offset;
    e->done = true;
    return true;
}

static aw_status mem_complete_one(mem_session *ss, aw_complete *c, aw_error *err)
{
    mem_ref ref;
    aw_status rc = mem_ref_key(ss, MEM_SPACE_DEDUP, &c->key, &ref, err);
    if (rc != AW_OK)
        return rc;
    const char *sum = c->summary ? c->summary : "";
    const char *src = c->source.topic ? c->source.topic : "";
    size_t sum_len = strlen(sum), topic_len = strlen(src);
    /* The summary and the topic in one allocation: one malloc and one free
     * per done record instead of two. */
    char *summary = malloc(sum_len + 1 + topic_len + 1);
    if (!summary)
        return mem_nomem(err);
    memcpy(summary, sum, sum_len + 1);
    char *topic = summary + sum_len + 1;
    memcpy(topic, src, topic_len + 1);
    pthread_mutex_lock(&ref.shard->mu);
    c->stale = !mem_complete_locked(&ref, c, &summary, sum_len, topic);
    pthread_mutex_unlock(&ref.shard->mu);
    free(summary);
    return AW_OK;
}

static aw_status mem_complete_item(mem_session *ss, void *c, aw_error *err)
{
    return mem_complete_one(ss, c, err);
}

static aw_status mem_complete_batch(void *s, aw_complete *items, size_t n, aw_error *err)
{
    return mem_each(s, items, sizeof(*items), n, mem_complete_item, err);
}

/* The live lease (not a done record) iff token holds it. */
static mem_entry *mem_lease_held(const mem_ref *ref, uint64_t token, int64_t now)
{
    mem_entry *e = mem_live(ref, now);
    return e && !e->done && e->token == token ? e : NULL;
}

/* Renew one lease under its shard mutex: the identity's lease is held by
 * r->token and live now, or r stays stale (the front reset it). */
static aw_status mem_renew_one(mem_session *ss, aw_lease_renewal *r, int64_t lease_ms,
                               aw_error *err)
{
    mem_ref ref;
    aw_status rc = mem_lock_key(ss, MEM_SPACE_DEDUP, &r->key, &ref, err);
    if (rc != AW_OK)
        return rc;
    int64_t now = aw_mono_now_ms();
    mem_entry *e = mem_lease_held(&ref, r->token, now);
    if (e) {
        e->expires_ms = mem_deadline(now, lease_ms);
        r->stale = false;
    }
    return mem_unlock(&ref, AW_OK, "", err);
}

/* Item by item, each under the mutex of its own shard, as claim_batch: a
 * batch's identities are spread over the shards, so one lock for the batch
 * would be a table-wide lock. The batch as a whole is not a transaction. */
static aw_status mem_lease_renew_batch(void *s, aw_lease_renewal *items, size_t n,
                                       int64_t lease_ms, aw_error *err)
{
    for (size_t i = 0; i < n; i++) {
        aw_status rc = mem_renew_one(s, &items[i], lease_ms, err);
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

static aw_status mem_lease_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return mem_token_op(s, MEM_SPACE_DEDUP, mem_lease_held, k, token, -1,
                        "lease not held with this token", err);
}

/* ---- the due-time index (memory_due.c) ---------------------------------- */

/* The index lives in the backend object, so key_prefix needs no part in it:
 * two backends never share it. */
static aw_status mem_due_put(void *s, const aw_state_key *k, int64_t due_ms, const void *val,
                             size_t len, aw_error *err)
{
    return aw_mem_due_put(((mem_session *)s)->b->due, k, due_ms, val, len, err);
}
static aw_status mem_due_take(void *s, const char *ns, const char *kind, int64_t now_ms,
                              size_t limit, int64_t lease_ms, aw_due_item *out, size_t *n,
                              aw_error *err)
{
    return aw_mem_due_take(((mem_session *)s)->b->due, ns, kind, now_ms, limit, lease_ms, out, n,
                           err);
}
static aw_status mem_due_done(void *s, const aw_state_key *k, uint64_t token, aw_error *err)
{
    return aw_mem_due_done(((mem_session *)s)->b->due, k, token, err);
}
static aw_status mem_due_release(void *s, const aw_state_key *k, uint64_t token,
                                 int64_t retry_at_ms, aw_error *err)
{
    return aw_mem_due_release(((mem_session *)s)->b->due, k, token, retry_at_ms, err);
}
static aw_status mem_due_extend(void *s, aw_due_extension *items, size_t n, int64_t lease_ms,
                                aw_error *err)
{
    (void)err;
    aw_mem_due_extend(((mem_session *)s)->b->due, items, n, lease_ms);
    return AW_OK;
}
static aw_status mem_due_stats(void *s, const char *ns, const char *kind, int64_t now_ms,
                               aw_due_stats *out, aw_error *err)
{
    (void)err;
    aw_mem_due_stats(((mem_session *)s)->b->due, ns, kind, now_ms, out);
    return AW_OK;
}

const aw_state_driver aw_state_memory_driver = {
    .name = "memory",
    .caps = AW_STATE_CAP_ATOMIC,
    .create = mem_create,
    .destroy = mem_destroy,
    .session_open = mem_session_open,
    .session_close = mem_session_close,
    .check_and_set = mem_check_and_set,
    .get = mem_get,
    .set = mem_set,
    .del = mem_del,
    .increment = mem_increment,
    .compare_and_swap = mem_compare_and_swap,
    .scan = mem_scan,
    .lock_acquire = mem_lock_acquire,
    .lock_extend = mem_lock_extend,
    .lock_release = mem_lock_release,
    .claim_batch = mem_claim_batch,
    .complete_batch = mem_complete_batch,
    .lease_renew_batch = mem_lease_renew_batch,
    .lease_release = mem_lease_release,
    .due_put = mem_due_put,
    .due_take = mem_due_take,
    .due_done = mem_due_done,
    .due_release = mem_due_release,
    .due_extend = mem_due_extend,
    .due_stats = mem_due_stats,
};
