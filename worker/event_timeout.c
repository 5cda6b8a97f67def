#include "worker/event_timeout.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_log.h"
#include "worker/event_state.h"
#include "worker/outcome_details.h"

bool aw_event_timeouts_configured(const aw_config *cfg)
{
    for (size_t i = 0; i < cfg->n_machines; i++)
        if (cfg->machines[i].n_timeouts)
            return true;
    return false;
}

/* The job of a move made by a timeout (event_timeout.h: its action) in
 * *out: 0, -1 out of memory, -2 it cannot be an action (logged). */
static int timeout_job(const aw_config *cfg, const aw_machine_config *m, const char *fp,
                       const aw_event_result *res, int64_t after_s, aw_job **out)
{
    const aw_event_move *mv = &res->move;
    aw_buf idb = {0};
    if (aw_buf_printf(&idb, "event:%s:%s:%" PRId64 ":%" PRId64, m->name, fp, res->event.born_ms,
                      mv->seq))
        return -1;
    char *id = aw_buf_steal(&idb);
    json_t *msg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:I}}", "id", id,
                            "namespace", AW_EVENT_NS, "tenant", m->name, "provider",
                            "state_machine", "action_type", "timeout", "payload", "machine",
                            m->name, "fingerprint", fp, "from", mv->from, "to", mv->to, "seq",
                            (json_int_t)mv->seq);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    aw_buf details = {0};
    aw_job *j = NULL;
    int rc = -1;
    if (text && aw_details_event_timeout(&details, m->name, fp, mv->from, mv->to, mv->seq,
                                         after_s, res->verdict == AW_EVENT_ALREADY) == 0)
        j = aw_job_new_scheduled(AW_EVENT_NS, -1, mv->seq, text, strlen(text),
                                 (size_t)cfg->ingest.max_message_bytes);
    free(text);
    if (j && !j->rejected) {
        j->record_id = id;
        j->preset_details = aw_buf_steal(&details);
        j->preset_outcome = AW_OUTCOME_STATE_CHANGED;
        j->record.fingerprint = strdup(fp); /* the record's; NULL: without it */
        id = NULL;
        rc = 0;
    } else if (j) { /* a fingerprint too long for an action id, say */
        AW_ERROR("scheduler", "%s: the timeout's move was made but cannot be recorded: %s",
                 id, j->reject.detail);
        aw_job_free(j);
        j = NULL;
        rc = -2;
    }
    free(id);
    aw_buf_free(&details);
    *out = j;
    return rc;
}

aw_timeout_fired aw_event_timeout_fire(const aw_config *cfg, aw_state_session *s,
                                       const aw_due_item *it, int64_t now_ms,
                                       aw_metrics *metrics, aw_job **job)
{
    *job = NULL;
    int64_t seq;
    char state[AW_EVENT_STATE_MAX + 1];
    const char *fp;
    const aw_machine_config *m = aw_config_machine(cfg, it->tenant);
    if (aw_event_timeout_id_read(it->id, &seq, state, sizeof(state), &fp) != 0 || !m) {
        /* Not ours to read, or a machine removed from the configuration
         * since: nothing can fire. */
        AW_WARN("scheduler", "event timeout %s/%s: %s: removed", it->tenant, it->id,
                m ? "not a timeout item" : "no such state machine (any more)");
        return AW_TIMEOUT_DROP;
    }
    const aw_machine_timeout *t = aw_event_timeout_of(m, state);
    aw_event_ctx c = {.state = s, .machine = m, .pool = cfg->kafka.group_id, .now_ms = now_ms};
    aw_event_result res;
    aw_error err;
    aw_error_clear(&err);
    if (aw_event_time_out(&c, fp, state, seq, &res, &err) != AW_OK) {
        AW_DEBUG("scheduler", "event timeout %s/%s: %s", it->tenant, it->id, err.msg);
        return AW_TIMEOUT_RETRY;
    }
    if (res.verdict == AW_EVENT_NOT_ALLOWED)
        return AW_TIMEOUT_DROP;
    if (res.verdict == AW_EVENT_MOVED)
        aw_metrics_count_move(metrics, m, res.move.from, res.move.to);
    int rc = timeout_job(cfg, m, fp, &res, t ? t->after_s : 0, job);
    if (rc == -2)
        return AW_TIMEOUT_DROP;
    if (rc == -1) /* the move stands; its record is made when the item is taken again */
        return AW_TIMEOUT_RETRY;
    AW_DEBUG("scheduler", "event %s/%s: timeout in %s: %s -> %s (seq %" PRId64 ")", m->name, fp,
             state, res.move.from, res.move.to, res.move.seq);
    return AW_TIMEOUT_JOB;
}
