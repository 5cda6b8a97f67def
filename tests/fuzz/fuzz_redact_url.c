/* aw_redact_url: every URL that reaches a log line goes through it. The first
 * byte picks the output size, so truncation at every length is covered. */
#include "common/aw_log.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    size_t outsz = data[0];
    char *url = aw_fuzz_cstr(data + 1, size - 1);
    /* Exactly outsz bytes on the heap: ASan catches a write past them. */
    char *out = malloc(outsz ? outsz : 1);
    if (!out)
        abort();
    aw_redact_url(url, out, outsz);
    if (outsz && !memchr(out, '\0', outsz))
        abort();
    char big[8192 * 2 + 64];
    aw_redact_url(url, big, sizeof big);
    if (!memchr(big, '\0', sizeof big))
        abort();
    free(out);
    free(url);
    return 0;
}
