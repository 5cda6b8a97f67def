/* Elasticsearch / OpenSearch audit backend: the URL and its options.
 *
 *   audit.url = "http(s)://[user:password@]host:port[/path]/?index=acteon-audit&refresh=false"
 *
 * Works with Elasticsearch 7.x/8.x and OpenSearch 2.x (same REST subset:
 * _bulk, composable _index_template, _search with search_after,
 * _delete_by_query). user/password go to HTTP basic auth; the password is
 * never logged (aw_redact_url). A path is kept as a prefix for every request
 * (a cluster behind a reverse proxy).
 *
 * Query options (all optional):
 *   index=NAME      index prefix (default "acteon-audit"): records go to the
 *                   dated index NAME-YYYY.MM.DD of their completed_at (UTC),
 *                   so a record always lands in the same index and create-by-
 *                   _id stays idempotent; reads use the pattern NAME-*.
 *                   Lowercase letters, digits, '.', '_', '-'; must not start
 *                   with '-', '_' or '.'. Two deployments must not use
 *                   prefixes where one is the other plus "-..." (NAME-* would
 *                   match both).
 *   refresh=false|true|wait_for
 *                   refresh policy of _bulk and _delete_by_query (default
 *                   false: records are searchable after the cluster's
 *                   refresh interval, ~1 s). Tests use wait_for so a query
 *                   sees what was just written.
 *   ilm=on|off      (default off) also manage an ILM policy NAME-retention
 *                   that deletes whole indices after the retention, and name
 *                   it in the template. Elasticsearch only: OpenSearch has
 *                   ISM, not ILM, and answers 400 to _ilm. With off, expired
 *                   records are removed by cleanup (_delete_by_query).
 *   dedup_across_days=on|off
 *                   (default on) before each _bulk, one _search by _id over
 *                   NAME-* skips records already stored in ANOTHER day's
 *                   index: a redelivery whose completed_at moved past UTC
 *                   midnight would otherwise be stored a second time (create
 *                   only sees its own index). It sees what is searchable:
 *                   with refresh=false a copy written less than the refresh
 *                   interval (~1 s) earlier on the other side of midnight
 *                   can still slip through.
 *   drop_indices=on|off
 *                   (default on) cleanup also deletes dated indices that are
 *                   empty and whose whole day is older than the retention,
 *                   so a cluster without ILM does not collect one empty
 *                   index (and its shards) per day forever. Only empty ones:
 *                   a record's own expires_at decides when it goes, and the
 *                   max_rows bound of cleanup holds.
 *   ca=PATH         CA bundle file for https (CURLOPT_CAINFO).
 *   retries=N       per-item retry rounds inside one append (0..10, default 3)
 *                   for items the cluster answered 429/5xx.
 *   backoff_ms=N    first retry delay (1..10000, default 100), doubled per
 *                   round with jitter, capped at 2 s.
 *   shards=N, replicas=N
 *                   index settings written by migrate (default 1 and 1).
 *
 * Ownership: aw_es_conf_parse fills a caller-owned es_conf whose strings are
 * malloc'd; aw_es_conf_clear releases them. Pure (no I/O), no shared state. */
#ifndef AW_ES_CONF_H
#define AW_ES_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_error.h"

#define ES_DEFAULT_INDEX "acteon-audit"
#define ES_INDEX_MAX 200 /* Elasticsearch allows 255 bytes; room for -YYYY.MM.DD */

typedef struct es_conf {
    char *base;      /* "http://host:port[/path]": no credentials, no query, no trailing '/' */
    char *user;      /* NULL: no auth */
    char *password;  /* NULL when absent */
    char *ca_path;   /* NULL: the system bundle */
    char index[ES_INDEX_MAX + 1];
    char refresh[16]; /* "false", "true" or "wait_for" */
    bool ilm;
    bool drop_indices;
    bool dedup_across_days;
    int retries;
    int backoff_ms;
    int shards;
    int replicas;
} es_conf;

/* Parse url into *c (overwritten). AW_CONFIG naming the bad part on failure
 * (never quoting the password); *c is then left cleared. */
aw_status aw_es_conf_parse(const char *url, es_conf *c, aw_error *err);
void aw_es_conf_clear(es_conf *c);

/* "<index>-YYYY.MM.DD" of ms (UTC) into out (>= ES_INDEX_MAX + 12 bytes). */
void aw_es_index_for(const es_conf *c, int64_t ms, char *out, size_t outsz);

/* The inverse: 0 and the UTC start of the day (ms) when name is exactly
 * "<index>-YYYY.MM.DD" (a valid date), else -1. Guards index drops: an
 * index of another prefix that NAME-* also matches is never touched. */
int aw_es_index_day(const es_conf *c, const char *name, int64_t *day_start_ms);

#endif
