#include "common/aw_key.h"

#include <stdlib.h>
#include <string.h>

int aw_key_encode(aw_buf *out, const char *ns, const char *tenant, const char *kind,
                  const char *id)
{
    /* Twice per message (claim, complete): by hand, not printf. One
     * reservation, so a failure leaves out as it was. */
    const char *parts[4] = {ns, tenant, kind, id ? id : ""};
    size_t lens[4], total = 0;
    char num[3][AW_INT_TEXT];
    size_t numlen[3];
    for (int i = 0; i < 4; i++) {
        lens[i] = strlen(parts[i]);
        total += lens[i];
        if (i < 3)
            total += (numlen[i] = aw_format_int(num[i], (int64_t)lens[i])) + 1;
    }
    if (aw_buf_reserve(out, total))
        return -1;
    for (int i = 0; i < 4; i++) {
        if (i < 3) {
            aw_buf_append(out, num[i], numlen[i]);
            aw_buf_append(out, ":", 1);
        }
        aw_buf_append(out, parts[i], lens[i]);
    }
    return 0;
}

static int take(const char **p, const char *end, const char **part, size_t *len)
{
    size_t n = 0;
    const char *q = *p;
    if (q >= end || *q < '0' || *q > '9')
        return -1;
    while (q < end && *q >= '0' && *q <= '9') {
        n = n * 10 + (size_t)(*q - '0');
        if (n > (size_t)(end - *p))
            return -1;
        q++;
    }
    if (q >= end || *q != ':')
        return -1;
    q++;
    if ((size_t)(end - q) < n)
        return -1;
    *part = q;
    *len = n;
    *p = q + n;
    return 0;
}

int aw_key_decode(const char *key, size_t keylen, const char **ns, size_t *ns_len,
                  const char **tenant, size_t *tenant_len, const char **kind,
                  size_t *kind_len, const char **id, size_t *id_len)
{
    const char *p = key, *end = key + keylen;
    if (take(&p, end, ns, ns_len) || take(&p, end, tenant, tenant_len) ||
        take(&p, end, kind, kind_len))
        return -1;
    *id = p;
    *id_len = (size_t)(end - p);
    return 0;
}
