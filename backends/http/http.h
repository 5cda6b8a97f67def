/* The one libcurl helper of the project: process-wide initialisation and the
 * mapping of libcurl's transport errors to aw_status. Shared by the webhook
 * provider and, later, the HTTP backends (DynamoDB, ClickHouse,
 * Elasticsearch), so every caller classifies a timeout or a dropped
 * connection the same way.
 *
 * Threads: aw_http_global_init() may be called from any thread any number of
 * times (pthread_once); the first call must happen before any other thread
 * uses libcurl, because curl_global_init() itself is not thread-safe with
 * respect to concurrent libcurl use. main() calls it before starting workers;
 * the users of libcurl call it again in their create() as a safety net.
 * aw_http_global_cleanup() runs once at exit, after every CURL handle is gone;
 * libcurl cannot be initialised again afterwards. */
#ifndef AW_HTTP_H
#define AW_HTTP_H

#include <stdbool.h>

#include <curl/curl.h>

#include "common/aw_error.h"

void aw_http_global_init(void);
void aw_http_global_cleanup(void);

/* True once curl_global_init() has succeeded. */
bool aw_http_global_ok(void);

/* Class of a transport error: AW_OK for CURLE_OK; AW_TRANSIENT for a timeout,
 * a refused/unresolvable/reset connection or an empty answer (another attempt
 * may succeed); AW_NOMEM for CURLE_OUT_OF_MEMORY; AW_PERMANENT otherwise (a
 * malformed URL, an unsupported protocol, a certificate that does not verify:
 * retrying will not help). */
aw_status aw_http_curl_status(CURLcode cc);

/* Short machine-readable name of a transport error, used as error_code in
 * results: "timeout", "connect" (refused, DNS, reset, nothing received),
 * "tls", or "curl_<n>". out must hold at least 16 bytes. */
const char *aw_http_curl_error_code(CURLcode cc, char *out, size_t outsz);

/* ---- request/response helpers for the HTTP backends (http_call.c) -------- */

/* Class of an HTTP status: AW_OK for 2xx; AW_TRANSIENT for 408, 429 and 5xx
 * (the server is busy, throttling or restarting: another attempt may work);
 * AW_PERMANENT for everything else (4xx: the request itself is wrong). */
aw_status aw_http_status_class(long status);

/* A new easy handle with the options every backend call shares: no signals
 * (thread-safe timeouts), http/https only, no redirects (a redirect would
 * send data somewhere the operator did not configure), keep-alive, the
 * timeouts (<= 0: libcurl's default) and the user agent. The caller owns the
 * handle (curl_easy_cleanup) and uses it from one thread at a time. */
aw_status aw_http_easy_new(long connect_timeout_ms, long timeout_ms, CURL **out, aw_error *err);

/* One request on h: method ("GET", "PUT", "POST", "DELETE"), url, optional
 * body (body_len bytes, may be 0) sent with content_type. The answer's body
 * goes into resp (reset first; capped at max_resp bytes, beyond which the
 * call fails AW_PERMANENT) and its status into *status.
 * Returns AW_OK whenever an HTTP answer arrived, whatever its status: the
 * caller classifies it (aw_http_status_class) because only it knows how to
 * read the server's error body. A transport failure returns the class of
 * aw_http_curl_status() with `what` and libcurl's message in err; the URL is
 * never put in the message (it may carry credentials). */
struct aw_buf;
aw_status aw_http_perform(CURL *h, const char *what, const char *method, const char *url,
                          const char *content_type, const char *body, size_t body_len,
                          size_t max_resp, long *status, struct aw_buf *resp, aw_error *err);

#endif
