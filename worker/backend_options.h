/* The backend options a config asks for, built in one place for the worker,
 * `migrate`, `audit search` and `replay`. The options borrow the config's
 * strings: keep cfg alive while they are used. */
#ifndef AW_BACKEND_OPTIONS_H
#define AW_BACKEND_OPTIONS_H

#include "backends/audit/audit_types.h"
#include "backends/state/state_types.h"
#include "config/config.h"

static inline aw_state_options aw_state_options_from_config(const aw_config *cfg)
{
    return (aw_state_options){.url = cfg->state.url, .key_prefix = cfg->state.key_prefix};
}

static inline aw_audit_options aw_audit_options_from_config(const aw_config *cfg)
{
    return (aw_audit_options){.url = cfg->audit.url,
                              .retention_ms = cfg->audit.retention_s * 1000,
                              .connect_timeout_ms = cfg->audit.connect_timeout_ms,
                              .request_timeout_ms = cfg->audit.request_timeout_ms};
}

#endif
