/* acteon-worker state get -c FILE --machine M FINGERPRINT: print the state
 * record of one event of a state machine (docs/rules.md, "state_machine"),
 * as the worker stored it (worker/event_state.h), read from the configured
 * state backend. Exit 0 with the JSON on stdout; 1 when the event has no
 * record (never moved, or expired after retention_s: it is then in the
 * machine's initial state, said on stderr) or the backend failed; 2 for a
 * usage or configuration error. */
#include <stdio.h>
#include <string.h>

#include "backends/state/state.h"
#include "config/config.h"
#include "worker/cli.h"
#include "worker/event_state.h"

static int state_usage(FILE *out)
{
    fprintf(out, "usage: acteon-worker state get -c FILE --machine NAME FINGERPRINT\n"
                 "  Print the stored state of one event of a state machine (JSON: state,\n"
                 "  seq, entered_at_ms, last and recent moves). FINGERPRINT is the rendered\n"
                 "  fingerprint, as in the outcomes' details.\n");
    return out == stdout ? 0 : 2;
}

static int print_event(const aw_config *cfg, const aw_machine_config *m, const char *fp)
{
    aw_state *st;
    aw_state_session *s;
    int code = aw_cli_open_state("state get", cfg, &st, &s);
    if (code)
        return code;
    aw_error err;
    aw_error_clear(&err);
    aw_event e;
    aw_status rc = aw_event_get(s, m, fp, &e, &err);
    aw_buf out = {0};
    if (rc == AW_NOT_FOUND) {
        fprintf(stderr, "acteon-worker state get: %s/%s: no record (never moved, or expired): "
                        "its state is the initial one, \"%s\"\n",
                m->name, fp, m->initial);
        code = 1;
    } else if (rc != AW_OK) {
        fprintf(stderr, "acteon-worker state get: state backend %s: %s\n", cfg->state.backend,
                err.msg);
        code = rc == AW_CONFIG ? 2 : 1;
    } else if (aw_event_write(&e, &out) != 0) {
        fprintf(stderr, "acteon-worker state get: out of memory\n");
        code = 1;
    } else {
        printf("%s\n", out.data);
    }
    aw_buf_free(&out);
    aw_state_session_close(s);
    aw_state_destroy(st);
    return code;
}

int aw_cmd_state(int argc, char **argv)
{
    const char *file, *machine, *fp;
    int args = aw_cli_get_args(argc, argv, "state", "--machine", &file, &machine, &fp);
    if (args)
        return state_usage(args > 0 ? stdout : stderr);
    aw_config *cfg = NULL;
    int code = aw_cli_load_config(file, &cfg);
    if (code)
        return code;
    const aw_machine_config *m = aw_config_machine(cfg, machine);
    if (!m) {
        fprintf(stderr, "acteon-worker state get: --machine: no state machine named \"%s\" in "
                        "%s\n",
                machine, file);
        code = 2;
    } else {
        code = print_event(cfg, m, fp);
    }
    aw_config_destroy(cfg);
    return code;
}
