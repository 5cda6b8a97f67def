/* The claim rules, once for every backend (state_backend.h states what the
 * drivers may then assume):
 *  - arguments are validated before anything is sent, so a bad item takes
 *    no lease: lease_ms > 0 (a lease must end on its own, or a crashed
 *    holder would block its identity forever) and keys with a namespace and
 *    a tenant;
 *  - outputs are reset before the driver runs, and reset again (done
 *    records freed) when it fails: on error no item result is meaningful;
 *  - an identity (ns, tenant, id; kind ignored) appears once per driver
 *    call. Repeats within a batch get what a backend claiming item by item
 *    (memory) gives them:
 *      claim: the first occurrence's result, except that behind an
 *        ACQUIRED a repeat is BUSY with the first's token and lease;
 *      complete: only the first of equal (identity, token) pairs can turn
 *        the lease into a done record, a repeat is stale; a later item of
 *        the identity with another token is tried (in a further driver
 *        call) only while no earlier one completed;
 *      renew: as complete, except that a repeat of a renewed pair is
 *        renewed too (renewing does not end the lease): every item with
 *        the holder's token is renewed, every other one is stale.
 * Remote backends need this anyway (one SQL statement cannot touch a row
 * twice; two requests of one batch for one item would race), and the
 * answers no longer depend on the backend. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/state.h"

/* Per-session scratch space, reused by every batch of the session (so a
 * session's thread owns it, like the session; nothing is locked). */
struct aw_state_batch {
    size_t cap;           /* capacity of the per-item arrays below */
    size_t *first;        /* item -> first item of its identity */
    size_t *next;         /* item -> next item of its identity, or SIZE_MAX */
    size_t *sent;         /* driver position -> item */
    uint64_t *hash;       /* item -> identity_hash of its key */
    unsigned char *tried; /* complete, renew: item already went to the driver */
    aw_claim *claims;     /* the unique items, when the batch has repeats */
    aw_complete *completes;
    aw_lease_renewal *renewals;
    size_t nslots;        /* hash table capacity */
    size_t mask;          /* this batch's table size - 1 (a power of two >= 2n) */
    size_t *slots;        /* item + 1; 0 = empty */
};

static aw_status nomem(aw_error *err) { return aw_error_set(err, AW_NOMEM, "out of memory"); }

void aw_state_batch_free(aw_state_batch *b)
{
    if (!b)
        return;
    free(b->first);
    free(b->next);
    free(b->sent);
    free(b->hash);
    free(b->tried);
    free(b->claims);
    free(b->completes);
    free(b->renewals);
    free(b->slots);
    free(b);
}

static aw_status batch_reserve(aw_state_session *s, size_t n, aw_error *err)
{
    aw_state_batch *b = s->batch;
    if (!b && !(b = s->batch = calloc(1, sizeof(*b))))
        return nomem(err);
    if (n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < n)
            cap *= 2;
        /* Each array is replaced only once its larger copy exists, so a
         * failure leaves b consistent at the old capacity. */
#define GROW(f)                                                                                   \
    do {                                                                                          \
        void *p = realloc(b->f, cap * sizeof(*b->f));                                             \
        if (!p)                                                                                   \
            return nomem(err);                                                                    \
        b->f = p;                                                                                 \
    } while (0)
        GROW(first);
        GROW(next);
        GROW(sent);
        GROW(hash);
        GROW(tried);
        GROW(claims);
        GROW(completes);
        GROW(renewals);
#undef GROW
        b->cap = cap;
    }
    size_t nslots = 16;
    while (nslots < 2 * n)
        nslots *= 2;
    if (nslots > b->nslots) {
        size_t *p = realloc(b->slots, nslots * sizeof(*p));
        if (!p)
            return nomem(err);
        b->slots = p;
        b->nslots = nslots;
    }
    /* Only the part this batch uses is cleared and probed. */
    memset(b->slots, 0, nslots * sizeof(*b->slots));
    b->mask = nslots - 1;
    return AW_OK;
}

/* ---- identities ----------------------------------------------------------- */

/* The id only (FNV-1a): this runs for every item of every batch of two or
 * more, and the namespace and tenant of a batch's items are nearly always
 * the same. Identities that differ only there share a probe sequence, and
 * same_identity still tells them apart. */
static uint64_t identity_hash(const aw_state_key *k)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)(k->id ? k->id : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h ^ (h >> 32); /* the table uses the low bits */
}

/* A NULL id is stored as "" by every backend (aw_key_encode). */
static bool same_identity(const aw_state_key *a, const aw_state_key *b)
{
    return strcmp(a->ns, b->ns) == 0 && strcmp(a->tenant, b->tenant) == 0 &&
           strcmp(a->id ? a->id : "", b->id ? b->id : "") == 0;
}

static aw_status check_key(const aw_state_key *k, aw_error *err)
{
    if (!k->ns || !k->tenant)
        return aw_error_set(err, AW_PERMANENT,
                            "state key: namespace, tenant and kind are required");
    return AW_OK;
}

static aw_status check_lease_ms(int64_t lease_ms, aw_error *err)
{
    if (lease_ms > 0)
        return AW_OK;
    return aw_error_set(err, AW_PERMANENT, "lease_ms must be > 0 (got %" PRId64 ")", lease_ms);
}

/* b->first / b->next for the n keys (key_at(items, i)); returns how many
 * items are the first of their identity. */
static size_t group(aw_state_batch *b, const void *items, size_t n,
                    const aw_state_key *(*key_at)(const void *, size_t))
{
    size_t nuniq = 0, mask = b->mask;
    for (size_t i = 0; i < n; i++) {
        const aw_state_key *k = key_at(items, i);
        b->first[i] = i;
        b->next[i] = SIZE_MAX;
        b->hash[i] = identity_hash(k);
        for (size_t h = (size_t)b->hash[i] & mask;; h = (h + 1) & mask) {
            size_t j = b->slots[h];
            if (j == 0) {
                b->slots[h] = i + 1;
                nuniq++;
                break;
            }
            if (b->hash[j - 1] == b->hash[i] && same_identity(key_at(items, j - 1), k)) {
                /* slots keep the latest item of the identity: link it. */
                b->first[i] = b->first[j - 1];
                b->next[j - 1] = i;
                b->slots[h] = i + 1;
                break;
            }
        }
    }
    return nuniq;
}

/* Whether the batch repeats an identity; when it does, s->batch holds its
 * groups (first / next). A single item needs no table. */
static aw_status find_repeats(aw_state_session *s, const void *items, size_t n,
                              const aw_state_key *(*key_at)(const void *, size_t), bool *repeats,
                              aw_error *err)
{
    *repeats = false;
    if (n < 2)
        return AW_OK;
    aw_status rc = batch_reserve(s, n, err);
    if (rc == AW_OK)
        *repeats = group(s->batch, items, n, key_at) != n;
    return rc;
}

/* ---- claim ---------------------------------------------------------------- */

static const aw_state_key *claim_key(const void *items, size_t i)
{
    return &((const aw_claim *)items)[i].key;
}

static void claim_reset(aw_claim *c)
{
    c->result = AW_CLAIM_BUSY;
    c->token = 0;
    c->retry_after_ms = 0;
    c->done_summary = c->done_topic = NULL;
    c->done_partition = 0;
    c->done_offset = 0;
    c->done_token = 0;
}

/* c (reset) becomes what a repeat of an identity sees behind `first`'s
 * answer: BUSY behind an acquired or busy lease, the same done record
 * behind DONE. */
static aw_status claim_copy_repeat(aw_claim *c, const aw_claim *first, aw_error *err)
{
    switch (first->result) {
    case AW_CLAIM_ACQUIRED:
        c->result = AW_CLAIM_BUSY;
        c->token = first->token;
        c->retry_after_ms = first->lease_ms;
        return AW_OK;
    case AW_CLAIM_BUSY:
        c->result = AW_CLAIM_BUSY;
        c->token = first->token;
        c->retry_after_ms = first->retry_after_ms;
        return AW_OK;
    case AW_CLAIM_DONE:
        c->result = AW_CLAIM_DONE;
        c->done_token = first->done_token;
        c->done_partition = first->done_partition;
        c->done_offset = first->done_offset;
        c->done_summary = strdup(first->done_summary ? first->done_summary : "");
        c->done_topic = strdup(first->done_topic ? first->done_topic : "");
        if (!c->done_summary || !c->done_topic)
            return nomem(err);
        return AW_OK;
    }
    return aw_error_set(err, AW_INTERNAL, "claim: bad result");
}

/* The driver's call over the unique items only (copied out and back). */
static aw_status claim_unique(aw_state_session *s, aw_claim *items, size_t n, aw_error *err)
{
    aw_state_batch *b = s->batch;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (b->first[i] == i) {
            b->sent[m] = i;
            b->claims[m++] = items[i];
        }
    aw_status rc = s->driver->claim_batch(s->session, b->claims, m, err);
    for (size_t j = 0; j < m; j++)
        items[b->sent[j]] = b->claims[j]; /* outputs (and their ownership) back */
    for (size_t i = 0; i < n && rc == AW_OK; i++)
        if (b->first[i] != i)
            rc = claim_copy_repeat(&items[i], &items[b->first[i]], err);
    return rc;
}

aw_status aw_state_claim_batch(aw_state_session *s, aw_claim *items, size_t n, aw_error *err)
{
    for (size_t i = 0; i < n; i++) {
        aw_status rc = check_lease_ms(items[i].lease_ms, err);
        if (rc == AW_OK)
            rc = check_key(&items[i].key, err);
        if (rc != AW_OK)
            return rc;
    }
    for (size_t i = 0; i < n; i++)
        claim_reset(&items[i]);
    if (n == 0)
        return AW_OK;
    bool repeats;
    aw_status rc = find_repeats(s, items, n, claim_key, &repeats, err);
    if (rc == AW_OK)
        rc = repeats ? claim_unique(s, items, n, err)
                     : s->driver->claim_batch(s->session, items, n, err);
    if (rc != AW_OK)
        for (size_t i = 0; i < n; i++) {
            aw_claim_clear(&items[i]);
            claim_reset(&items[i]);
        }
    return rc;
}

/* ---- complete and renew: items naming a held lease ------------------------
 *
 * Both act on the lease that (identity, token) holds, and fold repeats the
 * same way (held_rounds); a held_ops says how to reach one kind of item. */

typedef struct held_ops {
    size_t size; /* of one item */
    const aw_state_key *(*key)(const void *items, size_t i);
    uint64_t (*token)(const void *items, size_t i);
    bool *(*stale)(void *items, size_t i);
    void *(*scratch)(aw_state_batch *b); /* room for n items */
    /* The driver's call on m unique items; arg is the call's own (lease_ms). */
    aw_status (*send)(aw_state_session *s, void *items, size_t m, const void *arg, aw_error *err);
    /* After the rounds (NULL: nothing): answer the items never sent. */
    void (*settle)(const aw_state_batch *b, void *items, size_t n);
} held_ops;

static void *item_at(const held_ops *ops, void *items, size_t i)
{
    return (char *)items + i * ops->size;
}

/* Whether item i may still go to the driver: it has not gone yet and no
 * earlier item of its identity went with the same token (that one's answer
 * is the pair's). */
static bool held_due(const aw_state_batch *b, const held_ops *ops, const void *items, size_t i)
{
    if (b->tried[i])
        return false;
    for (size_t j = b->first[i]; j != i; j = b->next[j])
        if (b->tried[j] && ops->token(items, j) == ops->token(items, i))
            return false;
    return true;
}

/* Rounds over a batch with repeats: each round hands the driver at most one
 * item per identity. Round 1 has every identity's first item; a further
 * round exists only for an identity whose item came back stale and which
 * has a later item with a token not tried yet (rare: two claims' tokens of
 * one identity in one batch). An identity whose item came back not stale
 * is settled: no other token can hold its lease. Items never sent stay
 * stale unless ops->settle says otherwise. */
static aw_status held_rounds(aw_state_session *s, const held_ops *ops, void *items, size_t n,
                             const void *arg, aw_error *err)
{
    aw_state_batch *b = s->batch;
    void *out = ops->scratch(b);
    memset(b->tried, 0, n);
    for (;;) {
        size_t m = 0;
        for (size_t g = 0; g < n; g++) {
            if (b->first[g] != g)
                continue;
            bool settled = false;
            for (size_t j = g; j != SIZE_MAX && !settled; j = b->next[j])
                settled = b->tried[j] && !*ops->stale(items, j);
            for (size_t j = g; j != SIZE_MAX && !settled; j = b->next[j])
                if (held_due(b, ops, items, j)) {
                    b->sent[m] = j;
                    memcpy(item_at(ops, out, m++), item_at(ops, items, j), ops->size);
                    break;
                }
        }
        if (m == 0) {
            if (ops->settle)
                ops->settle(b, items, n);
            return AW_OK;
        }
        aw_status rc = ops->send(s, out, m, arg, err);
        if (rc != AW_OK)
            return rc;
        for (size_t j = 0; j < m; j++) {
            *ops->stale(items, b->sent[j]) = *ops->stale(out, j);
            b->tried[b->sent[j]] = 1;
        }
    }
}

/* The front of complete and renew: validate (nothing sent on a bad item),
 * reset every item to stale, fold repeats; on error every item is stale. */
static aw_status held_batch(aw_state_session *s, const held_ops *ops, void *items, size_t n,
                            const void *arg, aw_error *err)
{
    for (size_t i = 0; i < n; i++)
        *ops->stale(items, i) = true;
    for (size_t i = 0; i < n; i++) {
        aw_status rc = check_key(ops->key(items, i), err);
        if (rc != AW_OK)
            return rc;
    }
    if (n == 0)
        return AW_OK;
    bool repeats;
    aw_status rc = find_repeats(s, items, n, ops->key, &repeats, err);
    if (rc == AW_OK)
        rc = repeats ? held_rounds(s, ops, items, n, arg, err)
                     : ops->send(s, items, n, arg, err);
    if (rc != AW_OK)
        for (size_t i = 0; i < n; i++)
            *ops->stale(items, i) = true;
    return rc;
}

/* ---- complete ------------------------------------------------------------- */

static const aw_state_key *complete_key(const void *items, size_t i)
{
    return &((const aw_complete *)items)[i].key;
}

static uint64_t complete_token(const void *items, size_t i)
{
    return ((const aw_complete *)items)[i].token;
}

static bool *complete_stale(void *items, size_t i) { return &((aw_complete *)items)[i].stale; }

static void *complete_scratch(aw_state_batch *b) { return b->completes; }

static aw_status complete_send(aw_state_session *s, void *items, size_t m, const void *arg,
                               aw_error *err)
{
    (void)arg;
    return s->driver->complete_batch(s->session, items, m, err);
}

static const held_ops complete_ops = {sizeof(aw_complete), complete_key, complete_token,
                                      complete_stale, complete_scratch, complete_send, NULL};

aw_status aw_state_complete_batch(aw_state_session *s, aw_complete *items, size_t n,
                                  aw_error *err)
{
    /* A repeat of a completed pair stays stale: the lease became a done
     * record with the first. */
    return held_batch(s, &complete_ops, items, n, NULL, err);
}

/* ---- renew ---------------------------------------------------------------- */

static const aw_state_key *renew_key(const void *items, size_t i)
{
    return &((const aw_lease_renewal *)items)[i].key;
}

static uint64_t renew_token(const void *items, size_t i)
{
    return ((const aw_lease_renewal *)items)[i].token;
}

static bool *renew_stale(void *items, size_t i) { return &((aw_lease_renewal *)items)[i].stale; }

static void *renew_scratch(aw_state_batch *b) { return b->renewals; }

static aw_status renew_send(aw_state_session *s, void *items, size_t m, const void *arg,
                            aw_error *err)
{
    return s->driver->lease_renew_batch(s->session, items, m, *(const int64_t *)arg, err);
}

/* A repeat of a renewed pair was renewed with it (renewing left the lease
 * where it was, held by that token); every other unsent item stays stale. */
static void renew_settle(const aw_state_batch *b, void *items, size_t n)
{
    aw_lease_renewal *r = items;
    for (size_t i = 0; i < n; i++) {
        if (b->tried[i])
            continue;
        for (size_t j = b->first[i]; j != SIZE_MAX && r[i].stale; j = b->next[j])
            if (b->tried[j] && !r[j].stale && r[j].token == r[i].token)
                r[i].stale = false;
    }
}

static const held_ops renew_ops = {sizeof(aw_lease_renewal), renew_key, renew_token,
                                   renew_stale, renew_scratch, renew_send, renew_settle};

aw_status aw_state_lease_renew_batch(aw_state_session *s, aw_lease_renewal *items, size_t n,
                                     int64_t lease_ms, aw_error *err)
{
    aw_status rc = check_lease_ms(lease_ms, err);
    if (rc == AW_OK)
        return held_batch(s, &renew_ops, items, n, &lease_ms, err);
    for (size_t i = 0; i < n; i++)
        items[i].stale = true;
    return rc;
}

aw_status aw_state_lease_renew(aw_state_session *s, const aw_state_key *k, uint64_t token,
                               int64_t lease_ms, aw_error *err)
{
    aw_lease_renewal r = {.key = *k, .token = token};
    aw_status rc = aw_state_lease_renew_batch(s, &r, 1, lease_ms, err);
    if (rc == AW_OK && r.stale)
        rc = aw_error_set(err, AW_CONFLICT, "lease not held with this token");
    return rc;
}
