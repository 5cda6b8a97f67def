/* The backend's ceiling for group members: the state operations a member
 * of a group rule costs (worker/group_state.h: read the head, read the
 * group, the marker, the compare-and-swap; a due put for the member that
 * opens or fills a group), called directly through aw_group_join with no
 * Kafka, no provider, no claim and no pipeline, using the worker's own
 * config file (its first group rule, state backend, URL, key prefix,
 * workers.threads).
 *
 *   bench_group -c WORKER_CONFIG -n N [--run-id ID] [--server-pid PID]
 *
 * Member i joins group "<run id>-<i / max_size>" (groups of the rule's
 * max_size, each filled once); thread t of T joins i = t, t + T, ..., so
 * the members of one group are joined by every thread at once and race for
 * it, as the replicas of tests/integration/rules_group_body.sh do. Prints
 * members/s, the compare-and-swap races lost per member, and with
 * --server-pid the server's CPU per member. Nothing here asserts a timing. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/state/state.h"
#include "bench/bench_kafka.h"
#include "common/aw_clock.h"
#include "config/config.h"
#include "worker/group_state.h"

typedef struct part {
    const aw_config *cfg;
    const aw_rule_config *rule;
    aw_state *state;
    const char *run_id;
    long n;
    int t, threads;
    long conflicts;
    int64_t end_us;
} part;

static void *join_thread(void *arg)
{
    part *p = arg;
    aw_state_session *s = aw_bench_state_session(p->state);
    char key[96], id[96], identity[128], payload[128];
    for (long i = p->t; i < p->n; i += p->threads) {
        snprintf(key, sizeof(key), "%s-%ld", p->run_id, i / p->rule->max_size);
        snprintf(id, sizeof(id), "%s-%ld", p->run_id, i);
        snprintf(identity, sizeof(identity), "bench:t%ld:%s", i % 8, id);
        int len = snprintf(payload, sizeof(payload),
                           "{\"n\":%ld,\"host\":\"%s\",\"subject\":\"benchmark alert\"}", i, key);
        aw_group_member m = {.action_id = id, .identity = identity, .record_id = id,
                             .payload = payload, .payload_len = (size_t)len,
                             .provider = "noop", .action_type = "alert"};
        aw_group_ctx c = {.state = s, .rule = p->rule, .pool = p->cfg->kafka.group_id,
                          .now_ms = aw_time_now_ms()};
        aw_group_joined j;
        aw_error err;
        aw_error_clear(&err);
        aw_status rc;
        while ((rc = aw_group_join(&c, key, &m, &j, &err)) == AW_CONFLICT && err.retriable)
            p->conflicts += AW_GROUP_MAX_RACES;
        if (rc != AW_OK) {
            fprintf(stderr, "bench_group: join %s: %s\n", id, err.msg);
            exit(1);
        }
        p->conflicts += j.conflicts;
        aw_group_joined_clear(&j);
    }
    p->end_us = aw_bench_now_us();
    aw_state_session_close(s);
    return NULL;
}

int main(int argc, char **argv)
{
    aw_bench_args a = {.run_id = "bg"};
    if (aw_bench_args_parse(argc, argv, "bench_group", &a))
        return 2;
    aw_config *cfg = NULL;
    aw_state *st = NULL;
    aw_bench_open_state(a.config, &cfg, &st);
    const aw_rule_config *rule = NULL;
    for (size_t i = 0; i < cfg->n_rules && !rule; i++)
        if (strcmp(cfg->rules[i].verdict, "group") == 0)
            rule = &cfg->rules[i];
    if (!rule) {
        fprintf(stderr, "bench_group: %s has no group rule\n", a.config);
        return 2;
    }
    int k = cfg->workers.threads;
    pthread_t tids[k];
    part ps[k];
    double srv0 = a.server_pid ? aw_bench_proc_cpu_s(a.server_pid) : -1;
    int64_t t0 = aw_bench_now_us(), end = t0;
    for (int t = 0; t < k; t++) {
        ps[t] = (part){.cfg = cfg, .rule = rule, .state = st, .run_id = a.run_id, .n = a.n,
                       .t = t, .threads = k};
        if (pthread_create(&tids[t], NULL, join_thread, &ps[t]))
            return 1;
    }
    long conflicts = 0;
    for (int t = 0; t < k; t++) {
        pthread_join(tids[t], NULL);
        end = ps[t].end_us > end ? ps[t].end_us : end;
        conflicts += ps[t].conflicts;
    }
    double s = (double)(end - t0) / 1e6;
    printf("members=%ld state=%s threads=%d max_size=%" PRId64 " rate=%.0f races_per_member=%.3f\n",
           a.n, cfg->state.backend, k, rule->max_size, (double)a.n / s,
           (double)conflicts / (double)a.n);
    double srv1 = a.server_pid ? aw_bench_proc_cpu_s(a.server_pid) : -1;
    if (srv0 >= 0 && srv1 >= 0)
        printf("server_cpu_us_per_member=%.0f\n", (srv1 - srv0) * 1e6 / (double)a.n);
    aw_state_destroy(st);
    aw_config_destroy(cfg);
    return 0;
}
