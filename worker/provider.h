/* Providers execute an action. One `static const aw_provider_driver` per type
 * ("log", "webhook", ...). A provider instance (created from one entry of the
 * `providers` config list) is shared by all worker threads; each worker
 * thread opens its own session (for the webhook: its own CURL handle, so
 * connections are reused per thread and never shared).
 *
 * execute() performs one attempt. Retries with backoff are the caller's job
 * (worker/pipeline), driven by result->retriable. */
#ifndef AW_PROVIDER_H
#define AW_PROVIDER_H

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
    int attempt;               /* 1-based */
} aw_provider_call;

typedef struct aw_provider_result {
    bool ok;                   /* executed */
    bool retriable;            /* failed, and another attempt may succeed */
    int http_status;           /* 0 when not HTTP or no answer */
    char error_code[32];       /* "timeout", "connect", "http_500", ... ("" if ok) */
    char error[256];           /* human-readable ("" if ok) */
} aw_provider_result;

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
} aw_provider_driver;

extern const aw_provider_driver aw_provider_log_driver;
extern const aw_provider_driver aw_provider_webhook_driver;
extern const aw_provider_driver aw_provider_noop_driver;

/* Find a driver by type; NULL when unknown. */
const aw_provider_driver *aw_provider_driver_find(const char *type);
const char *aw_provider_driver_types(void);

/* Is an HTTP status worth retrying? 408, 429 and 5xx. */
bool aw_http_status_retriable(int status);

#endif
