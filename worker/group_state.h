/* The groups of group rules (docs/rules.md, "group"), kept in the shared
 * state backend and changed only by compare-and-swap, so that replicas
 * agree on every group's members and each group flushes once.
 *
 * Records (ns AW_GROUP_NS, tenant the rule's name):
 *   head   kind AW_GROUP_HEAD_KIND, id the rendered group_by key:
 *          {"born_ms":B,"gen":G}: the generation members join now. B is
 *          the wall clock when the head was made: a key whose head expired
 *          and comes back gets new group ids, never one still in the audit
 *          trail.
 *   group  kind AW_GROUP_KIND, id "<born_ms>:<gen>:<key>" (the doc id; the
 *          group id is "<rule>:<doc id>"):
 *          {"key","born_ms","gen","state":"open"|"closed","opened_ms",
 *           "flush_at_ms","full","bytes","provider","action_type",
 *           "closed_ms","members":[{"id","identity","record_id","payload"}]}
 *          "full": no member joins any more (max_size reached, or the next
 *          member would pass max_bytes); "closed": its flush began, its
 *          member list is final. bytes: the member list's size as JSON.
 *   marker kind AW_GROUP_MEMBER_KIND, id the member's dedup identity: the
 *          doc id of the group it joins, written (check_and_set) before
 *          the join. A retry of a member after a crash between its join and
 *          its done record looks there first, and does not join twice even
 *          when that group has flushed since.
 * All three with a TTL of the rule's group_retention_s (renewed by each
 * write of the record).
 *
 * The flush: the member that opens a group first puts a due item (pool: ns
 * kafka.group_id, kind AW_GROUP_FLUSH_KIND; tenant the rule, id the doc
 * id, value the group's opened_ms) due at flush_at_ms = opened_ms +
 * window_ms, then creates the group:
 * no crash can leave a group without its flush. The member that makes it
 * full puts it due now, before its write, and so does a member that finds
 * it full and still open (group_state.c says why both). The scheduler
 * takes the item, closes the group (aw_group_close) and runs the grouped
 * call (worker/group_flush.h).
 *
 * Pure but for the state calls: any thread, one session per thread. */
#ifndef AW_GROUP_STATE_H
#define AW_GROUP_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/state/state.h"
#include "config/config.h"

#define AW_GROUP_NS "acteon.groups"
#define AW_GROUP_KIND "group"
#define AW_GROUP_HEAD_KIND "group_head"
#define AW_GROUP_MEMBER_KIND "group_member"
#define AW_GROUP_FLUSH_KIND "group_flush"
/* Lost compare-and-swap races in a row before a join gives up (retriable). */
#define AW_GROUP_MAX_RACES 64

/* One member as it joins (all borrowed). payload: the action's payload as
 * JSON text. provider, action_type: the grouped call's defaults when it is
 * the first member. */
typedef struct aw_group_member {
    const char *action_id;
    const char *identity;
    const char *record_id;
    const char *payload;
    size_t payload_len;
    const char *provider;
    const char *action_type;
} aw_group_member;

/* Where a rule's groups live and their flushes are put. */
typedef struct aw_group_ctx {
    aw_state_session *state;
    const aw_rule_config *rule;
    const char *pool; /* kafka.group_id: the due index pool of flushes */
    int64_t now_ms;   /* wall clock */
} aw_group_ctx;

typedef struct aw_group_joined {
    char *group_id;      /* owned: "<rule>:<born_ms>:<gen>:<key>" */
    int64_t size;        /* members when this one joined (itself included) */
    int64_t flush_at_ms; /* when the window ends (it may flush earlier, full) */
    bool already;        /* joined by an earlier attempt (a retry after a crash) */
    bool opened;         /* this member opened the group */
    bool filled;         /* this member made it full: it flushes now */
    int conflicts;       /* compare-and-swap races lost on the way */
} aw_group_joined;

void aw_group_joined_clear(aw_group_joined *j);

/* Join member m to the open group of `key` (the rendered group_by), once:
 * a member found in the group its marker names is not added again
 * (already). Re-reads after a lost race, at most AW_GROUP_MAX_RACES times,
 * then AW_CONFLICT (retriable). A backend error is returned as it came. */
aw_status aw_group_join(const aw_group_ctx *c, const char *key, const aw_group_member *m,
                        aw_group_joined *out, aw_error *err);
/* The same for n members of one key at once (one batch's): each joined
 * once, in order; those that fit the open group join it with one
 * compare-and-swap, the rest the next generation. outs[i] is ms[i]'s
 * (conflicts: the races lost by the whole call). On error none is valid
 * (the caller clears them). */
aw_status aw_group_join_many(const aw_group_ctx *c, const char *key, const aw_group_member *ms,
                             size_t n, aw_group_joined *outs, aw_error *err);

/* A group as its flush sees it (all owned). */
typedef struct aw_group_flush {
    char *group_id;
    char *key;
    char *provider, *action_type; /* the rule's, else the first member's */
    char *payload;     /* the grouped call's payload: {"group_id","rule","key",
                          "size","members":[...]} */
    char *member_ids;  /* JSON array of the members' action ids */
    int64_t size;
    int64_t gen;
    bool closed_now;   /* this call closed it (not an earlier flush attempt) */
    int64_t not_before_ms; /* > 0: not closed, its window has not ended and it
                              is not full (the item was made due early by a
                              join that lost its race); nothing else is set */
} aw_group_flush;

void aw_group_flush_clear(aw_group_flush *f);

/* Close the group of doc id `doc_id` (its member list becomes final) and
 * describe it; a group closed before (a flush retried after a crash, or
 * taken again after a lost lease) is described as it is; an open group
 * neither full nor at its window's end is left open (out->not_before_ms
 * says until when). AW_NOT_FOUND when it has no record (expired). */
aw_status aw_group_close(const aw_group_ctx *c, const char *doc_id, aw_group_flush *out,
                         aw_error *err);

/* Read a group by its group id ("<rule>:<doc id>", the rule one of cfg's
 * group rules) as its JSON record (*out owned). AW_NOT_FOUND when no rule
 * names it or it has no record (never existed, or expired). */
aw_status aw_group_get(aw_state_session *s, const aw_config *cfg, const char *group_id,
                       char **out, aw_error *err);

/* The opened_ms a flush item's value holds, or -1 when it holds none. A
 * flush finding no group at all looks again until opened_ms + window_ms +
 * AW_GROUP_CREATE_GRACE_MS (the item is put before the group's first write,
 * which may not have landed yet), and only then drops the item: by then a
 * missing group has expired (group_retention_s is at least 2 * window_ms +
 * 60 s) or was never written (its first member crashed in between). */
#define AW_GROUP_CREATE_GRACE_MS 60000
int64_t aw_group_flush_value_read(const char *value, size_t len);

/* Does cfg have an enabled group rule (is the flush kind worth a take)? */
bool aw_group_rules_configured(const aw_config *cfg);

#endif
