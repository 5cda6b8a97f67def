/* The state backend conformance suite: docs/design.md section 3, one set of cmocka
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
 * *unsupported; the run ends with one line naming them all:
 *     [UNSUPPORTED] state[<backend>]: N test(s) need atomic compare-and-set: a, b
 * Every other test must pass: the return value counts their failures
 * only, so a program fails on any of them and never on an unsupported one.
 *
 * Cross-process: with aw_state_conformance_options.cross_process the run
 * also forks 3 child processes (see suite_state.c, "cross-process"). The
 * test program must be single-threaded when a run starts (every suite
 * thread is joined before its test returns), so no mutex can be held by
 * another thread at fork time.
 *
 * Not reentrant: one run at a time per process (the run's backend lives in
 * file-scope state shared with cmocka's fixtures). */
#ifndef AW_SUITE_STATE_H
#define AW_SUITE_STATE_H

#include "backends/state/state.h"

/* What a run covers beyond the backend's own options. A zeroed struct (or
 * NULL) gives the defaults. */
typedef struct aw_state_conformance_options {
    /* The backend's state is shared between processes (Redis, PostgreSQL,
     * DynamoDB): also run the "cross-process" group, in which 3 forked
     * processes, each with its own backend created from the same options,
     * race to claim the same 1,000 identities (and to take the same 1,000
     * due items, when the backend has a due index). Leave false for per-process
     * backends (memory): the group is then listed as not run. */
    bool cross_process;
    /* For a backend without AW_STATE_CAP_ATOMIC: the tests that need it
     * and race nothing (cas, locks, dedup groups) are still reported
     * UNSUPPORTED and counted, then run anyway, single-threaded, printed
     *     BEST-EFFORT: <test> run single-threaded
     * and must pass: what a best-effort backend does without contention
     * is the contract. The race groups stay skipped. */
    bool best_effort_sequential;
} aw_state_conformance_options;

/* Run the suite against the registered backend named backend_name. opts may
 * be NULL (defaults: empty url and key prefix). Return the number of failed
 * tests (0 = all passed; an unknown backend name counts as one failure). */
int aw_state_conformance_run(const char *backend_name, const aw_state_options *opts);

/* Same for a driver that need not be registered (wrappers, fault injectors,
 * capability-masked copies). driver->name labels the output. *unsupported
 * (may be NULL) receives the number of tests reported UNSUPPORTED. */
int aw_state_conformance_run_driver(const aw_state_driver *driver, const aw_state_options *opts,
                                    int *unsupported);

/* Both of the above with run options (copts may be NULL = defaults);
 * driver_name or driver: exactly one of them non-NULL. */
int aw_state_conformance_run_with(const char *backend_name, const aw_state_driver *driver,
                                  const aw_state_options *opts,
                                  const aw_state_conformance_options *copts, int *unsupported);

#endif
