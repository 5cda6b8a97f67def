/* The Redis backend's pure helpers: URL parsing (table-driven: every URL
 * form, every refusal) and the literal SCAN MATCH pattern. No server.
 *
 * The helpers need no hiredis, so this test runs in every build: when the
 * Redis backend is compiled in they come from aw_core, otherwise their
 * sources are compiled into this program directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backends/state/redis/redis_keys.h"
#include "backends/state/redis/redis_url.h"
#include "common/aw_key.h"
#include "common/aw_log.h"

#ifndef AW_WITH_STATE_REDIS
#include "backends/state/redis/redis_keys.c"
#include "backends/state/redis/redis_url.c"
#endif

typedef struct url_ok {
    const char *url;
    aw_redis_transport transport;
    const char *host; /* or path for unix */
    int port;
    int db;
    const char *user;
    const char *password;
    int connect_timeout_ms;
    int command_timeout_ms;
} url_ok;

static const url_ok good[] = {
    {"redis://127.0.0.1:6379/0", AW_REDIS_TCP, "127.0.0.1", 6379, 0, NULL, NULL, 0, 0},
    {"redis://localhost", AW_REDIS_TCP, "localhost", 6379, 0, NULL, NULL, 0, 0},
    {"redis://localhost/", AW_REDIS_TCP, "localhost", 6379, 0, NULL, NULL, 0, 0},
    {"REDIS://h:1/15", AW_REDIS_TCP, "h", 1, 15, NULL, NULL, 0, 0},
    {"redis://h:65535/3?", AW_REDIS_TCP, "h", 65535, 3, NULL, NULL, 0, 0},
    {"redis://:s3cret@h:7000/2", AW_REDIS_TCP, "h", 7000, 2, NULL, "s3cret", 0, 0},
    {"redis://alice:s3cret@h:7000", AW_REDIS_TCP, "h", 7000, 0, "alice", "s3cret", 0, 0},
    /* percent-escapes: '/', '@', ':' and '?' inside the password */
    {"redis://:a%2Fb%40c%3Ad%3F@h:1/0", AW_REDIS_TCP, "h", 1, 0, NULL, "a/b@c:d?", 0, 0},
    /* a raw '@' in the password: userinfo ends at the last '@' */
    {"redis://:p@ss@h:1/0", AW_REDIS_TCP, "h", 1, 0, NULL, "p@ss", 0, 0},
    {"redis://[::1]:6380/4", AW_REDIS_TCP, "::1", 6380, 4, NULL, NULL, 0, 0},
    {"redis://[fe80::1%25eth0]", AW_REDIS_TCP, "fe80::1%eth0", 6379, 0, NULL, NULL, 0, 0},
    {"redis://h:1?db=5&connect_timeout_ms=250&command_timeout_ms=1500", AW_REDIS_TCP, "h", 1, 5,
     NULL, NULL, 250, 1500},
    {"redis://h:1/0?command_timeout_ms=100&", AW_REDIS_TCP, "h", 1, 0, NULL, NULL, 0, 100},
    {"unix:///var/run/redis/redis.sock", AW_REDIS_UNIX, "/var/run/redis/redis.sock", 0, 0, NULL,
     NULL, 0, 0},
    {"unix:///tmp/r.sock?db=3", AW_REDIS_UNIX, "/tmp/r.sock", 0, 3, NULL, NULL, 0, 0},
    {"unix://:pw@/tmp/r.sock?db=1", AW_REDIS_UNIX, "/tmp/r.sock", 0, 1, NULL, "pw", 0, 0},
    {"unix:///tmp/r.sock?user=bob&password=x%26y", AW_REDIS_UNIX, "/tmp/r.sock", 0, 0, "bob",
     "x&y", 0, 0},
    {"unix:///tmp/with%20space.sock", AW_REDIS_UNIX, "/tmp/with space.sock", 0, 0, NULL, NULL, 0,
     0},
};

typedef struct url_bad {
    const char *url;
    const char *why; /* a word the message must contain */
} url_bad;

static const url_bad bad_urls[] = {
    {"", "empty"},
    {"http://h:1", "scheme"},
    {"rediss://h:6380", "TLS"},
    {"redis://", "host"},
    {"redis://:1/0", "host"},
    {"redis://h:0", "port"},
    {"redis://h:65536", "port"},
    {"redis://h:12ab", "port"},
    {"redis://h:", "port"},
    {"redis://::1:6379", "brackets"},
    {"redis://[::1", "]"},
    {"redis://[::1]x", "]"},
    {"redis://h:1/x", "db"},
    {"redis://h:1/-1", "db"},
    {"redis://h:1/1/2", "db"},
    {"redis://h:1/1?db=2", "twice"},
    {"redis://h:1?db=1&db=2", "twice"},
    {"redis://h:1?timeout=5", "unknown"},
    {"redis://h:1?db", "name=value"},
    {"redis://h:1?connect_timeout_ms=0", "connect_timeout_ms"},
    {"redis://h:1?command_timeout_ms=9999999", "command_timeout_ms"},
    {"redis://alice@h:1", "without a password"},
    {"redis://:@h:1", "empty password"},
    {"redis://:pw%4@h:1", "percent"},
    {"redis://:pw%00x@h:1", "percent"},
    {"redis://:pw@h:1?password=again", "twice"},
    {"unix://", "path"},
    {"unix://relative.sock", "no host"},
    {"unix://host/tmp/r.sock", "no host"},
    {"unix:///tmp/r.sock?user=bob", "without a password"},
    {"unix:///tmp/r.sock?db=x", "db"},
    {"redis://h:1?sentinel_password=x", "unknown"},
    {"redis+sentinel://h1:26379", "master name is missing"},
    {"redis+sentinel://h1:26379/", "master name is empty"},
    {"redis+sentinel://h1:26379?db=1", "master name is missing"},
    {"redis+sentinel:///mymaster", "host"},
    {"redis+sentinel://h1,,h2/mymaster", "empty sentinel"},
    {"redis+sentinel://h1,/mymaster", "empty sentinel"},
    {"redis+sentinel://,h1/mymaster", "empty sentinel"},
    {"redis+sentinel://h1:0/mymaster", "port"},
    {"redis+sentinel://h1:1,h2:x/mymaster", "port"},
    {"redis+sentinel://h1,::1/mymaster", "brackets"},
    {"redis+sentinel://h1/mymaster/x", "db"},
    {"redis+sentinel://h1/mymaster/1/2", "db"},
    {"redis+sentinel://h1/mymaster/1?db=2", "twice"},
    {"redis+sentinel://h1/my%4master", "percent"},
    {"redis+sentinel://h1/m?sentinel_user=bob", "sentinel_user given without"},
    {"redis+sentinel://h1/m?sentinel_password=a&sentinel_password=b", "sentinel_password given twice"},
    {"redis+sentinel://h1/m?sentinel_password=", "empty sentinel_password"},
    {"redis+sentinel://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q/m", "too many sentinels"},
};

static void test_good_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const url_ok *t = &good[i];
        aw_redis_url u;
        aw_error err = {0};
        if (aw_redis_url_parse(t->url, &u, &err) != AW_OK)
            fail_msg("%s: refused: %s", t->url, err.msg);
        assert_int_equal(u.transport, t->transport);
        if (t->transport == AW_REDIS_TCP) {
            assert_string_equal(u.host, t->host);
            assert_null(u.path);
            assert_int_equal(u.port, t->port);
        } else {
            assert_string_equal(u.path, t->host);
            assert_null(u.host);
        }
        assert_int_equal(u.db, t->db);
        if (t->user)
            assert_string_equal(u.user, t->user);
        else
            assert_null(u.user);
        if (t->password)
            assert_string_equal(u.password, t->password);
        else
            assert_null(u.password);
        assert_int_equal(u.connect_timeout_ms, t->connect_timeout_ms);
        assert_int_equal(u.command_timeout_ms, t->command_timeout_ms);
        aw_redis_url_clear(&u);
        assert_null(u.host);
    }
}

/* redis+sentinel://: the sentinel list in URL order with its default port,
 * the master name, the db and both sets of credentials. */
static void test_sentinel_urls(void **state)
{
    (void)state;
    aw_redis_url u;
    aw_error err = {0};
    const char *url = "redis+sentinel://alice:s3%2Fcret@10.0.0.1,[::1]:26380,s3.local:1/"
                      "my%2Dmaster/2?sentinel_user=sen&sentinel_password=p%40ss&"
                      "command_timeout_ms=900";
    if (aw_redis_url_parse(url, &u, &err) != AW_OK)
        fail_msg("refused: %s", err.msg);
    assert_int_equal(u.transport, AW_REDIS_SENTINEL);
    assert_int_equal(u.nsentinels, 3);
    assert_string_equal(u.sentinels[0].host, "10.0.0.1");
    assert_int_equal(u.sentinels[0].port, AW_REDIS_SENTINEL_DEFAULT_PORT);
    assert_string_equal(u.sentinels[1].host, "::1");
    assert_int_equal(u.sentinels[1].port, 26380);
    assert_string_equal(u.sentinels[2].host, "s3.local");
    assert_int_equal(u.sentinels[2].port, 1);
    assert_string_equal(u.master_name, "my-master");
    assert_int_equal(u.db, 2);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.password, "s3/cret");
    assert_string_equal(u.sentinel_user, "sen");
    assert_string_equal(u.sentinel_password, "p@ss");
    assert_int_equal(u.command_timeout_ms, 900);
    assert_null(u.host);
    assert_null(u.path);
    aw_redis_url_clear(&u);
    assert_int_equal(u.nsentinels, 0);
    assert_null(u.master_name);

    /* One sentinel, no db, master credentials as options, db as an option. */
    if (aw_redis_url_parse("REDIS+SENTINEL://h/m?password=pw&db=3&sentinel_password=sp", &u,
                           &err) != AW_OK)
        fail_msg("refused: %s", err.msg);
    assert_int_equal(u.nsentinels, 1);
    assert_string_equal(u.sentinels[0].host, "h");
    assert_string_equal(u.master_name, "m");
    assert_int_equal(u.db, 3);
    assert_null(u.user);
    assert_string_equal(u.password, "pw");
    assert_null(u.sentinel_user);
    assert_string_equal(u.sentinel_password, "sp");
    aw_redis_url_clear(&u);

    /* Sixteen sentinels are allowed; the seventeenth is refused (bad_urls). */
    assert_int_equal(
        aw_redis_url_parse("redis+sentinel://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p/m/", &u, &err),
        AW_OK);
    assert_int_equal(u.nsentinels, AW_REDIS_MAX_SENTINELS);
    assert_string_equal(u.sentinels[15].host, "p");
    assert_int_equal(u.db, 0);
    aw_redis_url_clear(&u);
}

/* Every refusal is AW_CONFIG, names the problem, leaves the struct empty,
 * and never repeats the URL (which may hold a password). */
static void test_bad_urls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        const url_bad *t = &bad_urls[i];
        aw_redis_url u;
        aw_error err = {0};
        aw_status rc = aw_redis_url_parse(t->url, &u, &err);
        if (rc != AW_CONFIG)
            fail_msg("%s: got %s, want config", t->url, aw_status_name(rc));
        if (!strstr(err.msg, t->why))
            fail_msg("%s: message \"%s\" does not mention \"%s\"", t->url, err.msg, t->why);
        assert_null(u.host);
        assert_null(u.path);
        assert_null(u.user);
        assert_null(u.password);
        assert_null(u.master_name);
        assert_null(u.sentinel_password);
        assert_int_equal(u.nsentinels, 0);
        if (strlen(t->url) > 8 && strstr(err.msg, t->url + 8))
            fail_msg("%s: the message repeats the URL: %s", t->url, err.msg);
    }
    aw_redis_url u;
    aw_error err = {0};
    assert_int_equal(aw_redis_url_parse(NULL, &u, &err), AW_CONFIG);
}

/* Messages about a URL with a password never contain the password, and the
 * logging helper masks it. */
static void test_password_never_in_messages(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "redis://:Hunter2Secret@h:99999/0",
        "redis://alice:Hunter2Secret@h:1/x",
        "redis://:Hunter2Secret@h:1?bogus=1",
        "unix://:Hunter2Secret@/tmp/s?db=-1",
        "redis+sentinel://:Hunter2Secret@h1,h2:0/m",
        "redis+sentinel://h1/m?sentinel_password=Hunter2Secret&bogus=1",
        "redis+sentinel://h1/m?password=Hunter2Secret&sentinel_password=Hunter2Secret&db=x",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        aw_redis_url u;
        aw_error err = {0};
        assert_int_equal(aw_redis_url_parse(urls[i], &u, &err), AW_CONFIG);
        assert_null(strstr(err.msg, "Hunter2"));
        char red[256];
        aw_redact_url(urls[i], red, sizeof(red));
        assert_null(strstr(red, "Hunter2"));
        assert_non_null(strstr(red, "***"));
    }
}

/* SCAN MATCH patterns: metacharacters escaped, everything else as is. */
static void test_glob_escape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"plain:key_50%", "plain:key_50%"},
        {"*", "\\*"},
        {"a?b", "a\\?b"},
        {"[ab]", "\\[ab\\]"},
        {"back\\slash", "back\\\\slash"},
        {"^-!", "^-!"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_buf b = {0};
        assert_int_equal(aw_redis_glob_escape(&b, cases[i].in, strlen(cases[i].in)), 0);
        assert_string_equal(b.data ? b.data : "", cases[i].out);
        aw_buf_free(&b);
    }
    /* Binary-safe: a NUL inside the input is copied, not a terminator. */
    aw_buf b = {0};
    assert_int_equal(aw_redis_glob_escape(&b, "a\0*", 3), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "a\0\\*", 4);
    aw_buf_free(&b);
}

/* Stored keys: prefix, space byte, then the length-prefixed encoding; a key
 * of id prefix P is a byte prefix of the keys of every id starting with P. */
static void test_stored_keys(void **state)
{
    (void)state;
    aw_buf a = {0}, b = {0};
    assert_int_equal(aw_redis_key_append(&a, "acteon:", 7, AW_REDIS_SPACE_VALUE, "ns", "t:x",
                                         "kv", "id"),
                     0);
    assert_string_equal(a.data, "acteon:v2:ns3:t:x2:kvid");
    assert_int_equal(aw_redis_key_append(&b, "acteon:", 7, AW_REDIS_SPACE_DEDUP, "ns", "t",
                                         "dedup", NULL),
                     0);
    assert_string_equal(b.data, "acteon:d2:ns1:t5:dedup");
    aw_buf_reset(&a);
    aw_buf_reset(&b);
    /* The tenant "a:b" + kind "c" and tenant "a" + kind "b:c" differ. */
    aw_redis_key_append(&a, "", 0, 'v', "n", "a:b", "c", "x");
    aw_redis_key_append(&b, "", 0, 'v', "n", "a", "b:c", "x");
    assert_string_not_equal(a.data, b.data);
    aw_buf_reset(&a);
    aw_buf_reset(&b);
    aw_redis_key_append(&a, "p", 1, 'v', "n", "t", "k", "ord");
    aw_redis_key_append(&b, "p", 1, 'v', "n", "t", "k", "order-1");
    assert_memory_equal(a.data, b.data, a.len);
    aw_buf_free(&a);
    aw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_sentinel_urls),
        cmocka_unit_test(test_password_never_in_messages),
        cmocka_unit_test(test_glob_escape),
        cmocka_unit_test(test_stored_keys),
    };
    return cmocka_run_group_tests_name("redis url and keys", tests, NULL, NULL);
}
