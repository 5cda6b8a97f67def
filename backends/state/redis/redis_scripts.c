/* Lua sources of the "redis" state backend: see redis_scripts.h. */
#include "backends/state/redis/redis_scripts.h"

#include <stddef.h>

/* The fencing-token counter (KEYS[2] where used). One counter per key
 * prefix serves every lock name and dedup identity, so tokens increase per
 * name (they increase, period) and cost one key in all: nothing per
 * identity is left behind when leases and locks expire.
 *
 * The next token is max(counter, server clock in microseconds) + 1. The
 * clock term is what keeps tokens increasing when the counter goes back or
 * is lost: a replica promoted after a failover holds the counter as it was
 * some writes ago (replication is asynchronous), a restart without AOF,
 * FLUSHDB or an eviction loses it. Every token issued before was at most
 * the issuing server's clock then (plus one per token issued within the
 * same microsecond, far below Redis's rate), so the next one is above all of
 * them as long as this server's clock is not behind the earlier server's by
 * more than the time between their tokens (a failover takes seconds:
 * down-after-milliseconds, then the election). Microseconds since 1970 stay
 * below 2^53, so tonumber() compares them exactly; the clock value is built
 * by string concatenation (seconds .. six-digit microseconds). */
#define LUA_NEXT_TOKEN                                                         \
    "local function next_token(k)\n"                                           \
    "  local now = redis.call('TIME')\n"                                       \
    "  local us = now[1] .. string.format('%06d', tonumber(now[2]))\n"         \
    "  local cur = redis.call('GET', k)\n"                                     \
    "  if not cur or tonumber(cur) < tonumber(us) then\n"                      \
    "    redis.call('SET', k, us)\n"                                           \
    "  end\n"                                                                  \
    "  redis.call('INCR', k)\n"                                                \
    "  return redis.call('GET', k)\n"                                          \
    "end\n"

/* Expiry of a written key: PEXPIRE for a TTL, PERSIST without one. */
#define LUA_SET_TTL                                                            \
    "local function set_ttl(k, ttl)\n"                                         \
    "  if tonumber(ttl) > 0 then redis.call('PEXPIRE', k, ttl)\n"              \
    "  else redis.call('PERSIST', k) end\n"                                    \
    "end\n"

/* The due index (redis_keys.h): KEYS[1] the waiting items (zset, score
 * due_ms), KEYS[2] the leased ones (zset, score: lease end, server clock
 * ms), KEYS[3] the items (hash member -> "due_ms:token:value"). An item is
 * in exactly one of the two zsets. A lease is live while its end is after
 * the server's now: done and release check that, and a take first moves
 * the expired leases back to the waiting set (at most 1,000 of them
 * per take, so one script stays short; the rest follow in later takes). */
#define LUA_DUE_NOW                                                            \
    "local function server_ms()\n"                                             \
    "  local t = redis.call('TIME')\n"                                         \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"     \
    "end\n"
/* The item of member ARGV[1] iff token ARGV[2] holds its live lease: its
 * stored text, else nil. */
#define LUA_DUE_HELD                                                           \
    LUA_DUE_NOW                                                                \
    "local function held()\n"                                                  \
    "  local e = redis.call('ZSCORE', KEYS[2], ARGV[1])\n"                     \
    "  if not e or tonumber(e) <= server_ms() then return nil end\n"           \
    "  local h = redis.call('HGET', KEYS[3], ARGV[1])\n"                       \
    "  if not h or string.match(h, '^%-?%d+:(%d+):') ~= ARGV[2] then return nil end\n" \
    "  return h\n"                                                             \
    "end\n"

static const char *const sources[AW_RS_COUNT] = {
    [AW_RS_INSERT] =
        /* Set only if absent (an expired key is absent): version 1. */
        "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
        "redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', '1')\n"
        "if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
        "return 1\n",

    [AW_RS_SET] =
        /* Upsert: the version is bumped by the same script that writes, so
         * two concurrent sets never get the same version. HINCRBY on an
         * absent (or expired) key starts from 0: version 1. */
        LUA_SET_TTL
        "redis.call('HINCRBY', KEYS[1], 'n', 1)\n"
        "redis.call('HSET', KEYS[1], 'v', ARGV[1])\n"
        "set_ttl(KEYS[1], ARGV[2])\n"
        "return redis.call('HGET', KEYS[1], 'n')\n",

    [AW_RS_INCR] =
        /* A counter is a value like any other: its decimal text in 'v'. The
         * memory backend accepts any strtoll-clean decimal of up to 20
         * characters ("007", "-0"); HINCRBY accepts only canonical ones, so
         * a non-canonical number is rewritten canonically first (and put
         * back if the addition overflows: nothing changes on an error). The
         * TTL applies when the counter is created; an existing counter keeps
         * its expiry. The new value is returned as text (exact int64). */
        "local cur = redis.call('HGET', KEYS[1], 'v')\n"
        "if cur then\n"
        "  local sign, digits = string.match(cur, '^(%-?)0*(%d+)$')\n"
        "  if #cur > 20 or not digits then\n"
        "    return redis.error_reply('NOTANUMBER increment: the stored value is not a '\n"
        "      .. 'decimal integer')\n"
        "  end\n"
        "  local canon = sign .. digits\n"
        "  if digits == '0' then canon = '0' end\n"
        "  if canon ~= cur then redis.call('HSET', KEYS[1], 'v', canon) end\n"
        "  local r = redis.pcall('HINCRBY', KEYS[1], 'v', ARGV[1])\n"
        "  if type(r) == 'table' and r.err then\n"
        "    if canon ~= cur then redis.call('HSET', KEYS[1], 'v', cur) end\n"
        "    return redis.error_reply('NOTANUMBER increment: ' .. r.err)\n"
        "  end\n"
        "  redis.call('HINCRBY', KEYS[1], 'n', 1)\n"
        "else\n"
        "  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', '1')\n"
        "  if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
        "end\n"
        "return redis.call('HGET', KEYS[1], 'v')\n",

    [AW_RS_CAS] =
        /* Versions compared as decimal text (both sides canonical). Absent
         * or expired = version 0. */
        LUA_SET_TTL
        "local cur = redis.call('HGET', KEYS[1], 'n') or '0'\n"
        "if cur ~= ARGV[1] then return {0, cur} end\n"
        "redis.call('HINCRBY', KEYS[1], 'n', 1)\n"
        "redis.call('HSET', KEYS[1], 'v', ARGV[2])\n"
        "set_ttl(KEYS[1], ARGV[3])\n"
        "return {1, redis.call('HGET', KEYS[1], 'n')}\n",

    [AW_RS_LOCK_ACQUIRE] =
        LUA_NEXT_TOKEN
        "if redis.call('EXISTS', KEYS[1]) == 1 then return false end\n"
        "local t = next_token(KEYS[2])\n"
        "if tonumber(ARGV[1]) > 0 then redis.call('SET', KEYS[1], t, 'PX', ARGV[1])\n"
        "else redis.call('SET', KEYS[1], t) end\n"
        "return t\n",

    [AW_RS_LOCK_EXTEND] =
        LUA_SET_TTL
        "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
        "set_ttl(KEYS[1], ARGV[2])\n"
        "return 1\n",

    [AW_RS_LOCK_RELEASE] =
        "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
        "redis.call('DEL', KEYS[1])\n"
        "return 1\n",

    [AW_RS_CLAIM] =
        /* Done -> DONE with the record; a live lease -> BUSY with the
         * holder's token and remaining lease; absent or expired -> a new
         * lease with a token above every earlier one. */
        LUA_NEXT_TOKEN
        "local h = redis.call('HMGET', KEYS[1], 's', 't', 'sum', 'top', 'p', 'o')\n"
        "if h[1] == 'D' then return {'D', h[2], h[3], h[4], h[5], h[6]} end\n"
        "if h[1] == 'L' then return {'B', h[2], redis.call('PTTL', KEYS[1])} end\n"
        "local t = next_token(KEYS[2])\n"
        "redis.call('HSET', KEYS[1], 's', 'L', 't', t)\n"
        "redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
        "return {'A', t}\n",

    [AW_RS_COMPLETE] =
        /* Only the live lease of this token turns into a done record; else
         * nothing is written (stale). */
        LUA_SET_TTL
        "local h = redis.call('HMGET', KEYS[1], 's', 't')\n"
        "if h[1] ~= 'L' or h[2] ~= ARGV[1] then return 0 end\n"
        "redis.call('HSET', KEYS[1], 's', 'D', 'sum', ARGV[2], 'top', ARGV[3], 'p', ARGV[4], "
        "'o', ARGV[5])\n"
        "set_ttl(KEYS[1], ARGV[6])\n"
        "return 1\n",

    [AW_RS_LEASE_RENEW] =
        "local h = redis.call('HMGET', KEYS[1], 's', 't')\n"
        "if h[1] ~= 'L' or h[2] ~= ARGV[1] then return 0 end\n"
        "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
        "return 1\n",

    [AW_RS_LEASE_RELEASE] =
        "local h = redis.call('HMGET', KEYS[1], 's', 't')\n"
        "if h[1] ~= 'L' or h[2] ~= ARGV[1] then return 0 end\n"
        "redis.call('DEL', KEYS[1])\n"
        "return 1\n",

    [AW_RS_DUE_PUT] =
        /* A live lease refuses; otherwise the item (new, waiting, or with
         * an expired lease) waits at the new due time with the new value.
         * Token 0: no lease holds it. */
        LUA_DUE_NOW
        "local e = redis.call('ZSCORE', KEYS[2], ARGV[1])\n"
        "if e and tonumber(e) > server_ms() then return 0 end\n"
        "redis.call('ZREM', KEYS[2], ARGV[1])\n"
        "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])\n"
        "redis.call('HSET', KEYS[3], ARGV[1], ARGV[2] .. ':0:' .. ARGV[3])\n"
        "return 1\n",

    [AW_RS_DUE_TAKE] =
        LUA_DUE_NOW
        LUA_NEXT_TOKEN
        "local now = server_ms()\n"
        "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)) do\n"
        "  local h = redis.call('HGET', KEYS[3], m)\n"
        "  if h then redis.call('ZADD', KEYS[1], string.match(h, '^(%-?%d+):'), m) end\n"
        "  redis.call('ZREM', KEYS[2], m)\n"
        "end\n"
        "local out = {}\n"
        "local lease_end = now + tonumber(ARGV[3])\n"
        "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])) do\n"
        "  local d, v = string.match(redis.call('HGET', KEYS[3], m), '^(%-?%d+):%d+:(.*)$')\n"
        "  local t = next_token(KEYS[4])\n"
        "  redis.call('HSET', KEYS[3], m, d .. ':' .. t .. ':' .. v)\n"
        "  redis.call('ZREM', KEYS[1], m)\n"
        "  redis.call('ZADD', KEYS[2], lease_end, m)\n"
        "  out[#out + 1] = m\n"
        "  out[#out + 1] = d\n"
        "  out[#out + 1] = t\n"
        "  out[#out + 1] = v\n"
        "end\n"
        "return out\n",

    [AW_RS_DUE_DONE] =
        LUA_DUE_HELD
        "if not held() then return 0 end\n"
        "redis.call('ZREM', KEYS[2], ARGV[1])\n"
        "redis.call('HDEL', KEYS[3], ARGV[1])\n"
        "return 1\n",

    [AW_RS_DUE_RELEASE] =
        /* Back to waiting, at retry_at_ms when > 0. The token stays in the
         * item but no lease holds it, so it is refused from now on. */
        LUA_DUE_HELD
        "local h = held()\n"
        "if not h then return 0 end\n"
        "local d, rest = string.match(h, '^(%-?%d+):(.*)$')\n"
        "if tonumber(ARGV[3]) > 0 then\n"
        "  d = ARGV[3]\n"
        "  redis.call('HSET', KEYS[3], ARGV[1], d .. ':' .. rest)\n"
        "end\n"
        "redis.call('ZREM', KEYS[2], ARGV[1])\n"
        "redis.call('ZADD', KEYS[1], d, ARGV[1])\n"
        "return 1\n",

    [AW_RS_DUE_EXTEND] =
        /* The lease ends lease_ms after the server's now; the item (due
         * time, token, value) is kept. */
        LUA_DUE_HELD
        "if not held() then return 0 end\n"
        "redis.call('ZADD', KEYS[2], server_ms() + tonumber(ARGV[3]), ARGV[1])\n"
        "return 1\n",

    [AW_RS_DUE_STATS] =
        /* Reads only. Waiting = the waiting set up to now_ms (ZCOUNT) plus
         * the expired leases (a take moves them back first) whose item is
         * due: at most 1,000 of those are looked at, as in a take, and
         * partial is 1 when there were more. Due times are read from the
         * items (exact text), not from the scores (doubles). */
        LUA_DUE_NOW
        "local due_now = tonumber(ARGV[1])\n"
        "local waiting = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])\n"
        "local oldest, oldest_n = '', nil\n"
        "local function seen(m)\n"
        "  local h = redis.call('HGET', KEYS[3], m)\n"
        "  local d = h and string.match(h, '^(%-?%d+):')\n"
        "  if not d or tonumber(d) > due_now then return false end\n"
        "  if not oldest_n or tonumber(d) < oldest_n then oldest, oldest_n = d, tonumber(d) end\n"
        "  return true\n"
        "end\n"
        "local first = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)\n"
        "if first[1] then seen(first[1]) end\n"
        "local now = server_ms()\n"
        "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)) do\n"
        "  if seen(m) then waiting = waiting + 1 end\n"
        "end\n"
        "local partial = redis.call('ZCOUNT', KEYS[2], '-inf', now) > 1000 and 1 or 0\n"
        "return {redis.call('HLEN', KEYS[3]), waiting, oldest, partial}\n",
};

static const char *const names[AW_RS_COUNT] = {
    [AW_RS_INSERT] = "check_and_set",
    [AW_RS_SET] = "set",
    [AW_RS_INCR] = "increment",
    [AW_RS_CAS] = "compare_and_swap",
    [AW_RS_LOCK_ACQUIRE] = "lock_acquire",
    [AW_RS_LOCK_EXTEND] = "lock_extend",
    [AW_RS_LOCK_RELEASE] = "lock_release",
    [AW_RS_CLAIM] = "claim",
    [AW_RS_COMPLETE] = "complete",
    [AW_RS_LEASE_RENEW] = "lease_renew",
    [AW_RS_LEASE_RELEASE] = "lease_release",
    [AW_RS_DUE_PUT] = "due_put",
    [AW_RS_DUE_TAKE] = "due_take",
    [AW_RS_DUE_DONE] = "due_done",
    [AW_RS_DUE_RELEASE] = "due_release",
    [AW_RS_DUE_EXTEND] = "due_extend",
    [AW_RS_DUE_STATS] = "due_stats",
};

const char *aw_redis_script_source(aw_redis_script s)
{
    return (unsigned)s < AW_RS_COUNT ? sources[s] : NULL;
}

const char *aw_redis_script_name(aw_redis_script s)
{
    return (unsigned)s < AW_RS_COUNT ? names[s] : "?";
}
