/* Redis URL parser: see redis_url.h. Pure: no I/O, no hiredis. */
#include "backends/state/redis/redis_url.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_MAX_TIMEOUT_MS (10 * 60 * 1000)
#define URL_MAX_DB 1000000

typedef enum url_rc { URL_OK = 0, URL_NOMEM, URL_BAD } url_rc;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..len) into a new string. URL_BAD on a malformed escape
 * or an encoded NUL (it could not be passed on as a C string). */
static url_rc decode(const char *s, size_t len, char **out)
{
    char *d = malloc(len + 1);
    size_t o = 0;
    if (!d)
        return URL_NOMEM;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            d[o++] = s[i];
            continue;
        }
        int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(d);
            return URL_BAD;
        }
        d[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[o] = '\0';
    *out = d;
    return URL_OK;
}

/* A decimal number of 1..9 digits (no sign, no spaces) within [min, max]. */
static bool parse_num(const char *s, size_t len, long min, long max, int *out)
{
    long v = 0;
    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

static aw_status bad(aw_redis_url *u, aw_error *err, const char *what)
{
    aw_redis_url_clear(u);
    return aw_error_set(err, AW_CONFIG, "state.url (redis): %s", what);
}

static aw_status nomem(aw_redis_url *u, aw_error *err)
{
    aw_redis_url_clear(u);
    return aw_error_set(err, AW_NOMEM, "out of memory");
}

/* userinfo = [user] ":" password. */
static aw_status parse_userinfo(const char *s, size_t len, aw_redis_url *u, aw_error *err)
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return bad(u, err, "user given without a password (write user:password@ or :password@)");
    size_t ulen = (size_t)(colon - s), plen = len - ulen - 1;
    if (plen == 0)
        return bad(u, err, "empty password in user:password@");
    url_rc rc = URL_OK;
    if (ulen)
        rc = decode(s, ulen, &u->user);
    if (rc == URL_OK)
        rc = decode(colon + 1, plen, &u->password);
    if (rc == URL_NOMEM)
        return nomem(u, err);
    if (rc == URL_BAD)
        return bad(u, err, "malformed percent-escape in user:password@");
    if ((u->user && !*u->user) || !*u->password)
        return bad(u, err, "empty user or password in user:password@");
    return AW_OK;
}

/* host[:port] or [v6][:port] into *host_out (malloc'd) and *port_out. */
static aw_status parse_hostport(const char *s, size_t len, int default_port, char **host_out,
                                int *port_out, aw_redis_url *u, aw_error *err)
{
    const char *host = s, *port = NULL;
    size_t hlen = len, portlen = 0;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return bad(u, err, "missing ']' after an IPv6 address");
        host = s + 1;
        hlen = (size_t)(close - host);
        const char *after = close + 1, *end = s + len;
        if (after < end) {
            if (*after != ':')
                return bad(u, err, "unexpected characters after ']'");
            port = after + 1;
            portlen = (size_t)(end - port);
        }
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon) {
            if (memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
                return bad(u, err, "IPv6 addresses must be written in brackets: [::1]:6379");
            hlen = (size_t)(colon - s);
            port = colon + 1;
            portlen = len - hlen - 1;
        }
    }
    if (hlen == 0)
        return bad(u, err, "host is missing");
    *port_out = default_port;
    if (port && !parse_num(port, portlen, 1, 65535, port_out))
        return bad(u, err, "port must be a number 1..65535");
    url_rc rc = decode(host, hlen, host_out);
    if (rc == URL_NOMEM)
        return nomem(u, err);
    if (rc == URL_BAD)
        return bad(u, err, "malformed percent-escape in the host");
    return AW_OK;
}

/* The credential options, in the order of their bits in parse_query's
 * seen_creds. user/password are the master's, sentinel_* the sentinels'. */
enum { CRED_USER, CRED_PASSWORD, CRED_SENTINEL_USER, CRED_SENTINEL_PASSWORD, CRED_COUNT };
static const char *const cred_names[CRED_COUNT] = {"user", "password", "sentinel_user",
                                                   "sentinel_password"};

/* The index of credential option k[0..klen), or -1 when k is none (the
 * sentinel ones exist only in redis+sentinel:// URLs). */
static int credential_index(const char *k, size_t klen, const aw_redis_url *u)
{
    int n = u->transport == AW_REDIS_SENTINEL ? CRED_COUNT : CRED_SENTINEL_USER;
    for (int i = 0; i < n; i++)
        if (klen == strlen(cred_names[i]) && strncasecmp(k, cred_names[i], klen) == 0)
            return i;
    return -1;
}

/* Query options. Each may appear once. */
static aw_status parse_query(const char *q, aw_redis_url *u, bool db_in_path, aw_error *err)
{
    bool seen_db = db_in_path, seen_ct = false, seen_cmd = false;
    char **creds[CRED_COUNT] = {&u->user, &u->password, &u->sentinel_user,
                                &u->sentinel_password};
    int ci, seen_creds = (u->user ? 1 << CRED_USER : 0) | (u->password ? 1 << CRED_PASSWORD : 0);
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        if (len == 0) { /* "?&db=1" or a trailing '&' */
            if (!amp)
                break;
            q = amp + 1;
            continue;
        }
        if (!eq)
            return bad(u, err, "query options must be name=value");
        size_t klen = (size_t)(eq - q), vlen = len - klen - 1;
        const char *v = eq + 1;
#define KEY_IS(name) (klen == sizeof(name) - 1 && strncasecmp(q, name, klen) == 0)
        if (KEY_IS("db")) {
            if (seen_db)
                return bad(u, err, "db given twice (path and ?db=, or repeated)");
            if (!parse_num(v, vlen, 0, URL_MAX_DB, &u->db))
                return bad(u, err, "db must be a number >= 0");
            seen_db = true;
        } else if (KEY_IS("connect_timeout_ms")) {
            if (seen_ct || !parse_num(v, vlen, 1, URL_MAX_TIMEOUT_MS, &u->connect_timeout_ms))
                return bad(u, err, "connect_timeout_ms must be given once, 1..600000");
            seen_ct = true;
        } else if (KEY_IS("command_timeout_ms")) {
            if (seen_cmd || !parse_num(v, vlen, 1, URL_MAX_TIMEOUT_MS, &u->command_timeout_ms))
                return bad(u, err, "command_timeout_ms must be given once, 1..600000");
            seen_cmd = true;
        } else if ((ci = credential_index(q, klen, u)) >= 0) {
            char msg[80], **slot = creds[ci];
            const char *name = cred_names[ci];
            int bit = 1 << ci;
            if (seen_creds & bit) {
                snprintf(msg, sizeof(msg), "%s given twice (option repeated or in userinfo)",
                         name);
                return bad(u, err, msg);
            }
            if (vlen == 0) {
                snprintf(msg, sizeof(msg), "empty %s", name);
                return bad(u, err, msg);
            }
            url_rc rc = decode(v, vlen, slot);
            if (rc == URL_NOMEM)
                return nomem(u, err);
            if (rc == URL_BAD || !*slot)
                return bad(u, err, "malformed percent-escape in a query option");
            seen_creds |= bit;
        } else {
            return bad(u, err,
                       "unknown query option (valid: db, user, password, connect_timeout_ms, "
                       "command_timeout_ms; with redis+sentinel:// also sentinel_user, "
                       "sentinel_password)");
        }
#undef KEY_IS
        if (!amp)
            break;
        q = amp + 1;
    }
    if (u->user && !u->password)
        return bad(u, err, "user given without a password");
    if (u->sentinel_user && !u->sentinel_password)
        return bad(u, err, "sentinel_user given without a sentinel_password");
    return AW_OK;
}

/* The sentinels: host[:port] items separated by ','. */
static aw_status parse_sentinels(const char *s, size_t len, aw_redis_url *u, aw_error *err)
{
    const char *end = s + len;
    for (const char *item = s;; ) {
        const char *comma = memchr(item, ',', (size_t)(end - item));
        const char *stop = comma ? comma : end;
        if (u->nsentinels == AW_REDIS_MAX_SENTINELS)
            return bad(u, err, "too many sentinels (at most 16)");
        aw_redis_hostport *h = &u->sentinels[u->nsentinels];
        if (stop == item)
            return bad(u, err, "empty sentinel address in the host list (want host:port,host:port)");
        aw_status rc = parse_hostport(item, (size_t)(stop - item), AW_REDIS_SENTINEL_DEFAULT_PORT,
                                      &h->host, &h->port, u, err);
        if (rc != AW_OK)
            return rc;
        u->nsentinels++;
        if (!comma)
            return AW_OK;
        item = comma + 1;
    }
}

/* "/MASTER_NAME[/db]" after the sentinels; *p moves past it. */
static aw_status parse_master_path(const char **p, aw_redis_url *u, bool *db_in_path,
                                   aw_error *err)
{
    const char *s = *p;
    if (*s != '/')
        return bad(u, err, "the master name is missing: redis+sentinel://host:port,.../MASTER");
    size_t nlen = strcspn(s + 1, "/?");
    if (nlen == 0)
        return bad(u, err, "the master name is empty");
    url_rc rc = decode(s + 1, nlen, &u->master_name);
    if (rc == URL_NOMEM)
        return nomem(u, err);
    if (rc == URL_BAD)
        return bad(u, err, "malformed percent-escape in the master name");
    s += 1 + nlen;
    if (*s == '/') {
        size_t dlen = strcspn(s + 1, "?");
        if (dlen > 0) {
            if (!parse_num(s + 1, dlen, 0, URL_MAX_DB, &u->db))
                return bad(u, err, "the path must be /MASTER/db with db a number >= 0");
            *db_in_path = true;
        }
        s += 1 + dlen;
    }
    *p = s;
    return AW_OK;
}

aw_status aw_redis_url_parse(const char *url, aw_redis_url *out, aw_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!url || !*url)
        return bad(out, err, "empty; want redis://[:password@]host:port[/db] or unix:///path");
    const char *rest;
    if (strncasecmp(url, "redis://", 8) == 0) {
        out->transport = AW_REDIS_TCP;
        rest = url + 8;
    } else if (strncasecmp(url, "unix://", 7) == 0) {
        out->transport = AW_REDIS_UNIX;
        rest = url + 7;
    } else if (strncasecmp(url, "redis+sentinel://", 17) == 0) {
        out->transport = AW_REDIS_SENTINEL;
        rest = url + 17;
    } else if (strncasecmp(url, "rediss://", 9) == 0) {
        return bad(out, err, "rediss:// (TLS) is not supported: hiredis 0.14 has no TLS");
    } else {
        return bad(out, err, "unsupported scheme; want redis://, unix:// or redis+sentinel://");
    }

    /* The authority runs to the first '/' or '?'; userinfo ends at its last
     * '@' (the same split aw_redact_url makes). */
    size_t alen = strcspn(rest, "/?");
    const char *at = NULL;
    for (const char *p = rest; p < rest + alen; p++)
        if (*p == '@')
            at = p;
    const char *hp = rest;
    size_t hplen = alen;
    if (at) {
        aw_status rc = parse_userinfo(rest, (size_t)(at - rest), out, err);
        if (rc != AW_OK)
            return rc;
        hp = at + 1;
        hplen = alen - (size_t)(hp - rest);
    }
    const char *p = rest + alen; /* at '/', '?' or the end */
    bool db_in_path = false;

    if (out->transport == AW_REDIS_SENTINEL) {
        aw_status rc = parse_sentinels(hp, hplen, out, err);
        if (rc == AW_OK)
            rc = parse_master_path(&p, out, &db_in_path, err);
        if (rc != AW_OK)
            return rc;
    } else if (out->transport == AW_REDIS_TCP) {
        aw_status rc = parse_hostport(hp, hplen, AW_REDIS_DEFAULT_PORT, &out->host, &out->port,
                                      out, err);
        if (rc != AW_OK)
            return rc;
        if (*p == '/') {
            size_t dlen = strcspn(p + 1, "?");
            if (dlen > 0) {
                if (!parse_num(p + 1, dlen, 0, URL_MAX_DB, &out->db))
                    return bad(out, err, "the path must be /db with db a number >= 0");
                db_in_path = true;
            }
            p += 1 + dlen;
        }
    } else {
        if (hplen != 0)
            return bad(out, err, "unix:// URLs have no host: write unix:///path/to/redis.sock");
        size_t plen = strcspn(p, "?");
        if (plen == 0 || *p != '/')
            return bad(out, err,
                       "unix:// needs an absolute socket path: unix:///path/to/redis.sock");
        url_rc rc = decode(p, plen, &out->path);
        if (rc == URL_NOMEM)
            return nomem(out, err);
        if (rc == URL_BAD)
            return bad(out, err, "malformed percent-escape in the socket path");
        p += plen;
    }
    if (*p == '?')
        return parse_query(p + 1, out, db_in_path, err);
    if (*p != '\0')
        return bad(out, err, "unexpected characters after the host");
    return AW_OK;
}

/* Do not leave a secret lying in freed heap memory. */
static void free_secret(char *secret)
{
    if (!secret)
        return;
    volatile char *c = secret;
    while (*c)
        *c++ = '\0';
    free(secret);
}

void aw_redis_url_clear(aw_redis_url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->path);
    free(u->user);
    free(u->master_name);
    free(u->sentinel_user);
    for (int i = 0; i < u->nsentinels; i++)
        free(u->sentinels[i].host);
    free_secret(u->password);
    free_secret(u->sentinel_password);
    memset(u, 0, sizeof(*u));
}
