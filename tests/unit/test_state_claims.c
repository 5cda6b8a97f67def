/* The claim rules of the state front (backends/state/state_claims.c), over a
 * scripted driver that records what it is handed: validation before any
 * call, outputs reset, repeats of an identity folded (the driver sees each
 * identity once per call), complete's and renew's further rounds, reset on
 * error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/state/state.h"

typedef struct fake {
    int calls;
    size_t seen[4];          /* items per call */
    char ids[4][8][16];      /* ids per call */
    uint64_t tokens[4][8];   /* complete, renew: tokens per call */
    uint64_t holder;         /* complete, renew: the token that holds every lease */
    int64_t lease_ms;        /* renew: the last call's lease_ms */
    bool done;               /* claim: answer DONE instead of ACQUIRED */
    aw_status fail;          /* returned by every call when not AW_OK */
} fake;

static void record(fake *f, const aw_state_key *k, size_t i)
{
    assert_true(f->calls < 4 && i < 8);
    snprintf(f->ids[f->calls][i], sizeof(f->ids[0][0]), "%s", k->id);
    for (size_t j = 0; j < i; j++) /* the driver precondition */
        assert_string_not_equal(f->ids[f->calls][j], k->id);
}

static aw_status fake_claim(void *s, aw_claim *items, size_t n, aw_error *err)
{
    fake *f = s;
    for (size_t i = 0; i < n; i++) {
        record(f, &items[i].key, i);
        assert_int_equal(items[i].result, AW_CLAIM_BUSY); /* reset by the front */
        assert_int_equal(items[i].token, 0);
        assert_null(items[i].done_summary);
        if (f->done) {
            items[i].result = AW_CLAIM_DONE;
            items[i].done_token = 40 + i;
            items[i].done_summary = strdup("{\"ok\":true}");
            items[i].done_topic = strdup("t");
        } else {
            items[i].result = AW_CLAIM_ACQUIRED;
            items[i].token = 10 + i;
        }
    }
    f->seen[f->calls++] = n;
    return f->fail ? aw_error_set(err, f->fail, "scripted failure") : AW_OK;
}

static aw_status fake_complete(void *s, aw_complete *items, size_t n, aw_error *err)
{
    fake *f = s;
    for (size_t i = 0; i < n; i++) {
        record(f, &items[i].key, i);
        assert_true(items[i].stale); /* reset by the front */
        f->tokens[f->calls][i] = items[i].token;
        items[i].stale = items[i].token != f->holder;
    }
    f->seen[f->calls++] = n;
    return f->fail ? aw_error_set(err, f->fail, "scripted failure") : AW_OK;
}

static aw_status fake_renew(void *s, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                            aw_error *err)
{
    fake *f = s;
    for (size_t i = 0; i < n; i++) {
        record(f, &items[i].key, i);
        assert_true(items[i].stale); /* reset by the front */
        f->tokens[f->calls][i] = items[i].token;
        items[i].stale = items[i].token != f->holder;
    }
    f->lease_ms = lease_ms;
    f->seen[f->calls++] = n;
    return f->fail ? aw_error_set(err, f->fail, "scripted failure") : AW_OK;
}

static const aw_state_driver fake_driver = {.name = "fake",
                                            .claim_batch = fake_claim,
                                            .complete_batch = fake_complete,
                                            .lease_renew_batch = fake_renew};

static aw_claim claim(const char *id, int64_t lease_ms)
{
    return (aw_claim){.key = {"ns", "t0", "dedup", id}, .lease_ms = lease_ms};
}

static aw_complete complete(const char *id, uint64_t token)
{
    return (aw_complete){.key = {"ns", "t0", "dedup", id}, .token = token, .summary = "{}"};
}

static aw_lease_renewal renewal(const char *id, uint64_t token)
{
    return (aw_lease_renewal){.key = {"ns", "t0", "dedup", id}, .token = token};
}

static void test_refused_before_any_call(void **state)
{
    (void)state;
    fake f = {.holder = 1};
    aw_state_session s = {.driver = &fake_driver, .session = &f};
    aw_error err = {0};
    aw_claim c[2] = {claim("a", 1000), claim("b", 0)};
    assert_int_equal(aw_state_claim_batch(&s, c, 2, &err), AW_PERMANENT);
    assert_non_null(strstr(err.msg, "lease_ms"));
    c[1] = claim("b", 1000);
    c[1].key.tenant = NULL;
    assert_int_equal(aw_state_claim_batch(&s, c, 2, &err), AW_PERMANENT);
    aw_complete k[1] = {complete("a", 1)};
    k[0].key.ns = NULL;
    assert_int_equal(aw_state_complete_batch(&s, k, 1, &err), AW_PERMANENT);
    assert_true(k[0].stale);
    assert_int_equal(aw_state_lease_renew(&s, &c[0].key, 1, -5, &err), AW_PERMANENT);
    assert_int_equal(aw_state_lease_renew(&s, &c[0].key, 1, 0, &err), AW_PERMANENT);
    aw_lease_renewal r[2] = {renewal("a", 1), renewal("b", 1)};
    r[0].stale = false; /* an earlier answer: reset even when refused */
    assert_int_equal(aw_state_lease_renew_batch(&s, r, 2, 0, &err), AW_PERMANENT);
    assert_true(r[0].stale);
    r[1].key.ns = NULL;
    assert_int_equal(aw_state_lease_renew_batch(&s, r, 2, 5, &err), AW_PERMANENT);
    r[1].key.ns = "ns";
    r[1].key.tenant = NULL;
    assert_int_equal(aw_state_lease_renew_batch(&s, r, 2, 5, &err), AW_PERMANENT);
    assert_true(r[0].stale && r[1].stale);
    assert_int_equal(f.calls, 0);
    /* The single renewal is the batch of one; stale is AW_CONFLICT. */
    assert_int_equal(aw_state_lease_renew(&s, &c[0].key, 1, 5, &err), AW_OK);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.lease_ms, 5);
    assert_int_equal(aw_state_lease_renew(&s, &c[0].key, 2, 5, &err), AW_CONFLICT);
    assert_int_equal(f.calls, 2);
    assert_int_equal(aw_state_lease_renew_batch(&s, r, 0, 5, &err), AW_OK);
    assert_int_equal(f.calls, 2);
    aw_state_batch_free(s.batch);
}

static void test_claim_repeats_folded(void **state)
{
    (void)state;
    fake f = {0};
    aw_state_session s = {.driver = &fake_driver, .session = &f};
    aw_error err = {0};
    aw_claim c[5] = {claim("a", 700), claim("b", 700), claim("a", 900), claim("c", 700),
                     claim("b", 700)};
    c[2].token = 99; /* stale output from an earlier use: reset */
    assert_int_equal(aw_state_claim_batch(&s, c, 5, &err), AW_OK);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.seen[0], 3);
    assert_string_equal(f.ids[0][0], "a");
    assert_string_equal(f.ids[0][1], "b");
    assert_string_equal(f.ids[0][2], "c");
    assert_int_equal(c[0].result, AW_CLAIM_ACQUIRED);
    assert_int_equal(c[0].token, 10);
    assert_int_equal(c[3].result, AW_CLAIM_ACQUIRED);
    assert_int_equal(c[3].token, 12);
    /* behind an ACQUIRED: BUSY with the first's token and lease */
    assert_int_equal(c[2].result, AW_CLAIM_BUSY);
    assert_int_equal(c[2].token, 10);
    assert_int_equal(c[2].retry_after_ms, 700);
    assert_int_equal(c[4].result, AW_CLAIM_BUSY);
    assert_int_equal(c[4].token, 11);
    /* kind is ignored: one identity */
    aw_claim d[2] = {claim("x", 100), claim("x", 100)};
    d[1].key.kind = "other";
    f.done = true;
    assert_int_equal(aw_state_claim_batch(&s, d, 2, &err), AW_OK);
    assert_int_equal(f.seen[1], 1);
    assert_int_equal(d[1].result, AW_CLAIM_DONE);
    assert_int_equal(d[1].done_token, 40);
    assert_string_equal(d[1].done_summary, "{\"ok\":true}");
    assert_ptr_not_equal(d[1].done_summary, d[0].done_summary);
    for (size_t i = 0; i < 2; i++)
        aw_claim_clear(&d[i]);
    aw_state_batch_free(s.batch);
}

static void test_claim_error_resets(void **state)
{
    (void)state;
    fake f = {.done = true, .fail = AW_TRANSIENT};
    aw_state_session s = {.driver = &fake_driver, .session = &f};
    aw_error err = {0};
    aw_claim c[3] = {claim("a", 700), claim("a", 700), claim("b", 700)};
    assert_int_equal(aw_state_claim_batch(&s, c, 3, &err), AW_TRANSIENT);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_BUSY);
        assert_null(c[i].done_summary);
        assert_null(c[i].done_topic);
    }
    aw_state_batch_free(s.batch);
}

static void test_complete_rounds(void **state)
{
    (void)state;
    fake f = {.holder = 7};
    aw_state_session s = {.driver = &fake_driver, .session = &f};
    aw_error err = {0};
    /* a: a wrong token first, then the holder's, then the holder's again;
     * b: the holder's twice. */
    aw_complete k[5] = {complete("a", 3), complete("b", 7), complete("a", 7), complete("a", 7),
                        complete("b", 7)};
    assert_int_equal(aw_state_complete_batch(&s, k, 5, &err), AW_OK);
    assert_int_equal(f.calls, 2);
    assert_int_equal(f.seen[0], 2); /* a(3), b(7) */
    assert_int_equal(f.tokens[0][0], 3);
    assert_int_equal(f.seen[1], 1); /* a(7) */
    assert_int_equal(f.tokens[1][0], 7);
    bool want[5] = {true, false, false, true, true};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(k[i].stale, want[i]);
    /* no repeats: the items themselves, one call */
    aw_complete u[2] = {complete("a", 7), complete("b", 1)};
    f.calls = 0;
    assert_int_equal(aw_state_complete_batch(&s, u, 2, &err), AW_OK);
    assert_int_equal(f.calls, 1);
    assert_false(u[0].stale);
    assert_true(u[1].stale);
    aw_state_batch_free(s.batch);
}

static void test_renew_rounds(void **state)
{
    (void)state;
    fake f = {.holder = 7};
    aw_state_session s = {.driver = &fake_driver, .session = &f};
    aw_error err = {0};
    /* a: a wrong token first, then the holder's twice; b: the holder's
     * twice; c: a wrong token twice. */
    aw_lease_renewal r[7] = {renewal("a", 3), renewal("b", 7), renewal("a", 7), renewal("a", 7),
                             renewal("b", 7), renewal("c", 4), renewal("c", 4)};
    assert_int_equal(aw_state_lease_renew_batch(&s, r, 7, 1234, &err), AW_OK);
    assert_int_equal(f.calls, 2);
    assert_int_equal(f.seen[0], 3); /* a(3), b(7), c(4) */
    assert_int_equal(f.tokens[0][0], 3);
    assert_int_equal(f.seen[1], 1); /* a(7): c has no other token to try */
    assert_int_equal(f.tokens[1][0], 7);
    assert_int_equal(f.lease_ms, 1234);
    /* Unlike complete, a repeat of a renewed pair is renewed: renewing
     * leaves the lease held by that token. */
    bool want[7] = {true, false, false, false, false, true, true};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(r[i].stale, want[i]);
    aw_state_batch_free(s.batch);
}

static void test_renew_error_resets(void **state)
{
    (void)state;
    fake f = {.holder = 7, .fail = AW_TRANSIENT};
    aw_state_session s = {.driver = &fake_driver, .session = &f};
    aw_error err = {0};
    aw_lease_renewal r[3] = {renewal("a", 7), renewal("a", 7), renewal("b", 7)};
    assert_int_equal(aw_state_lease_renew_batch(&s, r, 3, 100, &err), AW_TRANSIENT);
    assert_int_equal(f.calls, 1);
    for (size_t i = 0; i < 3; i++)
        assert_true(r[i].stale); /* the driver said renewed, then failed: nothing counts */
    /* The same without repeats (the items go to the driver as they are). */
    aw_lease_renewal u[2] = {renewal("a", 7), renewal("b", 7)};
    assert_int_equal(aw_state_lease_renew_batch(&s, u, 2, 100, &err), AW_TRANSIENT);
    assert_true(u[0].stale && u[1].stale);
    aw_state_batch_free(s.batch);
}

/* For wide batches: checks uniqueness itself, counts what it is handed. */
static aw_status wide_claim(void *s, aw_claim *items, size_t n, aw_error *err)
{
    (void)err;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(items[i].key.id, items[j].key.id);
        items[i].result = AW_CLAIM_ACQUIRED;
        items[i].token = 1000 + i;
    }
    *(size_t *)s = n;
    return AW_OK;
}

static void test_many_identities(void **state)
{
    (void)state;
    /* Past the first capacity (64) and hash table size, with one repeat
     * (the last item repeats item 5) and a NULL id equal to "". */
    enum { N = 300 };
    static char ids[N][16];
    static aw_claim c[N];
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "id-%zu", i == N - 1 ? (size_t)5 : i);
        c[i] = claim(ids[i], 100);
    }
    static const aw_state_driver wide = {.name = "wide", .claim_batch = wide_claim};
    size_t handed = 0;
    aw_state_session s = {.driver = &wide, .session = &handed};
    aw_error err = {0};
    assert_int_equal(aw_state_claim_batch(&s, c, N, &err), AW_OK);
    assert_int_equal(handed, N - 1);
    assert_int_equal(c[N - 1].result, AW_CLAIM_BUSY);
    assert_int_equal(c[N - 1].token, c[5].token);
    assert_int_equal(c[N - 2].result, AW_CLAIM_ACQUIRED);
    assert_int_equal(c[N - 2].token, 1000 + N - 2);
    aw_claim e[2] = {claim(NULL, 100), claim("", 100)};
    assert_int_equal(aw_state_claim_batch(&s, e, 2, &err), AW_OK);
    assert_int_equal(handed, 1);
    assert_int_equal(e[1].result, AW_CLAIM_BUSY);
    aw_state_batch_free(s.batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_any_call),
        cmocka_unit_test(test_claim_repeats_folded),
        cmocka_unit_test(test_claim_error_resets),
        cmocka_unit_test(test_complete_rounds),
        cmocka_unit_test(test_renew_rounds),
        cmocka_unit_test(test_renew_error_resets),
        cmocka_unit_test(test_many_identities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
