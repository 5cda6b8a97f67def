#include "worker/group_flush.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_json_obj.h"
#include "common/aw_log.h"
#include "worker/group_state.h"

static const aw_rule_config *group_rule(const aw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_rules; i++)
        if (strcmp(cfg->rules[i].name, name) == 0 && strcmp(cfg->rules[i].verdict, "group") == 0)
            return &cfg->rules[i];
    return NULL;
}

/* FNV-1a: a stable short name for a group id too long for an action id. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The grouped call as an action message (group_flush.h), and its job. */
static aw_job *flush_job(const aw_config *cfg, const aw_rule_config *r, const aw_group_flush *f)
{
    char hashed[32];
    const char *id = f->group_id;
    if (strlen(id) > AW_ACTION_MAX_ID_LEN) {
        snprintf(hashed, sizeof(hashed), "group:%016" PRIx64, fnv1a(id));
        id = hashed;
    }
    aw_buf msg = {0}, details = {0};
    aw_json_obj o;
    aw_json_obj_begin(&o, &msg);
    aw_json_obj_cstr(&o, "id", id);
    aw_json_obj_cstr(&o, "namespace", AW_GROUP_NS);
    aw_json_obj_cstr(&o, "tenant", r->name);
    aw_json_obj_cstr(&o, "provider", f->provider);
    aw_json_obj_cstr(&o, "action_type", f->action_type);
    aw_json_obj_raw(&o, "payload", f->payload);
    int rc = aw_json_obj_end(&o);
    aw_json_obj_begin(&o, &details);
    aw_json_obj_cstr(&o, "id", f->group_id);
    aw_json_obj_int(&o, "size", f->size);
    aw_json_obj_raw(&o, "members", f->member_ids);
    rc |= aw_json_obj_end(&o);
    int64_t max = r->max_bytes + 65536;
    if (max < cfg->ingest.max_message_bytes)
        max = cfg->ingest.max_message_bytes;
    aw_job *j = rc ? NULL
                   : aw_job_new_scheduled(AW_GROUP_NS, -1, f->gen, msg.data, msg.len,
                                          (size_t)max);
    aw_buf rid = {0};
    if (j && !aw_buf_printf(&rid, "group:%s", f->group_id)) {
        /* Its own record, not "<topic>:<partition>:<offset>:run" (every
         * group's generation 1 would share that). */
        j->record_id = aw_buf_steal(&rid);
        j->record.group_id = strdup(f->group_id); /* the record's; NULL: without it */
        j->group_rule = r;
        j->group_details = aw_buf_steal(&details);
    } else if (j) {
        aw_job_free(j);
        j = NULL;
    }
    aw_buf_free(&rid);
    aw_buf_free(&msg);
    aw_buf_free(&details);
    return j;
}

aw_timeout_fired aw_group_flush_fire(const aw_config *cfg, aw_state_session *s,
                                     const aw_due_item *it, int64_t now_ms, aw_metrics *metrics,
                                     aw_job **job, int64_t *retry_at_ms)
{
    *job = NULL;
    const aw_rule_config *r = group_rule(cfg, it->tenant);
    if (!r) {
        AW_WARN("scheduler", "group flush %s/%s: no such group rule (any more): removed",
                it->tenant, it->id);
        return AW_TIMEOUT_DROP;
    }
    aw_group_ctx c = {.state = s, .rule = r, .pool = cfg->kafka.group_id, .now_ms = now_ms};
    aw_group_flush f;
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = aw_group_close(&c, it->id, &f, &err);
    if (rc == AW_NOT_FOUND) {
        int64_t opened = aw_group_flush_value_read(it->value, it->len);
        if (opened >= 0 && now_ms < opened + r->window_ms + AW_GROUP_CREATE_GRACE_MS)
            return AW_TIMEOUT_RETRY; /* its first write may not have landed yet */
        AW_WARN("scheduler", "group %s:%s: no record (expired, or its first member crashed "
                "before writing it): removed", it->tenant, it->id);
        return AW_TIMEOUT_DROP;
    }
    if (rc != AW_OK) {
        AW_DEBUG("scheduler", "group flush %s/%s: %s", it->tenant, it->id, err.msg);
        return AW_TIMEOUT_RETRY;
    }
    if (f.not_before_ms) {
        /* Early: the put of a member about to fill the group, its write
         * not landed yet (or lost, or it crashed): looked at again soon,
         * not only at the window's end. */
        if (f.not_before_ms < *retry_at_ms)
            *retry_at_ms = f.not_before_ms;
        return AW_TIMEOUT_RETRY;
    }
    if (f.closed_now)
        atomic_fetch_add(&metrics->groups_closed, 1);
    aw_job *j = flush_job(cfg, r, &f);
    aw_timeout_fired out = AW_TIMEOUT_RETRY; /* no memory: the group stays closed; again later */
    if (j && j->rejected) { /* a rule name too long for a tenant, say: it can never run */
        AW_ERROR("scheduler", "group %s: the grouped call cannot be an action: %s", f.group_id,
                 j->reject.detail);
        aw_job_free(j);
        out = AW_TIMEOUT_DROP;
    } else if (j) {
        AW_DEBUG("scheduler", "group %s: flushing %" PRId64 " member(s)", f.group_id, f.size);
        *job = j;
        out = AW_TIMEOUT_JOB;
    }
    aw_group_flush_clear(&f);
    return out;
}

int aw_group_flush_details(const aw_job *j, aw_buf *details, size_t start)
{
    aw_json_obj o;
    aw_json_obj_reopen(&o, details, start);
    aw_json_obj_raw(&o, "group", j->group_details ? j->group_details : "{}");
    return aw_json_obj_end(&o);
}
