#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/aw_log.h"
#include "config/config.h"
#include "worker/cli.h"
#include "worker/runtime.h"

const char *aw_cli_log_level = NULL;
const char *aw_cli_log_format = NULL;

/* The runtime the signal handler stops. Written before the handlers are
 * installed, read only by the handler. */
static aw_runtime *volatile g_signal_target;

static void on_signal(int sig)
{
    (void)sig;
    aw_runtime *rt = g_signal_target;
    if (rt)
        aw_runtime_stop(rt);
}

void aw_cli_handle_signals(struct aw_runtime *rt)
{
    g_signal_target = rt;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
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
