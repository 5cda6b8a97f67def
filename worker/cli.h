/* Subcommands of the acteon-worker binary. Each returns the process exit
 * code: 0 success, 1 runtime failure, 2 usage or configuration error. */
#ifndef AW_CLI_H
#define AW_CLI_H

int aw_cmd_run(int argc, char **argv);
int aw_cmd_dev(int argc, char **argv);
int aw_cmd_produce(int argc, char **argv);
int aw_cmd_config(int argc, char **argv);
int aw_cmd_migrate(int argc, char **argv);

/* Shared by the commands: install SIGINT/SIGTERM handlers that stop rt
 * (first signal drains, second exits at once). */
struct aw_runtime;
void aw_cli_handle_signals(struct aw_runtime *rt);

/* Apply the global logging options (--log-level, --log-format) from the
 * config unless the command line set them. */
struct aw_config;
int aw_cli_setup_logging(const struct aw_config *cfg);

/* Set by main from the global options; NULL when not given. */
extern const char *aw_cli_log_level;
extern const char *aw_cli_log_format;

/* Build the runtime from cfg and serve until a signal. brokers overrides
 * the config (NULL: the config's, or the embedded cluster). before_run is
 * called once the runtime exists, with the effective bootstrap. */
#include "worker/runtime.h"
int aw_cli_serve(const aw_config *cfg, const char *brokers, aw_outcome_fn on_outcome, void *ud,
                 int (*before_run)(void *ud, const char *brokers), void *before_ud);

#endif
