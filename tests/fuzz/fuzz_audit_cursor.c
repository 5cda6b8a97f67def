/* aw_audit_cursor_decode: the cursor comes back from API callers. A decoded
 * cursor must re-encode to a cursor that decodes to the same position. */
#include <inttypes.h>
#include <stdio.h>

#include "backends/audit/audit_types.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *cursor = aw_fuzz_cstr(data, size);
    int64_t ms;
    char id[300];
    if (aw_audit_cursor_decode(cursor, &ms, id, sizeof id) == 0) {
        char *again = aw_audit_cursor_encode(ms, id);
        int64_t ms2;
        char id2[300];
        if (!again || aw_audit_cursor_decode(again, &ms2, id2, sizeof id2) != 0 ||
            ms2 != ms || strcmp(id, id2) != 0) {
            fprintf(stderr, "cursor round trip failed: %" PRId64 " %s\n", ms, id);
            abort();
        }
        free(again);
    }
    /* Short id buffers: the size check must hold at every size. */
    char small[8];
    (void)aw_audit_cursor_decode(cursor, &ms, small, (size_t)(size % sizeof small) + 1);
    free(cursor);
    return 0;
}
