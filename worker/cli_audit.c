/* acteon-worker audit search -c FILE [filters] [--limit N] [--cursor C] [--all]
 *
 * Query the configured audit backend: one JSON record per line (the
 * audit-record schema), then one line {"next_cursor": "..."} (null on the
 * last page) to pass back with --cursor; or --format table for people.
 * Every filter is an exact value handed to the backend as a parameter. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/audit.h"
#include "common/aw_clock.h"
#include "config/config.h"
#include "worker/cli.h"

static int audit_usage(FILE *out)
{
    fprintf(out,
            "usage: acteon-worker audit search -c FILE [--namespace NS] [--tenant T]\n"
            "         [--provider P] [--action-type A] [--outcome O] [--rule NAME]\n"
            "         [--fingerprint FP] [--group ID] [--chain ID] [--action-id ID]\n"
            "         [--since TIME] [--until TIME] [--limit N] [--cursor C] [--all]\n"
            "         [--format json|table]\n"
            "  Newest first. JSON lines (one record each), then {\"next_cursor\": ...}:\n"
            "  pass it to --cursor for the next page (null = no more). --all pages\n"
            "  through everything. TIME is RFC 3339 or a duration ago (15m, 2h, 7d);\n"
            "  --since is inclusive, --until exclusive. NAME: the rule whose verdict\n"
            "  applied to the action (docs/rules.md, \"Audit\"). FP, ID: the event,\n"
            "  group or chain the action belongs to (docs/rules.md). O:");
    /* From the list itself, so a new outcome is never missing here. */
    for (int o = 0; o < AW_OUTCOME_COUNT; o++)
        fprintf(out, "%s %s", o % 6 == 5 ? "\n    " : "", aw_outcome_name((aw_outcome)o));
    fputc('\n', out);
    return out == stdout ? 0 : 2;
}

static void print_json(const aw_audit_record *r)
{
    json_t *j = aw_audit_record_to_json(r);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s)
        puts(s);
    free(s);
    json_decref(j);
}

static void print_row(const aw_audit_record *r)
{
    char when[40];
    aw_time_format_rfc3339(r->completed_at_ms, when, sizeof(when));
    printf("%-24s  %-12s  %-14.14s  %-10.10s  %-10.10s  %-12.12s  %-20.20s  %-16.16s  %s\n",
           when, aw_outcome_name(r->outcome), r->ns, r->tenant, r->provider, r->action_type,
           r->action_id, r->rule ? r->rule : "-", r->record_id);
}

static void print_cursor(const char *cursor, bool table)
{
    if (table) {
        printf(cursor ? "next cursor: %s\n" : "(no more records)\n", cursor);
        return;
    }
    json_t *j = json_pack("{s:s?}", "next_cursor", cursor);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s)
        puts(s);
    free(s);
    json_decref(j);
}

/* Parse the filters into q. Returns 0 to go on, -1 after --help (exit 0),
 * or the exit code after a message. */
static int parse_args(int argc, char **argv, const char **file, aw_audit_query *q, bool *all,
                      bool *table)
{
    const char *since = NULL, *until = NULL, *outcome = NULL;
    int64_t now = aw_time_now_ms();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
            slot = file;
        else if (strcmp(a, "--namespace") == 0)
            slot = &q->ns;
        else if (strcmp(a, "--tenant") == 0)
            slot = &q->tenant;
        else if (strcmp(a, "--provider") == 0)
            slot = &q->provider;
        else if (strcmp(a, "--action-type") == 0)
            slot = &q->action_type;
        else if (strcmp(a, "--action-id") == 0)
            slot = &q->action_id;
        else if (strcmp(a, "--rule") == 0)
            slot = &q->rule;
        else if (strcmp(a, "--fingerprint") == 0)
            slot = &q->fingerprint;
        else if (strcmp(a, "--group") == 0)
            slot = &q->group_id;
        else if (strcmp(a, "--chain") == 0)
            slot = &q->chain_id;
        else if (strcmp(a, "--cursor") == 0)
            slot = &q->cursor;
        else if (strcmp(a, "--outcome") == 0)
            slot = &outcome;
        else if (strcmp(a, "--since") == 0)
            slot = &since;
        else if (strcmp(a, "--until") == 0)
            slot = &until;
        if (slot && v) {
            *slot = v;
            i++;
            continue;
        }
        if (strcmp(a, "--limit") == 0 && v) {
            char *end = NULL;
            long long n = strtoll(v, &end, 10);
            if (!*v || *end || n < 1) {
                fprintf(stderr, "acteon-worker audit search: --limit \"%s\": want a positive "
                                "integer (at most %d per page)\n", v, AW_AUDIT_MAX_LIMIT);
                return 2;
            }
            q->limit = (size_t)n;
            i++;
        } else if (strcmp(a, "--format") == 0 && v &&
                   (strcmp(v, "json") == 0 || strcmp(v, "table") == 0)) {
            *table = strcmp(v, "table") == 0;
            i++;
        } else if (strcmp(a, "--all") == 0) {
            *all = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            audit_usage(stdout);
            return -1; /* done: exit 0 */
        } else {
            fprintf(stderr, "acteon-worker audit search: unexpected argument \"%s\"\n", a);
            return audit_usage(stderr);
        }
    }
    aw_outcome o;
    if (outcome && !aw_outcome_parse(outcome, &o)) {
        fprintf(stderr, "acteon-worker audit search: --outcome \"%s\": want executed, failed, "
                        "deduplicated, rejected, suppressed, throttled or scheduled\n",
                outcome);
        return 2;
    }
    q->outcome = outcome ? (int)o : -1;
    const char *times[2] = {since, until};
    int64_t *dst[2] = {&q->from_ms, &q->to_ms};
    for (int k = 0; k < 2; k++) {
        if (times[k] && aw_cli_parse_time(times[k], now, dst[k]) != 0) {
            fprintf(stderr, "acteon-worker audit search: --%s \"%s\": want RFC 3339 or a "
                            "duration such as 2h\n", k ? "until" : "since", times[k]);
            return 2;
        }
    }
    return *file ? 0 : audit_usage(stderr);
}

static int search(aw_audit_session *s, aw_audit_query q, bool all, bool table)
{
    if (table)
        printf("%-24s  %-12s  %-14s  %-10s  %-10s  %-12s  %-20s  %-16s  %s\n", "completed_at",
               "outcome", "namespace", "tenant", "provider", "action_type", "action_id", "rule",
               "record_id");
    char *cursor = q.cursor ? strdup(q.cursor) : NULL;
    for (;;) {
        q.cursor = cursor;
        aw_audit_page p;
        aw_error err;
        aw_error_clear(&err);
        if (aw_audit_query_run(s, &q, &p, &err) != AW_OK) {
            fprintf(stderr, "acteon-worker audit search: %s\n", err.msg);
            free(cursor);
            return err.retriable ? 1 : 2;
        }
        for (size_t i = 0; i < p.count; i++)
            table ? print_row(&p.records[i]) : print_json(&p.records[i]);
        free(cursor);
        cursor = p.next_cursor;
        p.next_cursor = NULL;
        aw_audit_page_clear(&p);
        if (!all || !cursor)
            break;
    }
    print_cursor(cursor, table);
    free(cursor);
    return 0;
}

int aw_cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "search") != 0) {
        bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        return audit_usage(help ? stdout : stderr);
    }
    const char *file = NULL;
    aw_audit_query q = {.outcome = -1};
    bool all = false, table = false;
    int code = parse_args(argc, argv, &file, &q, &all, &table);
    if (code)
        return code < 0 ? 0 : code;
    aw_config *cfg = NULL;
    if ((code = aw_cli_load_config(file, &cfg)) != 0)
        return code;
    aw_audit *audit = NULL;
    aw_audit_session *s = NULL;
    code = aw_cli_open_audit("audit search", cfg, &audit, &s);
    if (!code)
        code = search(s, q, all, table);
    aw_audit_session_close(s);
    aw_audit_destroy(audit);
    aw_config_destroy(cfg);
    return code;
}
