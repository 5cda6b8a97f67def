/* What each state call of the two-phase dedup costs, one kind of call at a
 * time: for tuning a backend (DynamoDB on dynalite first) rather than for
 * the ceiling (bench_backend does that).
 *
 *   bench_state_calls -c WORKER_CONFIG -n N [--server-pid PID] [--run-id ID]
 *
 * workers.threads threads, each with its own session, run these phases one
 * after the other over N identities in batches of workers.batch_size:
 *   claim     claim_batch of fresh identities (all ACQUIRED)
 *   renew     lease_renew of each lease, one call at a time
 *   renew_batch  lease_renew_batch of the same leases, AW_LEASE_KEEPER_BATCH
 *             per call (as the lease keeper renews them)
 *   complete  complete_batch of those leases
 *   dup       claim_batch of the same identities again (all DONE)
 *   release   lease_release of N fresh leases (taken first, not counted)
 * Per phase: wall time, calls/s, our process's CPU per call and, with
 * --server-pid, the server's CPU per call (utime + stime of /proc/PID/stat,
 * all its threads: a single-threaded server such as dynalite is bound by
 * that). Figures from a shared machine move: compare two binaries in the
 * same run, interleaved. Nothing here asserts anything. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "backends/state/state.h"
#include "bench/bench_kafka.h"
#include "worker/lease_keeper.h"

enum phase { P_CLAIM, P_RENEW, P_RENEW_BATCH, P_COMPLETE, P_DUP, P_RELEASE_TAKE, P_RELEASE, P_N };
static const char *const phase_name[P_N] = {"claim", "renew", "renew_batch", "complete", "dup",
                                            NULL, "release"};

typedef struct shared {
    const aw_config *cfg;
    aw_state *state;
    const char *run_id;
    long n;
    int nthreads;
    pthread_barrier_t start, end;
} shared;

typedef struct part {
    shared *sh;
    long from, to;
    enum phase phase;
} part;

static _Noreturn void die(const char *what, const aw_error *err)
{
    aw_bench_die("bench_state_calls", what, err);
}

/* One thread's items: keys, claims, completes (indexes [from, to)). */
typedef struct items {
    size_t n;
    char (*ids)[48];
    aw_claim *claims;
    aw_complete *cs;
} items;

static void items_init(items *it, const part *p, const char *tag)
{
    it->n = (size_t)(p->to - p->from);
    it->ids = calloc(it->n ? it->n : 1, sizeof(*it->ids));
    it->claims = calloc(it->n ? it->n : 1, sizeof(*it->claims));
    it->cs = calloc(it->n ? it->n : 1, sizeof(*it->cs));
    if (!it->ids || !it->claims || !it->cs)
        exit(1);
    for (size_t k = 0; k < it->n; k++) {
        snprintf(it->ids[k], sizeof(it->ids[k]), "%s-%s-%ld", p->sh->run_id, tag,
                 p->from + (long)k);
        it->claims[k] = (aw_claim){.key = {"bench", "t0", "dedup", it->ids[k]},
                                   .lease_ms = p->sh->cfg->dedup.lease_ms};
    }
}

static void items_free(items *it)
{
    for (size_t k = 0; k < it->n; k++)
        aw_claim_clear(&it->claims[k]);
    free(it->ids);
    free(it->claims);
    free(it->cs);
}

/* claim_batch over all items; every result must be want. */
static void claim_all(aw_state_session *s, items *it, size_t bs, aw_claim_result want)
{
    aw_error err;
    for (size_t i = 0; i < it->n; i += bs) {
        size_t m = it->n - i < bs ? it->n - i : bs;
        for (size_t k = i; k < i + m; k++) {
            aw_claim_clear(&it->claims[k]);
            it->claims[k].result = AW_CLAIM_BUSY;
        }
        if (aw_state_claim_batch(s, it->claims + i, m, &err) != AW_OK)
            die("claim_batch", &err);
        for (size_t k = i; k < i + m; k++)
            if (it->claims[k].result != want) {
                fprintf(stderr, "bench_state_calls: claim of %s: result %d, expected %d\n",
                        it->ids[k], (int)it->claims[k].result, (int)want);
                exit(1);
            }
    }
}

static void complete_all(aw_state_session *s, items *it, size_t bs, int64_t window_ms)
{
    aw_error err;
    static const char summary[] = "{\"outcome\":\"executed\",\"action_id\":\"x\",\"attempts\":1,"
                                  "\"details\":{}}";
    for (size_t k = 0; k < it->n; k++)
        it->cs[k] = (aw_complete){.key = it->claims[k].key, .token = it->claims[k].token,
                                  .source = {"bench", 0, (int64_t)k}, .summary = summary,
                                  .window_ms = window_ms};
    for (size_t i = 0; i < it->n; i += bs) {
        size_t m = it->n - i < bs ? it->n - i : bs;
        if (aw_state_complete_batch(s, it->cs + i, m, &err) != AW_OK)
            die("complete_batch", &err);
        for (size_t k = i; k < i + m; k++)
            if (it->cs[k].stale) {
                fprintf(stderr, "bench_state_calls: complete of %s was stale\n", it->ids[k]);
                exit(1);
            }
    }
}

/* Renew or release every lease, one call at a time. */
static void hold_all(aw_state_session *s, items *it, bool release, int64_t lease_ms)
{
    aw_error err;
    for (size_t k = 0; k < it->n; k++) {
        aw_status rc = release ? aw_state_lease_release(s, &it->claims[k].key,
                                                        it->claims[k].token, &err)
                               : aw_state_lease_renew(s, &it->claims[k].key,
                                                      it->claims[k].token, lease_ms, &err);
        if (rc != AW_OK)
            die(release ? "lease_release" : "lease_renew", &err);
    }
}

/* Renew every lease, AW_LEASE_KEEPER_BATCH per call; none may be stale. */
static void renew_batches(aw_state_session *s, items *it, int64_t lease_ms)
{
    aw_error err;
    aw_lease_renewal r[AW_LEASE_KEEPER_BATCH];
    for (size_t i = 0; i < it->n; i += AW_LEASE_KEEPER_BATCH) {
        size_t m = it->n - i < AW_LEASE_KEEPER_BATCH ? it->n - i : AW_LEASE_KEEPER_BATCH;
        for (size_t k = 0; k < m; k++)
            r[k] = (aw_lease_renewal){.key = it->claims[i + k].key,
                                      .token = it->claims[i + k].token};
        if (aw_state_lease_renew_batch(s, r, m, lease_ms, &err) != AW_OK)
            die("lease_renew_batch", &err);
        for (size_t k = 0; k < m; k++)
            if (r[k].stale) {
                fprintf(stderr, "bench_state_calls: renewal of %s was stale\n", it->ids[i + k]);
                exit(1);
            }
    }
}

static void *thread_main(void *arg)
{
    part *p = arg;
    const aw_config *cfg = p->sh->cfg;
    size_t bs = (size_t)cfg->workers.batch_size;
    aw_state_session *s = aw_bench_state_session(p->sh->state);
    items a, b;
    items_init(&a, p, "a");
    items_init(&b, p, "b");
    for (int ph = 0; ph < P_N; ph++) {
        pthread_barrier_wait(&p->sh->start);
        switch ((enum phase)ph) {
        case P_CLAIM: claim_all(s, &a, bs, AW_CLAIM_ACQUIRED); break;
        case P_RENEW: hold_all(s, &a, false, cfg->dedup.lease_ms); break;
        case P_RENEW_BATCH: renew_batches(s, &a, cfg->dedup.lease_ms); break;
        case P_COMPLETE: complete_all(s, &a, bs, cfg->dedup.window_s * 1000); break;
        case P_DUP: claim_all(s, &a, bs, AW_CLAIM_DONE); break;
        case P_RELEASE_TAKE: claim_all(s, &b, bs, AW_CLAIM_ACQUIRED); break;
        case P_RELEASE: hold_all(s, &b, true, 0); break;
        case P_N: break;
        }
        pthread_barrier_wait(&p->sh->end);
    }
    items_free(&a);
    items_free(&b);
    aw_state_session_close(s);
    return NULL;
}

int main(int argc, char **argv)
{
    aw_bench_args a = {.run_id = "sc"};
    if (aw_bench_args_parse(argc, argv, "bench_state_calls", &a))
        return 2;
    long n = a.n, server_pid = a.server_pid;
    const char *run_id = a.run_id;
    aw_config *cfg = NULL;
    shared sh = {.run_id = run_id, .n = n};
    aw_bench_open_state(a.config, &cfg, &sh.state);
    sh.cfg = cfg;
    sh.nthreads = cfg->workers.threads;
    int k = sh.nthreads;
    pthread_barrier_init(&sh.start, NULL, (unsigned)k + 1);
    pthread_barrier_init(&sh.end, NULL, (unsigned)k + 1);
    pthread_t tids[k];
    part parts[k];
    for (int t = 0; t < k; t++) {
        parts[t] = (part){.sh = &sh, .from = n * t / k, .to = n * (t + 1) / k};
        if (pthread_create(&tids[t], NULL, thread_main, &parts[t]))
            exit(1);
    }
    printf("state=%s threads=%d batch=%d n=%ld\n", cfg->state.backend, k,
           cfg->workers.batch_size, n);
    for (int ph = 0; ph < P_N; ph++) {
        struct rusage r0, r1;
        double srv0 = server_pid ? aw_bench_proc_cpu_s(server_pid) : -1;
        getrusage(RUSAGE_SELF, &r0);
        int64_t t0 = aw_bench_now_us();
        pthread_barrier_wait(&sh.start);
        pthread_barrier_wait(&sh.end);
        double wall = (double)(aw_bench_now_us() - t0) / 1e6;
        getrusage(RUSAGE_SELF, &r1);
        double srv1 = server_pid ? aw_bench_proc_cpu_s(server_pid) : -1;
        if (!phase_name[ph])
            continue;
        double ours = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec +
                               r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                      (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec +
                               r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
        printf("phase=%s calls=%ld seconds=%.3f rate=%.0f our_us=%.1f", phase_name[ph], n,
               wall, (double)n / wall, ours * 1e6 / (double)n);
        if (srv0 >= 0 && srv1 >= 0)
            printf(" server_us=%.1f", (srv1 - srv0) * 1e6 / (double)n);
        printf("\n");
        fflush(stdout);
    }
    for (int t = 0; t < k; t++)
        pthread_join(tids[t], NULL);
    pthread_barrier_destroy(&sh.start);
    pthread_barrier_destroy(&sh.end);
    aw_state_destroy(sh.state);
    aw_config_destroy(cfg);
    return 0;
}
