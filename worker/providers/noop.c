/* Provider "noop": succeeds at once and writes nothing. For benchmarks, where
 * the pipeline's own cost (claim, complete, audit, commit) is what is
 * measured. Stateless: the provider and its sessions are one static object. */
#include "worker/provider.h"

#include <string.h>

static char g_noop_instance; /* a non-NULL handle; never dereferenced */

static aw_status noop_create(const aw_provider_config *cfg, void **provider, aw_error *err)
{
    (void)cfg;
    (void)err;
    *provider = &g_noop_instance;
    return AW_OK;
}

static void noop_destroy(void *provider) { (void)provider; }

static aw_status noop_session_open(void *provider, void **session, aw_error *err)
{
    (void)err;
    *session = provider;
    return AW_OK;
}

static void noop_session_close(void *session) { (void)session; }

static aw_status noop_execute(void *session, const aw_provider_call *call,
                              aw_provider_result *res, aw_error *err)
{
    (void)session;
    (void)call;
    (void)err;
    memset(res, 0, sizeof(*res));
    res->ok = true;
    return AW_OK;
}

const aw_provider_driver aw_provider_noop_driver = {
    .type = "noop",
    .create = noop_create,
    .destroy = noop_destroy,
    .session_open = noop_session_open,
    .session_close = noop_session_close,
    .execute = noop_execute,
};
