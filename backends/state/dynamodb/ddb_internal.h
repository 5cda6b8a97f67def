/* Shared by the files of the "dynamodb" state backend (ddb_state.c,
 * ddb_dedup.c, aw_ddb_migrate.c); not for other code. */
#ifndef AW_DDB_INTERNAL_H
#define AW_DDB_INTERNAL_H

#include "backends/state/dynamodb/ddb_http.h"
#include "backends/state/dynamodb/ddb_parse.h"
#include "backends/state/dynamodb/ddb_request.h"
#include "backends/state/dynamodb/ddb_url.h"
#include "backends/state/state_backend.h"
#include "common/aw_buf.h"

/* Key spaces (first byte after key_prefix): plain values, locks, dedup. */
#define DDB_SPACE_VALUE 'v'
#define DDB_SPACE_LOCK 'l'
#define DDB_SPACE_DEDUP 'd'
#define DDB_DEDUP_KIND "dedup"
/* Optimistic loops (set, increment, CAS, a claim that raced an expiry):
 * bound on rounds before giving up with AW_TRANSIENT. */
#define DDB_MAX_ROUNDS 64

/* Shared by all threads; immutable after create(). */
typedef struct ddb_backend {
    aw_ddb_url url;
    char *prefix;
    size_t prefix_len;
    int connect_timeout_ms, command_timeout_ms;
} ddb_backend;

/* One thread's session: the connection and scratch buffers. */
typedef struct ddb_session {
    const ddb_backend *b;
    aw_ddb_conn conn;
    aw_buf pk, sk;      /* key of a single-item operation */
    aw_ddb_call call;   /* single-item operations */
    /* batches */
    aw_ddb_call *calls;
    aw_buf *keys;       /* encoded pk per batch item */
    size_t cap;
} ddb_session;

/* Encode the key of k in space into s->pk/s->sk (dedup: kind ignored).
 * AW_PERMANENT for a key without ns/tenant/kind. */
aw_status aw_ddb_key_encode(ddb_session *s, const aw_state_key *k, char space, aw_ddb_key *out,
                  aw_error *err);
/* pk of a lock/dedup item into buf (sk is the constant "-"). */
int aw_ddb_item_pk(const ddb_backend *b, aw_buf *buf, const aw_state_key *k, char space);
#define DDB_ITEM_SK "-"

aw_status aw_ddb_nomem(aw_error *err);

/* Grow the session's batch arrays (calls, keys) to n items; the new ones
 * zeroed. Used by the dedup and due-index batches. */
aw_status aw_ddb_batch_reserve(ddb_session *s, size_t n, aw_error *err);

/* Item i's request of a conditional batch into *req (NULL: out of
 * memory); ttl_ms is the batch's duration (0 where none), now the
 * worker's clock, the same for the whole batch. */
typedef aw_status (*aw_ddb_body_fn)(ddb_session *s, const void *items, size_t i, int64_t ttl_ms,
                                    int64_t now, char **req, aw_error *err);
/* One conditional UpdateItem per item (body builds each), all sent
 * concurrently on the session's multi handle: an item whose condition held
 * is marked so (held(items, i): not stale); a lost condition is that
 * item's stale answer, not an error; any other failure fails the call.
 * complete_batch, lease_renew_batch and due_extend. */
aw_status aw_ddb_conditional_batch(ddb_session *s, void *items, size_t n, int64_t ttl_ms,
                                   aw_ddb_body_fn body, void (*held)(void *items, size_t i),
                                   aw_error *err);

/* A holder's conditional update of its lock (dedup false) or lease. */
aw_status aw_ddb_hold(ddb_session *s, const aw_state_key *k, bool dedup, uint64_t token,
                   aw_ddb_hold_op op, int64_t ttl_ms, aw_error *err);

aw_status aw_ddb_claim_batch(void *s, aw_claim *items, size_t n, aw_error *err);
aw_status aw_ddb_complete_batch(void *s, aw_complete *items, size_t n, aw_error *err);
aw_status aw_ddb_lease_renew_batch(void *s, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                                   aw_error *err);
aw_status aw_ddb_lease_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err);

/* The due-time index (ddb_due.c): the driver slots of state_backend.h. */
aw_status aw_ddb_due_put(void *s, const aw_state_key *k, int64_t due_ms, const void *val,
                         size_t len, aw_error *err);
aw_status aw_ddb_due_take(void *s, const char *ns, const char *kind, int64_t now_ms,
                          size_t limit, int64_t lease_ms, aw_due_item *out, size_t *n,
                          aw_error *err);
aw_status aw_ddb_due_done(void *s, const aw_state_key *k, uint64_t token, aw_error *err);
aw_status aw_ddb_due_extend(void *s, aw_due_extension *items, size_t n, int64_t lease_ms,
                            aw_error *err);
aw_status aw_ddb_due_stats(void *s, const char *ns, const char *kind, int64_t now_ms,
                           aw_due_stats *out, aw_error *err);
aw_status aw_ddb_due_release(void *s, const aw_state_key *k, uint64_t token, int64_t retry_at_ms,
                             aw_error *err);

/* Table check (create) and migrate. */
aw_status aw_ddb_table_check(aw_ddb_conn *c, const char *table, aw_error *err);
aw_status aw_ddb_migrate(const aw_state_options *opts, int *applied, aw_error *err);

/* The table definition of migrations/dynamodb/ (embedded at build time). */
extern const char aw_ddb_table_definition[];

#endif
