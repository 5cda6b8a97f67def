/* The consumer lag on /metrics: one series per partition assigned now, none
 * for a partition the consumer lost, although librdkafka's statistics keep
 * reporting it (with the lag frozen at the moment it was lost). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/aw_buf.h"
#include "worker/metrics.h"

/* Statistics of a consumer of t (partitions 0, 1 and 2: lags 5, 7 and 0;
 * the internal partition -1 and one it does not fetch, lag -1, are never
 * series). */
static const char stats[] =
    "{\"topics\": {\"t\": {\"partitions\": {"
    "\"0\": {\"partition\": 0, \"consumer_lag\": 5, \"committed_offset\": 10},"
    "\"1\": {\"partition\": 1, \"consumer_lag\": 7, \"committed_offset\": 20},"
    "\"2\": {\"partition\": 2, \"consumer_lag\": 0, \"committed_offset\": 30},"
    "\"3\": {\"partition\": 3, \"consumer_lag\": -1, \"committed_offset\": -1001},"
    "\"-1\": {\"partition\": -1, \"consumer_lag\": -1, \"committed_offset\": -1001}}}}}";

/* The assignment: a bit per partition of t. */
static bool assigned(void *ud, const char *topic, int32_t partition)
{
    unsigned set = *(const unsigned *)ud;
    return strcmp(topic, "t") == 0 && partition >= 0 && partition < 32 &&
           (set >> partition) & 1u;
}

/* The rendered text (caller frees). */
static char *render(aw_metrics *m)
{
    aw_metrics_gauges g = {0};
    aw_buf out = {0};
    assert_int_equal(aw_metrics_render(m, &g, &out), 0);
    assert_non_null(out.data);
    return out.data;
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static void test_only_assigned_partitions_exported(void **state)
{
    (void)state;
    aw_metrics m;
    assert_int_equal(aw_metrics_init(&m), 0);
    unsigned set = 0x5; /* 0 and 2; 1 was lost with a lag of 7 */
    aw_metrics_update_lag(&m, stats, strlen(stats), assigned, &set);
    char *text = render(&m);
    assert_non_null(strstr(text, "acteon_consumer_lag{topic=\"t\",partition=\"0\"} 5\n"));
    assert_non_null(strstr(text, "acteon_consumer_lag{topic=\"t\",partition=\"2\"} 0\n"));
    assert_null(strstr(text, "partition=\"1\""));
    assert_int_equal(count(text, "acteon_consumer_lag{"), 2);
    free(text);
    /* The lost partition stays in the table, for the fetch-stall watchdog. */
    assert_int_equal(m.n_lags, 3);
    aw_metrics_destroy(&m);
}

static void test_revoke_drops_series_at_once(void **state)
{
    (void)state;
    aw_metrics m;
    assert_int_equal(aw_metrics_init(&m), 0);
    unsigned set = 0x7;
    aw_metrics_update_lag(&m, stats, strlen(stats), assigned, &set);
    char *text = render(&m);
    assert_int_equal(count(text, "acteon_consumer_lag{"), 3);
    free(text);
    /* Partitions 0 and 1 revoked: gone before the next statistics. */
    set = 0x4;
    aw_metrics_mark_assigned(&m, assigned, &set);
    text = render(&m);
    assert_int_equal(count(text, "acteon_consumer_lag{"), 1);
    assert_non_null(strstr(text, "acteon_consumer_lag{topic=\"t\",partition=\"2\"} 0\n"));
    free(text);
    /* Everything lost: no series at all, the metric's HELP and TYPE stay. */
    set = 0;
    aw_metrics_mark_assigned(&m, assigned, &set);
    text = render(&m);
    assert_int_equal(count(text, "acteon_consumer_lag{"), 0);
    assert_non_null(strstr(text, "# TYPE acteon_consumer_lag gauge\n"));
    free(text);
    /* Assigned again: back at once, with the last statistics' value. */
    set = 0x2;
    aw_metrics_mark_assigned(&m, assigned, &set);
    text = render(&m);
    assert_non_null(strstr(text, "acteon_consumer_lag{topic=\"t\",partition=\"1\"} 7\n"));
    assert_int_equal(count(text, "acteon_consumer_lag{"), 1);
    free(text);
    aw_metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_assigned_partitions_exported),
        cmocka_unit_test(test_revoke_drops_series_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
