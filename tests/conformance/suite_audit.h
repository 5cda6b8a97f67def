/* The audit conformance suite: one set of tests for every audit backend
 * (memory, PostgreSQL, ClickHouse, Elasticsearch), checking the contract in
 * backends/audit/audit_backend.h.
 *
 * Each run works in fresh namespaces and topics named after a random run id,
 * so it can target a persistent server that holds earlier runs' rows: those
 * never match its queries, and its record ids never collide with them. The
 * one global operation, cleanup, only deletes rows whose expires_at has
 * passed, which a running test never depends on. */
#ifndef AW_SUITE_AUDIT_H
#define AW_SUITE_AUDIT_H

#include "backends/audit/audit_types.h"

/* Run every audit test against the backend registered as backend_name,
 * created with opts. Returns the number of failed tests (0 = all passed), or
 * 1 when the backend cannot be created at all. */
int aw_audit_conformance_run(const char *backend_name, const aw_audit_options *opts);

#endif
