#include "common/aw_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
    [AW_OK] = "ok",
    [AW_NOT_FOUND] = "not_found",
    [AW_CONFLICT] = "conflict",
    [AW_TRANSIENT] = "transient",
    [AW_PERMANENT] = "permanent",
    [AW_CONFIG] = "config",
    [AW_NOMEM] = "nomem",
    [AW_INTERNAL] = "internal",
    [AW_UNSUPPORTED] = "unsupported",
};

const char *aw_status_name(aw_status s)
{
    if ((unsigned)s < sizeof(status_names) / sizeof(status_names[0]) && status_names[s])
        return status_names[s];
    return "unknown";
}

aw_status aw_error_set(aw_error *err, aw_status code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->retriable = (code == AW_TRANSIENT);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void aw_error_clear(aw_error *err)
{
    if (!err)
        return;
    err->code = AW_OK;
    err->retriable = false;
    err->msg[0] = '\0';
}
