#include "worker/chain_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void aw_chain_id(const char *identity, const char *record_id, const char *name,
                 char out[AW_CHAIN_ID_LEN + 1])
{
    /* Two bases and two orders: a 128-bit name, so no two triggers share a
     * chain. */
    const char *parts[3] = {name, identity, record_id};
    uint64_t a = 14695981039346656037ULL, b = 0x84222325cbf29ce4ULL;
    for (int i = 0; i < 3; i++) {
        a = fnv1a(fnv1a(a, parts[i]), "\n");
        b = fnv1a(fnv1a(b, parts[2 - i]), "\n");
    }
    snprintf(out, AW_CHAIN_ID_LEN + 1, "%016" PRIx64 "%016" PRIx64, a, b);
}

static aw_state_key chain_key(const char *name, const char *id)
{
    return (aw_state_key){.ns = AW_CHAIN_NS, .tenant = name, .kind = AW_CHAIN_KIND, .id = id};
}

aw_status aw_chain_read(aw_state_session *s, const char *name, const char *id, json_t **doc,
                        uint64_t *version, aw_error *err)
{
    *doc = NULL;
    aw_state_key k = chain_key(name, id);
    aw_state_value v = {0};
    aw_status rc = aw_state_get(s, &k, &v, err);
    if (rc == AW_OK) {
        *doc = json_loadb(v.data, v.len, 0, NULL);
        *version = v.version;
        if (!json_is_object(*doc) || !json_is_array(json_object_get(*doc, "steps"))) {
            json_decref(*doc);
            *doc = NULL;
            rc = aw_error_set(err, AW_PERMANENT, "chain %s/%s: not a chain record", name, id);
        }
    }
    aw_state_value_clear(&v);
    return rc;
}

aw_status aw_chain_write(aw_state_session *s, const aw_chain_config *c, const char *id,
                         json_t *doc, uint64_t version, aw_error *err)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return aw_error_set(err, AW_NOMEM, "chain %s/%s: out of memory", c->name, id);
    aw_state_key k = chain_key(c->name, id);
    uint64_t current;
    aw_status rc = aw_state_compare_and_swap(s, &k, version, text, strlen(text),
                                             c->retention_s * 1000, &current, err);
    free(text);
    return rc;
}

static aw_status put_due(aw_state_session *s, const aw_chain_config *c, const char *pool,
                         const char *id, int64_t now_ms, aw_error *err)
{
    aw_state_key k = {.ns = pool, .tenant = c->name, .kind = AW_CHAIN_KIND, .id = id};
    aw_status rc = aw_state_due_put(s, &k, now_ms, "1", 1, err);
    /* Leased: a replica is running the chain already. */
    if (rc == AW_CONFLICT) {
        aw_error_clear(err);
        rc = AW_OK;
    }
    return rc;
}

aw_status aw_chain_start(aw_state_session *s, const aw_chain_config *c, const char *pool,
                         const char *id, const char *trigger, size_t len, int64_t now_ms,
                         bool *created, aw_error *err)
{
    *created = false;
    json_t *doc = NULL;
    uint64_t version = 0;
    aw_status rc = aw_chain_read(s, c->name, id, &doc, &version, err);
    if (rc == AW_NOT_FOUND) {
        aw_error_clear(err);
        json_t *action = json_loadb(trigger, len, 0, NULL);
        doc = json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:I, s:I, s:[]}", "chain", c->name, "id",
                        id, "status", "running", "next", 0, "attempt", 1, "trigger",
                        action ? action : json_object(), "started_ms", (json_int_t)now_ms,
                        "updated_ms", (json_int_t)now_ms, "steps");
        if (!doc)
            return aw_error_set(err, AW_NOMEM, "chain %s/%s: out of memory", c->name, id);
        rc = aw_chain_write(s, c, id, doc, 0, err);
        if (rc == AW_OK)
            *created = true;
        else if (rc == AW_CONFLICT) /* made meanwhile by another delivery */
            aw_error_clear(err), rc = AW_OK;
    }
    const char *status = json_string_value(json_object_get(doc, "status"));
    bool ended = rc == AW_OK && !*created && status && strcmp(status, "running") != 0;
    json_decref(doc);
    if (rc != AW_OK || ended)
        return rc;
    return put_due(s, c, pool, id, now_ms, err);
}

/* The run to make after a failed one: another run, on_failure's step, or
 * the end. */
static const char *after_failure(const aw_chain_step_config *st, int step, int attempt, int *next,
                                 int *next_attempt)
{
    if (attempt < st->max_attempts) {
        *next = step;
        *next_attempt = attempt + 1;
        return "running";
    }
    if (st->on_failure_step < 0)
        return "failed";
    *next = st->on_failure_step;
    *next_attempt = 1;
    return "running";
}

const char *aw_chain_book(const aw_chain_config *c, json_t *doc, int step, int attempt,
                          const char *outcome, const json_t *result, const char *record_id,
                          const char *error, int64_t now_ms)
{
    json_t *run = json_pack("{s:s, s:i, s:s, s:O?, s:s?, s:s?}", "step", c->steps[step].name,
                            "attempt", attempt, "outcome", outcome, "result", result,
                            "record_id", record_id, "error", error);
    json_array_append_new(json_object_get(doc, "steps"), run);
    int next = c->steps[step].on_success_step, next_attempt = 1;
    const char *status = "running";
    if (strcmp(outcome, "executed") != 0)
        status = after_failure(&c->steps[step], step, attempt, &next, &next_attempt);
    if (strcmp(status, "running") == 0 && next >= (int)c->n_steps)
        status = "completed";
    json_object_set_new(doc, "status", json_string(status));
    json_object_set_new(doc, "next", json_integer(next));
    json_object_set_new(doc, "attempt", json_integer(next_attempt));
    json_object_set_new(doc, "updated_ms", json_integer(now_ms));
    return strcmp(status, "completed") == 0 ? "completed"
           : strcmp(status, "failed") == 0  ? "failed"
                                            : "running";
}
