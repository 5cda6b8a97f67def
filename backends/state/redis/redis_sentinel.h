/* Redis Sentinel discovery for the "redis" state backend
 * (redis+sentinel:// URLs, redis_url.h): which address the master of a
 * monitored name has now, asked of the sentinels at every (re)connect, so a
 * session that lost its primary in a failover finds the promoted replica.
 *
 * One aw_redis_sentinel per backend, shared by all its sessions (threads):
 * `preferred` is atomic; `lock` guards `master`. It owns nothing else; the
 * URL it is asked about is the backend's immutable aw_redis_config.url.
 *
 * The caller blocks SIGPIPE around aw_redis_sentinel_master (it writes to
 * sockets the peer may have closed), as redis_conn.c does for all its I/O. */
#ifndef AW_REDIS_SENTINEL_H
#define AW_REDIS_SENTINEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/time.h>

#include "backends/state/redis/redis_url.h"
#include "common/aw_error.h"

#define AW_REDIS_ADDR_MAX 300 /* "host:port" or "[v6]:port" */

typedef struct aw_redis_sentinel {
    atomic_int preferred;           /* index of the sentinel that answered last */
    pthread_mutex_t lock;           /* guards master */
    char master[AW_REDIS_ADDR_MAX]; /* the address sessions last connected to, "" = none */
} aw_redis_sentinel;

/* Zero s and set up its lock. Returns 0, or an errno from pthread. */
int aw_redis_sentinel_init(aw_redis_sentinel *s);
void aw_redis_sentinel_destroy(aw_redis_sentinel *s);

/* Ask u's sentinels in turn, starting with the one that answered last, for
 * the address of u->master_name (`SENTINEL get-master-addr-by-name`); the
 * first that answers wins and is asked first next time. timeout bounds the
 * connect to each sentinel and each of its replies. Fills host (size
 * hostsz) and *port. AW_CONFIG when no sentinel gave an address and every
 * one that answered refused our sentinel credentials or did not know the
 * name; else AW_TRANSIENT with the last sentinel's reason. */
aw_status aw_redis_sentinel_master(aw_redis_sentinel *s, const aw_redis_url *u,
                                   struct timeval timeout, char *host, size_t hostsz, int *port,
                                   aw_error *err);

/* A session is now connected to the master at host:port (ROLE checked).
 * Logs the address once per change for the whole backend, not per session:
 * INFO the first time, WARN when it moved (a failover). */
void aw_redis_sentinel_connected(aw_redis_sentinel *s, const char *master_name, const char *host,
                                 int port);

/* "host:port", or "[host]:port" for an IPv6 address, into out. */
void aw_redis_format_addr(char *out, size_t outsz, const char *host, int port);

#endif
