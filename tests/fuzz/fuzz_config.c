/* The config loader, through its string entry point (same code as files
 * after libconfig's parse). A loaded config is printed and loaded again:
 * aw_config_print promises output that loads back. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <stdio.h>

#include "config/config.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    char *text = aw_fuzz_cstr(data, size);
    /* @include reads files named by the input: /dev/zero or a FIFO would
     * hang the fuzzer without saying anything about our code. */
    if (strcasestr(text, "include")) {
        free(text);
        return 0;
    }
    aw_config *cfg = NULL;
    aw_error err = {0};
    if (aw_config_load_string(text, &cfg, &err) == AW_OK) {
        char *out = NULL;
        size_t outlen = 0;
        FILE *f = open_memstream(&out, &outlen);
        if (!f)
            abort();
        aw_config_print(cfg, f);
        fclose(f);
        aw_config *again = NULL;
        aw_error err2 = {0};
        if (aw_config_load_string(out, &again, &err2) != AW_OK) {
            fprintf(stderr, "printed config does not load back: %s\n%s\n", err2.msg, out);
            abort();
        }
        aw_config_destroy(again);
        free(out);
    } else if (!memchr(err.msg, '\0', sizeof err.msg)) {
        abort();
    }
    aw_config_destroy(cfg);
    free(text);
    return 0;
}
