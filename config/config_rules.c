/* The parsed parts of rules (config_keys.h): key templates, parsed once at
 * load so the worker never parses text per action, and the machines of
 * state_machine rules, resolved by name. */
#include <stdio.h>
#include <string.h>

#include "common/aw_chain_template.h"
#include "common/aw_json_out.h"
#include "common/aw_template.h"
#include "config/config.h"
#include "config/config_keys.h"

const aw_machine_config *aw_config_machine(const aw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_machines; i++)
        if (strcmp(cfg->machines[i].name, name) == 0)
            return &cfg->machines[i];
    return NULL;
}

const aw_chain_config *aw_config_chain(const aw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_chains; i++)
        if (strcmp(cfg->chains[i].name, name) == 0)
            return &cfg->chains[i];
    return NULL;
}

/* A chain's step templates, parsed for keeps (check_chain in config_keys.c
 * vetted them already), its on_failure steps resolved, its providers
 * checked (a step naming none would fail every run). */
static aw_status compile_chains(aw_config *cfg, aw_error *err)
{
    for (size_t i = 0; i < cfg->n_chains; i++) {
        aw_chain_config *c = &cfg->chains[i];
        for (size_t k = 0; k < c->n_steps; k++) {
            aw_chain_step_config *st = &c->steps[k];
            if (!aw_config_find_provider(cfg, st->provider))
                return aw_error_set(err, AW_CONFIG,
                                    "%s: chains[%zu].steps[%zu].provider: no provider named "
                                    "\"%.64s\" in providers",
                                    cfg->source, i, k, st->provider);
            st->on_failure_step = -1;
            st->on_success_step = strcmp(st->on_success, "end") == 0 ? (int)c->n_steps
                                                                      : (int)k + 1;
            for (size_t f = k + 1; f < c->n_steps; f++) {
                if (strcmp(c->steps[f].name, st->on_failure) == 0)
                    st->on_failure_step = (int)f;
                if (strcmp(c->steps[f].name, st->on_success) == 0)
                    st->on_success_step = (int)f;
            }
            aw_error e;
            if (!st->payload_template &&
                aw_chain_template_parse(st->payload, &st->payload_template, &e) != AW_OK)
                return aw_error_set(err, e.code, "%s: chains[%zu].steps[%zu].payload: %s",
                                    cfg->source, i, k, e.msg);
        }
    }
    return AW_OK;
}

/* A state_machine rule renders its machine's fingerprint where other rules
 * render their key: each rule gets its own parse of it. */
aw_status aw_config_compile_rules(aw_config *cfg, aw_error *err)
{
    aw_status crc = compile_chains(cfg, err);
    if (crc != AW_OK)
        return crc;
    for (size_t i = 0; i < cfg->n_rules; i++) {
        aw_rule_config *r = &cfg->rules[i];
        /* The name goes into replies and audit records (their `rule`),
         * which are JSON: a name that is not UTF-8 would fail each one. */
        if (r->name && !aw_utf8_valid(r->name, strlen(r->name)))
            return aw_error_set(err, AW_CONFIG, "%s: rules[%zu].name: not UTF-8 text", cfg->source,
                                i);
        const char *text = r->key;
        const char *what = "key";
        if (strcmp(r->verdict, "chain") == 0) {
            r->chain_cfg = aw_config_chain(cfg, r->chain);
            if (!r->chain_cfg)
                return aw_error_set(err, AW_CONFIG,
                                    "%s: rules[%zu].chain: no chain named \"%.64s\" in chains",
                                    cfg->source, i, r->chain);
            continue;
        }
        if (strcmp(r->verdict, "state_machine") == 0) {
            r->machine_cfg = aw_config_machine(cfg, r->machine);
            if (!r->machine_cfg)
                return aw_error_set(err, AW_CONFIG,
                                    "%s: rules[%zu].machine: no state machine named \"%.64s\" "
                                    "in state_machines",
                                    cfg->source, i, r->machine);
            text = r->machine_cfg->fingerprint;
            what = "machine's fingerprint";
        } else if (strcmp(r->verdict, "group") == 0) {
            text = r->group_by;
            what = "group_by";
            if (r->group_provider[0] && !aw_config_find_provider(cfg, r->group_provider))
                return aw_error_set(err, AW_CONFIG,
                                    "%s: rules[%zu].group_provider: no provider named "
                                    "\"%.64s\" in providers",
                                    cfg->source, i, r->group_provider);
        }
        if (r->key_template || text[0] == '\0')
            continue;
        aw_error e;
        if (aw_template_parse(text, &r->key_template, &e) != AW_OK)
            return aw_error_set(err, e.code, "%s: rules[%zu].%s: %s", cfg->source, i, what,
                                e.msg);
    }
    return AW_OK;
}

void aw_config_free_rule_templates(aw_config *cfg)
{
    for (size_t i = 0; cfg && i < cfg->n_chains; i++)
        for (size_t k = 0; k < cfg->chains[i].n_steps; k++) {
            aw_chain_template_free(cfg->chains[i].steps[k].payload_template);
            cfg->chains[i].steps[k].payload_template = NULL;
        }
    for (size_t i = 0; cfg && i < cfg->n_rules; i++) {
        aw_template_free(cfg->rules[i].key_template);
        cfg->rules[i].key_template = NULL;
    }
}
