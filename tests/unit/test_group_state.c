/* Groups of group rules (worker/group_state.h) over the memory state
 * backend, called directly as two replicas would (two sessions): members
 * join the open group; the one that fills it (max_size) flushes it now and
 * the next opens the following generation; a member that would pass
 * max_bytes closes the group and opens the next (a lone big member is let
 * into an empty group); a retried member (a crash between its join and its
 * done record) is not added twice, even after its group closed; a member
 * whose marker was written but whose join was not joins once; closing is
 * idempotent; the flush item is put when the group opens, due at the
 * window's end, and again due now when it fills; an item due early leaves
 * its group open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "worker/group_state.h"

typedef struct fixture {
    aw_config *cfg;
    aw_state *st;
    aw_state_session *a, *b; /* two replicas */
} fixture;

static void setup_with(fixture *fx, const char *rule_extra)
{
    memset(fx, 0, sizeof(*fx));
    char text[2048];
    snprintf(text, sizeof(text),
             "kafka = { brokers = \"b:9092\"; group_id = \"g\"; topics = [ \"t\" ]; };\n"
             "state = { backend = \"memory\"; };\naudit = { enabled = false; };\n"
             "providers = ( { name = \"noop\"; type = \"noop\"; } );\n"
             "rules = ( { name = \"alerts\"; verdict = \"group\"; group_by = \"{payload.host}\";"
             " window_ms = 60000; %s } );\n",
             rule_extra);
    aw_error err = {0};
    if (aw_config_load_string(text, &fx->cfg, &err) != AW_OK)
        fail_msg("config: %s", err.msg);
    aw_state_options so = {0};
    if (aw_state_new("memory", &so, &fx->st, &err) != AW_OK ||
        aw_state_session_open(fx->st, &fx->a, &err) != AW_OK ||
        aw_state_session_open(fx->st, &fx->b, &err) != AW_OK)
        fail_msg("state: %s", err.msg);
}

static void teardown(fixture *fx)
{
    aw_state_session_close(fx->a);
    aw_state_session_close(fx->b);
    aw_state_destroy(fx->st);
    aw_config_destroy(fx->cfg);
}

static aw_group_ctx ctx_of(fixture *fx, aw_state_session *s, int64_t now_ms)
{
    return (aw_group_ctx){.state = s, .rule = &fx->cfg->rules[0], .pool = "g", .now_ms = now_ms};
}

/* Member n (action id "a-<n>", identity "ns:t:a-<n>") with payload
 * {"host":..,"n":n} (pad: that many more bytes of it). */
static void join(fixture *fx, aw_state_session *s, int64_t now_ms, int n, size_t pad,
                 aw_group_joined *out)
{
    static char id[32], identity[48], rec[48], payload[4096];
    snprintf(id, sizeof(id), "a-%d", n);
    snprintf(identity, sizeof(identity), "ns:t:a-%d", n);
    snprintf(rec, sizeof(rec), "t:0:%d", n);
    assert_true(pad < 4000);
    int len = snprintf(payload, sizeof(payload), "{\"host\":\"h1\",\"n\":%d,\"pad\":\"%*s\"}", n,
                       (int)pad, "");
    aw_group_member m = {.action_id = id, .identity = identity, .record_id = rec,
                         .payload = payload, .payload_len = (size_t)len, .provider = "noop",
                         .action_type = "alert"};
    aw_group_ctx c = ctx_of(fx, s, now_ms);
    aw_error err = {0};
    if (aw_group_join(&c, "h1", &m, out, &err) != AW_OK)
        fail_msg("join %d: %s", n, err.msg);
}

/* The flush items due by now_ms (taken by a peer and released again). */
static size_t due_flushes(fixture *fx, int64_t now_ms, char ids[][64])
{
    aw_due_item items[8];
    size_t n = 0;
    aw_error err;
    assert_int_equal(aw_state_due_take(fx->b, "g", AW_GROUP_FLUSH_KIND, now_ms, 8, 60000, items,
                                       &n, &err),
                     AW_OK);
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], 64, "%s", items[i].id);
        aw_state_key k = {.ns = items[i].ns, .tenant = items[i].tenant, .kind = items[i].kind,
                          .id = items[i].id};
        assert_int_equal(aw_state_due_release(fx->b, &k, items[i].token, 0, &err), AW_OK);
        aw_due_item_clear(&items[i]);
    }
    return n;
}

static void test_join_fill_next(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "max_size = 3;");
    int64_t t0 = 1000000;
    aw_group_joined j;
    join(&fx, fx.a, t0, 1, 0, &j);
    assert_true(j.opened);
    assert_false(j.filled);
    assert_int_equal(j.size, 1);
    assert_int_equal(j.flush_at_ms, t0 + 60000);
    char gid[128];
    snprintf(gid, sizeof(gid), "alerts:%lld:1:h1", (long long)t0);
    assert_string_equal(j.group_id, gid);
    aw_group_joined_clear(&j);
    char ids[8][64];
    assert_int_equal(due_flushes(&fx, t0 + 59999, ids), 0); /* not before the window's end */
    join(&fx, fx.b, t0 + 10, 2, 0, &j); /* another replica */
    assert_int_equal(j.size, 2);
    assert_false(j.opened);
    assert_string_equal(j.group_id, gid);
    aw_group_joined_clear(&j);
    join(&fx, fx.a, t0 + 20, 3, 0, &j);
    assert_int_equal(j.size, 3);
    assert_true(j.filled);
    aw_group_joined_clear(&j);
    /* full: flush now */
    assert_int_equal(due_flushes(&fx, t0 + 20, ids), 1);
    assert_string_equal(ids[0], gid + strlen("alerts:"));
    /* the fourth opens generation 2 (same head) */
    join(&fx, fx.b, t0 + 30, 4, 0, &j);
    snprintf(gid, sizeof(gid), "alerts:%lld:2:h1", (long long)t0);
    assert_string_equal(j.group_id, gid);
    assert_true(j.opened);
    assert_int_equal(j.size, 1);
    aw_group_joined_clear(&j);
    teardown(&fx);
}

/* A retried member is not added twice: while its group is open, and after
 * it closed (the retry then answers the first group, not a new one). */
static void test_retry_joins_once(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "max_size = 10;");
    int64_t t0 = 2000000;
    aw_group_joined j, again;
    join(&fx, fx.a, t0, 1, 0, &j);
    join(&fx, fx.b, t0 + 1, 1, 0, &again);
    assert_true(again.already);
    assert_int_equal(again.size, 1);
    assert_string_equal(again.group_id, j.group_id);
    aw_group_joined_clear(&again);
    /* the group closes (its flush); the retry still answers it */
    aw_group_ctx c = ctx_of(&fx, fx.b, t0 + 60000);
    aw_group_flush f;
    aw_error err;
    assert_int_equal(aw_group_close(&c, j.group_id + strlen("alerts:"), &f, &err), AW_OK);
    assert_true(f.closed_now);
    assert_int_equal(f.size, 1);
    aw_group_flush_clear(&f);
    join(&fx, fx.a, t0 + 60001, 1, 0, &again);
    assert_true(again.already);
    assert_string_equal(again.group_id, j.group_id);
    aw_group_joined_clear(&again);
    /* a new member goes to the next generation */
    join(&fx, fx.a, t0 + 60002, 2, 0, &again);
    assert_false(again.already);
    assert_true(again.opened);
    assert_string_not_equal(again.group_id, j.group_id);
    aw_group_joined_clear(&again);
    aw_group_joined_clear(&j);
    teardown(&fx);
}

/* A crash after the marker, before the join: the retry joins (once). */
static void test_marker_without_join(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "");
    int64_t t0 = 3000000;
    aw_group_joined j;
    join(&fx, fx.a, t0, 1, 0, &j);
    aw_group_joined_clear(&j);
    /* member 2's marker names the group, its join never happened */
    char doc[64];
    snprintf(doc, sizeof(doc), "%lld:1:h1", (long long)t0);
    aw_state_key mk = {.ns = AW_GROUP_NS, .tenant = "alerts", .kind = AW_GROUP_MEMBER_KIND,
                       .id = "ns:t:a-2"};
    aw_error err;
    assert_int_equal(aw_state_set(fx.a, &mk, doc, strlen(doc), 600000, NULL, &err), AW_OK);
    join(&fx, fx.b, t0 + 5, 2, 0, &j);
    assert_false(j.already);
    assert_int_equal(j.size, 2);
    aw_group_joined_clear(&j);
    join(&fx, fx.b, t0 + 6, 2, 0, &j);
    assert_true(j.already);
    assert_int_equal(j.size, 2);
    aw_group_joined_clear(&j);
    teardown(&fx);
}

/* max_bytes: a member that would pass it makes the group full (flush now)
 * and opens the next; the member list as flushed stays within it; a lone
 * member larger than the bound gets a group of its own. */
static void test_byte_bound(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "max_bytes = 1024;");
    int64_t t0 = 4000000;
    aw_group_joined j1, j2, j3, j4;
    join(&fx, fx.a, t0, 1, 300, &j1);
    join(&fx, fx.a, t0 + 1, 2, 300, &j2); /* ~800 bytes together */
    assert_string_equal(j2.group_id, j1.group_id);
    join(&fx, fx.a, t0 + 2, 3, 300, &j3); /* would pass 1024 */
    assert_string_not_equal(j3.group_id, j1.group_id);
    assert_int_equal(j3.size, 1);
    char ids[8][64];
    assert_int_equal(due_flushes(&fx, t0 + 2, ids), 1); /* the first, flushed now */
    aw_group_ctx c = ctx_of(&fx, fx.b, t0 + 3);
    aw_group_flush f;
    aw_error err;
    assert_int_equal(aw_group_close(&c, j1.group_id + strlen("alerts:"), &f, &err), AW_OK);
    assert_int_equal(f.size, 2);
    json_t *p = json_loads(f.payload, 0, NULL);
    char *list = json_dumps(json_object_get(p, "members"), JSON_COMPACT);
    assert_true(strlen(list) <= 1024);
    free(list);
    json_decref(p);
    assert_string_equal(f.member_ids, "[\"a-1\",\"a-2\"]");
    aw_group_flush_clear(&f);
    join(&fx, fx.a, t0 + 4, 4, 2000, &j4); /* alone larger than the bound */
    assert_string_not_equal(j4.group_id, j3.group_id);
    assert_int_equal(j4.size, 1);
    assert_true(j4.filled);
    aw_group_joined_clear(&j1);
    aw_group_joined_clear(&j2);
    aw_group_joined_clear(&j3);
    aw_group_joined_clear(&j4);
    teardown(&fx);
}

/* Closing twice describes the same group, closed_now only the first time;
 * a member arriving after the close goes to the next generation; `get`
 * reads the record by group id. */
static void test_close_idempotent(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "group_provider = \"noop\"; group_action_type = \"alert_group\";");
    int64_t t0 = 5000000;
    aw_group_joined j;
    join(&fx, fx.a, t0, 1, 0, &j);
    aw_group_ctx c = ctx_of(&fx, fx.b, t0 + 60000);
    aw_group_flush f1, f2;
    aw_error err;
    const char *doc = j.group_id + strlen("alerts:");
    assert_int_equal(aw_group_close(&c, doc, &f1, &err), AW_OK);
    assert_int_equal(aw_group_close(&c, doc, &f2, &err), AW_OK);
    assert_true(f1.closed_now);
    assert_false(f2.closed_now);
    assert_string_equal(f1.payload, f2.payload);
    assert_string_equal(f1.action_type, "alert_group");
    char want[512];
    snprintf(want, sizeof(want),
             "{\"group_id\":\"%s\",\"rule\":\"alerts\",\"key\":\"h1\",\"size\":1,\"members\":"
             "[{\"id\":\"a-1\",\"identity\":\"ns:t:a-1\",\"record_id\":\"t:0:1\",\"payload\":"
             "{\"host\":\"h1\",\"n\":1,\"pad\":\"\"}}]}",
             j.group_id);
    assert_string_equal(f1.payload, want);
    aw_group_flush_clear(&f1);
    aw_group_flush_clear(&f2);
    char *text = NULL;
    assert_int_equal(aw_group_get(fx.a, fx.cfg, j.group_id, &text, &err), AW_OK);
    assert_non_null(strstr(text, "\"state\":\"closed\""));
    free(text);
    assert_int_equal(aw_group_get(fx.a, fx.cfg, "alerts:1:1:nope", &text, &err), AW_NOT_FOUND);
    assert_int_equal(aw_group_get(fx.a, fx.cfg, "other:1:1:h1", &text, &err), AW_NOT_FOUND);
    aw_group_joined nxt;
    join(&fx, fx.a, t0 + 60001, 2, 0, &nxt);
    assert_string_not_equal(nxt.group_id, j.group_id);
    aw_group_joined_clear(&nxt);
    aw_group_joined_clear(&j);
    teardown(&fx);
}

/* A flush item made due early (the put of a join that lost its race):
 * the open group, neither full nor at its window's end, stays open and
 * says when its window ends; members still join it. */
static void test_early_flush_waits(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "");
    int64_t t0 = 6000000;
    aw_group_joined j, k;
    join(&fx, fx.a, t0, 1, 0, &j);
    aw_group_ctx c = ctx_of(&fx, fx.b, t0 + 10);
    aw_group_flush f;
    aw_error err;
    assert_int_equal(aw_group_close(&c, j.group_id + strlen("alerts:"), &f, &err), AW_OK);
    assert_int_equal(f.not_before_ms, t0 + 60000);
    assert_null(f.payload);
    join(&fx, fx.a, t0 + 20, 2, 0, &k);
    assert_string_equal(k.group_id, j.group_id);
    assert_int_equal(k.size, 2);
    c.now_ms = t0 + 60000;
    assert_int_equal(aw_group_close(&c, j.group_id + strlen("alerts:"), &f, &err), AW_OK);
    assert_int_equal(f.not_before_ms, 0);
    assert_int_equal(f.size, 2);
    aw_group_flush_clear(&f);
    aw_group_joined_clear(&j);
    aw_group_joined_clear(&k);
    teardown(&fx);
}

/* Members of one batch for one key join together: those that fit the open
 * group with one compare-and-swap (its version moves once), the rest the
 * next generation; the same call again (a retry after a crash) adds none
 * of them twice. */
static void test_join_many(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "max_size = 3;");
    int64_t t0 = 7000000;
    aw_group_joined first;
    join(&fx, fx.a, t0, 1, 0, &first); /* the open group has 1 of 3 */
    aw_group_member ms[3];
    char ids[3][16], idents[3][32];
    for (int i = 0; i < 3; i++) {
        snprintf(ids[i], sizeof(ids[i]), "b-%d", i);
        snprintf(idents[i], sizeof(idents[i]), "ns:t:b-%d", i);
        ms[i] = (aw_group_member){.action_id = ids[i], .identity = idents[i],
                                  .record_id = ids[i], .payload = "{}", .payload_len = 2,
                                  .provider = "noop", .action_type = "alert"};
    }
    char doc[64];
    snprintf(doc, sizeof(doc), "%lld:1:h1", (long long)t0);
    aw_state_key dk = {.ns = AW_GROUP_NS, .tenant = "alerts", .kind = AW_GROUP_KIND, .id = doc};
    aw_state_value v0 = {0}, v1 = {0};
    aw_error err;
    assert_int_equal(aw_state_get(fx.a, &dk, &v0, &err), AW_OK);
    aw_group_ctx c = ctx_of(&fx, fx.b, t0 + 5);
    aw_group_joined outs[3];
    assert_int_equal(aw_group_join_many(&c, "h1", ms, 3, outs, &err), AW_OK);
    assert_int_equal(aw_state_get(fx.a, &dk, &v1, &err), AW_OK);
    assert_int_equal(v1.version, v0.version + 1); /* b-0 and b-1: one write */
    assert_string_equal(outs[0].group_id, first.group_id);
    assert_string_equal(outs[1].group_id, first.group_id);
    assert_int_equal(outs[0].size, 2);
    assert_int_equal(outs[1].size, 3);
    assert_true(outs[1].filled);
    assert_string_not_equal(outs[2].group_id, first.group_id); /* the next generation */
    assert_int_equal(outs[2].size, 1);
    assert_true(outs[2].opened);
    char gen2[128];
    snprintf(gen2, sizeof(gen2), "%s", outs[2].group_id);
    for (int i = 0; i < 3; i++)
        aw_group_joined_clear(&outs[i]);
    assert_int_equal(aw_group_join_many(&c, "h1", ms, 3, outs, &err), AW_OK);
    for (int i = 0; i < 3; i++)
        assert_true(outs[i].already);
    assert_string_equal(outs[1].group_id, first.group_id);
    assert_string_equal(outs[2].group_id, gen2);
    for (int i = 0; i < 3; i++)
        aw_group_joined_clear(&outs[i]);
    aw_state_value_clear(&v0);
    aw_state_value_clear(&v1);
    aw_group_joined_clear(&first);
    teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_fill_next),
        cmocka_unit_test(test_retry_joins_once),
        cmocka_unit_test(test_marker_without_join),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_close_idempotent),
        cmocka_unit_test(test_early_flush_waits),
        cmocka_unit_test(test_join_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
