/* acteon-worker group get -c FILE GROUP_ID: print the stored record of one
 * group of a group rule (docs/rules.md, "group"), as the worker stored it
 * (worker/group_state.h: state, window, members with their payloads), read
 * from the configured state backend. Exit 0 with the JSON on stdout; 1 when
 * no group rule of the configuration names the id or the group has no
 * record (never existed, or expired after group_retention_s), or the
 * backend failed; 2 for a usage or configuration error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/state.h"
#include "config/config.h"
#include "worker/cli.h"
#include "worker/group_state.h"

static int group_usage(FILE *out)
{
    fprintf(out, "usage: acteon-worker group get -c FILE GROUP_ID\n"
                 "  Print the stored record of one group of a group rule (JSON: state,\n"
                 "  opened_ms, flush_at_ms, closed_ms, members with their payloads).\n"
                 "  GROUP_ID as in the outcomes' details (\"<rule>:<born_ms>:<gen>:<key>\").\n");
    return out == stdout ? 0 : 2;
}

static int print_group(const aw_config *cfg, const char *id)
{
    aw_state *st;
    aw_state_session *s;
    int code = aw_cli_open_state("group get", cfg, &st, &s);
    if (code)
        return code;
    aw_error err;
    aw_error_clear(&err);
    char *text = NULL;
    aw_status rc = aw_group_get(s, cfg, id, &text, &err);
    if (rc != AW_OK) {
        fprintf(stderr, "acteon-worker group get: %s\n", err.msg);
        code = rc == AW_CONFIG ? 2 : 1;
    } else {
        printf("%s\n", text);
    }
    free(text);
    aw_cli_close_state(st, s);
    return code;
}

int aw_cmd_group(int argc, char **argv)
{
    const char *file, *id;
    int args = aw_cli_get_args(argc, argv, "group get", NULL, NULL, &file, &id);
    if (args)
        return group_usage(args == -1 ? stdout : stderr);
    aw_config *cfg = NULL;
    int code = aw_cli_load_config(file, &cfg);
    if (code)
        return code;
    code = print_group(cfg, id);
    aw_config_destroy(cfg);
    return code;
}
