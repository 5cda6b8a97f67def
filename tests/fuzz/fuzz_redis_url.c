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
        if (u.transport == AW_REDIS_SENTINEL) {
            if (!u.master_name || u.nsentinels < 1 || u.nsentinels > AW_REDIS_MAX_SENTINELS ||
                u.host || u.path)
                abort();
            for (int i = 0; i < u.nsentinels; i++)
                if (!u.sentinels[i].host || u.sentinels[i].port < 1 ||
                    u.sentinels[i].port > 65535)
                    abort();
        } else if (u.nsentinels || u.master_name || u.sentinel_password || u.sentinel_user) {
            abort();
        }
        /* Redaction must mask the password where the URL spells it out:
         * fewer literal copies after it than before (other parts of the URL
         * may legitimately repeat the same text). Without '%' only: a
         * percent-decoded password need not appear literally at all. */
        const char *secrets[] = {u.password, u.sentinel_password};
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
            const char *pw = secrets[i];
            if (!pw || !pw[0] || strchr(pw, '*') || strchr(url, '%'))
                continue;
            char red[8192 + 64];
            aw_redact_url(url, red, sizeof red);
            size_t before = aw_fuzz_count(url, pw);
            if (before > 0 && aw_fuzz_count(red, pw) >= before) {
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
