/* The Lua scripts of the "redis" state backend: every operation that reads
 * and then writes runs as one script, so it is atomic on the server (Redis
 * runs a script to completion before any other command). Each connection
 * loads them once (SCRIPT LOAD, in the connect round trip) and calls them by
 * EVALSHA; on NOSCRIPT (SCRIPT FLUSH, a restarted server) the connection
 * reloads them and retries once (redis_conn.c).
 *
 * Conventions shared by all scripts (layouts: redis_keys.h):
 *  - TTL arguments are decimal milliseconds; <= 0 means "no expiry" and a
 *    write without TTL PERSISTs the key (clears an older expiry);
 *  - 64-bit numbers (versions, tokens, counters) travel as decimal strings
 *    both ways: Lua 5.1 numbers are doubles and would round above 2^53;
 *  - expiry is Redis's own (PEXPIRE, judged by the server clock): an
 *    expired key is absent to every command, so the scripts never compare
 *    times themselves.
 * Requires Redis >= 5 (scripts replicated by effects, multi-field HSET). */
#ifndef AW_REDIS_SCRIPTS_H
#define AW_REDIS_SCRIPTS_H

typedef enum aw_redis_script {
    AW_RS_INSERT = 0,   /* check_and_set: KEYS value; ARGV val, ttl -> 1 written / 0 */
    AW_RS_SET,          /* set: KEYS value; ARGV val, ttl -> new version (string) */
    AW_RS_INCR,         /* increment: KEYS value; ARGV delta, ttl -> new value (string) */
    AW_RS_CAS,          /* compare_and_swap: KEYS value; ARGV expected, val, ttl
                           -> {1, new version} | {0, current version} */
    AW_RS_LOCK_ACQUIRE, /* KEYS lock, tokens; ARGV ttl -> token | nil (held) */
    AW_RS_LOCK_EXTEND,  /* KEYS lock; ARGV token, ttl -> 1 | 0 (not held) */
    AW_RS_LOCK_RELEASE, /* KEYS lock; ARGV token -> 1 | 0 */
    AW_RS_CLAIM,        /* KEYS dedup, tokens; ARGV lease_ms -> {"A", token}
                           | {"B", token, pttl} | {"D", token, summary, topic,
                           partition, offset} */
    AW_RS_COMPLETE,     /* KEYS dedup; ARGV token, summary, topic, partition,
                           offset, window_ms -> 1 | 0 (stale) */
    AW_RS_LEASE_RENEW,  /* KEYS dedup; ARGV token, lease_ms -> 1 | 0 */
    AW_RS_LEASE_RELEASE,/* KEYS dedup; ARGV token -> 1 | 0 */
    /* The due index (redis_keys.h): KEYS waiting zset, lease zset, items
     * hash (and the token counter for take). */
    AW_RS_DUE_PUT,      /* ARGV member, due_ms, value -> 1 | 0 (leased) */
    AW_RS_DUE_TAKE,     /* KEYS + tokens; ARGV now_ms, limit, lease_ms
                           -> {member, due_ms, token, value, ...} oldest first */
    AW_RS_DUE_DONE,     /* ARGV member, token -> 1 | 0 (not held) */
    AW_RS_DUE_RELEASE,  /* ARGV member, token, retry_at_ms -> 1 | 0 */
    AW_RS_DUE_EXTEND,   /* ARGV member, token, lease_ms -> 1 | 0 (not held) */
    AW_RS_DUE_STATS,    /* ARGV now_ms -> {items, waiting, oldest due_ms
                           (string, "" when none), partial 1 | 0}; reads only */
    AW_RS_COUNT
} aw_redis_script;

/* Source text of script s (static storage). */
const char *aw_redis_script_source(aw_redis_script s);
/* Short name for messages ("claim", "set", ...). */
const char *aw_redis_script_name(aw_redis_script s);

#endif
