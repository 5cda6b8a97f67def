#include "worker/group_state.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_buf.h"

void aw_group_joined_clear(aw_group_joined *j)
{
    free(j->group_id);
    memset(j, 0, sizeof(*j));
}

void aw_group_flush_clear(aw_group_flush *f)
{
    free(f->group_id);
    free(f->key);
    free(f->provider);
    free(f->action_type);
    free(f->payload);
    free(f->member_ids);
    memset(f, 0, sizeof(*f));
}

bool aw_group_rules_configured(const aw_config *cfg)
{
    for (size_t i = 0; i < cfg->n_rules; i++)
        if (cfg->rules[i].enabled && strcmp(cfg->rules[i].verdict, "group") == 0)
            return true;
    return false;
}

/* ---- records ---------------------------------------------------------------- */

static aw_state_key group_key(const aw_group_ctx *c, const char *kind, const char *id)
{
    return (aw_state_key){.ns = AW_GROUP_NS, .tenant = c->rule->name, .kind = kind, .id = id};
}

static int64_t ttl_ms(const aw_group_ctx *c)
{
    return c->rule->group_retention_s * 1000;
}

/* Read a JSON object record: AW_OK with *out (owned) and *version, or
 * AW_NOT_FOUND (*out NULL, *version 0), or the error. */
static aw_status read_record(aw_state_session *s, const aw_state_key *k, json_t **out,
                             uint64_t *version, aw_error *err)
{
    *out = NULL;
    *version = 0;
    aw_state_value v = {0};
    aw_status rc = aw_state_get(s, k, &v, err);
    if (rc == AW_OK) {
        *out = json_loadb(v.data, v.len, 0, NULL);
        *version = v.version;
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = aw_error_set(err, AW_PERMANENT, "group record %s/%s/%s: not a JSON object",
                              k->tenant, k->kind, k->id);
        }
    }
    aw_state_value_clear(&v);
    return rc;
}

/* Write o over version `expected` (0: create). */
static aw_status swap_record(const aw_group_ctx *c, const aw_state_key *k, uint64_t expected,
                             const json_t *o, aw_error *err)
{
    char *text = json_dumps(o, JSON_COMPACT);
    if (!text)
        return aw_error_set(err, AW_NOMEM, "group %s/%s: out of memory", k->tenant, k->id);
    uint64_t current;
    aw_status rc = aw_state_compare_and_swap(c->state, k, expected, text, strlen(text),
                                             ttl_ms(c), &current, err);
    free(text);
    return rc;
}

static int64_t int_of(const json_t *o, const char *name)
{
    return json_integer_value(json_object_get(o, name));
}

static bool bool_of(const json_t *o, const char *name)
{
    return json_is_true(json_object_get(o, name));
}

static const char *str_of(const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s ? s : "";
}

static char *doc_id_of(int64_t born_ms, int64_t gen, const char *key)
{
    aw_buf b = {0};
    if (aw_buf_printf(&b, "%" PRId64 ":%" PRId64 ":%s", born_ms, gen, key)) {
        aw_buf_free(&b);
        return NULL;
    }
    return aw_buf_steal(&b);
}

static char *group_id_of(const aw_group_ctx *c, const char *doc_id)
{
    aw_buf b = {0};
    if (aw_buf_printf(&b, "%s:%s", c->rule->name, doc_id)) {
        aw_buf_free(&b);
        return NULL;
    }
    return aw_buf_steal(&b);
}

/* The member's place in the group (1-based), 0 when not in it. */
static int64_t position_of(const json_t *doc, const char *identity)
{
    const json_t *members = json_object_get(doc, "members");
    for (size_t i = 0; i < json_array_size(members); i++)
        if (strcmp(str_of(json_array_get(members, i), "identity"), identity) == 0)
            return (int64_t)i + 1;
    return 0;
}

/* The flush item of a group, put due at due_ms; its value is the group's
 * opened_ms (aw_group_flush_value_read says why). */
static aw_status put_flush(const aw_group_ctx *c, const char *doc_id, int64_t due_ms,
                           const json_t *doc, aw_error *err)
{
    aw_state_key k = {.ns = c->pool, .tenant = c->rule->name, .kind = AW_GROUP_FLUSH_KIND,
                      .id = doc_id};
    char opened[24];
    int n = snprintf(opened, sizeof(opened), "%" PRId64, int_of(doc, "opened_ms"));
    return aw_state_due_put(c->state, &k, due_ms, opened, (size_t)n, err);
}

int64_t aw_group_flush_value_read(const char *value, size_t len)
{
    char buf[24];
    if (!value || len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, value, len);
    buf[len] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    return *end || v < 0 ? -1 : (int64_t)v;
}

/* ---- joining ---------------------------------------------------------------- */

/* One attempt's view: the head and the group it names. */
typedef struct view {
    json_t *head, *doc;
    uint64_t head_version, doc_version;
    int64_t born_ms, gen;
    char *doc_id;
} view;

static void view_clear(view *v)
{
    json_decref(v->head);
    json_decref(v->doc);
    free(v->doc_id);
    memset(v, 0, sizeof(*v));
}

static aw_status read_view(const aw_group_ctx *c, const char *key, view *v, aw_error *err)
{
    aw_state_key hk = group_key(c, AW_GROUP_HEAD_KIND, key);
    aw_status rc = read_record(c->state, &hk, &v->head, &v->head_version, err);
    if (rc == AW_NOT_FOUND) {
        aw_error_clear(err);
        v->born_ms = c->now_ms;
        v->gen = 1;
    } else if (rc != AW_OK) {
        return rc;
    } else {
        v->born_ms = int_of(v->head, "born_ms");
        v->gen = int_of(v->head, "gen");
    }
    if (!(v->doc_id = doc_id_of(v->born_ms, v->gen, key)))
        return aw_error_set(err, AW_NOMEM, "group: out of memory");
    aw_state_key dk = group_key(c, AW_GROUP_KIND, v->doc_id);
    rc = read_record(c->state, &dk, &v->doc, &v->doc_version, err);
    if (rc == AW_NOT_FOUND) {
        aw_error_clear(err);
        rc = AW_OK;
    }
    return rc;
}

/* Point the head at generation gen (of born_ms), over its version as read. */
static aw_status write_head(const aw_group_ctx *c, const char *key, const view *v, int64_t gen,
                            aw_error *err)
{
    json_t *h = json_pack("{s:I, s:I}", "born_ms", (json_int_t)v->born_ms, "gen",
                          (json_int_t)gen);
    if (!h)
        return aw_error_set(err, AW_NOMEM, "group: out of memory");
    aw_state_key hk = group_key(c, AW_GROUP_HEAD_KIND, key);
    aw_status rc = swap_record(c, &hk, v->head_version, h, err);
    json_decref(h);
    return rc;
}

/* A group that a member cannot join: make it full (if it is not yet), put
 * its flush due now (again, if it was full already: a put of a lost race
 * may have moved the item back to the window's end since), then point the
 * head at the next generation. */
static aw_status move_on(const aw_group_ctx *c, const char *key, view *v, aw_error *err)
{
    aw_status rc = AW_OK;
    if (strcmp(str_of(v->doc, "state"), "open") == 0) {
        if (!bool_of(v->doc, "full")) {
            json_object_set_new(v->doc, "full", json_true());
            aw_state_key dk = group_key(c, AW_GROUP_KIND, v->doc_id);
            if ((rc = swap_record(c, &dk, v->doc_version, v->doc, err)) != AW_OK)
                return rc;
        }
        if ((rc = put_flush(c, v->doc_id, c->now_ms, v->doc, err)) == AW_CONFLICT) {
            aw_error_clear(err); /* being flushed already */
            rc = AW_OK;
        }
        if (rc != AW_OK)
            return rc;
    }
    return write_head(c, key, v, v->gen + 1, err);
}

static void describe(const aw_group_ctx *c, const view *v, const json_t *doc, int64_t position,
                     aw_group_joined *out)
{
    out->group_id = group_id_of(c, v->doc_id);
    out->size = position;
    out->flush_at_ms = int_of(doc, "flush_at_ms");
}

/* A retried member: is it in the group its marker names? *found then. */
static aw_status find_earlier_join(const aw_group_ctx *c, const aw_group_member *m,
                                   aw_group_joined *out, bool *found, aw_error *err)
{
    *found = false;
    aw_state_key mk = group_key(c, AW_GROUP_MEMBER_KIND, m->identity);
    aw_state_value mv = {0};
    aw_status rc = aw_state_get(c->state, &mk, &mv, err);
    if (rc == AW_NOT_FOUND) { /* expired since the check_and_set: join */
        aw_error_clear(err);
        return AW_OK;
    }
    if (rc != AW_OK)
        return rc;
    view v = {0};
    v.doc_id = strndup(mv.data, mv.len);
    aw_state_value_clear(&mv);
    if (!v.doc_id)
        return aw_error_set(err, AW_NOMEM, "group: out of memory");
    aw_state_key dk = group_key(c, AW_GROUP_KIND, v.doc_id);
    rc = read_record(c->state, &dk, &v.doc, &v.doc_version, err);
    if (rc == AW_NOT_FOUND) {
        aw_error_clear(err);
        rc = AW_OK;
    }
    int64_t pos = rc == AW_OK && v.doc ? position_of(v.doc, m->identity) : 0;
    if (pos) {
        describe(c, &v, v.doc, pos, out);
        out->already = true;
        *found = true;
        if (!out->group_id)
            rc = aw_error_set(err, AW_NOMEM, "group: out of memory");
    }
    view_clear(&v);
    return rc;
}

/* Name the group the member is about to join in its marker, before the
 * join (group_state.h says why). The first write is a check_and_set: a
 * marker already there means an earlier attempt got this far, and
 * perhaps joined. */
static aw_status mark(const aw_group_ctx *c, const aw_group_member *m, const char *doc_id,
                      bool first, aw_group_joined *out, bool *found, aw_error *err)
{
    aw_state_key mk = group_key(c, AW_GROUP_MEMBER_KIND, m->identity);
    *found = false;
    if (first) {
        bool written = false;
        aw_status rc = aw_state_check_and_set(c->state, &mk, doc_id, strlen(doc_id), ttl_ms(c),
                                              &written, err);
        if (rc != AW_OK || written)
            return rc;
        if ((rc = find_earlier_join(c, m, out, found, err)) != AW_OK || *found)
            return rc;
    }
    return aw_state_set(c->state, &mk, doc_id, strlen(doc_id), ttl_ms(c), NULL, err);
}

static json_t *new_doc(const aw_group_ctx *c, const char *key, const view *v,
                       const aw_group_member *m)
{
    const aw_rule_config *r = c->rule;
    return json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:b, s:I, s:s, s:s, s:[]}", "key", key,
                     "born_ms", (json_int_t)v->born_ms, "gen", (json_int_t)v->gen, "state",
                     "open", "opened_ms", (json_int_t)c->now_ms, "flush_at_ms",
                     (json_int_t)(c->now_ms + r->window_ms), "full", 0, "bytes",
                     (json_int_t)2, "provider",
                     r->group_provider[0] ? r->group_provider : m->provider, "action_type",
                     r->group_action_type[0] ? r->group_action_type : m->action_type,
                     "members");
}

/* One member on its way in (aw_group_join_many). */
typedef struct pending {
    const aw_group_member *m;
    aw_group_joined *out;
    json_t *entry;  /* {"id","identity","record_id","payload"} */
    size_t bytes;   /* its JSON's length */
    char *marked;   /* the doc id its marker names, as we wrote it; NULL: none yet */
    bool done;
    bool chosen;    /* in the write being made */
} pending;

/* Does a member of `bytes` fit a group of `size` members and `total` bytes?
 * A lone member larger than max_bytes is let into an empty group (it is
 * flushed alone), never into one with others. */
static bool fits(const aw_group_ctx *c, int64_t size, int64_t total, size_t bytes)
{
    return size < c->rule->max_size &&
           (size == 0 || total + 1 + (int64_t)bytes <= c->rule->max_bytes);
}

/* Add the pending members, in order, up to the first that does not fit,
 * to the group as read (a new one when none) and write it: one
 * compare-and-swap for all of them. */
static aw_status add_members(const aw_group_ctx *c, const char *key, view *v, pending *p,
                             size_t n, aw_error *err)
{
    bool opening = v->doc == NULL;
    const aw_group_member *first = NULL;
    for (size_t i = 0; i < n && !first; i++)
        if (!p[i].done)
            first = p[i].m;
    if (opening && !(v->doc = new_doc(c, key, v, first)))
        return aw_error_set(err, AW_NOMEM, "group: out of memory");
    json_t *members = json_object_get(v->doc, "members");
    int64_t before = (int64_t)json_array_size(members), bytes = int_of(v->doc, "bytes");
    int64_t size = before;
    for (size_t i = 0; i < n; i++)
        p[i].chosen = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i].done)
            continue;
        if (!fits(c, size, bytes, p[i].bytes))
            break; /* it makes the group full: it and the rest, the next one */
        if (json_array_append(members, p[i].entry) != 0)
            return aw_error_set(err, AW_NOMEM, "group: out of memory");
        bytes += (int64_t)p[i].bytes + (size ? 1 : 0);
        size++;
        p[i].chosen = true;
    }
    bool full = size >= c->rule->max_size || bytes >= c->rule->max_bytes;
    json_object_set_new(v->doc, "bytes", json_integer(bytes));
    json_object_set_new(v->doc, "full", json_boolean(full));
    /* The flush first, so no crash leaves a group without one, nor a full
     * one waiting for its window: due at the window's end when opening,
     * now when full. A put whose compare-and-swap then loses the race
     * changes nothing that matters: an item made due early finds its group
     * open and not full, and is looked at again a poll later (the write of
     * the member filling it may just not have landed yet), until the
     * window's end (aw_group_close, aw_group_flush_fire); one moved back to
     * the window's end although full is put due now again by the next
     * member that finds the group full (move_on). A put refused because the
     * flush holds the item already is fine: the flush reads the group after
     * our write or closes it before, and then our write loses. */
    aw_status rc = AW_OK;
    if (opening || full)
        rc = put_flush(c, v->doc_id, full ? c->now_ms : int_of(v->doc, "flush_at_ms"), v->doc,
                       err);
    if (rc == AW_CONFLICT && !opening) {
        aw_error_clear(err);
        rc = AW_OK;
    }
    if (rc != AW_OK)
        return rc;
    aw_state_key dk = group_key(c, AW_GROUP_KIND, v->doc_id);
    if ((rc = swap_record(c, &dk, v->doc_version, v->doc, err)) != AW_OK)
        return rc;
    int64_t pos = before;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].chosen)
            continue;
        describe(c, v, v->doc, ++pos, p[i].out);
        p[i].out->opened = opening && pos == 1;
        p[i].out->filled = full && pos == size;
        p[i].done = true;
        if (!p[i].out->group_id)
            return aw_error_set(err, AW_NOMEM, "group: out of memory");
    }
    return AW_OK;
}

static json_t *member_entry(const aw_group_member *m)
{
    json_t *payload = json_loadb(m->payload ? m->payload : "null",
                                 m->payload ? m->payload_len : 4, JSON_DECODE_ANY, NULL);
    return json_pack("{s:s, s:s, s:s, s:o}", "id", m->action_id, "identity", m->identity,
                     "record_id", m->record_id, "payload", payload ? payload : json_null());
}

/* Mark each pending member for the group as read (group_state.h says why);
 * a member found joined by an earlier attempt is done. */
static aw_status mark_all(const aw_group_ctx *c, const view *v, pending *p, size_t n,
                          aw_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i].done || (p[i].marked && strcmp(p[i].marked, v->doc_id) == 0))
            continue;
        bool found = false;
        aw_status rc = mark(c, p[i].m, v->doc_id, p[i].marked == NULL, p[i].out, &found, err);
        if (rc != AW_OK)
            return rc;
        if (found) {
            p[i].done = true;
            continue;
        }
        free(p[i].marked);
        if (!(p[i].marked = strdup(v->doc_id)))
            return aw_error_set(err, AW_NOMEM, "group: out of memory");
    }
    return AW_OK;
}

/* One attempt on the group as read: AW_OK when it made progress (members
 * joined, or moved on to the next generation), else the error. */
static aw_status join_step(const aw_group_ctx *c, const char *key, view *v, pending *p,
                           size_t n, aw_error *err)
{
    size_t first = n;
    for (size_t i = 0; i < n; i++) {
        int64_t pos;
        if (!p[i].done && p[i].marked && v->doc && (pos = position_of(v->doc, p[i].m->identity))) {
            /* Its write landed although the answer said otherwise. */
            describe(c, v, v->doc, pos, p[i].out);
            p[i].done = true;
        }
        if (!p[i].done && first == n)
            first = i;
    }
    if (first == n)
        return AW_OK;
    if (v->doc && !(strcmp(str_of(v->doc, "state"), "open") == 0 && !bool_of(v->doc, "full") &&
                    fits(c, (int64_t)json_array_size(json_object_get(v->doc, "members")),
                         int_of(v->doc, "bytes"), p[first].bytes)))
        return move_on(c, key, v, err);
    aw_status rc;
    if (!v->head && (rc = write_head(c, key, v, v->gen, err)) != AW_OK)
        return rc;
    if ((rc = mark_all(c, v, p, n, err)) != AW_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!p[i].done)
            return add_members(c, key, v, p, n, err);
    return AW_OK; /* every one found joined before */
}

aw_status aw_group_join_many(const aw_group_ctx *c, const char *key, const aw_group_member *ms,
                             size_t n, aw_group_joined *outs, aw_error *err)
{
    memset(outs, 0, n * sizeof(*outs));
    pending *p = calloc(n ? n : 1, sizeof(*p));
    aw_status rc = p ? AW_OK : aw_error_set(err, AW_NOMEM, "group: out of memory");
    for (size_t i = 0; rc == AW_OK && i < n; i++) {
        p[i] = (pending){.m = &ms[i], .out = &outs[i], .entry = member_entry(&ms[i])};
        char *text = p[i].entry ? json_dumps(p[i].entry, JSON_COMPACT) : NULL;
        if (!text)
            rc = aw_error_set(err, AW_NOMEM, "group: out of memory");
        p[i].bytes = text ? strlen(text) : 0;
        free(text);
    }
    int conflicts = 0;
    for (bool left = true; rc == AW_OK && left;) {
        view v = {0};
        if ((rc = read_view(c, key, &v, err)) == AW_OK)
            rc = join_step(c, key, &v, p, n, err);
        view_clear(&v);
        left = false;
        for (size_t i = 0; i < n; i++)
            left = left || !p[i].done;
        if (rc != AW_CONFLICT)
            continue;
        for (size_t i = 0; i < n; i++) /* what the lost write described */
            if (!p[i].done)
                aw_group_joined_clear(&outs[i]);
        if (++conflicts >= AW_GROUP_MAX_RACES) {
            rc = aw_error_set(err, AW_CONFLICT, "group %s/%s: %d joins lost a race in a row",
                              c->rule->name, key, conflicts);
            err->retriable = true;
            break;
        }
        aw_error_clear(err);
        rc = AW_OK;
    }
    for (size_t i = 0; p && i < n; i++) {
        outs[i].conflicts = conflicts;
        json_decref(p[i].entry);
        free(p[i].marked);
    }
    free(p);
    return rc;
}

aw_status aw_group_join(const aw_group_ctx *c, const char *key, const aw_group_member *m,
                        aw_group_joined *out, aw_error *err)
{
    return aw_group_join_many(c, key, m, 1, out, err);
}

/* ---- closing ---------------------------------------------------------------- */

static aw_status describe_flush(const aw_group_ctx *c, const char *doc_id, const json_t *doc,
                                aw_group_flush *out, aw_error *err)
{
    json_t *members = json_object_get(doc, "members");
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < json_array_size(members); i++)
        json_array_append_new(ids, json_string(str_of(json_array_get(members, i), "id")));
    out->group_id = group_id_of(c, doc_id);
    out->key = strdup(str_of(doc, "key"));
    out->provider = strdup(str_of(doc, "provider"));
    out->action_type = strdup(str_of(doc, "action_type"));
    out->size = (int64_t)json_array_size(members);
    out->gen = int_of(doc, "gen");
    json_t *p = out->group_id && out->key
                    ? json_pack("{s:s, s:s, s:s, s:I, s:O}", "group_id", out->group_id, "rule",
                                c->rule->name, "key", out->key, "size", (json_int_t)out->size,
                                "members", members)
                    : NULL;
    out->payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
    out->member_ids = ids ? json_dumps(ids, JSON_COMPACT) : NULL;
    json_decref(p);
    json_decref(ids);
    if (!out->group_id || !out->key || !out->provider || !out->action_type || !out->payload ||
        !out->member_ids) {
        aw_group_flush_clear(out);
        return aw_error_set(err, AW_NOMEM, "group: out of memory");
    }
    return AW_OK;
}

aw_status aw_group_close(const aw_group_ctx *c, const char *doc_id, aw_group_flush *out,
                         aw_error *err)
{
    memset(out, 0, sizeof(*out));
    aw_state_key dk = group_key(c, AW_GROUP_KIND, doc_id);
    for (int races = 0;; races++) {
        json_t *doc;
        uint64_t version;
        aw_status rc = read_record(c->state, &dk, &doc, &version, err);
        if (rc != AW_OK)
            return rc;
        bool closing = strcmp(str_of(doc, "state"), "open") == 0;
        if (closing && !bool_of(doc, "full") && c->now_ms < int_of(doc, "flush_at_ms")) {
            /* Made due early by the put of a join that lost its race:
             * not yet. */
            out->not_before_ms = int_of(doc, "flush_at_ms");
            json_decref(doc);
            return AW_OK;
        }
        if (closing) {
            json_object_set_new(doc, "state", json_string("closed"));
            json_object_set_new(doc, "full", json_true());
            json_object_set_new(doc, "closed_ms", json_integer(c->now_ms));
            rc = swap_record(c, &dk, version, doc, err);
        }
        if (rc == AW_OK) {
            rc = describe_flush(c, doc_id, doc, out, err);
            out->closed_now = closing;
        }
        json_decref(doc);
        if (rc != AW_CONFLICT)
            return rc;
        if (races + 1 >= AW_GROUP_MAX_RACES) {
            rc = aw_error_set(err, AW_CONFLICT, "group %s/%s: closing lost %d races in a row",
                              c->rule->name, doc_id, races + 1);
            err->retriable = true;
            return rc;
        }
        aw_error_clear(err);
    }
}

/* ---- reading ---------------------------------------------------------------- */

aw_status aw_group_get(aw_state_session *s, const aw_config *cfg, const char *group_id,
                       char **out, aw_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const aw_rule_config *r = &cfg->rules[i];
        size_t n = strlen(r->name);
        if (strcmp(r->verdict, "group") != 0 || strncmp(group_id, r->name, n) != 0 ||
            group_id[n] != ':')
            continue;
        aw_state_key k = {.ns = AW_GROUP_NS, .tenant = r->name, .kind = AW_GROUP_KIND,
                          .id = group_id + n + 1};
        aw_state_value v = {0};
        aw_status rc = aw_state_get(s, &k, &v, err);
        if (rc == AW_OK && !(*out = strndup(v.data, v.len)))
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
        aw_state_value_clear(&v);
        if (rc != AW_NOT_FOUND)
            return rc;
    }
    return aw_error_set(err, AW_NOT_FOUND, "group %s: not found (no group rule names it, or "
                        "it expired)", group_id);
}
