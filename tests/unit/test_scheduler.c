/* Scheduled actions (docs/scheduling.md) over the memory state backend and
 * the noop provider: the pipeline puts an action with a future not_before
 * in the due index and answers `scheduled` (a past one runs at once; with
 * scheduling unavailable it is rejected naming the field); the scheduler's
 * round takes a due item, runs it through the pipeline (executed, under
 * its own ":run" record), and removes it; the same item put again is
 * answered from the done record (never run twice); an identity leased
 * elsewhere is released, not run; a throttle with on_limit = "delay" puts
 * the action over its limit off to the next window through the same index
 * (again when that window is full too, without a second reply), and it runs
 * once then. Chains (docs/rules.md, "chain"): a trigger answers
 * chain_started, rounds run the steps one by one (retries, on_failure,
 * abort), a step found done is not called again, the end is recorded
 * once; templates and config errors. No Kafka and no producer: audit is off,
 * so a finished job comes straight back. Every wait is bounded. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "common/aw_chain_template.h"
#include "common/aw_clock.h"
#include "worker/chain_state.h"
#include "worker/event_state.h"
#include "worker/group_state.h"
#include "worker/pipeline.h"
#include "worker/rules.h"
#include "worker/schedule_item.h"
#include "worker/scheduler.h"

#include "worker_fixture.inc"

#define WAIT_MS 10000
#define TOPIC "actions"

typedef struct seen {
    char record_id[320];
    aw_outcome outcome;
    char details[512];
    char chain_id[40]; /* "" when none */
    char group_id[128]; /* the record's group_id, "" when none */
} seen;

typedef struct fixture {
    aw_config *cfg;
    rd_kafka_t *rk; /* only to name the messages' topic */
    rd_kafka_topic_t *rkt;
    aw_worker_ctx ctx;
    aw_pipeline p;
    aw_state_session *peer; /* another replica's session */
    aw_job *back[16];
    size_t n_back;
    seen outcomes[16];      /* every outcome, in order (ctx.on_outcome) */
    size_t n_outcomes;
    atomic_size_t published; /* n_outcomes, for a test thread reading while
                                the scheduler's thread writes */
    atomic_bool hold;        /* while set, an executed outcome blocks the thread
                                recording it (a slow call: the round lasts) */
    atomic_bool holding;     /* ... and one does now */
} fixture;

#define CONFIG_BASE                                                                          \
    "kafka = { brokers = \"b:9092\"; group_id = \"g\"; topics = [ \"" TOPIC "\" ]; };\n"         \
    "state = { backend = \"memory\"; };\n"                                                       \
    "audit = { enabled = false; };\n"                                                          \
    "dedup = { busy_retry_ms = 5; };\n"
static const char *CONFIG = CONFIG_BASE "providers = ( { name = \"noop\"; type = \"noop\"; } );\n";

static void on_outcome(void *ud, const aw_audit_record *r)
{
    fixture *fx = ud;
    if (fx->n_outcomes == 16)
        return;
    seen *s = &fx->outcomes[fx->n_outcomes++];
    snprintf(s->record_id, sizeof(s->record_id), "%s", r->record_id);
    s->outcome = r->outcome;
    snprintf(s->details, sizeof(s->details), "%s", r->details ? r->details : "");
    snprintf(s->chain_id, sizeof(s->chain_id), "%s", r->chain_id ? r->chain_id : "");
    snprintf(s->group_id, sizeof(s->group_id), "%s", r->group_id ? r->group_id : "");
    atomic_store(&fx->published, fx->n_outcomes);
    if (r->outcome != AW_OUTCOME_EXECUTED || !atomic_load(&fx->hold))
        return;
    atomic_store(&fx->holding, true);
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (atomic_load(&fx->hold) && aw_mono_now_ms() < end)
        aw_sleep_ms(5);
}

/* base and then `extra` (more settings, "" for none). */
static void setup_from(fixture *fx, const char *base, const char *extra)
{
    memset(fx, 0, sizeof(*fx));
    aw_error err = {0};
    char text[4096];
    snprintf(text, sizeof(text), "%s%s", base, extra);
    if (aw_config_load_string(text, &fx->cfg, &err) != AW_OK)
        fail_msg("config: %s", err.msg);
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    fx->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(fx->rk);
    fx->rkt = rd_kafka_topic_new(fx->rk, TOPIC, NULL);
    assert_non_null(fx->rkt);
    fx->ctx.cfg = fx->cfg;
    fx->ctx.on_outcome = on_outcome;
    fx->ctx.on_outcome_ud = fx;
    worker_ctx_open(&fx->ctx, "memory", 1, &fx->p, &fx->peer);
}

static void setup_with(fixture *fx, const char *extra)
{
    setup_from(fx, CONFIG, extra);
}

static void setup(fixture *fx)
{
    setup_with(fx, "");
}

static void teardown(fixture *fx)
{
    for (size_t i = 0; i < fx->n_back; i++)
        free_test_job(fx->back[i]);
    worker_ctx_close(&fx->ctx, &fx->p, fx->peer);
    rd_kafka_topic_destroy(fx->rkt);
    rd_kafka_destroy(fx->rk);
    aw_config_destroy(fx->cfg);
}

/* Action a-<offset> with dedup key `key` at `offset` of partition 3, not
 * before not_before_ms (0: no not_before). */
static aw_job *make_job(fixture *fx, int64_t offset, const char *key, int64_t not_before_ms)
{
    char text[512], when[64] = "";
    int n = snprintf(text, sizeof(text),
                     "{\"id\":\"a-%lld\",\"namespace\":\"ns\",\"tenant\":\"t\","
                     "\"provider\":\"noop\",\"action_type\":\"do\",\"dedup_key\":\"%s\","
                     "\"payload\":{\"k\":\"v\"}",
                     (long long)offset, key);
    if (not_before_ms) {
        aw_time_format_rfc3339(not_before_ms, when, sizeof(when));
        n += snprintf(text + n, sizeof(text) - (size_t)n, ",\"not_before\":\"%s\"", when);
    }
    snprintf(text + n, sizeof(text) - (size_t)n, "}");
    rd_kafka_message_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->rkt = fx->rkt;
    m->partition = 3;
    m->offset = offset;
    m->payload = strdup(text);
    m->len = strlen(text);
    size_t max = (size_t)fx->cfg->ingest.max_message_bytes;
    aw_job *j = aw_job_new(m, 1, max);
    assert_non_null(j);
    aw_job_decode(j, max);
    assert_false(j->rejected);
    return j;
}

/* Run one batch of one job; it must come back on the completion queue. */
static void run(fixture *fx, aw_job *j)
{
    aw_job *finished[1];
    assert_int_equal(aw_pipeline_run(&fx->p, &j, 1, finished), 1);
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (aw_mono_now_ms() < end) {
        aw_job *list = NULL;
        if (aw_job_queue_pop(&fx->ctx.done, 1, 20, &list) == 1) {
            fx->back[fx->n_back++] = list;
            return;
        }
    }
    fail_msg("the job did not come back");
}

/* Take what is due at now_ms from the scheduled pool as another replica
 * would: how many items, the first kept in *first when non-NULL. */
static size_t peer_take(fixture *fx, int64_t now_ms, aw_due_item *first)
{
    aw_due_item items[8];
    size_t n = 0;
    aw_error err;
    assert_int_equal(aw_state_due_take(fx->peer, "g", AW_SCHEDULE_KIND, now_ms, 8, 60000, items,
                                       &n, &err),
                     AW_OK);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && first)
            *first = items[0];
        else
            aw_due_item_clear(&items[i]);
    }
    return n;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_future_is_scheduled(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    int64_t due = aw_time_now_ms() + 60000;
    aw_job *j = make_job(&fx, 7, "k-1", due);
    run(&fx, j);
    assert_false(j->abandoned);
    assert_int_equal(j->record.outcome, AW_OUTCOME_SCHEDULED);
    char want[256], when[64];
    aw_time_format_rfc3339(due, when, sizeof(when));
    snprintf(want, sizeof(want), "{\"not_before\":\"%s\",\"due_key\":\"ns:t:k-1\"}", when);
    assert_string_equal(j->record.details, want);
    assert_string_equal(j->record.record_id, TOPIC ":3:7");
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_SCHEDULED]), 1);

    /* nothing due yet; at its time, one item holding the message */
    assert_int_equal(peer_take(&fx, due - 1, NULL), 0);
    aw_due_item it;
    assert_int_equal(peer_take(&fx, due, &it), 1);
    assert_string_equal(it.ns, "g");
    assert_string_equal(it.tenant, "ns");
    assert_string_equal(it.id, "1:tk-1");
    assert_int_equal(it.due_ms, due);
    char topic[256];
    int32_t partition;
    int64_t offset;
    const void *msg;
    size_t len;
    assert_int_equal(aw_schedule_value_read(it.value, it.len, topic, sizeof(topic), &partition,
                                            &offset, &msg, &len),
                     0);
    assert_string_equal(topic, TOPIC);
    assert_int_equal(partition, 3);
    assert_int_equal(offset, 7);
    assert_int_equal(len, j->msg->len);
    assert_memory_equal(msg, j->msg->payload, len);
    aw_due_item_clear(&it);

    /* the provider did not run: no done record, the identity is free */
    aw_claim c = {.key = {.ns = "ns", .tenant = "t", .kind = "dedup", .id = "k-1"},
                  .lease_ms = 1000};
    aw_error err;
    assert_int_equal(aw_state_claim_batch(fx.peer, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    aw_claim_clear(&c);
    teardown(&fx);
}

/* Redelivered, the same message puts the same item again: still one. */
static void test_redelivery_puts_one_item(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    int64_t due = aw_time_now_ms() + 60000;
    aw_job *a = make_job(&fx, 7, "k-1", due);
    run(&fx, a);
    aw_job *b = make_job(&fx, 7, "k-1", due);
    run(&fx, b);
    assert_int_equal(b->record.outcome, AW_OUTCOME_SCHEDULED);
    assert_int_equal(peer_take(&fx, due + 1, NULL), 1);
    teardown(&fx);
}

static void test_past_runs_now(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_job *j = make_job(&fx, 1, "k-1", aw_time_now_ms() - 1000);
    run(&fx, j);
    assert_int_equal(j->record.outcome, AW_OUTCOME_EXECUTED);
    assert_int_equal(peer_take(&fx, aw_time_now_ms() + 3600000, NULL), 0);
    teardown(&fx);
}

static void test_unavailable_rejects(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    fx.ctx.schedule_unavailable = "the state backend has no due-time index";
    aw_job *j = make_job(&fx, 1, "k-1", aw_time_now_ms() + 60000);
    run(&fx, j);
    assert_int_equal(j->record.outcome, AW_OUTCOME_REJECTED);
    assert_string_equal(j->reject.field, "not_before");
    assert_non_null(strstr(j->record.details, "not_before: scheduled actions are not available: "
                                              "the state backend has no due-time index"));
    teardown(&fx);
}

/* The scheduler's round: nothing before the due time; at it, the action
 * runs through the pipeline under its own record, the item is removed. */
static void test_round_executes_and_removes(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    int64_t due = aw_time_now_ms() + 60000;
    run(&fx, make_job(&fx, 7, "k-1", due));
    aw_scheduler *s;
    aw_error err;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, due - 1), 0);
    assert_int_equal(fx.n_outcomes, 1); /* the `scheduled` one */
    assert_int_equal(aw_scheduler_round(s, due), 1);
    assert_int_equal(fx.n_outcomes, 2);
    assert_string_equal(fx.outcomes[1].record_id, TOPIC ":3:7:run");
    assert_int_equal(fx.outcomes[1].outcome, AW_OUTCOME_EXECUTED);
    assert_string_equal(fx.outcomes[1].details, "{\"attempts\":1}");
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_taken), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_done), 1);
    /* removed: no later take finds it */
    assert_int_equal(aw_scheduler_round(s, due + 3600000), 0);
    assert_int_equal(peer_take(&fx, due + 3600000, NULL), 0);

    /* put again (a crash before due_done, or the message redelivered):
     * answered from the done record, the provider does not run again */
    run(&fx, make_job(&fx, 7, "k-1", due));
    assert_int_equal(aw_scheduler_round(s, due), 1);
    assert_int_equal(fx.n_outcomes, 4);
    assert_string_equal(fx.outcomes[3].record_id, TOPIC ":3:7:run");
    assert_int_equal(fx.outcomes[3].outcome, AW_OUTCOME_EXECUTED);
    assert_string_equal(fx.outcomes[3].details, "{\"attempts\":1,\"redelivered\":true}");

    /* another message with the same identity, scheduled: a duplicate */
    run(&fx, make_job(&fx, 8, "k-1", due));
    assert_int_equal(aw_scheduler_round(s, due), 1);
    assert_int_equal(fx.n_outcomes, 6);
    assert_int_equal(fx.outcomes[5].outcome, AW_OUTCOME_DEDUPLICATED);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_done), 3);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* The identity is leased by another holder (a message with the same
 * identity running now): the item is released for later, nothing runs. */
static void test_round_busy_releases(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    int64_t due = aw_time_now_ms() + 60000;
    run(&fx, make_job(&fx, 7, "k-1", due));
    aw_claim c = {.key = {.ns = "ns", .tenant = "t", .kind = "dedup", .id = "k-1"},
                  .lease_ms = 60000};
    aw_error err;
    assert_int_equal(aw_state_claim_batch(fx.peer, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, due), 1);
    assert_int_equal(fx.n_outcomes, 1); /* only `scheduled` */
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_released), 1);
    /* released, not removed: offered again (later than due: the wait) */
    assert_int_equal(peer_take(&fx, due + 3600000, NULL), 1);
    aw_claim_clear(&c);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* The thread: started, it runs an action once it is due (its own clock),
 * and stops promptly. */
static void test_thread_runs_due(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    int64_t due = aw_time_now_ms() + 300;
    run(&fx, make_job(&fx, 7, "k-1", due));
    aw_scheduler *s;
    aw_error err;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_start(s, &err), AW_OK);
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (atomic_load(&fx.published) < 2 && aw_mono_now_ms() < end)
        aw_sleep_ms(5);
    int64_t ran_at = aw_time_now_ms();
    assert_int_equal(atomic_load(&fx.published), 2);
    assert_true(ran_at >= due);
    int64_t t0 = aw_mono_now_ms();
    aw_scheduler_stop(s); /* joins: fx.outcomes is ours again */
    assert_true(aw_mono_now_ms() - t0 < 2000);
    assert_string_equal(fx.outcomes[1].record_id, TOPIC ":3:7:run");
    assert_int_equal(fx.outcomes[1].outcome, AW_OUTCOME_EXECUTED);
    assert_int_equal(peer_take(&fx, due + 3600000, NULL), 0);
    teardown(&fx);
}

/* Poll until *flag is set, WAIT_MS at most. */
static bool wait_flag(atomic_bool *flag)
{
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (!atomic_load(flag) && aw_mono_now_ms() < end)
        aw_sleep_ms(5);
    return atomic_load(flag);
}

/* Schedule action 7 for due, hold its execution (on_outcome) and start
 * the scheduler thread: returned once the round runs, its item taken. */
static aw_scheduler *start_held_round(fixture *fx, int64_t due)
{
    run(fx, make_job(fx, 7, "k-1", due));
    atomic_store(&fx->hold, true);
    aw_scheduler *s;
    aw_error err;
    assert_int_equal(aw_scheduler_new(&fx->ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_start(s, &err), AW_OK);
    assert_true(wait_flag(&fx->holding));
    return s;
}

/* Let the held execution finish, wait (bounded) until the round has
 * settled its item as *settled counts it, and stop the scheduler. */
static void finish_held_round(fixture *fx, aw_scheduler *s, atomic_ulong *settled)
{
    atomic_store(&fx->hold, false);
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (atomic_load(settled) == 0 && aw_mono_now_ms() < end)
        aw_sleep_ms(5);
    aw_scheduler_stop(s);
}

/* A round that outlasts schedule.lease_ms (here a call that blocks, held
 * in on_outcome) keeps its item: the lease keeper extends the due lease,
 * so another replica's take finds nothing even after the first lease
 * would have run out (a marker the peer takes with the same lease later
 * than the scheduler did is offered again first: that is the proof that
 * the time has passed, on the backend's clock). Then due_done removes it. */
static void test_long_round_keeps_lease(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "schedule = { lease_ms = 1000; poll_ms = 10; };\n");
    int64_t due = aw_time_now_ms() + 50;
    aw_scheduler *s = start_held_round(&fx, due);
    aw_error err;
    aw_state_key marker = {.ns = "g", .tenant = "t", .kind = AW_SCHEDULE_KIND, .id = "marker"};
    assert_int_equal(aw_state_due_put(fx.peer, &marker, 0, "m", 1, &err), AW_OK);
    aw_due_item items[8];
    size_t n = 0;
    assert_int_equal(aw_state_due_take(fx.peer, "g", AW_SCHEDULE_KIND, aw_time_now_ms(), 8, 1000,
                                       items, &n, &err),
                     AW_OK);
    assert_int_equal(n, 1); /* the marker alone: the item is leased */
    assert_string_equal(items[0].id, "marker");
    aw_due_item_clear(&items[0]);
    /* Whatever is offered first once the marker's lease has run out. */
    for (int64_t end = aw_mono_now_ms() + WAIT_MS;; aw_sleep_ms(10)) {
        assert_int_equal(aw_state_due_take(fx.peer, "g", AW_SCHEDULE_KIND, aw_time_now_ms(), 8,
                                           60000, items, &n, &err),
                         AW_OK);
        if (n > 0 || aw_mono_now_ms() >= end)
            break;
    }
    assert_int_equal(n, 1);
    assert_string_equal(items[0].id, "marker"); /* not the scheduler's item */
    assert_int_equal(aw_state_due_done(fx.peer, &marker, items[0].token, &err), AW_OK);
    aw_due_item_clear(&items[0]);

    finish_held_round(&fx, s, &fx.ctx.metrics.due_done);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_done), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_lost), 0);
    assert_int_equal(atomic_load(&fx.published), 2); /* scheduled, executed once */
    assert_int_equal(peer_take(&fx, due + 3600000, NULL), 0);
    teardown(&fx);
}

/* A due_extend that refuses every renewal (each item left stale), as the
 * backend answers once another replica holds the item: the keeper finds
 * the lease lost. */
static aw_status refusing_extend(void *s, aw_due_extension *items, size_t n, int64_t lease_ms,
                                 aw_error *err)
{
    (void)s, (void)items, (void)n, (void)lease_ms, (void)err;
    return AW_OK;
}

static bool due_lease_lost(aw_lease_keeper *k)
{
    /* A fresh keeper's first handle: the round's due lease, registered
     * right after the take (the job's dedup lease comes later, at its
     * claim). */
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (aw_lease_keeper_held_until(k, 1) != 0 && aw_mono_now_ms() < end)
        aw_sleep_ms(5);
    return aw_lease_keeper_held_until(k, 1) == 0;
}

/* A job whose due lease the keeper found lost is not ours to settle: no
 * due_done (the lease is still live in the backend here, so a due_done
 * would remove the item), counted as lease_lost. The item stays, offered
 * again once its lease runs out. */
static void test_lost_lease_not_done(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "schedule = { lease_ms = 1000; poll_ms = 10; };\n");
    /* The keeper renews through a driver whose due_extend refuses. */
    aw_state_driver refusing = *fx.ctx.state->driver;
    refusing.due_extend = refusing_extend;
    aw_state keeper_state = {.driver = &refusing, .backend = fx.ctx.state->backend};
    aw_error err;
    aw_lease_keeper_destroy(fx.ctx.keeper);
    assert_int_equal(aw_lease_keeper_new(&keeper_state, fx.cfg->dedup.lease_ms, &fx.ctx.keeper,
                                         &err),
                     AW_OK);
    int64_t due = aw_time_now_ms() + 50;
    aw_scheduler *s = start_held_round(&fx, due);
    assert_true(due_lease_lost(fx.ctx.keeper)); /* its renewal refused */
    finish_held_round(&fx, s, &fx.ctx.metrics.due_lost);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_lost), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_done), 0);
    /* Not removed: offered again once its lease has run out. */
    size_t n = 0;
    for (int64_t end = aw_mono_now_ms() + WAIT_MS; aw_mono_now_ms() < end; aw_sleep_ms(10))
        if ((n = peer_take(&fx, due + 3600000, NULL)) > 0)
            break;
    assert_int_equal(n, 1);
    teardown(&fx);
}

/* An item that is not one of ours can never run: removed and counted. */
static void test_round_drops_unreadable(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_state_key k = {.ns = "g", .tenant = "ns", .kind = AW_SCHEDULE_KIND, .id = "1:tx"};
    aw_error err;
    assert_int_equal(aw_state_due_put(fx.peer, &k, 1000, "garbage", 7, &err), AW_OK);
    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, 2000), 1);
    assert_int_equal(fx.n_outcomes, 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_dropped), 1);
    assert_int_equal(peer_take(&fx, 3600000, NULL), 0);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* A junk item of the scheduler's pool (a round drops it when it takes it:
 * enough for counting). */
static void put_junk(fixture *fx, const char *id, int64_t due_ms)
{
    aw_state_key k = {.ns = "g", .tenant = "ns", .kind = AW_SCHEDULE_KIND, .id = id};
    aw_error err;
    assert_int_equal(aw_state_due_put(fx->peer, &k, due_ms, "junk", 4, &err), AW_OK);
}

/* /metrics as rendered now (caller frees). */
static char *render(fixture *fx)
{
    aw_buf b = {0};
    aw_metrics_gauges g = {0};
    assert_int_equal(aw_metrics_render(&fx->ctx.metrics, &g, &b), 0);
    assert_int_equal(aw_buf_puts(&b, ""), 0); /* NUL-terminated even when empty */
    return b.data;
}

/* The three gauges, exactly as rendered. */
static void expect_gauges(fixture *fx, const char *items, const char *waiting, const char *lag)
{
    char *m = render(fx), want[128];
    snprintf(want, sizeof(want), "\nacteon_due_pool_items{kind=\"scheduled\"} %s\n", items);
    if (!strstr(m, want))
        fail_msg("want %s in:\n%s", want, m);
    snprintf(want, sizeof(want), "\nacteon_due_waiting{kind=\"scheduled\"} %s\n", waiting);
    if (!strstr(m, want))
        fail_msg("want %s in:\n%s", want, m);
    snprintf(want, sizeof(want), "\nacteon_due_oldest_lag_seconds{kind=\"scheduled\"} %s\n", lag);
    if (!strstr(m, want))
        fail_msg("want %s in:\n%s", want, m);
    free(m);
}

static void expect_no_gauges(fixture *fx)
{
    char *m = render(fx);
    assert_null(strstr(m, "acteon_due_pool_items{"));
    assert_null(strstr(m, "acteon_due_waiting"));
    assert_null(strstr(m, "acteon_due_oldest_lag_seconds"));
    assert_non_null(strstr(m, "acteon_due_items_total{")); /* the counters are there */
    free(m);
}

/* The gauges follow the pool, refreshed before the round's take, at most
 * once per schedule.stats_interval_ms (default 10 s) of the rounds' clock. */
static void test_due_gauges(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    assert_int_equal(fx.cfg->schedule.stats_interval_ms, 10000);
    aw_error err;
    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    expect_no_gauges(&fx); /* before any refresh */
    put_junk(&fx, "1:a", 1000);
    put_junk(&fx, "1:b", 2000);
    put_junk(&fx, "1:c", 50000);
    assert_int_equal(aw_scheduler_round(s, 500), 0);
    expect_gauges(&fx, "3", "0", "0.000");
    /* Within the interval: no due_stats, although one is due now (the
     * take drops it). */
    put_junk(&fx, "1:d", 100);
    assert_int_equal(aw_scheduler_round(s, 600), 1);
    expect_gauges(&fx, "3", "0", "0.000");
    /* The interval passed: two waiting, the oldest due 9.5 s ago (the
     * take then drops both). */
    assert_int_equal(aw_scheduler_round(s, 10500), 2);
    expect_gauges(&fx, "3", "2", "9.500");
    assert_int_equal(aw_scheduler_round(s, 20500), 0);
    expect_gauges(&fx, "1", "0", "0.000");
    /* A clock stepped back refreshes at once. */
    put_junk(&fx, "1:e", 100);
    assert_int_equal(aw_scheduler_round(s, 350), 1);
    expect_gauges(&fx, "2", "1", "0.250");
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* No gauges with the interval 0, nor with a backend without due_stats
 * (asked once, then never again); scheduling works the same. */
static void test_due_gauges_absent(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_error err;
    aw_scheduler *s;
    fx.cfg->schedule.stats_interval_ms = 0;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    put_junk(&fx, "1:a", 1000);
    assert_int_equal(aw_scheduler_round(s, 2000), 1);
    expect_no_gauges(&fx);
    aw_scheduler_stop(s);

    /* The memory backend without its due_stats slot (sessions opened from
     * now on get this driver). */
    fx.cfg->schedule.stats_interval_ms = 10000;
    static aw_state_driver no_stats;
    no_stats = aw_state_memory_driver;
    no_stats.due_stats = NULL;
    const aw_state_driver *memory = fx.ctx.state->driver;
    fx.ctx.state->driver = &no_stats;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    put_junk(&fx, "1:b", 1000);
    assert_int_equal(aw_scheduler_round(s, 2000), 1);
    assert_int_equal(aw_scheduler_round(s, 30000), 0);
    expect_no_gauges(&fx);
    aw_scheduler_stop(s);
    fx.ctx.state->driver = memory;
    teardown(&fx);
}

/* Which configurations can schedule: not ClickHouse state (no due index),
 * not transactional replies. */
static void test_unavailable_rule(void **state)
{
    (void)state;
    const struct {
        const char *state, *kafka_extra;
        const char *want; /* a substring of the reason, NULL: available */
    } cases[] = {
        {"backend = \"memory\";", "", NULL},
        {"backend = \"clickhouse\"; url = \"http://127.0.0.1:1\"; "
         "allow_eventual_consistency = true;",
         "", "no due-time index"},
        {"backend = \"memory\";", "transactional_replies = true;", "transactional_replies"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "kafka = { brokers = \"b:9092\"; group_id = \"g\"; topics = [ \"t\" ]; %s };\n"
                 "state = { %s };\naudit = { enabled = false; };\n"
                 "providers = ( { name = \"noop\"; type = \"noop\"; } );\n",
                 cases[i].kafka_extra, cases[i].state);
        aw_config *cfg;
        aw_error err = {0};
        if (aw_config_load_string(text, &cfg, &err) != AW_OK)
            fail_msg("case %zu: %s", i, err.msg);
        const char *why = aw_scheduler_unavailable(cfg);
        if (!cases[i].want)
            assert_null(why);
        else if (!why || !strstr(why, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, why ? why : "(null)",
                     cases[i].want);
        aw_config_destroy(cfg);
    }
}

/* A throttle of one per 1 s window delaying the rest: the second action
 * of a window is put off (outcome scheduled, the rule's details, its
 * identity not leased); a scheduler round before the window has turned
 * finds it over the limit again and releases it without a reply; once the
 * window has turned it executes, under its ":run" record, and is removed. */
static void test_throttle_delay(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "rules = ( { name = \"lim\"; verdict = \"throttle\"; key = \"{tenant}\";\n"
                    "  max_count = 1; window_s = 1; on_limit = \"delay\"; } );\n");
    aw_error err;
    /* Both actions in one window: start early in one. */
    int64_t ends;
    aw_rules_window(aw_time_now_ms(), 1, &ends);
    if (ends - aw_time_now_ms() < 700)
        while (aw_time_now_ms() < ends)
            aw_sleep_ms(5);
    aw_rules_window(aw_time_now_ms(), 1, &ends);
    run(&fx, make_job(&fx, 1, "k-1", 0));
    run(&fx, make_job(&fx, 2, "k-2", 0));
    assert_int_equal(fx.n_outcomes, 2);
    assert_int_equal(fx.outcomes[0].outcome, AW_OUTCOME_EXECUTED);
    assert_int_equal(fx.outcomes[1].outcome, AW_OUTCOME_SCHEDULED);
    assert_string_equal(fx.outcomes[1].record_id, TOPIC ":3:2");
    char when[48], want[256];
    aw_time_format_rfc3339(ends, when, sizeof(when));
    snprintf(want, sizeof(want),
             "{\"not_before\":\"%s\",\"due_key\":\"ns:t:k-2\",\"rule\":\"lim\","
             "\"key\":\"t\",\"max_count\":1,\"window_s\":1}",
             when);
    assert_string_equal(fx.outcomes[1].details, want);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].delayed), 1);
    /* its lease given back: another replica could claim the identity */
    aw_claim c = {.key = {.ns = "ns", .tenant = "t", .kind = "dedup", .id = "k-2"},
                  .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(fx.peer, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    assert_int_equal(aw_state_lease_release(fx.peer, &c.key, c.token, &err), AW_OK);
    aw_claim_clear(&c);

    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, ends - 1), 0);
    if (aw_time_now_ms() < ends) { /* the counter's window has not turned */
        assert_int_equal(aw_scheduler_round(s, ends), 1);
        assert_int_equal(fx.n_outcomes, 2); /* no second reply */
        assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].delayed), 2);
        assert_int_equal(atomic_load(&fx.ctx.metrics.due_released), 1);
    }
    while (aw_time_now_ms() < ends)
        aw_sleep_ms(5);
    assert_int_equal(aw_scheduler_round(s, aw_time_now_ms()), 1);
    assert_int_equal(fx.n_outcomes, 3);
    assert_string_equal(fx.outcomes[2].record_id, TOPIC ":3:2:run");
    assert_int_equal(fx.outcomes[2].outcome, AW_OUTCOME_EXECUTED);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_done), 1);
    assert_int_equal(peer_take(&fx, ends + 3600000, NULL), 0);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* aw_rules_check_backend on a configuration of state and kafka extras and
 * rules: its status, the message in err. */
static aw_status check_backend(const char *kafka_extra, const char *st, const char *rules,
                               bool best_effort, aw_error *err)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "kafka = { brokers = \"b:9092\"; group_id = \"g\"; topics = [ \"t\" ]; %s };\n"
             "state = { %s };\naudit = { enabled = false; };\n"
             "providers = ( { name = \"noop\"; type = \"noop\"; } );\n%s",
             kafka_extra, st, rules);
    aw_config *cfg;
    if (aw_config_load_string(text, &cfg, err) != AW_OK)
        fail_msg("config: %s", err->msg);
    aw_status rc = aw_rules_check_backend(cfg, best_effort, err);
    aw_config_destroy(cfg);
    return rc;
}

#define CLICKHOUSE                                                                         \
    "backend = \"clickhouse\"; url = \"http://127.0.0.1:1\"; allow_eventual_consistency = true;"

/* on_limit = "delay" needs scheduled actions: refused (naming the key)
 * where they are unavailable, accepted elsewhere. */
static void test_delay_needs_scheduling(void **state)
{
    (void)state;
    const struct {
        const char *state, *kafka_extra;
        bool ok;
    } cases[] = {
        {"backend = \"memory\";", "", true},
        {CLICKHOUSE, "", false},
        {"backend = \"memory\";", "transactional_replies = true;", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_error err = {0};
        aw_status rc = check_backend(cases[i].kafka_extra, cases[i].state,
                                     "rules = ( { name = \"lim\"; verdict = \"throttle\"; "
                                     "key = \"{tenant}\";\n  max_count = 1; window_s = 1; "
                                     "on_limit = \"delay\"; } );\n",
                                     !cases[i].ok && i == 1, &err);
        if (cases[i].ok)
            assert_int_equal(rc, AW_OK);
        else if (rc != AW_CONFIG || !strstr(err.msg, "rules[0].on_limit: \"delay\""))
            fail_msg("case %zu: got %d \"%s\"", i, rc, err.msg);
    }
}

/* A state_machine rule needs an atomic backend (refused on ClickHouse,
 * naming the rule), and its machine's timeouts need the scheduler
 * (refused with transactional replies; a machine without timeouts is
 * accepted there). */
static void test_state_machine_needs(void **state)
{
    (void)state;
    static const char rule[] =
        "rules = ( { name = \"sm\"; verdict = \"state_machine\"; machine = \"m\"; } );\n";
    char timed[1024], plain[1024];
    snprintf(timed, sizeof(timed),
             "%sstate_machines = ( { name = \"m\"; fingerprint = \"{id}\"; initial = \"a\";\n"
             "  states = [\"a\", \"b\"]; transitions = ( { from = [\"a\"]; to = \"b\"; on = \"x\"; } );\n"
             "  timeouts = ( { in = \"b\"; after_s = 5; to = \"a\"; } ); } );\n",
             rule);
    snprintf(plain, sizeof(plain),
             "%sstate_machines = ( { name = \"m\"; fingerprint = \"{id}\"; initial = \"a\";\n"
             "  states = [\"a\", \"b\"]; transitions = ( { from = [\"a\"]; to = \"b\"; on = \"x\"; } ); } );\n",
             rule);
    aw_error err = {0};
    assert_int_equal(check_backend("", "backend = \"memory\";", timed, false, &err), AW_OK);
    assert_int_equal(check_backend("", CLICKHOUSE, plain, true, &err), AW_CONFIG);
    assert_string_equal(err.msg, "rules[0] (\"sm\").verdict: \"state_machine\" needs an atomic "
                                 "state backend; clickhouse is eventually consistent (two "
                                 "replicas could both move one event from the same state)");
    assert_int_equal(check_backend("transactional_replies = true;", "backend = \"memory\";",
                                   timed, false, &err),
                     AW_CONFIG);
    assert_non_null(strstr(err.msg, "rules[0] (\"sm\").machine: state machine \"m\" has "
                                    "timeouts, which need the due index"));
    assert_int_equal(check_backend("transactional_replies = true;", "backend = \"memory\";",
                                   plain, false, &err),
                     AW_OK);
}

/* A state machine's timeout: the action's move into open arms it; the
 * scheduler's round at the due time moves the event to stale, records and
 * replies state_changed under "event:<machine>:<fingerprint>:<born_ms>:<seq>" (no
 * provider), and removes the item: a later round finds nothing. A timeout
 * whose event moved on (acked meanwhile) records nothing. */
static void test_event_timeout(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "rules = ( { name = \"sm\"; verdict = \"state_machine\"; machine = \"inc\"; } );\n"
                    "state_machines = ( { name = \"inc\"; fingerprint = \"{dedup_key}\";\n"
                    "  initial = \"new\"; states = [\"new\", \"open\", \"acked\", \"stale\"];\n"
                    "  transitions = ( { from = [\"new\"]; to = \"open\"; on = \"do\"; },\n"
                    "    { from = [\"open\"]; to = \"acked\"; on = \"ack\"; } );\n"
                    "  timeouts = ( { in = \"open\"; after_s = 60; to = \"stale\"; } ); } );\n");
    int64_t t0 = aw_time_now_ms();
    run(&fx, make_job(&fx, 1, "e1", 0)); /* e1: new -> open, seq 1 */
    run(&fx, make_job(&fx, 2, "e2", 0)); /* e2: new -> open, seq 1 */
    assert_int_equal(fx.outcomes[0].outcome, AW_OUTCOME_STATE_CHANGED);
    aw_event_ctx c = {.state = fx.peer, .machine = &fx.cfg->machines[0], .pool = "g",
                      .now_ms = t0};
    aw_event_result r;
    aw_error err;
    assert_int_equal(aw_event_apply(&c, "e2", "ack", "ns/t/x", 1, &r, &err), AW_OK);
    assert_int_equal(r.verdict, AW_EVENT_MOVED); /* e2 moved on: open -> acked */

    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, t0 + 1000), 0);
    assert_int_equal(aw_scheduler_round(s, aw_time_now_ms() + 60000), 2);
    assert_int_equal(fx.n_outcomes, 3);
    aw_event e;
    assert_int_equal(aw_event_get(fx.peer, &fx.cfg->machines[0], "e1", &e, &err), AW_OK);
    char want_id[128];
    snprintf(want_id, sizeof(want_id), "event:inc:e1:%lld:2", (long long)e.born_ms);
    assert_true(e.born_ms >= t0);
    assert_string_equal(fx.outcomes[2].record_id, want_id);
    assert_int_equal(fx.outcomes[2].outcome, AW_OUTCOME_STATE_CHANGED);
    assert_string_equal(fx.outcomes[2].details,
                        "{\"timeout\":true,\"after_s\":60,\"state\":{\"machine\":\"inc\","
                        "\"fingerprint\":\"e1\",\"from\":\"open\",\"to\":\"stale\",\"seq\":2}}");
    assert_int_equal(atomic_load(&fx.ctx.metrics.event_timeouts_fired), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.event_timeouts_moved_on), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.machines[0].moves[1 * 4 + 3]), 1); /* open->stale */
    assert_int_equal(atomic_load(&fx.ctx.metrics.machines[0].moves[0 * 4 + 1]), 2); /* new->open */
    assert_int_equal(aw_event_get(fx.peer, &fx.cfg->machines[0], "e1", &e, &err), AW_OK);
    assert_string_equal(e.state, "stale");
    assert_int_equal(e.seq, 2);
    assert_int_equal(aw_event_get(fx.peer, &fx.cfg->machines[0], "e2", &e, &err), AW_OK);
    assert_string_equal(e.state, "acked");
    /* both items removed: fired once */
    assert_int_equal(aw_scheduler_round(s, aw_time_now_ms() + 3600000), 0);
    assert_int_equal(fx.n_outcomes, 3);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* A group rule needs an atomic backend with the due index (refused on
 * ClickHouse, naming the rule) and the scheduler (refused with
 * transactional replies). */
static void test_group_needs(void **state)
{
    (void)state;
    static const char rule[] =
        "rules = ( { name = \"grp\"; verdict = \"group\"; group_by = \"{tenant}\"; } );\n";
    aw_error err = {0};
    assert_int_equal(check_backend("", "backend = \"memory\";", rule, false, &err), AW_OK);
    assert_int_equal(check_backend("", CLICKHOUSE, rule, true, &err), AW_CONFIG);
    assert_string_equal(err.msg, "rules[0] (\"grp\").verdict: \"group\" needs an atomic state "
                                 "backend with the due index and its scheduler: the state "
                                 "backend is eventually consistent");
    assert_int_equal(check_backend("transactional_replies = true;", "backend = \"memory\";",
                                   rule, false, &err),
                     AW_CONFIG);
    assert_non_null(strstr(err.msg, "rules[0] (\"grp\").verdict: \"group\" needs"));
    assert_non_null(strstr(err.msg, "transactional_replies"));
}

/* A group rule: each member answers grouped (two of one batch joined in
 * one call; a redelivery the same, from its done record); the scheduler's round at the window's end closes the
 * group and runs its one call (group_flushed, the member ids in the
 * details) and removes the item; the flush item put again (taken again
 * after a crash) makes the same call, answered from its done record
 * (redelivered), not executed twice. */
static void test_group_flush(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "rules = ( { name = \"grp\"; verdict = \"group\"; group_by = \"{payload.k}\";\n"
                    "  window_ms = 60000; max_size = 5; } );\n");
    int64_t t0 = aw_time_now_ms();
    /* m1 and m2 in one batch: one join for both */
    aw_job *two[2] = {make_job(&fx, 1, "m1", 0), make_job(&fx, 2, "m2", 0)}, *fin[2];
    assert_int_equal(aw_pipeline_run(&fx.p, two, 2, fin), 2);
    for (int64_t end = aw_mono_now_ms() + WAIT_MS; fx.n_back < 2 && aw_mono_now_ms() < end;) {
        aw_job *list = NULL;
        if (aw_job_queue_pop(&fx.ctx.done, 1, 20, &list) == 1)
            fx.back[fx.n_back++] = list;
    }
    assert_int_equal(fx.n_back, 2);
    assert_int_equal(atomic_load(&fx.ctx.metrics.group_join_ms.count), 1);
    run(&fx, make_job(&fx, 1, "m1", 0)); /* redelivered */
    assert_int_equal(fx.n_outcomes, 3);
    assert_int_equal(fx.outcomes[0].outcome, AW_OUTCOME_GROUPED);
    assert_int_equal(fx.outcomes[1].outcome, AW_OUTCOME_GROUPED);
    assert_int_equal(fx.outcomes[2].outcome, AW_OUTCOME_GROUPED);
    char gid[128], want[512];
    long long born, flush_at;
    assert_int_equal(sscanf(fx.outcomes[0].details,
                            "{\"rule\":\"grp\",\"group\":{\"id\":\"grp:%lld:1:v\",\"size\":1,"
                            "\"flush_at_ms\":%lld}}",
                            &born, &flush_at),
                     2);
    assert_true(born >= t0 && flush_at == born + 60000);
    snprintf(gid, sizeof(gid), "grp:%lld:1:v", born);
    for (size_t i = 0; i < 3; i++) /* the redelivered one's from its done record */
        assert_string_equal(fx.outcomes[i].group_id, gid);
    assert_non_null(strstr(fx.outcomes[1].details, "\"size\":2"));
    assert_non_null(strstr(fx.outcomes[2].details, "\"redelivered\":true"));
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].grouped), 2);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].groups_opened), 1);

    aw_scheduler *s;
    aw_error err;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, flush_at - 1), 0);
    /* Made due early (a member about to fill it put it, its write not
     * landed yet): the open group is left open and looked at again a poll
     * later, not only at the window's end. */
    aw_state_key k = {.ns = "g", .tenant = "grp", .kind = AW_GROUP_FLUSH_KIND,
                      .id = gid + strlen("grp:")};
    int64_t early = born + 10, poll = fx.cfg->schedule.poll_ms;
    assert_int_equal(aw_state_due_put(fx.peer, &k, early, "1", 1, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, early), 1);
    assert_int_equal(fx.n_outcomes, 3);
    aw_due_item again[1];
    size_t n = 0;
    assert_int_equal(aw_state_due_take(fx.peer, "g", AW_GROUP_FLUSH_KIND, early + poll, 1, 60000,
                                       again, &n, &err),
                     AW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(aw_state_due_release(fx.peer, &k, again[0].token, flush_at, &err), AW_OK);
    aw_due_item_clear(&again[0]);
    assert_int_equal(aw_scheduler_round(s, flush_at), 1);
    assert_int_equal(fx.n_outcomes, 4);
    assert_int_equal(fx.outcomes[3].outcome, AW_OUTCOME_GROUP_FLUSHED);
    snprintf(want, sizeof(want), "group:%s", gid);
    assert_string_equal(fx.outcomes[3].record_id, want);
    assert_string_equal(fx.outcomes[3].group_id, gid);
    snprintf(want, sizeof(want), "\"group\":{\"id\":\"%s\",\"size\":2,\"members\":[\"a-1\","
             "\"a-2\"]}}", gid);
    if (!strstr(fx.outcomes[3].details, want))
        fail_msg("details %s", fx.outcomes[3].details);
    assert_int_equal(atomic_load(&fx.ctx.metrics.groups_closed), 1);
    assert_int_equal(aw_scheduler_round(s, flush_at + 3600000), 0); /* removed */
    /* taken again (as after a crash before due_done): the same call,
     * answered from its done record */
    assert_int_equal(aw_state_due_put(fx.peer, &k, flush_at, "1", 1, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, flush_at + 1), 1);
    assert_int_equal(fx.n_outcomes, 5);
    assert_int_equal(fx.outcomes[4].outcome, AW_OUTCOME_GROUP_FLUSHED);
    assert_non_null(strstr(fx.outcomes[4].details, "\"redelivered\":true"));
    assert_int_equal(atomic_load(&fx.ctx.metrics.groups_closed), 1);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* A flush item whose group has no record yet (the item is put before the
 * group's first write): looked at again, not removed, until the window
 * and AW_GROUP_CREATE_GRACE_MS have passed since the group opened; then
 * removed. */
static void test_group_flush_before_create(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "rules = ( { name = \"grp\"; verdict = \"group\"; group_by = \"{payload.k}\";\n"
                    "  window_ms = 1000; } );\n");
    int64_t t0 = aw_time_now_ms();
    aw_state_key k = {.ns = "g", .tenant = "grp", .kind = AW_GROUP_FLUSH_KIND,
                      .id = "1:1:nothing-yet"};
    char opened[24];
    snprintf(opened, sizeof(opened), "%lld", (long long)t0);
    aw_error err;
    assert_int_equal(aw_state_due_put(fx.peer, &k, t0, opened, strlen(opened), &err), AW_OK);
    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, t0), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_released), 1); /* kept */
    int64_t late = t0 + 1000 + AW_GROUP_CREATE_GRACE_MS;
    assert_int_equal(aw_scheduler_round(s, late), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.due_done), 1); /* removed */
    assert_int_equal(aw_scheduler_round(s, late + 3600000), 0);
    assert_int_equal(fx.n_outcomes, 0);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* The value's header: written and read back; anything else refused. */
static void test_value_format(void **state)
{
    (void)state;
    aw_buf v = {0};
    assert_int_equal(aw_schedule_value_write(&v, "t.x-1", 12, 345, "{\"a\":1}\n", 8), 0);
    assert_string_equal(v.data, "aw1 12 345 t.x-1\n{\"a\":1}\n");
    char topic[16];
    int32_t p;
    int64_t o;
    const void *msg;
    size_t len;
    assert_int_equal(aw_schedule_value_read(v.data, v.len, topic, sizeof(topic), &p, &o, &msg,
                                            &len),
                     0);
    assert_string_equal(topic, "t.x-1");
    assert_int_equal(p, 12);
    assert_int_equal(o, 345);
    assert_int_equal(len, 8);
    assert_memory_equal(msg, "{\"a\":1}\n", 8);
    /* a topic longer than the caller's room */
    assert_int_equal(aw_schedule_value_read(v.data, v.len, topic, 5, &p, &o, &msg, &len), -1);
    const char *bad[] = {"", "aw1", "aw1 1 2 t", "aw2 1 2 t\n{}", "aw1 -1 2 t\n{}",
                         "aw1 1 x t\n{}", "aw1 1 2 \n{}", "aw1 1 2 t u\n{}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (aw_schedule_value_read(bad[i], strlen(bad[i]), topic, sizeof(topic), &p, &o, &msg,
                                   &len) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    aw_buf_free(&v);
}

/* ---- chains (docs/rules.md, "chain") -------------------------------------- */

/* A chain of three steps: a (noop; on_success a_on_success), b (a webhook
 * nobody answers: failed, run twice, then on_failure) and c (reads b's
 * outcome and the trigger's payload). on_failure of b is "c" or "abort". */
static void setup_chain_with(fixture *fx, const char *b_on_failure, const char *a_on_success)
{
    char extra[1200];
    snprintf(extra, sizeof(extra),
             "providers = ( { name = \"noop\"; type = \"noop\"; },\n"
             "  { name = \"dead\"; type = \"webhook\"; url = \"http://127.0.0.1:9/\";\n"
             "    max_attempts = 1; timeout_ms = 2000; } );\n"
             "rules = ( { name = \"orders\"; verdict = \"chain\"; chain = \"order\"; } );\n"
             "chains = ( { name = \"order\"; steps = (\n"
             "  { name = \"a\"; provider = \"noop\"; action_type = \"reserve\";\n"
             "    on_success = \"%s\"; payload = \"{\\\"k\\\": {{action.payload.k}}}\"; },\n"
             "  { name = \"b\"; provider = \"dead\"; action_type = \"charge\"; max_attempts = 2;\n"
             "    on_failure = \"%s\"; },\n"
             "  { name = \"c\"; provider = \"noop\"; action_type = \"notify\";\n"
             "    payload = \"{\\\"b\\\": {{steps.b.outcome}}, \\\"a\\\": {{steps.a.result}}}\"; } ); } );\n",
             a_on_success, b_on_failure);
    setup_from(fx, CONFIG_BASE, extra);
}

static void setup_chain(fixture *fx, const char *b_on_failure)
{
    setup_chain_with(fx, b_on_failure, "");
}

/* Run rounds until one takes nothing (at most 10). */
static int rounds_until_idle(aw_scheduler *s)
{
    int n = 0;
    while (n < 10 && aw_scheduler_round(s, aw_time_now_ms() + 1000) > 0)
        n++;
    return n;
}

static json_t *chain_doc(fixture *fx, const char *id)
{
    json_t *doc = NULL;
    uint64_t version;
    aw_error err;
    assert_int_equal(aw_chain_read(fx->peer, "order", id, &doc, &version, &err), AW_OK);
    return doc;
}

static void test_chain_runs_steps(void **state)
{
    (void)state;
    fixture fx;
    setup_chain(&fx, "c");
    run(&fx, make_job(&fx, 1, "o1", 0));
    assert_int_equal(fx.outcomes[0].outcome, AW_OUTCOME_CHAIN_STARTED);
    json_t *d = json_loads(fx.outcomes[0].details, 0, NULL);
    char id[AW_CHAIN_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(json_object_get(d, "chain"), "id")));
    json_decref(d);
    assert_int_equal(strlen(id), AW_CHAIN_ID_LEN);
    assert_int_equal(atomic_load(&fx.ctx.metrics.chains_started), 1);

    aw_error err;
    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    /* a, b, b again, c, the end: one round each, then nothing */
    assert_int_equal(rounds_until_idle(s), 5);
    assert_int_equal(fx.n_outcomes, 6);
    char want[128];
    const char *runs[] = {"a", "b", "b#2", "c", "end"};
    aw_outcome outs[] = {AW_OUTCOME_EXECUTED, AW_OUTCOME_FAILED, AW_OUTCOME_FAILED,
                         AW_OUTCOME_EXECUTED, AW_OUTCOME_CHAIN_COMPLETED};
    assert_string_equal(fx.outcomes[0].chain_id, id); /* the trigger's record too */
    for (int k = 0; k < 5; k++) {
        snprintf(want, sizeof(want), "chain:%s:%s", id, runs[k]);
        assert_string_equal(fx.outcomes[k + 1].record_id, want);
        assert_int_equal(fx.outcomes[k + 1].outcome, outs[k]);
        assert_string_equal(fx.outcomes[k + 1].chain_id, id);
    }
    /* the step result is in the step's details (noop: no body, null) */
    assert_non_null(strstr(fx.outcomes[1].details, "\"result\":null"));
    snprintf(want, sizeof(want),
             "{\"chain\":{\"id\":\"%s\",\"name\":\"order\",\"status\":\"completed\"},\"steps\":"
             "[{\"step\":\"a\",\"attempt\":1,\"outcome\":\"executed\"},",
             id);
    assert_memory_equal(fx.outcomes[5].details, want, strlen(want));
    json_t *doc = chain_doc(&fx, id);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "completed");
    assert_int_equal(json_array_size(json_object_get(doc, "steps")), 4);
    json_decref(doc);
    assert_int_equal(atomic_load(&fx.ctx.metrics.chain_steps), 4);
    assert_int_equal(atomic_load(&fx.ctx.metrics.chains_completed), 1);

    /* the trigger again: answered from its done record, no second chain */
    run(&fx, make_job(&fx, 1, "o1", 0));
    assert_int_equal(fx.outcomes[6].outcome, AW_OUTCOME_CHAIN_STARTED);
    assert_int_equal(rounds_until_idle(s), 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.chains_started), 1);
    aw_scheduler_stop(s);
    teardown(&fx);
}

static void test_chain_aborts(void **state)
{
    (void)state;
    fixture fx;
    setup_chain(&fx, "abort");
    run(&fx, make_job(&fx, 1, "o1", 0));
    aw_error err;
    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    /* a, b, b again, the end: c never runs */
    assert_int_equal(rounds_until_idle(s), 4);
    assert_int_equal(fx.n_outcomes, 5);
    assert_int_equal(fx.outcomes[4].outcome, AW_OUTCOME_CHAIN_FAILED);
    assert_non_null(strstr(fx.outcomes[4].details, "\"status\":\"failed\""));
    assert_null(strstr(fx.outcomes[4].details, "\"step\":\"c\""));
    assert_int_equal(atomic_load(&fx.ctx.metrics.chains_failed), 1);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* A step found done by its claim (an earlier holder crashed after the call)
 * is not called again: its outcome and result come from the done record. */
static void test_chain_step_done_elsewhere(void **state)
{
    (void)state;
    fixture fx;
    setup_chain(&fx, "c");
    run(&fx, make_job(&fx, 1, "o1", 0));
    aw_error err;
    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(aw_scheduler_round(s, aw_time_now_ms() + 1000), 1); /* a */
    /* Forget that a was booked: the record back to "a, run 1" as a crash
     * between a's done record and its booking would leave it. */
    json_t *d = json_loads(fx.outcomes[0].details, 0, NULL);
    const char *id = json_string_value(json_object_get(json_object_get(d, "chain"), "id"));
    json_t *doc = NULL;
    uint64_t version;
    assert_int_equal(aw_chain_read(fx.peer, "order", id, &doc, &version, &err), AW_OK);
    json_array_clear(json_object_get(doc, "steps"));
    json_object_set_new(doc, "next", json_integer(0));
    assert_int_equal(aw_chain_write(fx.peer, &fx.cfg->chains[0], id, doc, version, &err), AW_OK);
    json_decref(doc);
    assert_int_equal(aw_scheduler_round(s, aw_time_now_ms() + 1000), 1); /* a again */
    assert_int_equal(fx.outcomes[2].outcome, AW_OUTCOME_EXECUTED);
    assert_non_null(strstr(fx.outcomes[2].details, "\"redelivered\":true"));
    assert_non_null(strstr(fx.outcomes[2].details, "\"result\":null"));
    assert_int_equal(rounds_until_idle(s), 4); /* b, b, c, end */
    assert_int_equal(fx.outcomes[fx.n_outcomes - 1].outcome, AW_OUTCOME_CHAIN_COMPLETED);
    json_decref(d);
    aw_scheduler_stop(s);
    teardown(&fx);
}

/* on_success names a later step: b is skipped; c then reads b's outcome,
 * which is missing: c fails without a call and, its on_failure abort, the
 * chain fails. "end" ends the chain after a. */
static void test_chain_on_success(void **state)
{
    (void)state;
    fixture fx;
    setup_chain_with(&fx, "abort", "c");
    run(&fx, make_job(&fx, 1, "o1", 0));
    aw_error err;
    aw_scheduler *s;
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    /* a; c not run (template): booked without a job; the end */
    assert_int_equal(rounds_until_idle(s), 3);
    assert_int_equal(fx.n_outcomes, 3);
    assert_int_equal(fx.outcomes[2].outcome, AW_OUTCOME_CHAIN_FAILED);
    assert_non_null(strstr(fx.outcomes[2].details,
                           "\"steps\":[{\"step\":\"a\",\"attempt\":1,\"outcome\":\"executed\"},"
                           "{\"step\":\"c\",\"attempt\":1,\"outcome\":\"failed\"}]"));
    aw_scheduler_stop(s);
    teardown(&fx);

    setup_chain_with(&fx, "abort", "end");
    run(&fx, make_job(&fx, 1, "o1", 0));
    assert_int_equal(aw_scheduler_new(&fx.ctx, &s, &err), AW_OK);
    assert_int_equal(rounds_until_idle(s), 2); /* a, the end */
    assert_int_equal(fx.outcomes[2].outcome, AW_OUTCOME_CHAIN_COMPLETED);
    aw_scheduler_stop(s);
    teardown(&fx);
}

static void test_chain_template(void **state)
{
    (void)state;
    aw_chain_template *t = NULL;
    aw_error err;
    const char *bad[] = {"", "{\"a\": {{action.id}", "{{ nope.x }}", "{{action}}",
                         "{{steps.a}}", "{{steps.a.other}}", "{{action..id}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (aw_chain_template_parse(bad[i], &t, &err) == AW_OK)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_null(t);
    }
    json_t *scope = json_pack("{s:{s:s, s:{s:i, s:[s]}}, s:{s:{s:s, s:{s:s}}}}", "action", "id",
                              "x1", "payload", "n", 7, "list", "l0", "steps", "a", "outcome",
                              "executed", "result", "ref", "r-1");
    assert_int_equal(aw_chain_template_parse("{\"id\": {{ action.id }}, \"n\": {{action.payload.n}}, "
                                             "\"l\": {{action.payload.list.0}}, \"ref\": "
                                             "{{steps.a.result.ref}}, \"a\": {{steps.a.result}}}",
                                             &t, &err),
                     AW_OK);
    aw_buf out = {0};
    char why[256];
    assert_int_equal(aw_chain_template_render(t, scope, &out, why, sizeof(why)), 0);
    assert_string_equal(out.data, "{\"id\": \"x1\", \"n\": 7, \"l\": \"l0\", \"ref\": \"r-1\", "
                                  "\"a\": {\"ref\":\"r-1\"}}");
    aw_chain_template_free(t);
    /* a value missing, and a text that is not an object */
    assert_int_equal(aw_chain_template_parse("{\"x\": {{steps.b.result.ref}}}", &t, &err), AW_OK);
    aw_buf_reset(&out);
    assert_int_equal(aw_chain_template_render(t, scope, &out, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "steps.b.result.ref"));
    aw_chain_template_free(t);
    assert_int_equal(aw_chain_template_parse("[{{action.id}}]", &t, &err), AW_OK);
    aw_buf_reset(&out);
    assert_int_equal(aw_chain_template_render(t, scope, &out, why, sizeof(why)), -1);
    aw_chain_template_free(t);
    aw_buf_free(&out);
    json_decref(scope);
}

/* Config errors name the key; ClickHouse state is refused naming the rule. */
static void test_chain_config(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"chains = ( { name = \"c\"; steps = ( { name = \"a\"; provider = \"noop\"; "
         "action_type = \"x\"; payload = \"{{steps.b.result}}\"; }, { name = \"b\"; "
         "provider = \"noop\"; action_type = \"x\"; } ); } );",
         "chains[0].steps[0].payload"},
        {"chains = ( { name = \"c\"; steps = ( { name = \"a\"; provider = \"noop\"; "
         "action_type = \"x\"; on_failure = \"a\"; } ); } );",
         "chains[0].steps[0].on_failure"},
        {"chains = ( { name = \"c\"; steps = ( { name = \"a\"; provider = \"nope\"; "
         "action_type = \"x\"; } ); } );",
         "chains[0].steps[0].provider"},
        {"rules = ( { name = \"r\"; verdict = \"chain\"; chain = \"zz\"; } );", "rules[0].chain"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[2048];
        snprintf(text, sizeof(text), "%s%s\n", CONFIG, bad[i][0]);
        aw_config *cfg = NULL;
        aw_error err;
        if (aw_config_load_string(text, &cfg, &err) == AW_OK)
            fail_msg("accepted %s", bad[i][0]);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("\"%s\" does not name %s", err.msg, bad[i][1]);
    }
    /* No atomic state (ClickHouse's best effort) or no scheduler
     * (transactional replies): refused naming the rule. */
    fixture fx;
    setup_chain(&fx, "abort");
    aw_error err;
    assert_int_equal(aw_rules_check_backend(fx.cfg, true, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "rules[0] (\"orders\").verdict: \"chain\""));
    assert_int_equal(aw_rules_check_backend(fx.cfg, false, &err), AW_OK);
    fx.cfg->kafka.transactional_replies = true;
    assert_int_equal(aw_rules_check_backend(fx.cfg, false, &err), AW_CONFIG);
    assert_non_null(strstr(err.msg, "transactional_replies"));
    fx.cfg->kafka.transactional_replies = false;
    teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_future_is_scheduled),
        cmocka_unit_test(test_redelivery_puts_one_item),
        cmocka_unit_test(test_past_runs_now),
        cmocka_unit_test(test_unavailable_rejects),
        cmocka_unit_test(test_round_executes_and_removes),
        cmocka_unit_test(test_round_busy_releases),
        cmocka_unit_test(test_round_drops_unreadable),
        cmocka_unit_test(test_due_gauges),
        cmocka_unit_test(test_due_gauges_absent),
        cmocka_unit_test(test_thread_runs_due),
        cmocka_unit_test(test_long_round_keeps_lease),
        cmocka_unit_test(test_lost_lease_not_done),
        cmocka_unit_test(test_value_format),
        cmocka_unit_test(test_unavailable_rule),
        cmocka_unit_test(test_throttle_delay),
        cmocka_unit_test(test_delay_needs_scheduling),
        cmocka_unit_test(test_state_machine_needs),
        cmocka_unit_test(test_event_timeout),
        cmocka_unit_test(test_chain_runs_steps),
        cmocka_unit_test(test_chain_aborts),
        cmocka_unit_test(test_chain_step_done_elsewhere),
        cmocka_unit_test(test_chain_on_success),
        cmocka_unit_test(test_chain_template),
        cmocka_unit_test(test_chain_config),
        cmocka_unit_test(test_group_needs),
        cmocka_unit_test(test_group_flush),
        cmocka_unit_test(test_group_flush_before_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
