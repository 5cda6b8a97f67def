/* `acteon-worker dev`: the whole pipeline on an embedded mock Kafka cluster
 * with memory backends, fed with sample actions. stdout carries what a
 * newcomer reads: one line per outcome and, at the stop, a summary; logs go
 * to stderr (warn and worse unless --log-level says otherwise). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/aw_log.h"
#include "config/config.h"
#include "worker/cli.h"
#include "worker/feeder.h"

#ifndef AW_SOURCE_DIR
#define AW_SOURCE_DIR "."
#endif

typedef struct dev_state {
    const aw_config *cfg;
    const char *examples;
    bool color;
    pthread_mutex_t print_lock; /* guards stdout and counts */
    unsigned long counts[AW_OUTCOME_COUNT];
} dev_state;

static void print_outcome(void *ud, const aw_audit_record *r)
{
    dev_state *ds = ud;
    static const char *const colors[AW_OUTCOME_COUNT] = {"\033[32m", "\033[31m", "\033[33m",
                                                          "\033[35m"};
    const char *on = ds->color ? colors[r->outcome] : "", *off = ds->color ? "\033[0m" : "";
    pthread_mutex_lock(&ds->print_lock);
    ds->counts[r->outcome]++;
    if (r->outcome == AW_OUTCOME_REJECTED)
        printf("%s%-12s%s %s[%d]@%lld id=%s %s\n", on, aw_outcome_name(r->outcome), off,
               r->source_topic, r->source_partition, (long long)r->source_offset,
               r->action_id[0] ? r->action_id : "-", r->details);
    else
        printf("%s%-12s%s %s/%s id=%s type=%s token=%llu %s\n", on, aw_outcome_name(r->outcome),
               off, r->ns, r->tenant, r->action_id, r->action_type,
               (unsigned long long)r->fencing_token, r->details);
    fflush(stdout);
    pthread_mutex_unlock(&ds->print_lock);
}

/* Called once the worker has stopped: no outcome can arrive any more. */
static void print_summary(dev_state *ds)
{
    printf("\nsummary:");
    /* The outcomes of rules only when some came (dev configures no rules):
     * the four of every run keep the line the docs show. */
    for (int o = 0; o < AW_OUTCOME_COUNT; o++)
        if (o <= AW_OUTCOME_REJECTED || ds->counts[o])
            printf("%s %lu %s", o ? "," : "", ds->counts[o], aw_outcome_name((aw_outcome)o));
    printf("\n");
    fflush(stdout);
}

static int feed_examples(void *ud, const char *brokers)
{
    dev_state *ds = ud;
    printf("Kafka (embedded mock cluster) bootstrap: %s\n"
           "  produce more:  acteon-worker produce -c config/examples/dev.conf --brokers %s < file.jsonl\n"
           "  read replies:  kcat -C -b %s -t %s\n"
           "Feeding %s ... (Ctrl-C to stop)\n",
           brokers, brokers, brokers, ds->cfg->kafka.reply_topic, ds->examples);
    fflush(stdout);
    FILE *in = fopen(ds->examples, "r");
    if (!in) {
        AW_ERROR("dev", "cannot open %s: run from the source tree or pass --examples FILE",
                 ds->examples);
        return -1;
    }
    aw_feed_options fo = {.brokers = brokers, .topic = ds->cfg->kafka.topics[0]};
    size_t sent = 0;
    aw_error err;
    aw_status rc = aw_feed_lines(&fo, in, &sent, &err);
    fclose(in);
    if (rc != AW_OK) {
        AW_ERROR("dev", "feeding examples: %s", err.msg);
        return -1;
    }
    printf("Fed %zu sample action(s); each outcome follows as it happens.\n\n", sent);
    fflush(stdout);
    return 0;
}

static const char *default_examples(void)
{
    if (access("examples/actions.jsonl", R_OK) == 0)
        return "examples/actions.jsonl";
    return AW_SOURCE_DIR "/examples/actions.jsonl";
}

int aw_cmd_dev(int argc, char **argv)
{
    dev_state ds = {.examples = default_examples(), .color = isatty(1)};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--examples") == 0 && i + 1 < argc) {
            ds.examples = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: acteon-worker dev [--examples FILE]\n"
                   "  Start an embedded Kafka mock cluster, memory state and audit, the\n"
                   "  log provider; feed FILE (default examples/actions.jsonl) and print\n"
                   "  each outcome on stdout (logs on stderr at warn; acteon-worker\n"
                   "  --log-level info dev shows more); keep consuming until Ctrl-C, then\n"
                   "  print a summary of the outcomes.\n");
            return 0;
        } else {
            fprintf(stderr, "acteon-worker dev: unexpected argument \"%s\"\n", argv[i]);
            return 2;
        }
    }
    aw_config *cfg = NULL;
    aw_error err;
    if (aw_config_dev_default(&cfg, &err) != AW_OK) {
        fprintf(stderr, "acteon-worker: %s\n", err.msg);
        return 2;
    }
    if (aw_cli_setup_logging(cfg)) {
        aw_config_destroy(cfg);
        return 2;
    }
    ds.cfg = cfg;
    pthread_mutex_init(&ds.print_lock, NULL);
    int code = aw_cli_serve(cfg, NULL, print_outcome, &ds, feed_examples, &ds);
    print_summary(&ds);
    pthread_mutex_destroy(&ds.print_lock);
    aw_config_destroy(cfg);
    return code;
}
