/* Types shared by state callers (state.h) and implementers (state_backend.h). */
#ifndef AW_STATE_TYPES_H
#define AW_STATE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_error.h"

/* A logical key. All four strings are borrowed and NUL-terminated; any byte
 * but NUL is allowed in each (backends encode with common/aw_key.h). */
typedef struct aw_state_key {
    const char *ns;
    const char *tenant;
    const char *kind;
    const char *id;
} aw_state_key;

/* A value read from a backend. data is owned by the struct (malloc'd, NUL
 * terminated for convenience, len excludes the NUL); release with
 * aw_state_value_clear(). */
typedef struct aw_state_value {
    char *data;
    size_t len;
    uint64_t version;  /* 1 on insert, +1 on every write */
} aw_state_value;

void aw_state_value_clear(aw_state_value *v);

/* Where a message came from. topic is borrowed. */
typedef struct aw_source {
    const char *topic;
    int32_t partition;
    int64_t offset;
} aw_source;

/* Options for creating a backend; strings borrowed for the create call only. */
typedef struct aw_state_options {
    const char *url;          /* backend specific; "" for memory */
    const char *key_prefix;   /* prepended to every stored key; may be "" */
    int64_t reaper_interval_ms; /* how often expired rows are purged; 0 = default */
    int connect_timeout_ms;
    int command_timeout_ms;
} aw_state_options;

/* ---- Two-phase dedup (docs/design.md section 2) ---------------------------- */

typedef enum aw_claim_result {
    AW_CLAIM_ACQUIRED = 0, /* lease taken: execute, then complete with token */
    AW_CLAIM_DONE,         /* a done record exists: see done_* fields */
    AW_CLAIM_BUSY,         /* another holder's lease is live: retry later */
} aw_claim_result;

/* One identity to claim. Inputs are borrowed; outputs owned by the struct
 * (release with aw_claim_clear()). key.kind is ignored: dedup records live
 * under the backend's own kind. */
typedef struct aw_claim {
    /* in */
    aw_state_key key;
    int64_t lease_ms;
    /* out */
    aw_claim_result result;
    uint64_t token;           /* ACQUIRED: new fencing token (strictly greater
                                 than every earlier token of this identity);
                                 BUSY: the holder's token */
    int64_t retry_after_ms;   /* BUSY: the holder's remaining lease */
    char *done_summary;       /* DONE: the summary passed to complete */
    char *done_topic;         /* DONE: source of the message that completed it */
    int32_t done_partition;
    int64_t done_offset;
    uint64_t done_token;      /* DONE: fencing token that completed it */
} aw_claim;

void aw_claim_clear(aw_claim *c);

/* One identity to complete. All inputs borrowed. */
typedef struct aw_complete {
    /* in */
    aw_state_key key;         /* kind ignored, as for aw_claim */
    uint64_t token;           /* the token from the claim */
    aw_source source;         /* message that executed */
    const char *summary;      /* outcome summary JSON (NUL-terminated) */
    int64_t window_ms;        /* done record TTL (dedup window) */
    /* out */
    bool stale;               /* the lease is no longer held with this token:
                                 nothing was written */
} aw_complete;

/* One held lease to renew. All inputs borrowed. */
typedef struct aw_lease_renewal {
    /* in */
    aw_state_key key;         /* kind ignored, as for aw_claim */
    uint64_t token;           /* the token from the claim */
    /* out */
    bool stale;               /* the lease is not held with this token now (another
                                 holder's, expired even if nobody took it over,
                                 completed, released, never taken): nothing was
                                 written and the lease is lost for good */
} aw_lease_renewal;

/* ---- Due-time index (docs/design.md section 3, "due index") ----------------- */

/* One item taken by due_take. Every field is owned by the struct (strings
 * malloc'd and NUL-terminated; value also NUL-terminated, len excluding the
 * NUL); release with aw_due_item_clear(). */
typedef struct aw_due_item {
    char *ns;
    char *tenant;
    char *kind;
    char *id;
    char *value;
    size_t len;
    int64_t due_ms;           /* the due time it was put (or released) with */
    uint64_t token;           /* fencing token of this lease: strictly greater
                                 than every earlier token of the item */
} aw_due_item;

void aw_due_item_clear(aw_due_item *it);

/* One held due lease to extend (due_extend). All inputs borrowed. */
typedef struct aw_due_extension {
    /* in */
    aw_state_key key;         /* the item's key, as due_take returned it (kind
                                 included: it names the pool) */
    uint64_t token;           /* the token due_take returned */
    /* out */
    bool stale;               /* the lease is not held with this token now
                                 (expired even if nobody took the item again,
                                 re-taken, done, released, never taken):
                                 nothing was written and the lease is lost */
} aw_due_extension;

/* What due_stats saw of one pool (ns, kind) at the caller's now_ms: for
 * metrics, not for decisions (it is a snapshot, read without locking the
 * pool against takes). Plain values, nothing owned. */
typedef struct aw_due_stats {
    uint64_t items;           /* every item of the pool: waiting and leased */
    uint64_t waiting;         /* due (due_ms <= now_ms) and not leased: what a
                                 take would offer now */
    bool has_oldest;          /* waiting > 0 (and its due time was read) */
    int64_t oldest_due_ms;    /* the smallest due_ms among the waiting ones */
    bool partial;             /* the backend stopped at its read bound (its
                                 driver says which): counts are lower bounds
                                 and oldest_due_ms the oldest of those read */
} aw_due_stats;

/* Scan callback: id is the key's id part (NUL-terminated copy, borrowed for
 * the call). Return 0 to go on, non-zero to stop. */
typedef int (*aw_state_scan_fn)(void *ud, const char *id, const char *value, size_t len);

/* Capability flags. */
#define AW_STATE_CAP_ATOMIC 0x1u /* atomic compare-and-set: may serve dedup and locks */

#endif
