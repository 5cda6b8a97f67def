/* Providers execute an action. One `static const aw_provider_driver` per type
 * ("log", "webhook", ...). A provider instance (created from one entry of the
 * `providers` config list) is shared by all worker threads; each worker
 * thread opens its own session (for the webhook: its own CURL handle, so
 * connections are reused per thread and never shared).
 *
 * execute() performs one attempt. Retries with backoff are the caller's job
 * (worker/pipeline, worker/execute_round), driven by result->retriable.
 *
 * execute_many() (optional) performs one attempt of each of several calls
 * concurrently, up to the driver's own bound in flight at once; callers go
 * through aw_provider_execute_many() (provider_set.h), which runs drivers
 * without it one call at a time. */
#ifndef AW_PROVIDER_H
#define AW_PROVIDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_error.h"
#include "config/config.h"
#include "ingest/action.h"

typedef struct aw_provider_call {
    const aw_action *action;   /* decoded action (borrowed) */
    const char *body;          /* the original message bytes (borrowed) */
    size_t body_len;
    const char *identity;      /* "ns:tenant:key", sent as Idempotency-Key */
    uint64_t fencing_token;    /* sent as X-Acteon-Fencing-Token */
    uint64_t lock_token;       /* a lock rule's lock (docs/rules.md), sent as
                                  X-Acteon-Lock-Token; 0 = no lock, no header */
    int attempt;               /* 1-based */
    struct aw_buf *answer;     /* NULL, or (chain steps) the caller's buffer:
                                  reset, then filled with the answer body's
                                  first answer_max bytes by drivers that
                                  have one (the webhook) */
    size_t answer_max;
} aw_provider_call;

typedef struct aw_provider_result {
    bool ok;                   /* executed */
    bool retriable;            /* failed, and another attempt may succeed */
    int http_status;           /* 0 when not HTTP or no answer */
    char error_code[32];       /* "timeout", "connect", "http_500", ... ("" if ok) */
    char error[256];           /* human-readable ("" if ok) */
    /* Set by execute_many only: */
    bool not_started;          /* the call was not made (stop flag or start
                                  deadline): every other field is meaningless */
    int64_t elapsed_us;        /* from the start of the call to its answer */
} aw_provider_result;

/* How execute_many is driven: when it stops starting calls (calls already
 * under way always run to their answer or their timeout), and whom it tells
 * of each answer as it comes. */
typedef struct aw_provider_stop {
    const atomic_bool *flag;   /* set -> start nothing more (NULL: never) */
    int64_t start_until_ms;    /* aw_mono_now_ms(): start nothing after it,
                                  except the first call (0: no deadline) */
    /* Optional, both called on the calling thread before execute_many
     * returns: answered(ud, i) as soon as res[i] holds the answer to
     * calls[i]; tick(ud) between waits while calls run, which returns the
     * longest wait in ms it wants before the next tick (<= 0: no wish). The
     * caller records finished work from them while other calls still run. */
    void (*answered)(void *ud, size_t i);
    int64_t (*tick)(void *ud);
    /* Optional: may calls[i] start now? Asked just before it would; a no
     * stops the starting of calls as the flag does (the caller's next
     * round sorts out which may go on). */
    bool (*may_start)(void *ud, size_t i);
    void *ud;
} aw_provider_stop;

typedef struct aw_provider_driver {
    const char *type;
    aw_status (*create)(const aw_provider_config *cfg, void **provider, aw_error *err);
    void (*destroy)(void *provider);
    aw_status (*session_open)(void *provider, void **session, aw_error *err);
    void (*session_close)(void *session);
    /* One attempt. Returns AW_OK when an answer (success or failure) is in
     * *res; an error code only for a broken session. */
    aw_status (*execute)(void *session, const aw_provider_call *call, aw_provider_result *res,
                         aw_error *err);
    /* Optional. One attempt of each of calls[0..n) concurrently; res[i]
     * receives the answer to calls[i], or not_started when stop (may be
     * NULL) kept it from being made. Returns AW_OK when every res[i] is
     * filled; a problem of one call (a refused header, no memory for its
     * request) is that call's result. An error code only when no call was
     * made at all (a broken session): then no res[i] is meaningful. */
    aw_status (*execute_many)(void *session, const aw_provider_call *calls,
                              aw_provider_result *res, size_t n, const aw_provider_stop *stop,
                              aw_error *err);
} aw_provider_driver;

extern const aw_provider_driver aw_provider_log_driver;
extern const aw_provider_driver aw_provider_webhook_driver;
extern const aw_provider_driver aw_provider_noop_driver;

/* Find a driver by type; NULL when unknown. */
const aw_provider_driver *aw_provider_driver_find(const char *type);
const char *aw_provider_driver_types(void);

/* May execute_many start calls[started] now, having started the ones
 * before it? Not once stop->flag is set; not after stop->start_until_ms
 * unless started == 0 (every batch makes progress); not when
 * stop->may_start says no. stop may be NULL. */
bool aw_provider_may_start(const aw_provider_stop *stop, size_t started);

/* Tell stop's answered hook (if any) that res[i] is in. stop may be NULL. */
void aw_provider_answered(const aw_provider_stop *stop, size_t i);

/* Call stop's tick hook (if any); returns the longest wait it wants before
 * the next tick, or `otherwise` when there is no hook or no wish. */
int64_t aw_provider_tick(const aw_provider_stop *stop, int64_t otherwise);

/* Is an HTTP status worth retrying? 408, 429 and 5xx. */
bool aw_http_status_retriable(int status);

#endif
