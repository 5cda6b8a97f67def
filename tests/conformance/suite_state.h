/* The state backend conformance suite: contracts section 2, one set of cmocka
 * groups run against every state backend (memory always; Redis, PostgreSQL,
 * DynamoDB... against the servers the test script starts).
 *
 * Every group gets a freshly created backend and every test a fresh session
 * and a random namespace, so runs against a persistent server neither see
 * each other's keys nor need a clean database.
 *
 * Capabilities: tests that rely on atomic compare-and-set (CAS, locks, the
 * two-phase claim, the concurrency races) need AW_STATE_CAP_ATOMIC. On a
 * backend without it they are not run silently-green: each prints
 *     UNSUPPORTED: <test> (<backend> has no atomic compare-and-set)
 * on stdout, is reported by cmocka as skipped and is counted in
 * *unsupported.
 *
 * Not reentrant: one run at a time per process (the run's backend lives in
 * file-scope state shared with cmocka's fixtures). */
#ifndef AW_SUITE_STATE_H
#define AW_SUITE_STATE_H

#include "backends/state/state.h"

/* Run the suite against the registered backend named backend_name. opts may
 * be NULL (defaults: empty url and key prefix). Return the number of failed
 * tests (0 = all passed; an unknown backend name counts as one failure). */
int aw_state_conformance_run(const char *backend_name, const aw_state_options *opts);

/* Same for a driver that need not be registered (wrappers, fault injectors,
 * capability-masked copies). driver->name labels the output. *unsupported
 * (may be NULL) receives the number of tests reported UNSUPPORTED. */
int aw_state_conformance_run_driver(const aw_state_driver *driver, const aw_state_options *opts,
                                    int *unsupported);

#endif
