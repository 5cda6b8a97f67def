/* aw_record_from_reply: `acteon-worker audit replay` reads it from a topic
 * anyone may write to. A parsed record must turn back into a reply (its
 * invariants hold) that parses to an equal record. */
#include "backends/audit/audit_record.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j)
        return 0;
    aw_audit_record r;
    aw_error err = {0};
    if (aw_record_from_reply(j, &r, &err) == AW_OK) {
        json_t *back = aw_reply_from_record(&r);
        if (!back) {
            fprintf(stderr, "parsed reply does not serialise back\n");
            abort();
        }
        aw_audit_record r2;
        if (aw_record_from_reply(back, &r2, &err) != AW_OK) {
            fprintf(stderr, "re-serialised reply does not parse: %s\n", err.msg);
            abort();
        }
        if (!aw_audit_record_equal(&r, &r2))
            abort();
        aw_audit_record_clear(&r2);
        json_decref(back);
        aw_audit_record_clear(&r);
    }
    /* The full audit-record JSON form goes through the same field readers. */
    aw_audit_record r3;
    if (aw_audit_record_from_json(j, &r3, &err) == AW_OK)
        aw_audit_record_clear(&r3);
    json_decref(j);
    return 0;
}
