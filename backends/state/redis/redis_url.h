/* Redis connection URLs for the "redis" state backend: a pure parser (no
 * network, no hiredis), unit-tested in tests/unit/test_redis_url.c.
 *
 *   redis://[[user]:password@]host[:port][/db][?option=value&...]
 *   unix://[[user]:password@]/path/to/redis.sock[?db=N&option=value&...]
 *   redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/MASTER[/db][?...]
 *
 * - host: a name, an IPv4 address or a bracketed IPv6 address ("[::1]");
 *   port defaults to 6379, db to 0.
 * - "user:password@" sends `AUTH user password` (Redis 6+ ACL users);
 *   ":password@" (no user) sends `AUTH password` (requirepass / the default
 *   user). userinfo, path and option values are percent-decoded, so a
 *   password containing '/', '?', '@' or ':' is written %2F, %3F, %40, %3A.
 * - options: db=N (the alternative to "/db"; both together are refused),
 *   password=P and user=U (for unix:// URLs written without userinfo),
 *   connect_timeout_ms=N, command_timeout_ms=N. An unknown option is an
 *   error, so a typo cannot silently fall back to a default.
 * - redis+sentinel://: the hosts are sentinels (port default 26379, at most
 *   16), MASTER the name they monitor (percent-decoded); userinfo and
 *   user=/password= are the master's credentials as above, and
 *   sentinel_user=U / sentinel_password=P (only in this scheme) those of
 *   sentinels that require their own AUTH. host, port and path are unset.
 * - rediss:// (TLS) is refused: Debian 12's hiredis 0.14 has no TLS.
 *
 * Error messages name the part that is wrong and never echo the URL (it may
 * hold a password); log URLs only through aw_redact_url(). */
#ifndef AW_REDIS_URL_H
#define AW_REDIS_URL_H

#include "common/aw_error.h"

typedef enum aw_redis_transport {
    AW_REDIS_TCP = 0,
    AW_REDIS_UNIX,
    AW_REDIS_SENTINEL, /* the master's address comes from the sentinels */
} aw_redis_transport;

#define AW_REDIS_MAX_SENTINELS 16

typedef struct aw_redis_hostport {
    char *host; /* IPv6 without brackets */
    int port;
} aw_redis_hostport;

/* A parsed URL. Strings are malloc'd and owned by the struct (NULL when not
 * given); release with aw_redis_url_clear(). */
typedef struct aw_redis_url {
    aw_redis_transport transport;
    char *host;              /* TCP: host, IPv6 without brackets */
    int port;                /* TCP: 1..65535 */
    char *path;              /* UNIX: socket path */
    int db;                  /* >= 0 */
    char *user;              /* ACL user, or NULL */
    char *password;          /* or NULL */
    int connect_timeout_ms;  /* 0 = not given in the URL */
    int command_timeout_ms;  /* 0 = not given in the URL */
    /* SENTINEL only: */
    aw_redis_hostport sentinels[AW_REDIS_MAX_SENTINELS];
    int nsentinels;          /* 1..AW_REDIS_MAX_SENTINELS, in URL order */
    char *master_name;       /* as monitored by the sentinels */
    char *sentinel_user;     /* the sentinels' own AUTH, or NULL */
    char *sentinel_password;
} aw_redis_url;

#define AW_REDIS_DEFAULT_PORT 6379
#define AW_REDIS_SENTINEL_DEFAULT_PORT 26379

/* Parse url into *out (zeroed first). On failure *out is left empty and err
 * says which part is wrong: AW_CONFIG for a malformed or unsupported URL,
 * AW_NOMEM when out of memory. */
aw_status aw_redis_url_parse(const char *url, aw_redis_url *out, aw_error *err);

/* Free the strings of u and zero it. Accepts NULL and zeroed structs. */
void aw_redis_url_clear(aw_redis_url *u);

#endif
