/* acteon-worker replay -c FILE [--topic T ...] [--from-beginning | --since TIME]
 *
 * Rebuild the audit trail from Kafka without executing anything: every
 * reply carries its message's whole outcome (schemas/reply.schema.json) and
 * every DLQ copy carries it in the acteon.audit_record header, so reading
 * the reply and DLQ topics up to their current ends (ingest/topic_reader.h)
 * and appending the records gives the audit backend one record per message.
 * Appends are idempotent on the record id: running it twice adds nothing.
 *
 * Not in the rebuilt records: the payload (replies never carry it). Replies
 * sent to an action's own reply_to topic are replayed by naming that topic
 * with --topic. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/audit/audit.h"
#include "backends/audit/audit_record.h"
#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"
#include "config/config.h"
#include "ingest/topic_reader.h"
#include "worker/cli.h"

#define MAX_TOPICS 64
#define PROGRESS_EVERY_MS 250
#define WRITE_ATTEMPTS 20     /* transient audit failures before giving up */
#define READ_STALL_MS 120000  /* broker unreachable this long: give up */

static int replay_usage(FILE *out)
{
    fprintf(out,
            "usage: acteon-worker replay -c FILE [--topic T]... [--from-beginning | --since TIME]\n"
            "                            [--brokers B] [--no-progress]\n"
            "  Rebuild audit records from the reply and DLQ topics (default: kafka.reply_topic\n"
            "  and kafka.dlq_topic), read up to their ends as of the start, without a consumer\n"
            "  group and without executing anything. Idempotent: a second run adds nothing.\n"
            "  TIME is RFC 3339 (2026-11-25T10:00:00Z) or a duration ago (90s, 15m, 2h, 7d).\n");
    return out == stdout ? 0 : 2;
}

typedef struct replay {
    aw_audit_session *audit;
    aw_audit_record *batch;
    rd_kafka_message_t **msgs; /* the batch's source messages, for error messages */
    size_t n, cap;
    /* totals */
    uint64_t messages, records, inserted, skipped;
} replay;

/* The record of one message: the DLQ header when present, else the value. */
static bool decode(const rd_kafka_message_t *m, aw_audit_record *out, aw_error *err)
{
    const void *data = m->payload;
    size_t len = m->len;
    rd_kafka_headers_t *h = NULL;
    const void *hv = NULL;
    size_t hlen = 0;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h &&
        rd_kafka_header_get_last(h, AW_AUDIT_RECORD_HEADER, &hv, &hlen) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        hv) {
        data = hv;
        len = hlen;
    }
    if (!data || len == 0) {
        aw_error_set(err, AW_PERMANENT, "empty message");
        return false;
    }
    json_error_t je;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        aw_error_set(err, AW_PERMANENT, "not JSON: %s", je.text);
        return false;
    }
    aw_status rc = aw_record_from_reply(j, out, err);
    json_decref(j);
    return rc == AW_OK;
}

static void batch_clear(replay *r)
{
    for (size_t i = 0; i < r->n; i++) {
        aw_audit_record_clear(&r->batch[i]);
        rd_kafka_message_destroy(r->msgs[i]);
    }
    r->n = 0;
}

/* Append the batch, retrying transient failures with backoff. */
static int flush(replay *r)
{
    if (r->n == 0)
        return 0;
    for (int attempt = 1;; attempt++) {
        aw_error err;
        aw_error_clear(&err);
        size_t inserted = 0;
        aw_status rc = aw_audit_append_batch(r->audit, r->batch, r->n, &inserted, &err);
        if (rc == AW_OK) {
            r->records += r->n;
            r->inserted += inserted;
            batch_clear(r);
            return 0;
        }
        if (!err.retriable || attempt == WRITE_ATTEMPTS) {
            fprintf(stderr, "\nacteon-worker replay: writing %zu record(s) (first %s): %s\n", r->n,
                    r->batch[0].record_id, err.msg);
            return 1;
        }
        AW_WARN("replay", "writing %zu record(s): %s (attempt %d, retrying)", r->n, err.msg,
                attempt);
        aw_sleep_ms(aw_backoff_ms(attempt, 100, 5000));
    }
}

static void show_progress(const replay *r, const aw_topic_reader *tr, int64_t t0, bool final)
{
    aw_topic_reader_progress p;
    aw_topic_reader_get_progress(tr, &p);
    double secs = (double)(aw_mono_now_ms() - t0) / 1000.0;
    double pct = p.total ? 100.0 * (double)p.consumed / (double)p.total : 100.0;
    fprintf(stderr,
            "\rreplay: %" PRIu64 " record(s), %" PRIu64 " new, %.0f/s, %.1f%% of the marks "
            "(%zu/%zu partitions)%s",
            r->records, r->inserted, secs > 0 ? (double)r->records / secs : 0.0, pct,
            p.partitions_done, p.partitions, final ? "\n" : "   ");
}

static int run_replay(replay *r, aw_topic_reader *tr, size_t batch_size, bool progress)
{
    int64_t t0 = aw_mono_now_ms(), last_show = 0, last_read = aw_mono_now_ms();
    for (;;) {
        rd_kafka_message_t *m = NULL;
        bool done = false;
        aw_error err;
        aw_error_clear(&err);
        aw_status rc = aw_topic_reader_next(tr, 100, &m, &done, &err);
        if (rc == AW_OK)
            last_read = aw_mono_now_ms();
        if (rc != AW_OK && (!err.retriable || aw_mono_now_ms() - last_read > READ_STALL_MS)) {
            fprintf(stderr, "\nacteon-worker replay: %s\n", err.msg);
            return 1;
        }
        if (rc != AW_OK)
            AW_WARN("replay", "%s (retrying)", err.msg);
        if (m) {
            r->messages++;
            aw_audit_record rec = {0};
            if (decode(m, &rec, &err)) {
                r->batch[r->n] = rec;
                r->msgs[r->n++] = m;
            } else {
                /* Not ours (another producer on the topic): reported, not fatal. */
                r->skipped++;
                AW_WARN("replay", "%s [%" PRId32 "] offset %" PRId64 ": skipped: %s",
                        rd_kafka_topic_name(m->rkt), m->partition, m->offset, err.msg);
                rd_kafka_message_destroy(m);
            }
        }
        if ((r->n == batch_size || (done && r->n) || (!m && r->n)) && flush(r))
            return 1;
        if (progress && (done || aw_mono_now_ms() - last_show >= PROGRESS_EVERY_MS)) {
            show_progress(r, tr, t0, done);
            last_show = aw_mono_now_ms();
        }
        if (done)
            return 0;
    }
}

/* The command line of `replay`. */
typedef struct replay_args {
    const char *file, *brokers, *since;
    const char *topics[MAX_TOPICS];
    size_t n_topics;
    bool progress;
    int64_t since_ms;
} replay_args;

/* Read the arguments into a; returns -1 to go on, else the exit code. */
static int parse_replay_args(int argc, char **argv, replay_args *a)
{
    a->progress = isatty(STDERR_FILENO);
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            a->file = argv[++i];
        else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc && a->n_topics < MAX_TOPICS)
            a->topics[a->n_topics++] = argv[++i];
        else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
            a->since = argv[++i];
        else if (strcmp(argv[i], "--from-beginning") == 0)
            a->since = NULL;
        else if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            a->brokers = argv[++i];
        else if (strcmp(argv[i], "--no-progress") == 0)
            a->progress = false;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return replay_usage(stdout);
        else {
            fprintf(stderr, "acteon-worker replay: unexpected argument \"%s\"\n", argv[i]);
            return replay_usage(stderr);
        }
    }
    if (!a->file)
        return replay_usage(stderr);
    if (a->since && aw_cli_parse_time(a->since, aw_time_now_ms(), &a->since_ms) != 0) {
        fprintf(stderr, "acteon-worker replay: --since \"%s\": want RFC 3339 or a duration "
                        "such as 2h\n", a->since);
        return 2;
    }
    return -1;
}

int aw_cmd_replay(int argc, char **argv)
{
    replay_args a = {0};
    int parsed = parse_replay_args(argc, argv, &a);
    if (parsed >= 0)
        return parsed;
    const char *brokers = a.brokers;
    const char **topics = a.topics;
    size_t n_topics = a.n_topics;
    int64_t since_ms = a.since_ms;
    bool progress = a.progress;
    aw_config *cfg = NULL;
    int code = aw_cli_load_config(a.file, &cfg);
    if (code)
        return code;
    if (!brokers)
        brokers = cfg->kafka.brokers;
    if (n_topics == 0) {
        topics[n_topics++] = cfg->kafka.reply_topic;
        topics[n_topics++] = cfg->kafka.dlq_topic;
    }
    replay r = {0};
    aw_audit *audit = NULL;
    aw_topic_reader *tr = NULL;
    if (strcmp(brokers, "embedded") == 0) {
        fprintf(stderr, "acteon-worker replay: kafka.brokers is \"embedded\"; pass the "
                        "cluster's bootstrap address with --brokers\n");
        code = 2;
    }
    if (!code)
        code = aw_cli_open_audit("replay", cfg, &audit, &r.audit);
    size_t batch_size = (size_t)cfg->audit.batch_size;
    r.batch = calloc(batch_size, sizeof(*r.batch));
    r.msgs = calloc(batch_size, sizeof(*r.msgs));
    if (!code && (!r.batch || !r.msgs)) {
        fprintf(stderr, "acteon-worker replay: out of memory\n");
        code = 1;
    }
    if (!code) {
        aw_topic_reader_options to = {.brokers = brokers,
                                      .properties = cfg->kafka.properties,
                                      .n_properties = cfg->kafka.n_properties,
                                      .topics = topics,
                                      .n_topics = n_topics,
                                      .since_ms = since_ms,
                                      .timeout_ms = 15000};
        aw_error err;
        aw_error_clear(&err);
        if (aw_topic_reader_open(&to, &tr, &err) != AW_OK) {
            fprintf(stderr, "acteon-worker replay: %s\n", err.msg);
            code = err.code == AW_CONFIG ? 2 : 1;
        }
    }
    int64_t t0 = aw_mono_now_ms();
    if (!code)
        code = run_replay(&r, tr, batch_size, progress);
    if (tr) {
        double secs = (double)(aw_mono_now_ms() - t0) / 1000.0;
        printf("replay: %zu topic(s), %" PRIu64 " message(s) read, %" PRIu64 " record(s) "
               "written, %" PRIu64 " new, %" PRIu64 " already present, %" PRIu64
               " skipped (not an outcome), %.1f s (%.0f records/s)%s\n",
               n_topics, r.messages, r.records, r.inserted, r.records - r.inserted, r.skipped,
               secs, secs > 0 ? (double)r.records / secs : 0.0, code ? " - FAILED" : "");
    }
    batch_clear(&r);
    free(r.batch);
    free(r.msgs);
    aw_topic_reader_close(tr);
    aw_audit_session_close(r.audit);
    aw_audit_destroy(audit);
    aw_config_destroy(cfg);
    return code;
}
