/* The Redis URL parser (state.url), and the redaction applied to the same
 * URL before it is logged. */
#include "backends/state/redis/redis_url.h"
#include "common/aw_log.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *url = aw_fuzz_cstr(data, size);
    aw_redis_url u;
    aw_error err = {0};
    if (aw_redis_url_parse(url, &u, &err) == AW_OK) {
        if (u.transport == AW_REDIS_TCP && (!u.host || u.port < 1 || u.port > 65535))
            abort();
        if (u.transport == AW_REDIS_UNIX && !u.path)
            abort();
        if (u.db < 0)
            abort();
        /* Redaction must mask the password where the URL spells it out:
         * fewer literal copies after it than before (other parts of the URL
         * may legitimately repeat the same text). Without '%' only: a
         * percent-decoded password need not appear literally at all. */
        if (u.password && u.password[0] && !strchr(u.password, '*') && !strchr(url, '%')) {
            char red[8192 + 64];
            aw_redact_url(url, red, sizeof red);
            size_t before = aw_fuzz_count(url, u.password);
            if (before > 0 && aw_fuzz_count(red, u.password) >= before) {
                fprintf(stderr, "password survives redaction: %s\n", red);
                abort();
            }
        }
        aw_redis_url_clear(&u);
    }
    aw_redis_url_clear(&u);
    free(url);
    return 0;
}
