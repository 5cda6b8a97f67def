#include "common/aw_key.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_digits.h"

int aw_key_encode(aw_buf *out, const char *ns, const char *tenant, const char *kind,
                  const char *id)
{
    /* Twice per message (claim, complete): one reservation (so a failure
     * leaves out as it was), then written in place: appending piece by
     * piece was ~880 instructions a key (docs/performance.md, "Profile"). */
    const char *parts[4] = {ns, tenant, kind, id ? id : ""};
    size_t lens[4], total = 3 * (AW_INT_TEXT + 1);
    for (int i = 0; i < 4; i++)
        total += lens[i] = strlen(parts[i]);
    if (aw_buf_reserve(out, total))
        return -1;
    char *o = out->data + out->len;
    for (int i = 0; i < 4; i++) {
        if (i < 3) {
            /* Lengths are nearly always one or two digits. */
            if (lens[i] < 10)
                *o++ = (char)('0' + lens[i]);
            else if (lens[i] < 100)
                o = aw_two_digits(o, (unsigned)lens[i]);
            else
                o += aw_format_int(o, (int64_t)lens[i]);
            *o++ = ':';
        }
        memcpy(o, parts[i], lens[i]);
        o += lens[i];
    }
    *o = '\0';
    out->len = (size_t)(o - out->data);
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
