#include "backends/http/http.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/aw_log.h"

/* Written once inside pthread_once, read afterwards: pthread_once gives the
 * happens-before edge, so no lock is needed. */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_ok;

static void http_init_once(void)
{
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK) {
        AW_ERROR("http", "curl_global_init failed: %s", curl_easy_strerror(cc));
        return;
    }
    g_ok = true;
}

void aw_http_global_init(void) { pthread_once(&g_once, http_init_once); }

bool aw_http_global_ok(void)
{
    aw_http_global_init();
    return g_ok;
}

void aw_http_global_cleanup(void)
{
    if (g_ok)
        curl_global_cleanup();
    g_ok = false;
}

/* The codes of a connection that could not be made or broke off: transient
 * for aw_http_curl_status, "connect" for aw_http_curl_error_code. One list,
 * so the two cannot drift apart. */
static bool curl_connect_failed(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return true;
    default:
        return false;
    }
}

aw_status aw_http_curl_status(CURLcode cc)
{
    if (curl_connect_failed(cc))
        return AW_TRANSIENT;
    switch (cc) {
    case CURLE_OK:
        return AW_OK;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR: /* handshake cut short, not a bad certificate */
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return AW_TRANSIENT;
    case CURLE_OUT_OF_MEMORY:
        return AW_NOMEM;
    default:
        return AW_PERMANENT;
    }
}

const char *aw_http_curl_error_code(CURLcode cc, char *out, size_t outsz)
{
    const char *name = curl_connect_failed(cc) ? "connect" : NULL;
    switch (cc) {
    case CURLE_OK:
        name = "";
        break;
    case CURLE_OPERATION_TIMEDOUT:
        name = "timeout";
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        name = "tls";
        break;
    default:
        break;
    }
    if (name)
        snprintf(out, outsz, "%s", name);
    else
        snprintf(out, outsz, "curl_%d", (int)cc);
    return out;
}
