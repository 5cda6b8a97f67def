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
