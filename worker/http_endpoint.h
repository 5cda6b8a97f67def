/* The operator's HTTP endpoint (libmicrohttpd, its own thread):
 *   GET /metrics  Prometheus text format
 *   GET /healthz  200 while the process and its consumer loop are alive
 *   GET /readyz   200 when partitions are assigned and the state and audit
 *                 backends answer; 503 with the reason otherwise
 * The callbacks run on the endpoint's thread and must be thread-safe. */
#ifndef AW_HTTP_ENDPOINT_H
#define AW_HTTP_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/aw_buf.h"
#include "common/aw_error.h"

typedef struct aw_http_endpoint aw_http_endpoint;

typedef struct aw_http_handlers {
    void (*metrics)(void *ud, aw_buf *out);
    bool (*healthy)(void *ud, char *why, size_t whysz);
    bool (*ready)(void *ud, char *why, size_t whysz);
    void *ud;
} aw_http_handlers;

/* listen: "host:port" (IPv4 literal or "localhost"; port 0 = any free
 * port). handlers is copied. */
aw_status aw_http_endpoint_start(const char *listen, const aw_http_handlers *handlers,
                                 aw_http_endpoint **out, aw_error *err);
/* The port actually bound. */
int aw_http_endpoint_port(const aw_http_endpoint *ep);
void aw_http_endpoint_stop(aw_http_endpoint *ep);

#endif
