#include "worker/chain_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_buf.h"
#include "common/aw_chain_template.h"
#include "common/aw_log.h"
#include "worker/chain_state.h"

/* The source offset of a step's job (its claim's "same message" test) and
 * of the end's: distinct per run of a step. */
#define END_OFFSET 100000000
static int64_t step_offset(int step, int attempt)
{
    return (int64_t)step * 1000 + attempt;
}

static const char *str_of(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The run's job from its action (a JSON object, consumed): NULL when out
 * of memory; a rejected job is the caller's to judge. */
static aw_job *job_of(const aw_config *cfg, const char *chain_id, json_t *action, int64_t offset,
                      char *record_id)
{
    char *text = action ? json_dumps(action, JSON_COMPACT) : NULL;
    json_decref(action);
    aw_job *j = text ? aw_job_new_scheduled(AW_CHAIN_NS, -1, offset, text, strlen(text),
                                            (size_t)cfg->ingest.max_message_bytes)
                     : NULL;
    free(text);
    if (j) {
        j->record_id = record_id;
        /* The record's own (audit search --chain); NULL when out of
         * memory: the record goes without it. */
        j->record.chain_id = strdup(chain_id);
    } else {
        free(record_id);
    }
    return j;
}

/* A run's name: fmt with a and b ("<chain id>:<step>" and the like), then
 * "#<n>" for the n-th run of a step (n > 1); NULL when out of memory. */
static char *run_name(const char *fmt, const char *a, const char *b, int n)
{
    aw_buf out = {0};
    if (aw_buf_printf(&out, fmt, a, b) || (n > 1 && aw_buf_printf(&out, "#%d", n))) {
        aw_buf_free(&out);
        return NULL;
    }
    return aw_buf_steal(&out);
}

/* The scope templates read (common/aw_chain_template.h): the latest run of
 * each step counts. */
static json_t *scope_of(const aw_chain_config *c, const char *id, const json_t *doc)
{
    json_t *steps = json_object();
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(doc, "steps"), i, run)
    {
        const json_t *res = json_object_get(run, "result");
        json_object_set_new(steps, str_of(run, "step"),
                            json_pack("{s:s, s:O}", "outcome", str_of(run, "outcome"), "result",
                                      res ? res : json_null()));
    }
    return json_pack("{s:O, s:o, s:{s:s, s:s}}", "action", json_object_get(doc, "trigger"),
                     "steps", steps, "chain", "id", id, "name", c->name);
}

/* Book a run without a job (its payload could not be made) and write it. */
static aw_chain_next book_unrun(const aw_chain_config *c, aw_state_session *s, const char *id,
                                json_t *doc, uint64_t version, int step, int attempt,
                                const char *why, int64_t now_ms, aw_metrics *m)
{
    AW_WARN("scheduler", "chain %s/%s: step %s not run: %s", c->name, id, c->steps[step].name,
            why);
    const char *st = aw_chain_book(c, doc, step, attempt, "failed", NULL, NULL, why, now_ms);
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = aw_chain_write(s, c, id, doc, version, &err);
    if (rc == AW_CONFLICT) /* booked meanwhile: take it again to see */
        return AW_CHAIN_AGAIN;
    if (rc != AW_OK) {
        if (!err.retriable)
            AW_WARN("scheduler", "chain %s/%s: booking a step: %s (tried again)", c->name, id,
                    err.msg);
        return AW_CHAIN_RETRY;
    }
    atomic_fetch_add(&m->chain_steps, 1);
    if (strcmp(st, "failed") == 0)
        atomic_fetch_add(&m->chains_failed, 1);
    else if (strcmp(st, "completed") == 0)
        atomic_fetch_add(&m->chains_completed, 1);
    return AW_CHAIN_AGAIN;
}

static aw_chain_next step_job(const aw_config *cfg, const aw_chain_config *c, aw_state_session *s,
                              const char *id, json_t *doc, uint64_t version, int64_t now_ms,
                              aw_metrics *m, aw_job **job)
{
    int step = (int)json_integer_value(json_object_get(doc, "next"));
    int attempt = (int)json_integer_value(json_object_get(doc, "attempt"));
    if (step < 0 || step >= (int)c->n_steps || attempt < 1)
        return AW_CHAIN_DROP; /* not a record this build wrote */
    const aw_chain_step_config *st = &c->steps[step];
    const json_t *trigger = json_object_get(doc, "trigger");
    json_t *scope = scope_of(c, id, doc);
    aw_buf payload = {0};
    char why[256] = "";
    int rc = scope ? aw_chain_template_render(st->payload_template, scope, &payload, why,
                                              sizeof(why))
                   : -2;
    json_decref(scope);
    if (rc == -1) {
        aw_buf_free(&payload);
        return book_unrun(c, s, id, doc, version, step, attempt, why, now_ms, m);
    }
    json_t *p = rc == 0 ? json_loadb(payload.data, payload.len, 0, NULL) : NULL;
    aw_buf_free(&payload);
    char *action_id = run_name("%s:%s", id, st->name, attempt);
    json_t *action = p && action_id
                         ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", action_id,
                                     "namespace", str_of(trigger, "namespace"), "tenant",
                                     str_of(trigger, "tenant"), "provider", st->provider,
                                     "action_type", st->action_type, "payload", p)
                         : (json_decref(p), NULL);
    free(action_id);
    aw_job *j = job_of(cfg, id, action, step_offset(step, attempt),
                       run_name("chain:%s:%s", id, st->name, attempt));
    if (!j)
        return AW_CHAIN_RETRY;
    if (j->rejected) {
        snprintf(why, sizeof(why), "%s", j->reject.detail);
        aw_job_free(j);
        return book_unrun(c, s, id, doc, version, step, attempt, why, now_ms, m);
    }
    j->chain_part = AW_JOB_CHAIN_STEP;
    j->chain_step = step;
    j->chain_attempt = attempt;
    j->answer_max = (size_t)c->result_max_bytes;
    if (!(j->answer = calloc(1, sizeof(*j->answer)))) {
        aw_job_free(j);
        return AW_CHAIN_RETRY;
    }
    *job = j;
    return AW_CHAIN_JOB;
}

static aw_chain_next end_job(const aw_config *cfg, const aw_chain_config *c, const char *id,
                             const json_t *doc, aw_job **job)
{
    const json_t *trigger = json_object_get(doc, "trigger");
    bool ok = strcmp(str_of(doc, "status"), "completed") == 0;
    json_t *runs = json_array();
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(doc, "steps"), i, run)
    {
        json_array_append_new(runs, json_pack("{s:s, s:O?, s:s}", "step", str_of(run, "step"),
                                              "attempt", json_object_get(run, "attempt"),
                                              "outcome", str_of(run, "outcome")));
    }
    json_t *details = json_pack("{s:{s:s, s:s, s:s}, s:o}", "chain", "id", id, "name", c->name,
                                "status", ok ? "completed" : "failed", "steps", runs);
    char *dtext = details ? json_dumps(details, JSON_COMPACT) : NULL;
    json_decref(details);
    char *action_id = run_name("%s:%s", id, "end", 1);
    const json_t *reply_to = json_object_get(trigger, "reply_to");
    json_t *action =
        action_id ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "id", action_id,
                              "namespace", str_of(trigger, "namespace"), "tenant",
                              str_of(trigger, "tenant"), "provider", "chain", "action_type",
                              "chain_end", "payload", "chain", c->name, "id", id)
                  : NULL;
    /* The trigger's: the chain's reply goes where it asked, with its
     * metadata (a consumer correlates the end with the trigger). */
    if (action && reply_to)
        json_object_set(action, "reply_to", (json_t *)reply_to);
    const json_t *metadata = json_object_get(trigger, "metadata");
    if (action && metadata)
        json_object_set(action, "metadata", (json_t *)metadata);
    free(action_id);
    aw_job *j = dtext ? job_of(cfg, id, action, END_OFFSET, run_name("chain:%s:%s", id, "end", 1))
                      : (json_decref(action), NULL);
    if (!j || j->rejected) {
        if (j)
            AW_ERROR("scheduler", "chain %s/%s: its end cannot be recorded: %s", c->name, id,
                     j->reject.detail);
        aw_job_free(j);
        free(dtext);
        return j ? AW_CHAIN_DROP : AW_CHAIN_RETRY;
    }
    j->chain_part = AW_JOB_CHAIN_END;
    j->preset_details = dtext;
    j->preset_outcome = ok ? AW_OUTCOME_CHAIN_COMPLETED : AW_OUTCOME_CHAIN_FAILED;
    *job = j;
    return AW_CHAIN_JOB;
}

aw_chain_next aw_chain_next_job(const aw_config *cfg, aw_state_session *s, const aw_due_item *it,
                                int64_t now_ms, aw_metrics *metrics, aw_job **job)
{
    *job = NULL;
    const aw_chain_config *c = aw_config_chain(cfg, it->tenant);
    if (!c) {
        AW_WARN("scheduler", "chain %s/%s: no such chain (any more): removed", it->tenant,
                it->id);
        return AW_CHAIN_DROP;
    }
    json_t *doc = NULL;
    uint64_t version = 0;
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = aw_chain_read(s, c->name, it->id, &doc, &version, &err);
    if (rc == AW_NOT_FOUND || rc == AW_PERMANENT) {
        AW_WARN("scheduler", "chain %s/%s: %s: removed", c->name, it->id,
                rc == AW_NOT_FOUND ? "no record (expired)" : err.msg);
        return AW_CHAIN_DROP;
    }
    if (rc != AW_OK)
        return AW_CHAIN_RETRY;
    aw_chain_next next = strcmp(str_of(doc, "status"), "running") == 0
                             ? step_job(cfg, c, s, it->id, doc, version, now_ms, metrics, job)
                             : end_job(cfg, c, it->id, doc, job);
    json_decref(doc);
    return next;
}

/* The step's result and error from its details (its own, or its done
 * record's when the claim found it done). */
static json_t *details_of(const aw_job *j)
{
    json_t *d = j->record.details ? json_loads(j->record.details, 0, NULL) : NULL;
    return d ? d : json_object();
}

aw_chain_next aw_chain_settle(const aw_config *cfg, aw_state_session *s, const aw_due_item *it,
                              const aw_job *j, int64_t now_ms, aw_metrics *metrics)
{
    if (j->chain_part == AW_JOB_CHAIN_END)
        return AW_CHAIN_DROP;
    const aw_chain_config *c = aw_config_chain(cfg, it->tenant);
    if (!c)
        return AW_CHAIN_DROP;
    json_t *details = details_of(j);
    aw_chain_next next = AW_CHAIN_RETRY;
    for (int race = 0; race < AW_CHAIN_MAX_RACES; race++) {
        json_t *doc = NULL;
        uint64_t version = 0;
        aw_error err;
        aw_error_clear(&err);
        aw_status rc = aw_chain_read(s, c->name, it->id, &doc, &version, &err);
        if (rc != AW_OK) {
            next = rc == AW_NOT_FOUND || rc == AW_PERMANENT ? AW_CHAIN_DROP : AW_CHAIN_RETRY;
            break;
        }
        if (strcmp(str_of(doc, "status"), "running") != 0 ||
            json_integer_value(json_object_get(doc, "next")) != j->chain_step ||
            json_integer_value(json_object_get(doc, "attempt")) != j->chain_attempt) {
            json_decref(doc); /* booked by an earlier holder */
            next = AW_CHAIN_AGAIN;
            break;
        }
        const char *error = json_string_value(json_object_get(details, "error"));
        const char *st = aw_chain_book(c, doc, j->chain_step, j->chain_attempt,
                                       aw_outcome_name(j->record.outcome),
                                       json_object_get(details, "result"), j->record.record_id,
                                       error, now_ms);
        rc = aw_chain_write(s, c, it->id, doc, version, &err);
        json_decref(doc);
        if (rc == AW_CONFLICT)
            continue;
        if (rc != AW_OK) { /* an outage is the state backend's health to say */
            if (err.retriable)
                AW_DEBUG("scheduler", "chain %s/%s: booking a step: %s", c->name, it->id,
                         err.msg);
            else
                AW_WARN("scheduler", "chain %s/%s: booking a step: %s (tried again)", c->name,
                        it->id, err.msg);
            break;
        }
        atomic_fetch_add(&metrics->chain_steps, 1);
        if (strcmp(st, "completed") == 0)
            atomic_fetch_add(&metrics->chains_completed, 1);
        else if (strcmp(st, "failed") == 0)
            atomic_fetch_add(&metrics->chains_failed, 1);
        next = AW_CHAIN_AGAIN;
        break;
    }
    json_decref(details);
    return next;
}
