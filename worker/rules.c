#include "worker/rules.h"

#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/aw_template.h"
#include "worker/scheduler.h"

/* Counters outlive their window by this much: a replica whose clock runs up
 * to this far behind still finds (and adds to) the window's counter rather
 * than starting a fresh one. */
#define AW_RULE_TTL_MARGIN_MS 60000

void aw_rule_scope_clear(aw_rule_scope *sc)
{
    json_decref(sc->payload);
    json_decref(sc->metadata);
    *sc = (aw_rule_scope){0};
}

/* The decoder validated both (strict JSON), so a parse failure here can only
 * be memory: the field then reads as missing. */
static json_t *metadata_of(const aw_action *a, aw_rule_scope *sc)
{
    if (!sc->metadata_parsed && a->metadata) {
        sc->metadata = json_loadb(a->metadata, a->metadata_len, 0, NULL);
        sc->metadata_parsed = true;
    }
    return sc->metadata;
}

static json_t *payload_of(const aw_action *a, aw_rule_scope *sc)
{
    if (!sc->payload_parsed) {
        sc->payload = json_loadb(a->payload, a->payload_len, JSON_DECODE_ANY, NULL);
        sc->payload_parsed = true;
    }
    return sc->payload;
}

static bool glob(const char *pattern, const char *s)
{
    return (pattern[0] == '*' && pattern[1] == '\0') || fnmatch(pattern, s, 0) == 0;
}

static bool metadata_fits(const aw_rule_config *r, const aw_action *a, aw_rule_scope *sc)
{
    if (!r->n_match_metadata)
        return true;
    json_t *md = metadata_of(a, sc);
    for (size_t i = 0; i < r->n_match_metadata; i++) {
        const char *v = json_string_value(json_object_get(md, r->match_metadata[2 * i]));
        if (!v || strcmp(v, r->match_metadata[2 * i + 1]) != 0)
            return false;
    }
    return true;
}

const aw_rule_config *aw_rules_match(const aw_config *cfg, const aw_action *a,
                                     aw_rule_scope *sc)
{
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const aw_rule_config *r = &cfg->rules[i];
        if (r->enabled && glob(r->match_namespace, a->ns) && glob(r->match_tenant, a->tenant) &&
            glob(r->match_provider, a->provider) &&
            glob(r->match_action_type, a->action_type) && metadata_fits(r, a, sc))
            return r;
    }
    return NULL;
}

const aw_rule_config *aw_rules_by_name(const aw_config *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->n_rules; i++)
        if (strcmp(cfg->rules[i].name, name) == 0)
            return &cfg->rules[i];
    return NULL;
}

/* A scalar's text: strings as they are, numbers in decimal, booleans as
 * true/false. -1 for anything else (null, objects, arrays, absent). */
static int scalar_text(const json_t *v, aw_buf *out)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return aw_buf_append(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return aw_buf_printf(out, "%lld", (long long)json_integer_value(v));
    case JSON_REAL: return aw_buf_printf(out, "%.17g", json_real_value(v));
    case JSON_TRUE: return aw_buf_puts(out, "true");
    case JSON_FALSE: return aw_buf_puts(out, "false");
    default: return -1;
    }
}

static const char *simple_field(const aw_tpl_part *p, const aw_action *a)
{
    switch (p->field) {
    case AW_TPL_NAMESPACE: return a->ns;
    case AW_TPL_TENANT: return a->tenant;
    case AW_TPL_PROVIDER: return a->provider;
    case AW_TPL_ACTION_TYPE: return a->action_type;
    case AW_TPL_ID: return a->id;
    case AW_TPL_DEDUP_KEY: return a->dedup_key;
    default: return NULL;
    }
}

/* 0, -1 (missing or not a scalar: why written), -2 (no memory). */
static int render_part(const aw_tpl_part *p, const aw_action *a, aw_rule_scope *sc,
                       aw_buf *out, char *why, size_t whysz)
{
    if (p->field == AW_TPL_LITERAL)
        return aw_buf_puts(out, p->text) ? -2 : 0;
    if (p->field != AW_TPL_PAYLOAD && p->field != AW_TPL_METADATA) {
        const char *v = simple_field(p, a);
        if (!v) {
            snprintf(why, whysz, "the action has no %s", p->text);
            return -1;
        }
        return aw_buf_puts(out, v) ? -2 : 0;
    }
    const json_t *v = p->field == AW_TPL_PAYLOAD ? payload_of(a, sc) : metadata_of(a, sc);
    for (size_t i = 0; v && i < p->n_path; i++)
        v = json_object_get(v, p->path[i]);
    if (!v) {
        snprintf(why, whysz, "the action has no %s", p->text);
        return -1;
    }
    size_t before = out->len;
    if (scalar_text(v, out) == 0)
        return 0;
    if (out->len != before || json_is_string(v) || json_is_number(v) || json_is_boolean(v))
        return -2;
    snprintf(why, whysz, "%s is not a string, number or boolean", p->text);
    return -1;
}

int aw_rules_render_key(const aw_rule_config *r, const aw_action *a, aw_rule_scope *sc,
                        aw_buf *out, char *field, size_t fieldsz, char *why, size_t whysz)
{
    const aw_template *t = r->key_template;
    size_t start = out->len;
    for (size_t i = 0; t && i < t->n_parts; i++) {
        int rc = render_part(&t->parts[i], a, sc, out, why, whysz);
        if (rc == 0 && out->len - start > AW_RULE_KEY_MAX) {
            snprintf(why, whysz, "the key is longer than %d bytes with %s", AW_RULE_KEY_MAX,
                     t->parts[i].text);
            rc = -1;
        }
        if (rc) {
            if (rc == -1)
                snprintf(field, fieldsz, "%s", t->parts[i].text);
            return rc;
        }
    }
    return 0;
}

aw_status aw_rules_check_backend(const aw_config *cfg, bool best_effort, aw_error *err)
{
    const char *no_schedule = aw_scheduler_unavailable(cfg);
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const aw_rule_config *r = &cfg->rules[i];
        if (!r->enabled)
            continue;
        if (best_effort && strcmp(r->verdict, "lock") == 0)
            return aw_error_set(err, AW_CONFIG,
                                "rules[%zu].verdict: \"lock\" needs an atomic state backend; "
                                "%s is eventually consistent (two replicas could hold one "
                                "lock at once)",
                                i, cfg->state.backend);
        if (best_effort && r->machine_cfg)
            return aw_error_set(err, AW_CONFIG,
                                "rules[%zu] (\"%s\").verdict: \"state_machine\" needs an atomic "
                                "state backend; %s is eventually consistent (two replicas "
                                "could both move one event from the same state)",
                                i, r->name, cfg->state.backend);
        if (no_schedule && r->machine_cfg && r->machine_cfg->n_timeouts)
            return aw_error_set(err, AW_CONFIG,
                                "rules[%zu] (\"%s\").machine: state machine \"%s\" has timeouts, "
                                "which need the due index and its scheduler, not available: %s",
                                i, r->name, r->machine_cfg->name, no_schedule);
        if ((best_effort || no_schedule) && r->chain_cfg)
            return aw_error_set(err, AW_CONFIG,
                                "rules[%zu] (\"%s\").verdict: \"chain\" needs an atomic state "
                                "backend with the due index and its scheduler: %s",
                                i, r->name,
                                no_schedule ? no_schedule
                                            : "this one is eventually consistent (two replicas "
                                              "could both run a step)");
        bool group = strcmp(r->verdict, "group") == 0;
        if (group && (best_effort || no_schedule))
            return aw_error_set(err, AW_CONFIG,
                                "rules[%zu] (\"%s\").verdict: \"group\" needs an atomic state "
                                "backend with the due index and its scheduler: %s",
                                i, r->name,
                                best_effort ? "the state backend is eventually consistent"
                                            : no_schedule);
        if (no_schedule && aw_rules_delays(r))
            return aw_error_set(err, AW_CONFIG,
                                "rules[%zu].on_limit: \"delay\" schedules the action, and "
                                "scheduled actions are not available: %s; use \"reject\"",
                                i, no_schedule);
    }
    return AW_OK;
}

bool aw_rules_delays(const aw_rule_config *r)
{
    return strcmp(r->verdict, "throttle") == 0 && strcmp(r->on_limit, "delay") == 0;
}

int64_t aw_rules_window(int64_t now_ms, int64_t window_s, int64_t *ends_ms)
{
    int64_t window_ms = window_s * 1000;
    int64_t index = now_ms / window_ms; /* now_ms >= 0: floor */
    *ends_ms = (index + 1) * window_ms;
    return index;
}

int64_t aw_rules_counter_ttl_ms(int64_t now_ms, int64_t ends_ms)
{
    return ends_ms - now_ms + AW_RULE_TTL_MARGIN_MS;
}

int aw_rules_counter_id(aw_buf *out, int64_t window, const char *key)
{
    return aw_buf_printf(out, "%lld:", (long long)window) || aw_buf_puts(out, key) ? -1 : 0;
}
