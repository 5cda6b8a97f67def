/* acteon-worker migrate -c FILE: bring the schemas of the configured
 * backends up to date. The worker (run) never does this itself: a backend
 * whose schema is missing or old refuses to start and names this command.
 *
 * Each step is a backend interface with an optional migrate slot (NULL:
 * nothing to manage, e.g. memory or Redis): the state backend, then the
 * audit backend (when audit is enabled). Every backend's migrate is
 * idempotent and safe to run concurrently, so a deploy job may run this on
 * every replica. */
#include <stdio.h>
#include <string.h>

#include "backends/audit/audit.h"
#include "backends/state/state.h"
#include "common/aw_log.h"
#include "config/config.h"
#include "worker/cli.h"
#include "worker/backend_options.h"

typedef struct migrate_step {
    const char *what;    /* "state" */
    /* Run the step; *name receives the backend name, *applied the number of
     * migrations applied, *none = true when the backend has no schema. */
    aw_status (*run)(const aw_config *cfg, const char **name, int *applied, bool *none,
                     aw_error *err);
} migrate_step;

static aw_status migrate_state(const aw_config *cfg, const char **name, int *applied,
                               bool *none, aw_error *err)
{
    *name = cfg->state.backend;
    const aw_state_driver *d = aw_state_driver_find(cfg->state.backend);
    if (!d)
        return aw_error_set(err, AW_CONFIG, "state.backend: unknown backend \"%s\" (valid: %s)",
                            cfg->state.backend, aw_state_driver_names());
    if (!d->migrate) {
        *none = true;
        return AW_OK;
    }
    aw_state_options so = aw_state_options_from_config(cfg);
    return d->migrate(&so, applied, err);
}

static aw_status migrate_audit(const aw_config *cfg, const char **name, int *applied,
                               bool *none, aw_error *err)
{
    *name = cfg->audit.backend;
    if (!cfg->audit.enabled) {
        *name = "(disabled)";
        *none = true;
        return AW_OK;
    }
    const aw_audit_driver *d = aw_audit_driver_find(cfg->audit.backend);
    if (!d)
        return aw_error_set(err, AW_CONFIG, "audit.backend: unknown backend \"%s\" (valid: %s)",
                            cfg->audit.backend, aw_audit_driver_names());
    if (!d->migrate) {
        *none = true;
        return AW_OK;
    }
    aw_audit_options ao = aw_audit_options_from_config(cfg);
    return d->migrate(&ao, applied, err);
}

static const migrate_step steps[] = {
    {"state", migrate_state},
    {"audit", migrate_audit},
};

static int migrate_usage(FILE *out)
{
    fprintf(out, "usage: acteon-worker migrate -c FILE\n"
                 "  Create or update the schema of the configured backends (state, then\n"
                 "  audit). Forward-only and idempotent: a second run applies nothing;\n"
                 "  concurrent runs are safe. `run` never migrates by itself.\n");
    return out == stdout ? 0 : 2;
}

int aw_cmd_migrate(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return migrate_usage(stdout);
        else {
            fprintf(stderr, "acteon-worker migrate: unexpected argument \"%s\"\n", argv[i]);
            return migrate_usage(stderr);
        }
    }
    if (!file)
        return migrate_usage(stderr);
    aw_config *cfg = NULL;
    int code = aw_cli_load_config(file, &cfg);
    if (code)
        return code;
    aw_error err;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && code == 0; i++) {
        const char *name = "";
        int applied = 0;
        bool none = false;
        aw_error_clear(&err);
        aw_status rc = steps[i].run(cfg, &name, &applied, &none, &err);
        if (rc != AW_OK) {
            fprintf(stderr, "acteon-worker migrate: %s backend %s: %s\n", steps[i].what, name,
                    err.msg);
            code = rc == AW_CONFIG ? 2 : 1;
        } else if (none) {
            printf("%s backend %s: no schema to migrate\n", steps[i].what, name);
        } else if (applied == 0) {
            printf("%s backend %s: schema up to date, nothing to apply\n", steps[i].what, name);
        } else {
            printf("%s backend %s: %d migration(s) applied\n", steps[i].what, name, applied);
        }
    }
    aw_config_destroy(cfg);
    return code;
}
