/* aw_action_decode: every Kafka message value goes through it. A size limit
 * below libFuzzer's default -max_len (4096) keeps too_large reachable; the
 * identity helpers run on every accepted action, as the worker does. The
 * polling thread's identity scanner must agree with the decoder on every
 * action the decoder accepts (ingest/action_scan.h). */
#include "ingest/action.h"
#include "ingest/action_scan.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_action a;
    aw_reject rej;
    uint64_t scanned = 0;
    bool scan_ok = aw_action_scan_identity(data, size, &scanned) == 0;
    if (aw_action_decode(data, size, 2048, &a, &rej) == 0) {
        aw_buf b = {0};
        if (aw_action_identity(&a, &b) == 0 && scan_ok && aw_action_identity_hash(&a) != scanned)
            abort(); /* the scanner sharded this action by another identity */
        /* The raw payload and metadata the audit record keeps are those
         * values (ingest/action_scan.h). */
        static const char *const names[] = {"payload", "metadata"};
        aw_raw_value raw[2];
        if (aw_action_raw_members(data, size, names, raw, 2) == 0) {
            const json_t *want[2] = {a.payload, a.metadata};
            for (int i = 0; i < 2; i++) {
                if (!raw[i].p) {
                    if (want[i])
                        abort(); /* decoded a member the scan did not find */
                    continue;
                }
                json_t *v = json_loadb(raw[i].p, raw[i].len, JSON_DECODE_ANY, NULL);
                if (!v || !want[i] || !json_equal(v, want[i]))
                    abort();
                json_decref(v);
            }
        }
        aw_buf_free(&b);
        aw_action_clear(&a);
        return 0;
    }
    /* Rejections end up in logs and DLQ headers: both must be C strings. */
    if (!memchr(rej.detail, '\0', sizeof rej.detail) ||
        !memchr(rej.field, '\0', sizeof rej.field) ||
        !memchr(rej.action_id, '\0', sizeof rej.action_id))
        abort();
    (void)aw_reject_reason_name(rej.reason);
    return 0;
}
