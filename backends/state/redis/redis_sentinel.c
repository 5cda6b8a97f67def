/* Redis Sentinel discovery: see redis_sentinel.h. */
#include "backends/state/redis/redis_sentinel.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/aw_log.h"

int aw_redis_sentinel_init(aw_redis_sentinel *s)
{
    memset(s, 0, sizeof(*s));
    atomic_init(&s->preferred, 0);
    return pthread_mutex_init(&s->lock, NULL);
}

void aw_redis_sentinel_destroy(aw_redis_sentinel *s)
{
    pthread_mutex_destroy(&s->lock);
}

void aw_redis_format_addr(char *out, size_t outsz, const char *host, int port)
{
    snprintf(out, outsz, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

typedef enum ask_rc { ASK_OK, ASK_DOWN, ASK_REFUSED } ask_rc;

/* One sentinel: connect, AUTH when the URL has sentinel credentials, ask.
 * why gets the reason when it is not ASK_OK (no secret in it: Redis does
 * not quote passwords in its errors, and we print at most its first line). */
static ask_rc ask_one(const aw_redis_url *u, const aw_redis_hostport *sen, struct timeval timeout,
                      char *host, size_t hostsz, int *port, char *why, size_t whysz)
{
    ask_rc rc = ASK_DOWN;
    redisReply *r = NULL;
    redisContext *ctx = redisConnectWithTimeout(sen->host, sen->port, timeout);
    if (!ctx || ctx->err) {
        snprintf(why, whysz, "connect: %s", ctx ? ctx->errstr : "out of memory");
        goto out;
    }
    if (redisSetTimeout(ctx, timeout) != REDIS_OK) {
        snprintf(why, whysz, "setting the timeout: %s", ctx->errstr);
        goto out;
    }
    if (u->sentinel_password) {
        const char *argv[3] = {"AUTH"};
        size_t argvlen[3] = {4}, argc = 1;
        if (u->sentinel_user) {
            argv[argc] = u->sentinel_user;
            argvlen[argc++] = strlen(u->sentinel_user);
        }
        argv[argc] = u->sentinel_password;
        argvlen[argc++] = strlen(u->sentinel_password);
        r = redisCommandArgv(ctx, (int)argc, argv, argvlen);
        if (!r) {
            snprintf(why, whysz, "AUTH: %s", ctx->errstr);
            goto out;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(why, whysz, "AUTH with sentinel_user/sentinel_password refused: %.120s",
                     r->str);
            rc = ASK_REFUSED;
            goto out;
        }
        freeReplyObject(r);
    }
    const char *argv[3] = {"SENTINEL", "get-master-addr-by-name", u->master_name};
    size_t argvlen[3] = {8, 23, strlen(u->master_name)};
    r = redisCommandArgv(ctx, 3, argv, argvlen);
    if (!r) {
        snprintf(why, whysz, "SENTINEL get-master-addr-by-name: %s", ctx->errstr);
    } else if (r->type == REDIS_REPLY_NIL) {
        snprintf(why, whysz, "it monitors no master of that name");
        rc = ASK_REFUSED;
    } else if (r->type == REDIS_REPLY_ERROR) {
        /* NOAUTH: it wants sentinel credentials; ERR unknown command: not a
         * sentinel at all. Both are configuration mistakes. */
        snprintf(why, whysz, "%.160s", r->str);
        rc = ASK_REFUSED;
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
               r->element[0]->type != REDIS_REPLY_STRING ||
               r->element[1]->type != REDIS_REPLY_STRING || r->element[0]->len >= hostsz ||
               sscanf(r->element[1]->str, "%d", port) != 1 || *port < 1 || *port > 65535) {
        snprintf(why, whysz, "unexpected reply to SENTINEL get-master-addr-by-name");
    } else {
        memcpy(host, r->element[0]->str, r->element[0]->len + 1);
        rc = ASK_OK;
    }
out:
    if (r)
        freeReplyObject(r);
    if (ctx)
        redisFree(ctx);
    return rc;
}

aw_status aw_redis_sentinel_master(aw_redis_sentinel *s, const aw_redis_url *u,
                                   struct timeval timeout, char *host, size_t hostsz, int *port,
                                   aw_error *err)
{
    int n = u->nsentinels, first = atomic_load(&s->preferred);
    bool all_refused = true;
    char why[256] = "no sentinel in the URL", addr[AW_REDIS_ADDR_MAX] = "";
    for (int i = 0; i < n; i++) {
        int k = (first + i) % n;
        ask_rc rc = ask_one(u, &u->sentinels[k], timeout, host, hostsz, port, why, sizeof(why));
        if (rc == ASK_OK) {
            /* Ask this one first next time: the sentinels before it were
             * down or ignorant, and each costs up to a connect timeout. */
            if (k != first)
                atomic_store(&s->preferred, k);
            return AW_OK;
        }
        all_refused = all_refused && rc == ASK_REFUSED;
        aw_redis_format_addr(addr, sizeof(addr), u->sentinels[k].host, u->sentinels[k].port);
        AW_DEBUG("state.redis", "sentinel %s, master %s: %s", addr, u->master_name, why);
    }
    return aw_error_set(err, all_refused ? AW_CONFIG : AW_TRANSIENT,
                        "redis sentinel: no address for master \"%s\" from %d sentinel(s); "
                        "the last, %s: %s",
                        u->master_name, n, addr, why);
}

void aw_redis_sentinel_connected(aw_redis_sentinel *s, const char *master_name, const char *host,
                                 int port)
{
    char addr[AW_REDIS_ADDR_MAX], was[AW_REDIS_ADDR_MAX];
    aw_redis_format_addr(addr, sizeof(addr), host, port);
    pthread_mutex_lock(&s->lock);
    bool changed = strcmp(s->master, addr) != 0;
    memcpy(was, s->master, sizeof(was));
    if (changed)
        memcpy(s->master, addr, sizeof(s->master));
    pthread_mutex_unlock(&s->lock);
    if (!changed)
        return;
    if (was[0])
        AW_WARN("state.redis", "sentinel: master \"%s\" moved from %s to %s (failover)",
                master_name, was, addr);
    else
        AW_INFO("state.redis", "sentinel: master \"%s\" is at %s", master_name, addr);
}
