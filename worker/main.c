/* acteon-worker: a Kafka worker pool that executes actions exactly once
 * per dedup window, with pluggable state and audit backends. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "worker/cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: acteon-worker [--log-level LEVEL] [--log-format text|json] COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  run -c FILE [--brokers B]    consume and execute actions (the service)\n"
            "  dev [--examples FILE]        demo: embedded Kafka, memory backends, sample\n"
            "                               actions; prints each outcome; Ctrl-C to stop\n"
            "  produce -c FILE [--topic T]  send JSON lines from stdin, keyed by identity\n"
            "  config check -c FILE         validate a config, print it (secrets masked)\n"
            "  config reference             list every config key with type and default\n"
            "  migrate -c FILE              create or update the backends' schemas (run never\n"
            "                               does; it refuses to start on a missing schema)\n"
            "  audit search -c FILE [...]   query the audit trail (filters, time range, pages)\n"
            "  replay -c FILE [--topic T]   rebuild audit records from the reply and DLQ\n"
            "                               topics, executing nothing (idempotent)\n"
            "  state get -c FILE --machine M FINGERPRINT\n"
            "                               print an event's state (state_machine rules)\n"
            "  chain get -c FILE ID         print a chain run's progress (chain rules)\n"
            "  group get -c FILE GROUP_ID   print a group and its members (group rules)\n"
            "\n"
            "Every command takes --help. --version prints the version.\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc)
            aw_cli_log_level = argv[++i];
        else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
            aw_cli_log_format = argv[++i];
        else
            break;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    bool version = strcmp(cmd, "version") == 0;
    for (int k = 1; k < argc; k++)
        version = version || strcmp(argv[k], "--version") == 0;
    if (version) {
        printf("acteon-worker %s (librdkafka %s)\n", AW_VERSION, rd_kafka_version_str());
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return aw_cmd_run(sub_argc, sub_argv);
    if (strcmp(cmd, "dev") == 0)
        return aw_cmd_dev(sub_argc, sub_argv);
    if (strcmp(cmd, "produce") == 0)
        return aw_cmd_produce(sub_argc, sub_argv);
    if (strcmp(cmd, "config") == 0)
        return aw_cmd_config(sub_argc, sub_argv);
    if (strcmp(cmd, "migrate") == 0)
        return aw_cmd_migrate(sub_argc, sub_argv);
    if (strcmp(cmd, "audit") == 0)
        return aw_cmd_audit(sub_argc, sub_argv);
    if (strcmp(cmd, "state") == 0)
        return aw_cmd_state(sub_argc, sub_argv);
    if (strcmp(cmd, "chain") == 0)
        return aw_cmd_chain(sub_argc, sub_argv);
    if (strcmp(cmd, "group") == 0)
        return aw_cmd_group(sub_argc, sub_argv);
    if (strcmp(cmd, "replay") == 0)
        return aw_cmd_replay(sub_argc, sub_argv);
    fprintf(stderr, "acteon-worker: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
