/* The backend ceiling: the state and audit operations the worker needs for
 * N actions, called directly through aw_state / aw_audit with no Kafka, no
 * provider and no worker pipeline, using the worker's own config file (same
 * backends, URLs, key prefix, threads, batch sizes, lease and window).
 *
 *   bench_backend -c WORKER_CONFIG -n N [--run-id ID] [--server-pid PID]
 *
 * workers.threads threads each take an equal share of the N actions in
 * micro-batches of workers.batch_size: claim_batch, then complete_batch of
 * the acquired ones (one round trip each, as the pipeline does). Every 10th
 * action repeats an identity of an earlier batch (claimed DONE: 10%
 * duplicates, as in bench_load). At the same time, audit.writers threads append N records
 * shaped like the worker's (same fields and sizes) in batches of
 * audit.batch_size. Both run concurrently because they do in the worker:
 * on a small machine they compete for the same cores.
 * Prints the state rate, the audit rate and the combined rate
 * N / (wall time until both are done): the ceiling of this combination. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/audit.h"
#include "backends/state/state.h"
#include "bench/bench_kafka.h"
#include "common/aw_clock.h"
#include "config/config.h"
#include "worker/backend_options.h"

typedef struct ctx {
    const aw_config *cfg;
    aw_state *state;
    aw_audit *audit;
    const char *run_id;
    long n;
} ctx;

typedef struct part {
    ctx *c;
    long from, to;     /* action indexes [from, to) */
    int64_t end_us;
    long done, failed;
} part;

static void die(const char *what, const aw_error *err)
{
    fprintf(stderr, "bench_backend: %s: %s\n", what, err->msg);
    exit(1);
}

static void *state_thread(void *arg)
{
    part *p = arg;
    const aw_config *cfg = p->c->cfg;
    size_t bs = (size_t)cfg->workers.batch_size;
    aw_error err;
    aw_state_session *s = aw_bench_state_session(p->c->state);
    aw_claim *claims = calloc(bs, sizeof(*claims));
    aw_complete *cs = calloc(bs, sizeof(*cs));
    char (*ids)[48] = calloc(bs, sizeof(*ids));
    char (*tenants)[8] = calloc(bs, sizeof(*tenants));
    if (!claims || !cs || !ids || !tenants)
        exit(1);
    const char *summary = "{\"outcome\":\"executed\",\"action_id\":\"x\",\"attempts\":1,"
                          "\"details\":{}}";
    for (long i = p->from; i < p->to; i += (long)bs) {
        size_t n = (size_t)(p->to - i < (long)bs ? p->to - i : (long)bs);
        for (size_t k = 0; k < n; k++) {
            /* The original of a duplicate is one batch earlier on this
             * thread, so it is DONE: the worker never claims two jobs of
             * one identity in one batch either (batch_select.c). */
            long a = i + (long)k, back = a - 5 - (long)bs;
            long ident = a % 10 == 9 && back >= p->from ? back : a;
            snprintf(ids[k], sizeof(ids[k]), "%s-%ld", p->c->run_id, ident);
            snprintf(tenants[k], sizeof(tenants[k]), "t%ld", ident % 8);
            claims[k] = (aw_claim){.key = {"bench", tenants[k], "dedup", ids[k]},
                                   .lease_ms = cfg->dedup.lease_ms};
        }
        if (aw_state_claim_batch(s, claims, n, &err) != AW_OK)
            die("claim_batch", &err);
        size_t nc = 0;
        for (size_t k = 0; k < n; k++) {
            if (claims[k].result == AW_CLAIM_ACQUIRED)
                cs[nc++] = (aw_complete){.key = claims[k].key, .token = claims[k].token,
                                         .source = {"bench", 0, i + (long)k},
                                         .summary = summary,
                                         .window_ms = cfg->dedup.window_s * 1000};
            else if (claims[k].result == AW_CLAIM_BUSY)
                p->failed++; /* a lease still held: must stay 0, see above */
        }
        if (nc && aw_state_complete_batch(s, cs, nc, &err) != AW_OK)
            die("complete_batch", &err);
        for (size_t k = 0; k < n; k++)
            aw_claim_clear(&claims[k]);
        p->done += (long)n;
    }
    p->end_us = aw_bench_now_us();
    aw_state_session_close(s);
    free(claims);
    free(cs);
    free(ids);
    free(tenants);
    return NULL;
}

/* A record like the worker writes for an executed noop action. */
static void fill_record(aw_audit_record *r, const char *run_id, long i, char *buf, size_t sz)
{
    int64_t now = aw_time_now_ms();
    char *p = buf;
#define PUT(field, ...)                                             \
    do {                                                            \
        field = p;                                                  \
        p += snprintf(p, sz - (size_t)(p - buf), __VA_ARGS__) + 1;  \
    } while (0)
    PUT(r->record_id, "bench.%s:%ld:%ld", run_id, i % 16, i);
    PUT(r->action_id, "%s-%ld", run_id, i);
    PUT(r->ns, "bench");
    PUT(r->tenant, "t%ld", i % 8);
    PUT(r->provider, "noop");
    PUT(r->action_type, "notify");
    PUT(r->dedup_identity, "bench:t%ld:%s-%ld", i % 8, run_id, i);
    PUT(r->details, "{}");
    PUT(r->payload, "{\"n\":%ld,\"to\":\"user%ld@example.com\",\"subject\":\"benchmark action\"}",
        i, i);
    PUT(r->metadata, "{\"sent_us\":\"%" PRId64 "\"}", now * 1000);
    PUT(r->source_topic, "bench.%s", run_id);
    PUT(r->worker_id, "bench-backend");
#undef PUT
    r->outcome = AW_OUTCOME_EXECUTED;
    r->source_partition = (int32_t)(i % 16);
    r->source_offset = i;
    r->fencing_token = 1;
    r->attempts = 1;
    r->dispatched_at_ms = now;
    r->completed_at_ms = now;
    r->duration_ms = 0;
    r->expires_at_ms = now + 86400000;
}

static void *audit_thread(void *arg)
{
    part *p = arg;
    size_t bs = (size_t)p->c->cfg->audit.batch_size;
    aw_error err;
    aw_audit_session *s = NULL;
    if (aw_audit_session_open(p->c->audit, &s, &err) != AW_OK)
        die("audit session", &err);
    aw_audit_record *recs = calloc(bs, sizeof(*recs));
    char *text = calloc(bs, 1024);
    if (!recs || !text)
        exit(1);
    for (long i = p->from; i < p->to; i += (long)bs) {
        size_t n = (size_t)(p->to - i < (long)bs ? p->to - i : (long)bs);
        for (size_t k = 0; k < n; k++)
            fill_record(&recs[k], p->c->run_id, i + (long)k, text + k * 1024, 1024);
        size_t inserted = 0;
        if (aw_audit_append_batch(s, recs, n, &inserted, &err) != AW_OK)
            die("append_batch", &err);
        p->done += (long)n;
    }
    p->end_us = aw_bench_now_us();
    aw_audit_session_close(s);
    free(recs);
    free(text);
    return NULL;
}

/* Split [0, n) into k parts and run fn on each in its own thread. */
static part *start(ctx *c, int k, void *(*fn)(void *), pthread_t *tids)
{
    part *ps = calloc((size_t)k, sizeof(*ps));
    if (!ps)
        exit(1);
    for (int t = 0; t < k; t++) {
        ps[t] = (part){.c = c, .from = c->n * t / k, .to = c->n * (t + 1) / k};
        if (pthread_create(&tids[t], NULL, fn, &ps[t]))
            exit(1);
    }
    return ps;
}

static int64_t join(int k, pthread_t *tids, part *ps, long *failed)
{
    int64_t end = 0;
    for (int t = 0; t < k; t++) {
        pthread_join(tids[t], NULL);
        if (ps[t].end_us > end)
            end = ps[t].end_us;
        *failed += ps[t].failed;
    }
    return end;
}

int main(int argc, char **argv)
{
    aw_bench_args a = {.run_id = "bb"};
    if (aw_bench_args_parse(argc, argv, "bench_backend", &a))
        return 2;
    long n = a.n;
    aw_error err;
    aw_config *cfg = NULL;
    ctx c = {.run_id = a.run_id, .n = n};
    aw_bench_open_state(a.config, &cfg, &c.state);
    c.cfg = cfg;
    aw_audit_options ao = aw_audit_options_from_config(cfg);
    if (aw_audit_new(cfg->audit.backend, &ao, &c.audit, &err) != AW_OK)
        die("audit", &err);
    int ns = cfg->workers.threads, na = cfg->audit.writers;
    pthread_t st[ns], at[na];
    double srv0 = a.server_pid ? aw_bench_proc_cpu_s(a.server_pid) : -1;
    int64_t t0 = aw_bench_now_us();
    part *sp = start(&c, ns, state_thread, st);
    part *ap = start(&c, na, audit_thread, at);
    long failed = 0;
    double s_state = (double)(join(ns, st, sp, &failed) - t0) / 1e6;
    double s_audit = (double)(join(na, at, ap, &failed) - t0) / 1e6;
    double s_all = s_state > s_audit ? s_state : s_audit;
    printf("actions=%ld state=%s audit=%s threads=%d batch=%d audit_batch=%d "
           "state_rate=%.0f audit_rate=%.0f rate=%.0f busy=%ld\n",
           n, cfg->state.backend, cfg->audit.backend, ns, cfg->workers.batch_size,
           cfg->audit.batch_size, (double)n / s_state, (double)n / s_audit, (double)n / s_all,
           failed);
    double srv1 = a.server_pid ? aw_bench_proc_cpu_s(a.server_pid) : -1;
    if (srv0 >= 0 && srv1 >= 0)
        printf("server_cpu_us_per_action=%.0f\n", (srv1 - srv0) * 1e6 / (double)n);
    free(sp);
    free(ap);
    aw_audit_destroy(c.audit);
    aw_state_destroy(c.state);
    aw_config_destroy(cfg);
    return 0;
}
