#include "suite_util.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/state/state_backend.h"
#include "common/aw_clock.h"

const char *aw_ct_server_url(const char *var)
{
    const char *url = getenv(var);
    if (url && *url)
        return url;
    printf("SKIP: %s is not set (scripts/test-servers.sh start DIR, then source DIR/env)\n",
           var);
    return NULL;
}

void aw_ct_random_hex(char *out, size_t outsz, const char *label)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)aw_time_now_ms() ^ (uint64_t)getpid();
    snprintf(out, outsz, "%s%016" PRIx64, label, r);
}

void aw_ct_run_prefix(char *out, size_t outsz)
{
    aw_ct_random_hex(out, outsz - 1, "awtest-");
    strcat(out, ":");
}

aw_state *aw_ct_state_new(const char *backend, const aw_state_options *o)
{
    aw_state *st = NULL;
    aw_error err = {0};
    aw_status rc = aw_state_new(backend, o, &st, &err);
    if (rc != AW_OK)
        fail_msg("aw_state_new(%s): %s (%s)", backend, aw_status_name(rc), err.msg);
    return st;
}

aw_state_session *aw_ct_state_session(aw_state *st)
{
    aw_state_session *ss = NULL;
    aw_error err = {0};
    aw_status rc = aw_state_session_open(st, &ss, &err);
    if (rc != AW_OK)
        fail_msg("session_open: %s (%s)", aw_status_name(rc), err.msg);
    return ss;
}

aw_state_key aw_ct_key(const char *ns, const char *kind, const char *id)
{
    return (aw_state_key){.ns = ns, .tenant = "tenant", .kind = kind, .id = id};
}

aw_status aw_ct_state_migrate(const char *backend, const char *url, int *applied,
                              aw_error *err)
{
    const aw_state_driver *d = aw_state_driver_find(backend);
    if (!d || !d->migrate)
        return aw_error_set(err, AW_CONFIG, "no migrate slot in state backend %s", backend);
    aw_state_options o = {.url = url};
    return d->migrate(&o, applied, err);
}

aw_audit_session *aw_ct_audit_session(aw_audit *a)
{
    aw_audit_session *s = NULL;
    aw_error err = {0};
    aw_status rc = aw_audit_session_open(a, &s, &err);
    if (rc != AW_OK)
        fail_msg("session_open: %s (%s)", aw_status_name(rc), err.msg);
    return s;
}
