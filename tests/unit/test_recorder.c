/* The done-record writer threads (worker/recorder.h) over the memory and
 * faulty state backends: records handed in from several threads at once are
 * all written, each submission told its own results (a stale record at its
 * own index, whatever the write merged it with), a failed write reported
 * with nothing written, and a stop with nothing queued. Every wait is for a
 * condition (the recorder's own), bounded by the test's timeout. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/recorder.h"

#define N_THREADS 4
#define PER_THREAD 100
#define PER_SUBMISSION 3

typedef struct fixture {
    aw_state *state;
    aw_recorder *rec;
    aw_backend_health health;
    aw_histogram latency, queued;
    atomic_ulong writes;
} fixture;

static void start(fixture *fx, const char *backend, const char *url, int threads)
{
    memset(fx, 0, sizeof(*fx));
    aw_error err = {0};
    aw_state_options so = {.url = url};
    if (aw_state_new(backend, &so, &fx->state, &err) != AW_OK)
        fail_msg("state: %s", err.msg);
    aw_backend_health_init(&fx->health, "state");
    aw_recorder_options o = {.state = fx->state, .threads = threads, .health = &fx->health,
                             .latency = &fx->latency,
                             .queued = &fx->queued, .writes = &fx->writes};
    if (aw_recorder_start(&o, &fx->rec, &err) != AW_OK)
        fail_msg("recorder: %s", err.msg);
}

static void stop(fixture *fx)
{
    aw_recorder_stop(fx->rec);
    aw_state_destroy(fx->state);
}

static aw_state_key key_of(char *buf, size_t sz, int thread, int i)
{
    snprintf(buf, sz, "id-%d-%d", thread, i);
    return (aw_state_key){.ns = "ns", .tenant = "t", .kind = "dedup", .id = buf};
}

/* Claim one identity on s; returns the claim's result (and token). */
static aw_claim_result claim(aw_state_session *s, aw_state_key k, uint64_t *token)
{
    aw_claim c = {.key = k, .lease_ms = 30000};
    aw_error err;
    assert_int_equal(aw_state_claim_batch(s, &c, 1, &err), AW_OK);
    aw_claim_result r = c.result;
    if (token)
        *token = c.token;
    aw_claim_clear(&c);
    return r;
}

/* Claim identity (thread, i) on s and fill *item with its done record. */
static void claim_record(aw_state_session *s, aw_complete *item, char *id, size_t id_size,
                         int thread, int i)
{
    aw_state_key k = key_of(id, id_size, thread, i);
    uint64_t token = 0;
    assert_int_equal(claim(s, k, &token), AW_CLAIM_ACQUIRED);
    *item = (aw_complete){.key = k, .token = token, .source = {"actions", 0, i},
                          .summary = "{}", .window_ms = 60000};
}

typedef struct producer_arg {
    fixture *fx;
    int thread;
    int failures;
} producer_arg;

/* Claim PER_THREAD identities, hand their done records in by
 * PER_SUBMISSION, several submissions outstanding at once, then check each. */
static void *producer(void *arg)
{
    producer_arg *a = arg;
    aw_error err;
    aw_state_session *s = NULL;
    if (aw_state_session_open(a->fx->state, &s, &err) != AW_OK) {
        a->failures++;
        return NULL;
    }
    enum { NS = PER_THREAD / PER_SUBMISSION + 1 };
    static _Thread_local char ids[PER_THREAD][32];
    aw_complete items[PER_THREAD];
    aw_record_batch subs[NS];
    memset(items, 0, sizeof(items));
    memset(subs, 0, sizeof(subs));
    for (int i = 0; i < PER_THREAD; i++) {
        aw_state_key k = key_of(ids[i], sizeof(ids[i]), a->thread, i);
        uint64_t token = 0;
        if (claim(s, k, &token) != AW_CLAIM_ACQUIRED)
            a->failures++;
        items[i] = (aw_complete){.key = k, .token = token, .source = {"actions", 0, i},
                                 .summary = "{\"outcome\":\"executed\"}",
                                 .window_ms = 60000};
    }
    int ns = 0;
    for (int i = 0; i < PER_THREAD; i += PER_SUBMISSION, ns++) {
        subs[ns].items = &items[i];
        subs[ns].n = (size_t)(PER_THREAD - i < PER_SUBMISSION ? PER_THREAD - i : PER_SUBMISSION);
        aw_recorder_submit(a->fx->rec, &subs[ns]);
    }
    for (int k = 0; k < ns; k++) {
        aw_recorder_wait(a->fx->rec, &subs[k], false);
        if (subs[k].rc != AW_OK)
            a->failures++;
        for (size_t j = 0; j < subs[k].n; j++)
            if (subs[k].items[j].stale)
                a->failures++;
    }
    for (int i = 0; i < PER_THREAD; i++)
        if (claim(s, items[i].key, NULL) != AW_CLAIM_DONE)
            a->failures++;
    aw_state_session_close(s);
    return NULL;
}

static void test_concurrent_submissions_all_written(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "memory", "", 2);
    pthread_t t[N_THREADS];
    producer_arg args[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        args[i] = (producer_arg){.fx = &fx, .thread = i};
        assert_int_equal(pthread_create(&t[i], NULL, producer, &args[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    unsigned long writes = atomic_load(&fx.writes);
    unsigned long subs = N_THREADS * ((PER_THREAD + PER_SUBMISSION - 1) / PER_SUBMISSION);
    assert_true(writes >= 1 && writes <= subs);
    assert_int_equal(atomic_load(&fx.latency.count), writes);
    stop(&fx);
}

/* A record whose lease is another holder's comes back stale at its own
 * index; its neighbours are written. */
static void test_stale_record_reported_in_place(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "memory", "", 1);
    aw_error err;
    aw_state_session *s = NULL;
    assert_int_equal(aw_state_session_open(fx.state, &s, &err), AW_OK);
    char ids[3][32];
    aw_complete items[3];
    for (int i = 0; i < 3; i++)
        claim_record(s, &items[i], ids[i], sizeof(ids[i]), 9, i);
    items[1].token++; /* not the holder's */
    aw_record_batch a = {.items = items, .n = 1}, b = {.items = &items[1], .n = 2};
    aw_recorder_submit(fx.rec, &a);
    aw_recorder_submit(fx.rec, &b);
    aw_recorder_wait(fx.rec, &a, false);
    aw_recorder_wait(fx.rec, &b, false);
    assert_int_equal(a.rc, AW_OK);
    assert_int_equal(b.rc, AW_OK);
    assert_false(items[0].stale);
    assert_true(items[1].stale);
    assert_false(items[2].stale);
    assert_int_equal(claim(s, items[0].key, NULL), AW_CLAIM_DONE);
    assert_int_equal(claim(s, items[1].key, NULL), AW_CLAIM_BUSY);
    assert_int_equal(claim(s, items[2].key, NULL), AW_CLAIM_DONE);
    aw_state_session_close(s);
    stop(&fx);
}

/* Every call fails: the submission says so, and the backend's health saw
 * it; nothing is written. */
static void test_failed_write_reported(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "faulty", "memory?transient_every=1", 1);
    char id[32];
    aw_complete item = {.key = key_of(id, sizeof(id), 7, 0), .token = 1,
                        .source = {"actions", 0, 0}, .summary = "{}", .window_ms = 60000};
    aw_record_batch a = {.items = &item, .n = 1};
    aw_recorder_submit(fx.rec, &a);
    aw_recorder_wait(fx.rec, &a, false);
    assert_int_equal(a.rc, AW_TRANSIENT);
    assert_true(a.done);
    assert_false(aw_backend_health_ok(&fx.health));
    stop(&fx);
}

/* Cancelling: a submission is either cancelled before any thread took it
 * (AW_TRANSIENT, nothing written) or written whole: never half. */
static void test_cancel_is_all_or_nothing(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "memory", "", 1);
    aw_error err;
    aw_state_session *s = NULL;
    assert_int_equal(aw_state_session_open(fx.state, &s, &err), AW_OK);
    enum { N = 50 };
    char ids[N][32];
    aw_complete items[N];
    aw_record_batch subs[N];
    for (int i = 0; i < N; i++) {
        claim_record(s, &items[i], ids[i], sizeof(ids[i]), 8, i);
        subs[i] = (aw_record_batch){.items = &items[i], .n = 1};
        aw_recorder_submit(fx.rec, &subs[i]);
    }
    for (int i = N - 1; i >= 0; i--) {
        aw_recorder_wait(fx.rec, &subs[i], true);
        aw_claim_result r = claim(s, items[i].key, NULL);
        if (subs[i].rc == AW_OK)
            assert_int_equal(r, AW_CLAIM_DONE);
        else
            assert_int_equal(r, AW_CLAIM_BUSY); /* still our lease: not written */
    }
    aw_state_session_close(s);
    stop(&fx);
}

static void test_stop_idle(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "memory", "", 4);
    stop(&fx);
    aw_recorder_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_submissions_all_written),
        cmocka_unit_test(test_stale_record_reported_in_place),
        cmocka_unit_test(test_failed_write_reported),
        cmocka_unit_test(test_cancel_is_all_or_nothing),
        cmocka_unit_test(test_stop_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
