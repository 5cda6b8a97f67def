/* The state backend's ceiling for state-machine transitions: the state
 * calls the worker makes for N actions of a state_machine rule, through the
 * product's own code (aw_state, aw_event_apply) with no Kafka, no provider
 * and no pipeline, using the worker's own config file (backend, URL, key
 * prefix, threads, batch size, lease, window, and the machine of its first
 * state_machine rule).
 *
 *   bench_event_ceiling -c WORKER_CONFIG -n N --events M [--run-id ID]
 *                       [--server-pid PID]
 *
 * The actions are those of bench_load --events M (bench/bench_events.h).
 * workers.threads threads, each with its own session, own the events
 * (event e goes to thread e % threads, so no two threads race on one event
 * and each event sees its actions in order) and run these phases one after
 * the other over their actions, in micro-batches of workers.batch_size:
 *   dedup       claim_batch + complete_batch (the dedup two phases alone:
 *               bench_backend's state ceiling, without the audit)
 *   apply       aw_event_apply per action (a get and, when it moves, a
 *               compare-and-swap), no claim: the event part alone
 *   transition  claim_batch, aw_event_apply per acquired action in batch
 *               order, complete_batch: what the worker's pipeline does
 *   get         aw_event_get per action (one read round trip)
 * Each phase uses identities and events of its own. Per phase: wall time,
 * actions/s, and for apply and transition the moves made (transitions/s),
 * the refusals and the compare-and-swap races lost; with --server-pid, the
 * server's CPU per action. Nothing here asserts a timing; the moves are
 * checked against the pattern's expected count (exit 1 if they differ). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/state.h"
#include "bench/bench_events.h"
#include "bench/bench_kafka.h"
#include "common/aw_clock.h"
#include "worker/event_state.h"

enum phase { P_DEDUP, P_APPLY, P_TRANSITION, P_GET, P_N };
static const char *const phase_name[P_N] = {"dedup", "apply", "transition", "get"};

typedef struct shared {
    const aw_config *cfg;
    const aw_machine_config *machine;
    aw_state *state;
    const char *run_id;
    long n, events;
    int nthreads;
    pthread_barrier_t start, end;
    atomic_long moved, refused, conflicts;
} shared;

typedef struct part {
    shared *sh;
    int t;
} part;

static _Noreturn void die(const char *what, const aw_error *err)
{
    aw_bench_die("bench_event_ceiling", what, err);
}

/* One action of a thread in one phase: its claim, identity and event. */
typedef struct act {
    long i;
    char id[48], tenant[8], identity[80], fingerprint[64];
    aw_claim claim;
} act;

static void act_init(act *a, const shared *sh, long i, const char *tag)
{
    a->i = i;
    snprintf(a->id, sizeof(a->id), "%s-%s-%ld", sh->run_id, tag, i);
    snprintf(a->tenant, sizeof(a->tenant), "t%ld", i % 8);
    snprintf(a->fingerprint, sizeof(a->fingerprint), "%s-%s:e%ld", sh->run_id, tag,
             aw_bench_event_of(i, sh->events));
    if (aw_event_identity("bench", a->tenant, a->id, a->identity, sizeof(a->identity)))
        exit(1);
    a->claim = (aw_claim){.key = {"bench", a->tenant, "dedup", a->id},
                          .lease_ms = sh->cfg->dedup.lease_ms};
}

static void claim(aw_state_session *s, act *as, size_t n)
{
    aw_claim cl[n];
    aw_error err;
    for (size_t k = 0; k < n; k++)
        cl[k] = as[k].claim;
    if (aw_state_claim_batch(s, cl, n, &err) != AW_OK)
        die("claim_batch", &err);
    for (size_t k = 0; k < n; k++) {
        if (cl[k].result != AW_CLAIM_ACQUIRED) {
            fprintf(stderr, "bench_event_ceiling: claim of %s: result %d\n", as[k].id,
                    (int)cl[k].result);
            exit(1);
        }
        as[k].claim = cl[k];
    }
}

static void complete(aw_state_session *s, act *as, size_t n, const aw_config *cfg)
{
    static const char summary[] = "{\"outcome\":\"state_changed\",\"action_id\":\"x\","
                                  "\"attempts\":1,\"details\":{}}";
    aw_complete cs[n];
    aw_error err;
    for (size_t k = 0; k < n; k++)
        cs[k] = (aw_complete){.key = as[k].claim.key, .token = as[k].claim.token,
                              .source = {"bench", 0, as[k].i}, .summary = summary,
                              .window_ms = cfg->dedup.window_s * 1000};
    if (aw_state_complete_batch(s, cs, n, &err) != AW_OK)
        die("complete_batch", &err);
    for (size_t k = 0; k < n; k++) {
        if (cs[k].stale) {
            fprintf(stderr, "bench_event_ceiling: complete of %s was stale\n", as[k].id);
            exit(1);
        }
        aw_claim_clear(&as[k].claim);
    }
}

static void apply(aw_state_session *s, shared *sh, const act *a)
{
    aw_event_ctx c = {.state = s, .machine = sh->machine, .pool = sh->cfg->kafka.group_id,
                      .now_ms = aw_time_now_ms()};
    aw_event_result res;
    aw_error err;
    if (aw_event_apply(&c, a->fingerprint, aw_bench_event_type(a->i, sh->events), a->identity,
                       a->claim.token, &res, &err) != AW_OK)
        die("aw_event_apply", &err);
    atomic_fetch_add(res.verdict == AW_EVENT_NOT_ALLOWED ? &sh->refused : &sh->moved, 1);
    atomic_fetch_add(&sh->conflicts, res.conflicts);
}

static void get(aw_state_session *s, shared *sh, const act *a)
{
    aw_event e;
    aw_error err;
    if (aw_event_get(s, sh->machine, a->fingerprint, &e, &err) != AW_OK)
        die("aw_event_get", &err);
}

/* One micro-batch of phase ph. */
static void run_batch(aw_state_session *s, shared *sh, enum phase ph, act *as, size_t n)
{
    if (ph == P_DEDUP || ph == P_TRANSITION)
        claim(s, as, n);
    for (size_t k = 0; k < n; k++) {
        if (ph == P_APPLY || ph == P_TRANSITION)
            apply(s, sh, &as[k]);
        else if (ph == P_GET)
            get(s, sh, &as[k]);
    }
    if (ph == P_DEDUP || ph == P_TRANSITION)
        complete(s, as, n, sh->cfg);
}

static void *thread_main(void *arg)
{
    part *p = arg;
    shared *sh = p->sh;
    size_t bs = (size_t)sh->cfg->workers.batch_size;
    aw_state_session *s = aw_bench_state_session(sh->state);
    act *as = calloc(bs, sizeof(*as));
    if (!as)
        exit(1);
    /* The get phase reads the events the transition phase made. */
    static const char *const tag[P_N] = {"d", "a", "x", "x"};
    for (int ph = 0; ph < P_N; ph++) {
        pthread_barrier_wait(&sh->start);
        size_t n = 0;
        for (long i = 0; i < sh->n; i++) {
            if (aw_bench_event_of(i, sh->events) % sh->nthreads != p->t)
                continue;
            act_init(&as[n++], sh, i, tag[ph]);
            if (n == bs) {
                run_batch(s, sh, (enum phase)ph, as, n);
                n = 0;
            }
        }
        if (n)
            run_batch(s, sh, (enum phase)ph, as, n);
        pthread_barrier_wait(&sh->end);
    }
    free(as);
    aw_state_session_close(s);
    return NULL;
}

static const aw_machine_config *first_machine(const aw_config *cfg)
{
    for (size_t r = 0; r < cfg->n_rules; r++)
        if (cfg->rules[r].machine_cfg)
            return cfg->rules[r].machine_cfg;
    fprintf(stderr, "bench_event_ceiling: %s has no state_machine rule\n", cfg->source);
    exit(2);
}

int main(int argc, char **argv)
{
    aw_bench_args a = {.run_id = "ec"};
    if (aw_bench_args_parse(argc, argv, "bench_event_ceiling", &a))
        return 2;
    if (a.events <= 0) {
        fprintf(stderr, "bench_event_ceiling: --events M is required\n");
        return 2;
    }
    aw_config *cfg = NULL;
    shared sh = {.run_id = a.run_id, .n = a.n, .events = a.events};
    aw_bench_open_state(a.config, &cfg, &sh.state);
    sh.cfg = cfg;
    sh.machine = first_machine(cfg);
    sh.nthreads = cfg->workers.threads;
    int k = sh.nthreads;
    long expected = 0;
    for (long i = 0; i < a.n; i++)
        expected += aw_bench_event_moves(i, a.events);
    pthread_barrier_init(&sh.start, NULL, (unsigned)k + 1);
    pthread_barrier_init(&sh.end, NULL, (unsigned)k + 1);
    pthread_t tids[k];
    part parts[k];
    for (int t = 0; t < k; t++) {
        parts[t] = (part){.sh = &sh, .t = t};
        if (pthread_create(&tids[t], NULL, thread_main, &parts[t]))
            exit(1);
    }
    printf("state=%s threads=%d batch=%d n=%ld events=%ld machine=%s\n", cfg->state.backend, k,
           cfg->workers.batch_size, a.n, a.events, sh.machine->name);
    int rc = 0;
    for (int ph = 0; ph < P_N; ph++) {
        atomic_store(&sh.moved, 0);
        atomic_store(&sh.refused, 0);
        atomic_store(&sh.conflicts, 0);
        double srv0 = a.server_pid ? aw_bench_proc_cpu_s(a.server_pid) : -1;
        int64_t t0 = aw_bench_now_us();
        pthread_barrier_wait(&sh.start);
        pthread_barrier_wait(&sh.end);
        double wall = (double)(aw_bench_now_us() - t0) / 1e6;
        double srv1 = a.server_pid ? aw_bench_proc_cpu_s(a.server_pid) : -1;
        printf("phase=%s actions=%ld seconds=%.3f rate=%.0f", phase_name[ph], a.n, wall,
               (double)a.n / wall);
        if (ph == P_APPLY || ph == P_TRANSITION) {
            long moved = atomic_load(&sh.moved);
            printf(" moved=%ld refused=%ld conflicts=%ld transitions_rate=%.0f", moved,
                   atomic_load(&sh.refused), atomic_load(&sh.conflicts), (double)moved / wall);
            if (moved != expected) {
                fprintf(stderr, "bench_event_ceiling: %s: %ld moves, expected %ld\n",
                        phase_name[ph], moved, expected);
                rc = 1;
            }
        }
        if (srv0 >= 0 && srv1 >= 0)
            printf(" server_us=%.1f", (srv1 - srv0) * 1e6 / (double)a.n);
        printf("\n");
        fflush(stdout);
    }
    for (int t = 0; t < k; t++)
        pthread_join(tids[t], NULL);
    pthread_barrier_destroy(&sh.start);
    pthread_barrier_destroy(&sh.end);
    aw_state_destroy(sh.state);
    aw_config_destroy(cfg);
    return rc;
}
