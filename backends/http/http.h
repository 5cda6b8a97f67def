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

#endif
