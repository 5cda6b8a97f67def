/* Stored key names of the "redis" state backend: see redis_keys.h. */
#include "backends/state/redis/redis_keys.h"

#include "common/aw_key.h"

int aw_redis_key_append(aw_buf *out, const char *prefix, size_t prefix_len, char space,
                        const char *ns, const char *tenant, const char *kind, const char *id)
{
    if (aw_buf_append(out, prefix, prefix_len) || aw_buf_append(out, &space, 1))
        return -1;
    return aw_key_encode(out, ns, tenant, kind, id);
}

int aw_redis_glob_escape(aw_buf *out, const char *s, size_t len)
{
    /* Worst case every byte doubles: reserve once. */
    if (aw_buf_reserve(out, 2 * len))
        return -1;
    out->data[out->len] = '\0'; /* keep aw_buf's invariant when len == 0 */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
            if (aw_buf_append(out, "\\", 1))
                return -1;
        if (aw_buf_append(out, &c, 1))
            return -1;
    }
    return 0;
}
