/* es_fake: a small, protocol-faithful Elasticsearch test server (in memory,
 * libmicrohttpd + jansson) implementing exactly the REST subset the
 * elasticsearch audit backend uses, and VALIDATING the requests strictly.
 *
 * usage: es_fake [--port N] [--port-file F] [--auth USER:PASS] [--opensearch]
 *                [--item-429-every N] [--item-500-every N] [--request-429-next N]
 *                [--reject-id-containing S]
 *
 * Listens on 127.0.0.1 (port 0 = pick one) and prints the port on stdout as
 * one line once it accepts connections (and writes it to --port-file
 * atomically when given). SIGTERM/SIGINT: stop and exit 0.
 *
 * Endpoints (answers shaped like Elasticsearch 8's):
 *   GET  /                               cluster info (--opensearch: OpenSearch 2)
 *   PUT|GET /_index_template/NAME        composable templates (index_patterns,
 *                                        priority, version, template.settings,
 *                                        template.mappings with dynamic + properties);
 *                                        400 for patterns overlapping another
 *                                        template of the same priority, like ES
 *   PUT|GET /_ilm/policy/NAME            ILM policies (--opensearch: 400, no handler)
 *   PUT  /TARGET/_mapping                {"properties":{...}} onto existing indices:
 *                                        new fields added, a field's type never
 *                                        changed (400 illegal_argument_exception);
 *                                        404 when nothing matches, unless
 *                                        allow_no_indices=true
 *   POST /_bulk                          `create` actions only: per index+_id,
 *                                        201 created or 409 version_conflict;
 *                                        strict mappings give per-item 400
 *                                        strict_dynamic_mapping_exception /
 *                                        mapper_parsing_exception, like ES
 *   POST /TARGET/_search                 bool.filter of term, range and ids, sort
 *                                        on keyword/long fields, search_after, size,
 *                                        track_total_hits, _source true|false
 *   POST /TARGET/_delete_by_query        same query grammar, max_docs, conflicts
 *   POST|GET [/TARGET]/_refresh          no-op (writes are visible at once)
 *   GET  /_cat/indices/TARGET?format=json&h=index,docs.count
 *                                        (docs.count as a string, like ES)
 *   DELETE /NAME                         one index by exact name (a pattern is
 *                                        refused: the backend must never delete
 *                                        by wildcard)
 *   POST /_fake/faults  {"item_429_every":N,"item_500_every":N,
 *                        "request_429_next":N,"reject_id_containing":"S"|null}
 *                                        set fault injection (absent keys unchanged)
 *   GET  /_fake/stats                    counters (see stats_json)
 * TARGET is a comma-separated list of index names and `*` patterns.
 *
 * Strictness beyond Elasticsearch (each answered 400 with a clear reason and
 * counted in rejected_shapes, so a test can assert the backend never sent
 * one): _bulk needs Content-Type application/x-ndjson, a trailing newline,
 * every line a JSON object, action lines exactly {"create":{"_index","_id"}},
 * target indices covered by an index template, and documents carrying EVERY
 * mapped field; search bodies may use only the constructs above; unknown URL
 * parameters and unknown endpoints are refused (ES refuses unknown
 * parameters too).
 *
 * Faults: item_429_every/item_500_every count bulk items across requests and
 * fail every Nth with 429 es_rejected_execution_exception / 500; the first
 * request_429_next requests (other than /_fake and GET /) get a whole 429;
 * items whose _id contains reject_id_containing get a 400
 * mapper_parsing_exception.
 *
 * Threads: MHD runs one thread per connection; `mu` guards the whole store,
 * the faults and the counters, and every request runs under it. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/aw_buf.h"

#define FAKE_MAX_BODY (256u * 1024 * 1024)
#define FAKE_MAX_SORT 4

typedef struct faults {
    long item_429_every;
    long item_500_every;
    long request_429_next;
    char *reject_id_containing; /* NULL: none */
} faults;

typedef struct stats {
    long requests, bulk_requests, bulk_items, created, conflicts, injected_item_429,
        injected_item_500, injected_item_400, injected_request_429, item_mapping_errors,
        searches, delete_by_query, deleted, indices_deleted, rejected_shapes;
    char last_rejection[512];
} stats;

typedef struct fake {
    bool opensearch;
    char *auth_b64; /* "Basic <b64>" expected, NULL: no auth */
    pthread_mutex_t mu;
    json_t *templates; /* name -> body */
    json_t *policies;  /* name -> body */
    json_t *indices;   /* name -> {"props": mapping properties, "dynamic": str, "docs": {id -> src}} */
    faults f;
    long item_counter;
    long seq_no;
    stats st;
} fake;

typedef struct request_ctx {
    aw_buf body;
    bool too_large;
} request_ctx;

/* An answer under construction. */
typedef struct answer {
    unsigned status;
    json_t *body;
} answer;

/* ---- answers ------------------------------------------------------------- */

static answer es_error(unsigned status, const char *type, const char *reason)
{
    json_t *cause = json_pack("{s:s, s:s}", "type", type, "reason", reason);
    json_t *b = json_pack("{s:{s:[O], s:s, s:s}, s:i}", "error", "root_cause", cause, "type",
                          type, "reason", reason, "status", (int)status);
    json_decref(cause);
    return (answer){status, b};
}

/* A request outside the subset or badly shaped: 400, counted. Called with mu. */
static answer reject(fake *fk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static answer reject(fake *fk, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    fk->st.rejected_shapes++;
    snprintf(fk->st.last_rejection, sizeof(fk->st.last_rejection), "%s", reason);
    fprintf(stderr, "es_fake: rejected: %s\n", reason);
    return es_error(400, "es_fake_request_shape_exception", reason);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, answer a)
{
    char *text = a.body ? json_dumps(a.body, JSON_COMPACT) : NULL;
    json_decref(a.body);
    if (!text) {
        text = strdup("{\"error\":\"es_fake: out of memory\",\"status\":500}");
        a.status = 500;
        if (!text)
            return MHD_NO;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json; charset=UTF-8");
    enum MHD_Result ret = MHD_queue_response(c, a.status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- helpers ------------------------------------------------------------- */

static bool glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static bool only_keys(const json_t *obj, const char *const *allowed, const char **bad)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], k) == 0;
        if (!ok) {
            *bad = k;
            return false;
        }
    }
    return true;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    json_object_set_new(cls, key, json_string(value ? value : ""));
    return MHD_YES;
}

/* The URL parameters, checked against `allowed`; NULL after a rejection. */
static json_t *url_params(fake *fk, struct MHD_Connection *c, const char *const *allowed,
                          const char *path, answer *rej)
{
    json_t *p = json_object();
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, p);
    const char *bad;
    if (!only_keys(p, allowed, &bad)) {
        *rej = reject(fk, "request [%s] contains unrecognized parameter: [%s]", path, bad);
        json_decref(p);
        return NULL;
    }
    return p;
}

static const char *param(const json_t *p, const char *k)
{
    return json_string_value(json_object_get(p, k));
}

static bool param_bool_ok(const json_t *p, const char *k)
{
    const char *v = param(p, k);
    return !v || !strcmp(v, "true") || !strcmp(v, "false") || !*v;
}

static bool content_type_is(struct MHD_Connection *c, const char *want)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    size_t n = strlen(want);
    return ct && strncmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

static json_t *parse_body(const request_ctx *rq)
{
    return rq->body.len ? json_loadb(rq->body.data, rq->body.len, 0, NULL) : NULL;
}

/* ---- templates and mappings ------------------------------------------------ */

static const char *const field_types[] = {"keyword", "long", "integer", "text", "date",
                                          "boolean", NULL};

static bool mapping_ok(fake *fk, const json_t *mappings, answer *rej)
{
    static const char *const mkeys[] = {"dynamic", "properties", "_source", NULL};
    static const char *const fkeys[] = {"type", "index", "norms", "doc_values", NULL};
    const char *bad;
    if (!json_is_object(mappings) || !only_keys(mappings, mkeys, &bad)) {
        *rej = reject(fk, "template.mappings: expected an object with dynamic/properties%s%s",
                      json_is_object(mappings) ? ", not " : "",
                      json_is_object(mappings) ? bad : "");
        return false;
    }
    const char *dyn = json_string_value(json_object_get(mappings, "dynamic"));
    if (json_object_get(mappings, "dynamic") &&
        (!dyn || (strcmp(dyn, "strict") && strcmp(dyn, "true") && strcmp(dyn, "false")))) {
        *rej = reject(fk, "template.mappings.dynamic: expected \"strict\", \"true\" or \"false\"");
        return false;
    }
    const json_t *props = json_object_get(mappings, "properties");
    const char *name;
    const json_t *f;
    if (!json_is_object(props) || json_object_size(props) == 0) {
        *rej = reject(fk, "template.mappings.properties: expected a non-empty object");
        return false;
    }
    json_object_foreach((json_t *)props, name, f) {
        const char *type = json_string_value(json_object_get(f, "type"));
        bool known = false;
        for (size_t i = 0; type && field_types[i]; i++)
            known |= strcmp(type, field_types[i]) == 0;
        if (!json_is_object(f) || !only_keys(f, fkeys, &bad) || !known) {
            *rej = reject(fk, "mapping of field [%s]: expected {type: keyword|long|integer|text|"
                              "date|boolean, index?, norms?, doc_values?}", name);
            return false;
        }
    }
    return true;
}

/* Can some index name match both patterns? Exact for the usual "prefix*"
 * shape (one is a prefix of the other); otherwise approximated by matching
 * each pattern against the other's text. */
static bool patterns_overlap(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && lb && a[la - 1] == '*' && b[lb - 1] == '*' && !memchr(a, '*', la - 1) &&
        !memchr(b, '*', lb - 1))
        return strncmp(a, b, (la < lb ? la : lb) - 1) == 0;
    return glob_match(a, b) || glob_match(b, a);
}

/* Elasticsearch refuses a template whose patterns overlap those of another
 * template with the same priority (which one would apply is ambiguous). */
static bool overlapping_template(fake *fk, const char *name, const json_t *b, answer *rej)
{
    const char *other;
    json_t *t;
    json_int_t pr = json_integer_value(json_object_get(b, "priority"));
    json_object_foreach(fk->templates, other, t) {
        if (!strcmp(other, name) || json_integer_value(json_object_get(t, "priority")) != pr)
            continue;
        const json_t *pa = json_object_get(b, "index_patterns"), *pb;
        pb = json_object_get(t, "index_patterns");
        for (size_t i = 0; i < json_array_size(pa); i++)
            for (size_t k = 0; k < json_array_size(pb); k++) {
                const char *x = json_string_value(json_array_get(pa, i));
                const char *y = json_string_value(json_array_get(pb, k));
                if (x && y && patterns_overlap(x, y)) {
                    char reason[640];
                    snprintf(reason, sizeof(reason),
                             "index template [%.100s] has index patterns [%.100s] matching "
                             "patterns from existing templates [%.100s] with patterns "
                             "(%.100s) that have the same priority [%lld]",
                             name, x, other, y, (long long)pr);
                    *rej = es_error(400, "illegal_argument_exception", reason);
                    return true;
                }
            }
    }
    return false;
}

static answer put_template(fake *fk, const char *name, const request_ctx *rq)
{
    static const char *const keys[] = {"index_patterns", "template", "priority", "version",
                                       "_meta", "composed_of", NULL};
    static const char *const tkeys[] = {"settings", "mappings", "aliases", NULL};
    answer rej;
    const char *bad;
    json_t *b = parse_body(rq);
    if (!json_is_object(b)) {
        json_decref(b);
        return reject(fk, "PUT _index_template/%s: body is not a JSON object", name);
    }
    const json_t *pats = json_object_get(b, "index_patterns");
    const json_t *t = json_object_get(b, "template");
    const json_t *v = json_object_get(b, "version");
    const json_t *pr = json_object_get(b, "priority");
    if (!only_keys(b, keys, &bad))
        rej = reject(fk, "[index_template] unknown field [%s]", bad);
    else if (!json_is_array(pats) || json_array_size(pats) == 0 ||
             !json_is_string(json_array_get(pats, 0)))
        rej = reject(fk, "index_patterns: expected a non-empty array of strings");
    else if ((v && !json_is_integer(v)) || (pr && !json_is_integer(pr)))
        rej = reject(fk, "version and priority must be integers");
    else if (!json_is_object(t) || !only_keys(t, tkeys, &bad))
        rej = reject(fk, "template: expected an object with settings/mappings");
    else if (!json_is_object(json_object_get(t, "settings")) && json_object_get(t, "settings"))
        rej = reject(fk, "template.settings: expected an object");
    else if (!mapping_ok(fk, json_object_get(t, "mappings"), &rej))
        ;
    else if (overlapping_template(fk, name, b, &rej))
        ;
    else {
        json_object_set(fk->templates, name, b);
        json_decref(b);
        return (answer){200, json_pack("{s:b}", "acknowledged", 1)};
    }
    json_decref(b);
    return rej;
}

static answer get_template(fake *fk, const char *name)
{
    json_t *t = json_object_get(fk->templates, name);
    if (!t) {
        char reason[300];
        snprintf(reason, sizeof(reason), "index template matching [%s] not found", name);
        return es_error(404, "resource_not_found_exception", reason);
    }
    return (answer){200, json_pack("{s:[{s:s, s:O}]}", "index_templates", "name", name,
                                   "index_template", t)};
}

/* The template of highest priority whose pattern matches index, or NULL. */
static json_t *template_for(fake *fk, const char *index)
{
    const char *name;
    json_t *t, *best = NULL;
    json_int_t best_pr = -1;
    json_object_foreach(fk->templates, name, t) {
        const json_t *pats = json_object_get(t, "index_patterns");
        json_int_t pr = json_integer_value(json_object_get(t, "priority"));
        for (size_t i = 0; i < json_array_size(pats); i++)
            if (glob_match(json_string_value(json_array_get(pats, i)), index) && pr > best_pr) {
                best = t;
                best_pr = pr;
            }
    }
    return best;
}

static answer put_policy(fake *fk, const char *name, const request_ctx *rq)
{
    static const char *const keys[] = {"phases", "_meta", NULL};
    const char *bad;
    json_t *b = parse_body(rq);
    json_t *p = json_object_get(b, "policy");
    answer a;
    if (!json_is_object(p) || json_object_size(b) != 1)
        a = reject(fk, "PUT _ilm/policy/%s: body must be {\"policy\":{...}}", name);
    else if (!only_keys(p, keys, &bad))
        a = reject(fk, "[policy] unknown field [%s]", bad);
    else if (!json_is_object(json_object_get(p, "phases")))
        a = reject(fk, "policy.phases: expected an object");
    else {
        json_object_set(fk->policies, name, p);
        a = (answer){200, json_pack("{s:b}", "acknowledged", 1)};
    }
    json_decref(b);
    return a;
}

static answer get_policy(fake *fk, const char *name)
{
    json_t *p = json_object_get(fk->policies, name);
    if (!p) {
        char reason[300];
        snprintf(reason, sizeof(reason), "Lifecycle policy not found: %s", name);
        return es_error(404, "resource_not_found_exception", reason);
    }
    return (answer){200, json_pack("{s:{s:i, s:s, s:O}}", name, "version", 1, "modified_date",
                                   "2026-01-01T00:00:00.000Z", "policy", p)};
}

/* ---- _bulk ----------------------------------------------------------------- */

/* The index record, created from its template on first use; NULL (with a
 * rejection) when no template covers it. */
static json_t *index_get_or_create(fake *fk, const char *name, answer *rej)
{
    json_t *ix = json_object_get(fk->indices, name);
    if (ix)
        return ix;
    json_t *t = template_for(fk, name);
    if (!t) {
        *rej = reject(fk, "no index template matches index [%s]: run migrate first", name);
        return NULL;
    }
    json_t *m = json_object_get(json_object_get(t, "template"), "mappings");
    const char *dyn = json_string_value(json_object_get(m, "dynamic"));
    ix = json_pack("{s:O, s:s, s:{}}", "props", json_object_get(m, "properties"), "dynamic",
                   dyn ? dyn : "true", "docs");
    json_object_set_new(fk->indices, name, ix);
    return ix;
}

/* Type check of one value against its mapping, as ES does at index time. */
static bool value_fits(const json_t *mapping, const json_t *v)
{
    const char *type = json_string_value(json_object_get(mapping, "type"));
    if (json_is_null(v))
        return true;
    if (!strcmp(type, "long") || !strcmp(type, "integer") || !strcmp(type, "date"))
        return json_is_integer(v);
    if (!strcmp(type, "boolean"))
        return json_is_boolean(v);
    return json_is_string(v); /* keyword, text */
}

/* Whole-request shape checks of the NDJSON body; on success *lines holds
 * the parsed lines (action, doc, action, doc, ...). */
static bool bulk_shape_ok(fake *fk, const request_ctx *rq, json_t **lines, answer *rej)
{
    const char *d = rq->body.data;
    size_t len = rq->body.len;
    if (len == 0 || d[len - 1] != '\n') {
        *rej = reject(fk, "The bulk request must be terminated by a newline [\\n]");
        return false;
    }
    *lines = json_array();
    size_t start = 0, lineno = 0;
    while (start < len) {
        const char *nl = memchr(d + start, '\n', len - start);
        size_t n = (size_t)(nl - (d + start));
        lineno++;
        json_error_t je;
        json_t *j = json_loadb(d + start, n, 0, &je);
        if (!json_is_object(j)) {
            json_decref(j);
            *rej = reject(fk, "_bulk line %zu is not a JSON object (%s)", lineno, je.text);
            return false;
        }
        json_array_append_new(*lines, j);
        start += n + 1;
    }
    if (json_array_size(*lines) % 2) {
        *rej = reject(fk, "_bulk: action line %zu has no document line", lineno);
        return false;
    }
    for (size_t i = 0; i < json_array_size(*lines); i += 2) {
        const json_t *act = json_array_get(*lines, i);
        const json_t *cr = json_object_get(act, "create");
        static const char *const akeys[] = {"_index", "_id", NULL};
        const char *bad = "";
        if (json_object_size(act) != 1 || !json_is_object(cr) || !only_keys(cr, akeys, &bad) ||
            !json_is_string(json_object_get(cr, "_index")) ||
            !json_is_string(json_object_get(cr, "_id")) ||
            !json_string_length(json_object_get(cr, "_id"))) {
            *rej = reject(fk, "_bulk line %zu: expected {\"create\":{\"_index\":S,\"_id\":S}} "
                              "(es_fake accepts create actions only)%s%s",
                          i + 1, *bad ? "; unknown key " : "", bad);
            return false;
        }
        const char *index = json_string_value(json_object_get(cr, "_index"));
        json_t *ix = index_get_or_create(fk, index, rej);
        if (!ix)
            return false;
        /* every mapped field must be present (the backend writes whole records) */
        const json_t *doc = json_array_get(*lines, i + 1);
        const char *fname;
        const json_t *fmap;
        json_object_foreach(json_object_get(ix, "props"), fname, fmap) {
            (void)fmap;
            if (!json_object_get(doc, fname)) {
                *rej = reject(fk, "_bulk line %zu: document [%s] lacks field [%s]", i + 2,
                              json_string_value(json_object_get(cr, "_id")), fname);
                return false;
            }
        }
    }
    return true;
}

static json_t *item_error(int status, const char *type, const char *reason, const char *index,
                          const char *id)
{
    return json_pack("{s:{s:s, s:s, s:i, s:{s:s, s:s, s:s, s:s}}}", "create", "_index", index,
                     "_id", id, "status", status, "error", "type", type, "reason", reason,
                     "index", index, "shard", "0");
}

/* One create item: faults, then the mapping, then create semantics. */
static json_t *bulk_item(fake *fk, const char *index, const char *id, json_t *doc)
{
    char reason[512];
    long n = ++fk->item_counter;
    fk->st.bulk_items++;
    if (fk->f.item_429_every > 0 && n % fk->f.item_429_every == 0) {
        fk->st.injected_item_429++;
        return item_error(429, "es_rejected_execution_exception",
                          "rejected execution of coordinating operation (injected)", index, id);
    }
    if (fk->f.item_500_every > 0 && n % fk->f.item_500_every == 0) {
        fk->st.injected_item_500++;
        return item_error(500, "internal_server_error", "injected item failure", index, id);
    }
    if (fk->f.reject_id_containing && strstr(id, fk->f.reject_id_containing)) {
        fk->st.injected_item_400++;
        return item_error(400, "mapper_parsing_exception",
                          "failed to parse (injected for this _id)", index, id);
    }
    json_t *ix = json_object_get(fk->indices, index);
    json_t *props = json_object_get(ix, "props");
    bool strict = !strcmp(json_string_value(json_object_get(ix, "dynamic")), "strict");
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        json_t *m = json_object_get(props, k);
        if (!m && strict) {
            fk->st.item_mapping_errors++;
            snprintf(reason, sizeof(reason),
                     "[1:2] mapping set to strict, dynamic introduction of [%s] within [_doc] "
                     "is not allowed", k);
            return item_error(400, "strict_dynamic_mapping_exception", reason, index, id);
        }
        if (m && !value_fits(m, v)) {
            fk->st.item_mapping_errors++;
            snprintf(reason, sizeof(reason), "failed to parse field [%s] of type [%s]", k,
                     json_string_value(json_object_get(m, "type")));
            return item_error(400, "mapper_parsing_exception", reason, index, id);
        }
    }
    json_t *docs = json_object_get(ix, "docs");
    if (json_object_get(docs, id)) {
        fk->st.conflicts++;
        snprintf(reason, sizeof(reason),
                 "[%.300s]: version conflict, document already exists (current version [1])", id);
        return item_error(409, "version_conflict_engine_exception", reason, index, id);
    }
    json_object_set(docs, id, doc);
    fk->st.created++;
    return json_pack("{s:{s:s, s:s, s:i, s:s, s:{s:i, s:i, s:i}, s:I, s:i, s:i}}", "create",
                     "_index", index, "_id", id, "_version", 1, "result", "created", "_shards",
                     "total", 1, "successful", 1, "failed", 0, "_seq_no",
                     (json_int_t)fk->seq_no++, "_primary_term", 1, "status", 201);
}

static answer handle_bulk(fake *fk, struct MHD_Connection *c, const request_ctx *rq)
{
    static const char *const allowed[] = {"refresh", NULL};
    answer rej;
    json_t *p = url_params(fk, c, allowed, "/_bulk", &rej);
    if (!p)
        return rej;
    const char *refresh = param(p, "refresh");
    bool refresh_ok = !refresh || !*refresh || !strcmp(refresh, "true") ||
                      !strcmp(refresh, "false") || !strcmp(refresh, "wait_for");
    json_decref(p);
    if (!refresh_ok)
        return reject(fk, "refresh must be true, false or wait_for");
    if (!content_type_is(c, "application/x-ndjson"))
        return reject(fk, "_bulk: Content-Type must be application/x-ndjson");
    fk->st.bulk_requests++;
    json_t *lines = NULL;
    if (!bulk_shape_ok(fk, rq, &lines, &rej)) {
        json_decref(lines);
        return rej;
    }
    json_t *items = json_array();
    bool errors = false;
    for (size_t i = 0; i < json_array_size(lines); i += 2) {
        json_t *cr = json_object_get(json_array_get(lines, i), "create");
        json_t *it = bulk_item(fk, json_string_value(json_object_get(cr, "_index")),
                               json_string_value(json_object_get(cr, "_id")),
                               json_array_get(lines, i + 1));
        errors |= json_object_get(json_object_get(it, "create"), "error") != NULL;
        json_array_append_new(items, it);
    }
    json_decref(lines);
    return (answer){200, json_pack("{s:i, s:b, s:o}", "took", 1, "errors", errors, "items",
                                   items)};
}

/* ---- queries ------------------------------------------------------------- */

/* A target list resolved to index records (borrowed). */
typedef struct targets {
    json_t *list; /* array of index records */
    json_t *props; /* union of their mappings: field -> mapping */
} targets;

static bool resolve_targets(fake *fk, const char *expr, const json_t *params, targets *t,
                            answer *rej)
{
    t->list = json_array();
    t->props = json_object();
    bool ignore_unavailable = param(params, "ignore_unavailable") &&
                              !strcmp(param(params, "ignore_unavailable"), "true");
    char *copy = strdup(expr);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool wildcard = strchr(tok, '*') != NULL;
        bool found = false;
        const char *name;
        json_t *ix;
        json_object_foreach(fk->indices, name, ix) {
            if (wildcard ? glob_match(tok, name) : !strcmp(tok, name)) {
                found = true;
                json_array_append(t->list, ix);
                json_object_update_missing(t->props, json_object_get(ix, "props"));
            }
        }
        if (!found && !wildcard && !ignore_unavailable) {
            char reason[300];
            snprintf(reason, sizeof(reason), "no such index [%.200s]", tok);
            *rej = es_error(404, "index_not_found_exception", reason);
            free(copy);
            return false;
        }
    }
    free(copy);
    return true;
}

static void targets_free(targets *t)
{
    json_decref(t->list);
    json_decref(t->props);
}

/* PUT /TARGET/_mapping: like Elasticsearch, checked against every target
 * index first, then applied to all or none. */
static answer handle_put_mapping(fake *fk, struct MHD_Connection *c, const char *target,
                                 const request_ctx *rq)
{
    static const char *const allowed[] = {"allow_no_indices", NULL};
    answer rej;
    json_t *p = url_params(fk, c, allowed, "_mapping", &rej);
    if (!p)
        return rej;
    bool allow_none = param(p, "allow_no_indices") && !strcmp(param(p, "allow_no_indices"),
                                                              "true");
    json_decref(p);
    json_t *b = parse_body(rq);
    if (!mapping_ok(fk, b, &rej) || json_object_get(b, "dynamic")) {
        if (json_object_get(b, "dynamic"))
            rej = reject(fk, "_mapping: es_fake takes properties only");
        json_decref(b);
        return rej;
    }
    targets t;
    if (!resolve_targets(fk, target, NULL, &t, &rej)) {
        targets_free(&t);
        json_decref(b);
        return rej;
    }
    answer a = {200, NULL};
    if (json_array_size(t.list) == 0 && !allow_none) {
        char reason[300];
        snprintf(reason, sizeof(reason), "no such index [%.200s]", target);
        a = es_error(404, "index_not_found_exception", reason);
    }
    const char *name;
    json_t *f;
    for (size_t i = 0; a.status == 200 && i < json_array_size(t.list); i++)
        json_object_foreach(json_object_get(b, "properties"), name, f) {
            json_t *have = json_object_get(json_object_get(json_array_get(t.list, i), "props"),
                                           name);
            const char *was = json_string_value(json_object_get(have, "type"));
            const char *now = json_string_value(json_object_get(f, "type"));
            if (have && strcmp(was, now) != 0) {
                char reason[300];
                snprintf(reason, sizeof(reason),
                         "mapper [%.100s] cannot be changed from type [%s] to [%s]", name, was,
                         now);
                a = es_error(400, "illegal_argument_exception", reason);
                break;
            }
        }
    for (size_t i = 0; a.status == 200 && i < json_array_size(t.list); i++)
        json_object_update_missing(json_object_get(json_array_get(t.list, i), "props"),
                                   json_object_get(b, "properties"));
    if (a.status == 200)
        a.body = json_pack("{s:b}", "acknowledged", 1);
    targets_free(&t);
    json_decref(b);
    return a;
}

typedef enum clause_kind { CL_TERM, CL_RANGE, CL_IDS } clause_kind;

typedef struct clause {
    clause_kind kind;
    const char *field;
    const json_t *value;           /* term */
    const json_t *gte, *gt, *lte, *lt; /* range */
    json_t *ids;                       /* ids: a set (object), owned */
} clause;

typedef struct query {
    clause cl[16];
    size_t n;
} query;

static void query_free(query *q)
{
    for (size_t i = 0; i < q->n; i++)
        json_decref(q->cl[i].ids);
    q->n = 0;
}

/* {"ids":{"values":[S...]}}: matched on _id through a set. */
static bool parse_ids(fake *fk, const json_t *spec, clause *cl, answer *rej)
{
    const json_t *vals = json_object_get(spec, "values");
    if (!json_is_object(spec) || json_object_size(spec) != 1 || !json_is_array(vals) ||
        json_array_size(vals) > 10000) {
        *rej = reject(fk, "ids: expected {\"values\":[S...]} (at most 10000)");
        return false;
    }
    cl->kind = CL_IDS;
    cl->field = "_id";
    cl->ids = json_object();
    for (size_t i = 0; i < json_array_size(vals); i++) {
        const char *id = json_string_value(json_array_get(vals, i));
        if (!id) {
            *rej = reject(fk, "ids: values must be strings");
            return false;
        }
        json_object_set_new(cl->ids, id, json_true());
    }
    return true;
}

static const char *field_type(const targets *t, const char *f)
{
    return json_string_value(json_object_get(json_object_get(t->props, f), "type"));
}

static bool field_indexed(const targets *t, const char *f)
{
    const json_t *ix = json_object_get(json_object_get(t->props, f), "index");
    return !json_is_false(ix);
}

/* Parse {"bool":{"filter":[...]}} or {"match_all":{}}, checking the fields
 * against the mappings like Elasticsearch does. */
static bool parse_query(fake *fk, const json_t *qj, const targets *t, query *q, answer *rej)
{
    memset(q, 0, sizeof(*q));
    if (json_is_object(json_object_get(qj, "match_all")) && json_object_size(qj) == 1)
        return true;
    const json_t *b = json_object_get(qj, "bool");
    const json_t *filter = json_object_get(b, "filter");
    if (json_object_size(qj) != 1 || !json_is_object(b) || json_object_size(b) != 1 ||
        !json_is_array(filter)) {
        *rej = reject(fk, "query: es_fake supports {\"bool\":{\"filter\":[...]}} and match_all only");
        return false;
    }
    if (json_array_size(filter) > sizeof(q->cl) / sizeof(q->cl[0])) {
        *rej = reject(fk, "query: too many filter clauses");
        return false;
    }
    for (size_t i = 0; i < json_array_size(filter); i++) {
        const json_t *c = json_array_get(filter, i);
        if (json_object_size(c) == 1 && json_object_get(c, "ids")) {
            if (!parse_ids(fk, json_object_get(c, "ids"), &q->cl[q->n++], rej))
                return false;
            continue;
        }
        const json_t *term = json_object_get(c, "term"), *range = json_object_get(c, "range");
        const json_t *inner = term ? term : range;
        if (json_object_size(c) != 1 || !json_is_object(inner) || json_object_size(inner) != 1) {
            *rej = reject(fk, "filter clause %zu: expected {\"term\":{F:..}} or "
                              "{\"range\":{F:{..}}}", i);
            return false;
        }
        const char *f = json_object_iter_key(json_object_iter((json_t *)inner));
        const json_t *spec = json_object_iter_value(json_object_iter((json_t *)inner));
        const char *type = field_type(t, f);
        clause *cl = &q->cl[q->n++];
        cl->field = f;
        if (type && !field_indexed(t, f)) {
            char reason[300];
            snprintf(reason, sizeof(reason), "Cannot search on field [%s] since it is not indexed.",
                     f);
            *rej = es_error(400, "query_shard_exception", reason);
            fk->st.rejected_shapes++;
            return false;
        }
        if (term) {
            cl->kind = CL_TERM;
            if (json_is_object(spec)) {
                if (json_object_size(spec) != 1 || !json_object_get(spec, "value")) {
                    *rej = reject(fk, "term on [%s]: expected {\"value\":V}", f);
                    return false;
                }
                spec = json_object_get(spec, "value");
            }
            if (!json_is_string(spec) && !json_is_integer(spec)) {
                *rej = reject(fk, "term on [%s]: value must be a string or an integer", f);
                return false;
            }
            cl->value = spec;
        } else {
            static const char *const rkeys[] = {"gte", "gt", "lte", "lt", NULL};
            const char *bad;
            cl->kind = CL_RANGE;
            if (!json_is_object(spec) || !json_object_size(spec) || !only_keys(spec, rkeys, &bad)) {
                *rej = reject(fk, "range on [%s]: expected gte/gt/lte/lt", f);
                return false;
            }
            cl->gte = json_object_get(spec, "gte");
            cl->gt = json_object_get(spec, "gt");
            cl->lte = json_object_get(spec, "lte");
            cl->lt = json_object_get(spec, "lt");
            const json_t *vs[] = {cl->gte, cl->gt, cl->lte, cl->lt};
            for (size_t k = 0; k < 4; k++)
                if (vs[k] && !json_is_integer(vs[k])) {
                    *rej = reject(fk, "range on [%s]: bounds must be integers", f);
                    return false;
                }
            if (type && strcmp(type, "long") && strcmp(type, "integer") && strcmp(type, "date")) {
                *rej = reject(fk, "range on [%s]: es_fake supports numeric fields only", f);
                return false;
            }
        }
    }
    return true;
}

static bool clause_match(const clause *cl, const char *id, const json_t *doc)
{
    if (cl->kind == CL_IDS)
        return json_object_get(cl->ids, id) != NULL;
    const json_t *v = json_object_get(doc, cl->field);
    if (!v)
        return false;
    if (cl->kind == CL_TERM) {
        if (json_is_string(cl->value))
            return json_is_string(v) && json_string_length(v) == json_string_length(cl->value) &&
                   memcmp(json_string_value(v), json_string_value(cl->value),
                          json_string_length(v)) == 0;
        return json_is_integer(v) && json_integer_value(v) == json_integer_value(cl->value);
    }
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    return (!cl->gte || x >= json_integer_value(cl->gte)) &&
           (!cl->gt || x > json_integer_value(cl->gt)) &&
           (!cl->lte || x <= json_integer_value(cl->lte)) &&
           (!cl->lt || x < json_integer_value(cl->lt));
}

static bool query_match(const query *q, const char *id, const json_t *doc)
{
    for (size_t i = 0; i < q->n; i++)
        if (!clause_match(&q->cl[i], id, doc))
            return false;
    return true;
}

typedef struct sort_spec {
    const char *field[FAKE_MAX_SORT];
    bool desc[FAKE_MAX_SORT];
    size_t n;
} sort_spec;

/* Keyword values compare as UTF-8 bytes (Lucene BytesRef order), numbers
 * numerically; a missing value sorts last (ES default "_last"). */
static int value_cmp(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a ? -1 : b ? 1 : 0;
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        return c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
    }
    return json_is_integer(a) ? -1 : 1;
}

typedef struct hit {
    const json_t *ix; /* the index record */
    const char *id;
    json_t *doc;
} hit;

static const sort_spec *g_sort; /* set under fk->mu for qsort's comparator */

static int doc_cmp(const json_t *a, const json_t *b, const sort_spec *s)
{
    for (size_t i = 0; i < s->n; i++) {
        int c = value_cmp(json_object_get(a, s->field[i]), json_object_get(b, s->field[i]));
        if (c)
            return s->desc[i] ? -c : c;
    }
    return 0;
}

static int hit_cmp(const void *a, const void *b)
{
    return doc_cmp(((const hit *)a)->doc, ((const hit *)b)->doc, g_sort);
}

/* search_after: is doc strictly after the `after` values in sort order? */
static bool after_ok(const json_t *doc, const json_t *after, const sort_spec *s)
{
    for (size_t i = 0; i < s->n; i++) {
        int c = value_cmp(json_object_get(doc, s->field[i]), json_array_get(after, i));
        if (c)
            return (s->desc[i] ? -c : c) > 0;
    }
    return false;
}

static bool parse_sort(fake *fk, const json_t *sj, const targets *t, sort_spec *s, answer *rej)
{
    memset(s, 0, sizeof(*s));
    if (!sj)
        return true;
    if (!json_is_array(sj) || json_array_size(sj) > FAKE_MAX_SORT) {
        *rej = reject(fk, "sort: expected an array of at most %d {F:{\"order\":..}}", FAKE_MAX_SORT);
        return false;
    }
    for (size_t i = 0; i < json_array_size(sj); i++) {
        const json_t *e = json_array_get(sj, i);
        if (!json_is_object(e) || json_object_size(e) != 1) {
            *rej = reject(fk, "sort[%zu]: expected {F:{\"order\":\"asc\"|\"desc\"}}", i);
            return false;
        }
        const char *f = json_object_iter_key(json_object_iter((json_t *)e));
        const json_t *o = json_object_iter_value(json_object_iter((json_t *)e));
        const char *order = json_is_string(o) ? json_string_value(o)
                                              : json_string_value(json_object_get(o, "order"));
        if (!order || (strcmp(order, "asc") && strcmp(order, "desc")) ||
            (json_is_object(o) && json_object_size(o) != 1)) {
            *rej = reject(fk, "sort[%zu] on [%s]: order must be asc or desc (nothing else)", i, f);
            return false;
        }
        const char *type = field_type(t, f);
        if (json_array_size(t->list) > 0 && !type) {
            char reason[300];
            snprintf(reason, sizeof(reason), "No mapping found for [%s] in order to sort on", f);
            *rej = es_error(400, "query_shard_exception", reason);
            fk->st.rejected_shapes++;
            return false;
        }
        if (type && !strcmp(type, "text")) {
            *rej = reject(fk, "sort on text field [%s]: Fielddata is disabled on text fields", f);
            return false;
        }
        s->field[s->n] = f;
        s->desc[s->n++] = !strcmp(order, "desc");
    }
    return true;
}

/* Matching docs of the targets, sorted. */
static hit *collect_hits(const targets *t, const query *q, const sort_spec *s, size_t *n)
{
    size_t cap = 64, k = 0;
    hit *h = malloc(cap * sizeof(*h));
    for (size_t i = 0; h && i < json_array_size(t->list); i++) {
        json_t *docs = json_object_get(json_array_get(t->list, i), "docs");
        const char *id;
        json_t *doc;
        json_object_foreach(docs, id, doc) {
            if (!query_match(q, id, doc))
                continue;
            if (k == cap) {
                hit *nh = realloc(h, (cap *= 2) * sizeof(*h));
                if (!nh) {
                    free(h);
                    return NULL;
                }
                h = nh;
            }
            h[k++] = (hit){.ix = json_array_get(t->list, i), .id = id, .doc = doc};
        }
    }
    g_sort = s;
    if (h && s->n)
        qsort(h, k, sizeof(*h), hit_cmp);
    *n = k;
    return h;
}

/* The name of an index record. */
static const char *index_name(fake *fk, const json_t *rec)
{
    const char *name;
    json_t *ix;
    json_object_foreach(fk->indices, name, ix)
        if (ix == rec)
            return name;
    return "?";
}

static answer handle_search(fake *fk, struct MHD_Connection *c, const char *target,
                            const request_ctx *rq)
{
    static const char *const allowed[] = {"ignore_unavailable", "allow_no_indices", NULL};
    static const char *const keys[] = {"size", "track_total_hits", "query", "sort",
                                       "search_after", "_source", NULL};
    answer rej;
    json_t *p = url_params(fk, c, allowed, "_search", &rej);
    if (!p)
        return rej;
    fk->st.searches++;
    json_t *b = NULL;
    targets t = {0};
    hit *hits = NULL;
    query q = {.n = 0};
    sort_spec s;
    const char *bad;
    if (!param_bool_ok(p, "ignore_unavailable") || !param_bool_ok(p, "allow_no_indices")) {
        rej = reject(fk, "_search: boolean parameters must be true or false");
        goto out;
    }
    if (!content_type_is(c, "application/json")) {
        rej = reject(fk, "_search: Content-Type must be application/json");
        goto out;
    }
    b = parse_body(rq);
    const json_t *size = json_object_get(b, "size");
    const json_t *tth = json_object_get(b, "track_total_hits");
    const json_t *after = json_object_get(b, "search_after");
    const json_t *source = json_object_get(b, "_source");
    if (!json_is_object(b)) {
        rej = reject(fk, "_search: body is not a JSON object");
        goto out;
    }
    if (!only_keys(b, keys, &bad)) {
        rej = reject(fk, "_search: es_fake does not support [%s]", bad);
        goto out;
    }
    if (size && (!json_is_integer(size) || json_integer_value(size) < 0 ||
                 json_integer_value(size) > 10000)) {
        rej = reject(fk, "_search: size must be an integer in 0..10000 (index.max_result_window)");
        goto out;
    }
    if (source && !json_is_boolean(source)) {
        rej = reject(fk, "_search: es_fake supports a boolean _source only");
        goto out;
    }
    if (tth && !json_is_boolean(tth)) {
        rej = reject(fk, "_search: es_fake supports a boolean track_total_hits only");
        goto out;
    }
    if (!resolve_targets(fk, target, p, &t, &rej))
        goto out;
    /* no query = match_all */
    if ((json_object_get(b, "query") && !parse_query(fk, json_object_get(b, "query"), &t, &q, &rej)) ||
        !parse_sort(fk, json_object_get(b, "sort"), &t, &s, &rej))
        goto out;
    if (after && (!json_is_array(after) || json_array_size(after) != s.n || s.n == 0)) {
        rej = reject(fk, "search_after has %zu value(s) but sort has %zu",
                     json_array_size(after), s.n);
        goto out;
    }
    for (size_t i = 0; after && i < s.n; i++) {
        const char *type = field_type(&t, s.field[i]);
        const json_t *v = json_array_get(after, i);
        bool num = type && strcmp(type, "keyword");
        if (type && (num ? !json_is_integer(v) : !json_is_string(v))) {
            rej = reject(fk, "search_after[%zu]: wrong type for sort field [%s]", i, s.field[i]);
            goto out;
        }
    }
    size_t n = 0, want = size ? (size_t)json_integer_value(size) : 10;
    hits = collect_hits(&t, &q, &s, &n);
    json_t *arr = json_array();
    size_t total = 0;
    for (size_t i = 0; hits && i < n; i++) {
        if (after && !after_ok(hits[i].doc, after, &s))
            continue;
        total++;
        if (json_array_size(arr) >= want)
            continue;
        json_t *sortv = json_array();
        for (size_t k = 0; k < s.n; k++)
            json_array_append(sortv, json_object_get(hits[i].doc, s.field[k]));
        json_t *h = json_pack("{s:s, s:s, s:n}", "_index", index_name(fk, hits[i].ix), "_id",
                              hits[i].id, "_score");
        if (!json_is_false(source))
            json_object_set(h, "_source", hits[i].doc);
        if (s.n)
            json_object_set(h, "sort", sortv);
        json_decref(sortv);
        json_array_append_new(arr, h);
    }
    json_t *hj = json_pack("{s:n, s:o}", "max_score", "hits", arr);
    if (!json_is_false(tth))
        json_object_set_new(hj, "total",
                            json_pack("{s:I, s:s}", "value", (json_int_t)total, "relation", "eq"));
    rej = (answer){200, json_pack("{s:i, s:b, s:{s:i, s:i, s:i, s:i}, s:o}", "took", 1,
                                  "timed_out", 0, "_shards", "total", 1, "successful", 1,
                                  "skipped", 0, "failed", 0, "hits", hj)};
out:
    query_free(&q);
    free(hits);
    targets_free(&t);
    json_decref(b);
    json_decref(p);
    return rej;
}

static answer handle_dbq(fake *fk, struct MHD_Connection *c, const char *target,
                         const request_ctx *rq)
{
    static const char *const allowed[] = {"max_docs", "conflicts", "refresh",
                                          "ignore_unavailable", "allow_no_indices", NULL};
    static const char *const keys[] = {"query", "max_docs", NULL};
    answer rej;
    json_t *p = url_params(fk, c, allowed, "_delete_by_query", &rej);
    if (!p)
        return rej;
    fk->st.delete_by_query++;
    json_t *b = NULL;
    targets t = {0};
    query q = {.n = 0};
    const char *bad;
    const char *md = param(p, "max_docs"), *conf = param(p, "conflicts");
    long max_docs = -1;
    if (md) {
        char *end;
        errno = 0;
        max_docs = strtol(md, &end, 10);
        if (errno || *end || end == md || max_docs <= 0) {
            rej = reject(fk, "max_docs should be > 0, got [%s]", md);
            goto out;
        }
    }
    if ((conf && strcmp(conf, "proceed") && strcmp(conf, "abort")) ||
        !param_bool_ok(p, "refresh") || !param_bool_ok(p, "ignore_unavailable") ||
        !param_bool_ok(p, "allow_no_indices")) {
        rej = reject(fk, "_delete_by_query: bad conflicts/refresh/ignore_unavailable value "
                         "(refresh accepts true|false only)");
        goto out;
    }
    if (!content_type_is(c, "application/json")) {
        rej = reject(fk, "_delete_by_query: Content-Type must be application/json");
        goto out;
    }
    b = parse_body(rq);
    if (!json_is_object(b) || !json_object_get(b, "query") || !only_keys(b, keys, &bad)) {
        rej = reject(fk, "_delete_by_query: body must be {\"query\":..., \"max_docs\"?}");
        goto out;
    }
    if (json_object_get(b, "max_docs"))
        max_docs = (long)json_integer_value(json_object_get(b, "max_docs"));
    if (!resolve_targets(fk, target, p, &t, &rej) ||
        !parse_query(fk, json_object_get(b, "query"), &t, &q, &rej))
        goto out;
    long deleted = 0;
    for (size_t i = 0; i < json_array_size(t.list); i++) {
        json_t *docs = json_object_get(json_array_get(t.list, i), "docs");
        const char *id;
        json_t *doc;
        void *tmp;
        json_object_foreach_safe(docs, tmp, id, doc) {
            if (max_docs >= 0 && deleted >= max_docs)
                break;
            if (query_match(&q, id, doc)) {
                json_object_del(docs, id);
                deleted++;
            }
        }
    }
    fk->st.deleted += deleted;
    rej = (answer){200, json_pack("{s:i, s:b, s:I, s:I, s:i, s:i, s:i, s:{s:i, s:i}, s:[]}",
                                  "took", 1, "timed_out", 0, "total", (json_int_t)deleted,
                                  "deleted", (json_int_t)deleted, "batches", 1,
                                  "version_conflicts", 0, "noops", 0, "retries", "bulk", 0,
                                  "search", 0, "failures")};
out:
    query_free(&q);
    targets_free(&t);
    json_decref(b);
    json_decref(p);
    return rej;
}

static answer handle_cat_indices(fake *fk, struct MHD_Connection *c, const char *target)
{
    static const char *const allowed[] = {"format", "h", NULL};
    answer rej;
    json_t *p = url_params(fk, c, allowed, "_cat/indices", &rej);
    if (!p)
        return rej;
    const char *format = param(p, "format"), *h = param(p, "h");
    bool ok = format && !strcmp(format, "json") && h &&
              (!strcmp(h, "index,docs.count") || !strcmp(h, "index"));
    json_decref(p);
    if (!ok)
        return reject(fk, "_cat/indices: es_fake answers format=json&h=index[,docs.count] only");
    json_t *rows = json_array();
    const char *name;
    json_t *ix;
    json_object_foreach(fk->indices, name, ix) {
        if (!glob_match(target, name))
            continue;
        char cnt[32];
        snprintf(cnt, sizeof(cnt), "%zu", json_object_size(json_object_get(ix, "docs")));
        json_array_append_new(rows, json_pack("{s:s, s:s}", "index", name, "docs.count", cnt));
    }
    return (answer){200, rows};
}

static answer handle_delete_index(fake *fk, const char *name)
{
    if (strchr(name, '*') || strchr(name, ',') || strchr(name, '/') || !strcmp(name, "_all"))
        return reject(fk, "DELETE /%s: es_fake deletes one index by exact name only", name);
    if (!json_object_get(fk->indices, name)) {
        char reason[300];
        snprintf(reason, sizeof(reason), "no such index [%.200s]", name);
        return es_error(404, "index_not_found_exception", reason);
    }
    json_object_del(fk->indices, name);
    fk->st.indices_deleted++;
    return (answer){200, json_pack("{s:b}", "acknowledged", 1)};
}

/* ---- control ------------------------------------------------------------- */

static json_t *stats_json(fake *fk)
{
    const stats *s = &fk->st;
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
        "requests", (json_int_t)s->requests, "bulk_requests", (json_int_t)s->bulk_requests,
        "bulk_items", (json_int_t)s->bulk_items, "created", (json_int_t)s->created, "conflicts",
        (json_int_t)s->conflicts, "injected_item_429", (json_int_t)s->injected_item_429,
        "injected_item_500", (json_int_t)s->injected_item_500, "injected_item_400",
        (json_int_t)s->injected_item_400, "injected_request_429",
        (json_int_t)s->injected_request_429, "item_mapping_errors",
        (json_int_t)s->item_mapping_errors, "searches", (json_int_t)s->searches,
        "delete_by_query", (json_int_t)s->delete_by_query, "deleted", (json_int_t)s->deleted,
        "indices_deleted", (json_int_t)s->indices_deleted, "rejected_shapes",
        (json_int_t)s->rejected_shapes, "last_rejection", s->last_rejection);
    long docs = 0;
    const char *name;
    json_t *ix;
    json_object_foreach(fk->indices, name, ix)
        docs += (long)json_object_size(json_object_get(ix, "docs"));
    json_object_set_new(j, "docs", json_integer(docs));
    json_object_set_new(j, "indices", json_integer((json_int_t)json_object_size(fk->indices)));
    return j;
}

static answer handle_faults(fake *fk, const request_ctx *rq)
{
    static const char *const keys[] = {"item_429_every", "item_500_every", "request_429_next",
                                       "reject_id_containing", NULL};
    const char *bad;
    json_t *b = parse_body(rq);
    answer a;
    if (!json_is_object(b) || !only_keys(b, keys, &bad)) {
        a = es_error(400, "illegal_argument_exception", "faults: unknown key or not an object");
    } else {
        const json_t *v;
        if ((v = json_object_get(b, "item_429_every")))
            fk->f.item_429_every = (long)json_integer_value(v);
        if ((v = json_object_get(b, "item_500_every")))
            fk->f.item_500_every = (long)json_integer_value(v);
        if ((v = json_object_get(b, "request_429_next")))
            fk->f.request_429_next = (long)json_integer_value(v);
        if ((v = json_object_get(b, "reject_id_containing"))) {
            free(fk->f.reject_id_containing);
            fk->f.reject_id_containing =
                json_is_string(v) && json_string_length(v) ? strdup(json_string_value(v)) : NULL;
        }
        fk->item_counter = 0; /* "every Nth" counts from the change */
        a = (answer){200, json_pack("{s:I, s:I, s:I, s:s?}", "item_429_every",
                                    (json_int_t)fk->f.item_429_every, "item_500_every",
                                    (json_int_t)fk->f.item_500_every, "request_429_next",
                                    (json_int_t)fk->f.request_429_next, "reject_id_containing",
                                    fk->f.reject_id_containing)};
    }
    json_decref(b);
    return a;
}

static answer cluster_info(fake *fk)
{
    if (fk->opensearch)
        return (answer){200, json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "name", "es_fake",
                                       "cluster_name", "es-fake", "version", "distribution",
                                       "opensearch", "number", "2.19.0", "tagline",
                                       "The OpenSearch Project: https://opensearch.org/")};
    return (answer){200, json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "name", "es_fake",
                                   "cluster_name", "es-fake", "version", "number", "8.11.0",
                                   "build_flavor", "default", "tagline",
                                   "You Know, for Search")};
}

/* ---- routing ------------------------------------------------------------- */

static bool authorized(fake *fk, struct MHD_Connection *c)
{
    if (!fk->auth_b64)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return h && strcmp(h, fk->auth_b64) == 0;
}

static answer route(fake *fk, struct MHD_Connection *c, const char *url, const char *method,
                    const request_ctx *rq)
{
    bool get = !strcmp(method, "GET"), put = !strcmp(method, "PUT"),
         post = !strcmp(method, "POST");
    if (!strcmp(url, "/_fake/stats") && get)
        return (answer){200, stats_json(fk)};
    if (!strcmp(url, "/_fake/faults") && post)
        return handle_faults(fk, rq);
    if (!authorized(fk, c))
        return es_error(401, "security_exception",
                        "missing authentication credentials for REST request");
    if (!strcmp(url, "/") && get)
        return cluster_info(fk);
    if (rq->too_large)
        return es_error(413, "content_too_long", "request body too large for es_fake");
    fk->st.requests++;
    if (fk->f.request_429_next > 0) {
        fk->f.request_429_next--;
        fk->st.injected_request_429++;
        return es_error(429, "es_rejected_execution_exception",
                        "rejected execution of coordinating operation (injected, whole request)");
    }
    const char *rest;
    if (!strncmp(url, "/_index_template/", 17) && *(rest = url + 17) && !strchr(rest, '/')) {
        if (put)
            return put_template(fk, rest, rq);
        if (get)
            return get_template(fk, rest);
    }
    if (!strncmp(url, "/_ilm/policy/", 13) && *(rest = url + 13) && !strchr(rest, '/')) {
        if (fk->opensearch) {
            char reason[300];
            snprintf(reason, sizeof(reason), "no handler found for uri [%.200s] and method [%s]",
                     url, method);
            return es_error(400, "illegal_argument_exception", reason);
        }
        if (put)
            return put_policy(fk, rest, rq);
        if (get)
            return get_policy(fk, rest);
    }
    if (!strcmp(url, "/_bulk") && post)
        return handle_bulk(fk, c, rq);
    if (!strncmp(url, "/_cat/indices/", 14) && url[14] && get)
        return handle_cat_indices(fk, c, url + 14);
    if (!strcmp(method, "DELETE") && url[0] == '/' && url[1] && url[1] != '_')
        return handle_delete_index(fk, url + 1);
    if ((!strcmp(url, "/_refresh") || (strlen(url) > 9 && !strcmp(url + strlen(url) - 9, "/_refresh")))
        && (get || post))
        return (answer){200, json_pack("{s:{s:i, s:i, s:i}}", "_shards", "total", 1,
                                       "successful", 1, "failed", 0)};
    /* /TARGET/_search and /TARGET/_delete_by_query */
    const char *slash = url[0] == '/' ? strchr(url + 1, '/') : NULL;
    if (slash && slash > url + 1 && put && !strcmp(slash, "/_mapping")) {
        char target[512];
        size_t n = (size_t)(slash - url - 1);
        if (n < sizeof(target)) {
            memcpy(target, url + 1, n);
            target[n] = '\0';
            return handle_put_mapping(fk, c, target, rq);
        }
    }
    if (slash && slash > url + 1 && post) {
        char target[512];
        size_t n = (size_t)(slash - url - 1);
        if (n < sizeof(target)) {
            memcpy(target, url + 1, n);
            target[n] = '\0';
            if (!strcmp(slash, "/_search"))
                return handle_search(fk, c, target, rq);
            if (!strcmp(slash, "/_delete_by_query"))
                return handle_dbq(fk, c, target, rq);
        }
    }
    return reject(fk, "es_fake does not implement %s %s", method, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    fake *fk = cls;
    request_ctx *rq = *con_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof(*rq))))
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (rq->body.len + *upload_data_size > FAKE_MAX_BODY ||
            aw_buf_append(&rq->body, upload_data, *upload_data_size))
            rq->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&fk->mu);
    answer a = route(fk, c, url, method, rq);
    pthread_mutex_unlock(&fk->mu);
    return send_answer(c, a);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    request_ctx *rq = *con_cls;
    if (!rq)
        return;
    aw_buf_free(&rq->body);
    free(rq);
    *con_cls = NULL;
}

/* ---- main ---------------------------------------------------------------- */

static char *basic_auth(const char *userpass)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(userpass);
    aw_buf b = {0};
    aw_buf_puts(&b, "Basic ");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)userpass[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)userpass[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)userpass[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
                     i + 1 < n ? tbl[(v >> 6) & 63] : '=', i + 2 < n ? tbl[v & 63] : '='};
        aw_buf_append(&b, q, 4);
    }
    return aw_buf_steal(&b);
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: es_fake [--port N] [--port-file F] [--auth USER:PASS] "
                    "[--opensearch] [--item-429-every N] [--item-500-every N] "
                    "[--request-429-next N] [--reject-id-containing S]\n");
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fprintf(f, "%u\n", port) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    fake fk;
    memset(&fk, 0, sizeof(fk));
    long port = 0;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--opensearch")) {
            fk.opensearch = true;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        int bad = 0;
        if (!strcmp(a, "--port"))
            bad = parse_long(v, &port) || port > 65535;
        else if (!strcmp(a, "--port-file"))
            port_file = v;
        else if (!strcmp(a, "--auth"))
            fk.auth_b64 = basic_auth(v);
        else if (!strcmp(a, "--item-429-every"))
            bad = parse_long(v, &fk.f.item_429_every);
        else if (!strcmp(a, "--item-500-every"))
            bad = parse_long(v, &fk.f.item_500_every);
        else if (!strcmp(a, "--request-429-next"))
            bad = parse_long(v, &fk.f.request_429_next);
        else if (!strcmp(a, "--reject-id-containing"))
            fk.f.reject_id_containing = strdup(v);
        else
            bad = 1;
        if (bad) {
            usage();
            return 2;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD threads inherit it; main sigwaits */
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&fk.mu, NULL);
    fk.templates = json_object();
    fk.policies = json_object();
    fk.indices = json_object();

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, &fk, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &fk, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_END);
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    int rc = 1;
    if (!info || !info->port) {
        fprintf(stderr, "es_fake: cannot start the HTTP daemon\n");
        goto out;
    }
    if (port_file && write_port_file(port_file, info->port)) {
        perror(port_file);
        goto out;
    }
    printf("%u\n", (unsigned)info->port);
    fflush(stdout);
    int sig;
    while (sigwait(&set, &sig) != 0)
        ;
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    json_decref(fk.templates);
    json_decref(fk.policies);
    json_decref(fk.indices);
    free(fk.f.reject_id_containing);
    free(fk.auth_b64);
    pthread_mutex_destroy(&fk.mu);
    return rc;
}
