/* common/aw_fail_log.h: many threads failing the same call at once log one
 * "down" line per streak, at most one reminder per period, and one "up
 * again" line with the streak's count, however many threads and attempts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>

#include "common/aw_fail_log.h"
#include "common/aw_log.h"

#define N_THREADS 8
#define N_ATTEMPTS 500

/* Log into a temporary file; count the lines holding `needle`. */
static FILE *log_file;

static int setup(void **state)
{
    (void)state;
    log_file = tmpfile();
    assert_non_null(log_file);
    aw_log_init(AW_LOG_INFO, AW_LOG_TEXT, fileno(log_file));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    aw_log_init(AW_LOG_WARN, AW_LOG_TEXT, 2);
    fclose(log_file);
    return 0;
}

static int count_lines(const char *needle)
{
    char line[1024];
    int n = 0;
    rewind(log_file);
    while (fgets(line, sizeof(line), log_file))
        n += strstr(line, needle) != NULL;
    return n;
}

static void *fail_many(void *arg)
{
    aw_fail_log *f = arg;
    for (int i = 0; i < N_ATTEMPTS; i++)
        aw_fail_log_failed(f, "connect: Connection refused");
    return NULL;
}

static void *recover(void *arg)
{
    aw_fail_log_ok(arg);
    return NULL;
}

static void run_threads(void *(*fn)(void *), aw_fail_log *f)
{
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, f), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
}

static void test_one_line_per_transition(void **state)
{
    (void)state;
    aw_fail_log f;
    aw_fail_log_init(&f, "test", "state backend", "retrying", 3600 * 1000);
    assert_false(aw_fail_log_failing(&f));
    assert_int_equal(aw_fail_log_ok(&f), 0); /* no streak: silent */
    run_threads(fail_many, &f);
    assert_true(aw_fail_log_failing(&f));
    run_threads(recover, &f);
    assert_false(aw_fail_log_failing(&f));
    assert_int_equal(count_lines("state backend down: connect: Connection refused (retrying)"), 1);
    assert_int_equal(count_lines("still down"), 0);
    assert_int_equal(count_lines("state backend up again after "), 1);
    char want[128];
    snprintf(want, sizeof(want), "(%d failed attempt(s))", N_THREADS * N_ATTEMPTS);
    assert_int_equal(count_lines(want), 1);

    /* A second streak is a new transition. */
    aw_fail_log_failed(&f, "timeout");
    aw_fail_log_failed(&f, "timeout");
    assert_int_equal(aw_fail_log_ok(&f), 2);
    assert_int_equal(count_lines("state backend down: "), 2);
    assert_int_equal(count_lines("(2 failed attempt(s))"), 1);
}

static void test_reminder_at_most_once_per_period(void **state)
{
    (void)state;
    static aw_fail_log f = AW_FAIL_LOG_INIT("test", "audit backend", NULL, 1);
    assert_true(aw_fail_log_failed(&f, "refused"));
    usleep(5000); /* past the first period (no synchronisation: a lower bound) */
    run_threads(fail_many, &f);
    /* Some reminders (the attempts span several periods), never one per
     * attempt: each period lets exactly one thread through. */
    int reminders = count_lines("audit backend still down: connect: Connection refused (");
    assert_true(reminders >= 1);
    assert_true(reminders < N_THREADS * N_ATTEMPTS / 2);
    aw_fail_log_ok(&f);
    assert_int_equal(count_lines("audit backend up again after "), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_line_per_transition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reminder_at_most_once_per_period, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
