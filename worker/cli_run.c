#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "backends/http/http.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "config/config.h"
#include "ingest/kafka_conf.h"
#include "backends/audit/audit.h"
#include "backends/state/state.h"
#include "worker/cli.h"
#include "worker/rules.h"
#include "worker/feeder.h"
#include "worker/runtime.h"
#include "worker/scheduler.h"

static int run_usage(FILE *out)
{
    fprintf(out, "usage: acteon-worker run -c FILE [--brokers BOOTSTRAP]\n"
                 "  Consume the configured topics and process every action until\n"
                 "  SIGTERM/SIGINT (a second signal stops at once).\n");
    return out == stdout ? 0 : 2;
}

/* Start the embedded cluster when the config asks for it. */
static int maybe_embedded(const aw_config *cfg, aw_embedded_kafka **ek, const char **brokers)
{
    *ek = NULL;
    if (strcmp(cfg->kafka.brokers, "embedded") != 0)
        return 0;
    aw_error err;
    if (aw_embedded_kafka_start(1, ek, &err) != AW_OK) {
        AW_ERROR("run", "%s", err.msg);
        return -1;
    }
    const char *topics[2] = {cfg->kafka.reply_topic, cfg->kafka.dlq_topic};
    for (size_t i = 0; i < cfg->kafka.n_topics; i++)
        aw_embedded_kafka_create_topic(*ek, cfg->kafka.topics[i], cfg->kafka.embedded_partitions,
                                       &err);
    for (size_t i = 0; i < 2; i++)
        aw_embedded_kafka_create_topic(*ek, topics[i], 1, &err);
    *brokers = aw_embedded_kafka_bootstraps(*ek);
    AW_INFO("run", "embedded Kafka mock cluster at %s", *brokers);
    return 0;
}

/* Shared by run and dev: build the runtime, run it until a signal, tear
 * it down. */
int aw_cli_serve(const aw_config *cfg, const char *brokers, aw_outcome_fn on_outcome, void *ud,
                 int (*before_run)(void *ud, const char *brokers), void *before_ud)
{
    aw_embedded_kafka *ek = NULL;
    if (!brokers && maybe_embedded(cfg, &ek, &brokers))
        return 1;
    aw_http_global_init();
    aw_error err;
    aw_runtime *rt = NULL;
    int code = 0;
    aw_cli_handle_signals_starting();
    if (aw_runtime_new(cfg, brokers, &rt, &err) != AW_OK) {
        AW_ERROR("run", "%s", err.msg);
        code = err.code == AW_CONFIG ? 2 : 1;
        goto out;
    }
    aw_runtime_set_outcome_hook(rt, on_outcome, ud);
    aw_cli_handle_signals(rt);
    if (before_run && before_run(before_ud, rt->brokers)) {
        code = 1;
        goto out;
    }
    if (aw_clock_offset_ms())
        AW_WARN("run", "wall clock offset by %" PRId64 " ms (AW_CLOCK_OFFSET_MS): for tests only",
                aw_clock_offset_ms());
    AW_INFO("run", "worker %s: %d thread(s), state=%s audit=%s", cfg->worker_id,
            cfg->workers.threads, cfg->state.backend,
            cfg->audit.enabled ? cfg->audit.backend : "disabled");
    if (aw_runtime_run(rt, &err) != AW_OK) {
        AW_ERROR("run", "%s", err.msg);
        code = err.code == AW_CONFIG ? 2 : 1;
    }
out:
    aw_cli_handle_signals(NULL);
    aw_runtime_destroy(rt);
    aw_embedded_kafka_stop(ek);
    aw_http_global_cleanup();
    return code;
}

int aw_cmd_run(int argc, char **argv)
{
    const char *file = NULL, *brokers = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            brokers = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return run_usage(stdout);
        else {
            fprintf(stderr, "acteon-worker run: unexpected argument \"%s\"\n", argv[i]);
            return run_usage(stderr);
        }
    }
    if (!file)
        return run_usage(stderr);
    aw_config *cfg = NULL;
    int code = aw_cli_load_config(file, &cfg);
    if (code)
        return code;
    code = aw_cli_serve(cfg, brokers, NULL, NULL, NULL, NULL);
    aw_config_destroy(cfg);
    return code;
}

static int produce_usage(FILE *out)
{
    fprintf(out, "usage: acteon-worker produce -c FILE [--topic T] [--brokers B] < lines.jsonl\n"
                 "  Send one message per input line to T (default: the first of\n"
                 "  kafka.topics), keyed by the action's dedup identity.\n");
    return out == stdout ? 0 : 2;
}

int aw_cmd_produce(int argc, char **argv)
{
    const char *file = NULL, *topic = NULL, *brokers = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc)
            topic = argv[++i];
        else if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            brokers = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return produce_usage(stdout);
        else
            return produce_usage(stderr);
    }
    if (!file)
        return produce_usage(stderr);
    aw_config *cfg = NULL;
    int code = aw_cli_load_config(file, &cfg);
    if (code)
        return code;
    if (!brokers)
        brokers = cfg->kafka.brokers;
    if (strcmp(brokers, "embedded") == 0) {
        fprintf(stderr, "acteon-worker produce: kafka.brokers is \"embedded\"; pass the "
                        "bootstrap address printed by `acteon-worker dev` with --brokers\n");
        aw_config_destroy(cfg);
        return 2;
    }
    aw_feed_options fo = {.brokers = brokers,
                          .topic = topic ? topic : cfg->kafka.topics[0],
                          .properties = cfg->kafka.properties,
                          .n_properties = cfg->kafka.n_properties};
    size_t sent = 0;
    aw_error err;
    aw_status rc = aw_feed_lines(&fo, stdin, &sent, &err);
    fprintf(stderr, "acteon-worker produce: %zu message(s) sent to %s\n", sent, fo.topic);
    if (rc != AW_OK)
        fprintf(stderr, "acteon-worker produce: %s\n", err.msg);
    aw_config_destroy(cfg);
    return rc == AW_OK ? 0 : 1;
}

int aw_cmd_config(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "reference") == 0) {
        aw_config_print_reference(stdout);
        return 0;
    }
    const char *file = NULL;
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        for (int i = 2; i < argc; i++) {
            if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
                file = argv[++i];
            else
                file = NULL;
        }
    }
    if (!file) {
        fprintf(argc >= 2 && strcmp(argv[argc - 1], "--help") == 0 ? stdout : stderr,
                "usage: acteon-worker config check -c FILE\n"
                "       acteon-worker config reference\n");
        return argc >= 2 && strcmp(argv[argc - 1], "--help") == 0 ? 0 : 2;
    }
    aw_config *cfg = NULL;
    aw_error err;
    if (aw_config_load_file(file, &cfg, &err) != AW_OK) {
        fprintf(stderr, "acteon-worker: %s\n", err.msg);
        return 2;
    }
    /* The backends compiled into this binary: the config module does not
     * know them, the worker would refuse the name only at start. */
    if (!aw_state_driver_find(cfg->state.backend) ||
        (cfg->audit.enabled && !aw_audit_driver_find(cfg->audit.backend))) {
        bool state = !aw_state_driver_find(cfg->state.backend);
        fprintf(stderr, "acteon-worker: %s: %s.backend: unknown backend \"%s\" (valid: %s)\n",
                file, state ? "state" : "audit",
                state ? cfg->state.backend : cfg->audit.backend,
                state ? aw_state_driver_names() : aw_audit_driver_names());
        aw_config_destroy(cfg);
        return 2;
    }
    bool best_effort = false;
    if (aw_state_check_consistency(cfg->state.backend, cfg->state.allow_eventual_consistency,
                                   &best_effort, &err) != AW_OK) {
        fprintf(stderr, "acteon-worker: %s: %s\n", file, err.msg);
        aw_config_destroy(cfg);
        return 2;
    }
    if (aw_rules_check_backend(cfg, best_effort, &err) != AW_OK) {
        fprintf(stderr, "acteon-worker: %s: %s\n", file, err.msg);
        aw_config_destroy(cfg);
        return 2;
    }
    if (best_effort)
        fprintf(stderr,
                "acteon-worker: %s: warning: state backend %s is eventually consistent: "
                "duplicates may execute\n",
                file, cfg->state.backend);
    const char *no_schedule = aw_scheduler_unavailable(cfg);
    if (no_schedule)
        fprintf(stderr,
                "acteon-worker: %s: note: actions with a future not_before will be rejected: "
                "%s (docs/scheduling.md)\n",
                file, no_schedule);
    printf("# %s: valid\n", file);
    aw_config_print(cfg, stdout);
    aw_config_destroy(cfg);
    return 0;
}
