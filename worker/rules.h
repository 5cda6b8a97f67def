/* Rules (docs/rules.md): which configured rule decides an action's verdict,
 * the throttle key it renders and the fixed window it counts in. The pipeline
 * (worker/pipeline.c) acts on the answers; nothing here touches state.
 *
 * Threads: every function is pure or works on the caller's aw_rule_scope;
 * the configuration's rules are read-only and shared by all threads. */
#ifndef AW_RULES_H
#define AW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"
#include "config/config.h"
#include "ingest/action.h"

/* A rendered throttle key longer than this is refused (the action rejected,
 * reason rule_field): counters are state keys, and a key built from an
 * unbounded payload string would be one. */
#define AW_RULE_KEY_MAX 1024

/* The parsed payload and metadata of one action, made only when a rule asks
 * for them (a metadata condition, a {payload.*} or {metadata.*} field).
 * Owned by the caller: zero it, pass it to the calls for one action, then
 * aw_rule_scope_clear(). */
typedef struct aw_rule_scope {
    struct json_t *payload;
    struct json_t *metadata;
    bool payload_parsed, metadata_parsed;
} aw_rule_scope;

void aw_rule_scope_clear(aw_rule_scope *sc);

/* The first enabled rule of cfg whose match fits a, or NULL. */
const aw_rule_config *aw_rules_match(const aw_config *cfg, const aw_action *a,
                                     aw_rule_scope *sc);

/* The rule of cfg named name, or NULL (a name no longer configured). */
const aw_rule_config *aw_rules_by_name(const aw_config *cfg, const char *name);

/* Render r's key template for a into out (appended). Returns 0; -1 when a
 * field is missing, not a scalar (string, number, boolean) or the key is
 * longer than AW_RULE_KEY_MAX: `why` (whysz bytes) then says which field and
 * why, and `field` receives the field as written in the template; -2 when
 * out of memory. */
int aw_rules_render_key(const aw_rule_config *r, const aw_action *a, aw_rule_scope *sc,
                        aw_buf *out, char *field, size_t fieldsz, char *why, size_t whysz);

/* What the enabled rules need of the backends, checked by config check and
 * run: a lock rule needs an atomic state backend (a lock that two replicas
 * can both take excludes nothing): with best_effort (a non-atomic backend
 * let through by state.allow_eventual_consistency) AW_CONFIG naming
 * rules[i].verdict; so does a state_machine rule (two replicas could both
 * move one event). A throttle delaying over its limit needs scheduled
 * actions (aw_scheduler_unavailable): else AW_CONFIG naming
 * rules[i].on_limit; so does a state_machine rule whose machine has
 * timeouts (naming rules[i].machine). AW_OK otherwise. */
aw_status aw_rules_check_backend(const aw_config *cfg, bool best_effort, aw_error *err);

/* A throttle with on_limit = "delay": over the limit the action is put in
 * the due index for the start of the next window (pipeline_rules.c). */
bool aw_rules_delays(const aw_rule_config *r);

/* The fixed window containing now_ms (wall clock, ms since the epoch):
 * floor(now_ms / window_ms). *ends_ms receives its end. */
int64_t aw_rules_window(int64_t now_ms, int64_t window_s, int64_t *ends_ms);

/* How long a counter of the window ending at ends_ms lives, seen at now_ms:
 * to the window's end plus a margin for clocks of other replicas that run
 * behind (they still count in that window). */
int64_t aw_rules_counter_ttl_ms(int64_t now_ms, int64_t ends_ms);

/* The counter's id (state key id; ns "acteon.rules", tenant the rule name,
 * kind "throttle"): "<window index>:<rendered key>", appended to out.
 * Returns 0 or -1 (out of memory). */
int aw_rules_counter_id(aw_buf *out, int64_t window, const char *key);

#endif
