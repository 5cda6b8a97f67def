/* The reaper of the "postgres" state backend: see pg_reaper.h. */
#include "backends/state/postgres/pg_reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/aw_log.h"

/* Immutable after start, except the atomics. The thread owns conn. */
struct aw_pg_reaper {
    const aw_pg_config *cfg;
    int64_t interval_ms;
    int wake[2];                 /* written once by stop; read end polled */
    pthread_t thread;
    atomic_bool stop;
    _Atomic int64_t grace_ms;
    _Atomic uint64_t deleted;
    _Atomic uint64_t sweeps;
    aw_pg_conn conn;             /* reaper thread only */
};

/* Wait for the interval or the stop signal; true when stopping. */
static bool reaper_idle(aw_pg_reaper *r)
{
    if (atomic_load(&r->stop))
        return true;
    struct pollfd pfd = {.fd = r->wake[0], .events = POLLIN};
    int64_t ms = r->interval_ms > 3600000 ? 3600000 : r->interval_ms;
    int rc;
    while ((rc = poll(&pfd, 1, (int)ms)) < 0 && errno == EINTR)
        ;
    return rc != 0 || atomic_load(&r->stop);
}

/* Delete expired rows of one table, chunk by chunk. */
static aw_status reap_table(aw_pg_reaper *r, aw_pg_stmt stmt, int64_t grace_ms, aw_error *err)
{
    for (;;) {
        if (atomic_load(&r->stop))
            return AW_OK;
        aw_pg_params p;
        PGresult *res = NULL;
        aw_pg_params_init(&p);
        aw_pg_param_i64(&p, AW_PG_REAP_CHUNK);
        aw_pg_param_i64(&p, grace_ms);
        aw_status rc = aw_pg_exec(&r->conn, stmt, &p, &res, err);
        if (rc != AW_OK)
            return rc;
        long n = strtol(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        if (n > 0)
            atomic_fetch_add(&r->deleted, (uint64_t)n);
        if (n < AW_PG_REAP_CHUNK)
            return AW_OK;
    }
}

static void *reaper_main(void *arg)
{
    aw_pg_reaper *r = arg;
    bool failing = false;
    while (!reaper_idle(r)) {
        aw_error err = {0};
        int64_t grace = atomic_load(&r->grace_ms);
        aw_status rc = reap_table(r, AW_PG_REAP_VALUES, 0, &err);
        if (rc == AW_OK)
            rc = reap_table(r, AW_PG_REAP_LOCKS, grace, &err);
        if (rc == AW_OK)
            rc = reap_table(r, AW_PG_REAP_DEDUP, grace, &err);
        if (atomic_load(&r->stop))
            break;
        if (rc != AW_OK && !failing)
            AW_WARN("state.postgres", "reaper: %s (retrying every %lld ms)", err.msg,
                    (long long)r->interval_ms);
        else if (rc == AW_OK && failing)
            AW_INFO("state.postgres", "reaper: working again");
        failing = rc != AW_OK;
        if (rc == AW_OK)
            atomic_fetch_add(&r->sweeps, 1);
    }
    aw_pg_conn_drop(&r->conn);
    return NULL;
}

static int cloexec_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        (void)fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    return 0;
}

aw_status aw_pg_reaper_start(const aw_pg_config *cfg, int64_t interval_ms, aw_pg_reaper **out,
                             aw_error *err)
{
    *out = NULL;
    aw_pg_reaper *r = calloc(1, sizeof(*r));
    if (!r)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    r->cfg = cfg;
    r->interval_ms = interval_ms > 0 ? interval_ms : AW_PG_DEFAULT_REAPER_MS;
    atomic_init(&r->stop, false);
    atomic_init(&r->grace_ms, AW_PG_REAP_GRACE_MS);
    atomic_init(&r->deleted, 0);
    atomic_init(&r->sweeps, 0);
    if (cloexec_pipe(r->wake) != 0) {
        free(r);
        return aw_error_set(err, AW_INTERNAL, "postgres reaper: pipe: %s", strerror(errno));
    }
    aw_pg_conn_init(&r->conn, cfg, r->wake[0]);
    /* Last step: nothing after the thread starts can fail. */
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
        close(r->wake[0]);
        close(r->wake[1]);
        free(r);
        return aw_error_set(err, AW_INTERNAL, "postgres reaper: cannot start its thread");
    }
    *out = r;
    return AW_OK;
}

void aw_pg_reaper_stop(aw_pg_reaper *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    ssize_t w;
    while ((w = write(r->wake[1], "x", 1)) < 0 && errno == EINTR)
        ;
    pthread_join(r->thread, NULL);
    close(r->wake[0]);
    close(r->wake[1]);
    free(r);
}

void aw_pg_reaper_set_grace_ms(aw_pg_reaper *r, int64_t ms)
{
    if (r)
        atomic_store(&r->grace_ms, ms);
}

uint64_t aw_pg_reaper_deleted(const aw_pg_reaper *r)
{
    return r ? atomic_load(&((aw_pg_reaper *)r)->deleted) : 0;
}

uint64_t aw_pg_reaper_sweeps(const aw_pg_reaper *r)
{
    return r ? atomic_load(&((aw_pg_reaper *)r)->sweeps) : 0;
}
