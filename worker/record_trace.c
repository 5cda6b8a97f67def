#include "worker/record_trace.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/aw_buf.h"

/* Opened once before main (no thread yet), read-only afterwards. */
static int trace_fd = -1;

__attribute__((constructor)) static void open_trace(void)
{
    const char *path = getenv("AW_TEST_RECORD_TRACE");
    if (!path || !*path)
        return;
    trace_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (trace_fd < 0)
        perror("AW_TEST_RECORD_TRACE");
}

void aw_record_trace(char what, const aw_complete *items, size_t n)
{
    if (trace_fd < 0 || n == 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    aw_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        const aw_complete *c = &items[i];
        if (what == 'A' && c->stale)
            continue;
        if (aw_buf_printf(&b, "%c\t%s:%s:%s\t%llu\t%lld\n", what, c->key.ns, c->key.tenant,
                          c->key.id, (unsigned long long)c->token, us))
            break;
    }
    if (b.len && write(trace_fd, b.data, b.len) < 0)
        perror("AW_TEST_RECORD_TRACE");
    aw_buf_free(&b);
}
