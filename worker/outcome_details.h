/* The `details` object of an outcome, and the done record's summary that
 * carries it, written as compact JSON text once, where the outcome is
 * decided: one text per message for the done record, the audit record and
 * the reply (no tree kept beside it, nothing parsed back). The bytes are
 * those jansson's json_dumps(JSON_COMPACT) wrote for the trees these
 * functions replaced: members and their order are part of the reply format
 * (tests compare them).
 *
 * Every writer appends one complete object to `out` and returns 0, or -1
 * when out of memory (out is then as it was). Pure functions of their
 * arguments: any thread, nothing kept. */
#ifndef AW_OUTCOME_DETAILS_H
#define AW_OUTCOME_DETAILS_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/state/state_types.h"
#include "common/aw_buf.h"
#include "common/aw_outcome.h"
#include "ingest/action.h"
#include "worker/provider.h"

/* Rejected: {"reason":..,"field":..,"error":..} ("field" only when known). */
int aw_details_rejected(aw_buf *out, const aw_reject *r);

/* Executed or failed: {"provider_status":..,"error_code":..,"error":..,
 * "attempts":..} (status when the provider answered over HTTP, the errors
 * when it failed). */
int aw_details_executed(aw_buf *out, const aw_provider_result *res, int attempts);

/* A duplicate of the message that did the work (c: a DONE claim):
 * {"original_outcome":..,"original_source":{..},"original_action_id":..,
 * "original_fencing_token":..}. */
int aw_details_duplicate(aw_buf *out, const aw_claim *c);

/* The same message again (c: a DONE claim from this very message): the
 * original outcome and details with "redelivered":true; *outcome,
 * *attempts and rule (rulesz bytes: the name of the rule whose verdict
 * applied, "" for none or one too long) from the summary. Rare (a crash
 * between complete and commit): through jansson, since the backend may have
 * rewritten the summary. */
int aw_details_redelivered(aw_buf *out, const aw_claim *c, aw_outcome *outcome,
                           int64_t *attempts, char *rule, size_t rulesz);

/* Suppressed by a rule: {"rule":..}. */
int aw_details_suppressed(aw_buf *out, const char *rule);

/* Throttled by a rule: {"rule":..,"key":..,"max_count":..,"window_s":..,
 * "retry_after_ms":..} (key: the rendered key; retry_after_ms: to the end of
 * the window). */
int aw_details_throttled(aw_buf *out, const char *rule, const char *key, int64_t max_count,
                         int64_t window_s, int64_t retry_after_ms);

/* Executed under a lock rule's lock: appends "lock":{"key":..,"token":..}
 * to the complete details object at out[start..] (the rendered key, the
 * lock's fencing token). 0, or -1 (out untouched past its old end). */
int aw_details_add_lock(aw_buf *out, size_t start, const char *key, uint64_t token);

/* A chain step's answer (docs/rules.md, "chain"): appends "result": the
 * body as JSON when it is JSON, else as a string (null when empty), to the
 * details object at out[start..]. 0, or -1 (out untouched past its old
 * end). */
int aw_details_add_result(aw_buf *out, size_t start, const char *body, size_t len);

/* A chain's trigger (outcome chain_started): {"chain":{"id","name"}}. */
int aw_details_chain_started(aw_buf *out, const char *id, const char *name);

/* A state_machine rule's move, appended to the complete details object at
 * out[start..]: "state":{"rule","machine","fingerprint","from","to","seq"}
 * and "retried":true when the move was made by an earlier attempt of the
 * same action (a retry after a crash). 0, or -1 (out untouched past its
 * old end). */
int aw_details_add_state(aw_buf *out, size_t start, const char *rule, const char *machine,
                         const char *fingerprint, const char *from, const char *to, int64_t seq,
                         bool retried);

/* A state machine's timeout fired: {"timeout":true,"after_s":N,"state":
 * {"machine","fingerprint","from","to","seq"[,"retried":true]}}. */
int aw_details_event_timeout(aw_buf *out, const char *machine, const char *fingerprint,
                             const char *from, const char *to, int64_t seq, int64_t after_s,
                             bool retried);

/* Suppressed by a state_machine rule, no transition allowed:
 * {"rule","reason","machine","fingerprint","state","action_type"}. */
int aw_details_state_refused(aw_buf *out, const char *rule, const char *machine,
                             const char *fingerprint, const char *state, const char *action_type);

/* Joined a group of a group rule: {"rule","group":{"id","size",
 * "flush_at_ms"[,"retried":true]}} (size: the members when it joined,
 * itself included; retried: it joined in an earlier attempt, a retry after
 * a crash). */
int aw_details_grouped(aw_buf *out, const char *rule, const char *group_id, int64_t size,
                       int64_t flush_at_ms, bool retried);
/* A lock rule's lock stayed held elsewhere longer than max_wait_ms, with
 * on_timeout = "fail": {"error_code":"lock_timeout","error":..,"rule":..,
 * "key":..,"waited_ms":..,"max_wait_ms":..}. */
int aw_details_lock_timeout(aw_buf *out, const char *rule, const char *key, int64_t waited_ms,
                            int64_t max_wait_ms);

/* Scheduled (docs/scheduling.md): {"not_before":<RFC 3339, UTC, ms>,
 * "due_key":"<namespace>:<tenant>:<key>"} and "already_running":true when
 * the due item was being executed (its lease live) and kept as it was. */
int aw_details_scheduled(aw_buf *out, int64_t not_before_ms, const char *due_key,
                         bool already_running);

/* Put off by a throttle (on_limit = "delay"): appends "rule", "key",
 * "max_count" and "window_s" to the complete scheduled details object at
 * out[start..]. 0, or -1 (out untouched past its old end). */
int aw_details_add_throttle(aw_buf *out, size_t start, const char *rule, const char *key,
                            int64_t max_count, int64_t window_s);

/* The done record's summary: {"outcome":..,"action_id":..,"attempts":..,
 * "rule":.. (only when a rule's verdict applied, rule not NULL),
 * "details":<details>}. */
int aw_details_summary(aw_buf *out, aw_outcome outcome, const char *action_id,
                       int64_t attempts, const char *rule, const char *details);

#endif
