/* The Elasticsearch audit driver (see es_audit.h): glues the pure builders
 * and parsers to libcurl, retries failed bulk items, maps errors. */
#include "backends/audit/elasticsearch/es_audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audit/elasticsearch/es_conf.h"
#include "backends/audit/elasticsearch/es_request.h"
#include "backends/audit/elasticsearch/es_response.h"
#include "backends/http/http.h"
#include "common/aw_backoff.h"
#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

#define ES_BACKOFF_MAX_MS 2000

/* Shared, read-only after es_create. */
typedef struct es_backend {
    es_conf conf;
    int64_t retention_ms;
    long connect_timeout_ms;
    long request_timeout_ms;
} es_backend;

/* One thread at a time. */
typedef struct es_session {
    const es_backend *b;
    CURL *h;
    aw_buf url;
    aw_buf body; /* request */
    aw_buf resp; /* answer */
} es_session;

/* ---- sessions ----------------------------------------------------------- */

static void es_session_close(void *session)
{
    es_session *s = session;
    if (!s)
        return;
    if (s->h)
        curl_easy_cleanup(s->h);
    aw_buf_free(&s->url);
    aw_buf_free(&s->body);
    aw_buf_free(&s->resp);
    free(s);
}

static aw_status session_new(const es_backend *b, es_session **out, aw_error *err)
{
    *out = NULL;
    es_session *s = calloc(1, sizeof(*s));
    if (!s)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    s->b = b;
    aw_status rc = aw_http_easy_new(b->connect_timeout_ms, b->request_timeout_ms, &s->h, err);
    if (rc != AW_OK)
        goto fail;
    CURLcode cc = CURLE_OK;
    if (b->conf.user) {
        cc = curl_easy_setopt(s->h, CURLOPT_USERNAME, b->conf.user);
        if (!cc)
            cc = curl_easy_setopt(s->h, CURLOPT_PASSWORD,
                                  b->conf.password ? b->conf.password : "");
    }
    if (!cc && b->conf.ca_path)
        cc = curl_easy_setopt(s->h, CURLOPT_CAINFO, b->conf.ca_path);
    if (cc != CURLE_OK) {
        rc = aw_error_set(err, AW_INTERNAL, "elasticsearch: curl option: %s",
                          curl_easy_strerror(cc));
        goto fail;
    }
    *out = s;
    return AW_OK;
fail:
    es_session_close(s);
    return rc;
}

static aw_status es_session_open(void *backend, void **session, aw_error *err)
{
    es_session *s;
    aw_status rc = session_new(backend, &s, err);
    *session = s;
    return rc;
}

/* ---- one request -------------------------------------------------------- */

/* method base+path; body optional. AW_OK when an answer arrived (any status). */
static aw_status call(es_session *s, const char *what, const char *method, const char *path,
                      const char *ctype, const char *body, size_t len, long *status,
                      aw_error *err)
{
    aw_buf_reset(&s->url);
    if (aw_buf_puts(&s->url, s->b->conf.base) || aw_buf_puts(&s->url, path))
        return aw_error_set(err, AW_NOMEM, "out of memory");
    return aw_http_perform(s->h, what, method, s->url.data, ctype, body, len, ES_MAX_ANSWER,
                           status, &s->resp, err);
}

/* The error of a non-2xx answer: 408/429/5xx transient, other 4xx
 * permanent, with the server's reason. */
static aw_status answer_error(const es_session *s, const char *what, long status,
                              aw_error *err)
{
    char why[200];
    aw_es_error_reason(s->resp.data, s->resp.len, why, sizeof(why));
    aw_status st = aw_http_status_class(status);
    if (st == AW_OK)
        st = AW_PERMANENT; /* a 2xx the caller did not expect */
    return aw_error_set(err, st, "%s: HTTP %ld: %s", what, status, why);
}

static aw_status call_json(es_session *s, const char *what, const char *method,
                           const char *path, const char *body, long *status, aw_error *err)
{
    return call(s, what, method, path, body ? "application/json" : NULL, body,
                body ? strlen(body) : 0, status, err);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void es_destroy(void *backend)
{
    es_backend *b = backend;
    if (!b)
        return;
    aw_es_conf_clear(&b->conf);
    free(b);
}

static aw_status backend_new(const aw_audit_options *opts, es_backend **out, aw_error *err)
{
    *out = NULL;
    es_backend *b = calloc(1, sizeof(*b));
    if (!b)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_status rc = aw_es_conf_parse(opts->url, &b->conf, err);
    if (rc != AW_OK) {
        free(b);
        return rc;
    }
    b->retention_ms = opts->retention_ms;
    b->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
    b->request_timeout_ms = opts->request_timeout_ms > 0 ? opts->request_timeout_ms : 30000;
    aw_http_global_init();
    *out = b;
    return AW_OK;
}

/* create() never migrates: it checks that migrate has run (the template
 * exists), so records never land in indices with a dynamic mapping. */
static aw_status check_schema(es_session *s, aw_error *err)
{
    char name[ES_INDEX_MAX + 1], path[ES_INDEX_MAX + 32];
    aw_es_template_name(&s->b->conf, name, sizeof(name));
    snprintf(path, sizeof(path), "/_index_template/%s", name);
    long status;
    aw_status rc = call_json(s, "elasticsearch GET _index_template", "GET", path, NULL, &status,
                             err);
    if (rc != AW_OK)
        return rc;
    if (status == 404)
        return aw_error_set(err, AW_CONFIG,
                            "elasticsearch: index template \"%s\" is missing: run "
                            "`acteon-worker migrate -c FILE` first",
                            name);
    if (status != 200)
        return answer_error(s, "elasticsearch GET _index_template", status, err);
    json_t *want = aw_es_build_template(&s->b->conf, s->b->retention_ms);
    long long have = aw_es_parse_template_version(s->resp.data, s->resp.len, name);
    long long wantv = want ? json_integer_value(json_object_get(want, "version")) : -1;
    json_decref(want);
    if (have != wantv)
        AW_WARN("audit", "elasticsearch: index template \"%s\" differs from this version's "
                         "(run `acteon-worker migrate`)", name);
    return AW_OK;
}

static aw_status es_create(const aw_audit_options *opts, void **backend, aw_error *err)
{
    *backend = NULL;
    es_backend *b;
    aw_status rc = backend_new(opts, &b, err);
    if (rc != AW_OK)
        return rc;
    es_session *s = NULL;
    if ((rc = session_new(b, &s, err)) == AW_OK)
        rc = check_schema(s, err);
    es_session_close(s);
    if (rc != AW_OK) {
        es_destroy(b);
        return rc;
    }
    char red[512];
    aw_redact_url(opts->url, red, sizeof(red));
    AW_INFO("audit", "elasticsearch audit at %s (indices %s-*, refresh %s, ilm %s)", red,
            b->conf.index, b->conf.refresh, b->conf.ilm ? "on" : "off");
    *backend = b;
    return AW_OK;
}

/* ---- append ------------------------------------------------------------- */

static void bulk_path(const es_conf *c, char *out, size_t outsz)
{
    if (strcmp(c->refresh, "false") == 0)
        snprintf(out, outsz, "/_bulk");
    else
        snprintf(out, outsz, "/_bulk?refresh=%s", c->refresh);
}

/* One _bulk round for recs[idx[0..n)]: counts 201s into *inserted, moves the
 * indices of retriable items (429/5xx) to the front of idx (*n_retry).
 * AW_PERMANENT when an item was refused for good. */
static aw_status bulk_round(es_session *s, const aw_audit_record *recs, size_t *idx, size_t n,
                            es_bulk_item *items, size_t *inserted, size_t *n_retry,
                            char *retry_why, size_t whysz, aw_error *err)
{
    const char *what = "elasticsearch _bulk";
    *n_retry = 0;
    aw_buf_reset(&s->body);
    aw_status rc = aw_es_build_bulk(&s->b->conf, recs, idx, n, &s->body, err);
    if (rc != AW_OK)
        return rc;
    char path[64];
    bulk_path(&s->b->conf, path, sizeof(path));
    long status;
    if ((rc = call(s, what, "POST", path, "application/x-ndjson", s->body.data, s->body.len,
                   &status, err)) != AW_OK)
        return rc;
    if (status != 200)
        return answer_error(s, what, status, err);
    if ((rc = aw_es_parse_bulk(s->resp.data, s->resp.len, n, items, err)) != AW_OK)
        return rc;
    size_t refused = 0, first_refused = 0;
    for (size_t i = 0; i < n; i++) {
        int st = items[i].status;
        if (st == 201) {
            (*inserted)++;
        } else if (st == 409 || (st >= 200 && st <= 299)) {
            /* already stored: the first write of a record id wins */
        } else if (aw_http_status_class(st) == AW_TRANSIENT) {
            if (*n_retry == 0)
                snprintf(retry_why, whysz, "HTTP %d: %s", st, items[i].reason);
            idx[(*n_retry)++] = idx[i]; /* *n_retry <= i: nothing unread is overwritten */
        } else if (refused++ == 0) {
            first_refused = i;
        }
    }
    if (refused)
        return aw_error_set(err, AW_PERMANENT,
                            "%s: %zu of %zu records refused; record %.80s: HTTP %d: %s", what,
                            refused, n, recs[idx[first_refused]].record_id,
                            items[first_refused].status, items[first_refused].reason);
    return AW_OK;
}

/* Chunks of the ids search (well below index.max_result_window). */
#define ES_IDS_CHUNK 1000

/* Remove from idx[0..*n) the records already stored in another day's index
 * (dedup_across_days): a redelivery whose completed_at crossed UTC midnight.
 * A copy in the record's own index stays in: create answers 409 for it. */
static aw_status skip_stored_elsewhere(es_session *s, const aw_audit_record *recs, size_t *idx,
                                       size_t *n, aw_error *err)
{
    const char *what = "elasticsearch _search (ids)";
    char path[ES_INDEX_MAX + 96];
    snprintf(path, sizeof(path), "/%s-*/_search?ignore_unavailable=true&allow_no_indices=true",
             s->b->conf.index);
    size_t keep = 0;
    for (size_t start = 0; start < *n; start += ES_IDS_CHUNK) {
        size_t k = *n - start < ES_IDS_CHUNK ? *n - start : ES_IDS_CHUNK;
        char *body = NULL;
        json_t *found = NULL;
        long status;
        aw_status rc = aw_es_build_ids_search(recs, idx + start, k, &body, err);
        if (rc == AW_OK)
            rc = call_json(s, what, "POST", path, body, &status, err);
        free(body);
        if (rc == AW_OK && status != 200)
            rc = answer_error(s, what, status, err);
        if (rc == AW_OK)
            rc = aw_es_parse_id_hits(s->resp.data, s->resp.len, &found, err);
        if (rc != AW_OK)
            return rc;
        for (size_t i = start; i < start + k; i++) {
            const aw_audit_record *r = &recs[idx[i]];
            const char *at = json_string_value(json_object_get(found, r->record_id));
            char own[ES_INDEX_MAX + 16];
            aw_es_index_for(&s->b->conf, r->completed_at_ms, own, sizeof(own));
            if (!at || strcmp(at, own) == 0)
                idx[keep++] = idx[i]; /* keep <= i: nothing unread is overwritten */
        }
        json_decref(found);
    }
    *n = keep;
    return AW_OK;
}

/* One _bulk request; then only the items answered 429/5xx are sent again,
 * with backoff, at most conf.retries more times. A whole-request 429/5xx or
 * a transport failure ends the call as transient: the caller's retry loop
 * owns those (a whole request failing says the cluster is in trouble). */
static aw_status es_append_batch(void *session, const aw_audit_record *recs, size_t n,
                                 size_t *inserted, aw_error *err)
{
    es_session *s = session;
    *inserted = 0;
    if (n == 0)
        return AW_OK;
    size_t *idx = malloc(n * sizeof(*idx));
    es_bulk_item *items = malloc(n * sizeof(*items));
    aw_status rc = AW_OK;
    if (!idx || !items) {
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    size_t pending = n;
    char why[200] = "";
    if (s->b->conf.dedup_across_days &&
        (rc = skip_stored_elsewhere(s, recs, idx, &pending, err)) != AW_OK)
        goto out;
    if (pending == 0)
        goto out;
    for (int round = 0;; round++) {
        size_t n_retry;
        rc = bulk_round(s, recs, idx, pending, items, inserted, &n_retry, why, sizeof(why), err);
        if (rc != AW_OK || n_retry == 0)
            break;
        if (round >= s->b->conf.retries) {
            rc = aw_error_set(err, AW_TRANSIENT,
                              "elasticsearch _bulk: %zu of %zu records still failing after %d "
                              "attempts (%s)",
                              n_retry, n, round + 1, why);
            break;
        }
        pending = n_retry;
        aw_sleep_ms(aw_backoff_ms(round + 1, s->b->conf.backoff_ms, ES_BACKOFF_MAX_MS));
    }
out:
    free(items);
    free(idx);
    return rc;
}

/* ---- query -------------------------------------------------------------- */

static aw_status es_query(void *session, const aw_audit_query *q, aw_audit_page *out,
                          aw_error *err)
{
    es_session *s = session;
    const char *what = "elasticsearch _search";
    memset(out, 0, sizeof(*out));
    size_t limit = aw_audit_clamp_limit(q->limit);
    char *body = NULL;
    /* one row more than the page tells whether a next page exists */
    aw_status rc = aw_es_build_search(q, limit + 1, &body, err);
    if (rc != AW_OK)
        return rc;
    char path[ES_INDEX_MAX + 96];
    snprintf(path, sizeof(path), "/%s-*/_search?ignore_unavailable=true&allow_no_indices=true",
             s->b->conf.index);
    long status;
    rc = call_json(s, what, "POST", path, body, &status, err);
    free(body);
    if (rc != AW_OK)
        return rc;
    if (status != 200)
        return answer_error(s, what, status, err);
    return aw_es_parse_search(s->resp.data, s->resp.len, limit, out, err);
}

/* ---- cleanup ------------------------------------------------------------ */

/* Dated indices that are empty and whose whole day lies beyond the
 * retention: nothing left to delete row by row, but each still holds
 * shards. At most ES_DROP_MAX per call. Failures are only logged: the rows
 * are already gone, and the next cleanup tries again. */
#define ES_DROP_MAX 16

static void drop_empty_indices(es_session *s, int64_t now_ms)
{
    const es_conf *c = &s->b->conf;
    char path[ES_INDEX_MAX + 96];
    snprintf(path, sizeof(path), "/_cat/indices/%s-*?format=json&h=index,docs.count", c->index);
    long status;
    aw_error err = {0};
    if (call_json(s, "elasticsearch _cat/indices", "GET", path, NULL, &status, &err) != AW_OK ||
        status != 200) {
        AW_WARN("audit", "elasticsearch: cannot list indices: %s",
                err.msg[0] ? err.msg : "unexpected answer");
        return;
    }
    char names[ES_DROP_MAX][ES_INDEX_NAME_MAX];
    size_t n = aw_es_parse_empty_indices(s->resp.data, s->resp.len, names, ES_DROP_MAX);
    for (size_t i = 0; i < n; i++) {
        int64_t day;
        if (aw_es_index_day(c, names[i], &day) != 0 ||
            day + 86400000LL + s->b->retention_ms > now_ms)
            continue;
        snprintf(path, sizeof(path), "/%s", names[i]);
        if (call_json(s, "elasticsearch DELETE index", "DELETE", path, NULL, &status, &err) !=
                AW_OK ||
            (status != 200 && status != 404))
            AW_WARN("audit", "elasticsearch: cannot delete index %s: %s", names[i],
                    err.msg[0] ? err.msg : "unexpected answer");
        else
            AW_INFO("audit", "elasticsearch: deleted empty expired index %s", names[i]);
    }
}

/* Row by row, bounded by max_docs; then, when drop_indices is on and the
 * budget was not used up (the backlog is drained), empty expired indices. */
static aw_status es_cleanup(void *session, int64_t now_ms, size_t max_rows, size_t *deleted,
                            aw_error *err)
{
    es_session *s = session;
    const char *what = "elasticsearch _delete_by_query";
    *deleted = 0;
    if (max_rows == 0)
        return AW_OK; /* max_docs must be positive: no work at all */
    char *body = aw_es_build_expired_query(now_ms);
    if (!body)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    char path[ES_INDEX_MAX + 160];
    /* _delete_by_query knows refresh=true|false only */
    snprintf(path, sizeof(path),
             "/%s-*/_delete_by_query?max_docs=%zu&conflicts=proceed&ignore_unavailable=true"
             "&allow_no_indices=true%s",
             s->b->conf.index, max_rows,
             strcmp(s->b->conf.refresh, "false") ? "&refresh=true" : "");
    long status;
    aw_status rc = call_json(s, what, "POST", path, body, &status, err);
    free(body);
    if (rc != AW_OK)
        return rc;
    if (status != 200)
        return answer_error(s, what, status, err);
    rc = aw_es_parse_deleted(s->resp.data, s->resp.len, deleted, err);
    if (rc == AW_OK && s->b->conf.drop_indices && *deleted < max_rows)
        drop_empty_indices(s, now_ms);
    return rc;
}

/* ---- migrate ------------------------------------------------------------ */

/* GET path; AW_OK with *have = the version/hash read by `read` (-1 when the
 * object is missing). */
static aw_status get_version(es_session *s, const char *what, const char *path,
                             const char *name,
                             long long (*read)(const char *, size_t, const char *),
                             long long *have, aw_error *err)
{
    long status;
    aw_status rc = call_json(s, what, "GET", path, NULL, &status, err);
    if (rc != AW_OK)
        return rc;
    if (status == 404) {
        *have = -1;
        return AW_OK;
    }
    if (status != 200)
        return answer_error(s, what, status, err);
    *have = read(s->resp.data, s->resp.len, name);
    return AW_OK;
}

/* PUT j at path unless the server already holds version `want`. */
static aw_status put_if_stale(es_session *s, const char *what, const char *path,
                              const char *name,
                              long long (*read)(const char *, size_t, const char *),
                              long long want, json_t *j, int *applied, aw_error *err)
{
    long long have = -1;
    aw_status rc = get_version(s, what, path, name, read, &have, err);
    if (rc != AW_OK || have == want)
        return rc;
    char *body = json_dumps(j, JSON_COMPACT);
    if (!body)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    long status;
    rc = call_json(s, what, "PUT", path, body, &status, err);
    free(body);
    if (rc != AW_OK)
        return rc;
    if (status != 200)
        return answer_error(s, what, status, err);
    (*applied)++;
    return AW_OK;
}

/* The template only shapes indices created after it: bring the existing
 * ones up to date too (a field added since, such as rule, would otherwise
 * make their strict mapping refuse every document carrying it). Every
 * migrate does it, so one interrupted after the template catches up on the
 * next run; with no index yet there is nothing to do. */
static aw_status update_mappings(es_session *s, aw_error *err)
{
    json_t *m = aw_es_build_mapping_update();
    char *body = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (!body)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    char path[ES_INDEX_MAX + 80];
    snprintf(path, sizeof(path), "/%s-*/_mapping?allow_no_indices=true", s->b->conf.index);
    long status;
    aw_status rc = call_json(s, "elasticsearch _mapping", "PUT", path, body, &status, err);
    free(body);
    if (rc == AW_OK && status != 200 && status != 404)
        rc = answer_error(s, "elasticsearch _mapping", status, err);
    return rc;
}

/* The ILM policy first: the template names it. Both PUTs replace the
 * object whole, so concurrent migrates converge on the same content. */
static aw_status es_migrate(const aw_audit_options *opts, int *applied, aw_error *err)
{
    *applied = 0;
    es_backend *b;
    aw_status rc = backend_new(opts, &b, err);
    if (rc != AW_OK)
        return rc;
    es_session *s = NULL;
    json_t *policy = NULL, *tmpl = NULL;
    if ((rc = session_new(b, &s, err)) != AW_OK)
        goto out;
    char name[ES_INDEX_MAX + 16], path[ES_INDEX_MAX + 48];
    if (b->conf.ilm) {
        if (!(policy = aw_es_build_ilm_policy(b->retention_ms))) {
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
            goto out;
        }
        aw_es_policy_name(&b->conf, name, sizeof(name));
        snprintf(path, sizeof(path), "/_ilm/policy/%s", name);
        long long want = json_integer_value(
            json_object_get(json_object_get(json_object_get(policy, "policy"), "_meta"),
                            "acteon_hash"));
        if ((rc = put_if_stale(s, "elasticsearch _ilm/policy", path, name,
                               aw_es_parse_policy_hash, want, policy, applied, err)) != AW_OK)
            goto out;
    }
    if (!(tmpl = aw_es_build_template(&b->conf, b->retention_ms))) {
        rc = aw_error_set(err, AW_NOMEM, "out of memory");
        goto out;
    }
    aw_es_template_name(&b->conf, name, sizeof(name));
    snprintf(path, sizeof(path), "/_index_template/%s", name);
    rc = put_if_stale(s, "elasticsearch _index_template", path, name,
                      aw_es_parse_template_version,
                      json_integer_value(json_object_get(tmpl, "version")), tmpl, applied,
                      err);
    if (rc == AW_OK)
        rc = update_mappings(s, err);
out:
    json_decref(tmpl);
    json_decref(policy);
    es_session_close(s);
    es_destroy(b);
    return rc;
}

const aw_audit_driver aw_audit_elasticsearch_driver = {
    .name = "elasticsearch",
    .create = es_create,
    .destroy = es_destroy,
    .session_open = es_session_open,
    .session_close = es_session_close,
    .append_batch = es_append_batch,
    .query = es_query,
    .cleanup = es_cleanup,
    .migrate = es_migrate,
};
