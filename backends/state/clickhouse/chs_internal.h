/* Internals shared by the files of the "clickhouse" state backend
 * (clickhouse_state.c: life cycle, values, scan, reaper; chs_leases.c:
 * locks and dedup). Not for callers. */
#ifndef AW_CHS_INTERNAL_H
#define AW_CHS_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "backends/clickhouse/ch_http.h"
#include "backends/state/clickhouse/chs_sql.h"
#include "backends/state/state_backend.h"
#include "common/aw_buf.h"

/* Shared by every thread; immutable after create except next_reap_ms
 * (atomic: whichever session first sees it due runs the reaper). */
typedef struct chs_backend {
    aw_ch_config cfg;
    char prefix[128];
    size_t prefix_len;
    int64_t reap_interval_ms;
    _Atomic int64_t next_reap_ms;
} chs_backend;

/* One thread's: the connection and scratch buffers. */
typedef struct chs_session {
    chs_backend *b;
    aw_ch_conn conn;
    aw_buf sql;
    aw_buf key;
    uint64_t rng; /* xorshift state for the low bits of ver */
} chs_session;

/* Encode the stored key of k in space into s->key (reset first). */
aw_status aw_chs_key(chs_session *s, char space, const aw_state_key *k, aw_error *err);

/* Read the newest row of s->key in space into *row (zeroed when the key has
 * no row at all: *found = false). */
aw_status aw_chs_read(chs_session *s, char space, aw_chs_row *row, bool *found, aw_error *err);

/* aw_chs_key, then aw_chs_read: the newest row of k in space. */
aw_status aw_chs_read_key(chs_session *s, char space, const aw_state_key *k, aw_chs_row *row,
                       bool *found, aw_error *err);

/* The ver of the next row of a key whose newest row has prev_ver (0 when
 * none), at the writer's clock now_ms. See 0002_state.sql. */
uint64_t aw_chs_next_ver(chs_session *s, uint64_t prev_ver, int64_t now_ms);

/* Send the INSERT accumulated in s->sql. */
aw_status aw_chs_exec(chs_session *s, const char *what, aw_error *err);

/* Run the reaper when it is due (cheap check otherwise). */
void aw_chs_maybe_reap(chs_session *s, int64_t now_ms);

aw_status aw_chs_nomem(aw_error *err);

/* chs_leases.c */
aw_status aw_chs_lock_acquire(void *s, const aw_state_key *k, int64_t ttl_ms, uint64_t *token,
                              aw_error *err);
aw_status aw_chs_lock_extend(void *s, const aw_state_key *k, uint64_t token, int64_t ttl_ms,
                             aw_error *err);
aw_status aw_chs_lock_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err);
aw_status aw_chs_claim_batch(void *s, aw_claim *items, size_t n, aw_error *err);
aw_status aw_chs_complete_batch(void *s, aw_complete *items, size_t n, aw_error *err);
aw_status aw_chs_lease_renew_batch(void *s, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                                   aw_error *err);
aw_status aw_chs_lease_release(void *s, const aw_state_key *k, uint64_t token, aw_error *err);

#endif
