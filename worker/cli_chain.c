/* acteon-worker chain get -c FILE ID: print the record of one chain run
 * (docs/rules.md, "chain"), as the worker stored it (worker/chain_state.h):
 * its status, the step to run next and every step run with its outcome and
 * result. ID is the chain id of the trigger's chain_started details; every
 * chain of the configuration is looked in. Exit 0 with the JSON on stdout;
 * 1 when no chain has such a record (never started, or expired after its
 * retention_s) or the backend failed; 2 for a usage or configuration
 * error. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/state.h"
#include "config/config.h"
#include "worker/chain_state.h"
#include "worker/cli.h"

static int chain_usage(FILE *out)
{
    fprintf(out, "usage: acteon-worker chain get -c FILE ID\n"
                 "  Print the stored record of one chain run (JSON: chain, id, status,\n"
                 "  next step, every step run with its outcome and result). ID is the\n"
                 "  chain id of the trigger's chain_started details.\n");
    return out == stdout ? 0 : 2;
}

/* The record of id in any chain of cfg: AW_OK with *doc, or AW_NOT_FOUND. */
static aw_status find_chain(aw_state_session *s, const aw_config *cfg, const char *id,
                            json_t **doc, aw_error *err)
{
    aw_status rc = AW_NOT_FOUND;
    for (size_t i = 0; i < cfg->n_chains && rc == AW_NOT_FOUND; i++) {
        uint64_t version;
        rc = aw_chain_read(s, cfg->chains[i].name, id, doc, &version, err);
    }
    return rc;
}

static int print_chain(const aw_config *cfg, const char *id)
{
    aw_state *st;
    aw_state_session *s;
    int code = aw_cli_open_state("chain get", cfg, &st, &s);
    if (code)
        return code;
    aw_error err;
    aw_error_clear(&err);
    json_t *doc = NULL;
    aw_status rc = find_chain(s, cfg, id, &doc, &err);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (rc == AW_NOT_FOUND) {
        fprintf(stderr, "acteon-worker chain get: %s: no record in any chain (never started, "
                        "or expired)\n", id);
        code = 1;
    } else if (rc != AW_OK) {
        fprintf(stderr, "acteon-worker chain get: state backend %s: %s\n", cfg->state.backend,
                err.msg);
        code = 1;
    } else if (!text) {
        fprintf(stderr, "acteon-worker chain get: out of memory\n");
        code = 1;
    } else {
        printf("%s\n", text);
    }
    free(text);
    json_decref(doc);
    aw_cli_close_state(st, s);
    return code;
}

int aw_cmd_chain(int argc, char **argv)
{
    const char *file, *id;
    int rc = aw_cli_get_args(argc, argv, "chain get", NULL, NULL, &file, &id);
    if (rc)
        return chain_usage(rc == -1 ? stdout : stderr);
    aw_config *cfg = NULL;
    int code = aw_cli_load_config(file, &cfg);
    if (code)
        return code;
    code = print_chain(cfg, id);
    aw_config_destroy(cfg);
    return code;
}
