/* Rules (worker/rules.h) and key templates (common/aw_template.h): parsing
 * and its errors, rendering from decoded actions (missing and non-scalar
 * fields), glob and metadata matching, first-match order, and the fixed
 * windows' arithmetic. Pure: no state, no Kafka. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/aw_template.h"
#include "config/config.h"
#include "ingest/action.h"
#include "worker/rules.h"

#define BASE "kafka = { brokers = \"b:9092\"; group_id = \"g\"; topics = [ \"t\" ]; };\n"

/* ---- templates ------------------------------------------------------------ */

static void test_template_parse(void **state)
{
    (void)state;
    aw_template *t = NULL;
    aw_error err;
    assert_int_equal(aw_template_parse("a{tenant}-{payload.user.id}{{x}}{metadata.k.v}", &t,
                                       &err),
                     AW_OK);
    assert_int_equal(t->n_parts, 6);
    assert_int_equal(t->parts[0].field, AW_TPL_LITERAL);
    assert_string_equal(t->parts[0].text, "a");
    assert_int_equal(t->parts[1].field, AW_TPL_TENANT);
    assert_string_equal(t->parts[2].text, "-");
    assert_int_equal(t->parts[3].field, AW_TPL_PAYLOAD);
    assert_int_equal(t->parts[3].n_path, 2);
    assert_string_equal(t->parts[3].path[0], "user");
    assert_string_equal(t->parts[3].path[1], "id");
    /* "{{x}}" is the literal "{x}", merged with what follows */
    assert_int_equal(t->parts[4].field, AW_TPL_LITERAL);
    assert_string_equal(t->parts[4].text, "{x}");
    aw_template_free(t);

    assert_int_equal(aw_template_parse("{metadata.k.v}", &t, &err), AW_OK);
    assert_int_equal(t->parts[0].field, AW_TPL_METADATA);
    assert_int_equal(t->parts[0].n_path, 1);
    assert_string_equal(t->parts[0].path[0], "k.v"); /* one flat key */
    aw_template_free(t);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "empty template"},
        {"{tenant", "unclosed { at offset 0"},
        {"a}b", "unmatched } at offset 1 (write }} for a literal one)"},
        {"x{}", "empty field {} at offset 1"},
        {"{payload}", "unknown field {payload} (known: {namespace} {tenant} {provider} "
                      "{action_type} {id} {dedup_key} {payload.a.b} {metadata.k})"},
        {"{payload.}", "unknown field {payload.} (known: {namespace} {tenant} {provider} "
                       "{action_type} {id} {dedup_key} {payload.a.b} {metadata.k})"},
        {"{payload.a..b}", "{payload.a..b}: empty member name in the path"},
        {"{Tenant}", "unknown field {Tenant} (known: {namespace} {tenant} {provider} "
                     "{action_type} {id} {dedup_key} {payload.a.b} {metadata.k})"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = (aw_template *)&err;
        if (aw_template_parse(bad[i].text, &t, &err) != AW_CONFIG ||
            strcmp(err.msg, bad[i].msg) != 0)
            fail_msg("\"%s\": got \"%s\", wanted \"%s\"", bad[i].text, err.msg, bad[i].msg);
        assert_null(t);
    }
}

/* ---- rendering and matching ------------------------------------------------ */

typedef struct fx {
    aw_config *cfg;
    char *text;
    aw_action a;
} fx;

static void load(fx *f, const char *rules, const char *action)
{
    memset(f, 0, sizeof(*f));
    char cfgtext[4096];
    snprintf(cfgtext, sizeof(cfgtext), BASE "rules = ( %s );\n", rules);
    aw_error err;
    if (aw_config_load_string(cfgtext, &f->cfg, &err) != AW_OK)
        fail_msg("config: %s", err.msg);
    f->text = strdup(action);
    aw_reject rej;
    if (aw_action_decode(f->text, strlen(f->text), 0, &f->a, &rej) != 0)
        fail_msg("action: %s", rej.detail);
}

static void unload(fx *f)
{
    aw_action_clear(&f->a);
    free(f->text);
    aw_config_destroy(f->cfg);
}

#define ACTION(extra)                                                                     \
    "{\"id\":\"a-1\",\"namespace\":\"billing\",\"tenant\":\"acme\",\"provider\":\"hook\","   \
    "\"action_type\":\"charge\"" extra "}"

#define THROTTLE(key)                                                                     \
    "{ name = \"t\"; verdict = \"throttle\"; max_count = 1; window_s = 60; key = \"" key   \
    "\"; }"

/* Render rule 0's key for the action; returns the code, out/field/why. */
static int render(const char *key_tpl, const char *action, char *out, size_t outsz,
                  char *field, char *why)
{
    fx f;
    char rule[512];
    snprintf(rule, sizeof(rule), THROTTLE("%s"), key_tpl);
    load(&f, rule, action);
    aw_rule_scope sc = {0};
    aw_buf b = {0};
    field[0] = why[0] = '\0';
    int rc = aw_rules_render_key(&f.cfg->rules[0], &f.a, &sc, &b, field, 64, why, 200);
    snprintf(out, outsz, "%s", b.data ? b.data : "");
    aw_buf_free(&b);
    aw_rule_scope_clear(&sc);
    unload(&f);
    return rc;
}

static void test_render(void **state)
{
    (void)state;
    char out[2048], field[64], why[200];
    assert_int_equal(render("{namespace}/{tenant}/{provider}/{action_type}/{id}/{dedup_key}",
                            ACTION(",\"dedup_key\":\"d-1\",\"payload\":null"), out,
                            sizeof(out), field, why),
                     0);
    assert_string_equal(out, "billing/acme/hook/charge/a-1/d-1");
    assert_int_equal(render("u={payload.user.id};n={payload.n};r={payload.r};b={payload.b};"
                            "m={metadata.env}",
                            ACTION(",\"payload\":{\"user\":{\"id\":\"u-7\"},\"n\":-42,"
                                   "\"r\":1.5,\"b\":false},\"metadata\":{\"env\":\"prod\"}"),
                            out, sizeof(out), field, why),
                     0);
    assert_string_equal(out, "u=u-7;n=-42;r=1.5;b=false;m=prod");

    /* missing: no dedup_key, no such member, no metadata at all */
    assert_int_equal(render("{dedup_key}", ACTION(",\"payload\":{}"), out, sizeof(out), field,
                            why),
                     -1);
    assert_string_equal(field, "dedup_key");
    assert_string_equal(why, "the action has no dedup_key");
    assert_int_equal(render("{tenant}:{payload.user.id}", ACTION(",\"payload\":{\"user\":{}}"),
                            out, sizeof(out), field, why),
                     -1);
    assert_string_equal(field, "payload.user.id");
    assert_string_equal(why, "the action has no payload.user.id");
    assert_int_equal(render("{payload.a.b}", ACTION(",\"payload\":{\"a\":\"str\"}"), out,
                            sizeof(out), field, why),
                     -1);
    assert_string_equal(field, "payload.a.b");
    assert_int_equal(render("{metadata.env}", ACTION(",\"payload\":{}"), out, sizeof(out),
                            field, why),
                     -1);
    assert_string_equal(field, "metadata.env");
    /* not scalars: object, array, null */
    static const char *const non_scalars[] = {"{\"x\":1}", "[1]", "null"};
    for (size_t i = 0; i < 3; i++) {
        char action[256];
        snprintf(action, sizeof(action), ACTION(",\"payload\":{\"u\":%s}"), non_scalars[i]);
        assert_int_equal(render("{payload.u}", action, out, sizeof(out), field, why), -1);
        assert_string_equal(field, "payload.u");
        assert_string_equal(why, "payload.u is not a string, number or boolean");
    }
    /* too long */
    char action[4096], big[AW_RULE_KEY_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(action, sizeof(action), ACTION(",\"payload\":{\"u\":\"%s\"}"), big);
    assert_int_equal(render("{payload.u}", action, out, sizeof(out), field, why), -1);
    assert_string_equal(field, "payload.u");
}

static const char *matched(const char *rules, const char *action)
{
    static char name[64];
    fx f;
    load(&f, rules, action);
    aw_rule_scope sc = {0};
    const aw_rule_config *r = aw_rules_match(f.cfg, &f.a, &sc);
    snprintf(name, sizeof(name), "%s", r ? r->name : "(none)");
    aw_rule_scope_clear(&sc);
    unload(&f);
    return name;
}

static void test_match(void **state)
{
    (void)state;
    const char *a = ACTION(",\"payload\":{},\"metadata\":{\"env\":\"staging\",\"team\":\"x\"}");
    /* the default matches everything */
    assert_string_equal(matched("{ name = \"all\"; verdict = \"suppress\"; }", a), "all");
    /* globs on each field */
    assert_string_equal(matched("{ name = \"g\"; verdict = \"suppress\"; match = {"
                                " namespace = \"bill*\"; tenant = \"a?me\";"
                                " provider = \"[gh]ook\"; action_type = \"*arge\"; }; }",
                                a),
                        "g");
    assert_string_equal(matched("{ name = \"g\"; verdict = \"suppress\";"
                                " match = { tenant = \"acme-*\"; }; }",
                                a),
                        "(none)");
    assert_string_equal(matched("{ name = \"g\"; verdict = \"suppress\";"
                                " match = { action_type = \"Charge\"; }; }",
                                a),
                        "(none)"); /* case-sensitive */
    /* metadata: every pair must be equal */
    assert_string_equal(matched("{ name = \"m\"; verdict = \"suppress\";"
                                " match = { metadata = { env = \"staging\"; team = \"x\"; }; }; }",
                                a),
                        "m");
    assert_string_equal(matched("{ name = \"m\"; verdict = \"suppress\";"
                                " match = { metadata = { env = \"staging\"; team = \"y\"; }; }; }",
                                a),
                        "(none)");
    assert_string_equal(matched("{ name = \"m\"; verdict = \"suppress\";"
                                " match = { metadata = { env = \"staging\"; }; }; }",
                                ACTION(",\"payload\":{}")),
                        "(none)"); /* no metadata at all */
    /* order: the first enabled match decides */
    assert_string_equal(matched("{ name = \"off\"; enabled = false; verdict = \"suppress\"; },"
                                "{ name = \"no\"; verdict = \"suppress\";"
                                "  match = { tenant = \"other\"; }; },"
                                "{ name = \"first\"; verdict = \"suppress\"; },"
                                "{ name = \"second\"; verdict = \"suppress\"; }",
                                a),
                        "first");
}

static void test_window(void **state)
{
    (void)state;
    int64_t ends;
    assert_int_equal(aw_rules_window(0, 60, &ends), 0);
    assert_int_equal(ends, 60000);
    assert_int_equal(aw_rules_window(59999, 60, &ends), 0);
    assert_int_equal(aw_rules_window(60000, 60, &ends), 1);
    assert_int_equal(ends, 120000);
    int64_t now = 1765000000123LL;
    int64_t w = aw_rules_window(now, 3600, &ends);
    assert_int_equal(w, now / 3600000);
    assert_true(ends > now && ends - now <= 3600000);
    /* the counter outlives its window: never a burst that extends it */
    assert_true(aw_rules_counter_ttl_ms(now, ends) > ends - now);
    aw_buf id = {0};
    assert_int_equal(aw_rules_counter_id(&id, 42, "acme:u-1"), 0);
    assert_string_equal(id.data, "42:acme:u-1");
    aw_buf_free(&id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_parse),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
