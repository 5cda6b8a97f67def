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
int aw_cmd_chain(int argc, char **argv);
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

/* Open cfg's state backend and one session of it for command cmd (named in
 * errors): 0, or the exit code after printing the problem (2 for a
 * configuration error, else 1). Both closed by aw_cli_close_state (either
 * may be NULL). */
struct aw_state;
struct aw_state_session;
int aw_cli_open_state(const char *cmd, const struct aw_config *cfg, struct aw_state **st,
                      struct aw_state_session **session);
void aw_cli_close_state(struct aw_state *st, struct aw_state_session *session);

/* The arguments of "CMD get -c FILE [OPTION VALUE] ARG" (state get, chain
 * get; option NULL: none): 0 with *file, *arg and *value set; -1 when help
 * was asked (usage to stdout), -2 when they are wrong (said on stderr when
 * an argument is unexpected; usage to stderr). Strings point into argv. */
int aw_cli_get_args(int argc, char **argv, const char *cmd, const char *option,
                    const char **value, const char **file, const char **arg);

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
