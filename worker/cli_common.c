#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/audit/audit.h"
#include "backends/state/state.h"
#include "common/aw_clock.h"

#include "common/aw_log.h"
#include "config/config.h"
#include "worker/cli.h"
#include "worker/runtime.h"
#include "worker/backend_options.h"

const char *aw_cli_log_level = NULL;
const char *aw_cli_log_format = NULL;

/* The runtime the signal handler stops. Written before the handlers are
 * installed, read only by the handler. */
static aw_runtime *volatile g_signal_target;
/* Start-up (aw_cli_handle_signals_starting until a runtime is the target):
 * the backends may still be connecting (their connect timeouts), and
 * nothing has been consumed, so nothing can be lost: exit at once. */
static volatile sig_atomic_t g_starting;

static void on_signal(int sig)
{
    (void)sig;
    aw_runtime *rt = g_signal_target;
    if (rt) {
        aw_runtime_stop(rt);
        return;
    }
    if (!g_starting)
        return;
    /* Only async-signal-safe calls here. */
    static const char msg[] = "acteon-worker: stop requested during start-up (backends still "
                              "connecting): exiting before consuming anything\n";
    ssize_t rc = write(2, msg, sizeof(msg) - 1);
    (void)rc;
    _exit(0);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void aw_cli_handle_signals_starting(void)
{
    g_starting = 1;
    install();
}

void aw_cli_handle_signals(struct aw_runtime *rt)
{
    g_signal_target = rt;
    g_starting = 0;
    install();
}

int aw_cli_setup_logging(const struct aw_config *cfg)
{
    const char *lvl = aw_cli_log_level ? aw_cli_log_level : (cfg ? cfg->log.level : "info");
    const char *fmt = aw_cli_log_format ? aw_cli_log_format : (cfg ? cfg->log.format : "text");
    aw_log_level level;
    aw_log_format format;
    if (aw_log_level_parse(lvl, &level)) {
        fprintf(stderr, "acteon-worker: --log-level: unknown level \"%s\" "
                        "(debug, info, warn, error)\n", lvl);
        return -1;
    }
    if (aw_log_format_parse(fmt, &format)) {
        fprintf(stderr, "acteon-worker: --log-format: unknown format \"%s\" (text, json)\n", fmt);
        return -1;
    }
    aw_log_init(level, format, 2);
    return 0;
}

int aw_cli_load_config(const char *file, aw_config **cfg)
{
    aw_error err;
    aw_error_clear(&err);
    *cfg = NULL;
    if (aw_config_load_file(file, cfg, &err) != AW_OK) {
        fprintf(stderr, "acteon-worker: %s\n", err.msg);
        return 2;
    }
    if (aw_cli_setup_logging(*cfg)) {
        aw_config_destroy(*cfg);
        *cfg = NULL;
        return 2;
    }
    return 0;
}

int aw_cli_parse_time(const char *s, int64_t now_ms, int64_t *ms)
{
    if (!s || !*s)
        return -1;
    if (aw_time_parse_rfc3339(s, ms) == 0)
        return 0;
    errno = 0;
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || n < 0 || end[0] == '\0' || end[1] != '\0')
        return -1;
    long long unit;
    switch (end[0]) {
    case 's': unit = 1000; break;
    case 'm': unit = 60 * 1000; break;
    case 'h': unit = 3600 * 1000; break;
    case 'd': unit = 24 * 3600 * 1000LL; break;
    default: return -1;
    }
    if (n > now_ms / unit)
        return -1; /* before the epoch */
    *ms = now_ms - n * unit;
    return 0;
}

int aw_cli_open_audit(const char *cmd, const aw_config *cfg, aw_audit **audit,
                      aw_audit_session **session)
{
    *audit = NULL;
    *session = NULL;
    if (!cfg->audit.enabled) {
        fprintf(stderr, "acteon-worker %s: audit.enabled is false in this config\n", cmd);
        return 2;
    }
    if (strcmp(cfg->audit.backend, "memory") == 0) {
        fprintf(stderr, "acteon-worker %s: audit.backend \"memory\" lives inside one worker "
                        "process; configure a shared audit backend (postgres, clickhouse, "
                        "elasticsearch)\n", cmd);
        return 2;
    }
    aw_audit_options ao = aw_audit_options_from_config(cfg);
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = aw_audit_new(cfg->audit.backend, &ao, audit, &err);
    if (rc == AW_OK)
        rc = aw_audit_session_open(*audit, session, &err);
    if (rc != AW_OK) {
        fprintf(stderr, "acteon-worker %s: audit backend %s: %s\n", cmd, cfg->audit.backend,
                err.msg);
        aw_audit_destroy(*audit);
        *audit = NULL;
        return rc == AW_CONFIG ? 2 : 1;
    }
    return 0;
}

int aw_cli_open_state(const char *cmd, const aw_config *cfg, aw_state **state,
                      aw_state_session **session)
{
    *state = NULL;
    *session = NULL;
    aw_state_options so = aw_state_options_from_config(cfg);
    aw_error err;
    aw_error_clear(&err);
    aw_status rc = aw_state_new(cfg->state.backend, &so, state, &err);
    if (rc == AW_OK)
        rc = aw_state_session_open(*state, session, &err);
    if (rc != AW_OK) {
        fprintf(stderr, "acteon-worker %s: state backend %s: %s\n", cmd, cfg->state.backend,
                err.msg);
        if (*state)
            aw_state_destroy(*state);
        *state = NULL;
        return rc == AW_CONFIG ? 2 : 1;
    }
    return 0;
}

int aw_cli_get_args(int argc, char **argv, const char *cmd, const char *opt,
                    const char **file, const char **opt_value, const char **arg)
{
    *file = *arg = NULL;
    if (opt_value)
        *opt_value = NULL;
    if (argc < 2 || strcmp(argv[1], "get") != 0)
        return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
                   ? 1
                   : -1;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            *file = argv[++i];
        else if (opt && strcmp(argv[i], opt) == 0 && i + 1 < argc)
            *opt_value = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        else if (!*arg && argv[i][0] != '-')
            *arg = argv[i];
        else {
            fprintf(stderr, "acteon-worker %s get: unexpected argument \"%s\"\n", cmd, argv[i]);
            return -1;
        }
    }
    return *file && *arg && (!opt || *opt_value) ? 0 : -1;
}
