/* Provider "log": writes one info line per action and always succeeds. Used
 * by `acteon-worker dev` and for smoke tests. The payload is never logged: it
 * may hold secrets, and the log is not an audit trail. */
#include "worker/provider.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_log.h"

/* Immutable after create; shared by all threads, so a session is just the
 * provider itself. */
typedef struct log_provider {
    char *name;
} log_provider;

static aw_status log_create(const aw_provider_config *cfg, void **provider, aw_error *err)
{
    *provider = NULL;
    log_provider *p = calloc(1, sizeof(*p));
    if (!p)
        goto nomem;
    p->name = strdup(cfg && cfg->name ? cfg->name : "log");
    if (!p->name)
        goto nomem;
    *provider = p;
    return AW_OK;
nomem:
    free(p);
    return aw_error_set(err, AW_NOMEM, "out of memory");
}

static void log_destroy(void *provider)
{
    log_provider *p = provider;
    if (!p)
        return;
    free(p->name);
    free(p);
}

static aw_status log_session_open(void *provider, void **session, aw_error *err)
{
    (void)err;
    *session = provider;
    return AW_OK;
}

static void log_session_close(void *session) { (void)session; }

/* Copy s into out with control characters replaced: the schema already
 * refuses them in ids, but a text log line must never be splittable by a
 * value that slipped through. */
static const char *log_safe(const char *s, char *out, size_t outsz)
{
    size_t o = 0;
    for (; s && *s && o + 1 < outsz; s++) {
        unsigned char c = (unsigned char)*s;
        out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[o] = '\0';
    return s ? out : "-";
}

static aw_status log_execute(void *session, const aw_provider_call *call,
                             aw_provider_result *res, aw_error *err)
{
    const log_provider *p = session;
    const aw_action *a = call->action;
    memset(res, 0, sizeof(*res));
    if (!a)
        return aw_error_set(err, AW_INTERNAL, "log provider: call without action");

    char ns[AW_ACTION_MAX_NAME_LEN + 1], tenant[AW_ACTION_MAX_NAME_LEN + 1];
    char type[AW_ACTION_MAX_NAME_LEN + 1], id[AW_ACTION_MAX_ID_LEN + 1];
    AW_INFO("provider.log",
            "provider=%s namespace=%s tenant=%s id=%s action_type=%s fencing_token=%" PRIu64
            " attempt=%d",
            p->name, log_safe(a->ns, ns, sizeof(ns)), log_safe(a->tenant, tenant, sizeof(tenant)),
            log_safe(a->id, id, sizeof(id)), log_safe(a->action_type, type, sizeof(type)),
            call->fencing_token, call->attempt);
    res->ok = true;
    return AW_OK;
}

const aw_provider_driver aw_provider_log_driver = {
    .type = "log",
    .create = log_create,
    .destroy = log_destroy,
    .session_open = log_session_open,
    .session_close = log_session_close,
    .execute = log_execute,
};
