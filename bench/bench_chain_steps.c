/* The backend ceiling of chain steps (docs/rules.md, "chain"): the state
 * operations the scheduler makes for each step of a chain, called directly
 * through aw_state and the worker's own chain record code
 * (worker/chain_state.h), with no Kafka, no provider, no audit and no
 * pipeline, on one session (a replica's scheduler is one thread).
 *
 *   bench_chain_steps -c WORKER_CONFIG -n CHAINS [--run-id ID]
 *
 * The config's first chain is run for CHAINS chains: first every chain is
 * started (record created, due item put: the trigger's part, timed
 * apart), then rounds as the scheduler makes them: due_take of up to
 * schedule.batch_size chains; per chain the record read; one claim_batch
 * and one complete_batch of the round's steps (their dedup identities);
 * per chain the record read again, the step booked by compare-and-swap,
 * and the item released (due_done after the last step: the end's own
 * take, record and reply are not counted). Prints start_rate (chains/s)
 * and step_rate (steps/s): the ceiling of `bench/run.sh chain`'s figure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/state.h"
#include "bench/bench_kafka.h"
#include "common/aw_clock.h"
#include "config/config.h"
#include "worker/chain_state.h"

static void die(const char *what, const aw_error *err)
{
    fprintf(stderr, "bench_chain_steps: %s: %s\n", what, err->msg);
    exit(1);
}

/* One round: returns the steps booked. */
static long round_of(aw_state_session *s, const aw_config *cfg, const aw_chain_config *c,
                     const char *run_id, aw_due_item *items, aw_claim *claims, aw_complete *cs,
                     char (*ids)[96], int *steps)
{
    const char *pool = cfg->kafka.group_id;
    size_t n = 0;
    aw_error err;
    int64_t now = aw_time_now_ms();
    size_t cap = (size_t)cfg->schedule.batch_size;
    if (aw_state_due_take(s, pool, AW_CHAIN_KIND, now, cap, cfg->schedule.lease_ms, items, &n,
                          &err) != AW_OK)
        die("due_take", &err);
    for (size_t k = 0; k < n; k++) {
        json_t *doc;
        uint64_t version;
        if (aw_chain_read(s, c->name, items[k].id, &doc, &version, &err) != AW_OK)
            die("chain read", &err);
        steps[k] = (int)json_integer_value(json_object_get(doc, "next"));
        json_decref(doc);
        snprintf(ids[k], sizeof(ids[k]), "%s:%s", items[k].id, c->steps[steps[k]].name);
        claims[k] = (aw_claim){.key = {"bench", run_id, "dedup", ids[k]},
                               .lease_ms = cfg->dedup.lease_ms};
    }
    if (n && aw_state_claim_batch(s, claims, n, &err) != AW_OK)
        die("claim_batch", &err);
    const char *summary = "{\"outcome\":\"executed\",\"action_id\":\"x\",\"attempts\":1,"
                          "\"details\":{\"attempts\":1,\"result\":{\"id\":\"r-1\"}}}";
    for (size_t k = 0; k < n; k++) {
        cs[k] = (aw_complete){.key = claims[k].key, .token = claims[k].token,
                              .source = {AW_CHAIN_NS, -1, steps[k] * 1000 + 1},
                              .summary = summary,
                              .window_ms = cfg->dedup.window_s * 1000};
    }
    if (n && aw_state_complete_batch(s, cs, n, &err) != AW_OK)
        die("complete_batch", &err);
    json_t *result = json_pack("{s:s}", "id", "r-1");
    for (size_t k = 0; k < n; k++) {
        aw_claim_clear(&claims[k]);
        json_t *doc;
        uint64_t version;
        if (aw_chain_read(s, c->name, items[k].id, &doc, &version, &err) != AW_OK)
            die("chain read", &err);
        const char *st = aw_chain_book(c, doc, steps[k], 1, "executed", result, ids[k], NULL,
                                       aw_time_now_ms());
        if (aw_chain_write(s, c, items[k].id, doc, version, &err) != AW_OK)
            die("chain write", &err);
        json_decref(doc);
        aw_state_key key = {items[k].ns, items[k].tenant, items[k].kind, items[k].id};
        aw_status rc = strcmp(st, "running") == 0
                           ? aw_state_due_release(s, &key, items[k].token, 0, &err)
                           : aw_state_due_done(s, &key, items[k].token, &err);
        if (rc != AW_OK)
            die("due release/done", &err);
        aw_due_item_clear(&items[k]);
    }
    json_decref(result);
    return (long)n;
}

int main(int argc, char **argv)
{
    aw_bench_args a = {.run_id = "bc"};
    if (aw_bench_args_parse(argc, argv, "bench_chain_steps", &a))
        return 2;
    aw_config *cfg = NULL;
    aw_state *state = NULL;
    aw_bench_open_state(a.config, &cfg, &state);
    if (!cfg->n_chains) {
        fprintf(stderr, "bench_chain_steps: %s has no chains\n", a.config);
        return 2;
    }
    const aw_chain_config *c = &cfg->chains[0];
    aw_state_session *s = aw_bench_state_session(state);
    aw_error err;
    const char *trigger = "{\"id\":\"x\",\"namespace\":\"bench\",\"tenant\":\"t\","
                          "\"provider\":\"noop\",\"action_type\":\"notify\",\"payload\":{}}";
    int64_t t0 = aw_bench_now_us();
    for (long i = 0; i < a.n; i++) {
        char id[AW_CHAIN_ID_LEN + 1], rid[64];
        snprintf(rid, sizeof(rid), "%s:%ld", a.run_id, i);
        aw_chain_id("bench", rid, c->name, id);
        bool created;
        if (aw_chain_start(s, c, cfg->kafka.group_id, id, trigger, strlen(trigger),
                           aw_time_now_ms(), &created, &err) != AW_OK)
            die("chain start", &err);
    }
    int64_t t1 = aw_bench_now_us();
    size_t cap = (size_t)cfg->schedule.batch_size;
    aw_due_item *items = calloc(cap, sizeof(*items));
    aw_claim *claims = calloc(cap, sizeof(*claims));
    aw_complete *cs = calloc(cap, sizeof(*cs));
    char (*ids)[96] = calloc(cap, sizeof(*ids));
    int *steps = calloc(cap, sizeof(*steps));
    if (!items || !claims || !cs || !ids || !steps)
        return 1;
    long booked = 0, want = a.n * (long)c->n_steps, empty = 0;
    while (booked < want && empty < 1000) {
        long got = round_of(s, cfg, c, a.run_id, items, claims, cs, ids, steps);
        booked += got;
        empty = got ? 0 : empty + 1;
    }
    int64_t t2 = aw_bench_now_us();
    printf("chains=%ld steps=%ld state=%s batch=%zu start_rate=%.0f step_rate=%.0f\n", a.n,
           booked, cfg->state.backend, cap, (double)a.n * 1e6 / (double)(t1 - t0),
           (double)booked * 1e6 / (double)(t2 - t1));
    free(items);
    free(claims);
    free(cs);
    free(ids);
    free(steps);
    aw_state_session_close(s);
    aw_state_destroy(state);
    aw_config_destroy(cfg);
    return booked == want ? 0 : 1;
}
