/* The state of one event of a state machine (docs/rules.md,
 * "state_machine"), kept in the shared state backend and moved only by
 * compare-and-swap on the record's version, so that replicas agree on every
 * event's sequence of states.
 *
 * Record: ns AW_EVENT_NS, tenant the machine's name, kind AW_EVENT_KIND,
 * id the rendered fingerprint; value a small JSON object
 *   {"state":S,"seq":N,"entered_at_ms":T,"born_ms":B,"last":MOVE,"recent":[MOVE,...]}
 * MOVE = {"identity":I,"token":K,"from":F,"to":S,"seq":N}: the move that
 * made seq N, by the action of dedup identity I (its fencing token K), or
 * by a timeout (identity "timeout", token 0). `recent` holds the last
 * AW_EVENT_RECENT moves, newest first (`last` is recent[0], for readers):
 * an action retried after a crash between its move and its done record
 * finds its own move there and is not judged again. Written with a TTL of
 * the machine's retention_s, renewed by every move.
 *
 * Timeouts: a move into a state with a timeout first puts a due item
 * (pool: ns kafka.group_id, kind AW_EVENT_TIMEOUT_KIND; tenant the
 * machine, id "<seq>:<state>:<fingerprint>") due after_s later; the
 * timeout then moves the event only if it is still at that (state, seq).
 * Put before the compare-and-swap, so no crash can leave a moved event
 * without its timeout; a put whose move then lost the race fires into
 * nothing.
 *
 * Pure but for the state calls: any thread, one session per thread;
 * nothing kept between calls. */
#ifndef AW_EVENT_STATE_H
#define AW_EVENT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/state/state.h"
#include "common/aw_buf.h"
#include "config/config.h"

#define AW_EVENT_NS "acteon.events"
#define AW_EVENT_KIND "event"
#define AW_EVENT_TIMEOUT_KIND "event_timeout"
#define AW_EVENT_RECENT 8
#define AW_EVENT_STATE_MAX 64     /* bytes of a state name (config checks it) */
#define AW_EVENT_IDENTITY_MAX 600 /* "<ns>/<tenant>/<key>" of an action */
#define AW_EVENT_TIMEOUT_IDENTITY "timeout"

typedef struct aw_event_move {
    char identity[AW_EVENT_IDENTITY_MAX + 1];
    uint64_t token;
    char from[AW_EVENT_STATE_MAX + 1];
    char to[AW_EVENT_STATE_MAX + 1];
    int64_t seq;
} aw_event_move;

typedef struct aw_event {
    char state[AW_EVENT_STATE_MAX + 1];
    int64_t seq;           /* moves made; 0: never moved (state = initial) */
    int64_t entered_at_ms; /* wall clock of the last move; 0 when never moved */
    int64_t born_ms;       /* wall clock of its first move (seq 1): tells this
                              event from one of the same fingerprint that
                              expired before it; 0 when never moved */
    aw_event_move recent[AW_EVENT_RECENT]; /* newest first */
    int n_recent;
} aw_event;

/* The record's JSON (-1: out of memory, or a name not valid UTF-8). */
int aw_event_write(const aw_event *e, aw_buf *out);
/* Parse a record; -1 when it is not one. */
int aw_event_read(const char *json, size_t len, aw_event *out);

/* The dedup identity of an action as moves name it (-1: too long). */
int aw_event_identity(const char *ns, const char *tenant, const char *key, char *out,
                      size_t outsz);

/* The timeout of machine m for state s, or NULL. */
const aw_machine_timeout *aw_event_timeout_of(const aw_machine_config *m, const char *s);

typedef enum aw_event_verdict {
    AW_EVENT_MOVED,       /* this call made the move */
    AW_EVENT_ALREADY,     /* the move was made before by the same identity
                             (a retry after a crash): not made again */
    AW_EVENT_NOT_ALLOWED, /* no transition from the event's state on this
                             action_type (actions), or the event moved on
                             since the timeout was armed (timeouts) */
} aw_event_verdict;

typedef struct aw_event_result {
    aw_event_verdict verdict;
    aw_event_move move; /* MOVED, ALREADY: the move */
    aw_event event;     /* the event after the move, or as found */
    int conflicts;      /* compare-and-swap races lost on the way */
} aw_event_result;

/* Where a machine's timeouts are put: the pool's ns (kafka.group_id). */
typedef struct aw_event_ctx {
    aw_state_session *state;
    const aw_machine_config *machine;
    const char *pool; /* kafka.group_id: the due index pool of timeouts */
    int64_t now_ms;   /* wall clock */
} aw_event_ctx;

/* Move the event named fingerprint on action_type `on`, for the action of
 * `identity` holding fencing token `token` (its claim acquired). Re-reads
 * and re-decides after a lost race, at most AW_EVENT_MAX_RACES times, then
 * AW_CONFLICT (retriable). A backend error is returned as it came. */
#define AW_EVENT_MAX_RACES 16
aw_status aw_event_apply(const aw_event_ctx *c, const char *fingerprint, const char *on,
                         const char *identity, uint64_t token, aw_event_result *res,
                         aw_error *err);

/* Fire the timeout armed for (state, seq) of the event named fingerprint:
 * MOVED when the event was still there, NOT_ALLOWED when it moved on (or
 * its record expired), ALREADY when this timeout's move was made before (a
 * retry after a crash between the move and due_done). */
aw_status aw_event_time_out(const aw_event_ctx *c, const char *fingerprint, const char *state,
                            int64_t seq, aw_event_result *res, aw_error *err);

/* The timeout item's id "<seq>:<state>:<fingerprint>" and its parse (state
 * names cannot hold ':'; -1 when it is not one). */
int aw_event_timeout_id(aw_buf *out, int64_t seq, const char *state, const char *fingerprint);
int aw_event_timeout_id_read(const char *id, int64_t *seq, char *state, size_t statesz,
                             const char **fingerprint);

/* Read the event (AW_NOT_FOUND when it has no record: never moved, or
 * expired). */
aw_status aw_event_get(aw_state_session *s, const aw_machine_config *m, const char *fingerprint,
                       aw_event *out, aw_error *err);

#endif
