/* Event state of state_machine rules (worker/event_state.h) on the memory
 * state backend: allowed and refused moves, a retry after a crash finding
 * its own move, a compare-and-swap race lost and re-decided, many threads
 * moving one event (no seq skipped or repeated), timeouts armed and fired
 * once, and not when the event moved on. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backends/state/state.h"
#include "config/config.h"
#include "worker/event_state.h"

#define POOL "grp"
#define NOW 1700000000000LL

static const char conf[] =
    "kafka = { brokers = \"b:9092\"; group_id = \"" POOL "\"; topics = [ \"t\" ]; };\n"
    "state_machines = ( { name = \"inc\"; fingerprint = \"{tenant}:{payload.alert_id}\";\n"
    "  initial = \"new\"; states = [\"new\", \"open\", \"acked\", \"resolved\", \"stale\"];\n"
    "  transitions = ( { from = [\"new\", \"resolved\", \"stale\"]; to = \"open\"; on = \"alert\"; },\n"
    "    { from = [\"open\"]; to = \"acked\"; on = \"ack\"; },\n"
    "    { from = [\"open\", \"acked\"]; to = \"resolved\"; on = \"resolve\"; } );\n"
    "  timeouts = ( { in = \"open\"; after_s = 600; to = \"stale\"; } ); },\n"
    "  { name = \"flip\"; fingerprint = \"{id}\"; initial = \"a\"; states = [\"a\", \"b\"];\n"
    "    transitions = ( { from = [\"a\"]; to = \"b\"; on = \"go\"; },\n"
    "                    { from = [\"b\"]; to = \"a\"; on = \"go\"; } ); } );\n";

typedef struct fixture {
    aw_config *cfg;
    aw_state *st;
    aw_state_session *s1, *s2;
} fixture;

static fixture fx;

static int setup(void **state)
{
    (void)state;
    aw_error err;
    memset(&fx, 0, sizeof(fx));
    aw_state_options so = {.url = "", .key_prefix = ""};
    if (aw_config_load_string(conf, &fx.cfg, &err) != AW_OK ||
        aw_state_new("memory", &so, &fx.st, &err) != AW_OK ||
        aw_state_session_open(fx.st, &fx.s1, &err) != AW_OK ||
        aw_state_session_open(fx.st, &fx.s2, &err) != AW_OK)
        fail_msg("setup: %s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    aw_state_session_close(fx.s1);
    aw_state_session_close(fx.s2);
    aw_state_destroy(fx.st);
    aw_config_destroy(fx.cfg);
    return 0;
}

static aw_event_ctx ctx_of(aw_state_session *s, int machine, int64_t now)
{
    return (aw_event_ctx){.state = s, .machine = &fx.cfg->machines[machine], .pool = POOL,
                          .now_ms = now};
}

static aw_event_result apply(aw_state_session *s, const char *fp, const char *on,
                             const char *identity, uint64_t token)
{
    aw_event_ctx c = ctx_of(s, 0, NOW);
    aw_event_result res;
    aw_error err;
    if (aw_event_apply(&c, fp, on, identity, token, &res, &err) != AW_OK)
        fail_msg("apply %s %s: %s", fp, on, err.msg);
    return res;
}

static aw_event get_event(const char *fp)
{
    aw_event e;
    aw_error err;
    if (aw_event_get(fx.s1, &fx.cfg->machines[0], fp, &e, &err) != AW_OK)
        fail_msg("get %s: %s", fp, err.msg);
    return e;
}

static void test_allowed_and_refused(void **state)
{
    (void)state;
    aw_event_result r = apply(fx.s1, "t:1", "ack", "ns/t/a1", 1);
    assert_int_equal(r.verdict, AW_EVENT_NOT_ALLOWED); /* new: no ack from there */
    assert_string_equal(r.event.state, "new");
    assert_int_equal(r.event.seq, 0);
    aw_event missing;
    aw_error err;
    assert_int_equal(aw_event_get(fx.s1, &fx.cfg->machines[0], "t:1", &missing, &err),
                     AW_NOT_FOUND); /* a refused move writes nothing */

    r = apply(fx.s1, "t:1", "alert", "ns/t/a2", 2);
    assert_int_equal(r.verdict, AW_EVENT_MOVED);
    assert_string_equal(r.move.from, "new");
    assert_string_equal(r.move.to, "open");
    assert_int_equal(r.move.seq, 1);
    r = apply(fx.s1, "t:1", "ack", "ns/t/a3", 3);
    assert_int_equal(r.verdict, AW_EVENT_MOVED);
    assert_string_equal(r.move.to, "acked");
    r = apply(fx.s1, "t:1", "ack", "ns/t/a4", 4);
    assert_int_equal(r.verdict, AW_EVENT_NOT_ALLOWED);
    assert_string_equal(r.event.state, "acked");
    r = apply(fx.s1, "t:1", "resolve", "ns/t/a5", 5);
    assert_int_equal(r.verdict, AW_EVENT_MOVED);
    assert_int_equal(r.move.seq, 3);

    aw_event e = get_event("t:1");
    assert_string_equal(e.state, "resolved");
    assert_int_equal(e.seq, 3);
    assert_int_equal(e.entered_at_ms, NOW);
    assert_int_equal(e.born_ms, NOW);
    assert_int_equal(e.n_recent, 3);
    assert_string_equal(e.recent[0].identity, "ns/t/a5");
    assert_int_equal(e.recent[0].token, 5);
    assert_string_equal(e.recent[0].from, "acked");
    assert_string_equal(e.recent[2].identity, "ns/t/a2");
    /* Other events are apart. */
    assert_int_equal(apply(fx.s1, "t:2", "alert", "ns/t/a6", 6).move.seq, 1);
}

/* The action crashed after its move: its retry (a new lease, a higher
 * token) finds the move, even behind later moves, and moves nothing. */
static void test_retry_after_crash(void **state)
{
    (void)state;
    aw_event_result r = apply(fx.s1, "t:r", "alert", "ns/t/x", 10);
    assert_int_equal(r.verdict, AW_EVENT_MOVED);
    assert_int_equal(apply(fx.s1, "t:r", "ack", "ns/t/y", 11).verdict, AW_EVENT_MOVED);
    r = apply(fx.s2, "t:r", "alert", "ns/t/x", 12);
    assert_int_equal(r.verdict, AW_EVENT_ALREADY);
    assert_int_equal(r.move.seq, 1);
    assert_int_equal(r.move.token, 10);
    assert_string_equal(r.move.to, "open");
    aw_event e = get_event("t:r");
    assert_string_equal(e.state, "acked");
    assert_int_equal(e.seq, 2);
    /* Only the last AW_EVENT_RECENT moves are remembered (the documented
     * bound): behind that many, a retry is judged again like a new action
     * (here: alert from open, not allowed). */
    for (int i = 0; i < AW_EVENT_RECENT; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ns/t/z%d", i);
        assert_int_equal(apply(fx.s1, "t:r", i % 2 ? "alert" : "resolve", id, 20).verdict,
                         AW_EVENT_MOVED);
    }
    e = get_event("t:r");
    assert_int_equal(e.n_recent, AW_EVENT_RECENT);
    assert_int_equal(e.seq, 2 + AW_EVENT_RECENT);
    assert_int_equal(apply(fx.s2, "t:r", "alert", "ns/t/x", 13).verdict, AW_EVENT_NOT_ALLOWED);
}

/* A session whose get lets another session move the event first (once):
 * the compare-and-swap of the first then fails and it decides again. */
static aw_state_driver racing_driver;
static const char *race_fp, *race_on;
static aw_status racing_get(void *s, const aw_state_key *k, aw_state_value *out, aw_error *err)
{
    aw_status rc = aw_state_driver_find("memory")->get(s, k, out, err);
    if (race_fp) {
        const char *fp = race_fp;
        race_fp = NULL;
        char id[64];
        snprintf(id, sizeof(id), "ns/t/winner-%s", race_on);
        aw_event_result r = apply(fx.s2, fp, race_on, id, 99);
        assert_int_equal(r.verdict, AW_EVENT_MOVED);
    }
    return rc;
}

static void test_race(void **state)
{
    (void)state;
    racing_driver = *fx.s1->driver;
    racing_driver.get = racing_get;
    const aw_state_driver *saved = fx.s1->driver;
    fx.s1->driver = &racing_driver;

    /* Both move new -> open on "alert": the loser finds open, where alert
     * is not allowed. */
    race_fp = "t:race", race_on = "alert";
    aw_event_result r = apply(fx.s1, "t:race", "alert", "ns/t/loser", 98);
    assert_int_equal(r.conflicts, 1);
    assert_int_equal(r.verdict, AW_EVENT_NOT_ALLOWED);
    assert_string_equal(r.event.state, "open");
    /* The winner acks; the loser's resolve, re-decided from acked, is
     * allowed and made as seq 3. */
    race_fp = "t:race", race_on = "ack";
    r = apply(fx.s1, "t:race", "resolve", "ns/t/loser2", 97);
    fx.s1->driver = saved;
    assert_int_equal(r.conflicts, 1);
    assert_int_equal(r.verdict, AW_EVENT_MOVED);
    assert_string_equal(r.move.from, "acked");
    assert_int_equal(r.move.seq, 3);
    aw_event e = get_event("t:race");
    assert_int_equal(e.seq, 3);
    assert_string_equal(e.recent[1].identity, "ns/t/winner-ack");
}

/* Threads flipping one event: every move made once, seqs 1..N, none twice. */
#define THREADS 4
#define FLIPS 200
static int64_t seen_seq[THREADS * FLIPS + 1];
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void *flipper(void *arg)
{
    int t = (int)(intptr_t)arg;
    aw_state_session *s;
    aw_error err;
    if (aw_state_session_open(fx.st, &s, &err) != AW_OK)
        return (void *)1;
    aw_event_ctx c = ctx_of(s, 1, NOW);
    for (int i = 0; i < FLIPS; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ns/t/%d-%d", t, i);
        aw_event_result r;
        aw_status rc;
        /* A lost race is retried, as the pipeline retries it (with backoff). */
        while ((rc = aw_event_apply(&c, "e", "go", id, 1, &r, &err)) == AW_CONFLICT)
            ;
        if (rc != AW_OK ||
            r.verdict != AW_EVENT_MOVED || r.move.seq < 1 || r.move.seq > THREADS * FLIPS) {
            fprintf(stderr, "%s: rc %d verdict %d seq %lld state %s: %s\n", id, rc, r.verdict,
                    (long long)r.move.seq, r.event.state, err.msg);
            return (void *)1;
        }
        pthread_mutex_lock(&seen_lock);
        seen_seq[r.move.seq]++;
        pthread_mutex_unlock(&seen_lock);
    }
    aw_state_session_close(s);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, flipper, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++) {
        void *rv;
        pthread_join(th[t], &rv);
        assert_null(rv);
    }
    for (int i = 1; i <= THREADS * FLIPS; i++)
        if (seen_seq[i] != 1)
            fail_msg("seq %d made %lld times", i, (long long)seen_seq[i]);
    aw_event e;
    aw_error err;
    assert_int_equal(aw_event_get(fx.s1, &fx.cfg->machines[1], "e", &e, &err), AW_OK);
    assert_int_equal(e.seq, THREADS * FLIPS);
    assert_string_equal(e.state, "a"); /* an even number of flips */
}

/* Take the timeout items due by now; returns how many, the first in *it. */
static size_t take_timeouts(int64_t now, aw_due_item *it)
{
    aw_due_item items[8];
    size_t n = 0;
    aw_error err;
    if (aw_state_due_take(fx.s1, POOL, AW_EVENT_TIMEOUT_KIND, now, 8, 60000, items, &n, &err) !=
        AW_OK)
        fail_msg("due_take: %s", err.msg);
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            *it = items[0];
        else
            aw_due_item_clear(&items[i]);
    }
    return n;
}

static aw_event_result time_out(const char *fp, const char *st, int64_t seq)
{
    aw_event_ctx c = ctx_of(fx.s1, 0, NOW + 600000);
    aw_event_result r;
    aw_error err;
    if (aw_event_time_out(&c, fp, st, seq, &r, &err) != AW_OK)
        fail_msg("time out: %s", err.msg);
    return r;
}

static void test_timeout(void **state)
{
    (void)state;
    apply(fx.s1, "t:to", "alert", "ns/t/o1", 1);
    aw_due_item it;
    assert_int_equal(take_timeouts(NOW + 599999, &it), 0); /* not before after_s */
    assert_int_equal(take_timeouts(NOW + 600000, &it), 1);
    assert_string_equal(it.tenant, "inc");
    assert_string_equal(it.id, "1:open:t:to");
    assert_int_equal(it.due_ms, NOW + 600000);
    int64_t seq;
    char st[AW_EVENT_STATE_MAX + 1];
    const char *fp;
    assert_int_equal(aw_event_timeout_id_read(it.id, &seq, st, sizeof(st), &fp), 0);
    assert_int_equal(seq, 1);
    assert_string_equal(st, "open");
    assert_string_equal(fp, "t:to");

    aw_event_result r = time_out(fp, st, seq);
    assert_int_equal(r.verdict, AW_EVENT_MOVED);
    assert_string_equal(r.move.from, "open");
    assert_string_equal(r.move.to, "stale");
    assert_string_equal(r.move.identity, AW_EVENT_TIMEOUT_IDENTITY);
    assert_int_equal(r.move.seq, 2);
    /* Fired again (a crash before due_done): the move is found, not made. */
    r = time_out(fp, st, seq);
    assert_int_equal(r.verdict, AW_EVENT_ALREADY);
    aw_event e = get_event("t:to");
    assert_string_equal(e.state, "stale");
    assert_int_equal(e.seq, 2);
    aw_due_item_clear(&it);

    /* Reopened (seq 3, a new timeout armed), then acked: the timeout of
     * seq 3 finds the event moved on. */
    assert_int_equal(apply(fx.s1, "t:to", "alert", "ns/t/o2", 2).move.seq, 3);
    assert_int_equal(apply(fx.s1, "t:to", "ack", "ns/t/o3", 3).move.seq, 4);
    assert_int_equal(take_timeouts(NOW + 600000, &it), 1);
    assert_string_equal(it.id, "3:open:t:to");
    aw_due_item_clear(&it);
    r = time_out("t:to", "open", 3);
    assert_int_equal(r.verdict, AW_EVENT_NOT_ALLOWED);
    assert_string_equal(r.event.state, "acked");
    assert_int_equal(get_event("t:to").seq, 4);
    /* A timeout of an event whose record expired finds a fresh event. */
    assert_int_equal(time_out("t:gone", "open", 1).verdict, AW_EVENT_NOT_ALLOWED);
}

static void test_record_codec(void **state)
{
    (void)state;
    aw_event e = {.seq = 2, .entered_at_ms = 5, .born_ms = 3, .n_recent = 1};
    snprintf(e.state, sizeof(e.state), "open");
    e.recent[0] = (aw_event_move){.identity = "a/b/c", .token = 7, .from = "new", .to = "open",
                                  .seq = 2};
    aw_buf b = {0};
    assert_int_equal(aw_event_write(&e, &b), 0);
    assert_string_equal(b.data, "{\"state\":\"open\",\"seq\":2,\"entered_at_ms\":5,\"born_ms\":3,"
                                "\"last\":"
                                "{\"identity\":\"a/b/c\",\"token\":7,\"from\":\"new\",\"to\":"
                                "\"open\",\"seq\":2},\"recent\":[{\"identity\":\"a/b/c\","
                                "\"token\":7,\"from\":\"new\",\"to\":\"open\",\"seq\":2}]}");
    aw_event back;
    assert_int_equal(aw_event_read(b.data, b.len, &back), 0);
    assert_int_equal(memcmp(&back, &e, sizeof(e)), 0);
    assert_int_equal(aw_event_read("{\"state\":1}", 11, &back), -1);
    aw_buf_free(&b);
    int64_t seq;
    char st[8];
    const char *fp;
    assert_int_equal(aw_event_timeout_id_read("x:open:f", &seq, st, sizeof(st), &fp), -1);
    assert_int_equal(aw_event_timeout_id_read("1:open", &seq, st, sizeof(st), &fp), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_allowed_and_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test(test_record_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
