/* The worker pipeline (worker/pipeline.h) over the memory and faulty state
 * backends, the noop provider and a webhook nobody answers: every outcome a
 * batch can reach, the exact details text each one carries, the lease lost
 * while the provider ran, a backend outage in the middle of a batch and a
 * hard stop in the middle of one. No Kafka: the messages are made here, in
 * transactional mode (the polling thread would produce the replies), with
 * audit off, so a finished job comes straight back on the completion queue.
 * Every wait is for a condition, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backends/audit/audit_record.h"
#include "common/aw_clock.h"
#include "worker/outcome_delivery.h"
#include "worker/pipeline.h"
#include "worker/event_state.h"
#include "worker/rules.h"
#include "worker/worker.h"

#include "worker_fixture.inc"

#define WAIT_MS 10000
#define TOPIC "actions"

typedef struct fixture {
    aw_config *cfg;
    rd_kafka_t *rk;            /* only to name the messages' topic */
    rd_kafka_topic_t *rkt;
    aw_worker_ctx ctx;
    aw_pipeline p;
    aw_state_session *peer;    /* another replica's session */
    uint64_t peer_token;       /* the lease the peer took */
    aw_job *back[64];          /* jobs handed back, in order */
    size_t n_back;
} fixture;

static const char *CONFIG =
    "kafka = { brokers = \"b:9092\"; group_id = \"g\"; topics = [ \"" TOPIC "\" ];\n"
    "          transactional_replies = true; };\n"
    "state = { backend = \"%s\"; url = \"%s\"; };\n"
    "audit = { enabled = false; };\n"
    "dedup = { lease_ms = %d; busy_retry_ms = 5; };\n"
    "providers = (\n"
    "  { name = \"noop\"; type = \"noop\"; },\n"
    "  { name = \"down\"; type = \"webhook\"; url = \"http://127.0.0.1:1/\"; timeout_ms = 2000;\n"
    "    max_attempts = 3; backoff_base_ms = %d; backoff_max_ms = %d; },\n"
    "  { name = \"one\"; type = \"webhook\"; url = \"http://127.0.0.1:1/\"; timeout_ms = 2000;\n"
    "    max_attempts = 1; max_concurrency = 1; }\n"
    ");\n";

/* rules: the text of a `rules = ( ... );` setting, or "". */
static void setup_rules(fixture *fx, const char *backend, const char *url, int backoff_ms,
                        int lease_ms, const char *rules)
{
    memset(fx, 0, sizeof(*fx));
    char text[4096];
    int n = snprintf(text, sizeof(text), CONFIG, backend, url, lease_ms, backoff_ms,
                     backoff_ms);
    snprintf(text + n, sizeof(text) - (size_t)n, "%s", rules);
    aw_error err = {0};
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
    worker_ctx_open(&fx->ctx, backend, 2, &fx->p, &fx->peer);
}

static void setup_lease(fixture *fx, const char *backend, const char *url, int backoff_ms,
                        int lease_ms)
{
    setup_rules(fx, backend, url, backoff_ms, lease_ms, "");
}

static void setup_with(fixture *fx, const char *backend, const char *url, int backoff_ms)
{
    setup_lease(fx, backend, url, backoff_ms, 30000);
}

static void setup(fixture *fx) { setup_with(fx, "memory", "", 1); }

static void teardown(fixture *fx)
{
    for (size_t i = 0; i < fx->n_back; i++)
        free_test_job(fx->back[i]);
    worker_ctx_close(&fx->ctx, &fx->p, fx->peer);
    rd_kafka_topic_destroy(fx->rkt);
    rd_kafka_destroy(fx->rk);
    aw_config_destroy(fx->cfg);
}

/* A message at `offset` of partition 0 holding text, decoded as a worker
 * decodes it. */
static aw_job *make_raw_job(fixture *fx, int64_t offset, const char *text)
{
    rd_kafka_message_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->rkt = fx->rkt;
    m->partition = 0;
    m->offset = offset;
    m->payload = strdup(text);
    m->len = strlen(text);
    size_t max = (size_t)fx->cfg->ingest.max_message_bytes;
    aw_job *j = aw_job_new(m, 1, max);
    assert_non_null(j);
    aw_job_decode(j, max);
    return j;
}

/* An action with identity ns:t:key for provider. */
static aw_job *make_job(fixture *fx, int64_t offset, const char *id, const char *key,
                        const char *provider)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"id\":\"%s\",\"namespace\":\"ns\",\"tenant\":\"t\",\"provider\":\"%s\","
             "\"action_type\":\"do\",\"dedup_key\":\"%s\",\"payload\":{\"k\":\"v\"}}",
             id, provider, key);
    return make_raw_job(fx, offset, text);
}

/* Collect jobs from the completion queue until `want` more came back or
 * WAIT_MS passed; returns how many came. */
static size_t collect_back(fixture *fx, size_t want)
{
    size_t got = 0;
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (got < want && aw_mono_now_ms() < end) {
        aw_job *list = NULL;
        aw_job_queue_pop(&fx->ctx.done, 64, 20, &list);
        for (; list; list = list->next, got++)
            fx->back[fx->n_back++] = list;
    }
    return got;
}

/* Run one batch; every finished job must come back on the completion
 * queue. Returns how many finished. */
static size_t run(fixture *fx, aw_job **jobs, size_t n)
{
    aw_job *finished[64];
    size_t nf = aw_pipeline_run(&fx->p, jobs, n, finished);
    assert_int_equal(collect_back(fx, nf), nf);
    return nf;
}

static void assert_outcome(const aw_job *j, aw_outcome o, const char *details)
{
    assert_false(j->abandoned);
    assert_int_equal(j->record.outcome, o);
    assert_non_null(j->record.details);
    assert_string_equal(j->record.details, details);
}

/* The audit record's rule: the rule whose verdict applied, or none. */
static void assert_rule(const aw_job *j, const char *rule)
{
    if (!rule)
        assert_null(j->record.rule);
    else
        assert_string_equal(j->record.rule ? j->record.rule : "(none)", rule);
}

/* ---- tests ---------------------------------------------------------------- */

/* A fresh action runs once: executed, its done record written. */
static void test_executed(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_job *j = make_job(&fx, 1, "a-1", "k-1", "noop");
    assert_int_equal(run(&fx, &j, 1), 1);
    assert_outcome(j, AW_OUTCOME_EXECUTED, "{\"attempts\":1}");
    assert_int_equal(j->record.attempts, 1);
    assert_true(j->record.fencing_token > 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_EXECUTED]), 1);
    assert_true(aw_backend_health_ok(&fx.ctx.state_health));
    /* the reply carries the same details, byte for byte */
    aw_buf reply = {0};
    assert_int_equal(aw_reply_write(&j->record, &reply), 0);
    assert_non_null(strstr(reply.data, "\"details\":{\"attempts\":1}"));
    assert_null(strstr(reply.data, "\"rule\"")); /* no rule applied: no member */
    aw_buf_free(&reply);
    teardown(&fx);
}

/* The same message again answers with its original outcome (redelivered);
 * another message with the same identity is a duplicate naming the first. */
static void test_deduplicated(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_job *first = make_job(&fx, 1, "a-1", "k-1", "noop");
    assert_int_equal(run(&fx, &first, 1), 1);
    uint64_t token = first->record.fencing_token;

    aw_job *again = make_job(&fx, 1, "a-1", "k-1", "noop");
    assert_int_equal(run(&fx, &again, 1), 1);
    assert_outcome(again, AW_OUTCOME_EXECUTED, "{\"attempts\":1,\"redelivered\":true}");
    assert_int_equal(again->record.attempts, 1);

    aw_job *dup = make_job(&fx, 2, "a-2", "k-1", "noop");
    assert_int_equal(run(&fx, &dup, 1), 1);
    char want[256];
    snprintf(want, sizeof(want),
             "{\"original_outcome\":\"executed\",\"original_source\":{\"topic\":\"" TOPIC
             "\",\"partition\":0,\"offset\":1},\"original_action_id\":\"a-1\","
             "\"original_fencing_token\":%llu}",
             (unsigned long long)token);
    assert_outcome(dup, AW_OUTCOME_DEDUPLICATED, want);
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_DEDUPLICATED]), 1);
    teardown(&fx);
}

/* A provider that never answers fails after max_attempts, each retry
 * counted; the failure is recorded (and deduplicates later copies). */
static void test_failed_after_retries(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_job *j = make_job(&fx, 1, "a-1", "k-1", "down");
    assert_int_equal(run(&fx, &j, 1), 1);
    assert_false(j->abandoned);
    assert_int_equal(j->record.outcome, AW_OUTCOME_FAILED);
    assert_int_equal(j->record.attempts, 3);
    assert_non_null(strstr(j->record.details, "\"error_code\":\"connect\""));
    assert_non_null(strstr(j->record.details, ",\"attempts\":3}"));
    assert_int_equal(atomic_load(&fx.ctx.metrics.provider_retries), 2);
    aw_job *dup = make_job(&fx, 2, "a-2", "k-1", "noop");
    assert_int_equal(run(&fx, &dup, 1), 1);
    assert_int_equal(dup->record.outcome, AW_OUTCOME_DEDUPLICATED);
    assert_non_null(strstr(dup->record.details, "\"original_outcome\":\"failed\""));
    teardown(&fx);
}

/* Unreadable messages and unknown providers are rejected without a claim;
 * the rest of the batch runs. */
static void test_rejected(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_job *jobs[3] = {make_raw_job(&fx, 1, "not json"),
                       make_job(&fx, 2, "a-2", "k-2", "nowhere"),
                       make_job(&fx, 3, "a-3", "k-3", "noop")};
    assert_int_equal(run(&fx, jobs, 3), 3);
    assert_int_equal(jobs[0]->record.outcome, AW_OUTCOME_REJECTED);
    assert_non_null(strstr(jobs[0]->record.details, "{\"reason\":\""));
    assert_outcome(jobs[1], AW_OUTCOME_REJECTED,
                   "{\"reason\":\"unknown_provider\",\"field\":\"provider\",\"error\":"
                   "\"provider: no provider named \\\"nowhere\\\" is configured\"}");
    assert_outcome(jobs[2], AW_OUTCOME_EXECUTED, "{\"attempts\":1}");
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_REJECTED]), 2);
    teardown(&fx);
}

/* ---- rules ----------------------------------------------------------------- */

/* An action of tenant `tenant` whose payload is `payload` (JSON). */
static aw_job *make_tenant_job(fixture *fx, int64_t offset, const char *id,
                               const char *tenant, const char *payload)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"id\":\"%s\",\"namespace\":\"ns\",\"tenant\":\"%s\",\"provider\":\"noop\","
             "\"action_type\":\"do\",\"payload\":%s}",
             id, tenant, payload);
    return make_raw_job(fx, offset, text);
}

/* The identity's claim as another replica sees it now. */
static aw_claim_result peer_claim(fixture *fx, const char *tenant, const char *key)
{
    aw_claim c = {.key = {.ns = "ns", .tenant = tenant, .kind = "dedup", .id = key},
                  .lease_ms = 30000};
    aw_error err = {0};
    assert_int_equal(aw_state_claim_batch(fx->peer, &c, 1, &err), AW_OK);
    aw_claim_result r = c.result;
    aw_claim_clear(&c);
    return r;
}

/* suppress: not executed, no state touched (the identity stays free),
 * outcome suppressed naming the rule; other actions run as without rules. */
static void test_rule_suppress(void **state)
{
    (void)state;
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000,
                "rules = ( { name = \"quiet\"; match = { tenant = \"test-*\"; };"
                " verdict = \"suppress\"; } );\n");
    aw_job *jobs[] = {make_tenant_job(&fx, 1, "a-1", "test-1", "{}"),
                      make_tenant_job(&fx, 2, "a-2", "prod", "{}")};
    assert_int_equal(run(&fx, jobs, 2), 2);
    assert_outcome(jobs[0], AW_OUTCOME_SUPPRESSED, "{\"rule\":\"quiet\"}");
    assert_rule(jobs[0], "quiet");
    assert_rule(jobs[1], NULL); /* no rule matched */
    assert_int_equal(jobs[0]->record.fencing_token, 0);
    assert_outcome(jobs[1], AW_OUTCOME_EXECUTED, "{\"attempts\":1}");
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_SUPPRESSED]), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_EXECUTED]), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].suppressed), 1);
    assert_int_equal(peer_claim(&fx, "test-1", "a-1"), AW_CLAIM_ACQUIRED);
    assert_int_equal(peer_claim(&fx, "prod", "a-2"), AW_CLAIM_DONE);
    aw_buf reply = {0};
    assert_int_equal(aw_reply_write(&jobs[0]->record, &reply), 0);
    assert_non_null(strstr(reply.data, "\"outcome\":\"suppressed\""));
    aw_buf_free(&reply);
    teardown(&fx);
}

/* The counter in the state backend: (rule, window, key), its value the
 * executions counted. The window is the current one, or the one before if
 * the test just crossed a boundary. */
static int64_t counter_value(fixture *fx, const char *rule, int64_t window_s, const char *key)
{
    int64_t ends;
    int64_t w = aw_rules_window(aw_time_now_ms(), window_s, &ends);
    for (int64_t k = w; k >= w - 1; k--) {
        aw_buf id = {0};
        assert_int_equal(aw_rules_counter_id(&id, k, key), 0);
        aw_state_key sk = {.ns = "acteon.rules", .tenant = rule, .kind = "throttle",
                           .id = id.data};
        aw_state_value v = {0};
        aw_error err = {0};
        aw_status rc = aw_state_get(fx->peer, &sk, &v, &err);
        aw_buf_free(&id);
        if (rc == AW_OK) {
            int64_t n = atoll(v.data);
            aw_state_value_clear(&v);
            return n;
        }
    }
    return -1;
}

#define THROTTLE_RULE                                                                       \
    "rules = ( { name = \"lim\"; verdict = \"throttle\"; key = \"{tenant}:{payload.u}\";"   \
    " max_count = 2; window_s = 3600; } );\n"

/* The counter of (rule, key, window): at most max_count executions, the
 * rest throttled with their lease released and no done record; counted
 * per rendered key, one increment per key and batch, the values drawn in
 * batch order; a redelivered message answers from its done record
 * without counting again. */
static void test_rule_throttle(void **state)
{
    (void)state;
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000, THROTTLE_RULE);
    aw_job *jobs[] = {make_tenant_job(&fx, 1, "a-1", "t", "{\"u\":\"x\"}"),
                      make_tenant_job(&fx, 2, "a-2", "t", "{\"u\":\"x\"}"),
                      make_tenant_job(&fx, 3, "a-3", "t", "{\"u\":\"x\"}"),
                      make_tenant_job(&fx, 4, "a-4", "t", "{\"u\":7}")};
    assert_int_equal(run(&fx, jobs, 4), 4);
    assert_outcome(jobs[0], AW_OUTCOME_EXECUTED, "{\"attempts\":1}");
    assert_outcome(jobs[1], AW_OUTCOME_EXECUTED, "{\"attempts\":1}");
    assert_int_equal(jobs[2]->record.outcome, AW_OUTCOME_THROTTLED);
    const char *want = "{\"rule\":\"lim\",\"key\":\"t:x\",\"max_count\":2,\"window_s\":3600,"
                       "\"retry_after_ms\":";
    assert_memory_equal(jobs[2]->record.details, want, strlen(want));
    long long retry = atoll(jobs[2]->record.details + strlen(want));
    assert_true(retry > 0 && retry <= 3600000);
    assert_int_equal(jobs[2]->record.fencing_token, 0);
    assert_outcome(jobs[3], AW_OUTCOME_EXECUTED, "{\"attempts\":1}"); /* key t:7 */
    /* counted, whether let through or throttled: the rule's verdict applied */
    for (int i = 0; i < 4; i++)
        assert_rule(jobs[i], "lim");
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_THROTTLED]), 1);
    /* one increment per counter of the batch: t:x by 3, t:7 by 1 */
    assert_int_equal(atomic_load(&fx.ctx.metrics.throttle_counts), 2);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].allowed), 3);
    assert_int_equal(counter_value(&fx, "lim", 3600, "t:x"), 3);
    assert_int_equal(counter_value(&fx, "lim", 3600, "t:7"), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].throttled), 1);
    aw_buf text = {0};
    aw_metrics_gauges g = {0};
    assert_int_equal(aw_metrics_render(&fx.ctx.metrics, &g, &text), 0);
    assert_non_null(strstr(text.data,
                           "acteon_rule_verdicts_total{rule=\"lim\",verdict=\"throttled\"} 1\n"));
    assert_non_null(strstr(text.data, "acteon_outcomes_total{outcome=\"throttled\"} 1\n"));
    aw_buf_free(&text);
    /* the throttled identity is free at once: no lease, no done record */
    assert_int_equal(peer_claim(&fx, "t", "a-3"), AW_CLAIM_ACQUIRED);
    assert_int_equal(peer_claim(&fx, "t", "a-1"), AW_CLAIM_DONE);

    /* the first message again (same offset): its done record answers, no count */
    aw_job *again = make_tenant_job(&fx, 1, "a-1", "t", "{\"u\":\"x\"}");
    assert_int_equal(run(&fx, &again, 1), 1);
    assert_outcome(again, AW_OUTCOME_EXECUTED, "{\"attempts\":1,\"redelivered\":true}");
    assert_rule(again, "lim"); /* from the done record, as the first answer said */
    assert_int_equal(atomic_load(&fx.ctx.metrics.throttle_counts), 2);
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_THROTTLED]), 1);
    teardown(&fx);
}

/* An identity leased elsewhere waits without counting; once free it is
 * counted and executes. */
static void test_rule_throttle_busy(void **state)
{
    (void)state;
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000, THROTTLE_RULE);
    aw_claim c = {.key = {.ns = "ns", .tenant = "t", .kind = "dedup", .id = "a-9"},
                  .lease_ms = 30000};
    aw_error err = {0};
    assert_int_equal(aw_state_claim_batch(fx.peer, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    aw_job *j = make_tenant_job(&fx, 9, "a-9", "t", "{\"u\":\"x\"}");
    aw_job *finished[1];
    assert_int_equal(aw_pipeline_run(&fx.p, &j, 1, finished), 0); /* busy: stays with us */
    assert_int_equal(atomic_load(&fx.ctx.metrics.throttle_counts), 0);
    assert_int_equal(counter_value(&fx, "lim", 3600, "t:x"), -1);
    assert_int_equal(aw_state_lease_release(fx.peer, &c.key, c.token, &err), AW_OK);
    aw_claim_clear(&c);
    assert_int_equal(run(&fx, &j, 1), 1);
    assert_outcome(j, AW_OUTCOME_EXECUTED, "{\"attempts\":1}");
    assert_int_equal(atomic_load(&fx.ctx.metrics.throttle_counts), 1);
    assert_int_equal(counter_value(&fx, "lim", 3600, "t:x"), 1);
    teardown(&fx);
}

/* A key field missing or not a scalar: rejected (reason rule_field, to the
 * DLQ), naming the rule and the field; nothing claimed or counted. */
static void test_rule_field_rejected(void **state)
{
    (void)state;
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000, THROTTLE_RULE);
    aw_job *jobs[] = {make_tenant_job(&fx, 1, "a-1", "t", "{}"),
                      make_tenant_job(&fx, 2, "a-2", "t", "{\"u\":[1]}")};
    assert_int_equal(run(&fx, jobs, 2), 2);
    assert_outcome(jobs[0], AW_OUTCOME_REJECTED,
                   "{\"reason\":\"rule_field\",\"field\":\"payload.u\",\"error\":"
                   "\"rule \\\"lim\\\": key: the action has no payload.u\"}");
    assert_outcome(jobs[1], AW_OUTCOME_REJECTED,
                   "{\"reason\":\"rule_field\",\"field\":\"payload.u\",\"error\":"
                   "\"rule \\\"lim\\\": key: payload.u is not a string, number or boolean\"}");
    assert_true(jobs[0]->rejected);
    assert_rule(jobs[0], "lim");
    assert_int_equal(aw_outcome_deliveries(jobs[0]), 2); /* DLQ copy and reply */
    assert_int_equal(atomic_load(&fx.ctx.metrics.throttle_counts), 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].rejected), 2);
    assert_int_equal(peer_claim(&fx, "t", "a-1"), AW_CLAIM_ACQUIRED);
    teardown(&fx);
}

/* While the provider ran, our lease went and another replica took the
 * identity (as the partition's next owner, for the same message). */
static void take_lease(void *ud, aw_job *job, uint64_t token)
{
    fixture *fx = ud;
    aw_state_key key = {.ns = "ns", .tenant = "t", .kind = "dedup",
                        .id = aw_action_key(&job->action)};
    aw_error err = {0};
    assert_int_equal(aw_state_lease_release(fx->peer, &key, token, &err), AW_OK);
    aw_claim c = {.key = key, .lease_ms = 30000};
    assert_int_equal(aw_state_claim_batch(fx->peer, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    assert_true(c.token > token);
    fx->peer_token = c.token;
    aw_claim_clear(&c);
}

/* The peer executes the message too and records it. */
static void peer_completes(fixture *fx, aw_job *job)
{
    aw_complete d = {.key = {.ns = "ns", .tenant = "t", .kind = "dedup",
                             .id = aw_action_key(&job->action)},
                     .token = fx->peer_token,
                     .summary = "{\"outcome\":\"executed\",\"action_id\":\"a-1\",\"attempts\":1,"
                                "\"details\":{\"attempts\":1}}",
                     .source = {TOPIC, 0, job->msg->offset},
                     .window_ms = 60000};
    aw_error err = {0};
    assert_int_equal(aw_state_complete_batch(fx->peer, &d, 1, &err), AW_OK);
    assert_false(d.stale);
}

/* The done record of a call made under a lease lost meanwhile is refused as
 * stale: no outcome is recorded for it (no reply, no commit), the job goes
 * back to be claimed again, and that claim answers with what the next
 * holder recorded. */
static void test_lease_lost(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    fx.p.on_executed = take_lease;
    fx.p.on_executed_ud = &fx;
    aw_job *j = make_job(&fx, 1, "a-1", "k-1", "noop");
    aw_job *finished[1];
    assert_int_equal(aw_pipeline_run(&fx.p, &j, 1, finished), 0);
    assert_false(j->abandoned);
    assert_true(j->not_before_mono > 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_EXECUTED]), 0);
    fx.p.on_executed = NULL;

    peer_completes(&fx, j);
    j->not_before_mono = 0;
    assert_int_equal(run(&fx, &j, 1), 1);
    assert_outcome(j, AW_OUTCOME_EXECUTED, "{\"attempts\":1,\"redelivered\":true}");
    assert_int_equal(j->record.fencing_token, fx.peer_token);
    teardown(&fx);
}

/* Polled before the assignment was lost: no call starts, the job is
 * abandoned (its partition is somebody else's now). */
static void test_partition_lost(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_job *j = make_job(&fx, 1, "a-1", "k-1", "noop");
    atomic_store(&fx.ctx.lost_epoch, j->lost_epoch + 1);
    assert_int_equal(run(&fx, &j, 1), 1);
    assert_true(j->abandoned);
    assert_int_equal(atomic_load(&fx.ctx.metrics.provider_ms.count), 0);
    teardown(&fx);
}

/* The group takes the partition away while the first call of a round is
 * answered. */
static void lose_partition(void *ud, aw_job *job, uint64_t token)
{
    (void)job;
    (void)token;
    fixture *fx = ud;
    atomic_fetch_add(&fx->ctx.lost_epoch, 1);
}

/* Lost in the middle of a round (calls one at a time): the next call of
 * the round does not start; the gate is asked again before each call, not
 * only when the round begins. */
static void test_partition_lost_mid_round(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    fx.p.on_executed = lose_partition;
    fx.p.on_executed_ud = &fx;
    aw_job *jobs[2] = {make_job(&fx, 1, "a-1", "k-1", "one"), make_job(&fx, 2, "a-2", "k-2", "one")};
    assert_int_equal(run(&fx, jobs, 2), 2);
    assert_int_equal(atomic_load(&fx.ctx.metrics.provider_ms.count), 1);
    /* The call made has its outcome (its offset is the next owner's to
     * commit); the one not started is given up. */
    assert_false(jobs[0]->abandoned);
    assert_int_equal(jobs[0]->record.outcome, AW_OUTCOME_FAILED);
    assert_true(jobs[1]->abandoned);
    teardown(&fx);
}

/* The state backend goes away right after the claim, so the lease cannot be
 * renewed: the retry due after the lease's known-held time does not start.
 * The job goes back unfinished (its partition is still ours), with one
 * attempt made. */
static void test_lease_lapsed(void **state)
{
    (void)state;
    fixture fx;
    /* lease 1 s (known held 900 ms); the first retry comes 2 to 4 s after
     * the first attempt (backoff base 4 s, jittered down to half) */
    setup_lease(&fx, "faulty", "memory?outage_after=1&outage_ms=600000", 4000, 1000);
    aw_job *j = make_job(&fx, 1, "a-1", "k-1", "down");
    aw_job *finished[1];
    assert_int_equal(aw_pipeline_run(&fx.p, &j, 1, finished), 0);
    assert_false(j->abandoned);
    assert_true(j->not_before_mono > 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.provider_ms.count), 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_FAILED]), 0);
    fx.back[fx.n_back++] = j;
    teardown(&fx);
}

/* The state backend goes down after the claim: the done records wait for
 * it (retried with backoff, /readyz's flag down meanwhile) and the batch
 * completes once it is back. */
static void test_backend_outage(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "faulty", "memory?outage_after=1&outage_ms=300", 1);
    aw_job *jobs[3] = {make_job(&fx, 1, "a-1", "k-1", "noop"),
                       make_job(&fx, 2, "a-2", "k-2", "noop"),
                       make_job(&fx, 3, "a-3", "k-3", "noop")};
    assert_int_equal(run(&fx, jobs, 3), 3);
    for (int i = 0; i < 3; i++)
        assert_outcome(jobs[i], AW_OUTCOME_EXECUTED, "{\"attempts\":1}");
    assert_true(atomic_load(&fx.ctx.metrics.state_retries) >= 1);
    assert_true(aw_backend_health_ok(&fx.ctx.state_health));
    /* the records were written: a copy is a duplicate now */
    aw_job *dup = make_job(&fx, 4, "a-4", "k-2", "noop");
    assert_int_equal(run(&fx, &dup, 1), 1);
    assert_int_equal(dup->record.outcome, AW_OUTCOME_DEDUPLICATED);
    teardown(&fx);
}

/* Sets the hard stop once a counter reached 1 (bounded wait). */
typedef struct stopper {
    fixture *fx;
    atomic_ulong *counter;
    pthread_t thread;
} stopper;

static void *stopper_main(void *arg)
{
    stopper *s = arg;
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (atomic_load(s->counter) < 1 && aw_mono_now_ms() < end)
        aw_sleep_ms(1);
    atomic_store(&s->fx->ctx.hard_stop, true);
    return NULL;
}

/* A hard stop while the state backend is down mid-batch: the executed job
 * is abandoned (nothing recorded, its offset stays uncommitted), the
 * rejected one keeps its outcome. */
static void test_stop_during_outage(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "faulty", "memory?outage_after=1&outage_ms=600000", 1);
    stopper s = {.fx = &fx, .counter = &fx.ctx.metrics.state_retries};
    assert_int_equal(pthread_create(&s.thread, NULL, stopper_main, &s), 0);
    aw_job *jobs[2] = {make_job(&fx, 1, "a-1", "k-1", "noop"), make_raw_job(&fx, 2, "[]")};
    assert_int_equal(run(&fx, jobs, 2), 2);
    assert_int_equal(pthread_join(s.thread, NULL), 0);
    assert_true(jobs[0]->abandoned);
    assert_null(jobs[0]->record.details);
    assert_int_equal(jobs[1]->record.outcome, AW_OUTCOME_REJECTED);
    assert_false(jobs[1]->abandoned);
    assert_false(aw_backend_health_ok(&fx.ctx.state_health));
    teardown(&fx);
}

/* A hard stop while a failed call waits for its retry: what was attempted
 * reports its last answer (failed after 1 attempt), nothing more starts. */
static void test_stop_during_retry(void **state)
{
    (void)state;
    fixture fx;
    setup_with(&fx, "memory", "", 60000);
    stopper s = {.fx = &fx, .counter = &fx.ctx.metrics.provider_retries};
    assert_int_equal(pthread_create(&s.thread, NULL, stopper_main, &s), 0);
    aw_job *j = make_job(&fx, 1, "a-1", "k-1", "down");
    assert_int_equal(run(&fx, &j, 1), 1);
    assert_int_equal(pthread_join(s.thread, NULL), 0);
    assert_false(j->abandoned);
    assert_int_equal(j->record.outcome, AW_OUTCOME_FAILED);
    assert_int_equal(j->record.attempts, 1);
    teardown(&fx);
}

/* A worker thread (worker/worker.h) takes what is queued to it, runs it
 * through the pipeline and hands every job back; copies of one identity in
 * one batch are answered as duplicates of the first in offset order. */
static void test_worker_thread(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    aw_worker w;
    aw_error err = {0};
    assert_int_equal(aw_worker_start(&w, &fx.ctx, 0, &err), AW_OK);
    enum { N = 20 };
    aw_job *jobs[N];
    for (int i = 0; i < N; i++) {
        char id[16], key[16];
        snprintf(id, sizeof(id), "a-%d", i);
        snprintf(key, sizeof(key), "k-%d", i % 5); /* four copies of each identity */
        jobs[i] = make_job(&fx, i + 1, id, key, "noop");
        aw_job_queue_push(&w.queue, jobs[i]);
    }
    size_t got = collect_back(&fx, N);
    aw_worker_join(&w);
    assert_int_equal(got, N);
    for (int i = 0; i < N; i++) {
        assert_false(jobs[i]->abandoned);
        /* the first message of each identity executed, the later ones
         * name it as the original */
        aw_outcome want = i < 5 ? AW_OUTCOME_EXECUTED : AW_OUTCOME_DEDUPLICATED;
        assert_int_equal(jobs[i]->record.outcome, want);
        if (i >= 5) {
            char orig[64];
            snprintf(orig, sizeof(orig), "\"original_action_id\":\"a-%d\"", i % 5);
            assert_non_null(strstr(jobs[i]->record.details, orig));
        }
    }
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_EXECUTED]), 5);
    teardown(&fx);
}

/* ---- lock rules ------------------------------------------------------------ */

#define LOCK_RULE(extra)                                                                    \
    "rules = ( { name = \"lk\"; verdict = \"lock\"; key = \"{payload.u}\"; " extra " } );\n"

static aw_state_key lock_key_of(const char *key)
{
    return (aw_state_key){.ns = "acteon.rules", .tenant = "lk", .kind = "lock", .id = key};
}

/* Offer the job again each time its park ends (as the worker does), until
 * it finishes or WAIT_MS passed; returns whether it finished. */
static bool run_until_finished(fixture *fx, aw_job *j)
{
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (aw_mono_now_ms() < end) {
        int64_t wait = j->not_before_mono - aw_mono_now_ms();
        if (wait > 0)
            aw_sleep_ms(wait);
        if (run(fx, &j, 1) == 1)
            return true;
    }
    return false;
}

/* The lock token in executed details {"attempts":1,"lock":{"key":K,"token":T}}. */
static uint64_t lock_token_in(const aw_job *j, const char *key)
{
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "{\"attempts\":1,\"lock\":{\"key\":\"%s\",\"token\":", key);
    assert_non_null(j->record.details);
    assert_memory_equal(j->record.details, prefix, strlen(prefix));
    const char *t = j->record.details + strlen(prefix);
    assert_string_equal(t + strspn(t, "0123456789"), "}}");
    return strtoull(t, NULL, 10);
}

/* Two actions with one lock key and different identities in one batch: the
 * first executes under the lock (its token in the details), the second
 * parks (its lease released, no outcome) and executes once the lock is
 * free, with a higher lock token; another key is not held up. */
static void test_rule_lock(void **state)
{
    (void)state;
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000, LOCK_RULE(""));
    aw_job *jobs[] = {make_tenant_job(&fx, 1, "a-1", "t", "{\"u\":\"x\"}"),
                      make_tenant_job(&fx, 2, "a-2", "t", "{\"u\":\"x\"}"),
                      make_tenant_job(&fx, 3, "a-3", "t", "{\"u\":\"y\"}")};
    assert_int_equal(run(&fx, jobs, 3), 2);
    assert_int_equal(jobs[0]->record.outcome, AW_OUTCOME_EXECUTED);
    assert_int_equal(jobs[2]->record.outcome, AW_OUTCOME_EXECUTED);
    uint64_t t0 = lock_token_in(jobs[0], "x");
    assert_true(t0 > 0 && lock_token_in(jobs[2], "y") > 0);
    assert_rule(jobs[0], "lk");
    assert_rule(jobs[2], "lk");
    /* the second: parked, not finished, holding neither lease nor lock */
    assert_true(jobs[1]->not_before_mono > 0);
    assert_int_equal(jobs[1]->lock_waits, 1);
    assert_true(jobs[1]->lock_wait_since_mono > 0);
    assert_int_equal(jobs[1]->lock_token, 0);
    assert_int_equal(jobs[0]->lock_token, 0); /* released with its record */
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].acquired), 2);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].waited), 1);
    /* x's lock was released once a-1's done record was written */
    aw_state_key k = lock_key_of("x");
    uint64_t peer_tok = 0;
    aw_error err = {0};
    assert_int_equal(aw_state_lock_acquire(fx.peer, &k, 30000, &peer_tok, &err), AW_OK);
    assert_true(peer_tok > t0);
    assert_int_equal(aw_state_lock_release(fx.peer, &k, peer_tok, &err), AW_OK);

    assert_true(run_until_finished(&fx, jobs[1]));
    assert_int_equal(jobs[1]->record.outcome, AW_OUTCOME_EXECUTED);
    assert_true(lock_token_in(jobs[1], "x") > peer_tok);
    assert_rule(jobs[1], "lk");
    assert_int_equal(jobs[1]->lock_waits, 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].acquired), 3);
    aw_buf text = {0};
    aw_metrics_gauges g = {0};
    assert_int_equal(aw_metrics_render(&fx.ctx.metrics, &g, &text), 0);
    assert_non_null(strstr(text.data,
                           "acteon_rule_verdicts_total{rule=\"lk\",verdict=\"acquired\"} 3\n"));
    assert_non_null(strstr(text.data,
                           "acteon_rule_verdicts_total{rule=\"lk\",verdict=\"waited\"} 1\n"));
    aw_buf_free(&text);
    teardown(&fx);
}

/* A lock held elsewhere longer than max_wait_ms (a peer holds it): outcome
 * failed, error_code lock_timeout; nothing ran (token 0, no done record:
 * the identity is free). with_dlq: rejected, reason lock_timeout, a DLQ
 * copy and a reply. */
static void lock_timeout(bool with_dlq)
{
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000,
                with_dlq ? LOCK_RULE("max_wait_ms = 50; on_timeout = \"dlq\";")
                         : LOCK_RULE("max_wait_ms = 50;"));
    aw_state_key k = lock_key_of("x");
    uint64_t peer_tok = 0;
    aw_error err = {0};
    assert_int_equal(aw_state_lock_acquire(fx.peer, &k, 30000, &peer_tok, &err), AW_OK);
    aw_job *j = make_tenant_job(&fx, 1, "a-1", "t", "{\"u\":\"x\"}");
    int64_t t0 = aw_mono_now_ms();
    assert_true(run_until_finished(&fx, j));
    assert_true(aw_mono_now_ms() - t0 >= 50);
    assert_false(j->abandoned);
    assert_int_equal(j->record.fencing_token, 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.provider_ms.count), 0);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].timed_out), 1);
    assert_true(atomic_load(&fx.ctx.metrics.rules[0].waited) >= 1);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].acquired), 0);
    assert_rule(j, "lk");
    if (with_dlq) {
        assert_outcome(j, AW_OUTCOME_REJECTED,
                       "{\"reason\":\"lock_timeout\",\"error\":\"rule \\\"lk\\\": lock \\\"x\\\" "
                       "held elsewhere for more than 50 ms\"}");
        assert_true(j->rejected);
        assert_int_equal(aw_outcome_deliveries(j), 2); /* DLQ copy and reply */
    } else {
        assert_int_equal(j->record.outcome, AW_OUTCOME_FAILED);
        const char *want = "{\"error_code\":\"lock_timeout\",\"error\":\"rule \\\"lk\\\": lock "
                           "held elsewhere for more than 50 ms\",\"rule\":\"lk\",\"key\":\"x\","
                           "\"waited_ms\":";
        assert_memory_equal(j->record.details, want, strlen(want));
        assert_non_null(strstr(j->record.details, ",\"max_wait_ms\":50}"));
        assert_false(j->rejected);
    }
    assert_int_equal(peer_claim(&fx, "t", "a-1"), AW_CLAIM_ACQUIRED);
    teardown(&fx);
}

static void test_rule_lock_timeout(void **state)
{
    (void)state;
    lock_timeout(false);
}

static void test_rule_lock_timeout_dlq(void **state)
{
    (void)state;
    lock_timeout(true);
}

/* The gate: no attempt starts unless the lock is known held. Job b (the
 * webhook nobody answers: a retry after 600 ms) holds lock y; when job a
 * (noop, lock x) has answered, y's lock is released behind b's back, so
 * the keeper's next extension is refused and y is lost: b's retry does not
 * start, b is given up (no outcome, its lock let go) and comes back later. */
static aw_job *g_lock_victim;

static void steal_victims_lock(void *ud, aw_job *job, uint64_t token)
{
    fixture *fx = ud;
    (void)token;
    if (strcmp(job->action.id, "a-1") != 0)
        return;
    aw_state_key k = lock_key_of("y");
    aw_error err = {0};
    assert_true(g_lock_victim->lock_token > 0);
    assert_int_equal(aw_state_lock_release(fx->peer, &k, g_lock_victim->lock_token, &err), AW_OK);
}

static void test_rule_lock_lost_gate(void **state)
{
    (void)state;
    fixture fx;
    setup_rules(&fx, "memory", "", 600, 30000, LOCK_RULE("lock_ttl_ms = 300;"));
    aw_job *jobs[] = {make_tenant_job(&fx, 1, "a-1", "t", "{\"u\":\"x\"}"),
                      make_raw_job(&fx, 2,
                                   "{\"id\":\"b-1\",\"namespace\":\"ns\",\"tenant\":\"t\","
                                   "\"provider\":\"down\",\"action_type\":\"do\","
                                   "\"payload\":{\"u\":\"y\"}}")};
    g_lock_victim = jobs[1];
    fx.p.on_executed = steal_victims_lock;
    fx.p.on_executed_ud = &fx;
    assert_int_equal(run(&fx, jobs, 2), 1);
    assert_int_equal(jobs[0]->record.outcome, AW_OUTCOME_EXECUTED);
    assert_false(jobs[1]->abandoned);
    assert_true(jobs[1]->not_before_mono > 0);
    assert_int_equal(jobs[1]->lock_token, 0);
    /* one attempt of b made (a's noop call is counted too), no second */
    assert_int_equal(atomic_load(&fx.ctx.metrics.provider_ms.count), 2);
    /* y is free */
    aw_state_key k = lock_key_of("y");
    uint64_t tok = 0;
    aw_error err = {0};
    assert_int_equal(aw_state_lock_acquire(fx.peer, &k, 30000, &tok, &err), AW_OK);
    teardown(&fx);
}

/* A worker thread whose pending list (two batches) is full of actions
 * parked on a lock held elsewhere still takes and executes another key's
 * action: waiters block neither the thread nor other keys. */
static void test_rule_lock_waiters_do_not_block(void **state)
{
    (void)state;
    enum { BATCH = 2, N_WAIT = 3 * BATCH };
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000,
                "workers = { batch_size = 2; };\n" LOCK_RULE("max_wait_ms = 60000;"));
    aw_state_key k = lock_key_of("x");
    uint64_t peer_tok = 0;
    aw_error err = {0};
    assert_int_equal(aw_state_lock_acquire(fx.peer, &k, 60000, &peer_tok, &err), AW_OK);
    aw_worker w;
    assert_int_equal(aw_worker_start(&w, &fx.ctx, 0, &err), AW_OK);
    for (int i = 0; i < N_WAIT; i++) {
        char id[16];
        snprintf(id, sizeof(id), "w-%d", i);
        aw_job_queue_push(&w.queue, make_tenant_job(&fx, i + 1, id, "t", "{\"u\":\"x\"}"));
    }
    /* all of them parked at least once before the other key comes */
    int64_t end = aw_mono_now_ms() + WAIT_MS;
    while (atomic_load(&fx.ctx.metrics.rules[0].waited) < N_WAIT && aw_mono_now_ms() < end)
        aw_sleep_ms(2);
    assert_true(atomic_load(&fx.ctx.metrics.rules[0].waited) >= N_WAIT);
    aw_job *other = make_tenant_job(&fx, 100, "o-1", "t", "{\"u\":\"y\"}");
    aw_job_queue_push(&w.queue, other);
    assert_int_equal(collect_back(&fx, 1), 1);
    assert_ptr_equal(fx.back[0], other);
    assert_int_equal(other->record.outcome, AW_OUTCOME_EXECUTED);
    /* the waiters are still parked; once the lock is free they execute,
     * one at a time */
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].acquired), 1);
    assert_int_equal(aw_state_lock_release(fx.peer, &k, peer_tok, &err), AW_OK);
    assert_int_equal(collect_back(&fx, N_WAIT), N_WAIT);
    aw_worker_join(&w);
    for (size_t i = 1; i < fx.n_back; i++)
        assert_int_equal(fx.back[i]->record.outcome, AW_OUTCOME_EXECUTED);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].acquired), 1 + N_WAIT);
    teardown(&fx);
}

/* ---- state machine rules --------------------------------------------------- */

#define SM_RULES                                                                          \
    "rules = ( { name = \"sm\"; verdict = \"state_machine\"; machine = \"inc\"; } );\n"     \
    "state_machines = ( { name = \"inc\"; fingerprint = \"{tenant}:{payload.alert}\";\n"      \
    "  initial = \"new\"; states = [\"new\", \"open\", \"acked\", \"resolved\"];\n"          \
    "  transitions = ( { from = [\"new\"]; to = \"open\"; on = \"alert\"; },\n"             \
    "    { from = [\"open\"]; to = \"acked\"; on = \"ack\"; },\n"                           \
    "    { from = [\"open\", \"acked\"]; to = \"resolved\"; on = \"resolve\"; } ); } );\n"

static aw_job *make_sm_job(fixture *fx, int64_t offset, const char *id, const char *type,
                           const char *alert)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"id\":\"%s\",\"namespace\":\"ns\",\"tenant\":\"t\",\"provider\":\"noop\","
             "\"action_type\":\"%s\",\"payload\":{\"alert\":\"%s\"}}",
             id, type, alert);
    return make_raw_job(fx, offset, text);
}

static void assert_moved(const aw_job *j, const char *from, const char *to, int seq,
                         const char *extra)
{
    char want[512];
    snprintf(want, sizeof(want),
             "{\"attempts\":1,\"state\":{\"rule\":\"sm\",\"machine\":\"inc\",\"fingerprint\":"
             "\"t:X\",\"from\":\"%s\",\"to\":\"%s\",\"seq\":%d%s}}",
             from, to, seq, extra);
    assert_outcome(j, AW_OUTCOME_STATE_CHANGED, want);
    assert_true(j->record.fencing_token > 0);
}

/* One batch: a resolve refused in new, an alert and an ack made (seq 1, 2),
 * a second ack refused in acked. The refused ones are suppressed with the
 * reason and a done record (the identity answers DONE); redelivered after
 * the state moved on (where resolve would now be allowed), the first is
 * answered from its record, not judged again. */
static void test_rule_state_machine(void **state)
{
    (void)state;
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000, SM_RULES);
    aw_job *jobs[] = {make_sm_job(&fx, 1, "a-0", "resolve", "X"),
                      make_sm_job(&fx, 2, "a-1", "alert", "X"),
                      make_sm_job(&fx, 3, "a-2", "ack", "X"),
                      make_sm_job(&fx, 4, "a-3", "ack", "X")};
    assert_int_equal(run(&fx, jobs, 4), 4);
    assert_outcome(jobs[0], AW_OUTCOME_SUPPRESSED,
                   "{\"rule\":\"sm\",\"reason\":\"no transition from \\\"new\\\" on "
                   "\\\"resolve\\\"\",\"machine\":\"inc\",\"fingerprint\":\"t:X\",\"state\":"
                   "\"new\",\"action_type\":\"resolve\"}");
    assert_moved(jobs[1], "new", "open", 1, "");
    assert_moved(jobs[2], "open", "acked", 2, "");
    assert_int_equal(jobs[3]->record.outcome, AW_OUTCOME_SUPPRESSED);
    assert_non_null(strstr(jobs[3]->record.details, "\"state\":\"acked\""));
    assert_int_equal(peer_claim(&fx, "t", "a-0"), AW_CLAIM_DONE);
    assert_int_equal(peer_claim(&fx, "t", "a-3"), AW_CLAIM_DONE);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].moved), 2);
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].refused), 2);
    assert_int_equal(atomic_load(&fx.ctx.metrics.outcomes[AW_OUTCOME_STATE_CHANGED]), 2);
    aw_buf text = {0};
    assert_int_equal(aw_metrics_render(&fx.ctx.metrics, &(aw_metrics_gauges){0}, &text), 0);
    assert_non_null(strstr(text.data,
                           "acteon_rule_verdicts_total{rule=\"sm\",verdict=\"state_changed\"} 2\n"));
    assert_non_null(strstr(text.data, "acteon_outcomes_total{outcome=\"state_changed\"} 2\n"));
    assert_non_null(strstr(text.data, "acteon_event_moves_total{machine=\"inc\",from=\"new\","
                                      "to=\"open\"} 1\n"));
    assert_non_null(strstr(text.data, "acteon_event_moves_total{machine=\"inc\",from=\"open\","
                                      "to=\"acked\"} 1\n"));
    assert_null(strstr(text.data, "from=\"acked\"")); /* none made: not listed */
    aw_buf_free(&text);

    /* resolved now: a-0 redelivered would be allowed if judged again */
    aw_job *more[] = {make_sm_job(&fx, 5, "a-4", "resolve", "X")};
    assert_int_equal(run(&fx, more, 1), 1);
    assert_moved(more[0], "acked", "resolved", 3, "");
    aw_job *again[] = {make_sm_job(&fx, 1, "a-0", "resolve", "X")};
    assert_int_equal(run(&fx, again, 1), 1);
    assert_int_equal(again[0]->record.outcome, AW_OUTCOME_SUPPRESSED);
    assert_non_null(strstr(again[0]->record.details, "\"redelivered\":true"));
    aw_event e;
    aw_error err;
    assert_int_equal(aw_event_get(fx.peer, &fx.cfg->machines[0], "t:X", &e, &err), AW_OK);
    assert_int_equal(e.seq, 3);
    teardown(&fx);
}

/* An earlier attempt of a-9 made its move and crashed before its done
 * record: the retry finds the move, makes no other, and executes. */
static void test_rule_state_machine_retry(void **state)
{
    (void)state;
    fixture fx;
    setup_rules(&fx, "memory", "", 1, 30000, SM_RULES);
    aw_event_ctx c = {.state = fx.peer, .machine = &fx.cfg->machines[0], .pool = "g",
                      .now_ms = aw_time_now_ms()};
    aw_event_result r;
    aw_error err;
    assert_int_equal(aw_event_apply(&c, "t:X", "alert", "ns/t/a-9", 1, &r, &err), AW_OK);
    assert_int_equal(r.verdict, AW_EVENT_MOVED);
    aw_job *jobs[] = {make_sm_job(&fx, 1, "a-9", "alert", "X")};
    assert_int_equal(run(&fx, jobs, 1), 1);
    assert_moved(jobs[0], "new", "open", 1, ",\"retried\":true");
    assert_int_equal(atomic_load(&fx.ctx.metrics.rules[0].moved), 0);
    aw_event e;
    assert_int_equal(aw_event_get(fx.peer, &fx.cfg->machines[0], "t:X", &e, &err), AW_OK);
    assert_int_equal(e.seq, 1);
    teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_executed),
        cmocka_unit_test(test_deduplicated),
        cmocka_unit_test(test_failed_after_retries),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_lease_lost),
        cmocka_unit_test(test_partition_lost),
        cmocka_unit_test(test_partition_lost_mid_round),
        cmocka_unit_test(test_lease_lapsed),
        cmocka_unit_test(test_backend_outage),
        cmocka_unit_test(test_stop_during_outage),
        cmocka_unit_test(test_stop_during_retry),
        cmocka_unit_test(test_worker_thread),
        cmocka_unit_test(test_rule_suppress),
        cmocka_unit_test(test_rule_throttle),
        cmocka_unit_test(test_rule_field_rejected),
        cmocka_unit_test(test_rule_throttle_busy),
        cmocka_unit_test(test_rule_lock),
        cmocka_unit_test(test_rule_lock_timeout),
        cmocka_unit_test(test_rule_lock_timeout_dlq),
        cmocka_unit_test(test_rule_lock_lost_gate),
        cmocka_unit_test(test_rule_lock_waiters_do_not_block),
        cmocka_unit_test(test_rule_state_machine),
        cmocka_unit_test(test_rule_state_machine_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
