/* One Redis connection of the "redis" state backend: see redis_conn.h. */
#include "backends/state/redis/redis_conn.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/aw_backoff.h"
#include "common/aw_clock.h"
#include "common/aw_log.h"

#define CONN_BACKOFF_BASE_MS 50
#define CONN_BACKOFF_MAX_MS 5000
#define CONN_CLIENT_NAME "acteon-worker"
#define CONN_SMALL 16 /* exchanges up to this size need no allocation */

/* ---- commands ------------------------------------------------------------ */

void aw_redis_cmd_plain(aw_redis_cmd *c, const char *name)
{
    c->script = -1;
    c->argc = 0;
    c->nnums = 0;
    aw_redis_cmd_arg(c, name, strlen(name));
}

void aw_redis_cmd_script(aw_redis_cmd *c, aw_redis_script s, int nkeys)
{
    aw_redis_cmd_plain(c, "EVALSHA");
    c->script = (int)s;
    aw_redis_cmd_arg(c, "", 0); /* the SHA, filled in per connection */
    aw_redis_cmd_num(c, nkeys);
}

void aw_redis_cmd_arg(aw_redis_cmd *c, const void *p, size_t len)
{
    /* Callers build fixed shapes well under the limit; overflowing it is a
     * bug caught by the assertion-like abort below in every build. */
    if (c->argc >= AW_REDIS_MAX_ARGV)
        abort();
    c->argv[c->argc] = p;
    c->argvlen[c->argc] = len;
    c->argc++;
}

void aw_redis_cmd_num(aw_redis_cmd *c, int64_t v)
{
    if (c->nnums >= AW_REDIS_MAX_NUMS)
        abort();
    char *d = c->nums[c->nnums++];
    int n = snprintf(d, sizeof(c->nums[0]), "%" PRId64, v);
    aw_redis_cmd_arg(c, d, (size_t)n);
}

void aw_redis_cmd_unum(aw_redis_cmd *c, uint64_t v)
{
    if (c->nnums >= AW_REDIS_MAX_NUMS)
        abort();
    char *d = c->nums[c->nnums++];
    int n = snprintf(d, sizeof(c->nums[0]), "%" PRIu64, v);
    aw_redis_cmd_arg(c, d, (size_t)n);
}

/* ---- config ------------------------------------------------------------- */

aw_status aw_redis_config_init(aw_redis_config *cfg, const char *url, int connect_timeout_ms,
                               int command_timeout_ms, aw_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    if (connect_timeout_ms < 0 || command_timeout_ms < 0)
        return aw_error_set(err, AW_CONFIG,
                            "redis state: connect/command timeouts must be >= 0 (0 = default)");
    aw_status rc = aw_redis_url_parse(url, &cfg->url, err);
    if (rc != AW_OK)
        return rc;
    /* Explicit options win over the URL, the URL over the defaults. */
    cfg->connect_timeout_ms = connect_timeout_ms    ? connect_timeout_ms
                              : cfg->url.connect_timeout_ms ? cfg->url.connect_timeout_ms
                                                            : AW_REDIS_DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->command_timeout_ms = command_timeout_ms    ? command_timeout_ms
                              : cfg->url.command_timeout_ms ? cfg->url.command_timeout_ms
                                                            : AW_REDIS_DEFAULT_COMMAND_TIMEOUT_MS;
    const aw_redis_url *u = &cfg->url;
    char addr[AW_REDIS_ADDR_MAX];
    if (u->transport == AW_REDIS_TCP) {
        aw_redis_format_addr(addr, sizeof(addr), u->host, u->port);
        snprintf(cfg->where, sizeof(cfg->where), "%s db %d", addr, u->db);
    } else if (u->transport == AW_REDIS_UNIX) {
        snprintf(cfg->where, sizeof(cfg->where), "unix:%s db %d", u->path, u->db);
    } else {
        snprintf(cfg->where, sizeof(cfg->where), "sentinel master %.100s db %d", u->master_name,
                 u->db);
        cfg->sentinel = malloc(sizeof(*cfg->sentinel));
        if (!cfg->sentinel || aw_redis_sentinel_init(cfg->sentinel) != 0) {
            free(cfg->sentinel);
            cfg->sentinel = NULL;
            aw_redis_config_clear(cfg);
            return aw_error_set(err, AW_NOMEM, "redis state: cannot set up the sentinel state");
        }
    }
    return AW_OK;
}

void aw_redis_config_clear(aw_redis_config *cfg)
{
    if (!cfg)
        return;
    aw_redis_url_clear(&cfg->url);
    if (cfg->sentinel) {
        aw_redis_sentinel_destroy(cfg->sentinel);
        free(cfg->sentinel);
    }
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- errors ------------------------------------------------------------- */

static bool word_is(const char *msg, size_t len, const char *word)
{
    size_t wl = strlen(word);
    return len >= wl && memcmp(msg, word, wl) == 0 && (len == wl || msg[wl] == ' ');
}

aw_status aw_redis_error_status(const char *msg, size_t len)
{
    static const char *const config_words[] = {"NOAUTH", "WRONGPASS", "NOPERM"};
    /* The server cannot serve this now, but will (failover, restart,
     * memory pressure, a long script, persistence errors). */
    static const char *const transient_words[] = {"LOADING",  "BUSY",        "MASTERDOWN",
                                                  "TRYAGAIN", "CLUSTERDOWN", "READONLY",
                                                  "OOM",      "NOREPLICAS",  "MISCONF"};
    if (!msg)
        return AW_INTERNAL;
    for (size_t i = 0; i < sizeof(config_words) / sizeof(config_words[0]); i++)
        if (word_is(msg, len, config_words[i]))
            return AW_CONFIG;
    for (size_t i = 0; i < sizeof(transient_words) / sizeof(transient_words[0]); i++)
        if (word_is(msg, len, transient_words[i]))
            return AW_TRANSIENT;
    if (word_is(msg, len, "NOSCRIPT"))
        return AW_INTERNAL; /* handled by the exchange; never expected here */
    static const char maxclients[] = "ERR max number of clients reached";
    if (len >= sizeof(maxclients) - 1 && memcmp(msg, maxclients, sizeof(maxclients) - 1) == 0)
        return AW_TRANSIENT;
    return AW_PERMANENT; /* WRONGTYPE, ERR ..., NOTANUMBER (our scripts) */
}

/* Errors after which this connection should not be reused: a replica
 * answering after a failover (READONLY), a primary cut off from its
 * replicas (MASTERDOWN), a server still loading its data set. */
static bool error_drops_connection(const char *msg, size_t len)
{
    return word_is(msg, len, "READONLY") || word_is(msg, len, "MASTERDOWN") ||
           word_is(msg, len, "LOADING");
}

aw_status aw_redis_check(aw_redis_conn *c, const redisReply *r, const char *what, aw_error *err)
{
    if (!r)
        return aw_error_set(err, AW_INTERNAL, "redis %s: %s: no reply", c->cfg->where, what);
    if (r->type != REDIS_REPLY_ERROR)
        return AW_OK;
    aw_status st = aw_redis_error_status(r->str, r->len);
    if (error_drops_connection(r->str, r->len))
        aw_redis_conn_drop(c);
    return aw_error_set(err, st, "redis %s: %s: %.*s", c->cfg->where, what,
                        (int)(r->len > 160 ? 160 : r->len), r->str ? r->str : "");
}

/* A server message about AUTH must not carry the password on into logs.
 * Redis does not quote it, but a proxy in front of it might. */
static const char *scrubbed(const aw_redis_conn *c, const redisReply *r)
{
    const char *pw = c->cfg->url.password;
    if (!r || !r->str)
        return "";
    if (pw && *pw && strstr(r->str, pw))
        return "(server message withheld: it quotes the password)";
    return r->str;
}

/* ---- SIGPIPE ---------------------------------------------------------------- */

/* hiredis 0.14 writes with write(2), which raises SIGPIPE when the server
 * has closed the socket. The worker ignores SIGPIPE process-wide, but a
 * library must not depend on that: block it in this thread around socket
 * I/O and swallow one raised meanwhile (libpq's approach when MSG_NOSIGNAL
 * is unavailable). */
typedef struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void sigpipe_restore(sigpipe_guard *g)
{
    if (!g->was_pending) {
        sigset_t set, pending;
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE) == 1) {
            struct timespec zero = {0, 0};
            sigemptyset(&set);
            sigaddset(&set, SIGPIPE);
            while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
                ;
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- connection ------------------------------------------------------------- */

void aw_redis_conn_init(aw_redis_conn *c, const aw_redis_config *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
}

void aw_redis_conn_drop(aw_redis_conn *c)
{
    if (c->ctx) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    c->stats.client_id = 0;
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* The context failed (I/O error, EOF, timeout, protocol): drop it. */
static aw_status conn_failed(aw_redis_conn *c, const char *what, aw_error *err)
{
    char msg[128];
    int code = c->ctx ? c->ctx->err : REDIS_ERR_OTHER;
    snprintf(msg, sizeof(msg), "%s", c->ctx ? c->ctx->errstr : "no connection");
    /* A receive timeout surfaces as EAGAIN; say what it means. */
    if (code == REDIS_ERR_IO && strstr(msg, "temporarily unavailable"))
        snprintf(msg, sizeof(msg), "no reply within command_timeout_ms=%d",
                 c->cfg->command_timeout_ms);
    aw_redis_conn_drop(c);
    if (code == REDIS_ERR_OOM)
        return aw_error_set(err, AW_NOMEM, "redis %s: %s: out of memory", c->cfg->where, what);
    return aw_error_set(err, AW_TRANSIENT, "redis %s: %s: %s (connection dropped)",
                        c->cfg->where, what, msg);
}

/* Append cmds[idx[0..k)] and read their replies into replies[idx[i]]: one
 * round trip. On failure the replies read so far are freed and the
 * connection is dropped. */
static aw_status send_and_read(aw_redis_conn *c, aw_redis_cmd *cmds, const size_t *idx, size_t k,
                               redisReply **replies, const char *what, aw_error *err)
{
    sigpipe_guard g;
    aw_status rc = AW_OK;
    size_t got = 0;
    sigpipe_block(&g);
    for (size_t i = 0; i < k; i++) {
        aw_redis_cmd *cmd = &cmds[idx[i]];
        if (cmd->script >= 0) {
            cmd->argv[1] = c->sha[cmd->script];
            cmd->argvlen[1] = 40;
        }
        if (redisAppendCommandArgv(c->ctx, cmd->argc, cmd->argv, cmd->argvlen) != REDIS_OK) {
            rc = conn_failed(c, what, err);
            goto out;
        }
    }
    c->stats.round_trips++;
    c->stats.commands += k;
    /* The first redisGetReply flushes every appended command, then each
     * call reads one reply (from the buffer when already received). */
    for (; got < k; got++) {
        void *r = NULL;
        if (redisGetReply(c->ctx, &r) != REDIS_OK || !r) {
            rc = conn_failed(c, what, err);
            goto out;
        }
        replies[idx[got]] = r;
    }
out:
    sigpipe_restore(&g);
    if (rc != AW_OK)
        for (size_t i = 0; i < got; i++) {
            freeReplyObject(replies[idx[i]]);
            replies[idx[i]] = NULL;
        }
    return rc;
}

/* Check a SCRIPT LOAD reply and keep the SHA. */
static aw_status take_sha(aw_redis_conn *c, aw_redis_script s, const redisReply *r, aw_error *err)
{
    aw_status rc = aw_redis_check(c, r, "SCRIPT LOAD", err);
    if (rc != AW_OK)
        return rc;
    if (r->type != REDIS_REPLY_STRING || r->len != 40)
        return aw_error_set(err, AW_INTERNAL, "redis %s: SCRIPT LOAD %s: unexpected reply",
                            c->cfg->where, aw_redis_script_name(s));
    memcpy(c->sha[s], r->str, 40);
    c->sha[s][40] = '\0';
    return AW_OK;
}

static void script_load_cmd(aw_redis_cmd *cmd, aw_redis_script s)
{
    const char *src = aw_redis_script_source(s);
    aw_redis_cmd_plain(cmd, "SCRIPT");
    aw_redis_cmd_arg(cmd, "LOAD", 4);
    aw_redis_cmd_arg(cmd, src, strlen(src));
}

/* Reload every script (after NOSCRIPT): one round trip. */
static aw_status load_scripts(aw_redis_conn *c, aw_error *err)
{
    aw_redis_cmd cmds[AW_RS_COUNT];
    redisReply *replies[AW_RS_COUNT] = {0};
    size_t idx[AW_RS_COUNT];
    for (int s = 0; s < AW_RS_COUNT; s++) {
        script_load_cmd(&cmds[s], (aw_redis_script)s);
        idx[s] = (size_t)s;
    }
    aw_status rc = send_and_read(c, cmds, idx, AW_RS_COUNT, replies, "SCRIPT LOAD", err);
    for (int s = 0; s < AW_RS_COUNT && rc == AW_OK; s++)
        rc = take_sha(c, (aw_redis_script)s, replies[s], err);
    aw_redis_replies_free(replies, AW_RS_COUNT);
    if (rc == AW_OK)
        c->stats.script_loads++;
    return rc;
}

/* ROLE's reply on a sentinel-discovered server: the sentinels may still
 * name a primary that was just demoted (or one that is a replica again and
 * not yet reconfigured); writing there would be lost or refused. */
static aw_status check_master_role(aw_redis_conn *c, const redisReply *r, aw_error *err)
{
    aw_status rc = aw_redis_check(c, r, "ROLE", err);
    if (rc != AW_OK)
        return rc;
    const redisReply *role = r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0] : NULL;
    if (role && role->type == REDIS_REPLY_STRING && strcmp(role->str, "master") == 0)
        return AW_OK;
    return aw_error_set(err, AW_TRANSIENT,
                        "redis %s: the server the sentinels named is not a master (ROLE %.20s); "
                        "waiting for the failover to complete",
                        c->cfg->where,
                        role && role->type == REDIS_REPLY_STRING ? role->str : "unreadable");
}

enum {
    HS_AUTH,
    HS_SELECT,
    HS_ROLE,
    HS_SETNAME,
    HS_CLIENT_ID,
    HS_SCRIPTS, /* one per script from here */
    HS_MAX = HS_SCRIPTS + AW_RS_COUNT
};

/* The handshake on a fresh context, pipelined in one round trip: AUTH,
 * SELECT, CLIENT SETNAME (so operators can see who is connected), CLIENT ID
 * (for diagnostics and tests), and every SCRIPT LOAD. If AUTH fails, Redis
 * answers everything after it with NOAUTH, so the first error is the one
 * reported. */
static aw_status handshake(aw_redis_conn *c, aw_error *err)
{
    const aw_redis_url *u = &c->cfg->url;
    aw_redis_cmd cmds[HS_MAX];
    redisReply *replies[HS_MAX] = {0};
    int kind[HS_MAX];
    size_t idx[HS_MAX], k = 0;
    if (u->password) {
        aw_redis_cmd_plain(&cmds[k], "AUTH");
        if (u->user)
            aw_redis_cmd_arg(&cmds[k], u->user, strlen(u->user));
        aw_redis_cmd_arg(&cmds[k], u->password, strlen(u->password));
        kind[k++] = HS_AUTH;
    }
    if (u->db != 0) {
        aw_redis_cmd_plain(&cmds[k], "SELECT");
        aw_redis_cmd_num(&cmds[k], u->db);
        kind[k++] = HS_SELECT;
    }
    if (u->transport == AW_REDIS_SENTINEL) {
        aw_redis_cmd_plain(&cmds[k], "ROLE");
        kind[k++] = HS_ROLE;
    }
    aw_redis_cmd_plain(&cmds[k], "CLIENT");
    aw_redis_cmd_arg(&cmds[k], "SETNAME", 7);
    aw_redis_cmd_arg(&cmds[k], CONN_CLIENT_NAME, strlen(CONN_CLIENT_NAME));
    kind[k++] = HS_SETNAME;
    aw_redis_cmd_plain(&cmds[k], "CLIENT");
    aw_redis_cmd_arg(&cmds[k], "ID", 2);
    kind[k++] = HS_CLIENT_ID;
    for (int s = 0; s < AW_RS_COUNT; s++) {
        script_load_cmd(&cmds[k], (aw_redis_script)s);
        kind[k++] = HS_SCRIPTS + s;
    }
    for (size_t i = 0; i < k; i++)
        idx[i] = i;

    aw_status rc = send_and_read(c, cmds, idx, k, replies, "connect", err);
    for (size_t i = 0; i < k && rc == AW_OK; i++) {
        const redisReply *r = replies[i];
        bool is_error = r->type == REDIS_REPLY_ERROR;
        if (kind[i] == HS_AUTH && is_error) {
            rc = aw_error_set(err, AW_CONFIG, "redis %s: AUTH%s refused: %.160s", c->cfg->where,
                              u->user ? " (user from state.url)" : "", scrubbed(c, r));
        } else if (is_error && word_is(r->str, r->len, "NOPERM")) {
            rc = aw_error_set(err, AW_CONFIG,
                              "redis %s: the ACL user may not run a command the backend needs "
                              "(%.120s); it needs at least +evalsha +script|load +hmget +hget "
                              "+del +scan",
                              c->cfg->where, scrubbed(c, r));
        } else if (is_error && aw_redis_error_status(r->str, r->len) == AW_CONFIG) {
            rc = aw_error_set(err, AW_CONFIG,
                              "redis %s: the server wants credentials (%.120s): put them in "
                              "state.url as redis://[user]:password@host:port/db",
                              c->cfg->where, scrubbed(c, r));
        } else if (kind[i] == HS_SELECT && is_error) {
            rc = aw_error_set(err, AW_CONFIG, "redis %s: SELECT refused: %.160s", c->cfg->where,
                              r->str);
        } else if (kind[i] == HS_ROLE) {
            rc = check_master_role(c, r, err);
        } else if (kind[i] == HS_SETNAME) {
            /* Optional: a server may rename or forbid CLIENT. */
        } else if (kind[i] == HS_CLIENT_ID) {
            c->stats.client_id = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        } else if (kind[i] >= HS_SCRIPTS) {
            rc = take_sha(c, (aw_redis_script)(kind[i] - HS_SCRIPTS), r, err);
        }
    }
    aw_redis_replies_free(replies, k);
    if (rc == AW_OK)
        c->stats.script_loads++;
    return rc;
}

aw_status aw_redis_conn_connect(aw_redis_conn *c, aw_error *err)
{
    aw_error local;
    if (c->ctx)
        return AW_OK;
    if (!err)
        err = &local;
    const aw_redis_config *cfg = c->cfg;
    struct timeval ctv = ms_tv(cfg->connect_timeout_ms);
    aw_status rc = AW_OK;
    /* TCP: the URL's address; Sentinel: the master's, asked for now. */
    const char *host = cfg->url.host;
    char master[AW_REDIS_ADDR_MAX];
    int port = cfg->url.port;
    if (cfg->sentinel) {
        sigpipe_guard g;
        sigpipe_block(&g);
        rc = aw_redis_sentinel_master(cfg->sentinel, &cfg->url, ctv, master, sizeof(master),
                                      &port, err);
        sigpipe_restore(&g);
        host = master;
    }
    if (rc != AW_OK) {
        /* no address: backs off below like a failed connect */
    } else if (!(c->ctx = cfg->url.transport == AW_REDIS_UNIX
                              ? redisConnectUnixWithTimeout(cfg->url.path, ctv)
                              : redisConnectWithTimeout(host, port, ctv))) {
        rc = aw_error_set(err, AW_NOMEM, "redis %s: cannot allocate a connection", cfg->where);
    } else if (c->ctx->err) {
        char addr[AW_REDIS_ADDR_MAX] = "";
        if (cfg->sentinel)
            aw_redis_format_addr(addr, sizeof(addr), host, port);
        rc = aw_error_set(err, AW_TRANSIENT, "redis %s: connect%s%s: %s", cfg->where,
                          cfg->sentinel ? " to the master at " : "", addr, c->ctx->errstr);
        aw_redis_conn_drop(c);
    } else if (redisSetTimeout(c->ctx, ms_tv(cfg->command_timeout_ms)) != REDIS_OK) {
        rc = conn_failed(c, "setting the command timeout", err);
    } else {
        rc = handshake(c, err);
    }
    if (rc == AW_OK) {
        c->failures = 0;
        c->stats.connects++;
        if (cfg->sentinel)
            aw_redis_sentinel_connected(cfg->sentinel, cfg->url.master_name, host, port);
        AW_DEBUG("state.redis", "connected to %s (client id %lld)", cfg->where,
                 c->stats.client_id);
        return AW_OK;
    }
    aw_redis_conn_drop(c);
    c->failures++;
    c->retry_at_ms = aw_mono_now_ms() +
                     aw_backoff_ms(c->failures, CONN_BACKOFF_BASE_MS, CONN_BACKOFF_MAX_MS);
    c->last_status = rc;
    memcpy(c->last_error, err->msg, sizeof(c->last_error));
    return rc;
}

/* Connected, or connect now, or (while backing off after failed connects)
 * fail fast with the last failure. */
static aw_status ensure(aw_redis_conn *c, aw_error *err)
{
    if (c->ctx)
        return AW_OK;
    int64_t wait = c->retry_at_ms - aw_mono_now_ms();
    if (c->failures > 0 && wait > 0)
        return aw_error_set(err, c->last_status == AW_CONFIG ? AW_CONFIG : AW_TRANSIENT,
                            "%s (next connect attempt in %" PRId64 " ms)", c->last_error, wait);
    return aw_redis_conn_connect(c, err);
}

void aw_redis_replies_free(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (replies[i])
            freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
}

static bool is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && word_is(r->str, r->len, "NOSCRIPT");
}

aw_status aw_redis_exchange(aw_redis_conn *c, aw_redis_cmd *cmds, size_t n, redisReply **replies,
                            aw_error *err)
{
    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    if (n == 0)
        return AW_OK;
    aw_status rc = ensure(c, err);
    if (rc != AW_OK)
        return rc;
    size_t small[CONN_SMALL];
    size_t *idx = n <= CONN_SMALL ? small : malloc(n * sizeof(*idx));
    if (!idx)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    size_t k = n;
    const char *what = cmds[0].script >= 0 ? aw_redis_script_name(cmds[0].script) : cmds[0].argv[0];
    for (int round = 0;; round++) {
        rc = send_and_read(c, cmds, idx, k, replies, what, err);
        if (rc != AW_OK)
            break;
        /* Commands refused with NOSCRIPT did not run: resend just those. */
        size_t retry = 0;
        for (size_t i = 0; i < k; i++) {
            if (!is_noscript(replies[idx[i]]))
                continue;
            freeReplyObject(replies[idx[i]]);
            replies[idx[i]] = NULL;
            idx[retry++] = idx[i];
        }
        if (retry == 0)
            break;
        if (round > 0) {
            rc = aw_error_set(err, AW_INTERNAL,
                              "redis %s: %s: scripts missing again right after SCRIPT LOAD",
                              c->cfg->where, what);
            break;
        }
        AW_DEBUG("state.redis", "%s: NOSCRIPT, reloading the scripts", c->cfg->where);
        rc = load_scripts(c, err);
        if (rc != AW_OK)
            break;
        k = retry;
    }
    if (idx != small)
        free(idx);
    if (rc != AW_OK)
        aw_redis_replies_free(replies, n);
    return rc;
}
