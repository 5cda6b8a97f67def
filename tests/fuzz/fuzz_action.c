/* aw_action_decode: every Kafka message value goes through it. A size limit
 * below libFuzzer's default -max_len (4096) keeps too_large reachable; the
 * identity helpers run on every accepted action, as the worker does. */
#include "ingest/action.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_action a;
    aw_reject rej;
    if (aw_action_decode(data, size, 2048, &a, &rej) == 0) {
        aw_buf b = {0};
        if (aw_action_identity(&a, &b) == 0)
            (void)aw_action_identity_hash(&a);
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
