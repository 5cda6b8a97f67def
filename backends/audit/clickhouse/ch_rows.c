#include "backends/audit/clickhouse/ch_rows.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/clickhouse/ch_tsv.h"
#include "common/aw_json_out.h"
#include "common/aw_outcome.h"

/* ClickHouse's Date is a UInt16 day number, but 18.16 only reads dates up
 * to 2105-12-31 (a later one parses as 0000-00-00): clamp there. */
#define CH_DATE_MAX_DAY 49672

void aw_ch_date(int64_t ms, char out[11])
{
    int64_t day = ms >= 0 ? ms / 86400000 : 0;
    if (day > CH_DATE_MAX_DAY)
        day = CH_DATE_MAX_DAY;
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    /* tm fields are in range after gmtime_r of a clamped day: 10 chars */
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000, m = (unsigned)(tm.tm_mon + 1) % 100,
             d = (unsigned)tm.tm_mday % 100;
    snprintf(out, 11, "%04u-%02u-%02u", y, m, d);
}

/* One TabSeparated row being written: the first failure sticks (-1 out of
 * memory, -2 a string that is not UTF-8) and later columns do nothing. */
typedef struct row_w {
    aw_buf *b;
    int rc;
} row_w;

/* Text columns must be UTF-8: queries read them back as JSON
 * (aw_ch_row_parse), which refuses anything else. */
static void col_s(row_w *w, const char *s)
{
    if (w->rc)
        return;
    s = s ? s : "";
    size_t n = strlen(s);
    if (!aw_utf8_valid(s, n))
        w->rc = -2;
    else if (aw_ch_tsv_bytes(w->b, s, n) != 0 || aw_buf_append(w->b, "\t", 1) != 0)
        w->rc = -1;
}

/* A Nullable(String) column: \N for NULL. */
static void col_ns(row_w *w, const char *s)
{
    if (s)
        col_s(w, s);
    else if (!w->rc && aw_buf_append(w->b, "\\N\t", 3) != 0)
        w->rc = -1;
}

static void col_i(row_w *w, int64_t v)
{
    if (!w->rc && (aw_ch_tsv_int(w->b, v) != 0 || aw_buf_append(w->b, "\t", 1) != 0))
        w->rc = -1;
}

static void col_u(row_w *w, uint64_t v)
{
    if (!w->rc && (aw_ch_tsv_uint(w->b, v) != 0 || aw_buf_append(w->b, "\t", 1) != 0))
        w->rc = -1;
}

aw_status aw_ch_row_append(aw_buf *b, const aw_audit_record *r, aw_error *err)
{
    size_t start = b->len;
    row_w w = {b, 0};
    char day[11];
    aw_ch_date(r->completed_at_ms, day);
    /* The ReplacingMergeTree version: the merge keeps the earliest
     * completed copy, the one queries pick (migrations/clickhouse). */
    int64_t done = r->completed_at_ms > 0 ? r->completed_at_ms : 0;
    /* In AW_CH_ROW_COLUMNS order. */
    col_s(&w, r->record_id);
    col_s(&w, r->action_id);
    col_s(&w, r->ns);
    col_s(&w, r->tenant);
    col_s(&w, r->provider);
    col_s(&w, r->action_type);
    col_s(&w, r->dedup_identity);
    col_s(&w, aw_outcome_name(r->outcome));
    col_s(&w, r->details ? r->details : "{}");
    col_s(&w, r->payload);
    col_i(&w, r->payload != NULL);
    col_s(&w, r->metadata);
    col_i(&w, r->metadata != NULL);
    col_s(&w, r->source_topic);
    col_i(&w, r->source_partition);
    col_i(&w, r->source_offset);
    col_s(&w, r->worker_id);
    col_u(&w, r->fencing_token);
    col_i(&w, r->attempts);
    col_i(&w, r->dispatched_at_ms);
    col_i(&w, r->completed_at_ms);
    col_i(&w, r->duration_ms);
    col_i(&w, r->expires_at_ms);
    col_s(&w, day);
    col_u(&w, (uint64_t)(INT64_MAX - done));
    col_ns(&w, r->rule);
    col_ns(&w, r->fingerprint);
    col_ns(&w, r->group_id);
    col_ns(&w, r->chain_id);
    if (w.rc) {
        /* drop the partial row: the buffer is as the caller left it */
        b->len = start;
        if (b->data)
            b->data[start] = '\0';
        if (w.rc == -1)
            return aw_error_set(err, AW_NOMEM, "out of memory");
        return aw_error_set(err, AW_PERMANENT,
                            "clickhouse: record %s has a field that is not UTF-8 text",
                            r->record_id && aw_utf8_valid(r->record_id, strlen(r->record_id))
                                ? r->record_id
                                : "?");
    }
    b->data[b->len - 1] = '\n'; /* the last column ends the row */
    return AW_OK;
}

/* ---- parse ---------------------------------------------------------------- */

static int get_str(const json_t *o, const char *k, char **out)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return -1;
    *out = strndup(json_string_value(v), json_string_length(v));
    return *out ? 0 : -1;
}

/* A Nullable(String) column: null leaves *out NULL. */
static int get_nstr(const json_t *o, const char *k, char **out)
{
    return json_is_null(json_object_get(o, k)) ? 0 : get_str(o, k, out);
}

/* 64-bit columns come back quoted (output_format_json_quote_64bit_integers
 * defaults to 1), narrower ones as numbers: accept both. */
static int get_i64(const json_t *o, const char *k, int64_t *out)
{
    const json_t *v = json_object_get(o, k);
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    return json_is_string(v) ? aw_ch_tsv_parse_int(json_string_value(v), out) : -1;
}

static int get_u64(const json_t *o, const char *k, uint64_t *out)
{
    const json_t *v = json_object_get(o, k);
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    return json_is_string(v) ? aw_ch_tsv_parse_uint(json_string_value(v), out) : -1;
}

aw_status aw_ch_row_parse(const char *line, size_t len, aw_audit_record *out, aw_error *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *o = json_loadb(line, len, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return aw_error_set(err, AW_PERMANENT, "clickhouse: unreadable row: %s", je.text);
    }
    const char *bad = NULL;
    char *outcome = NULL;
    int64_t has_payload = 0, has_metadata = 0, partition = 0;
#define S(k, f) if (!bad && get_str(o, k, &out->f)) bad = k
#define I(k, f) if (!bad && get_i64(o, k, &out->f)) bad = k
    S("record_id", record_id);
    S("action_id", action_id);
    S("ns", ns);
    S("tenant", tenant);
    S("provider", provider);
    S("action_type", action_type);
    S("dedup_identity", dedup_identity);
    S("details", details);
    S("payload", payload);
    S("metadata", metadata);
    S("source_topic", source_topic);
    S("worker_id", worker_id);
    I("source_offset", source_offset);
    I("attempts", attempts);
    I("dispatched_at_ms", dispatched_at_ms);
    I("completed_at_ms", completed_at_ms);
    I("duration_ms", duration_ms);
    I("expires_at_ms", expires_at_ms);
#undef S
#undef I
    if (!bad && get_i64(o, "source_partition", &partition))
        bad = "source_partition";
    if (!bad && get_i64(o, "has_payload", &has_payload))
        bad = "has_payload";
    if (!bad && get_i64(o, "has_metadata", &has_metadata))
        bad = "has_metadata";
    if (!bad && get_u64(o, "fencing_token", &out->fencing_token))
        bad = "fencing_token";
    /* rule: Nullable(String), null when no rule applied */
    if (!bad && get_nstr(o, "rule", &out->rule))
        bad = "rule";
    if (!bad && get_nstr(o, "fingerprint", &out->fingerprint))
        bad = "fingerprint";
    if (!bad && get_nstr(o, "group_id", &out->group_id))
        bad = "group_id";
    if (!bad && get_nstr(o, "chain_id", &out->chain_id))
        bad = "chain_id";
    if (!bad && get_str(o, "outcome", &outcome))
        bad = "outcome";
    if (!bad && !aw_outcome_parse(outcome, &out->outcome))
        bad = "outcome";
    free(outcome);
    json_decref(o);
    if (bad) {
        aw_audit_record_clear(out);
        memset(out, 0, sizeof(*out));
        return aw_error_set(err, AW_PERMANENT, "clickhouse: row without a valid \"%s\"", bad);
    }
    out->source_partition = (int32_t)partition;
    if (!has_payload) {
        free(out->payload);
        out->payload = NULL;
    }
    if (!has_metadata) {
        free(out->metadata);
        out->metadata = NULL;
    }
    return AW_OK;
}
