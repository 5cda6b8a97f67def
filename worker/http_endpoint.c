#include "worker/http_endpoint.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/aw_log.h"

struct aw_http_endpoint {
    struct MHD_Daemon *daemon;
    aw_http_handlers h;   /* immutable after start */
    int port;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result probe(struct MHD_Connection *conn, bool ok, const char *why)
{
    char body[320];
    int n = snprintf(body, sizeof(body), "%s%s%s\n", ok ? "ok" : "not ok", why[0] ? ": " : "",
                     why);
    return respond(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                   "text/plain; charset=utf-8", body, n < 0 ? 0 : (size_t)n);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)con_cls;
    aw_http_endpoint *ep = cls;
    if (*upload_size)
        return MHD_NO; /* no bodies accepted */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
    char why[256] = "";
    if (strcmp(url, "/metrics") == 0) {
        aw_buf b = {0};
        ep->h.metrics(ep->h.ud, &b);
        enum MHD_Result r = respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4",
                                    b.data ? b.data : "", b.len);
        aw_buf_free(&b);
        return r;
    }
    if (strcmp(url, "/healthz") == 0)
        return probe(conn, ep->h.healthy(ep->h.ud, why, sizeof(why)), why);
    if (strcmp(url, "/readyz") == 0)
        return probe(conn, ep->h.ready(ep->h.ud, why, sizeof(why)), why);
    return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                   "not found: /metrics, /healthz, /readyz\n", 39);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, aw_error *err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || !colon[1])
        return aw_error_set(err, AW_CONFIG, "http.listen: expected host:port, got \"%s\"", listen),
               -1;
    char host[64];
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof(host))
        return aw_error_set(err, AW_CONFIG, "http.listen: host too long"), -1;
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return aw_error_set(err, AW_CONFIG, "http.listen: bad port in \"%s\"", listen), -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return aw_error_set(err, AW_CONFIG, "http.listen: \"%s\" is not an IPv4 address", host),
               -1;
    return 0;
}

aw_status aw_http_endpoint_start(const char *listen, const aw_http_handlers *handlers,
                                 aw_http_endpoint **out, aw_error *err)
{
    *out = NULL;
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa, err))
        return AW_CONFIG;
    aw_http_endpoint *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    ep->h = *handlers;
    ep->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                  NULL, handle, ep, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!ep->daemon) {
        free(ep);
        return aw_error_set(err, AW_CONFIG, "http.listen: cannot listen on %s (in use?)", listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(ep->daemon, MHD_DAEMON_INFO_BIND_PORT);
    ep->port = info ? info->port : ntohs(sa.sin_port);
    AW_INFO("http", "serving /metrics, /healthz, /readyz on %s (port %d)", listen, ep->port);
    *out = ep;
    return AW_OK;
}

int aw_http_endpoint_port(const aw_http_endpoint *ep) { return ep->port; }

void aw_http_endpoint_stop(aw_http_endpoint *ep)
{
    if (!ep)
        return;
    MHD_stop_daemon(ep->daemon);
    free(ep);
}
