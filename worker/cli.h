/* Subcommands of the acteon-worker binary. Each returns the process exit
 * code: 0 success, 1 runtime failure, 2 usage or configuration error. */
#ifndef AW_CLI_H
#define AW_CLI_H

#include <stdint.h>

int aw_cmd_run(int argc, char **argv);
int aw_cmd_dev(int argc, char **argv);
int aw_cmd_produce(int argc, char **argv);
int aw_cmd_config(int argc, char **argv);
int aw_cmd_migrate(int argc, char **argv);
int aw_cmd_audit(int argc, char **argv);
int aw_cmd_replay(int argc, char **argv);
int aw_cmd_state(int argc, char **argv);
int aw_cmd_group(int argc, char **argv);

/* Shared by the commands: install SIGINT/SIGTERM handlers that stop rt
 * (first signal drains, second exits at once). NULL: signals are ignored
 * (the runtime is being torn down, bounded). */
struct aw_runtime;
void aw_cli_handle_signals(struct aw_runtime *rt);

/* Before the runtime exists (connecting to the backends can take their
 * connect timeouts): SIGINT/SIGTERM exits at once with status 0 and a
 * line on stderr; nothing was consumed, so nothing is lost. */
void aw_cli_handle_signals_starting(void);

/* Apply the global logging options (--log-level, --log-format) from the
 * config unless the command line set them. */
struct aw_config;
int aw_cli_setup_logging(const struct aw_config *cfg);

/* Load the config file and apply its logging options. Returns 0, or the
 * exit code (2) after printing the problem. *cfg is the caller's. */
int aw_cli_load_config(const char *file, struct aw_config **cfg);

/* A time on the command line: RFC 3339 ("2026-11-25T10:00:00Z") or a
 * duration before now ("90s", "15m", "2h", "7d"). Returns 0 and sets *ms
 * (wall clock), or -1. */
int aw_cli_parse_time(const char *s, int64_t now_ms, int64_t *ms);

/* Open the configured audit backend for a command that reads or writes
 * records from outside the worker (search, replay): refuses a disabled
 * audit and the memory backend, which lives inside one worker process.
 * Returns 0, or the exit code after printing the problem. */
struct aw_audit;
struct aw_audit_session;
int aw_cli_open_audit(const char *cmd, const struct aw_config *cfg, struct aw_audit **audit,
                      struct aw_audit_session **session);

/* Open the configured state backend and a session of it for a command that
 * reads what the workers keep (state get, group get). Returns 0, or the
 * exit code after printing the problem (nothing left open). The caller
 * closes the session, then destroys the backend. */
struct aw_state;
struct aw_state_session;
int aw_cli_open_state(const char *cmd, const struct aw_config *cfg, struct aw_state **state,
                      struct aw_state_session **session);

/* The arguments of "<cmd> get -c FILE [OPT VALUE] ARG" (argv[1] "get"; opt
 * NULL: none, else required): 0 with *file, *opt_value and *arg set
 * (borrowed from argv), 1 when help was asked, -1 for a usage error (an
 * unexpected argument said on stderr). */
int aw_cli_get_args(int argc, char **argv, const char *cmd, const char *opt,
                    const char **file, const char **opt_value, const char **arg);

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
