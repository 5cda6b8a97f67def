/* CPU cost of building one reply (the worker does it for every action), three
 * ways, in the same run, on the same record, timed in process CPU time (the
 * machine may be busy):
 *   whole:  the whole record's JSON tree, payload parsed back from its text,
 *           then the payload deleted, dumped (the first worker);
 *   tree:   a jansson tree of the reply without the payload, dumped
 *           (aw_reply_from_record + json_dumps);
 *   direct: the text written straight into a buffer (aw_reply_write, what
 *           the worker does now; byte-equal to "tree").
 *
 *   bench_reply [-n ITERATIONS]
 *
 * Prints ns per reply for each and the ratios to "tree". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backends/audit/audit_record.h"

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The previous aw_reply_from_record(). */
static json_t *reply_whole_then_delete(const aw_audit_record *r)
{
    json_t *j = aw_audit_record_to_json(r);
    if (j)
        json_object_del(j, "payload");
    return j;
}

static double run_direct(const aw_audit_record *r, long n, size_t *bytes)
{
    double t0 = cpu_ns();
    for (long i = 0; i < n; i++) {
        aw_buf b = {0};
        if (aw_reply_write(r, &b) != 0) {
            fprintf(stderr, "bench_reply: cannot write the reply\n");
            exit(1);
        }
        *bytes = b.len;
        aw_buf_free(&b);
    }
    return (cpu_ns() - t0) / (double)n;
}

static double run(json_t *(*build)(const aw_audit_record *), const aw_audit_record *r, long n,
                  size_t *bytes)
{
    double t0 = cpu_ns();
    for (long i = 0; i < n; i++) {
        json_t *j = build(r);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (!text) {
            fprintf(stderr, "bench_reply: cannot build the reply\n");
            exit(1);
        }
        *bytes = strlen(text);
        free(text);
        json_decref(j);
    }
    return (cpu_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long n = 200000;
    int c;
    while ((c = getopt(argc, argv, "n:")) != -1) {
        if (c != 'n')
            return 2;
        n = atol(optarg);
    }
    /* What bench_load's actions become (a noop provider, executed). */
    aw_audit_record r = {
        .record_id = "fill:7:12345", .action_id = "b-12345", .ns = "bench", .tenant = "t1",
        .provider = "noop", .action_type = "notify", .dedup_identity = "bench:t1:b-12345",
        .outcome = AW_OUTCOME_EXECUTED, .details = "{}",
        .payload = "{\"n\":12345,\"to\":\"user12345@example.com\",\"subject\":\"benchmark action\"}",
        .metadata = "{\"sent_us\":\"1764112000000000\"}", .source_topic = "fill",
        .source_partition = 7, .source_offset = 12345, .worker_id = "bench", .fencing_token = 3,
        .attempts = 1, .dispatched_at_ms = 1764112000000, .completed_at_ms = 1764112000001,
        .duration_ms = 1, .expires_at_ms = 1766704000001};
    size_t b_whole = 0, b_tree = 0, b_direct = 0;
    run(aw_reply_from_record, &r, n / 10, &b_tree); /* warm-up */
    double whole_ns = run(reply_whole_then_delete, &r, n, &b_whole);
    double tree_ns = run(aw_reply_from_record, &r, n, &b_tree);
    double direct_ns = run_direct(&r, n, &b_direct);
    if (b_whole != b_tree || b_direct != b_tree) {
        fprintf(stderr, "bench_reply: the replies differ (%zu, %zu, %zu bytes)\n", b_whole,
                b_tree, b_direct);
        return 1;
    }
    printf("reply_bytes=%zu whole_ns=%.0f tree_ns=%.0f direct_ns=%.0f whole/tree=%.2f "
           "direct/tree=%.2f\n",
           b_tree, whole_ns, tree_ns, direct_ns, whole_ns / tree_ns, direct_ns / tree_ns);
    return 0;
}
