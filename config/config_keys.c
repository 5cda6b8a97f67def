/* The one table of configuration keys (see config_keys.h). Everything a user
 * can write in the file is here: type, default, bounds, allowed values,
 * secrecy and help. config.c interprets it; nothing else hard-codes a key. */
#include "config/config_keys.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/aw_chain_template.h"
#include "common/aw_template.h"
#include "config/config.h"

#define AW_CFG(field) offsetof(aw_config, field)
#define AW_PRV(field) offsetof(aw_provider_config, field)
#define AW_RUL(field) offsetof(aw_rule_config, field)
#define AW_MCH(field) offsetof(aw_machine_config, field)
#define AW_MTR(field) offsetof(aw_machine_transition, field)
#define AW_MTO(field) offsetof(aw_machine_timeout, field)
#define AW_CHN(field) offsetof(aw_chain_config, field)
#define AW_CST(field) offsetof(aw_chain_step_config, field)

/* ---- value checks shared by several rows ------------------------------- */

/* Kafka's own rule (kafka/common/internals/Topic.java): legal characters
 * [a-zA-Z0-9._-], 1..249 of them, and not "." or "..". */
static const char *check_topic(const char *v, char *why, size_t whysz)
{
    size_t n = strlen(v);
    if (n == 0 || n > 249) {
        snprintf(why, whysz, "topic name must be 1 to 249 characters (got %zu)", n);
        return why;
    }
    if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
        snprintf(why, whysz, "\"%s\" is not a valid topic name", v);
        return why;
    }
    for (const char *p = v; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            snprintf(why, whysz,
                     "invalid topic name \"%.64s\" (allowed: letters, digits, '.', '_', '-')",
                     v);
            return why;
        }
    }
    return NULL;
}

/* The value is not echoed: a malformed entry may well be a password typed
 * on the wrong line. */
static const char *check_property(const char *v, char *why, size_t whysz)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v) {
        snprintf(why, whysz, "expected \"key=value\" with a non-empty key");
        return why;
    }
    for (const char *p = v; p < eq; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            snprintf(why, whysz, "property key must not contain white space");
            return why;
        }
    }
    return NULL;
}

/* Enforced for every URL given; the webhook provider additionally requires
 * one (config.c), other provider types ignore it. */
static const char *check_http_url(const char *v, char *why, size_t whysz)
{
    if (v[0] == '\0' || strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
        return NULL;
    snprintf(why, whysz, "must start with http:// or https://");
    return why;
}

bool aw_config_property_is_secret(const char *key, size_t keylen)
{
    /* librdkafka's sensitive properties: sasl.password, ssl.key.password,
     * ssl.keystore.password, sasl.oauthbearer.client.secret,
     * sasl.oauthbearer.config, ssl.key.pem (a private key), *.key. */
    static const char *const needles[] = {"password", "secret", "sasl.oauthbearer.config",
                                          ".key."};
    char buf[256];
    if (keylen >= sizeof(buf))
        return true; /* absurdly long key: mask rather than guess */
    for (size_t i = 0; i < keylen; i++)
        buf[i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] - 'A' + 'a' : key[i]);
    buf[keylen] = '\0';
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
        if (strstr(buf, needles[i]))
            return true;
    return keylen >= 4 && strcmp(buf + keylen - 4, ".key") == 0;
}

/* Rules spanning two keys of one provider. */
static const char *check_provider(const void *elem, const char **key, char *why, size_t whysz)
{
    const aw_provider_config *p = elem;
    if (strcmp(p->type, "webhook") == 0 && (!p->url || p->url[0] == '\0')) {
        *key = "url";
        snprintf(why, whysz, "required for type webhook (an http:// or https:// URL)");
        return why;
    }
    if (p->backoff_max_ms < p->backoff_base_ms) {
        *key = "backoff_max_ms";
        snprintf(why, whysz, "must be >= backoff_base_ms (%d) (got %d)", p->backoff_base_ms,
                 p->backoff_max_ms);
        return why;
    }
    return NULL;
}

/* The keys of one verdict: the rest of a rule's keys are left out when the
 * configuration is printed. */
static bool rule_key_applies(const void *elem, const char *key)
{
    const aw_rule_config *r = elem;
    bool throttle = strcmp(r->verdict, "throttle") == 0, lock = strcmp(r->verdict, "lock") == 0;
    if (strcmp(key, "key") == 0)
        return throttle || lock;
    if (strcmp(key, "machine") == 0)
        return strcmp(r->verdict, "state_machine") == 0;
    if (strcmp(key, "chain") == 0)
        return strcmp(r->verdict, "chain") == 0;
    if (strcmp(key, "group_by") == 0 || strcmp(key, "window_ms") == 0 ||
        strcmp(key, "max_size") == 0 || strcmp(key, "max_bytes") == 0 ||
        strcmp(key, "group_provider") == 0 || strcmp(key, "group_action_type") == 0 ||
        strcmp(key, "group_retention_s") == 0)
        return strcmp(r->verdict, "group") == 0;
    if (strcmp(key, "max_count") == 0 || strcmp(key, "window_s") == 0 ||
        strcmp(key, "on_limit") == 0)
        return throttle;
    if (strcmp(key, "lock_ttl_ms") == 0 || strcmp(key, "max_wait_ms") == 0 ||
        strcmp(key, "on_timeout") == 0)
        return lock;
    return true;
}

/* A group rule: group_by required and a valid template; its members kept
 * (group_retention_s) well past the window, or a group could be forgotten
 * before it flushes. */
static const char *check_group_rule(const aw_rule_config *r, const char **key, char *why,
                                    size_t whysz)
{
    if (r->group_by[0] == '\0') {
        *key = "group_by";
        snprintf(why, whysz, "required for verdict group (a template, e.g. \"{payload.host}\")");
        return why;
    }
    aw_template *t = NULL;
    aw_error err;
    if (aw_template_parse(r->group_by, &t, &err) != AW_OK) {
        *key = "group_by";
        snprintf(why, whysz, "%s", err.msg);
        return why;
    }
    aw_template_free(t);
    if (r->group_retention_s * 1000 < 2 * r->window_ms + 60000) {
        *key = "group_retention_s";
        snprintf(why, whysz, "at least 2 * window_ms + 60 s (%lld s here): a group must "
                 "outlive its window and its flush",
                 (long long)((2 * r->window_ms + 60000 + 999) / 1000));
        return why;
    }
    return NULL;
}

/* Rules spanning the keys of one rule: what its verdict needs. The key
 * template is parsed here too, so a bad one is reported with its line; the
 * loader parses it again for keeps once the whole file is valid
 * (aw_config_compile_rules). */
static const char *check_rule(const void *elem, const char **key, char *why, size_t whysz)
{
    const aw_rule_config *r = elem;
    bool lock = strcmp(r->verdict, "lock") == 0;
    if (strcmp(r->verdict, "state_machine") == 0 && r->machine[0] == '\0') {
        *key = "machine";
        snprintf(why, whysz, "required for verdict state_machine (the name of one of "
                             "state_machines)");
        return why;
    }
    if (strcmp(r->verdict, "chain") == 0 && r->chain[0] == '\0') {
        *key = "chain";
        snprintf(why, whysz, "required for verdict chain (the name of one of chains)");
        return why;
    }
    if (strcmp(r->verdict, "group") == 0)
        return check_group_rule(r, key, why, whysz);
    if (strcmp(r->verdict, "throttle") != 0 && !lock)
        return NULL;
    if (r->key[0] == '\0') {
        *key = "key";
        snprintf(why, whysz, "required for verdict %s (a template, e.g. \"{tenant}\")",
                 r->verdict);
        return why;
    }
    aw_template *t = NULL;
    aw_error err;
    if (aw_template_parse(r->key, &t, &err) != AW_OK) {
        *key = "key";
        snprintf(why, whysz, "%s", err.msg);
        return why;
    }
    aw_template_free(t);
    if (lock) /* lock_ttl_ms, max_wait_ms, on_timeout: bounded by their rows */
        return NULL;
    if (r->max_count < 1) {
        *key = "max_count";
        snprintf(why, whysz, "required for verdict throttle: at least 1 (got %lld)",
                 (long long)r->max_count);
        return why;
    }
    if (r->window_s < 1) {
        *key = "window_s";
        snprintf(why, whysz, "required for verdict throttle: at least 1 (got %lld)",
                 (long long)r->window_s);
        return why;
    }
    return NULL;
}

/* "<hostname>-<pid>": unique per process on a host, readable in logs. */
static void default_worker_id(char *buf, size_t bufsz)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "acteon-worker");
    host[sizeof(host) - 1] = '\0';
    snprintf(buf, bufsz, "%s-%ld", host, (long)getpid());
}

/* ---- allowed values ---------------------------------------------------- */

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const provider_types[] = {"log", "webhook", "noop", NULL};
static const char *const rule_verdicts[] = {"suppress", "throttle", "lock", "state_machine",
                                            "group", "chain", NULL};
static const char *const worker_dispatch[] = {"auto", "identity", "key", NULL};
static const char *const rule_on_timeout[] = {"fail", "dlq", NULL};
static const char *const rule_on_limit[] = {"reject", "delay", NULL};

/* ---- rules[] element rows ---------------------------------------------- */

static const aw_config_key rule_match_keys[] = {
    {.path = "namespace", .type = AW_KEY_STRING, .offset = AW_RUL(match_namespace),
     .def_str = "*", .help = "Glob (fnmatch) the action's namespace must match."},
    {.path = "tenant", .type = AW_KEY_STRING, .offset = AW_RUL(match_tenant), .def_str = "*",
     .help = "Glob (fnmatch) the action's tenant must match."},
    {.path = "provider", .type = AW_KEY_STRING, .offset = AW_RUL(match_provider),
     .def_str = "*", .help = "Glob (fnmatch) the action's provider must match."},
    {.path = "action_type", .type = AW_KEY_STRING, .offset = AW_RUL(match_action_type),
     .def_str = "*", .help = "Glob (fnmatch) the action's action_type must match."},
    {.path = "metadata", .type = AW_KEY_STR_MAP, .offset = AW_RUL(match_metadata),
     .count_offset = AW_RUL(n_match_metadata), .def_text = "{ }",
     .help = "Group { key = \"value\"; ... }: every pair must equal the action's metadata "
             "(exact, case-sensitive); an action without the key does not match."},
};

static const aw_config_key rule_keys[] = {
    {.path = "name", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY |
     AW_KEY_UNIQUE, .offset = AW_RUL(name),
     .help = "Unique rule name, named in outcomes, rejections and metrics."},
    {.path = "enabled", .type = AW_KEY_BOOL, .offset = AW_RUL(enabled), .def_num = 1,
     .help = "A disabled rule is skipped, as if absent."},
    {.path = "match", .type = AW_KEY_GROUP, .sub = rule_match_keys,
     .n_sub = sizeof(rule_match_keys) / sizeof(rule_match_keys[0]), .def_text = "{ }",
     .help = "What the rule applies to: every given condition must hold (a group; "
             "absent keys match anything)."},
    {.path = "verdict", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED,
     .offset = AW_RUL(verdict), .allowed = rule_verdicts,
     .help = "suppress: not executed, outcome suppressed. throttle: at most max_count "
             "executions per window_s and key, the rest outcome throttled. lock: actions "
             "with equal keys execute one at a time across all replicas. state_machine: the "
             "action moves its event through the states of `machine`, executed only when "
             "the transition is allowed. group: the action joins the group named by "
             "group_by, outcome grouped; the group executes once, as one call listing its "
             "members. chain: the action starts a run of `chain`, whose steps the scheduler "
             "executes one after another (docs/rules.md)."},
    {.path = "key", .type = AW_KEY_STRING, .offset = AW_RUL(key), .def_str = "",
     .help = "throttle: the key counted; lock: the lock taken. A template such as \"{tenant}:{payload.user}\" "
             "(fields: namespace, tenant, provider, action_type, id, dedup_key, payload.PATH, "
             "metadata.KEY). An action whose field is missing or not a scalar is rejected "
             "(reason rule_field)."},
    {.path = "max_count", .type = AW_KEY_INT64, .offset = AW_RUL(max_count), .def_num = 0,
     .min = 0, .max = 1000000000,
     .help = "throttle: executions allowed per window and key (required, >= 1)."},
    {.path = "window_s", .type = AW_KEY_INT64, .offset = AW_RUL(window_s), .def_num = 0,
     .min = 0, .max = 31536000,
     .help = "throttle: the fixed window, in seconds of the wall clock (required, >= 1)."},
    {.path = "on_limit", .type = AW_KEY_STRING, .offset = AW_RUL(on_limit),
     .def_str = "reject", .allowed = rule_on_limit,
     .help = "throttle: what happens over the limit. reject: outcome throttled, not "
             "executed. delay: outcome scheduled, executed once at the start of the first "
             "window with room (docs/rules.md); needs scheduled actions (not with ClickHouse "
             "state nor kafka.transactional_replies)."},
    {.path = "lock_ttl_ms", .type = AW_KEY_INT64, .offset = AW_RUL(lock_ttl_ms),
     .def_num = 30000, .min = 100, .max = 86400000,
     .help = "lock: the lock's lease in ms, renewed while the provider call runs; after a "
             "crash the lock is free again this long after its last renewal."},
    {.path = "max_wait_ms", .type = AW_KEY_INT64, .offset = AW_RUL(max_wait_ms),
     .def_num = 60000, .min = 0, .max = 86400000,
     .help = "lock: how long an action waits (parked, no thread blocked) for a lock held "
             "elsewhere before on_timeout applies."},
    {.path = "on_timeout", .type = AW_KEY_STRING, .offset = AW_RUL(on_timeout),
     .def_str = "fail", .allowed = rule_on_timeout,
     .help = "lock: after max_wait_ms. fail: outcome failed, error_code lock_timeout. dlq: "
             "outcome rejected, reason lock_timeout, a copy to the dead-letter topic."},
    {.path = "machine", .type = AW_KEY_STRING, .offset = AW_RUL(machine), .def_str = "",
     .help = "state_machine: the name of one of state_machines (required)."},
    {.path = "chain", .type = AW_KEY_STRING, .offset = AW_RUL(chain), .def_str = "",
     .help = "chain: the name of one of chains (required)."},
    {.path = "group_by", .type = AW_KEY_STRING, .offset = AW_RUL(group_by), .def_str = "",
     .help = "group: the template naming an action's group (required; fields as for key), "
             "e.g. \"{tenant}:{payload.host}\"."},
    {.path = "window_ms", .type = AW_KEY_INT64, .offset = AW_RUL(window_ms), .def_num = 60000,
     .min = 1, .max = 86400000,
     .help = "group: a group flushes this long after its first member joined (wall clock)."},
    {.path = "max_size", .type = AW_KEY_INT64, .offset = AW_RUL(max_size), .def_num = 100,
     .min = 1, .max = 10000,
     .help = "group: a group flushes as soon as it has this many members."},
    {.path = "max_bytes", .type = AW_KEY_INT64, .offset = AW_RUL(max_bytes),
     .def_num = 1048576, .min = 1024, .max = 16777216,
     .help = "group: bound of the member list (ids and payloads, as JSON) in the grouped "
             "call's payload; a member that would pass it flushes the group and opens the "
             "next (a single member larger than this is flushed alone)."},
    {.path = "group_provider", .type = AW_KEY_STRING, .offset = AW_RUL(group_provider),
     .def_str = "",
     .help = "group: the provider of the grouped call (one of providers); \"\": the first "
             "member's."},
    {.path = "group_action_type", .type = AW_KEY_STRING, .offset = AW_RUL(group_action_type),
     .def_str = "",
     .help = "group: the action_type of the grouped call; \"\": the first member's."},
    {.path = "group_retention_s", .type = AW_KEY_INT64, .offset = AW_RUL(group_retention_s),
     .def_num = 86400, .min = 60, .max = 31536000,
     .help = "group: how long a group (flushed or not) and its members' markers are kept in "
             "the state backend (TTL; `acteon-worker group get` reads them meanwhile); at "
             "least 2 * window_ms + 60 s."},
};

/* ---- state_machines[] element rows -------------------------------------- */

/* A machine's cross-key errors name the nested key ("transitions[1].to");
 * the loader joins it to the element's path. Loading is single-threaded per
 * thread, so one buffer per thread is enough. */
static _Thread_local char machine_key[64];

static bool has_state(const aw_machine_config *m, const char *s)
{
    for (size_t i = 0; i < m->n_states; i++)
        if (strcmp(m->states[i], s) == 0)
            return true;
    return false;
}

static const char *unknown_state(const char **key, const char *s, char *why, size_t whysz)
{
    *key = machine_key;
    snprintf(why, whysz, "unknown state \"%.64s\" (not in states)", s);
    return why;
}

static const char *check_transitions(const aw_machine_config *m, const char **key, char *why,
                                     size_t whysz)
{
    for (size_t i = 0; i < m->n_transitions; i++) {
        const aw_machine_transition *t = &m->transitions[i];
        for (size_t f = 0; f < t->n_from; f++) {
            snprintf(machine_key, sizeof(machine_key), "transitions[%zu].from", i);
            if (!has_state(m, t->from[f]))
                return unknown_state(key, t->from[f], why, whysz);
            /* One answer per (state, action_type): an earlier transition
             * leaving the same state on the same action_type is ambiguous. */
            for (size_t j = 0; j < i; j++)
                for (size_t g = 0; g < m->transitions[j].n_from; g++)
                    if (strcmp(m->transitions[j].from[g], t->from[f]) == 0 &&
                        strcmp(m->transitions[j].on, t->on) == 0) {
                        *key = machine_key;
                        snprintf(why, whysz, "(\"%.64s\", on \"%.64s\") is already the "
                                 "transition of transitions[%zu]", t->from[f], t->on, j);
                        return why;
                    }
        }
        snprintf(machine_key, sizeof(machine_key), "transitions[%zu].to", i);
        if (!has_state(m, t->to))
            return unknown_state(key, t->to, why, whysz);
    }
    return NULL;
}

static const char *check_timeouts(const aw_machine_config *m, const char **key, char *why,
                                  size_t whysz)
{
    for (size_t i = 0; i < m->n_timeouts; i++) {
        const aw_machine_timeout *t = &m->timeouts[i];
        snprintf(machine_key, sizeof(machine_key), "timeouts[%zu].in", i);
        if (!has_state(m, t->in))
            return unknown_state(key, t->in, why, whysz);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->timeouts[j].in, t->in) == 0) {
                *key = machine_key;
                snprintf(why, whysz, "state \"%.64s\" already has a timeout (timeouts[%zu])",
                         t->in, j);
                return why;
            }
        snprintf(machine_key, sizeof(machine_key), "timeouts[%zu].to", i);
        if (!has_state(m, t->to))
            return unknown_state(key, t->to, why, whysz);
        if (strcmp(t->to, t->in) == 0) {
            *key = machine_key;
            snprintf(why, whysz, "must differ from in (\"%.64s\")", t->in);
            return why;
        }
        /* The due item of a timeout names the event by its state's seq: the
         * record must outlive it, or the timeout would find nothing. */
        if (t->after_s >= m->retention_s) {
            *key = "retention_s";
            snprintf(why, whysz, "must be longer than timeouts[%zu].after_s (%lld) (got %lld)",
                     i, (long long)t->after_s, (long long)m->retention_s);
            return why;
        }
    }
    return NULL;
}

/* What a machine's keys must agree on: every state named is declared, one
 * transition per (state, action_type), one timeout per state; the
 * fingerprint parses (the loader parses it again for keeps). */
static const char *check_machine(const void *elem, const char **key, char *why, size_t whysz)
{
    const aw_machine_config *m = elem;
    for (size_t i = 0; i < m->n_states; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->states[i], m->states[j]) == 0) {
                *key = "states";
                snprintf(why, whysz, "\"%.64s\" is listed twice", m->states[i]);
                return why;
            }
    if (!has_state(m, m->initial)) {
        *key = "initial";
        snprintf(why, whysz, "unknown state \"%.64s\" (not in states)", m->initial);
        return why;
    }
    aw_template *t = NULL;
    aw_error err;
    if (aw_template_parse(m->fingerprint, &t, &err) != AW_OK) {
        *key = "fingerprint";
        snprintf(why, whysz, "%s", err.msg);
        return why;
    }
    aw_template_free(t);
    const char *bad = check_transitions(m, key, why, whysz);
    return bad ? bad : check_timeouts(m, key, why, whysz);
}

/* State names go into the keys of timeouts ("<seq>:<state>:<fingerprint>",
 * worker/event_state.h): no ':' and a bounded length. */
static bool plain_name(const char *v)
{
    size_t n = strlen(v);
    return n > 0 && n <= 64 &&
           strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static const char *check_state_name(const char *v, char *why, size_t whysz)
{
    if (plain_name(v))
        return NULL;
    snprintf(why, whysz, "a state name is 1..64 of [A-Za-z0-9_.-] (got \"%.64s\")", v);
    return why;
}

/* Chain and step names go into state keys and step identities
 * ("<chain id>:<step>"): the same alphabet as state names. */
static const char *check_chain_name(const char *v, char *why, size_t whysz)
{
    if (plain_name(v))
        return NULL;
    snprintf(why, whysz, "a chain or step name is 1..64 of [A-Za-z0-9_.-] (got \"%.64s\")", v);
    return why;
}

static const aw_config_key machine_transition_keys[] = {
    {.path = "from", .type = AW_KEY_STR_LIST, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_MTR(from), .count_offset = AW_MTR(n_from),
     .help = "The states the transition leaves: a list [\"open\", \"acked\"]."},
    {.path = "to", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_MTR(to), .help = "The state it enters."},
    {.path = "on", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_MTR(on),
     .help = "The action_type that makes it (exact). At most one transition per "
             "(from state, on)."},
};

static const aw_config_key machine_timeout_keys[] = {
    {.path = "in", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_MTO(in), .help = "The state; entering it arms the timeout (one per state)."},
    {.path = "after_s", .type = AW_KEY_INT64, .flags = AW_KEY_REQUIRED,
     .offset = AW_MTO(after_s), .min = 1, .max = 31536000,
     .help = "Seconds after entering `in`: if the event is still in that state (same "
             "transition), it moves to `to`."},
    {.path = "to", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_MTO(to), .help = "The state the timeout enters."},
};

static const aw_config_key machine_keys[] = {
    {.path = "name", .type = AW_KEY_STRING,
     .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY | AW_KEY_UNIQUE, .offset = AW_MCH(name),
     .help = "Unique machine name, named by rules (machine), outcomes and metrics; the "
             "tenant of its events in the state backend."},
    {.path = "fingerprint", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_MCH(fingerprint),
     .help = "Template naming an action's event, e.g. \"{tenant}:{payload.alert_id}\" "
             "(fields as a rule's key). An action whose field is missing is rejected "
             "(reason rule_field)."},
    {.path = "initial", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_MCH(initial), .help = "The state of an event never seen (one of states)."},
    {.path = "states", .type = AW_KEY_STR_LIST, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_MCH(states), .count_offset = AW_MCH(n_states), .check = check_state_name,
     .help = "Every state of the machine, e.g. [\"open\", \"acked\", \"resolved\"]: "
             "names of 1..64 of [A-Za-z0-9_.-]."},
    {.path = "transitions", .type = AW_KEY_GROUP_LIST, .flags = AW_KEY_REQUIRED,
     .offset = AW_MCH(transitions), .count_offset = AW_MCH(n_transitions),
     .sub = machine_transition_keys,
     .n_sub = sizeof(machine_transition_keys) / sizeof(machine_transition_keys[0]),
     .elem_size = sizeof(aw_machine_transition),
     .help = "The allowed moves: ( { from = [...]; to = \"...\"; on = \"...\"; }, ... ). An "
             "action whose action_type has no transition from the event's state is "
             "suppressed."},
    {.path = "timeouts", .type = AW_KEY_GROUP_LIST, .offset = AW_MCH(timeouts),
     .count_offset = AW_MCH(n_timeouts), .sub = machine_timeout_keys,
     .n_sub = sizeof(machine_timeout_keys) / sizeof(machine_timeout_keys[0]),
     .elem_size = sizeof(aw_machine_timeout), .def_text = "( )",
     .help = "( { in = \"...\"; after_s = N; to = \"...\"; }, ... ): moves made by time, "
             "through the due index (docs/rules.md)."},
    {.path = "retention_s", .type = AW_KEY_INT64, .offset = AW_MCH(retention_s),
     .def_num = 604800, .min = 60, .max = 31536000,
     .help = "How long an event's state is kept after its last change; then it is "
             "forgotten (a later action finds it in `initial` again). Longer than every "
             "timeout's after_s."},
};

/* ---- chains[] element rows ---------------------------------------------- */

/* A chain's cross-key errors name the nested key ("steps[1].payload"). */
static _Thread_local char chain_key[64];

static int step_index(const aw_chain_config *c, const char *name, size_t below)
{
    for (size_t i = 0; i < below && i < c->n_steps; i++)
        if (strcmp(c->steps[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* One step: on_failure names a later step (so a chain always ends), and
 * its payload template parses and reads only earlier steps. */
static const char *check_step(const aw_chain_config *c, size_t i, const char **key, char *why,
                              size_t whysz)
{
    const aw_chain_step_config *st = &c->steps[i];
    *key = chain_key;
    if (step_index(c, st->name, i) >= 0) {
        snprintf(chain_key, sizeof(chain_key), "steps[%zu].name", i);
        snprintf(why, whysz, "\"%.64s\" is already a step of this chain", st->name);
        return why;
    }
    snprintf(chain_key, sizeof(chain_key), "steps[%zu].on_failure", i);
    if (strcmp(st->on_failure, "abort") != 0 &&
        (step_index(c, st->on_failure, c->n_steps) <= (int)i)) {
        snprintf(why, whysz, "\"abort\" or the name of a later step of this chain (got "
                             "\"%.64s\")", st->on_failure);
        return why;
    }
    snprintf(chain_key, sizeof(chain_key), "steps[%zu].on_success", i);
    if (st->on_success[0] && strcmp(st->on_success, "end") != 0 &&
        (step_index(c, st->on_success, c->n_steps) <= (int)i)) {
        snprintf(why, whysz, "\"end\" or the name of a later step of this chain (got "
                             "\"%.64s\")", st->on_success);
        return why;
    }
    snprintf(chain_key, sizeof(chain_key), "steps[%zu].payload", i);
    aw_chain_template *t = NULL;
    aw_error err;
    if (aw_chain_template_parse(st->payload, &t, &err) != AW_OK) {
        snprintf(why, whysz, "%s", err.msg);
        return why;
    }
    const char *bad = NULL;
    for (size_t k = 0; !bad && k < t->n_parts; k++) {
        const aw_chain_tpl_part *p = &t->parts[k];
        if (p->n_path >= 2 && strcmp(p->path[0], "steps") == 0 &&
            step_index(c, p->path[1], i) < 0) {
            snprintf(why, whysz, "{{%.64s}}: \"%.64s\" is not an earlier step of this chain",
                     p->text, p->path[1]);
            bad = why;
        }
    }
    aw_chain_template_free(t);
    return bad;
}

static const char *check_chain(const void *elem, const char **key, char *why, size_t whysz)
{
    const aw_chain_config *c = elem;
    for (size_t i = 0; i < c->n_steps; i++) {
        const char *bad = check_step(c, i, key, why, whysz);
        if (bad)
            return bad;
    }
    return NULL;
}

static const aw_config_key chain_step_keys[] = {
    {.path = "name", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_CST(name), .check = check_chain_name,
     .help = "The step's name, unique in its chain (1..64 of [A-Za-z0-9_.-]): in its "
             "identity, its outcome and templates (steps.NAME)."},
    {.path = "provider", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_CST(provider), .help = "The provider that executes the step."},
    {.path = "action_type", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_CST(action_type), .help = "The step action's action_type."},
    {.path = "payload", .type = AW_KEY_STRING, .offset = AW_CST(payload), .def_str = "{}",
     .help = "The step action's payload: a JSON object with {{PATH}} placeholders "
             "(action.*, steps.NAME.result.*, steps.NAME.outcome, chain.id, chain.name), each "
             "replaced by the JSON value there (docs/rules.md, \"chain\")."},
    {.path = "max_attempts", .type = AW_KEY_INT, .offset = AW_CST(max_attempts), .def_num = 1,
     .min = 1, .max = 100,
     .help = "Runs of the step while its outcome is failed (each run: the provider's own "
             "attempts), each under its own identity."},
    {.path = "on_failure", .type = AW_KEY_STRING, .offset = AW_CST(on_failure),
     .def_str = "abort",
     .help = "After the last failed run: \"abort\" (the chain fails) or the name of a later "
             "step to continue with."},
    {.path = "on_success", .type = AW_KEY_STRING, .offset = AW_CST(on_success), .def_str = "",
     .help = "After an executed run: \"\" (the next step, or the end after the last), "
             "\"end\" (the chain completes) or the name of a later step to continue with."},
};

static const aw_config_key chain_keys[] = {
    {.path = "name", .type = AW_KEY_STRING,
     .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY | AW_KEY_UNIQUE, .offset = AW_CHN(name),
     .check = check_chain_name,
     .help = "Unique chain name (1..64 of [A-Za-z0-9_.-]), named by rules (chain), outcomes "
             "and metrics."},
    {.path = "steps", .type = AW_KEY_GROUP_LIST, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_CHN(steps), .count_offset = AW_CHN(n_steps), .sub = chain_step_keys,
     .n_sub = sizeof(chain_step_keys) / sizeof(chain_step_keys[0]),
     .elem_size = sizeof(aw_chain_step_config),
     .help = "The steps, run in order: ( { name; provider; action_type; payload; "
             "max_attempts; on_failure; }, ... )."},
    {.path = "retention_s", .type = AW_KEY_INT64, .offset = AW_CHN(retention_s),
     .def_num = 604800, .min = 60, .max = 31536000,
     .help = "How long a chain's record is kept after its last change (`chain get` shows "
             "it until then)."},
    {.path = "result_max_bytes", .type = AW_KEY_INT64, .offset = AW_CHN(result_max_bytes),
     .def_num = 65536, .min = 0, .max = 1048576,
     .help = "A step's answer body kept as its result, at most (longer: cut, kept as a "
             "string)."},
};

/* ---- providers[] element rows ------------------------------------------ */

static const aw_config_key provider_keys[] = {
    {.path = "name", .type = AW_KEY_STRING,
     .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY | AW_KEY_UNIQUE,
     .offset = AW_PRV(name),
     .help = "Unique provider name; an action selects it by its `provider` field."},
    {.path = "type", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED,
     .offset = AW_PRV(type), .allowed = provider_types,
     .help = "Implementation: log (logs the action), webhook (HTTP POST), "
             "noop (succeeds, does nothing)."},
    {.path = "url", .type = AW_KEY_STRING, .flags = AW_KEY_SECRET, .offset = AW_PRV(url),
     .def_str = "", .check = check_http_url,
     .help = "webhook: target URL, http:// or https:// (required for webhook). "
             "A password in it is never printed or logged."},
    {.path = "ca_file", .type = AW_KEY_STRING, .offset = AW_PRV(ca_file), .def_str = "",
     .help = "webhook: CA bundle (PEM file) to verify an https target with; \"\" = the "
             "system's bundle. Certificates are always verified."},
    {.path = "timeout_ms", .type = AW_KEY_INT, .offset = AW_PRV(timeout_ms), .def_num = 5000,
     .min = 1, .max = 600000, .help = "Timeout of one attempt, in milliseconds."},
    {.path = "max_attempts", .type = AW_KEY_INT, .offset = AW_PRV(max_attempts),
     .def_num = 4, .min = 1, .max = 100,
     .help = "Attempts before the action fails (1 = no retry). Only transient "
             "errors are retried."},
    {.path = "backoff_base_ms", .type = AW_KEY_INT, .offset = AW_PRV(backoff_base_ms),
     .def_num = 100, .min = 1, .max = 3600000,
     .help = "Delay before the first retry; doubles per attempt, with jitter."},
    {.path = "backoff_max_ms", .type = AW_KEY_INT, .offset = AW_PRV(backoff_max_ms),
     .def_num = 10000, .min = 1, .max = 3600000,
     .help = "Upper bound of the retry delay; must be >= backoff_base_ms."},
    {.path = "max_concurrency", .type = AW_KEY_INT, .offset = AW_PRV(max_concurrency),
     .def_num = 64, .min = 1, .max = 1024,
     .help = "webhook: calls one worker thread keeps in flight at once (its micro-batch "
             "runs them concurrently, the next call starting as one answers; 1 = one after "
             "the other). Each needs a connection: allow workers.threads x this many "
             "sockets. A batch ends with its slowest call: workers.batch_size of 4x this "
             "keeps the window full across it."},
};

/* ---- the table --------------------------------------------------------- */

static const aw_config_key keys[] = {
    {.path = "worker_id", .type = AW_KEY_STRING, .flags = AW_KEY_NONEMPTY | AW_KEY_DYNAMIC,
     .offset = AW_CFG(worker_id), .dyn_default = "<hostname>-<pid>",
     .dyn_fn = default_worker_id,
     .help = "Identity of this process in audit records, leases and logs."},

    /* kafka */
    {.path = "kafka.brokers", .type = AW_KEY_STRING, .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY,
     .offset = AW_CFG(kafka.brokers),
     .help = "Bootstrap brokers, \"host:port,host:port\"; \"embedded\" starts an "
             "in-process mock cluster (development and tests)."},
    {.path = "kafka.group_id", .type = AW_KEY_STRING,
     .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY, .offset = AW_CFG(kafka.group_id),
     .help = "Consumer group shared by all replicas."},
    {.path = "kafka.topics", .type = AW_KEY_STR_LIST,
     .flags = AW_KEY_REQUIRED | AW_KEY_NONEMPTY, .offset = AW_CFG(kafka.topics),
     .count_offset = AW_CFG(kafka.n_topics), .check = check_topic,
     .help = "Topics the actions are read from."},
    {.path = "kafka.reply_topic", .type = AW_KEY_STRING, .flags = AW_KEY_NONEMPTY,
     .offset = AW_CFG(kafka.reply_topic), .def_str = "acteon.replies", .check = check_topic,
     .help = "Topic the replies (outcomes) are written to."},
    {.path = "kafka.dlq_topic", .type = AW_KEY_STRING, .flags = AW_KEY_NONEMPTY,
     .offset = AW_CFG(kafka.dlq_topic), .def_str = "acteon.dlq", .check = check_topic,
     .help = "Dead-letter topic: rejected messages, original bytes plus headers "
             "saying why and where they came from."},
    {.path = "kafka.reply_to_allow", .type = AW_KEY_STR_LIST,
     .offset = AW_CFG(kafka.reply_to_allow), .count_offset = AW_CFG(kafka.n_reply_to_allow),
     .help = "Topics an action's reply_to may name: shell glob patterns (fnmatch), e.g. "
             "[ \"billing.replies\", \"team-*.replies\" ]. Empty (the default): none; a "
             "reply_to outside the list is answered on kafka.reply_topic with header "
             "acteon.reply_to_error, so a message cannot make the worker write (or, with "
             "broker auto-creation, create) any other topic."},
    {.path = "kafka.properties", .type = AW_KEY_STR_LIST, .flags = AW_KEY_SECRET,
     .offset = AW_CFG(kafka.properties), .count_offset = AW_CFG(kafka.n_properties),
     .check = check_property, .def_text = "[ ]",
     .help = "librdkafka properties \"key=value\", passed as is (like kcat -X). "
             "Values of password/secret/key properties are never printed."},
    {.path = "kafka.embedded_partitions", .type = AW_KEY_INT,
     .offset = AW_CFG(kafka.embedded_partitions), .def_num = 4, .min = 1, .max = 256,
     .help = "brokers = \"embedded\": partitions per topic of the mock cluster."},
    {.path = "kafka.transactional_replies", .type = AW_KEY_BOOL,
     .offset = AW_CFG(kafka.transactional_replies), .def_num = 0,
     .help = "Produce replies and DLQ copies and commit the consumed offsets in one "
             "Kafka transaction (transactional.id \"<group_id>-<worker_id>\"; give each "
             "replica a stable worker_id). Readers with isolation.level=read_committed "
             "then see exactly one reply per message, even across crashes. Auto-commit is "
             "off. Needs a real broker, Kafka >= 2.5 (the embedded mock cluster does not "
             "honour transactions)."},
    {.path = "kafka.transaction_interval_ms", .type = AW_KEY_INT,
     .offset = AW_CFG(kafka.transaction_interval_ms), .def_num = 100, .min = 10,
     .max = 60000,
     .help = "transactional_replies: the open transaction (replies of completed messages "
             "and their offsets) is committed this often; replies become visible to "
             "read_committed readers at that pace."},
    {.path = "kafka.fetch_stall_ms", .type = AW_KEY_INT,
     .offset = AW_CFG(kafka.fetch_stall_ms), .def_num = 10000, .min = 0, .max = 3600000,
     .help = "Fetch-stall watchdog: when no message arrived and nothing was in flight "
             "for this long although partitions are assigned, consumption is not paused "
             "and the statistics (statistics.interval.ms) report lag on an assigned "
             "partition, the fetch of the assigned partitions restarts from their "
             "positions (nothing skipped; a librdkafka 2.0.2 stall after pause/resume). "
             "0 = off."},

    /* state */
    {.path = "state.backend", .type = AW_KEY_STRING, .flags = AW_KEY_NONEMPTY,
     .offset = AW_CFG(state.backend), .def_str = "memory",
     .help = "State (dedup) backend: memory, or one compiled in (redis, postgres, "
             "clickhouse, dynamodb ...). Unknown names fail at start-up."},
    {.path = "state.url", .type = AW_KEY_STRING, .flags = AW_KEY_SECRET,
     .offset = AW_CFG(state.url), .def_str = "",
     .help = "Backend connection URL (\"\" for memory). A password in it is never "
             "printed or logged."},
    {.path = "state.key_prefix", .type = AW_KEY_STRING, .offset = AW_CFG(state.key_prefix),
     .def_str = "acteon:", .help = "Prepended to every stored key; may be \"\"."},
    {.path = "state.allow_eventual_consistency", .type = AW_KEY_BOOL,
     .offset = AW_CFG(state.allow_eventual_consistency), .def_num = 0,
     .help = "Accept a backend without atomic compare-and-set (clickhouse) for dedup "
             "and locks: the worker then starts with a warning, and concurrent "
             "duplicates may execute (README, state backends)."},

    /* audit */
    {.path = "audit.enabled", .type = AW_KEY_BOOL, .offset = AW_CFG(audit.enabled),
     .def_num = 1, .help = "Write one audit record per terminal outcome."},
    {.path = "audit.backend", .type = AW_KEY_STRING, .flags = AW_KEY_NONEMPTY,
     .offset = AW_CFG(audit.backend), .def_str = "memory",
     .help = "Audit backend: memory, or one compiled in (postgres, clickhouse, "
             "elasticsearch ...)."},
    {.path = "audit.url", .type = AW_KEY_STRING, .flags = AW_KEY_SECRET,
     .offset = AW_CFG(audit.url), .def_str = "",
     .help = "Backend connection URL (\"\" for memory). A password in it is never "
             "printed or logged."},
    {.path = "audit.retention_s", .type = AW_KEY_INT64, .offset = AW_CFG(audit.retention_s),
     .def_num = 30 * 86400, .min = 60, .max = 100LL * 365 * 86400,
     .help = "Audit records are kept this long, in seconds (default 30 days). "
             "Above 2147483647 write the L suffix (libconfig 1.5 wraps plain integers)."},
    {.path = "audit.connect_timeout_ms", .type = AW_KEY_INT,
     .offset = AW_CFG(audit.connect_timeout_ms), .def_num = 5000, .min = 100, .max = 600000,
     .help = "Bound on connecting to the audit backend."},
    {.path = "audit.request_timeout_ms", .type = AW_KEY_INT,
     .offset = AW_CFG(audit.request_timeout_ms), .def_num = 30000, .min = 100, .max = 600000,
     .help = "Bound on one audit backend call (a batch write, a query, a cleanup chunk); "
             "a timeout is retried with backoff."},
    {.path = "audit.batch_size", .type = AW_KEY_INT, .offset = AW_CFG(audit.batch_size),
     .def_num = 500, .min = 1, .max = 100000,
     .help = "Most records the audit writer sends in one backend call (5000 when "
             "audit.backend is clickhouse and this key is not given: ClickHouse pays "
             "per INSERT)."},
    {.path = "audit.flush_interval_ms", .type = AW_KEY_INT,
     .offset = AW_CFG(audit.flush_interval_ms), .def_num = 0, .min = 0, .max = 60000,
     .help = "Longest a record waits for its batch to fill before it is written anyway. 0: "
             "written as soon as a writer is free (what arrives during a write goes into the "
             "next one, so batches grow with the load and no record waits for a timer). 50 "
             "when audit.backend is clickhouse and this key is not given (a part per INSERT)."},
    {.path = "audit.queue_capacity", .type = AW_KEY_INT, .offset = AW_CFG(audit.queue_capacity),
     .def_num = 10000, .min = 1, .max = 10000000,
     .help = "Records waiting for the audit writer at most; when full, workers wait "
             "and consumption pauses (nothing is dropped)."},
    {.path = "audit.writers", .type = AW_KEY_INT, .offset = AW_CFG(audit.writers),
     .def_num = 1, .min = 1, .max = 64,
     .help = "Audit writer threads, each with its own backend session."},
    {.path = "audit.cleanup_batch", .type = AW_KEY_INT, .offset = AW_CFG(audit.cleanup_batch),
     .def_num = 10000, .min = 1, .max = 100000000,
     .help = "Expired records deleted per cleanup call (ten calls per round at most). "
             "ClickHouse drops a whole expired day when it fits: set this to a day's volume."},
    {.path = "audit.cleanup_interval_s", .type = AW_KEY_INT,
     .offset = AW_CFG(audit.cleanup_interval_s), .def_num = 600, .min = 0, .max = 86400,
     .help = "How often expired audit records are deleted, in bounded chunks (0 = never; "
             "run it on one replica or all, it is idempotent)."},

    /* workers */
    {.path = "workers.threads", .type = AW_KEY_INT, .offset = AW_CFG(workers.threads),
     .def_num = 8, .min = 1, .max = 1024, .help = "Worker threads executing actions."},
    {.path = "workers.max_in_flight", .type = AW_KEY_INT,
     .offset = AW_CFG(workers.max_in_flight), .def_num = 10000, .min = 1, .max = 10000000,
     .help = "Messages consumed and not yet finished (outcome durable, reply acknowledged); "
             "no more are taken while this many are in flight."},
    {.path = "workers.max_in_flight_bytes", .type = AW_KEY_INT64,
     .offset = AW_CFG(workers.max_in_flight_bytes), .def_num = 64 << 20, .min = 1,
     .max = (int64_t)1 << 40,
     .help = "Bytes (value + key) of the messages in flight: a message is taken only while "
             "one of ingest.max_message_bytes still fits, so large messages do not multiply "
             "memory by workers.max_in_flight. At least ingest.max_message_bytes."},
    {.path = "workers.batch_size", .type = AW_KEY_INT, .offset = AW_CFG(workers.batch_size),
     .def_num = 64, .min = 1, .max = 100000,
     .help = "Micro-batch a worker takes at once (one state round trip per batch)."},
    {.path = "workers.shutdown_timeout_ms", .type = AW_KEY_INT,
     .offset = AW_CFG(workers.shutdown_timeout_ms), .def_num = 30000, .min = 1,
     .max = 3600000, .help = "Bound on draining in-flight work at exit."},
    {.path = "workers.rebalance_timeout_ms", .type = AW_KEY_INT,
     .offset = AW_CFG(workers.rebalance_timeout_ms), .def_num = 10000, .min = 1,
     .max = 3600000, .help = "Bound on draining revoked partitions during a rebalance."},
    {.path = "workers.dispatch", .type = AW_KEY_STRING, .offset = AW_CFG(workers.dispatch),
     .def_str = "auto", .allowed = worker_dispatch,
     .help = "Which worker thread takes a message. identity: by its dedup identity "
             "(a message goes to the thread holding its identity's jobs in flight, else to the least "
             "loaded). key: by its Kafka message key, so "
             "the messages of one key are judged in their partition's order (a message "
             "without a key: by identity). auto: key when a state_machine rule is "
             "enabled (its events move in order), else identity."},

    /* dedup */
    {.path = "dedup.window_s", .type = AW_KEY_INT64, .offset = AW_CFG(dedup.window_s),
     .def_num = 86400, .min = 1, .max = 100LL * 365 * 86400,
     .help = "Done records live this long, in seconds: a repeated action within the "
             "window is deduplicated. Above 2147483647 write the L suffix."},
    {.path = "dedup.lease_ms", .type = AW_KEY_INT64, .offset = AW_CFG(dedup.lease_ms),
     .def_num = 30000, .min = 100, .max = 86400000,
     .help = "Lease of a claim, renewed while the provider runs; a crashed holder's "
             "claim is taken over after it."},
    {.path = "dedup.busy_retry_ms", .type = AW_KEY_INT64, .offset = AW_CFG(dedup.busy_retry_ms),
     .def_num = 50, .min = 1, .max = 60000,
     .help = "First wait when another replica holds the lease (then backs off)."},
    {.path = "dedup.recorder_threads", .type = AW_KEY_INT,
     .offset = AW_CFG(dedup.recorder_threads), .def_num = 2, .min = 1, .max = 64,
     .help = "Threads writing done records while provider calls run, each with its own "
             "state session: a call's done record leaves within 2 ms of its answer while "
             "one of them is free (after a crash, only calls in flight or answered within "
             "those 2 ms run again)."},

    /* ingest */
    {.path = "ingest.max_message_bytes", .type = AW_KEY_INT64,
     .offset = AW_CFG(ingest.max_message_bytes), .def_num = 1048576, .min = 1024,
     .max = 64LL * 1024 * 1024,
     .help = "Larger messages are rejected to the DLQ without being parsed."},

    /* schedule */
    {.path = "schedule.poll_ms", .type = AW_KEY_INT64, .offset = AW_CFG(schedule.poll_ms),
     .def_num = 500, .min = 10, .max = 60000,
     .help = "How often each replica's scheduler looks for due scheduled actions "
             "(not_before) when none was due: a due action runs at most this late, "
             "plus the time to process it."},
    {.path = "schedule.lease_ms", .type = AW_KEY_INT64, .offset = AW_CFG(schedule.lease_ms),
     .def_num = 60000, .min = 1000, .max = 86400000,
     .help = "Lease of a scheduled action taken from the due index, renewed (by the lease "
             "keeper, at a third of it) while its batch runs. A replica that crashed with it "
             "is replaced after it (the dedup claim keeps the action from running twice)."},
    {.path = "schedule.batch_size", .type = AW_KEY_INT, .offset = AW_CFG(schedule.batch_size),
     .def_num = 100, .min = 1, .max = 1000,
     .help = "Due scheduled actions taken from the due index at once by one replica."},
    {.path = "schedule.stats_interval_ms", .type = AW_KEY_INT64,
     .offset = AW_CFG(schedule.stats_interval_ms), .def_num = 10000, .min = 0, .max = 3600000,
     .help = "How often each replica's scheduler reads the due index's counts for the "
             "acteon_due_pool_items, acteon_due_waiting and acteon_due_oldest_lag_seconds "
             "gauges (one state call each time; its cost per backend: docs/scheduling.md). "
             "0 = off (the gauges are absent)."},

    /* http */
    {.path = "http.listen", .type = AW_KEY_STRING, .offset = AW_CFG(http.listen),
     .def_str = "",
     .help = "host:port of the operator endpoint (/metrics in Prometheus format, /healthz, "
             "/readyz); empty = off. Port 0 picks a free port (logged)."},

    /* log */
    {.path = "log.level", .type = AW_KEY_STRING, .offset = AW_CFG(log.level),
     .def_str = "info", .allowed = log_levels, .help = "Least severe level logged."},
    {.path = "log.format", .type = AW_KEY_STRING, .offset = AW_CFG(log.format),
     .def_str = "text", .allowed = log_formats,
     .help = "text for terminals, json (one object per line) for collectors."},

    /* providers */
    {.path = "providers", .type = AW_KEY_GROUP_LIST, .flags = AW_KEY_NONEMPTY,
     .offset = AW_CFG(providers), .count_offset = AW_CFG(n_providers),
     .sub = provider_keys, .n_sub = sizeof(provider_keys) / sizeof(provider_keys[0]),
     .elem_size = sizeof(aw_provider_config), .elem_check = check_provider,
     .def_text = "( { name = \"log\"; type = \"log\"; } )",
     .help = "Providers that execute actions, a list of groups ( { ... }, { ... } )."},

    /* rules */
    {.path = "rules", .type = AW_KEY_GROUP_LIST, .offset = AW_CFG(rules),
     .count_offset = AW_CFG(n_rules), .sub = rule_keys,
     .n_sub = sizeof(rule_keys) / sizeof(rule_keys[0]), .elem_size = sizeof(aw_rule_config),
     .elem_check = check_rule, .elem_applies = rule_key_applies, .def_text = "( )",
     .help = "Ordered rules (docs/rules.md): the first enabled rule whose match fits an "
             "action decides its verdict; no rule matching = execute with dedup."},
    {.path = "state_machines", .type = AW_KEY_GROUP_LIST, .offset = AW_CFG(machines),
     .count_offset = AW_CFG(n_machines), .sub = machine_keys,
     .n_sub = sizeof(machine_keys) / sizeof(machine_keys[0]),
     .elem_size = sizeof(aw_machine_config), .elem_check = check_machine, .def_text = "( )",
     .help = "The machines of state_machine rules (docs/rules.md, \"state_machine\")."},
    {.path = "chains", .type = AW_KEY_GROUP_LIST, .offset = AW_CFG(chains),
     .count_offset = AW_CFG(n_chains), .sub = chain_keys,
     .n_sub = sizeof(chain_keys) / sizeof(chain_keys[0]),
     .elem_size = sizeof(aw_chain_config), .elem_check = check_chain, .def_text = "( )",
     .help = "The chains of chain rules (docs/rules.md, \"chain\")."},
};

/* Replies or dead letters written to a consumed topic would come back as
 * actions, be rejected, and be written again: a loop. The window's byte
 * bound admits a message only when one of the largest accepted size still
 * fits, so it must hold at least one. */
const char *aw_config_check_all(const aw_config *cfg, const char **key, char *why,
                                size_t whysz)
{
    if (cfg->workers.max_in_flight_bytes < cfg->ingest.max_message_bytes) {
        *key = "workers.max_in_flight_bytes";
        snprintf(why, whysz, "must be at least ingest.max_message_bytes (%lld)",
                 (long long)cfg->ingest.max_message_bytes);
        return why;
    }
    for (size_t i = 0; i < cfg->kafka.n_topics; i++) {
        const char *t = cfg->kafka.topics[i];
        if (strcmp(t, cfg->kafka.reply_topic) == 0 || strcmp(t, cfg->kafka.dlq_topic) == 0) {
            *key = strcmp(t, cfg->kafka.reply_topic) == 0 ? "kafka.reply_topic"
                                                            : "kafka.dlq_topic";
            snprintf(why, whysz, "must not be one of kafka.topics (\"%.64s\" is consumed)", t);
            return why;
        }
    }
    return NULL;
}

const aw_config_key *aw_config_keys(size_t *n)
{
    *n = sizeof(keys) / sizeof(keys[0]);
    return keys;
}

const aw_config_key *aw_config_key_find(const char *path)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}

const aw_config_key *aw_config_sub_key_find(const aw_config_key *list, const char *name)
{
    for (size_t i = 0; i < list->n_sub; i++)
        if (strcmp(list->sub[i].path, name) == 0)
            return &list->sub[i];
    return NULL;
}
