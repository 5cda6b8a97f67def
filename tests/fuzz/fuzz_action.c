/* aw_action_decode: every Kafka message value goes through it. A size limit
 * below libFuzzer's default -max_len (4096) keeps too_large reachable; the
 * identity helpers run on every accepted action, as the worker does.
 *
 * Two oracles abort on any disagreement:
 * - jansson (json_loadb with the flags ingest/json_check.h promises to
 *   match): the decoder says invalid_json exactly when jansson refuses the
 *   text, every string field is the string jansson reads for that member,
 *   and the payload and metadata spans parse to jansson's values;
 * - the polling thread's identity scanner (ingest/action_scan.h) shards every
 *   accepted action by the identity the decoder finds. */
#include <jansson.h>

#include "ingest/action.h"
#include "ingest/action_scan.h"
#include "tests/fuzz/fuzz_util.h"

#define LIMIT 2048

static void same_string(const json_t *root, const char *member, const char *got)
{
    const json_t *want = json_object_get(root, member);
    if (!got) {
        if (want)
            abort(); /* jansson sees a member the decoder did not */
        return;
    }
    if (!json_is_string(want) || strlen(got) != json_string_length(want) ||
        strcmp(got, json_string_value(want)) != 0)
        abort();
}

static void same_value(const json_t *root, const char *member, const char *text, size_t len)
{
    const json_t *want = json_object_get(root, member);
    if (!text) {
        if (want)
            abort();
        return;
    }
    json_t *got = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (!got || !want || !json_equal(got, want))
        abort();
    json_decref(got);
}

static void check_accepted(const uint8_t *data, size_t size, const aw_action *a, const json_t *ref)
{
    if (!json_is_object(ref))
        abort(); /* accepted what jansson refuses, or a non-object */
    same_string(ref, "id", a->id);
    same_string(ref, "namespace", a->ns);
    same_string(ref, "tenant", a->tenant);
    same_string(ref, "provider", a->provider);
    same_string(ref, "action_type", a->action_type);
    same_string(ref, "dedup_key", a->dedup_key);
    same_string(ref, "reply_to", a->reply_to);
    const json_t *tc = json_object_get(ref, "trace_context");
    same_string(tc, "traceparent", a->traceparent);
    same_string(tc, "tracestate", a->tracestate);
    same_value(ref, "payload", a->payload, a->payload_len);
    same_value(ref, "metadata", a->metadata, a->metadata_len);
    if ((a->created_at_ms != 0) && !json_object_get(ref, "created_at"))
        abort();

    uint64_t scanned;
    aw_buf b = {0};
    if (aw_action_identity(a, &b) == 0 && aw_action_scan_identity(data, size, &scanned) == 0 &&
        aw_action_identity_hash(a) != scanned)
        abort(); /* the scanner sharded this action by another identity */
    aw_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_action a;
    aw_reject rej;
    int rc = aw_action_decode(data, size, LIMIT, &a, &rej);
    json_t *ref = size > 0 && size <= LIMIT
                      ? json_loadb((const char *)data, size,
                                   JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL)
                      : NULL;
    if (rc == 0) {
        check_accepted(data, size, &a, ref);
        aw_action_clear(&a);
    } else {
        /* Rejections end up in logs and DLQ headers: both must be C strings. */
        if (!memchr(rej.detail, '\0', sizeof rej.detail) ||
            !memchr(rej.field, '\0', sizeof rej.field) ||
            !memchr(rej.action_id, '\0', sizeof rej.action_id))
            abort();
        (void)aw_reject_reason_name(rej.reason);
        /* JSON-level verdicts agree with jansson; too_deep is ours alone
         * (jansson nests up to 2048), too_large and empty come first. */
        if (rej.reason == AW_REJECT_INVALID_JSON && ref && !memchr(data, '\0', size))
            abort(); /* (a NUL byte jansson skips: see ingest/json_check.h) */
        if ((rej.reason == AW_REJECT_NOT_OBJECT || rej.reason == AW_REJECT_MISSING_FIELD ||
             rej.reason == AW_REJECT_INVALID_FIELD) &&
            !ref)
            abort();
    }
    json_decref(ref);
    return 0;
}
