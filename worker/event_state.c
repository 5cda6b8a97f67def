#include "worker/event_state.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the record ------------------------------------------------------------ */

static json_t *move_json(const aw_event_move *m)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:I}", "identity", m->identity, "token",
                     (json_int_t)m->token, "from", m->from, "to", m->to, "seq",
                     (json_int_t)m->seq);
}

int aw_event_write(const aw_event *e, aw_buf *out)
{
    json_t *recent = json_array();
    for (int i = 0; recent && i < e->n_recent; i++)
        if (json_array_append_new(recent, move_json(&e->recent[i])) != 0) {
            json_decref(recent);
            return -1;
        }
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:o?, s:o}", "state", e->state, "seq",
                          (json_int_t)e->seq, "entered_at_ms", (json_int_t)e->entered_at_ms,
                          "born_ms", (json_int_t)e->born_ms, "last", e->n_recent ? move_json(&e->recent[0]) : NULL, "recent",
                          recent);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rc = text && aw_buf_puts(out, text) == 0 ? 0 : -1;
    free(text);
    return rc;
}

static int copy_str(const json_t *v, char *out, size_t outsz)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= outsz)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int read_move(const json_t *j, aw_event_move *m)
{
    const json_t *tok = json_object_get(j, "token"), *seq = json_object_get(j, "seq");
    if (copy_str(json_object_get(j, "identity"), m->identity, sizeof(m->identity)) ||
        copy_str(json_object_get(j, "from"), m->from, sizeof(m->from)) ||
        copy_str(json_object_get(j, "to"), m->to, sizeof(m->to)) || !json_is_integer(tok) ||
        !json_is_integer(seq))
        return -1;
    m->token = (uint64_t)json_integer_value(tok);
    m->seq = json_integer_value(seq);
    return 0;
}

int aw_event_read(const char *json, size_t len, aw_event *out)
{
    memset(out, 0, sizeof(*out));
    json_t *o = json_loadb(json, len, 0, NULL);
    const json_t *seq = json_object_get(o, "seq"), *at = json_object_get(o, "entered_at_ms");
    const json_t *recent = json_object_get(o, "recent"), *born = json_object_get(o, "born_ms");
    int rc = copy_str(json_object_get(o, "state"), out->state, sizeof(out->state)) ||
                     !json_is_integer(seq) || !json_is_integer(at) || !json_is_integer(born) ||
                     !json_is_array(recent)
                 ? -1
                 : 0;
    if (rc == 0) {
        out->seq = json_integer_value(seq);
        out->entered_at_ms = json_integer_value(at);
        out->born_ms = json_integer_value(born);
        for (size_t i = 0; rc == 0 && i < json_array_size(recent) && i < AW_EVENT_RECENT; i++)
            rc = read_move(json_array_get(recent, i), &out->recent[out->n_recent++]);
    }
    json_decref(o);
    return rc;
}

int aw_event_identity(const char *ns, const char *tenant, const char *key, char *out,
                      size_t outsz)
{
    int n = snprintf(out, outsz, "%s/%s/%s", ns, tenant, key);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

const aw_machine_timeout *aw_event_timeout_of(const aw_machine_config *m, const char *s)
{
    for (size_t i = 0; i < m->n_timeouts; i++)
        if (strcmp(m->timeouts[i].in, s) == 0)
            return &m->timeouts[i];
    return NULL;
}

int aw_event_timeout_id(aw_buf *out, int64_t seq, const char *state, const char *fingerprint)
{
    aw_buf_reset(out);
    return aw_buf_printf(out, "%" PRId64 ":%s:%s", seq, state, fingerprint) ? -1 : 0;
}

int aw_event_timeout_id_read(const char *id, int64_t *seq, char *state, size_t statesz,
                             const char **fingerprint)
{
    char *end;
    long long n = strtoll(id, &end, 10);
    if (end == id || *end != ':' || n < 1)
        return -1;
    const char *s = end + 1, *colon = strchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= statesz)
        return -1;
    memcpy(state, s, (size_t)(colon - s));
    state[colon - s] = '\0';
    *seq = n;
    *fingerprint = colon + 1;
    return 0;
}

/* ---- moving ---------------------------------------------------------------- */

static aw_state_key event_key(const aw_machine_config *m, const char *fingerprint)
{
    return (aw_state_key){.ns = AW_EVENT_NS, .tenant = m->name, .kind = AW_EVENT_KIND,
                          .id = fingerprint};
}

aw_status aw_event_get(aw_state_session *s, const aw_machine_config *m, const char *fingerprint,
                       aw_event *out, aw_error *err)
{
    aw_state_key k = event_key(m, fingerprint);
    aw_state_value v = {0};
    aw_status rc = aw_state_get(s, &k, &v, err);
    if (rc == AW_OK && aw_event_read(v.data, v.len, out) != 0)
        rc = aw_error_set(err, AW_PERMANENT, "event %s/%s: the record is not an event record",
                          m->name, fingerprint);
    aw_state_value_clear(&v);
    return rc;
}

/* Read the event; a missing record is the machine's initial state (version
 * 0: the compare-and-swap then creates it). */
static aw_status read_event(const aw_event_ctx *c, const aw_state_key *k, aw_event *e,
                            uint64_t *version, aw_error *err)
{
    aw_state_value v = {0};
    aw_status rc = aw_state_get(c->state, k, &v, err);
    if (rc == AW_NOT_FOUND) {
        memset(e, 0, sizeof(*e));
        snprintf(e->state, sizeof(e->state), "%s", c->machine->initial);
        *version = 0;
        aw_error_clear(err);
        return AW_OK;
    }
    if (rc == AW_OK && aw_event_read(v.data, v.len, e) != 0)
        rc = aw_error_set(err, AW_PERMANENT, "event %s/%s: the record is not an event record",
                          c->machine->name, k->id);
    *version = v.version;
    aw_state_value_clear(&v);
    return rc;
}

/* Arm the timeout of the state the move enters, if it has one, before the
 * move is written (event_state.h says why). */
static aw_status arm_timeout(const aw_event_ctx *c, const char *fingerprint,
                             const aw_event_move *mv, aw_error *err)
{
    const aw_machine_timeout *t = aw_event_timeout_of(c->machine, mv->to);
    if (!t)
        return AW_OK;
    aw_buf id = {0};
    if (aw_event_timeout_id(&id, mv->seq, mv->to, fingerprint)) {
        aw_buf_free(&id);
        return aw_error_set(err, AW_NOMEM, "event timeout: out of memory");
    }
    aw_state_key k = {.ns = c->pool, .tenant = c->machine->name, .kind = AW_EVENT_TIMEOUT_KIND,
                      .id = id.data};
    aw_status rc = aw_state_due_put(c->state, &k, c->now_ms + t->after_s * 1000, "1", 1, err);
    aw_buf_free(&id);
    return rc;
}

/* Decides the move from the event as read: fills *mv and returns MOVED, or
 * returns ALREADY (*mv the earlier move) or NOT_ALLOWED. */
typedef aw_event_verdict (*decide_fn)(const aw_event_ctx *c, const aw_event *e,
                                      const void *ud, aw_event_move *mv);

/* Read, decide, arm, compare-and-swap; again after a lost race. */
static aw_status move_event(const aw_event_ctx *c, const char *fingerprint, decide_fn decide,
                            const void *ud, aw_event_result *res, aw_error *err)
{
    memset(res, 0, sizeof(*res));
    aw_state_key k = event_key(c->machine, fingerprint);
    aw_buf text = {0};
    aw_status rc = AW_OK;
    for (;;) {
        uint64_t version;
        if ((rc = read_event(c, &k, &res->event, &version, err)) != AW_OK)
            break;
        res->verdict = decide(c, &res->event, ud, &res->move);
        if (res->verdict != AW_EVENT_MOVED)
            break;
        if ((rc = arm_timeout(c, fingerprint, &res->move, err)) != AW_OK)
            break;
        aw_event next = res->event;
        snprintf(next.state, sizeof(next.state), "%s", res->move.to);
        next.seq = res->move.seq;
        next.entered_at_ms = c->now_ms;
        next.born_ms = res->event.seq == 0 ? c->now_ms : res->event.born_ms;
        memmove(&next.recent[1], &next.recent[0], sizeof(next.recent[0]) * (AW_EVENT_RECENT - 1));
        next.recent[0] = res->move;
        next.n_recent = next.n_recent < AW_EVENT_RECENT ? next.n_recent + 1 : AW_EVENT_RECENT;
        aw_buf_reset(&text);
        if (aw_event_write(&next, &text)) {
            rc = aw_error_set(err, AW_NOMEM, "event %s/%s: out of memory", c->machine->name,
                              fingerprint);
            break;
        }
        uint64_t current;
        rc = aw_state_compare_and_swap(c->state, &k, version, text.data, text.len,
                                       c->machine->retention_s * 1000, &current, err);
        if (rc == AW_OK) {
            res->event = next;
            break;
        }
        if (rc != AW_CONFLICT)
            break;
        if (++res->conflicts >= AW_EVENT_MAX_RACES) {
            rc = aw_error_set(err, AW_CONFLICT, "event %s/%s: %d moves lost a race in a row",
                              c->machine->name, fingerprint, res->conflicts);
            err->retriable = true;
            break;
        }
    }
    aw_buf_free(&text);
    return rc;
}

typedef struct action_move {
    const char *on;
    const char *identity;
    uint64_t token;
} action_move;

static const aw_machine_transition *transition_of(const aw_machine_config *m, const char *from,
                                                  const char *on)
{
    for (size_t i = 0; i < m->n_transitions; i++) {
        const aw_machine_transition *t = &m->transitions[i];
        if (strcmp(t->on, on) != 0)
            continue;
        for (size_t f = 0; f < t->n_from; f++)
            if (strcmp(t->from[f], from) == 0)
                return t;
    }
    return NULL;
}

static void make_move(aw_event_move *mv, const char *identity, uint64_t token, const aw_event *e,
                      const char *to)
{
    memset(mv, 0, sizeof(*mv));
    snprintf(mv->identity, sizeof(mv->identity), "%s", identity);
    mv->token = token;
    snprintf(mv->from, sizeof(mv->from), "%s", e->state);
    snprintf(mv->to, sizeof(mv->to), "%s", to);
    mv->seq = e->seq + 1;
}

static aw_event_verdict decide_action(const aw_event_ctx *c, const aw_event *e, const void *ud,
                                      aw_event_move *mv)
{
    const action_move *a = ud;
    for (int i = 0; i < e->n_recent; i++)
        if (strcmp(e->recent[i].identity, a->identity) == 0) {
            *mv = e->recent[i];
            return AW_EVENT_ALREADY;
        }
    const aw_machine_transition *t = transition_of(c->machine, e->state, a->on);
    if (!t)
        return AW_EVENT_NOT_ALLOWED;
    make_move(mv, a->identity, a->token, e, t->to);
    return AW_EVENT_MOVED;
}

aw_status aw_event_apply(const aw_event_ctx *c, const char *fingerprint, const char *on,
                         const char *identity, uint64_t token, aw_event_result *res,
                         aw_error *err)
{
    action_move a = {on, identity, token};
    return move_event(c, fingerprint, decide_action, &a, res, err);
}

typedef struct timeout_move {
    const char *state;
    int64_t seq;
} timeout_move;

static aw_event_verdict decide_timeout(const aw_event_ctx *c, const aw_event *e, const void *ud,
                                       aw_event_move *mv)
{
    const timeout_move *t = ud;
    for (int i = 0; i < e->n_recent; i++)
        if (e->recent[i].seq == t->seq + 1 &&
            strcmp(e->recent[i].identity, AW_EVENT_TIMEOUT_IDENTITY) == 0 &&
            strcmp(e->recent[i].from, t->state) == 0) {
            *mv = e->recent[i];
            return AW_EVENT_ALREADY;
        }
    const aw_machine_timeout *to = aw_event_timeout_of(c->machine, t->state);
    /* Moved on, expired (read back as a fresh event), or the timeout was
     * removed from the configuration since it was armed. */
    if (!to || e->seq != t->seq || strcmp(e->state, t->state) != 0)
        return AW_EVENT_NOT_ALLOWED;
    make_move(mv, AW_EVENT_TIMEOUT_IDENTITY, 0, e, to->to);
    return AW_EVENT_MOVED;
}

aw_status aw_event_time_out(const aw_event_ctx *c, const char *fingerprint, const char *state,
                            int64_t seq, aw_event_result *res, aw_error *err)
{
    timeout_move t = {state, seq};
    return move_event(c, fingerprint, decide_timeout, &t, res, err);
}
