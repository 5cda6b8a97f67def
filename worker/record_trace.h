/* A trace of done records for the kill -9 tests (tests/integration/
 * kill9_check.py), off unless AW_TEST_RECORD_TRACE names a file.
 *
 * The crash bound (docs/operations.md, "Crashes") lets an answered call run
 * again only while its done record has not reached the state backend. The
 * test sees the provider's answers on the target's clock; this trace tells
 * it, per record, when the worker handed it over for writing and when the
 * state backend acknowledged it, so a repeat is judged by what the worker
 * had actually done at the kill rather than by a time margin. One write(2)
 * per call (O_APPEND): a line is in the file the moment the call returns,
 * whatever happens to the process next.
 *
 * Lines: "<H|A>\t<ns>:<tenant>:<id>\t<token>\t<realtime us>\n", H when
 * handed over (to a recorder thread or to the worker thread's own write), A
 * when acknowledged as written (stale records, not written, are left out).
 *
 * Threads: thread-safe; the file is opened once before main and never
 * changed. Ownership: items are borrowed for the call. */
#ifndef AW_RECORD_TRACE_H
#define AW_RECORD_TRACE_H

#include <stddef.h>

#include "backends/state/state.h"

void aw_record_trace(char what, const aw_complete *items, size_t n);

#endif
