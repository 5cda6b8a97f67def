/* One Redis connection of the "redis" state backend: connect (AUTH, SELECT,
 * CLIENT SETNAME, SCRIPT LOAD in one pipelined round trip), pipelined
 * exchanges with NOSCRIPT recovery, error mapping, reconnect with backoff.
 *
 * Threads: an aw_redis_conn belongs to one session and so to one thread at a
 * time (the state interface's rule); nothing in it is locked. The config it
 * points to is immutable after the backend's create and shared read-only.
 *
 * Failures: an I/O error, EOF or timeout leaves a hiredis context unusable
 * (replies would no longer match requests), so the connection is dropped
 * and the call returns AW_TRANSIENT. The next call reconnects at once; when
 * a reconnect fails, further attempts wait aw_backoff_ms(failures) and calls
 * made before then fail fast with AW_TRANSIENT (no call ever sleeps here:
 * the only blocking is bounded by the connect and command timeouts).
 *
 * Sentinel (redis+sentinel:// URLs): every connect first asks the sentinels
 * where the master is (redis_sentinel.h), and the handshake checks ROLE:
 * a server that is not (or no longer) a master is refused with
 * AW_TRANSIENT, so a demoted primary is never written to. After a failover
 * the old connections fail (EOF, or READONLY from a demoted primary: both
 * drop the connection) and the reconnect finds the promoted replica. */
#ifndef AW_REDIS_CONN_H
#define AW_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "backends/state/redis/redis_scripts.h"
#include "backends/state/redis/redis_sentinel.h"
#include "backends/state/redis/redis_state.h"
#include "backends/state/redis/redis_url.h"
#include "common/aw_error.h"

#define AW_REDIS_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define AW_REDIS_DEFAULT_COMMAND_TIMEOUT_MS 5000
#define AW_REDIS_MAX_ARGV 12
#define AW_REDIS_MAX_NUMS 6

/* What every connection of one backend uses. Immutable after create,
 * except the sentinel state it points to (shared, with its own lock). */
typedef struct aw_redis_config {
    aw_redis_url url;
    int connect_timeout_ms;
    int command_timeout_ms;
    char where[160]; /* "127.0.0.1:6379 db 0": for messages, never a secret */
    aw_redis_sentinel *sentinel; /* owned; redis+sentinel:// only, else NULL */
} aw_redis_config;

typedef struct aw_redis_conn {
    const aw_redis_config *cfg;
    redisContext *ctx;             /* NULL while disconnected */
    char sha[AW_RS_COUNT][41];     /* SCRIPT LOAD results of this connection */
    int failures;                  /* consecutive failed connect attempts */
    int64_t retry_at_ms;           /* monotonic: no connect attempt before */
    aw_status last_status;         /* why the last connect failed ... */
    char last_error[sizeof(((aw_error *)0)->msg)];          /* ... in words */
    aw_redis_stats stats;
} aw_redis_conn;

/* One command of an exchange. For an EVALSHA set script >= 0 and leave
 * argv[1] to the exchange (it fills in this connection's SHA). Arguments are
 * borrowed until the exchange returns, except numbers added with
 * aw_redis_cmd_num(), which live in the command itself. */
typedef struct aw_redis_cmd {
    int script; /* aw_redis_script, or -1 for a plain command */
    int argc;
    const char *argv[AW_REDIS_MAX_ARGV];
    size_t argvlen[AW_REDIS_MAX_ARGV];
    int nnums;
    char nums[AW_REDIS_MAX_NUMS][24];
} aw_redis_cmd;

/* Start an EVALSHA of script s with nkeys keys (1 or 2) to follow. */
void aw_redis_cmd_script(aw_redis_cmd *c, aw_redis_script s, int nkeys);
/* Start a plain command. */
void aw_redis_cmd_plain(aw_redis_cmd *c, const char *name);
/* Append an argument (borrowed) / a decimal number (copied into c). */
void aw_redis_cmd_arg(aw_redis_cmd *c, const void *p, size_t len);
void aw_redis_cmd_num(aw_redis_cmd *c, int64_t v);
void aw_redis_cmd_unum(aw_redis_cmd *c, uint64_t v);

/* Parse url and the options into cfg. AW_CONFIG on a bad URL or option. */
aw_status aw_redis_config_init(aw_redis_config *cfg, const char *url, int connect_timeout_ms,
                               int command_timeout_ms, aw_error *err);
void aw_redis_config_clear(aw_redis_config *cfg);

/* Bind c to cfg (no I/O). */
void aw_redis_conn_init(aw_redis_conn *c, const aw_redis_config *cfg);
/* Connect now unless connected (ignores the backoff). AW_CONFIG when the
 * server refuses the credentials or the db, AW_TRANSIENT when it cannot be
 * reached. */
aw_status aw_redis_conn_connect(aw_redis_conn *c, aw_error *err);
/* Close the connection (the struct stays usable: the next call reconnects). */
void aw_redis_conn_drop(aw_redis_conn *c);

/* Send cmds[0..n) in one pipelined round trip and read the n replies into
 * replies[0..n) (caller frees them with aw_redis_replies_free). Error
 * replies come back as replies (REDIS_REPLY_ERROR; see aw_redis_check),
 * except NOSCRIPT: the scripts are reloaded and the commands that got it
 * are sent once more (they did not run, so nothing runs twice). On a
 * connection failure every reply is NULL, the connection is dropped and the
 * result is AW_TRANSIENT. n == 0 is a no-op. */
aw_status aw_redis_exchange(aw_redis_conn *c, aw_redis_cmd *cmds, size_t n, redisReply **replies,
                            aw_error *err);
void aw_redis_replies_free(redisReply **replies, size_t n);

/* AW_OK unless r is an error reply; else map it (the one mapping of Redis
 * errors to statuses), fill err with "what: <server message>" and return the
 * status. Errors that say this server cannot serve us now (READONLY after a
 * failover, MASTERDOWN, LOADING) also drop the connection so the next call
 * reconnects. */
aw_status aw_redis_check(aw_redis_conn *c, const redisReply *r, const char *what, aw_error *err);

/* The status for a Redis error message (by its first word). */
aw_status aw_redis_error_status(const char *msg, size_t len);

#endif
