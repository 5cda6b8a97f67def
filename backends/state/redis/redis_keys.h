/* Stored key names of the "redis" state backend. Pure helpers (no I/O),
 * unit-tested in tests/unit/test_redis_url.c.
 *
 *   key_prefix | space | aw_key_encode(ns, tenant, kind, id)
 *
 * The space byte keeps the four key spaces apart, so a `set` can never
 * overwrite a lock or a lease:
 *   'v'  plain values and counters: a hash {v = value, n = version}
 *   'l'  locks: a string holding the holder's fencing token
 *   'd'  dedup records (kind "dedup", the caller's kind is ignored): a hash
 *        {s = "L" lease | "D" done, t = token, sum, top, p, o}
 *   'q'  the due index, per pool (ns, kind): three keys
 *          key_prefix | 'q' | aw_key_encode(ns, "", kind, X) with X =
 *          "w" the waiting items (zset member -> due_ms),
 *          "l" the leased ones (zset member -> lease end, server ms),
 *          "h" the items (hash member -> "due_ms:token:value"),
 *        where member = <decimal length of tenant> ':' tenant id
 *   key_prefix | "f:tokens"  the one fencing-token counter (never expires)
 * aw_key_encode length-prefixes ns, tenant and kind, so no byte in them can
 * alias another tuple; the id comes last and raw, so the keys of every id
 * starting with P share the byte prefix key(ns, tenant, kind, P). */
#ifndef AW_REDIS_KEYS_H
#define AW_REDIS_KEYS_H

#include <stddef.h>

#include "common/aw_buf.h"

#define AW_REDIS_SPACE_VALUE 'v'
#define AW_REDIS_SPACE_LOCK 'l'
#define AW_REDIS_SPACE_DEDUP 'd'
#define AW_REDIS_SPACE_DUE 'q'
#define AW_REDIS_DEDUP_KIND "dedup"
#define AW_REDIS_TOKENS_SUFFIX "f:tokens"

/* Append the stored key to out. id may be NULL (""). 0, or -1 when out of
 * memory. */
int aw_redis_key_append(aw_buf *out, const char *prefix, size_t prefix_len, char space,
                        const char *ns, const char *tenant, const char *kind, const char *id);

/* Append s[0..len) to out with every glob metacharacter of Redis's
 * stringmatchlen (* ? [ ] \) escaped by a backslash, so the result used as a
 * SCAN MATCH pattern matches s literally. 0, or -1 when out of memory. */
int aw_redis_glob_escape(aw_buf *out, const char *s, size_t len);

#endif
