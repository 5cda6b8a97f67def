/* Configuration: a libconfig file loaded through one key table
 * (config/config_keys.c) that gives every key its type, default, bounds and
 * help text. The same table drives validation, `config check` output, the
 * --help text and the config reference in the docs.
 *
 * Ownership: aw_config_load_*() return a new aw_config owned by the caller,
 * freed with aw_config_destroy(). Every string in it is a private copy (libconfig's
 * strings die with config_destroy()). The struct is read-only once loaded and
 * may then be shared by all threads without locking. */
#ifndef AW_CONFIG_H
#define AW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/aw_error.h"

typedef struct aw_provider_config {
    char *name;          /* unique; actions select it by their `provider` field */
    char *type;          /* "log", "webhook", "noop" */
    char *url;           /* webhook: target URL (may hold secrets: never logged) */
    char *ca_file;       /* webhook: CA bundle for https, "" = the system's */
    int timeout_ms;      /* per attempt */
    int max_attempts;    /* >= 1 */
    int backoff_base_ms; /* first retry delay; doubles per attempt, with jitter */
    int backoff_max_ms;
    int max_concurrency; /* webhook: calls in flight at once per worker thread */
} aw_provider_config;

/* One rule of the ordered `rules` list (docs/rules.md). The first enabled
 * rule whose match fits an action decides its verdict. */
struct aw_template;
typedef struct aw_rule_config {
    char *name;          /* unique; named in outcomes, rejections, metrics */
    bool enabled;
    char *match_namespace;   /* fnmatch globs, "*" = any */
    char *match_tenant;
    char *match_provider;
    char *match_action_type;
    char **match_metadata;   /* key, value, key, value ...: all must equal */
    size_t n_match_metadata; /* pairs */
    char *verdict;       /* "suppress", "throttle", "lock", "state_machine", "group" */
    char *key;           /* throttle, lock: key template */
    int64_t max_count;   /* throttle: executions per window and key */
    int64_t window_s;    /* throttle: fixed window length */
    char *on_limit;      /* throttle: "reject" (the only value for now) */
    int64_t lock_ttl_ms; /* lock: the lock's lease (renewed while the call runs) */
    int64_t max_wait_ms; /* lock: longest wait for the lock before on_timeout */
    char *on_timeout;    /* lock: "fail" or "dlq" */
    char *machine;       /* state_machine: the name of one of state_machines */
    char *chain;         /* chain: the name of one of chains */
    struct aw_template *key_template; /* throttle, lock: `key` parsed at load;
                                         state_machine: the machine's fingerprint */
    const struct aw_machine_config *machine_cfg; /* state_machine: resolved at load
                                                    (points into state_machines) */
    const struct aw_chain_config *chain_cfg; /* chain: resolved at load (points
                                                into chains) */
    /* group (docs/rules.md, "group"); key_template is group_by parsed. */
    char *group_by;          /* template naming an action's group */
    int64_t window_ms;       /* a group flushes this long after its first member */
    int64_t max_size;        /* ... or when it has this many members */
    int64_t max_bytes;       /* bound of the member list in the grouped call */
    char *group_provider;    /* the grouped call's provider; "": the first member's */
    char *group_action_type; /* its action_type; "": the first member's */
    int64_t group_retention_s; /* groups and member markers kept this long */
} aw_rule_config;

/* A state machine of state_machine rules (docs/rules.md, "state_machine"):
 * events named by a fingerprint move between states on actions. */
typedef struct aw_machine_transition {
    char **from;         /* the states it leaves (one or more) */
    size_t n_from;
    char *to;
    char *on;            /* the action_type that makes it */
} aw_machine_transition;

typedef struct aw_machine_timeout {
    char *in;            /* a state; entering it arms the timeout */
    int64_t after_s;
    char *to;
} aw_machine_timeout;

typedef struct aw_machine_config {
    char *name;          /* unique; the tenant of its events' state keys */
    char *fingerprint;   /* key template naming the event of an action */
    char *initial;       /* the state of an event never seen */
    char **states;
    size_t n_states;
    aw_machine_transition *transitions;
    size_t n_transitions;
    aw_machine_timeout *timeouts;
    size_t n_timeouts;
    int64_t retention_s; /* an event's record lives this long after its last change */
} aw_machine_config;

/* A chain of chain rules (docs/rules.md, "chain"): steps run one after
 * another by the scheduler, each a provider call of its own. */
struct aw_chain_template;
typedef struct aw_chain_step_config {
    char *name;          /* unique in its chain; [A-Za-z0-9_.-] */
    char *provider;      /* one of providers */
    char *action_type;
    char *payload;       /* template text (common/aw_chain_template.h) */
    int max_attempts;    /* runs of the step while its outcome is failed */
    char *on_failure;    /* "abort", or the name of a later step */
    char *on_success;    /* "" (the next step), "end", or a later step's name */
    struct aw_chain_template *payload_template; /* parsed at load */
    int on_failure_step; /* resolved at load: -1 abort, else a later index */
    int on_success_step; /* resolved at load: the index after an executed run;
                            n_steps = the end */
} aw_chain_step_config;

typedef struct aw_chain_config {
    char *name;          /* unique; the tenant of its chains' state keys */
    aw_chain_step_config *steps;
    size_t n_steps;
    int64_t retention_s; /* a chain's record lives this long after its last change */
    int64_t result_max_bytes; /* a step's answer body kept, at most */
} aw_chain_config;

typedef struct aw_config {
    char *source;        /* file name, or "<dev>" / "<string>" */
    char *worker_id;     /* default: hostname-pid */

    struct {
        char *brokers;   /* "embedded" starts an in-process mock cluster */
        char *group_id;
        char **topics;
        size_t n_topics;
        char *reply_topic;
        char *dlq_topic;
        char **reply_to_allow;  /* glob patterns a message's reply_to may name */
        size_t n_reply_to_allow;
        char **properties;   /* "key=value", passed to librdkafka as is */
        size_t n_properties;
        int embedded_partitions; /* partitions per topic of the embedded cluster */
        bool transactional_replies; /* replies, DLQ copies and offsets in one txn */
        int transaction_interval_ms; /* how often the open transaction commits */
        int fetch_stall_ms;  /* fetch-stall watchdog threshold, 0 = off */
    } kafka;

    struct {
        char *backend;
        char *url;
        char *key_prefix;
        bool allow_eventual_consistency;
    } state;

    struct {
        bool enabled;
        char *backend;
        char *url;
        int64_t retention_s;
        int batch_size;          /* records per backend call, at most (default
                                    500; AW_CLICKHOUSE_AUDIT_BATCH_SIZE with
                                    the clickhouse backend) */
        int flush_interval_ms;   /* longest wait for a batch to fill (0: none;
                                    AW_CLICKHOUSE_AUDIT_FLUSH_MS with clickhouse) */
        int queue_capacity;      /* records queued for the writers, at most */
        int writers;             /* writer threads */
        int cleanup_interval_s;  /* retention cleanup period, 0 = off */
        int cleanup_batch;       /* records deleted per cleanup call, at most */
        int connect_timeout_ms;  /* per connection attempt */
        int request_timeout_ms;  /* per backend call */
    } audit;

    struct {
        int threads;
        int max_in_flight;   /* messages consumed but not yet committed */
        int64_t max_in_flight_bytes; /* their bytes (value + key) */
        int batch_size;      /* micro-batch taken by a worker at once */
        int shutdown_timeout_ms; /* bound on draining in-flight work at exit */
        int rebalance_timeout_ms; /* bound on draining revoked partitions */
        char *dispatch;      /* "auto", "identity" or "key": which thread takes
                                a message (aw_config_dispatch_by_key) */
    } workers;

    struct {
        int64_t window_s;    /* done records live this long */
        int64_t lease_ms;    /* a claim's lease; renewed while executing */
        int64_t busy_retry_ms; /* first wait when another replica holds the lease */
        int recorder_threads;  /* write done records while calls run */
    } dedup;

    struct {
        int64_t max_message_bytes;
    } ingest;

    struct {                 /* scheduled actions (docs/scheduling.md) */
        int64_t poll_ms;     /* the scheduler's wait between empty takes */
        int64_t lease_ms;    /* lease of a taken due item (not renewed) */
        int batch_size;      /* due items taken at once */
        int64_t stats_interval_ms; /* due-index gauges refreshed this often; 0 = off */
    } schedule;

    struct {
        char *listen;        /* "host:port" of /metrics, /healthz, /readyz; "" = off */
    } http;

    struct {
        char *level;         /* debug, info, warn, error */
        char *format;        /* text, json */
    } log;

    aw_provider_config *providers;
    size_t n_providers;

    aw_rule_config *rules; /* in order; none = every action executes with dedup */
    size_t n_rules;

    aw_machine_config *machines; /* `state_machines`, used by state_machine rules */
    size_t n_machines;

    aw_chain_config *chains; /* `chains`, used by chain rules */
    size_t n_chains;
} aw_config;

/* The state machine named name in cfg->machines, or NULL. */
const aw_machine_config *aw_config_machine(const aw_config *cfg, const char *name);

/* The chain named name in cfg->chains, or NULL. */
const aw_chain_config *aw_config_chain(const aw_config *cfg, const char *name);

/* Load and validate. On error AW_CONFIG with err->msg naming the file, the
 * line (when libconfig knows it), the key and the problem, e.g.
 * "cfg.conf:7: workers.threads: must be between 1 and 1024 (got 0)". */
aw_status aw_config_load_file(const char *path, aw_config **out, aw_error *err);
aw_status aw_config_load_string(const char *text, aw_config **out, aw_error *err);

/* The configuration of `acteon-worker dev`: embedded Kafka (group
 * "acteon-dev", topic "acteon.actions"), memory state and audit, providers
 * "log" (type log) and "noop" (type noop); environment overrides apply. */
aw_status aw_config_dev_default(aw_config **out, aw_error *err);

/* Apply environment overrides ACTEON_<SECTION>_<KEY> (e.g. ACTEON_STATE_URL,
 * ACTEON_WORKER_ID) to scalar keys, validated like the file ("env VAR: key:
 * problem"). Lists (topics, properties, providers) are not overridable.
 * Called by the loaders (aw_config_dev_default too); exposed for tests. All
 * variables are validated before any is applied: on error cfg is unchanged.
 * Rules spanning keys (reply_topic not among topics) are the loaders' job. */
aw_status aw_config_apply_env(aw_config *cfg, aw_error *err);

void aw_config_destroy(aw_config *cfg);

/* Print the effective configuration in libconfig syntax, secrets masked
 * (URL passwords via aw_redact_url; values of kafka properties whose name
 * contains "password", "secret", "sasl.oauthbearer.config" or ".key." or ends
 * in ".key"). Without secrets the output loads back to an equal config. */
void aw_config_print(const aw_config *cfg, FILE *out);

/* Print the key reference (key, type, default, help) from the key table. */
void aw_config_print_reference(FILE *out);

/* Find a provider by name; NULL if none. */
const aw_provider_config *aw_config_find_provider(const aw_config *cfg, const char *name);

/* Do messages go to worker threads by their Kafka key (true) or by their
 * dedup identity? workers.dispatch "key", or "auto" with an enabled
 * state_machine rule (its events' actions, keyed by event, must move in
 * their partition's order: docs/rules.md). A message without a key goes
 * by identity either way. */
bool aw_config_dispatch_by_key(const aw_config *cfg);

/* audit.batch_size when the audit backend is clickhouse and the key is not
 * given (config/config.c: apply_backend_defaults). */
#define AW_CLICKHOUSE_AUDIT_BATCH_SIZE 5000
/* ClickHouse's audit.flush_interval_ms default: at a low rate every record
 * would otherwise be an INSERT, hence a part, of its own. */
#define AW_CLICKHOUSE_AUDIT_FLUSH_MS 50

#endif
