/* ClickHouse over HTTP: the URL, one request, and the error mapping.
 * Shared by the audit and the state backends (backends/clickhouse/ is
 * compiled with WITH_CLICKHOUSE).
 *
 * aw_ch_config_parse() and aw_ch_error_status() are pure (unit tested
 * without a server); aw_ch_request() is the one function that talks to
 * libcurl. */
#ifndef AW_CH_HTTP_H
#define AW_CH_HTTP_H

#include <curl/curl.h>

#include "common/aw_error.h"
#include "common/aw_buf.h"

#define AW_CH_DB_MAX 64

/* A parsed ClickHouse URL (format in clickhouse_audit.h and
 * clickhouse_state.h). Immutable after parse;
 * shared read-only by every session. */
typedef struct aw_ch_config {
    char base_url[512];  /* "http://host:port/?database=DB", no credentials */
    char database[AW_CH_DB_MAX];
    char user[128];      /* "" = ClickHouse's default user */
    char password[128];
    char where[600];     /* the redacted URL, for messages */
    long connect_timeout_ms;
    long request_timeout_ms;
} aw_ch_config;

/* Fill *cfg from url and the timeouts (<= 0: 5 s connect, 30 s request).
 * AW_CONFIG naming the problem and the setting ("audit.url", "state.url")
 * on a bad URL. */
aw_status aw_ch_config_parse(const char *setting, const char *url, int connect_timeout_ms,
                             int request_timeout_ms, aw_ch_config *cfg, aw_error *err);

/* A connection to ClickHouse: one CURL handle (kept alive between requests)
 * and the last response body. Owned by one thread. */
typedef struct aw_ch_conn {
    const aw_ch_config *cfg; /* not owned */
    CURL *h;
    aw_buf resp;
    aw_buf ext; /* scratch: the request body of aw_ch_request_ext */
} aw_ch_conn;

/* On failure c is left closed (nothing to release). */
aw_status aw_ch_conn_open(aw_ch_conn *c, const aw_ch_config *cfg, aw_error *err);
void aw_ch_conn_close(aw_ch_conn *c);

/* POST body (the statement, then inline data for an INSERT) and wait for
 * the answer; on AW_OK c->resp holds the response body. `what` names the
 * operation in messages. */
aw_status aw_ch_request(aw_ch_conn *c, const char *body, size_t len, const char *what,
                        aw_error *err);

/* The query with one external table (ClickHouse's "external data"): the
 * statement travels in the URL (query=...), the table's columns in
 * TABLE_structure ("name Type, ..."), its TabSeparated rows (rows[0..len),
 * escaped as ch_tsv.h says, so no CR or LF inside a field: a fixed
 * boundary cannot occur in them) as the one part of a multipart/form-data
 * body. The query names the table like any other (`x IN TABLE`). The
 * rows are copied into c->ext. Otherwise as aw_ch_request. */
aw_status aw_ch_request_ext(aw_ch_conn *c, const char *query, const char *table,
                            const char *structure, const char *rows, size_t len,
                            const char *what, aw_error *err);

/* The "Code: N" of a ClickHouse exception text, or -1. */
int aw_ch_error_code(const char *body);

/* Class of a failed answer (HTTP status != 200), from the exception code
 * when the body has one, else from the HTTP status:
 *  - AW_TRANSIENT: overload and timeouts (TOO_MANY_SIMULTANEOUS_QUERIES,
 *    TOO_MANY_PARTS, MEMORY_LIMIT_EXCEEDED, TIMEOUT_EXCEEDED, network and
 *    socket errors, read-only table, ...), or no code and 429/5xx;
 *  - AW_CONFIG: unknown table/database (schema missing: run migrate), bad
 *    user or password, access denied;
 *  - AW_PERMANENT: everything else (the statement itself is wrong). */
aw_status aw_ch_error_status(long http_status, const char *body);

#endif
