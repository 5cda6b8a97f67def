/* Helpers every backend test program of tests/conformance repeated: the
 * test server's URL from the environment, random names, a per-run key
 * prefix, and backends, sessions and migrations that fail the running
 * cmocka test (or say why) when they cannot be had. Test code only. */
#ifndef AW_SUITE_UTIL_H
#define AW_SUITE_UTIL_H

#include <stddef.h>

#include "backends/audit/audit.h"
#include "backends/state/state.h"

/* The value of the environment variable var (AW_TEST_<SERVER>_URL), or NULL
 * after printing the SKIP line: the program then exits 77 (skipped). */
const char *aw_ct_server_url(const char *var);

/* label + 16 random hex digits into out. */
void aw_ct_random_hex(char *out, size_t outsz, const char *label);

/* "awtest-<16 hex>:" into out: a key prefix of this run, so reruns on one
 * server never meet. */
void aw_ct_run_prefix(char *out, size_t outsz);

/* aw_state_new(backend, o); fails the running test when it fails. The
 * caller owns the result (aw_state_destroy). */
aw_state *aw_ct_state_new(const char *backend, const aw_state_options *o);

/* aw_state_session_open(st); fails the running test when it fails. The
 * caller owns the result (aw_state_session_close). */
aw_state_session *aw_ct_state_session(aw_state *st);

/* The state key (ns, "tenant", kind, id); borrows the strings. */
aw_state_key aw_ct_key(const char *ns, const char *kind, const char *id);

/* The migrate slot of the named state backend on url (no other option). */
aw_status aw_ct_state_migrate(const char *backend, const char *url, int *applied,
                              aw_error *err);

/* aw_audit_session_open(a); fails the running test when it fails. */
aw_audit_session *aw_ct_audit_session(aw_audit *a);

#endif
