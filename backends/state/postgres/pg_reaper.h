/* The reaper of the "postgres" state backend: one background thread per
 * backend object, with its own connection, that deletes expired rows so they
 * do not grow without bound (docs/design.md section 3).
 *
 * Every reaper_interval_ms it deletes, table by table, chunks of at most
 * AW_PG_REAP_CHUNK expired rows (DELETE ... WHERE ctid = ANY (ARRAY(SELECT
 * ctid ... LIMIT n FOR UPDATE SKIP LOCKED))), one short autocommit statement
 * per chunk, until a chunk comes back short. SKIP LOCKED: it never waits for
 * a worker's statement or another replica's reaper; each replica runs one,
 * and they share the work. Reading never depends on it: an expired row is
 * absent for every operation whether or not it was deleted yet.
 *
 * Grace: plain values are deleted as soon as they expire. Lock and dedup
 * rows are deleted only AW_PG_REAP_GRACE_MS after they expired (a released
 * lock or lease counts as expired at its release). That is part of the
 * fencing-token guarantee. When no row exists for a name, the INSERT that
 * creates one draws its token (nextval) before it reaches the primary key
 * index; had another holder's row with a higher token been created AND
 * deleted in between, the new token would be lower than that holder's. Let
 * T bound every statement (statement_timeout = command_timeout_ms <=
 * AW_PG_MAX_COMMAND_TIMEOUT_MS). That other row's token was drawn after
 * ours, by a statement that began at most T before our draw, so the row
 * expires no earlier than (our draw - T) and is deleted no earlier than
 * (our draw - T + grace); our INSERT reaches the index within T of our
 * draw. With grace > 2T (it is 4T) the deletion cannot fall in between. The
 * bound assumes one server clock (now()) that is not stepped back by more
 * than the margin, and no process frozen for minutes mid-statement (which
 * breaks leases anyway). A takeover of an existing row draws its token in
 * the UPDATE, under the row lock, and needs no such argument.
 *
 * Stop: aw_pg_reaper_stop() sets the stop flag and writes to a pipe that the
 * reaper polls while idle and while a statement or connect is in flight, so
 * it returns at once instead of waiting out an interval or a slow server,
 * then joins the thread. */
#ifndef AW_PG_REAPER_H
#define AW_PG_REAPER_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/postgres/pg_conn.h"
#include "backends/state/postgres/pg_sql.h"

#define AW_PG_DEFAULT_REAPER_MS 1000
#define AW_PG_REAP_CHUNK 1000
#define AW_PG_REAP_GRACE_MS (4 * AW_PG_MAX_COMMAND_TIMEOUT_MS)

typedef struct aw_pg_reaper aw_pg_reaper;

/* Start the reaper thread. cfg is borrowed and must outlive the reaper.
 * The thread connects on its first sweep (create does not wait for it). */
aw_status aw_pg_reaper_start(const aw_pg_config *cfg, int64_t interval_ms, aw_pg_reaper **out,
                             aw_error *err);
/* Stop, join and free; NULL is accepted. */
void aw_pg_reaper_stop(aw_pg_reaper *r);

/* Tests: change the grace of lock and dedup rows (any thread, any time). */
void aw_pg_reaper_set_grace_ms(aw_pg_reaper *r, int64_t ms);
/* Rows deleted and sweeps completed so far (any thread). */
uint64_t aw_pg_reaper_deleted(const aw_pg_reaper *r);
uint64_t aw_pg_reaper_sweeps(const aw_pg_reaper *r);

#endif
