/* The libcurl glue of the "dynamodb" state backend: one connection object
 * per session (a CURLM plus a pool of CURL easy handles, never shared
 * between threads), SigV4 signing by ddb_sign with the day's key cached in
 * the conn (libcurl's CURLOPT_AWS_SIGV4 only for an endpoint with a path or
 * query, whose canonical form we do not build), and N calls run
 * concurrently on the session's own multi handle (conditional writes cannot
 * go into BatchWriteItem, so a batch is N requests in flight at once over
 * reused keep-alive connections).
 *
 * Ownership: the conn is caller-owned (init/clear); the url it borrows
 * must outlive it. A call owns its body (malloc'd, set by the caller,
 * freed by aw_ddb_call_clear) and its response buffer. */
#ifndef AW_DDB_HTTP_H
#define AW_DDB_HTTP_H

#include <stdbool.h>

#include <curl/curl.h>

#include "backends/state/dynamodb/ddb_sign.h"
#include "backends/state/dynamodb/ddb_url.h"
#include "common/aw_buf.h"
#include "common/aw_error.h"

/* Requests in flight at once per session: a sliding window (a batch of
 * more keeps this many in flight until done). */
#define AW_DDB_MAX_INFLIGHT 16
/* Defaults when the options say 0. A request waits in the server's queue
 * behind every other one in flight (a batch keeps 16 in flight per session), so
 * the bound is generous; real DynamoDB answers in milliseconds. */
#define AW_DDB_DEFAULT_CONNECT_MS 3000
#define AW_DDB_DEFAULT_TIMEOUT_MS 10000

typedef struct aw_ddb_call {
    const char *op;   /* "GetItem", "UpdateItem", ... (static string) */
    char *body;       /* JSON request body, owned */
    /* out */
    CURLcode cc;
    long http_status;
    aw_buf resp;
    int slot; /* internal: the easy handle carrying it */
} aw_ddb_call;

void aw_ddb_call_clear(aw_ddb_call *c);

/* Test hook: when set (tests only; process-wide, set before any session
 * exists), called before every request is sent; a non-zero return fails
 * the call as if the server had answered *status with body (static). */
typedef int (*aw_ddb_fault_fn)(const char *op, long *status, const char **body);
extern aw_ddb_fault_fn aw_ddb_fault_hook;

typedef struct aw_ddb_conn {
    const aw_ddb_url *url;
    CURLM *multi;
    CURL *easy[AW_DDB_MAX_INFLIGHT];
    struct curl_slist *headers[AW_DDB_MAX_INFLIGHT];
    char sigv4[160];
    long connect_timeout_ms, timeout_ms;
    /* Signing: the Host header we send and sign; the signing key of
     * key_date ("YYYYMMDD", derived again when the UTC day changes); the
     * signer's buffers, reused. curl_signs: libcurl signs instead. */
    bool curl_signs;
    char host[256];
    char key_date[9];
    unsigned char key[32];
    aw_sigv4_output sig;
    /* Statistics (read by tests): requests sent, throttled answers resent. */
    unsigned long requests, retries;
} aw_ddb_conn;

aw_status aw_ddb_conn_init(aw_ddb_conn *c, const aw_ddb_url *url, int connect_timeout_ms,
                           int timeout_ms, aw_error *err);
void aw_ddb_conn_clear(aw_ddb_conn *c);

/* Run n calls concurrently (AW_DDB_MAX_INFLIGHT in flight at any time). Each
 * call's outcome is in the call (cc, http_status, resp); a throttled answer
 * (certainly not applied) is resent up to 3 times with a short backoff.
 * Returns AW_OK unless the transport itself failed (out of memory, multi
 * errors); per-call errors are read with aw_ddb_call_status(). */
aw_status aw_ddb_run(aw_ddb_conn *c, aw_ddb_call *calls, size_t n, aw_error *err);

/* The status of a finished call (transport error, HTTP status, DynamoDB
 * exception: see aw_ddb_classify). */
aw_status aw_ddb_call_status(const aw_ddb_call *call, aw_error *err);

/* One call: set it up, run it, return its status. body is taken over
 * (NULL = out of memory). */
aw_status aw_ddb_do(aw_ddb_conn *c, aw_ddb_call *call, const char *op, char *body,
                    aw_error *err);

#endif
