/* The lease keeper (worker/lease_keeper.h) over the memory backend, seen
 * through a driver that counts and can fail its renewal calls: due leases
 * go AW_LEASE_KEEPER_BATCH per call, a stale item ends its lease at once
 * while the rest of its batch is renewed, a failed call extends nothing,
 * and held_until follows the time the renewal was sent. Every wait is for a
 * condition, bounded (WAIT_MS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/aw_clock.h"
#include "worker/lease_keeper.h"

#define WAIT_MS 10000
#define LEASE_MS 1200 /* keeper: wakes every 200 ms, renews leases older than 400 ms */
#define MAX_CALLS 64

/* What the counting driver saw. Written by the keeper thread only (one
 * renewing thread), read by the test thread: call i's fields are stored
 * before calls becomes i + 1, so whatever calls counts is complete. */
static struct {
    atomic_int calls;
    atomic_size_t n[MAX_CALLS];         /* items per call */
    atomic_llong entered[MAX_CALLS];    /* aw_mono_now_ms() at the call */
    atomic_bool failed[MAX_CALLS];
    atomic_bool fail;                   /* fail every renewal call while set */
} g_seen;

static aw_status counted_renew(void *s, aw_lease_renewal *items, size_t n, int64_t lease_ms,
                               aw_error *err)
{
    int i = atomic_load(&g_seen.calls);
    bool fail = atomic_load(&g_seen.fail);
    if (i < MAX_CALLS) {
        atomic_store(&g_seen.n[i], n);
        atomic_store(&g_seen.entered[i], aw_mono_now_ms());
        atomic_store(&g_seen.failed[i], fail);
    }
    atomic_store(&g_seen.calls, i + 1);
    if (fail)
        return aw_error_set(err, AW_TRANSIENT, "scripted outage");
    return aw_state_memory_driver.lease_renew_batch(s, items, n, lease_ms, err);
}

typedef struct fixture {
    aw_state *mem;            /* the memory backend */
    aw_state_driver driver;   /* memory's table with counted_renew */
    aw_state counted;         /* mem's backend behind that table: the keeper's */
    aw_state_session *ss;     /* the test's own session (claims) */
    aw_lease_keeper *k;
    char (*ids)[24];
    aw_state_key *keys;
    uint64_t *tokens;
    size_t n;
} fixture;

static void setup(fixture *fx, size_t n)
{
    memset(fx, 0, sizeof(*fx));
    memset(&g_seen, 0, sizeof(g_seen));
    aw_state_options o = {.url = "", .key_prefix = ""};
    aw_error err = {0};
    assert_int_equal(aw_state_new("memory", &o, &fx->mem, &err), AW_OK);
    fx->driver = aw_state_memory_driver;
    fx->driver.lease_renew_batch = counted_renew;
    fx->counted = (aw_state){.driver = &fx->driver, .backend = fx->mem->backend};
    assert_int_equal(aw_state_session_open(fx->mem, &fx->ss, &err), AW_OK);
    assert_int_equal(aw_lease_keeper_new(&fx->counted, LEASE_MS, &fx->k, &err), AW_OK);
    fx->n = n;
    fx->ids = calloc(n, sizeof(*fx->ids));
    fx->keys = calloc(n, sizeof(*fx->keys));
    fx->tokens = calloc(n, sizeof(*fx->tokens));
    assert_true(fx->ids && fx->keys && fx->tokens);
    for (size_t i = 0; i < n; i++) {
        snprintf(fx->ids[i], sizeof(fx->ids[i]), "lk-%zu", i);
        fx->keys[i] = (aw_state_key){.ns = "ns", .tenant = "t0", .kind = "dedup", .id = fx->ids[i]};
    }
}

static void teardown(fixture *fx)
{
    aw_lease_keeper_destroy(fx->k);
    aw_state_session_close(fx->ss);
    aw_state_destroy(fx->mem);
    free(fx->ids);
    free(fx->keys);
    free(fx->tokens);
}

/* Claim every key of fx (all must be acquired) and register the leases;
 * *sent is when the claim was sent. Returns the first handle. */
static uint64_t claim_and_register(fixture *fx, int64_t *sent)
{
    aw_claim *c = calloc(fx->n, sizeof(*c));
    assert_non_null(c);
    for (size_t i = 0; i < fx->n; i++)
        c[i] = (aw_claim){.key = fx->keys[i], .lease_ms = LEASE_MS};
    aw_error err = {0};
    *sent = aw_mono_now_ms();
    assert_int_equal(aw_state_claim_batch(fx->ss, c, fx->n, &err), AW_OK);
    for (size_t i = 0; i < fx->n; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_ACQUIRED);
        fx->tokens[i] = c[i].token;
    }
    free(c);
    uint64_t first = aw_lease_keeper_add_batch(fx->k, fx->keys, fx->tokens, fx->n, *sent);
    assert_true(first > 0);
    return first;
}

static int64_t held_rule(int64_t sent) { return sent + LEASE_MS - LEASE_MS / 10; }

typedef bool (*pred_fn)(fixture *fx, const void *arg);

static void wait_for(fixture *fx, pred_fn pred, const void *arg, const char *what)
{
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    while (!pred(fx, arg)) {
        if (aw_mono_now_ms() > deadline)
            fail_msg("not within %d ms: %s", WAIT_MS, what);
        aw_sleep_ms(5); /* paces the polling; the condition is what is waited for */
    }
}

static bool renewals_at_least(fixture *fx, const void *arg)
{
    return aw_lease_keeper_renewals(fx->k) >= *(const uint64_t *)arg;
}

static bool calls_at_least(fixture *fx, const void *arg)
{
    (void)fx;
    return atomic_load(&g_seen.calls) >= *(const int *)arg;
}

/* 600 leases due at once: one pass of three calls (256, 256, 88), every
 * lease renewed, known held past its claim's rule. */
static void test_renews_in_batches(void **state)
{
    (void)state;
    enum { N = 600 };
    fixture fx;
    setup(&fx, N);
    int64_t sent0;
    uint64_t first = claim_and_register(&fx, &sent0);
    uint64_t want = N;
    wait_for(&fx, renewals_at_least, &want, "the first pass renews every lease");
    assert_true(atomic_load(&g_seen.calls) >= 3);
    assert_int_equal(atomic_load(&g_seen.n[0]), AW_LEASE_KEEPER_BATCH);
    assert_int_equal(atomic_load(&g_seen.n[1]), AW_LEASE_KEEPER_BATCH);
    assert_int_equal(atomic_load(&g_seen.n[2]), N - 2 * AW_LEASE_KEEPER_BATCH);
    int64_t until = aw_lease_keeper_held_until_batch(fx.k, first, N);
    assert_true(until > held_rule(sent0));
    /* and the backend agrees: each lease now ends a whole lease after the
     * renewal, not after the claim */
    aw_claim c = {.key = fx.keys[N - 1], .lease_ms = LEASE_MS};
    aw_error err = {0};
    assert_int_equal(aw_state_claim_batch(fx.ss, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_BUSY);
    assert_int_equal(c.token, fx.tokens[N - 1]);
    assert_true(aw_mono_now_ms() + c.retry_after_ms > sent0 + LEASE_MS);
    teardown(&fx);
}

/* One batch with a lease of another token and a released lease: those two
 * end at once (held_until 0), the good one is renewed by the same call. */
static void test_stale_ends_lease(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx, 3);
    int64_t sent0;
    aw_error err = {0};
    aw_claim c[3];
    for (size_t i = 0; i < 3; i++)
        c[i] = (aw_claim){.key = fx.keys[i], .lease_ms = LEASE_MS};
    sent0 = aw_mono_now_ms();
    assert_int_equal(aw_state_claim_batch(fx.ss, c, 3, &err), AW_OK);
    assert_int_equal(aw_state_lease_release(fx.ss, &fx.keys[2], c[2].token, &err), AW_OK);
    uint64_t tokens[3] = {c[0].token, c[1].token + 1000, c[2].token};
    uint64_t first = aw_lease_keeper_add_batch(fx.k, fx.keys, tokens, 3, sent0);
    uint64_t want = 1;
    wait_for(&fx, renewals_at_least, &want, "a renewal");
    /* Booked under one lock with the renewal: already lost. */
    assert_int_equal(atomic_load(&g_seen.n[0]), 3);
    assert_true(aw_lease_keeper_held_until(fx.k, first) > held_rule(sent0));
    assert_int_equal(aw_lease_keeper_held_until(fx.k, first + 1), 0);
    assert_int_equal(aw_lease_keeper_held_until(fx.k, first + 2), 0);
    assert_int_equal(aw_lease_keeper_held_until_batch(fx.k, first, 3), 0);
    /* Lost leases are not renewed again: the next calls carry one item. */
    int more = atomic_load(&g_seen.calls) + 2;
    wait_for(&fx, calls_at_least, &more, "two more renewal calls");
    for (int i = 1; i < more && i < MAX_CALLS; i++)
        assert_int_equal(atomic_load(&g_seen.n[i]), 1);
    teardown(&fx);
}

/* While renewal calls fail, no lease is extended (nor lost); once the
 * calls pass again, held_until follows the time the successful call was
 * sent: after the failed call before it, no later than its own start. One
 * failed call, so the lease (1200 ms) is still live at the next one. */
static void test_failed_call_extends_nothing(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx, 2);
    atomic_store(&g_seen.fail, true);
    int64_t sent0;
    uint64_t first = claim_and_register(&fx, &sent0);
    int one = 1;
    wait_for(&fx, calls_at_least, &one, "a failed renewal call");
    assert_int_equal(aw_lease_keeper_renewals(fx.k), 0);
    assert_int_equal(aw_lease_keeper_held_until(fx.k, first), held_rule(sent0));
    assert_int_equal(aw_lease_keeper_held_until(fx.k, first + 1), held_rule(sent0));
    atomic_store(&g_seen.fail, false);
    uint64_t want = 2;
    wait_for(&fx, renewals_at_least, &want, "renewals after the outage");
    int ok = -1, calls = atomic_load(&g_seen.calls);
    for (int i = 0; i < calls && i < MAX_CALLS && ok < 0; i++)
        if (!atomic_load(&g_seen.failed[i]))
            ok = i;
    assert_true(ok >= 1);
    int64_t sent = aw_lease_keeper_held_until(fx.k, first) - (LEASE_MS - LEASE_MS / 10);
    if (aw_lease_keeper_renewals(fx.k) == 2) { /* no later pass moved it on */
        assert_true(sent >= atomic_load(&g_seen.entered[ok - 1]));
        assert_true(sent <= atomic_load(&g_seen.entered[ok]));
    }
    assert_true(sent > sent0);
    teardown(&fx);
}

/* A lock (aw_lease_keeper_add_lock) with a duration shorter than the
 * leases': the keeper wakes often enough for it and extends it with
 * lock_extend, so it outlives its first lease in the backend; released
 * behind the keeper's back, its next extension is refused and it is lost
 * at once. */
static bool past(fixture *fx, const void *arg)
{
    (void)fx;
    return aw_mono_now_ms() > *(const int64_t *)arg;
}

static bool lock_lost(fixture *fx, const void *arg)
{
    return aw_lease_keeper_held_until(fx->k, *(const uint64_t *)arg) == 0;
}

static void test_lock_extended(void **state)
{
    (void)state;
    enum { TTL = 300 };
    fixture fx;
    setup(&fx, 1);
    aw_state_key key = {.ns = "acteon.rules", .tenant = "r", .kind = "lock", .id = "acct-1"};
    uint64_t token = 0;
    aw_error err = {0};
    int64_t sent0 = aw_mono_now_ms();
    assert_int_equal(aw_state_lock_acquire(fx.ss, &key, TTL, &token, &err), AW_OK);
    int64_t acquired = aw_mono_now_ms();
    uint64_t h = aw_lease_keeper_add_lock(fx.k, &key, token, TTL, sent0);
    assert_true(h > 0);
    assert_true(aw_lease_keeper_held_until(fx.k, h) >= sent0 + TTL - TTL / 10);
    /* well past the first lease: only extensions keep it */
    int64_t later = acquired + 2 * TTL;
    wait_for(&fx, past, &later, "two lock durations");
    uint64_t other = 0;
    assert_int_equal(aw_state_lock_acquire(fx.ss, &key, TTL, &other, &err), AW_CONFLICT);
    assert_true(aw_lease_keeper_renewals(fx.k) >= 2);
    assert_true(aw_lease_keeper_held_until(fx.k, h) > sent0 + TTL);
    assert_int_equal(atomic_load(&g_seen.calls), 0); /* no dedup renewal batch */
    assert_int_equal(aw_state_lock_release(fx.ss, &key, token, &err), AW_OK);
    wait_for(&fx, lock_lost, &h, "the released lock lost at its next extension");
    aw_lease_keeper_remove(fx.k, &h, 1);
    teardown(&fx);
}

/* Due-index leases (aw_lease_keeper_add_due), shorter than the dedup
 * leases: extended with due_extend in one batch, so the item outlives its
 * first lease (no take finds it); one registered with a wrong token is
 * lost at once (held_until 0) and its real lease runs out (a take finds
 * it). */
static void test_due_extended(void **state)
{
    (void)state;
    enum { TTL = 300 };
    fixture fx;
    setup(&fx, 1);
    aw_error err = {0};
    aw_state_key keys[2] = {{.ns = "g", .tenant = "t", .kind = "scheduled", .id = "kept"},
                            {.ns = "g", .tenant = "t", .kind = "scheduled", .id = "lost"}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(aw_state_due_put(fx.ss, &keys[i], i, "v", 1, &err), AW_OK);
    aw_due_item items[2];
    size_t n = 0;
    int64_t sent0 = aw_mono_now_ms();
    assert_int_equal(aw_state_due_take(fx.ss, "g", "scheduled", 10, 2, TTL, items, &n, &err),
                     AW_OK);
    int64_t taken = aw_mono_now_ms();
    assert_int_equal(n, 2);
    assert_string_equal(items[0].id, "kept");
    uint64_t tokens[2] = {items[0].token, items[1].token + 1000};
    uint64_t h = aw_lease_keeper_add_due(fx.k, keys, tokens, 2, TTL, sent0);
    assert_true(h > 0);
    uint64_t lost = h + 1;
    wait_for(&fx, lock_lost, &lost, "the wrong token's lease lost");
    /* well past the first lease: only extensions keep it */
    int64_t later = taken + 2 * TTL;
    wait_for(&fx, past, &later, "two lease durations");
    aw_due_item again[2];
    assert_int_equal(aw_state_due_take(fx.ss, "g", "scheduled", 10, 2, 60000, again, &n, &err),
                     AW_OK);
    assert_int_equal(n, 1);
    assert_string_equal(again[0].id, "lost");
    aw_due_item_clear(&again[0]);
    assert_true(aw_lease_keeper_held_until(fx.k, h) > sent0 + TTL);
    assert_true(aw_lease_keeper_renewals(fx.k) >= 2);
    assert_int_equal(atomic_load(&g_seen.calls), 0); /* no dedup renewal batch */
    aw_lease_keeper_remove_batch(fx.k, h, 2);
    assert_int_equal(aw_state_due_done(fx.ss, &keys[0], tokens[0], &err), AW_OK);
    for (int i = 0; i < 2; i++)
        aw_due_item_clear(&items[i]);
    teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renews_in_batches),
        cmocka_unit_test(test_stale_ends_lease),
        cmocka_unit_test(test_failed_call_extends_nothing),
        cmocka_unit_test(test_lock_extended),
        cmocka_unit_test(test_due_extended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
