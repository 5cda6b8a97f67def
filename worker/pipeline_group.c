/* Group rules in the pipeline (docs/rules.md, "group"): a member joins its
 * group (worker/group_state.h) and executes nothing itself; the group
 * executes later, once, as one call (worker/group_flush.h).
 *
 * After the claim, only for items whose claim was ACQUIRED (a DONE claim is
 * answered from its done record: a redelivered member is never added
 * again, nor judged again): one aw_group_join_many per rule and key of the
 * batch, its members in batch order (one compare-and-swap for as many as
 * fit the open group), retried through lost races and outages. Joined (or found joined by an
 * earlier attempt that crashed before its done record): outcome grouped,
 * and a done record like an executed action's, written by the execute step
 * after the join is durable, before the offset is committed. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "worker/group_state.h"
#include "worker/outcome_details.h"
#include "worker/pipeline_internal.h"

/* The members of one batch with one rule and key: joined together (one
 * compare-and-swap for as many as fit the open group). */
typedef struct join_call {
    aw_group_ctx ctx;
    const char *key;
    size_t n;
    item **items;
    aw_group_member *members;
    aw_group_joined *res;
    aw_buf *identities;
} join_call;

static aw_status call_join(aw_state_session *s, void *items, size_t n, aw_error *err)
{
    (void)n; /* one join_call per call */
    join_call *c = items;
    c->ctx.state = s;
    for (size_t i = 0; i < c->n; i++)
        aw_group_joined_clear(&c->res[i]);
    return aw_group_join_many(&c->ctx, c->key, c->members, c->n, c->res, err);
}

static void joined(batch *b, item *it, const aw_group_joined *res)
{
    const aw_rule_config *r = it->group;
    aw_rule_counters *rc = aw_pipeline_rule_counters(b, r);
    if (rc && !res->already) {
        atomic_fetch_add(&rc->grouped, 1);
        if (res->opened)
            atomic_fetch_add(&rc->groups_opened, 1);
    }
    aw_buf_reset(&it->details);
    if (aw_details_grouped(&it->details, r->name, res->group_id, res->size, res->flush_at_ms,
                           res->already))
        aw_buf_reset(&it->details);
    size_t idlen = strlen(res->group_id);
    char *id = aw_scratch_calloc(&b->p->scratch, idlen + 1, 1);
    if (id) /* out of memory: the record goes without its group_id */
        it->group_id = memcpy(id, res->group_id, idlen);
    it->outcome = AW_OUTCOME_GROUPED;
    it->applied = r;
    it->provider = -1;
    it->finished = true;
    /* The done record is written by the execute step, as for an executed
     * item: every delivery of the identity then gets this answer. */
    it->executed = true;
    it->answered_us = aw_mono_now_us();
}

/* Acquired claims only (as for state machines), not joined yet. */
static bool to_join(const item *it)
{
    return it->group && !it->finished && it->provider >= 0 && it->token && !it->group_id;
}

/* Join items[first] and every later item of the batch with its rule and
 * key, in batch order. */
static bool join_key(batch *b, size_t first)
{
    const item *lead = &b->items[first];
    aw_scratch *sc = &b->p->scratch;
    size_t n = 0;
    for (size_t i = first; i < b->n; i++)
        n += to_join(&b->items[i]) && b->items[i].group == lead->group &&
             strcmp(b->items[i].group_key, lead->group_key) == 0;
    join_call c = {.ctx = {.rule = lead->group,
                           .pool = b->ctx->cfg->kafka.group_id,
                           .now_ms = aw_time_now_ms()},
                   .key = lead->group_key,
                   .items = aw_scratch_calloc(sc, n, sizeof(*c.items)),
                   .members = aw_scratch_calloc(sc, n, sizeof(*c.members)),
                   .res = aw_scratch_calloc(sc, n, sizeof(*c.res)),
                   .identities = aw_scratch_calloc(sc, n, sizeof(*c.identities))};
    if (!c.items || !c.members || !c.res || !c.identities)
        return false;
    bool ok = true;
    for (size_t i = first; ok && i < b->n; i++) {
        item *it = &b->items[i];
        if (!to_join(it) || it->group != lead->group || strcmp(it->group_key, lead->group_key))
            continue;
        const aw_action *a = &it->job->action;
        ok = aw_action_identity(a, &c.identities[c.n]) == 0;
        c.items[c.n] = it;
        c.members[c.n] = (aw_group_member){.action_id = a->id,
                                           .identity = c.identities[c.n].data,
                                           .record_id = it->job->record.record_id,
                                           .payload = a->payload,
                                           .payload_len = a->payload_len,
                                           .provider = a->provider,
                                           .action_type = a->action_type};
        c.n++;
    }
    ok = ok && aw_pipeline_with_retry(b->p,
                                      &(aw_call_site){"group join",
                                                      &b->ctx->metrics.state_retries,
                                                      &b->ctx->metrics.group_join_ms},
                                      call_join, &c, 1);
    for (size_t i = 0; i < c.n; i++) {
        if (ok)
            joined(b, c.items[i], &c.res[i]);
        aw_group_joined_clear(&c.res[i]);
        aw_buf_free(&c.identities[i]);
    }
    return ok;
}

bool aw_pipeline_group(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (to_join(&b->items[i]) && !join_key(b, i))
            return false;
    return true;
}

char *aw_pipeline_group_record_id(const item *it, const char *details)
{
    if (!it->group || it->applied != it->group)
        return NULL;
    if (it->group_id)
        return strdup(it->group_id);
    /* Redelivered (answered from its done record): the details say. */
    json_t *d = details ? json_loads(details, 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(json_object_get(d, "group"), "id"));
    char *out = id ? strdup(id) : NULL;
    json_decref(d);
    return out;
}
