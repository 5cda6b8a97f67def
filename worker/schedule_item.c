#include "worker/schedule_item.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aw_schedule_key(const char *pool, const aw_action *a, aw_buf *id_buf, aw_state_key *out)
{
    aw_buf_reset(id_buf);
    const char *key = aw_action_key(a);
    if (aw_buf_printf(id_buf, "%zu:%s%s", strlen(a->tenant), a->tenant, key) != 0)
        return -1;
    *out = (aw_state_key){.ns = pool, .tenant = a->ns, .kind = AW_SCHEDULE_KIND,
                          .id = id_buf->data};
    return 0;
}

int aw_schedule_value_write(aw_buf *out, const char *topic, int32_t partition, int64_t offset,
                            const void *msg, size_t len)
{
    aw_buf_reset(out);
    if (aw_buf_printf(out, "aw1 %" PRId32 " %" PRId64 " %s\n", partition, offset, topic) != 0)
        return -1;
    return len ? aw_buf_append(out, msg, len) : 0;
}

int aw_schedule_value_read(const void *v, size_t len, char *topic, size_t topic_size,
                           int32_t *partition, int64_t *offset, const void **msg,
                           size_t *msg_len)
{
    const char *s = v, *nl = len ? memchr(s, '\n', len < 512 ? len : 512) : NULL;
    if (!nl || len < 4 || memcmp(s, "aw1 ", 4) != 0)
        return -1;
    char head[512];
    size_t hl = (size_t)(nl - s);
    memcpy(head, s, hl);
    head[hl] = '\0';
    char *end;
    long long p = strtoll(head + 4, &end, 10);
    if (*end != ' ' || p < 0 || p > INT32_MAX)
        return -1;
    long long o = strtoll(end + 1, &end, 10);
    if (*end != ' ' || o < 0)
        return -1;
    const char *t = end + 1;
    size_t tl = strlen(t);
    if (tl == 0 || tl >= topic_size || strchr(t, ' '))
        return -1;
    memcpy(topic, t, tl + 1);
    *partition = (int32_t)p;
    *offset = (int64_t)o;
    *msg = nl + 1;
    *msg_len = len - hl - 1;
    return 0;
}
