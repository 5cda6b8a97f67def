#include "common/aw_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/aw_clock.h"

/* Written once by aw_log_init() before any thread starts; read-only after. */
static aw_log_level g_level = AW_LOG_INFO;
static aw_log_format g_format = AW_LOG_TEXT;
static int g_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void aw_log_init(aw_log_level level, aw_log_format format, int fd)
{
    g_level = level;
    g_format = format;
    g_fd = fd;
}

aw_log_level aw_log_get_level(void) { return g_level; }

int aw_log_level_parse(const char *s, aw_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (aw_log_level)i;
            return 0;
        }
    }
    return -1;
}

int aw_log_format_parse(const char *s, aw_log_format *out)
{
    if (strcasecmp(s, "text") == 0)
        *out = AW_LOG_TEXT;
    else if (strcasecmp(s, "json") == 0)
        *out = AW_LOG_JSON;
    else
        return -1;
    return 0;
}

/* Append s to buf as the body of a JSON string (no quotes). */
static size_t json_escape(char *buf, size_t pos, size_t cap, const char *s)
{
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
        } else {
            buf[pos++] = (char)c;
        }
    }
    return pos;
}

void aw_log(aw_log_level level, const char *component, const char *fmt, ...)
{
    if (level < g_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char ts[40];
    aw_time_format_rfc3339(aw_time_now_ms(), ts, sizeof(ts));

    char line[4608];
    size_t pos;
    if (g_format == AW_LOG_JSON) {
        pos = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"",
                               ts, level_names[level]);
        pos = json_escape(line, pos, sizeof(line) - 8, component);
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\",\"msg\":\"");
        pos = json_escape(line, pos, sizeof(line) - 8, msg);
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "\"}\n");
    } else {
        int n = snprintf(line, sizeof(line), "%s %-5s [%s] %s\n", ts, level_names[level],
                         component, msg);
        pos = n < 0 ? 0 : (size_t)n;
    }
    if (pos >= sizeof(line)) {
        pos = sizeof(line) - 1;
        line[pos - 1] = '\n';
    }
    ssize_t w = write(g_fd, line, pos);
    (void)w;
}

/* Copy what names a secret (p[0..n): "user:" or "password="), then the mask
 * in place of the secret; the caller made sure it fits. The new o. */
static size_t put_masked(char *out, size_t o, const char *p, size_t n)
{
    memcpy(out + o, p, n);
    memcpy(out + o + n, "***", 3);
    return o + n + 3;
}

void aw_redact_url(const char *url, char *out, size_t outsz)
{
    if (!outsz)
        return;
    if (!url) {
        out[0] = '\0';
        return;
    }
    size_t o = 0;
    const char *scheme = strstr(url, "://");
    const char *auth_start = scheme ? scheme + 3 : url;
    const char *at = NULL;
    /* userinfo ends at the last '@' before the first '/' of the path. */
    for (const char *p = auth_start; *p && *p != '/' && *p != '?'; p++)
        if (*p == '@')
            at = p;
    const char *p = url;
    while (*p && o + 4 < outsz) {
        if (at && p == auth_start) {
            const char *colon = memchr(auth_start, ':', (size_t)(at - auth_start));
            if (colon) {
                size_t n = (size_t)(colon - p) + 1;
                if (o + n + 4 >= outsz)
                    break;
                o = put_masked(out, o, p, n);
                p = at;
                continue;
            }
        }
        /* Query parameters named password/secret/token are masked too. */
        if ((*p == '?' || *p == '&') && p > auth_start) {
            out[o++] = *p++;
            static const char *const keys[] = {"password=", "sentinel_password=", "secret=",
                                               "token=", "key="};
            int masked = 0;
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                size_t kl = strlen(keys[k]);
                if (strncasecmp(p, keys[k], kl) == 0) {
                    if (o + kl + 4 >= outsz)
                        break;
                    o = put_masked(out, o, p, kl);
                    p += kl;
                    while (*p && *p != '&')
                        p++;
                    masked = 1;
                    break;
                }
            }
            if (masked)
                continue;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}
