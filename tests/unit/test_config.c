/* Configuration loader: good configs, one case per error class (exact
 * message: file, line, key), environment overrides, secret masking, the
 * print -> load round trip and the key reference. No network, no sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/aw_chain_template.h"
#include "common/aw_template.h"
#include "config/config.h"

extern char **environ;

static char g_tmpdir[256];

/* ---- helpers ---------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Writes text to <tmpdir>/<name>.conf; path receives the file name. */
static void temp_conf(const char *name, const char *text, char *path, size_t pathsz)
{
    snprintf(path, pathsz, "%s/%s.conf", g_tmpdir, name);
    write_file(path, text);
}

/* Not inlined: GCC 12 then takes the result for a pointer to the local
 * `buf` (-Wdangling-pointer false positive). */
static __attribute__((noinline)) char *print_to_string(const aw_config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    aw_config_print(cfg, f);
    fclose(f);
    return buf;
}

/* The offset of needle in text from `from` on, SIZE_MAX when absent. */
static size_t at(const char *text, const char *needle, size_t from)
{
    const char *p = strstr(text + from, needle);
    return p ? (size_t)(p - text) : SIZE_MAX;
}

static aw_config *load_ok(const char *text)
{
    aw_config *cfg = NULL;
    aw_error err = {0};
    aw_status rc = aw_config_load_string(text, &cfg, &err);
    if (rc != AW_OK)
        fail_msg("load failed: %s", err.msg);
    assert_non_null(cfg);
    return cfg;
}

static const char *example_path(const char *name, char *buf, size_t bufsz)
{
    const char *src = getenv("AW_SOURCE_DIR");
    snprintf(buf, bufsz, "%s/config/examples/%s", src ? src : ".", name);
    return buf;
}

static void assert_str_list_equal(char **a, size_t na, char **b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
}

/* Every field of aw_config but source: the round trip must keep them all. */
static void assert_config_equal(const aw_config *a, const aw_config *b)
{
    assert_string_equal(a->worker_id, b->worker_id);
    assert_string_equal(a->kafka.brokers, b->kafka.brokers);
    assert_string_equal(a->kafka.group_id, b->kafka.group_id);
    assert_str_list_equal(a->kafka.topics, a->kafka.n_topics, b->kafka.topics,
                          b->kafka.n_topics);
    assert_string_equal(a->kafka.reply_topic, b->kafka.reply_topic);
    assert_string_equal(a->kafka.dlq_topic, b->kafka.dlq_topic);
    assert_str_list_equal(a->kafka.properties, a->kafka.n_properties, b->kafka.properties,
                          b->kafka.n_properties);
    assert_int_equal(a->kafka.embedded_partitions, b->kafka.embedded_partitions);
    assert_string_equal(a->state.backend, b->state.backend);
    assert_string_equal(a->state.url, b->state.url);
    assert_string_equal(a->state.key_prefix, b->state.key_prefix);
    assert_int_equal(a->state.allow_eventual_consistency, b->state.allow_eventual_consistency);
    assert_int_equal(a->audit.enabled, b->audit.enabled);
    assert_string_equal(a->audit.backend, b->audit.backend);
    assert_string_equal(a->audit.url, b->audit.url);
    assert_int_equal(a->audit.retention_s, b->audit.retention_s);
    assert_int_equal(a->workers.threads, b->workers.threads);
    assert_int_equal(a->workers.max_in_flight, b->workers.max_in_flight);
    assert_int_equal(a->workers.batch_size, b->workers.batch_size);
    assert_int_equal(a->workers.shutdown_timeout_ms, b->workers.shutdown_timeout_ms);
    assert_int_equal(a->workers.rebalance_timeout_ms, b->workers.rebalance_timeout_ms);
    assert_int_equal(a->dedup.window_s, b->dedup.window_s);
    assert_int_equal(a->dedup.lease_ms, b->dedup.lease_ms);
    assert_int_equal(a->dedup.busy_retry_ms, b->dedup.busy_retry_ms);
    assert_int_equal(a->ingest.max_message_bytes, b->ingest.max_message_bytes);
    assert_string_equal(a->log.level, b->log.level);
    assert_string_equal(a->log.format, b->log.format);
    assert_int_equal(a->n_providers, b->n_providers);
    for (size_t i = 0; i < a->n_providers; i++) {
        const aw_provider_config *p = &a->providers[i], *q = &b->providers[i];
        assert_string_equal(p->name, q->name);
        assert_string_equal(p->type, q->type);
        assert_string_equal(p->url, q->url);
        assert_int_equal(p->timeout_ms, q->timeout_ms);
        assert_int_equal(p->max_attempts, q->max_attempts);
        assert_int_equal(p->backoff_base_ms, q->backoff_base_ms);
        assert_int_equal(p->backoff_max_ms, q->backoff_max_ms);
        assert_int_equal(p->max_concurrency, q->max_concurrency);
    }
    assert_int_equal(a->n_rules, b->n_rules);
    for (size_t i = 0; i < a->n_rules; i++) {
        const aw_rule_config *r = &a->rules[i], *s = &b->rules[i];
        assert_string_equal(r->name, s->name);
        assert_int_equal(r->enabled, s->enabled);
        assert_string_equal(r->match_namespace, s->match_namespace);
        assert_string_equal(r->match_tenant, s->match_tenant);
        assert_string_equal(r->match_provider, s->match_provider);
        assert_string_equal(r->match_action_type, s->match_action_type);
        assert_str_list_equal(r->match_metadata, 2 * r->n_match_metadata, s->match_metadata,
                              2 * s->n_match_metadata);
        assert_string_equal(r->verdict, s->verdict);
        assert_string_equal(r->key, s->key);
        assert_int_equal(r->max_count, s->max_count);
        assert_int_equal(r->window_s, s->window_s);
        assert_string_equal(r->on_limit, s->on_limit);
        assert_int_equal(r->lock_ttl_ms, s->lock_ttl_ms);
        assert_int_equal(r->max_wait_ms, s->max_wait_ms);
        assert_string_equal(r->on_timeout, s->on_timeout);
        assert_int_equal(r->key_template != NULL, s->key_template != NULL);
        assert_string_equal(r->machine, s->machine);
    }
    assert_int_equal(a->n_machines, b->n_machines);
    for (size_t i = 0; i < a->n_machines; i++) {
        const aw_machine_config *m = &a->machines[i], *n = &b->machines[i];
        assert_string_equal(m->name, n->name);
        assert_string_equal(m->fingerprint, n->fingerprint);
        assert_string_equal(m->initial, n->initial);
        assert_str_list_equal(m->states, m->n_states, n->states, n->n_states);
        assert_int_equal(m->retention_s, n->retention_s);
        assert_int_equal(m->n_transitions, n->n_transitions);
        for (size_t t = 0; t < m->n_transitions; t++) {
            assert_str_list_equal(m->transitions[t].from, m->transitions[t].n_from,
                                  n->transitions[t].from, n->transitions[t].n_from);
            assert_string_equal(m->transitions[t].to, n->transitions[t].to);
            assert_string_equal(m->transitions[t].on, n->transitions[t].on);
        }
        assert_int_equal(m->n_timeouts, n->n_timeouts);
        for (size_t t = 0; t < m->n_timeouts; t++) {
            assert_string_equal(m->timeouts[t].in, n->timeouts[t].in);
            assert_int_equal(m->timeouts[t].after_s, n->timeouts[t].after_s);
            assert_string_equal(m->timeouts[t].to, n->timeouts[t].to);
        }
    }
}

/* print -> load: the printed text is valid libconfig and means the same. */
static void assert_round_trip(const aw_config *cfg)
{
    char *text = print_to_string(cfg);
    aw_config *again = NULL;
    aw_error err = {0};
    aw_status rc = aw_config_load_string(text, &again, &err);
    if (rc != AW_OK)
        fail_msg("printed config does not load: %s\n%s", err.msg, text);
    assert_config_equal(cfg, again);
    aw_config_destroy(again);
    free(text);
}

/* The shape users rely on (the README's). */
static const char shape_conf[] =
    "kafka = { brokers = \"127.0.0.1:9092\"; group_id = \"acteon-workers\";\n"
    "          topics = [ \"acteon.actions\" ]; reply_topic = \"acteon.replies\";\n"
    "          dlq_topic = \"acteon.dlq\";\n"
    "          properties = [ \"session.timeout.ms=6000\" ]; };\n"
    "state = { backend = \"memory\"; url = \"\"; };\n"
    "audit = { enabled = true; backend = \"memory\"; url = \"\"; };\n"
    "workers = { threads = 8; max_in_flight = 10000; };\n"
    "dedup = { window_s = 86400; lease_ms = 30000; };\n"
    "providers = ( { name = \"webhook\"; type = \"webhook\"; url = \"http://127.0.0.1:8080/hook\";\n"
    "                timeout_ms = 5000; max_attempts = 4; },\n"
    "              { name = \"log\"; type = \"log\"; } );\n";

/* A machine with states open, acked, resolved, stale: SM(initial, transitions),
 * SMT(timeouts) (initial open, one transition). */
#define SM(initial, transitions)                                                          \
    BASE "state_machines = ( { name = \"m\"; fingerprint = \"{tenant}:{payload.a}\";\n"      \
         "  states = [\"open\", \"acked\", \"resolved\", \"stale\"]; " initial " transitions = (\n" \
         "  " transitions "\n  ); } );\n"
#define SMT(timeouts)                                                                     \
    BASE "state_machines = ( { name = \"m\"; fingerprint = \"{tenant}:{payload.a}\";\n"      \
         "  states = [\"open\", \"acked\", \"resolved\", \"stale\"]; initial = \"open\"; timeouts = (\n" \
         "  " timeouts "\n  );\n"                                                             \
         "  transitions = ( { from = [\"open\"]; to = \"acked\"; on = \"ack\"; } ); } );\n"

#define BASE "kafka = { brokers = \"b:9092\"; group_id = \"g\"; topics = [ \"t\" ]; };\n"

/* A chain of three log steps: b continues with c after a failure, a skips b
 * after a success; c reads a's result and the trigger. */
#define ORDER_CHAIN                                                                       \
    "chains = ( { name = \"order\"; retention_s = 3600; steps = (\n"                        \
    "  { name = \"a\"; provider = \"log\"; action_type = \"x\"; on_success = \"c\"; },\n"   \
    "  { name = \"b\"; provider = \"log\"; action_type = \"y\"; max_attempts = 3;\n"        \
    "    on_failure = \"c\"; },\n"                                                          \
    "  { name = \"c\"; provider = \"log\"; action_type = \"z\";\n"                          \
    "    payload = \"{\\\"r\\\": {{steps.a.result.id}}, \\\"o\\\": {{action.payload.o}}}\"; }\n"  \
    "  ); } );\n"

#define INCIDENT_MACHINE                                                                  \
    "state_machines = ( { name = \"inc\"; fingerprint = \"{tenant}:{payload.alert_id}\";\n"    \
    "  initial = \"open\"; states = [\"open\", \"acked\", \"resolved\", \"stale\"];\n"         \
    "  transitions = ( { from = [\"open\"]; to = \"acked\"; on = \"ack\"; },\n"             \
    "    { from = [\"open\", \"acked\"]; to = \"resolved\"; on = \"resolve\"; },\n"          \
    "    { from = [\"resolved\", \"stale\"]; to = \"open\"; on = \"reopen\"; } );\n"         \
    "  timeouts = ( { in = \"open\"; after_s = 600; to = \"stale\"; } );\n"                \
    "  retention_s = 86400; } );\n"

/* Unsets every ACTEON_* variable so that the caller's environment cannot
 * change what the tests see. */
static void clear_acteon_env(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; e && *e; e++) {
            if (strncmp(*e, "ACTEON_", 7) == 0) {
                const char *eq = strchr(*e, '=');
                size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
                snprintf(name, sizeof(name), "%.*s", (int)n, *e);
                break;
            }
        }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

static int env_teardown(void **state)
{
    (void)state;
    clear_acteon_env();
    return 0;
}

/* ---- good configs ------------------------------------------------------ */

static void test_shape(void **state)
{
    (void)state;
    aw_config *cfg = load_ok(shape_conf);
    assert_string_equal(cfg->source, "<string>");
    assert_string_equal(cfg->kafka.brokers, "127.0.0.1:9092");
    assert_string_equal(cfg->kafka.group_id, "acteon-workers");
    assert_int_equal(cfg->kafka.n_topics, 1);
    assert_string_equal(cfg->kafka.topics[0], "acteon.actions");
    assert_string_equal(cfg->kafka.reply_topic, "acteon.replies");
    assert_string_equal(cfg->kafka.dlq_topic, "acteon.dlq");
    assert_int_equal(cfg->kafka.n_properties, 1);
    assert_string_equal(cfg->kafka.properties[0], "session.timeout.ms=6000");
    assert_string_equal(cfg->state.backend, "memory");
    assert_string_equal(cfg->state.url, "");
    assert_true(cfg->audit.enabled);
    assert_int_equal(cfg->workers.threads, 8);
    assert_int_equal(cfg->workers.max_in_flight, 10000);
    assert_int_equal(cfg->dedup.window_s, 86400);
    assert_int_equal(cfg->dedup.lease_ms, 30000);
    assert_int_equal(cfg->n_providers, 2);
    const aw_provider_config *w = aw_config_find_provider(cfg, "webhook");
    assert_non_null(w);
    assert_string_equal(w->type, "webhook");
    assert_string_equal(w->url, "http://127.0.0.1:8080/hook");
    assert_int_equal(w->timeout_ms, 5000);
    assert_int_equal(w->max_attempts, 4);
    assert_int_equal(w->backoff_base_ms, 100);
    assert_int_equal(w->backoff_max_ms, 10000);
    assert_int_equal(w->max_concurrency, 64);
    const aw_provider_config *l = aw_config_find_provider(cfg, "log");
    assert_ptr_equal(l, &cfg->providers[1]);
    assert_string_equal(l->url, "");
    assert_null(aw_config_find_provider(cfg, "smtp"));
    assert_null(aw_config_find_provider(cfg, NULL));
    assert_null(aw_config_find_provider(NULL, "log"));
    aw_config_destroy(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    aw_config *cfg = load_ok(BASE);
    char host[256], expect[300];
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    host[sizeof(host) - 1] = '\0';
    snprintf(expect, sizeof(expect), "%s-%ld", host, (long)getpid());
    assert_string_equal(cfg->worker_id, expect);
    assert_string_equal(cfg->kafka.reply_topic, "acteon.replies");
    assert_string_equal(cfg->kafka.dlq_topic, "acteon.dlq");
    assert_int_equal(cfg->kafka.n_properties, 0);
    assert_int_equal(cfg->kafka.embedded_partitions, 4);
    assert_string_equal(cfg->state.backend, "memory");
    assert_string_equal(cfg->state.url, "");
    assert_string_equal(cfg->state.key_prefix, "acteon:");
    assert_false(cfg->state.allow_eventual_consistency);
    assert_true(cfg->audit.enabled);
    assert_string_equal(cfg->audit.backend, "memory");
    assert_string_equal(cfg->audit.url, "");
    assert_int_equal(cfg->audit.retention_s, 30 * 86400);
    assert_int_equal(cfg->workers.threads, 8);
    assert_int_equal(cfg->workers.max_in_flight, 10000);
    assert_int_equal(cfg->workers.batch_size, 64);
    assert_int_equal(cfg->workers.shutdown_timeout_ms, 30000);
    assert_int_equal(cfg->workers.rebalance_timeout_ms, 10000);
    assert_int_equal(cfg->dedup.window_s, 86400);
    assert_int_equal(cfg->dedup.lease_ms, 30000);
    assert_int_equal(cfg->dedup.busy_retry_ms, 50);
    assert_int_equal(cfg->ingest.max_message_bytes, 1048576);
    assert_string_equal(cfg->log.level, "info");
    assert_string_equal(cfg->log.format, "text");
    /* No providers section: one "log" provider with the provider defaults. */
    assert_int_equal(cfg->n_providers, 1);
    assert_string_equal(cfg->providers[0].name, "log");
    assert_string_equal(cfg->providers[0].type, "log");
    assert_string_equal(cfg->providers[0].url, "");
    assert_int_equal(cfg->providers[0].timeout_ms, 5000);
    assert_int_equal(cfg->providers[0].max_attempts, 4);
    assert_int_equal(cfg->providers[0].backoff_base_ms, 100);
    assert_int_equal(cfg->providers[0].backoff_max_ms, 10000);
    aw_config_destroy(cfg);
}

static void test_every_key_set(void **state)
{
    (void)state;
    aw_config *cfg = load_ok(
        "worker_id = \"w-1\";\n"
        "kafka = { brokers = \"k1:9092,k2:9092\"; group_id = \"grp\";\n"
        "  topics = [ \"a\", \"b.c\", \"D_e-f\" ]; reply_topic = \"r\"; dlq_topic = \"d\";\n"
        "  properties = [ \"session.timeout.ms=6000\", \"client.id=x=y\" ];\n"
        "  embedded_partitions = 7; };\n"
        "state = { backend = \"redis\"; url = \"redis://h:6379/0\"; key_prefix = \"\";\n"
        "  allow_eventual_consistency = true; };\n"
        "audit = { enabled = false; backend = \"postgres\"; url = \"postgres://h/db\";\n"
        "  retention_s = 3600; };\n"
        "workers = { threads = 1024; max_in_flight = 1; batch_size = 2;\n"
        "  shutdown_timeout_ms = 5; rebalance_timeout_ms = 6; };\n"
        "dedup = { window_s = 3000000000L; lease_ms = 100; busy_retry_ms = 7; };\n"
        "ingest = { max_message_bytes = 1024; };\n"
        "log = { level = \"debug\"; format = \"json\"; };\n"
        "providers = ( { name = \"n\"; type = \"noop\"; timeout_ms = 1; max_attempts = 1;\n"
        "  backoff_base_ms = 3; backoff_max_ms = 3; } );\n");
    assert_string_equal(cfg->worker_id, "w-1");
    assert_int_equal(cfg->kafka.n_topics, 3);
    assert_string_equal(cfg->kafka.topics[2], "D_e-f");
    assert_string_equal(cfg->kafka.properties[1], "client.id=x=y");
    assert_int_equal(cfg->kafka.embedded_partitions, 7);
    assert_string_equal(cfg->state.backend, "redis");
    assert_string_equal(cfg->state.key_prefix, "");
    assert_true(cfg->state.allow_eventual_consistency);
    assert_false(cfg->audit.enabled);
    assert_int_equal(cfg->audit.retention_s, 3600);
    assert_int_equal(cfg->workers.threads, 1024);
    assert_int_equal(cfg->workers.max_in_flight, 1);
    assert_int_equal(cfg->workers.batch_size, 2);
    assert_int_equal(cfg->workers.shutdown_timeout_ms, 5);
    assert_int_equal(cfg->workers.rebalance_timeout_ms, 6);
    assert_true(cfg->dedup.window_s == 3000000000LL);
    assert_int_equal(cfg->dedup.lease_ms, 100);
    assert_int_equal(cfg->dedup.busy_retry_ms, 7);
    assert_int_equal(cfg->ingest.max_message_bytes, 1024);
    assert_string_equal(cfg->log.level, "debug");
    assert_string_equal(cfg->log.format, "json");
    assert_int_equal(cfg->n_providers, 1);
    assert_string_equal(cfg->providers[0].type, "noop");
    assert_int_equal(cfg->providers[0].backoff_max_ms, 3);
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
}

static void test_example_dev(void **state)
{
    (void)state;
    char path[1024];
    aw_config *cfg = NULL;
    aw_error err = {0};
    if (aw_config_load_file(example_path("dev.conf", path, sizeof(path)), &cfg, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(cfg->source, path);
    assert_string_equal(cfg->kafka.brokers, "embedded");
    assert_string_equal(cfg->state.backend, "memory");
    assert_string_equal(cfg->audit.backend, "memory");
    assert_non_null(aw_config_find_provider(cfg, "log"));
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
}

static void test_example_local_webhook(void **state)
{
    (void)state;
    char path[1024];
    aw_config *cfg = NULL;
    aw_error err = {0};
    if (aw_config_load_file(example_path("local-webhook.conf", path, sizeof(path)), &cfg,
                            &err))
        fail_msg("%s", err.msg);
    assert_string_equal(cfg->kafka.brokers, "127.0.0.1:9092");
    assert_string_equal(cfg->state.backend, "memory");
    assert_string_equal(cfg->audit.backend, "memory");
    const aw_provider_config *w = aw_config_find_provider(cfg, "webhook");
    assert_non_null(w);
    assert_string_equal(w->type, "webhook");
    assert_string_equal(w->url, "http://127.0.0.1:8080/hook");
    assert_non_null(aw_config_find_provider(cfg, "log"));
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
}

static void test_dev_default(void **state)
{
    (void)state;
    aw_config *cfg = NULL;
    aw_error err = {0};
    assert_int_equal(aw_config_dev_default(&cfg, &err), AW_OK);
    assert_string_equal(cfg->source, "<dev>");
    assert_string_equal(cfg->kafka.brokers, "embedded");
    assert_string_equal(cfg->kafka.group_id, "acteon-dev");
    assert_int_equal(cfg->kafka.n_topics, 1);
    assert_string_equal(cfg->kafka.topics[0], "acteon.actions");
    assert_string_equal(cfg->state.backend, "memory");
    assert_string_equal(cfg->audit.backend, "memory");
    assert_int_equal(cfg->n_providers, 2);
    assert_string_equal(aw_config_find_provider(cfg, "log")->type, "log");
    assert_string_equal(aw_config_find_provider(cfg, "noop")->type, "noop");
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
}

static void test_round_trip_escapes(void **state)
{
    (void)state;
    /* Quote, backslash, tab and a control byte survive print -> load. */
    aw_config *cfg = load_ok(BASE "state = { key_prefix = \"a\\\"b\\\\c\\td\\x01e\"; };\n"
                                  "worker_id = \"h\xc3\xa9-1\";\n");
    assert_string_equal(cfg->state.key_prefix, "a\"b\\c\td\x01" "e");
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
}

static void test_include_relative(void **state)
{
    (void)state;
    char main_path[512], inc_path[512];
    aw_config *cfg = NULL;
    aw_error err = {0};
    temp_conf("inc-extra", "workers = { threads = 3; };\n", inc_path, sizeof(inc_path));
    temp_conf("inc-main", BASE "@include \"inc-extra.conf\"\n", main_path, sizeof(main_path));
    if (aw_config_load_file(main_path, &cfg, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->workers.threads, 3);
    aw_config_destroy(cfg);

    /* An error inside the included file names that file. */
    write_file(inc_path, "\nworkers = { threads = 0; };\n");
    assert_int_equal(aw_config_load_file(main_path, &cfg, &err), AW_CONFIG);
    assert_null(cfg);
    char expect[600];
    snprintf(expect, sizeof(expect),
             "%s:2: workers.threads: must be between 1 and 1024 (got 0)", inc_path);
    assert_string_equal(err.msg, expect);
    unlink(inc_path);
    unlink(main_path);
}

/* ---- errors: one row per class, the exact message after the file name --- */

typedef struct error_case {
    const char *name;
    const char *text;
    const char *expect; /* err.msg minus the leading file name */
} error_case;

#define PROV(x) BASE "providers = ( " x " );\n"

static const error_case error_cases[] = {
    /* bounds */
    {"threads-zero", BASE "workers = {\n  threads = 0;\n};\n",
     ":3: workers.threads: must be between 1 and 1024 (got 0)"},
    {"threads-big", BASE "workers = { threads = 1025; };\n",
     ":2: workers.threads: must be between 1 and 1024 (got 1025)"},
    {"threads-int64", BASE "workers = { threads = 5000000000L; };\n",
     ":2: workers.threads: must be between 1 and 1024 (got 5000000000)"},
    {"max-in-flight-zero", BASE "workers = { max_in_flight = 0; };\n",
     ":2: workers.max_in_flight: must be between 1 and 10000000 (got 0)"},
    {"lease-small", BASE "dedup = { lease_ms = 99; };\n",
     ":2: dedup.lease_ms: must be between 100 and 86400000 (got 99)"},
    {"msg-bytes-small", BASE "ingest = { max_message_bytes = 512; };\n",
     ":2: ingest.max_message_bytes: must be between 1024 and 67108864 (got 512)"},
    {"msg-bytes-big", BASE "ingest = { max_message_bytes = 67108865; };\n",
     ":2: ingest.max_message_bytes: must be between 1024 and 67108864 (got 67108865)"},
    {"max-attempts-zero", PROV("{ name = \"l\"; type = \"log\"; max_attempts = 0; }"),
     ":2: providers[0].max_attempts: must be between 1 and 100 (got 0)"},
    /* unknown keys */
    {"typo", BASE "workers = { thread = 8; };\n",
     ":2: workers.thread: unknown key (did you mean workers.threads?)"},
    {"section-typo", BASE "wrokers = { threads = 8; };\n",
     ":2: wrokers: unknown key (did you mean workers?)"},
    {"misplaced", BASE "threads = 8;\n",
     ":2: threads: unknown key (did you mean workers.threads?)"},
    {"wrong-section", BASE "state = { lease_ms = 100; };\n",
     ":2: state.lease_ms: unknown key (did you mean dedup.lease_ms?)"},
    {"no-suggestion", BASE "state = { colour = \"red\"; };\n", ":2: state.colour: unknown key"},
    {"nested-group", BASE "state = { redis = { host = \"h\"; }; };\n",
     ":2: state.redis: unknown key"},
    {"provider-typo", PROV("{ name = \"l\"; type = \"log\"; timout_ms = 5; }"),
     ":2: providers[0].timout_ms: unknown key (did you mean providers[0].timeout_ms?)"},
    /* types */
    {"topics-string", "kafka = { brokers = \"b\"; group_id = \"g\";\n"
                      "  topics = \"acteon.actions\"; };\n",
     ":2: kafka.topics: expected a list of strings (got a string)"},
    {"topics-int", "kafka = { brokers = \"b\"; group_id = \"g\";\n  topics = [ 1 ]; };\n",
     ":2: kafka.topics: expected a list of strings (element 0 is an integer)"},
    {"threads-string", BASE "workers = { threads = \"8\"; };\n",
     ":2: workers.threads: expected an integer (got a string)"},
    {"threads-float", BASE "workers = { threads = 8.5; };\n",
     ":2: workers.threads: expected an integer (got a float)"},
    {"bool-int", BASE "audit = { enabled = 1; };\n",
     ":2: audit.enabled: expected true or false (got an integer)"},
    {"string-bool", BASE "state = { backend = true; };\n",
     ":2: state.backend: expected a string (got a boolean)"},
    {"section-scalar", BASE "workers = 4;\n",
     ":2: workers: expected a group { ... } (got an integer)"},
    {"providers-group", BASE "providers = { name = \"x\"; };\n",
     ":2: providers: expected a list of groups ( { ... }, ... ) (got a group)"},
    {"provider-string", PROV("\"log\""),
     ":2: providers[0]: expected a group { ... } (got a string)"},
    /* required */
    {"no-brokers", "kafka = { group_id = \"g\"; topics = [ \"t\" ]; };\n",
     ": kafka.brokers: required key missing"},
    {"no-group", "kafka = { brokers = \"b\"; topics = [ \"t\" ]; };\n",
     ": kafka.group_id: required key missing"},
    {"no-topics", "kafka = { brokers = \"b\"; group_id = \"g\"; };\n",
     ": kafka.topics: required key missing"},
    {"empty-file", "# nothing\n", ": kafka.brokers: required key missing"},
    {"topics-empty", "kafka = { brokers = \"b\"; group_id = \"g\";\n  topics = [ ]; };\n",
     ":2: kafka.topics: must not be empty"},
    {"brokers-empty", "kafka = { brokers = \"\"; group_id = \"g\"; topics = [ \"t\" ]; };\n",
     ":1: kafka.brokers: must not be empty"},
    {"worker-id-empty", BASE "worker_id = \"\";\n", ":2: worker_id: must not be empty"},
    {"provider-no-name", PROV("{ type = \"log\"; }"),
     ":2: providers[0].name: required key missing"},
    {"provider-no-type", PROV("{ name = \"x\"; }"),
     ":2: providers[0].type: required key missing"},
    {"providers-empty", BASE "providers = ( );\n", ":2: providers: must not be empty"},
    /* values */
    {"topic-space", "kafka = { brokers = \"b\"; group_id = \"g\";\n  topics = [ \"ok\",\n"
                    "    \"bad topic\" ]; };\n",
     ":3: kafka.topics[1]: invalid topic name \"bad topic\" (allowed: letters, digits, "
     "'.', '_', '-')"},
    {"reply-dotdot", "kafka = { brokers = \"b\"; group_id = \"g\"; topics = [ \"t\" ];\n"
                     "  reply_topic = \"..\"; };\n",
     ":2: kafka.reply_topic: \"..\" is not a valid topic name"},
    {"dlq-empty", "kafka = { brokers = \"b\"; group_id = \"g\"; topics = [ \"t\" ];\n"
                  "  dlq_topic = \"\"; };\n",
     ":2: kafka.dlq_topic: must not be empty"},
    {"property-no-key", "kafka = { brokers = \"b\"; group_id = \"g\"; topics = [ \"t\" ];\n"
                        "  properties = [ \"a=1\", \"=x\" ]; };\n",
     ":2: kafka.properties[1]: expected \"key=value\" with a non-empty key"},
    {"property-no-eq", "kafka = { brokers = \"b\"; group_id = \"g\"; topics = [ \"t\" ];\n"
                       "  properties = [ \"hunter2\" ]; };\n",
     ":2: kafka.properties[0]: expected \"key=value\" with a non-empty key"},
    {"log-level", BASE "log = { level = \"verbose\"; };\n",
     ":2: log.level: must be one of debug, info, warn, error (got \"verbose\")"},
    {"log-format", BASE "log = { format = \"xml\"; };\n",
     ":2: log.format: must be one of text, json (got \"xml\")"},
    {"provider-type", BASE "providers = (\n  { name = \"x\"; type = \"smtp\"; }\n);\n",
     ":3: providers[0].type: must be one of log, webhook, noop (got \"smtp\")"},
    {"provider-dup", BASE "providers = ( { name = \"a\"; type = \"log\"; },\n"
                          "  { name = \"a\"; type = \"noop\"; } );\n",
     ":3: providers[1].name: \"a\" is already used by providers[0]"},
    {"provider-name-empty", PROV("{ name = \"\"; type = \"log\"; }"),
     ":2: providers[0].name: must not be empty"},
    {"webhook-no-url", BASE "providers = (\n  { name = \"w\"; type = \"webhook\"; }\n);\n",
     ":3: providers[0].url: required for type webhook (an http:// or https:// URL)"},
    {"webhook-ftp", BASE "providers = ( { name = \"w\"; type = \"webhook\";\n"
                         "  url = \"ftp://u:pw@h/x\"; } );\n",
     ":3: providers[0].url: must start with http:// or https://"},
    {"backoff-order", PROV("{ name = \"l\"; type = \"log\"; backoff_base_ms = 500;"
                           " backoff_max_ms = 100; }"),
     ":2: providers[0].backoff_max_ms: must be >= backoff_base_ms (500) (got 100)"},
    {"max-concurrency-zero", PROV("{ name = \"w\"; type = \"webhook\"; url = \"http://h/\";"
                                  " max_concurrency = 0; }"),
     ":2: providers[0].max_concurrency: must be between 1 and 1024 (got 0)"},
    /* across keys */
    {"reply-is-input", "kafka = { brokers = \"b\"; group_id = \"g\"; topics = [ \"a\", \"r\" ];\n"
                       "  reply_topic = \"r\"; };\n",
     ": kafka.reply_topic: must not be one of kafka.topics (\"r\" is consumed)"},
    {"dlq-is-input", "kafka = { brokers = \"b\"; group_id = \"g\";\n"
                     "  topics = [ \"acteon.dlq\" ]; };\n",
     ": kafka.dlq_topic: must not be one of kafka.topics (\"acteon.dlq\" is consumed)"},
    {"window-bytes-below-message", BASE "workers = { max_in_flight_bytes = 500000; };\n"
                                        "ingest = { max_message_bytes = 600000; };\n",
     ": workers.max_in_flight_bytes: must be at least ingest.max_message_bytes (600000)"},
    /* rules */
    {"rule-verdict", BASE "rules = ( { name = \"r\"; verdict = \"drop\"; } );\n",
     ":2: rules[0].verdict: must be one of suppress, throttle, lock, state_machine, group, chain "
     "(got \"drop\")"},
    {"rule-group-no-by", BASE "rules = ( { name = \"g\"; verdict = \"group\"; } );\n",
     ":2: rules[0].group_by: required for verdict group (a template, e.g. "
     "\"{payload.host}\")"},
    {"rule-group-provider", BASE "rules = ( { name = \"g\"; verdict = \"group\";\n"
                                 "  group_by = \"{tenant}\"; group_provider = \"pagr\"; } );\n",
     ": rules[0].group_provider: no provider named \"pagr\" in providers"},
    {"rule-group-retention", BASE "rules = ( { name = \"g\"; verdict = \"group\";\n"
                                  "  group_by = \"{tenant}\"; window_ms = 3600000;\n"
                                  "  group_retention_s = 3600; } );\n",
     ":4: rules[0].group_retention_s: at least 2 * window_ms + 60 s (7260 s here): a group "
     "must outlive its window and its flush"},
    {"rule-no-name", BASE "rules = ( { name = \"a\"; verdict = \"suppress\"; },\n"
                          "  { verdict = \"suppress\"; } );\n",
     ":3: rules[1].name: required key missing"},
    {"rule-no-verdict", BASE "rules = ( { name = \"a\"; } );\n",
     ":2: rules[0].verdict: required key missing"},
    {"rule-dup", BASE "rules = ( { name = \"a\"; verdict = \"suppress\"; },\n"
                      "  { name = \"a\"; verdict = \"suppress\"; } );\n",
     ":3: rules[1].name: \"a\" is already used by rules[0]"},
    {"rule-template", BASE "rules = ( { name = \"a\"; verdict = \"suppress\"; },\n"
                           "  { name = \"t\"; verdict = \"throttle\"; max_count = 5;\n"
                           "    window_s = 60;\n    key = \"{tenant}:{user}\"; } );\n",
     ":5: rules[1].key: unknown field {user} (known: {namespace} {tenant} {provider} "
     "{action_type} {id} {dedup_key} {payload.a.b} {metadata.k})"},
    {"rule-template-open", BASE "rules = ( { name = \"t\"; verdict = \"throttle\";\n"
                                "  max_count = 5; window_s = 60; key = \"x{tenant\"; } );\n",
     ":3: rules[0].key: unclosed { at offset 1"},
    {"rule-template-path", BASE "rules = ( { name = \"t\"; verdict = \"throttle\";\n"
                                "  max_count = 5; window_s = 60; key = \"{payload.a..b}\"; } );\n",
     ":3: rules[0].key: {payload.a..b}: empty member name in the path"},
    {"rule-no-key", BASE "rules = ( { name = \"t\"; verdict = \"throttle\"; max_count = 5;\n"
                         "  window_s = 60; } );\n",
     ":2: rules[0].key: required for verdict throttle (a template, e.g. \"{tenant}\")"},
    {"rule-max-count", BASE "rules = ( { name = \"a\"; verdict = \"suppress\"; },\n"
                            "  { name = \"t\"; verdict = \"throttle\"; key = \"{tenant}\";\n"
                            "    max_count = 0; window_s = 60; } );\n",
     ":4: rules[1].max_count: required for verdict throttle: at least 1 (got 0)"},
    {"rule-max-count-neg", BASE "rules = ( { name = \"t\"; verdict = \"throttle\";\n"
                                "  key = \"{tenant}\"; max_count = -1; window_s = 60; } );\n",
     ":3: rules[0].max_count: must be between 0 and 1000000000 (got -1)"},
    {"rule-window", BASE "rules = ( { name = \"t\"; verdict = \"throttle\"; key = \"{tenant}\";\n"
                         "  max_count = 5; } );\n",
     ":2: rules[0].window_s: required for verdict throttle: at least 1 (got 0)"},
    {"rule-on-limit", BASE "rules = ( { name = \"t\"; verdict = \"throttle\"; key = \"{tenant}\";\n"
                           "  max_count = 5; window_s = 60; on_limit = \"drop\"; } );\n",
     ":3: rules[0].on_limit: must be one of reject, delay (got \"drop\")"},
    {"rule-lock-no-key", BASE "rules = ( { name = \"a\"; verdict = \"suppress\"; },\n"
                              "  { name = \"l\"; verdict = \"lock\"; } );\n",
     ":3: rules[1].key: required for verdict lock (a template, e.g. \"{tenant}\")"},
    {"rule-lock-ttl", BASE "rules = ( { name = \"a\"; verdict = \"suppress\"; },\n"
                           "  { name = \"l\"; verdict = \"lock\"; key = \"{tenant}\";\n"
                           "    lock_ttl_ms = 0; } );\n",
     ":4: rules[1].lock_ttl_ms: must be between 100 and 86400000 (got 0)"},
    {"rule-lock-wait", BASE "rules = ( { name = \"l\"; verdict = \"lock\"; key = \"{tenant}\";\n"
                            "  max_wait_ms = -5; } );\n",
     ":3: rules[0].max_wait_ms: must be between 0 and 86400000 (got -5)"},
    {"rule-lock-on-timeout", BASE "rules = ( { name = \"l\"; verdict = \"lock\";\n"
                                  "  key = \"{tenant}\"; on_timeout = \"retry\"; } );\n",
     ":3: rules[0].on_timeout: must be one of fail, dlq (got \"retry\")"},
    {"rule-match-typo", BASE "rules = ( { name = \"a\"; verdict = \"suppress\";\n"
                             "  match = { tenat = \"x\"; }; } );\n",
     ":3: rules[0].match.tenat: unknown key (did you mean rules[0].match.tenant?)"},
    {"rule-match-scalar", BASE "rules = ( { name = \"a\"; verdict = \"suppress\";\n"
                               "  match = \"x\"; } );\n",
     ":3: rules[0].match: expected a group { ... } (got a string)"},
    {"rule-metadata-int", BASE "rules = ( { name = \"a\"; verdict = \"suppress\";\n"
                               "  match = { metadata = { env = 1; }; }; } );\n",
     ":3: rules[0].match.metadata.env: expected a string (got an integer)"},
    /* state machines */
    {"sm-no-machine", BASE "rules = ( { name = \"s\"; verdict = \"state_machine\"; } );\n",
     ":2: rules[0].machine: required for verdict state_machine (the name of one of "
     "state_machines)"},
    {"sm-unknown-machine", BASE "rules = ( { name = \"s\"; verdict = \"state_machine\";\n"
                                "  machine = \"nope\"; } );\n",
     ": rules[0].machine: no state machine named \"nope\" in state_machines"},
    {"sm-initial", SM("initial = \"new\";", ""),
     ":3: state_machines[0].initial: unknown state \"new\" (not in states)"},
    {"sm-from", SM("initial = \"open\";", "{ from = [\"open\", \"gone\"]; to = \"acked\";"
                   " on = \"ack\"; }"),
     ":2: state_machines[0].transitions[0].from: unknown state \"gone\" (not in states)"},
    {"sm-to", SM("initial = \"open\";", "{ from = [\"open\"]; to = \"gone\"; on = \"ack\"; }"),
     ":2: state_machines[0].transitions[0].to: unknown state \"gone\" (not in states)"},
    {"sm-dup-pair", SM("initial = \"open\";",
                       "{ from = [\"open\"]; to = \"acked\"; on = \"ack\"; },\n"
                       "  { from = [\"acked\", \"open\"]; to = \"resolved\"; on = \"ack\"; }"),
     ":2: state_machines[0].transitions[1].from: (\"open\", on \"ack\") is already the "
     "transition of transitions[0]"},
    {"sm-no-from", SM("initial = \"open\";", "{ from = []; to = \"acked\"; on = \"ack\"; }"),
     ":4: state_machines[0].transitions[0].from: must not be empty"},
    {"sm-dup-state", BASE "state_machines = ( { name = \"m\"; fingerprint = \"{id}\";\n"
                          "  initial = \"a\"; states = [\"a\", \"a\"]; transitions = (); } );\n",
     ":3: state_machines[0].states: \"a\" is listed twice"},
    {"sm-state-name", BASE "state_machines = ( { name = \"m\"; fingerprint = \"{id}\";\n"
                           "  initial = \"a\"; states = [\"a\", \"b:c\"]; transitions = (); } );\n",
     ":3: state_machines[0].states[1]: a state name is 1..64 of [A-Za-z0-9_.-] (got \"b:c\")"},
    {"sm-fingerprint", BASE "state_machines = ( { name = \"m\"; fingerprint = \"{payload.}\";\n"
                            "  initial = \"a\"; states = [\"a\"]; transitions = (); } );\n",
     ":2: state_machines[0].fingerprint: unknown field {payload.} (known: {namespace} "
     "{tenant} {provider} {action_type} {id} {dedup_key} {payload.a.b} {metadata.k})"},
    {"sm-timeout-state", SMT("{ in = \"later\"; after_s = 60; to = \"stale\"; }"),
     ":2: state_machines[0].timeouts[0].in: unknown state \"later\" (not in states)"},
    {"sm-timeout-self", SMT("{ in = \"open\"; after_s = 60; to = \"open\"; }"),
     ":2: state_machines[0].timeouts[0].to: must differ from in (\"open\")"},
    {"sm-timeout-twice", SMT("{ in = \"open\"; after_s = 60; to = \"stale\"; },\n"
                             "  { in = \"open\"; after_s = 90; to = \"resolved\"; }"),
     ":2: state_machines[0].timeouts[1].in: state \"open\" already has a timeout "
     "(timeouts[0])"},
    {"sm-timeout-zero", SMT("{ in = \"open\"; after_s = 0; to = \"stale\"; }"),
     ":4: state_machines[0].timeouts[0].after_s: must be between 1 and 31536000 (got 0)"},
    {"sm-retention", SMT("{ in = \"open\"; after_s = 604800; to = \"stale\"; }"),
     ":2: state_machines[0].retention_s: must be longer than timeouts[0].after_s (604800) "
     "(got 604800)"},
    /* syntax */
    {"syntax", BASE "workers = { threads = = 8; };\n", ":2: syntax error"},
    {"duplicate", BASE "workers = { threads = 1;\n  threads = 2; };\n",
     ":3: duplicate setting name"},
};

static void test_error_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        const error_case *c = &error_cases[i];
        char path[512], expect[1024];
        aw_config *cfg = (aw_config *)&path; /* must be reset to NULL */
        aw_error err = {0};
        temp_conf(c->name, c->text, path, sizeof(path));
        aw_status rc = aw_config_load_file(path, &cfg, &err);
        snprintf(expect, sizeof(expect), "%s%s", path, c->expect);
        if (rc != AW_CONFIG || strcmp(err.msg, expect) != 0)
            fail_msg("case %s: rc=%d\n  got:    %s\n  wanted: %s", c->name, rc, err.msg,
                     expect);
        assert_null(cfg);
        unlink(path);
    }
}

/* The same messages name "<string>" when there is no file. */
static void test_error_from_string(void **state)
{
    (void)state;
    aw_config *cfg = NULL;
    aw_error err = {0};
    assert_int_equal(aw_config_load_string(BASE "workers = { threads = 0; };\n", &cfg, &err),
                     AW_CONFIG);
    assert_string_equal(err.msg, "<string>:2: workers.threads: must be between 1 and 1024 (got 0)");
    assert_null(cfg);
    assert_int_equal(aw_config_load_string("kafka = {};", &cfg, &err), AW_CONFIG);
    assert_string_equal(err.msg, "<string>: kafka.brokers: required key missing");
}

static void test_topic_too_long(void **state)
{
    (void)state;
    char text[1024], topic[251];
    aw_config *cfg = NULL;
    aw_error err = {0};
    memset(topic, 'a', 250);
    topic[250] = '\0';
    snprintf(text, sizeof(text),
             "kafka = { brokers = \"b\"; group_id = \"g\"; topics = [ \"%s\" ]; };\n", topic);
    assert_int_equal(aw_config_load_string(text, &cfg, &err), AW_CONFIG);
    assert_string_equal(err.msg,
                        "<string>:1: kafka.topics[0]: topic name must be 1 to 249 characters "
                        "(got 250)");
    topic[249] = '\0'; /* 249 is the limit */
    snprintf(text, sizeof(text),
             "kafka = { brokers = \"b\"; group_id = \"g\"; topics = [ \"%s\" ]; };\n", topic);
    cfg = load_ok(text);
    aw_config_destroy(cfg);
}

static void test_missing_file(void **state)
{
    (void)state;
    char path[512], expect[600];
    aw_config *cfg = NULL;
    aw_error err = {0};
    snprintf(path, sizeof(path), "%s/does-not-exist.conf", g_tmpdir);
    assert_int_equal(aw_config_load_file(path, &cfg, &err), AW_CONFIG);
    snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err.msg, expect);
    assert_null(cfg);
}

static void test_destroy_null(void **state)
{
    (void)state;
    aw_config_destroy(NULL);
}

/* ---- environment overrides ---------------------------------------------- */

static void test_env_overrides(void **state)
{
    (void)state;
    setenv("ACTEON_WORKERS_THREADS", "16", 1);
    setenv("ACTEON_STATE_URL", "redis://:pw@h:6379/0", 1);
    setenv("ACTEON_KAFKA_BROKERS", "k9:9092", 1);
    setenv("ACTEON_AUDIT_ENABLED", "false", 1);
    setenv("ACTEON_DEDUP_WINDOW_S", "3000000000", 1);
    setenv("ACTEON_LOG_LEVEL", "warn", 1);
    setenv("ACTEON_WORKER_ID", "pod-7", 1);
    setenv("ACTEON_KAFKA_TOPICS", "ignored", 1); /* lists are not overridable */
    aw_config *cfg = load_ok(BASE "workers = { threads = 2; };\n");
    assert_int_equal(cfg->workers.threads, 16);
    assert_string_equal(cfg->state.url, "redis://:pw@h:6379/0");
    assert_string_equal(cfg->kafka.brokers, "k9:9092");
    assert_false(cfg->audit.enabled);
    assert_true(cfg->dedup.window_s == 3000000000LL);
    assert_string_equal(cfg->log.level, "warn");
    assert_string_equal(cfg->worker_id, "pod-7");
    assert_int_equal(cfg->kafka.n_topics, 1);
    assert_string_equal(cfg->kafka.topics[0], "t");
    aw_config_destroy(cfg);

    /* The dev configuration honours them too. */
    assert_int_equal(aw_config_dev_default(&cfg, NULL), AW_OK);
    assert_int_equal(cfg->workers.threads, 16);
    assert_string_equal(cfg->kafka.brokers, "k9:9092");
    aw_config_destroy(cfg);
}

static void test_env_supplies_required(void **state)
{
    (void)state;
    setenv("ACTEON_KAFKA_BROKERS", "k:9092", 1);
    aw_config *cfg = load_ok("kafka = { group_id = \"g\"; topics = [ \"t\" ]; };\n");
    assert_string_equal(cfg->kafka.brokers, "k:9092");
    aw_config_destroy(cfg);
}

typedef struct env_case {
    const char *var, *value, *expect;
} env_case;

static const env_case env_cases[] = {
    {"ACTEON_WORKERS_THREADS", "0",
     "env ACTEON_WORKERS_THREADS: workers.threads: must be between 1 and 1024 (got 0)"},
    {"ACTEON_WORKERS_THREADS", "eight",
     "env ACTEON_WORKERS_THREADS: workers.threads: expected an integer (got \"eight\")"},
    {"ACTEON_WORKERS_THREADS", "8x",
     "env ACTEON_WORKERS_THREADS: workers.threads: expected an integer (got \"8x\")"},
    {"ACTEON_WORKERS_THREADS", "",
     "env ACTEON_WORKERS_THREADS: workers.threads: expected an integer (got \"\")"},
    {"ACTEON_AUDIT_ENABLED", "maybe",
     "env ACTEON_AUDIT_ENABLED: audit.enabled: expected true or false (got \"maybe\")"},
    {"ACTEON_LOG_LEVEL", "loud",
     "env ACTEON_LOG_LEVEL: log.level: must be one of debug, info, warn, error (got \"loud\")"},
    {"ACTEON_KAFKA_BROKERS", "",
     "env ACTEON_KAFKA_BROKERS: kafka.brokers: must not be empty"},
    {"ACTEON_KAFKA_REPLY_TOPIC", "a b",
     "env ACTEON_KAFKA_REPLY_TOPIC: kafka.reply_topic: invalid topic name \"a b\" "
     "(allowed: letters, digits, '.', '_', '-')"},
    {"ACTEON_DEDUP_LEASE_MS", "10",
     "env ACTEON_DEDUP_LEASE_MS: dedup.lease_ms: must be between 100 and 86400000 (got 10)"},
};

static void test_env_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
        aw_config *cfg = NULL;
        aw_error err = {0};
        setenv(env_cases[i].var, env_cases[i].value, 1);
        assert_int_equal(aw_config_load_string(BASE, &cfg, &err), AW_CONFIG);
        assert_null(cfg);
        if (strcmp(err.msg, env_cases[i].expect) != 0)
            fail_msg("%s=%s\n  got:    %s\n  wanted: %s", env_cases[i].var,
                     env_cases[i].value, err.msg, env_cases[i].expect);
        unsetenv(env_cases[i].var);
    }
}

static void test_env_bool_spellings(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool want;
    } cases[] = {{"true", true}, {"TRUE", true}, {"1", true},  {"yes", true},
                 {"on", true},   {"false", false}, {"0", false}, {"No", false}, {"off", false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv("ACTEON_STATE_ALLOW_EVENTUAL_CONSISTENCY", cases[i].v, 1);
        aw_config *cfg = load_ok(BASE "state = { allow_eventual_consistency = "
                                      "false; };\n");
        if (cfg->state.allow_eventual_consistency != cases[i].want)
            fail_msg("%s", cases[i].v);
        aw_config_destroy(cfg);
    }
}

/* A bad variable leaves the configuration as it was (validate, then apply). */
static void test_apply_env_atomic(void **state)
{
    (void)state;
    unsetenv("ACTEON_WORKERS_THREADS");
    aw_config *cfg = load_ok(BASE);
    aw_error err = {0};
    setenv("ACTEON_KAFKA_BROKERS", "other:9092", 1);
    setenv("ACTEON_WORKERS_THREADS", "0", 1);
    assert_int_equal(aw_config_apply_env(cfg, &err), AW_CONFIG);
    assert_string_equal(cfg->kafka.brokers, "b:9092");
    assert_int_equal(cfg->workers.threads, 8);
    setenv("ACTEON_WORKERS_THREADS", "3", 1);
    assert_int_equal(aw_config_apply_env(cfg, &err), AW_OK);
    assert_string_equal(cfg->kafka.brokers, "other:9092");
    assert_int_equal(cfg->workers.threads, 3);
    aw_config_destroy(cfg);
}

/* ---- printing ----------------------------------------------------------- */

static const char secrets_conf[] =
    "kafka = { brokers = \"b:9092\"; group_id = \"g\"; topics = [ \"t\" ];\n"
    "  properties = [ \"security.protocol=SASL_SSL\",\n"
    "                 \"sasl.password=s3cr3tF\", \"ssl.key.password=s3cr3tG\",\n"
    "                 \"sasl.oauthbearer.config=s3cr3tH\",\n"
    "                 \"sasl.oauthbearer.client.secret=s3cr3tI\",\n"
    "                 \"ssl.key.pem=s3cr3tJ\", \"my.signing.key=s3cr3tK\",\n"
    "                 \"SASL.PASSWORD=s3cr3tL\" ]; };\n"
    "state = { backend = \"redis\"; url = \"redis://user:s3cr3tA@h:6379/0\"; };\n"
    "audit = { backend = \"postgres\";\n"
    "  url = \"postgres://u:s3cr3tB@h/db?sslmode=require&password=s3cr3tC\"; };\n"
    "providers = ( { name = \"w\"; type = \"webhook\";\n"
    "                url = \"https://u:s3cr3tD@hook.example/x?token=s3cr3tE\"; } );\n";

static void test_print_masks_secrets(void **state)
{
    (void)state;
    aw_config *cfg = load_ok(secrets_conf);
    char *out = print_to_string(cfg);
    if (strstr(out, "s3cr3t"))
        fail_msg("a secret was printed:\n%s", out);
    assert_non_null(strstr(out, "\"security.protocol=SASL_SSL\""));
    assert_non_null(strstr(out, "\"sasl.password=***\""));
    assert_non_null(strstr(out, "\"ssl.key.pem=***\""));
    assert_non_null(strstr(out, "\"my.signing.key=***\""));
    assert_non_null(strstr(out, "\"redis://user:***@h:6379/0\""));
    assert_non_null(strstr(out, "sslmode=require&password=***"));
    assert_non_null(strstr(out, "https://u:***@hook.example/x?token=***"));
    /* Masked output is still a loadable configuration. */
    aw_config *again = load_ok(out);
    assert_string_equal(again->kafka.properties[1], "sasl.password=***");
    assert_string_equal(again->kafka.properties[0], "security.protocol=SASL_SSL");
    aw_config_destroy(again);
    free(out);

    /* The secrets are in the struct itself, untouched. */
    assert_string_equal(cfg->state.url, "redis://user:s3cr3tA@h:6379/0");
    assert_string_equal(cfg->kafka.properties[1], "sasl.password=s3cr3tF");
    aw_config_destroy(cfg);
}

/* Error messages do not echo secrets either. */
static void test_errors_hide_secrets(void **state)
{
    (void)state;
    aw_config *cfg = NULL;
    aw_error err = {0};
    assert_int_equal(aw_config_load_string(BASE "providers = ( { name = \"w\"; type = \"webhook\";"
                                                " url = \"ftp://u:s3cr3t@h/\"; } );\n",
                                           &cfg, &err),
                     AW_CONFIG);
    assert_null(strstr(err.msg, "s3cr3t"));
    assert_int_equal(aw_config_load_string("kafka = { brokers = \"b\"; group_id = \"g\";"
                                           " topics = [ \"t\" ];"
                                           " properties = [ \"s3cr3t\" ]; };\n",
                                           &cfg, &err),
                     AW_CONFIG);
    assert_null(strstr(err.msg, "s3cr3t"));
}

/* Rules print and load back the same; templates parsed at load. */
static void test_round_trip_rules(void **state)
{
    (void)state;
    aw_config *cfg = load_ok(
        BASE "rules = (\n"
        "  { name = \"quiet\"; match = { tenant = \"test-*\"; metadata = { env = \"st\\\"g\";"
        " team = \"a\"; }; }; verdict = \"suppress\"; },\n"
        "  { name = \"lim\"; enabled = false; match = { provider = \"web*\"; };\n"
        "    verdict = \"throttle\"; key = \"{tenant}:{payload.user.id}\"; max_count = 100;"
        " window_s = 3600; },\n"
        "  { name = \"one\"; verdict = \"lock\"; key = \"{payload.account}\"; lock_ttl_ms = 5000;"
        " on_timeout = \"dlq\"; }\n);\n");
    assert_int_equal(cfg->n_rules, 3);
    assert_int_equal(cfg->rules[2].lock_ttl_ms, 5000);
    assert_int_equal(cfg->rules[2].max_wait_ms, 60000);
    assert_string_equal(cfg->rules[2].on_timeout, "dlq");
    assert_non_null(cfg->rules[2].key_template);
    assert_int_equal(cfg->rules[0].lock_ttl_ms, 30000); /* defaults on every rule */
    assert_string_equal(cfg->rules[0].match_namespace, "*");
    assert_string_equal(cfg->rules[0].match_tenant, "test-*");
    assert_int_equal(cfg->rules[0].n_match_metadata, 2);
    assert_string_equal(cfg->rules[0].match_metadata[0], "env");
    assert_string_equal(cfg->rules[0].match_metadata[1], "st\"g");
    assert_true(cfg->rules[0].enabled);
    assert_null(cfg->rules[0].key_template);
    assert_false(cfg->rules[1].enabled);
    assert_non_null(cfg->rules[1].key_template);
    assert_int_equal(cfg->rules[1].key_template->n_parts, 3);
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
    /* none by default */
    cfg = load_ok(BASE);
    assert_int_equal(cfg->n_rules, 0);
    aw_config_destroy(cfg);
}

static void test_round_trip_shape(void **state)
{
    (void)state;
    aw_config *cfg = load_ok(shape_conf);
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
}

/* ---- reference ---------------------------------------------------------- */

static const char *const all_keys[] = {
    "worker_id",
    "kafka.brokers",
    "kafka.group_id",
    "kafka.topics",
    "kafka.reply_topic",
    "kafka.dlq_topic",
    "kafka.properties",
    "kafka.embedded_partitions",
    "state.backend",
    "state.url",
    "state.key_prefix",
    "state.allow_eventual_consistency",
    "audit.enabled",
    "audit.backend",
    "audit.url",
    "audit.retention_s",
    "workers.threads",
    "workers.max_in_flight",
    "workers.batch_size",
    "workers.shutdown_timeout_ms",
    "workers.rebalance_timeout_ms",
    "dedup.window_s",
    "dedup.lease_ms",
    "dedup.busy_retry_ms",
    "ingest.max_message_bytes",
    "log.level",
    "log.format",
    "providers",
    "providers[].name",
    "providers[].type",
    "providers[].url",
    "providers[].timeout_ms",
    "providers[].max_attempts",
    "providers[].backoff_base_ms",
    "providers[].backoff_max_ms",
    "providers[].max_concurrency",
    "rules",
    "rules[].name",
    "rules[].enabled",
    "rules[].match",
    "rules[].match.namespace",
    "rules[].match.tenant",
    "rules[].match.provider",
    "rules[].match.action_type",
    "rules[].match.metadata",
    "rules[].verdict",
    "rules[].key",
    "rules[].max_count",
    "rules[].window_s",
    "rules[].on_limit",
    "rules[].lock_ttl_ms",
    "rules[].max_wait_ms",
    "rules[].on_timeout",
    "rules[].machine",
    "state_machines",
    "state_machines[].name",
    "state_machines[].fingerprint",
    "state_machines[].initial",
    "state_machines[].states",
    "state_machines[].transitions",
    "state_machines[].transitions[].from",
    "state_machines[].transitions[].to",
    "state_machines[].transitions[].on",
    "state_machines[].timeouts",
    "state_machines[].timeouts[].in",
    "state_machines[].timeouts[].after_s",
    "state_machines[].timeouts[].to",
    "state_machines[].retention_s",
    "rules[].chain",
    "chains",
    "chains[].name",
    "chains[].steps",
    "chains[].steps[].name",
    "chains[].steps[].provider",
    "chains[].steps[].action_type",
    "chains[].steps[].payload",
    "chains[].steps[].max_attempts",
    "chains[].steps[].on_failure",
    "chains[].steps[].on_success",
    "chains[].retention_s",
    "chains[].result_max_bytes",
};

static void test_reference(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    aw_config_print_reference(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "\n%s\n", all_keys[i]);
        if (!strstr(buf, line))
            fail_msg("reference lacks %s:\n%s", all_keys[i], buf);
    }
    assert_non_null(strstr(buf, "integer, default 8, 1..1024, env ACTEON_WORKERS_THREADS"));
    assert_non_null(strstr(buf, "one of debug, info, warn, error"));
    assert_non_null(strstr(buf, "default <hostname>-<pid>"));
    /* Lists have no environment variable. */
    assert_null(strstr(buf, "ACTEON_KAFKA_TOPICS"));
    assert_null(strstr(buf, "ACTEON_PROVIDERS"));
    assert_non_null(strstr(buf, "secret (masked when printed)"));
    free(buf);
}

/* A state machine loads as written, its rule resolved to it and given its
 * fingerprint as the key template; printed, it loads the same. */
static void test_state_machine(void **state)
{
    (void)state;
    aw_config *cfg = load_ok(BASE "rules = ( { name = \"sm\"; verdict = \"state_machine\";\n"
                                  "  machine = \"inc\"; match = { action_type = \"*\"; }; } );\n"
                                  INCIDENT_MACHINE);
    assert_int_equal(cfg->n_machines, 1);
    const aw_machine_config *m = &cfg->machines[0];
    assert_ptr_equal(cfg->rules[0].machine_cfg, m);
    assert_non_null(cfg->rules[0].key_template);
    assert_string_equal(m->initial, "open");
    assert_int_equal(m->n_states, 4);
    assert_int_equal(m->n_transitions, 3);
    assert_int_equal(m->transitions[1].n_from, 2);
    assert_string_equal(m->transitions[1].from[1], "acked");
    assert_int_equal(m->n_timeouts, 1);
    assert_int_equal(m->timeouts[0].after_s, 600);
    assert_int_equal(m->retention_s, 86400);
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
}

/* A chain loads as written, its rule resolved to it, its steps' jumps
 * resolved and templates parsed; printed, it loads the same. */
static void test_chain(void **state)
{
    (void)state;
    aw_config *cfg = load_ok(BASE "providers = ( { name = \"log\"; type = \"log\"; } );\n"
                                  "rules = ( { name = \"orders\"; verdict = \"chain\";"
                                  " chain = \"order\"; } );\n" ORDER_CHAIN);
    assert_int_equal(cfg->n_chains, 1);
    const aw_chain_config *c = &cfg->chains[0];
    assert_ptr_equal(cfg->rules[0].chain_cfg, c);
    assert_int_equal(c->n_steps, 3);
    assert_int_equal(c->retention_s, 3600);
    assert_int_equal(c->result_max_bytes, 65536);
    assert_int_equal(c->steps[0].on_success_step, 2);  /* "c" */
    assert_int_equal(c->steps[0].on_failure_step, -1); /* abort */
    assert_int_equal(c->steps[1].on_success_step, 2);  /* the next */
    assert_int_equal(c->steps[1].on_failure_step, 2);
    assert_int_equal(c->steps[1].max_attempts, 3);
    assert_int_equal(c->steps[2].on_success_step, 3);  /* the end */
    assert_non_null(c->steps[2].payload_template);
    assert_int_equal(c->steps[2].payload_template->n_parts, 5);
    assert_string_equal(c->steps[0].payload, "{}");
    assert_round_trip(cfg);
    aw_config_destroy(cfg);
}

/* Every key appears in the printed configuration, defaults included. */
static void test_print_lists_every_key(void **state)
{
    (void)state;
    /* A list's element keys are printed with its elements, each rule's
     * those of its verdict: one rule of each. */
    aw_config *cfg = load_ok(
        BASE "rules = ( { name = \"s\"; verdict = \"suppress\"; },\n"
             "  { name = \"t\"; verdict = \"throttle\"; key = \"{tenant}\"; max_count = 1;"
             " window_s = 1; },\n"
             "  { name = \"l\"; verdict = \"lock\"; key = \"{tenant}\"; },\n"
             "  { name = \"m\"; verdict = \"state_machine\"; machine = \"inc\"; },\n"
             "  { name = \"c\"; verdict = \"chain\"; chain = \"order\"; } );\n"
             "providers = ( { name = \"log\"; type = \"log\"; } );\n"
             INCIDENT_MACHINE ORDER_CHAIN);
    char *out = print_to_string(cfg);
    for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
        const char *leaf = strrchr(all_keys[i], '.');
        char needle[128];
        snprintf(needle, sizeof(needle), "%s = ", leaf ? leaf + 1 : all_keys[i]);
        if (!strstr(out, needle))
            fail_msg("printed config lacks %s:\n%s", all_keys[i], out);
    }
    /* The suppress rule's block ends before the throttle's: no key,
     * max_count or lock_ttl_ms in it; the throttle has no lock keys. */
    size_t sup = at(out, "name = \"s\";", 0), thr = at(out, "name = \"t\";", 0),
           lck = at(out, "name = \"l\";", 0);
    assert_true(sup < thr && thr < lck && lck < SIZE_MAX);
    assert_true(at(out, "key = ", sup) > thr);
    assert_true(at(out, "max_count = ", sup) > thr);
    assert_true(at(out, "lock_ttl_ms = ", sup) > lck);
    assert_true(at(out, "lock_ttl_ms = ", thr) > lck);
    assert_true(at(out, "machine = ", 0) > at(out, "name = \"m\";", 0));
    free(out);
    aw_config_destroy(cfg);
}

/* ---- main ---------------------------------------------------------------- */

static int make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(g_tmpdir, sizeof(g_tmpdir), "%s/aw-test-config-XXXXXX", base ? base : "/tmp");
    return mkdtemp(g_tmpdir) ? 0 : -1;
}

/* audit.batch_size follows the audit backend unless the file or the
 * environment gives it. */
static void test_backend_batch_default(void **state)
{
    (void)state;
    static const struct {
        const char *audit, *env;
        int want;
    } cases[] = {
        {"backend = \"clickhouse\"; url = \"http://h:8123/?database=d\";", NULL, 5000},
        {"backend = \"clickhouse\"; url = \"http://h:8123/?database=d\"; batch_size = 500;",
         NULL, 500},
        {"backend = \"clickhouse\"; url = \"http://h:8123/?database=d\";", "700", 700},
        {"backend = \"postgres\"; url = \"postgres://h/db\";", NULL, 500},
        {"backend = \"memory\"; url = \"\";", NULL, 500},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, BASE "audit = { enabled = true; %s };\n", cases[i].audit);
        if (cases[i].env)
            setenv("ACTEON_AUDIT_BATCH_SIZE", cases[i].env, 1);
        else
            unsetenv("ACTEON_AUDIT_BATCH_SIZE");
        aw_config *cfg = load_ok(text);
        if (cfg->audit.batch_size != cases[i].want)
            fail_msg("case %zu: batch_size %d, want %d", i, cfg->audit.batch_size,
                     cases[i].want);
        aw_config_destroy(cfg);
    }
    unsetenv("ACTEON_AUDIT_BATCH_SIZE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_shape, env_teardown),
        cmocka_unit_test_teardown(test_defaults, env_teardown),
        cmocka_unit_test_teardown(test_every_key_set, env_teardown),
        cmocka_unit_test_teardown(test_example_dev, env_teardown),
        cmocka_unit_test_teardown(test_example_local_webhook, env_teardown),
        cmocka_unit_test_teardown(test_dev_default, env_teardown),
        cmocka_unit_test_teardown(test_round_trip_escapes, env_teardown),
        cmocka_unit_test_teardown(test_include_relative, env_teardown),
        cmocka_unit_test_teardown(test_error_cases, env_teardown),
        cmocka_unit_test_teardown(test_error_from_string, env_teardown),
        cmocka_unit_test_teardown(test_topic_too_long, env_teardown),
        cmocka_unit_test_teardown(test_missing_file, env_teardown),
        cmocka_unit_test(test_destroy_null),
        cmocka_unit_test_teardown(test_env_overrides, env_teardown),
        cmocka_unit_test_teardown(test_env_supplies_required, env_teardown),
        cmocka_unit_test_teardown(test_env_errors, env_teardown),
        cmocka_unit_test_teardown(test_env_bool_spellings, env_teardown),
        cmocka_unit_test_teardown(test_apply_env_atomic, env_teardown),
        cmocka_unit_test_teardown(test_print_masks_secrets, env_teardown),
        cmocka_unit_test_teardown(test_errors_hide_secrets, env_teardown),
        cmocka_unit_test_teardown(test_round_trip_shape, env_teardown),
        cmocka_unit_test_teardown(test_round_trip_rules, env_teardown),
        cmocka_unit_test(test_reference),
        cmocka_unit_test_teardown(test_state_machine, env_teardown),
        cmocka_unit_test_teardown(test_chain, env_teardown),
        cmocka_unit_test_teardown(test_backend_batch_default, env_teardown),
        cmocka_unit_test_teardown(test_print_lists_every_key, env_teardown),
    };
    clear_acteon_env();
    if (make_tmpdir() != 0) {
        perror("mkdtemp");
        return 1;
    }
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(g_tmpdir); /* fails (harmlessly) if a failing case left files */
    return failed;
}
