/* The state conformance suite against a real Redis, plus what only the
 * Redis backend can be asked.
 *
 * Needs AW_TEST_REDIS_URL (scripts/test-servers.sh start DIR writes it to
 * DIR/env); without it the program says why and exits 77 (skipped). With
 * AW_TEST_REDIS_UNIX_URL too, the whole suite runs a second time over the
 * Unix socket (another db), as hiredis's own tests run over TCP and Unix.
 *
 *  1. the suite, TCP, with the cross-process group (3 forked processes);
 *  2. the suite again over the Unix socket (when configured);
 *  3. Redis specifics: the error-reply mapping, NOSCRIPT recovery,
 *     reconnect after the server killed the connection, no SIGPIPE death
 *     on a closed connection, command timeout, wrong credentials (no
 *     password in any message), ACL users, unreachable server, key prefix
 *     and db isolation, one round trip per batch, exact 64-bit counters,
 *     token monotonicity after the token counter is lost, TTLs on every
 *     record.
 *
 * A second, plain hiredis connection ("admin") plays the operator: SCRIPT
 * FLUSH, CLIENT KILL, CLIENT PAUSE, ACL SETUSER, INFO, PTTL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef AW_WITH_STATE_REDIS

int main(void)
{
    printf("SKIP: the redis state backend is not compiled in (cmake -DWITH_STATE_REDIS=ON)\n");
    return 77;
}

#else

#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "backends/state/redis/redis_conn.h"
#include "backends/state/redis/redis_keys.h"
#include "backends/state/redis/redis_state.h"
#include "backends/state/redis/redis_url.h"
#include "backends/state/state.h"
#include "common/aw_buf.h"
#include "common/aw_clock.h"
#include "suite_state.h"
#include "suite_util.h"

#define WAIT_MS 10000 /* bound on every wait for a condition */
#define POLL_MS 5

static const char *g_url;      /* AW_TEST_REDIS_URL */
static const char *g_unix_url; /* AW_TEST_REDIS_UNIX_URL or NULL */
static char g_prefix[64];      /* per run, so reruns on one server never meet */

/* ---- helpers ------------------------------------------------------------- */

static aw_state *new_redis_opts(const char *url, const char *prefix, int command_timeout_ms)
{
    aw_state_options o = {
        .url = url, .key_prefix = prefix, .command_timeout_ms = command_timeout_ms};
    return aw_ct_state_new("redis", &o);
}

static aw_state *new_redis(void) { return new_redis_opts(g_url, g_prefix, 0); }

static aw_redis_stats stats_of(aw_state_session *ss)
{
    aw_redis_stats s;
    assert_ptr_equal(ss->driver, &aw_state_redis_driver);
    aw_state_redis_session_stats(ss->session, &s);
    return s;
}

/* A plain hiredis connection to the server and db of url (the test
 * servers need no password); NULL with a message on failure. */
static redisContext *admin_open_url(const char *url)
{
    aw_redis_url u;
    aw_error err = {0};
    if (aw_redis_url_parse(url, &u, &err) != AW_OK) {
        fprintf(stderr, "admin: %s\n", err.msg);
        return NULL;
    }
    struct timeval tv = {.tv_sec = 5};
    redisContext *c = u.transport == AW_REDIS_TCP ? redisConnectWithTimeout(u.host, u.port, tv)
                                                  : redisConnectUnixWithTimeout(u.path, tv);
    char db[16];
    snprintf(db, sizeof(db), "%d", u.db);
    aw_redis_url_clear(&u);
    if (!c || c->err) {
        fprintf(stderr, "admin connect: %s\n", c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    const char *argv[] = {"SELECT", db};
    redisReply *r = redisCommandArgv(c, 2, argv, NULL);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (r)
        freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* The admin connection of a test: same server and db as g_url. */
static redisContext *admin_open(void)
{
    redisContext *c = admin_open_url(g_url);
    if (!c)
        fail_msg("no admin connection to the test server");
    return c;
}

/* Delete every key of this run (they all start with g_prefix) from the db
 * of url, so reruns against a long-lived server leave nothing behind. */
static void cleanup_run(const char *url)
{
    redisContext *c = admin_open_url(url);
    char cursor[32] = "0", pattern[80];
    long long deleted = 0;
    if (!c)
        return;
    snprintf(pattern, sizeof(pattern), "%s*", g_prefix); /* hex, '-', ':': no glob chars */
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        redisReply *r = redisCommandArgv(c, 6, argv, NULL);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r)
                freeReplyObject(r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *keys = r->element[1];
        if (keys->elements > 0) {
            const char **av = calloc(keys->elements + 1, sizeof(*av));
            size_t *al = calloc(keys->elements + 1, sizeof(*al));
            if (av && al) {
                av[0] = "UNLINK";
                al[0] = 6;
                for (size_t i = 0; i < keys->elements; i++) {
                    av[i + 1] = keys->element[i]->str;
                    al[i + 1] = keys->element[i]->len;
                }
                redisReply *d = redisCommandArgv(c, (int)keys->elements + 1, av, al);
                if (d && d->type == REDIS_REPLY_INTEGER)
                    deleted += d->integer;
                if (d)
                    freeReplyObject(d);
            }
            free(av);
            free(al);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    printf("cleanup: %lld keys of this run deleted\n", deleted);
    redisFree(c);
}

/* Run a command given as NULL-terminated strings; the caller frees the reply. */
static redisReply *admin(redisContext *c, ...)
{
    const char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, c);
    for (const char *a; argc < 16 && (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r)
        fail_msg("admin %s: %s", argv[0], c->errstr);
    return r;
}

static void admin_ok(redisContext *c, redisReply *r)
{
    (void)c;
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("admin: %s", r->str);
    freeReplyObject(r);
}

/* cmdstat_evalsha:calls=N from INFO commandstats. */
static long long evalsha_calls(redisContext *c)
{
    redisReply *r = admin(c, "INFO", "commandstats", NULL);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    const char *p = strstr(r->str, "cmdstat_evalsha:calls=");
    long long n = p ? strtoll(p + strlen("cmdstat_evalsha:calls="), NULL, 10) : 0;
    freeReplyObject(r);
    return n;
}

/* The stored key of (space, ns, "tenant", kind, id) under g_prefix. */
static void stored_key(aw_buf *b, char space, const char *ns, const char *kind, const char *id)
{
    aw_buf_reset(b);
    assert_int_equal(
        aw_redis_key_append(b, g_prefix, strlen(g_prefix), space, ns, "tenant", kind, id), 0);
}

static long long admin_pttl(redisContext *c, const aw_buf *key)
{
    const char *argv[] = {"PTTL", key->data};
    size_t lens[] = {4, key->len};
    redisReply *r = redisCommandArgv(c, 2, argv, lens);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* ---- NOSCRIPT ------------------------------------------------------------ */

/* SCRIPT FLUSH from another connection mid-test: the next operations still
 * succeed (reload + one resend), a pipelined batch included. */
static void test_noscript_recovery(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "noscript-");
    aw_state *st = new_redis();
    aw_state_session *ss = aw_ct_state_session(st);
    redisContext *adm = admin_open();
    aw_error err = {0};
    aw_state_key k = aw_ct_key(ns, "kv", "a");
    uint64_t v = 0;
    assert_int_equal(aw_state_set(ss, &k, "1", 1, 0, &v, &err), AW_OK);
    aw_redis_stats s0 = stats_of(ss);

    admin_ok(adm, admin(adm, "SCRIPT", "FLUSH", NULL));
    assert_int_equal(aw_state_set(ss, &k, "2", 1, 0, &v, &err), AW_OK);
    assert_int_equal(v, 2);
    aw_redis_stats s1 = stats_of(ss);
    assert_int_equal(s1.script_loads, s0.script_loads + 1);
    assert_int_equal(s1.round_trips, s0.round_trips + 3); /* refused, reload, resend */
    assert_int_equal(s1.connects, s0.connects);           /* same connection */

    /* A batch: refused as a whole, reloaded once, resent as a whole. */
    admin_ok(adm, admin(adm, "SCRIPT", "FLUSH", NULL));
    aw_claim c[10];
    memset(c, 0, sizeof(c));
    char ids[10][8];
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof(ids[i]), "c%d", i);
        c[i].key = aw_ct_key(ns, "dedup", ids[i]);
        c[i].lease_ms = 60000;
    }
    assert_int_equal(aw_state_claim_batch(ss, c, 10, &err), AW_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(c[i].result, AW_CLAIM_ACQUIRED);
    aw_redis_stats s2 = stats_of(ss);
    assert_int_equal(s2.script_loads, s1.script_loads + 1);
    assert_int_equal(s2.round_trips, s1.round_trips + 3);
    /* Nothing ran twice: a second claim finds each lease held once. */
    uint64_t tokens[10];
    for (int i = 0; i < 10; i++)
        tokens[i] = c[i].token;
    assert_int_equal(aw_state_claim_batch(ss, c, 10, &err), AW_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_BUSY);
        assert_int_equal(c[i].token, tokens[i]);
    }
    redisFree(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* ---- connection loss ------------------------------------------------------ */

/* The server closes the session's connection (CLIENT KILL ID: only ours, so
 * other clients of a shared test server are not disturbed). The next call
 * returns AW_TRANSIENT (or succeeds, had it reconnected first); the one
 * after succeeds on a new connection. */
static void test_reconnect_after_kill(void **state)
{
    (void)state;
    char ns[48], id[32];
    aw_ct_random_hex(ns, sizeof(ns), "kill-");
    aw_state *st = new_redis();
    aw_state_session *ss = aw_ct_state_session(st);
    redisContext *adm = admin_open();
    aw_error err = {0};
    aw_state_key k = aw_ct_key(ns, "kv", "survivor");
    assert_int_equal(aw_state_set(ss, &k, "x", 1, 0, NULL, &err), AW_OK);
    aw_redis_stats s0 = stats_of(ss);
    assert_true(s0.client_id > 0);

    for (int round = 0; round < 3; round++) {
        aw_redis_stats before = stats_of(ss);
        snprintf(id, sizeof(id), "%lld", before.client_id);
        redisReply *r = admin(adm, "CLIENT", "KILL", "ID", id, NULL);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_int_equal(r->integer, 1);
        freeReplyObject(r);

        aw_state_value v = {0};
        aw_status rc = aw_state_get(ss, &k, &v, &err);
        aw_state_value_clear(&v);
        if (rc != AW_OK && rc != AW_TRANSIENT)
            fail_msg("first call after the kill: %s (%s)", aw_status_name(rc), err.msg);
        if (rc == AW_TRANSIENT)
            assert_true(err.retriable);
        assert_int_equal(aw_state_get(ss, &k, &v, &err), AW_OK);
        assert_memory_equal(v.data, "x", 1);
        aw_state_value_clear(&v);
        aw_redis_stats after = stats_of(ss);
        assert_int_equal(after.connects, before.connects + 1);
        assert_true(after.client_id != before.client_id);
    }
    redisFree(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* A big batch written into a connection the server has closed: the write
 * hits EPIPE part-way. The program does not ignore SIGPIPE (the worker
 * does; a library must not rely on it), so this only returns if the
 * backend keeps the signal from killing the process. */
static void test_no_sigpipe_on_closed_connection(void **state)
{
    (void)state;
    enum { N = 20000 };
    char ns[48], id[32];
    aw_ct_random_hex(ns, sizeof(ns), "sigpipe-");
    aw_state *st = new_redis();
    aw_state_session *ss = aw_ct_state_session(st);
    redisContext *adm = admin_open();
    aw_error err = {0};
    aw_claim *c = calloc(N, sizeof(*c));
    char(*ids)[16] = calloc(N, sizeof(*ids));
    assert_non_null(c);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "s%05d", i);
        c[i].key = aw_ct_key(ns, "dedup", ids[i]);
        c[i].lease_ms = 60000;
    }
    for (int round = 0; round < 3; round++) {
        aw_redis_stats s = stats_of(ss);
        snprintf(id, sizeof(id), "%lld", s.client_id);
        redisReply *r = admin(adm, "CLIENT", "KILL", "ID", id, NULL);
        assert_int_equal(r->integer, 1);
        freeReplyObject(r);
        aw_status rc = aw_state_claim_batch(ss, c, N, &err);
        if (rc != AW_TRANSIENT)
            fail_msg("batch into a killed connection: %s (%s)", aw_status_name(rc), err.msg);
        printf("[   INFO   ] round %d: %s\n", round, err.msg);
        /* The next call reconnects (nothing of the refused batch ran). */
        aw_claim one = {.key = aw_ct_key(ns, "dedup", "after"), .lease_ms = 60000};
        assert_int_equal(aw_state_claim_batch(ss, &one, 1, &err), AW_OK);
        ns[0]++; /* fresh identities for the next round */
    }
    free(ids);
    free(c);
    redisFree(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* A server that stops answering: the call fails with AW_TRANSIENT after
 * command_timeout_ms, not later, and the session recovers by itself once
 * the server answers again (poll with a deadline). */
static void test_command_timeout(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "timeout-");
    aw_state *st = new_redis_opts(g_url, g_prefix, 200);
    aw_state_session *ss = aw_ct_state_session(st);
    redisContext *adm = admin_open();
    aw_error err = {0};
    aw_state_key k = aw_ct_key(ns, "kv", "k");
    assert_int_equal(aw_state_set(ss, &k, "x", 1, 0, NULL, &err), AW_OK);

    admin_ok(adm, admin(adm, "CLIENT", "PAUSE", "1500", "ALL", NULL));
    int64_t t0 = aw_mono_now_ms();
    aw_state_value v = {0};
    aw_status rc = aw_state_get(ss, &k, &v, &err);
    int64_t took = aw_mono_now_ms() - t0;
    assert_int_equal(rc, AW_TRANSIENT);
    assert_non_null(strstr(err.msg, "command_timeout_ms=200"));
    assert_true(took >= 150 && took < 1400);

    /* Poll until the pause is over; the reconnects in between back off. */
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    int failures = 0;
    while ((rc = aw_state_get(ss, &k, &v, &err)) != AW_OK) {
        assert_int_equal(rc, AW_TRANSIENT);
        failures++;
        assert_true(aw_mono_now_ms() < deadline);
        aw_sleep_ms(POLL_MS);
    }
    assert_memory_equal(v.data, "x", 1);
    aw_state_value_clear(&v);
    redisFree(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* ---- credentials ------------------------------------------------------------ */

/* g_url with credentials spliced in (TCP or Unix). */
static void url_with_auth(char *out, size_t outsz, const char *user, const char *pw)
{
    aw_redis_url u;
    aw_error err = {0};
    assert_int_equal(aw_redis_url_parse(g_url, &u, &err), AW_OK);
    if (u.transport == AW_REDIS_TCP)
        snprintf(out, outsz, "redis://%s:%s@%s%s%s:%d/%d", user ? user : "", pw,
                 strchr(u.host, ':') ? "[" : "", u.host, strchr(u.host, ':') ? "]" : "", u.port,
                 u.db);
    else
        snprintf(out, outsz, "unix://%s:%s@%s?db=%d", user ? user : "", pw, u.path, u.db);
    aw_redis_url_clear(&u);
}

static void expect_refused(const char *url, const char *secret, const char *word)
{
    aw_state_options o = {.url = url, .key_prefix = g_prefix};
    aw_state *st = NULL;
    aw_error err = {0};
    aw_status rc = aw_state_new("redis", &o, &st, &err);
    if (rc != AW_CONFIG)
        fail_msg("credentials refused: got %s (%s), want config", aw_status_name(rc), err.msg);
    assert_null(st);
    if (strstr(err.msg, secret))
        fail_msg("the message shows the password: %s", err.msg);
    if (!strstr(err.msg, word))
        fail_msg("the message \"%s\" does not say \"%s\"", err.msg, word);
    printf("[   INFO   ] refused as expected: %s\n", err.msg);
}

static void test_wrong_password(void **state)
{
    (void)state;
    char url[512], user[48];
    /* The test server has no requirepass: any password is refused. */
    url_with_auth(url, sizeof(url), NULL, "Wr0ngPassw0rd-xyzzy");
    expect_refused(url, "xyzzy", "AUTH");

    /* A Redis 6+ ACL user: wrong password refused, right one works. */
    redisContext *adm = admin_open();
    aw_ct_random_hex(user, sizeof(user), "awtest-user-");
    admin_ok(adm, admin(adm, "ACL", "SETUSER", user, "on", ">Right-Passw0rd-plugh", "~*", "&*",
                        "+@all", NULL));
    url_with_auth(url, sizeof(url), user, "Wr0ngPassw0rd-xyzzy");
    expect_refused(url, "xyzzy", "AUTH");
    url_with_auth(url, sizeof(url), user, "Right-Passw0rd-plugh");
    aw_state *st = new_redis_opts(url, g_prefix, 0);
    aw_state_session *ss = aw_ct_state_session(st);
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "acl-");
    aw_state_key k = aw_ct_key(ns, "kv", "k");
    aw_error err = {0};
    assert_int_equal(aw_state_set(ss, &k, "x", 1, 0, NULL, &err), AW_OK);
    /* A user without script rights: the refusal is a config error, clear. */
    admin_ok(adm, admin(adm, "ACL", "SETUSER", user, "-evalsha", "-script", NULL));
    redisReply *r = admin(adm, "CLIENT", "KILL", "USER", user, NULL);
    freeReplyObject(r);
    aw_state_value v = {0};
    aw_status rc;
    int64_t deadline = aw_mono_now_ms() + WAIT_MS;
    while ((rc = aw_state_get(ss, &k, &v, &err)) == AW_TRANSIENT && aw_mono_now_ms() < deadline)
        aw_sleep_ms(POLL_MS); /* until the reconnect attempt is due */
    aw_state_value_clear(&v);
    assert_int_equal(rc, AW_CONFIG);
    assert_null(strstr(err.msg, "plugh"));
    printf("[   INFO   ] without script rights: %s\n", err.msg);
    aw_state_session_close(ss);
    aw_state_destroy(st);
    admin_ok(adm, admin(adm, "ACL", "DELUSER", user, NULL));
    redisFree(adm);
}

/* An unreachable server does not fail create (the worker keeps retrying
 * its sessions); session_open says AW_TRANSIENT promptly. */
static void test_unreachable_server(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", ntohs(a.sin_port));
    /* Bound, not listening: connections are refused. */
    aw_state *st = new_redis_opts(url, g_prefix, 0);
    aw_state_session *ss = NULL;
    aw_error err = {0};
    int64_t t0 = aw_mono_now_ms();
    assert_int_equal(aw_state_session_open(st, &ss, &err), AW_TRANSIENT);
    assert_true(err.retriable);
    assert_true(aw_mono_now_ms() - t0 < 2000);
    assert_null(ss);
    aw_state_destroy(st);
    close(fd);
}

/* ---- isolation ----------------------------------------------------------- */

typedef struct scan_count {
    int n;
} scan_count;

static int count_cb(void *ud, const char *id, const char *value, size_t len)
{
    (void)id;
    (void)value;
    (void)len;
    ((scan_count *)ud)->n++;
    return 0;
}

/* Two backends with different key prefixes share nothing: values, scans,
 * locks, claims. */
static void test_prefix_isolation(void **state)
{
    (void)state;
    char pa[96], pb[96], ns[48];
    /* Sub-prefixes of the run's prefix (for the cleanup), neither a prefix
     * of the other nor of the run's own keys (those continue with a space
     * byte: v, l, d or f). */
    snprintf(pa, sizeof(pa), "%siso-a:", g_prefix);
    snprintf(pb, sizeof(pb), "%siso-b:", g_prefix);
    aw_ct_random_hex(ns, sizeof(ns), "iso-");
    aw_state *a = new_redis_opts(g_url, pa, 0), *b = new_redis_opts(g_url, pb, 0);
    aw_state_session *sa = aw_ct_state_session(a), *sb = aw_ct_state_session(b);
    aw_error err = {0};
    aw_state_key k = aw_ct_key(ns, "kv", "same"), lk = aw_ct_key(ns, "lock", "same"),
                 dk = aw_ct_key(ns, "dedup", "same");
    assert_int_equal(aw_state_set(sa, &k, "A", 1, 0, NULL, &err), AW_OK);
    aw_state_value v = {0};
    assert_int_equal(aw_state_get(sb, &k, &v, &err), AW_NOT_FOUND);
    assert_int_equal(aw_state_set(sb, &k, "B", 1, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_get(sa, &k, &v, &err), AW_OK);
    assert_memory_equal(v.data, "A", 1);
    assert_int_equal(v.version, 1);
    aw_state_value_clear(&v);
    scan_count ca = {0}, cb = {0};
    assert_int_equal(aw_state_scan(sa, ns, "tenant", "kv", "", count_cb, &ca, &err), AW_OK);
    assert_int_equal(aw_state_scan(sb, ns, "tenant", "kv", "", count_cb, &cb, &err), AW_OK);
    assert_int_equal(ca.n, 1);
    assert_int_equal(cb.n, 1);
    uint64_t ta = 0, tb = 0;
    assert_int_equal(aw_state_lock_acquire(sa, &lk, 60000, &ta, &err), AW_OK);
    assert_int_equal(aw_state_lock_acquire(sb, &lk, 60000, &tb, &err), AW_OK);
    aw_claim c = {.key = dk, .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(sa, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    c = (aw_claim){.key = dk, .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(sb, &c, 1, &err), AW_OK);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    aw_state_session_close(sa);
    aw_state_session_close(sb);
    aw_state_destroy(a);
    aw_state_destroy(b);
}

/* The db in the URL is honoured: db 0 over TCP and db 1 over the socket
 * do not share keys, even with the same prefix. */
static void test_db_isolation(void **state)
{
    (void)state;
    if (!g_unix_url) {
        printf("[   INFO   ] AW_TEST_REDIS_UNIX_URL not set: db isolation not checked\n");
        skip();
    }
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "db-");
    aw_state *t = new_redis(), *u = new_redis_opts(g_unix_url, g_prefix, 0);
    aw_state_session *st = aw_ct_state_session(t), *su = aw_ct_state_session(u);
    aw_error err = {0};
    aw_state_key k = aw_ct_key(ns, "kv", "k");
    aw_state_value v = {0};
    assert_int_equal(aw_state_set(st, &k, "tcp", 3, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_get(su, &k, &v, &err), AW_NOT_FOUND);
    assert_int_equal(aw_state_set(su, &k, "unix", 4, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_get(st, &k, &v, &err), AW_OK);
    assert_memory_equal(v.data, "tcp", 3);
    aw_state_value_clear(&v);
    aw_state_session_close(st);
    aw_state_session_close(su);
    aw_state_destroy(t);
    aw_state_destroy(u);
}

/* ---- round trips ---------------------------------------------------------- */

/* claim_batch, lease_renew_batch and complete_batch of 100 items: one round
 * trip each (the session's own count of write-then-read exchanges), and
 * for claim and complete the server really
 * ran 100 EVALSHA for each (INFO commandstats; at least 100 when another
 * client of the same server runs scripts meanwhile). */
static void test_one_round_trip_per_batch(void **state)
{
    (void)state;
    enum { N = 100 };
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "pipe-");
    aw_state *st = new_redis();
    aw_state_session *ss = aw_ct_state_session(st);
    redisContext *adm = admin_open();
    aw_error err = {0};
    aw_claim *c = calloc(N, sizeof(*c));
    aw_complete *d = calloc(N, sizeof(*d));
    char(*ids)[16] = calloc(N, sizeof(*ids));
    assert_non_null(c);
    assert_non_null(d);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "p%03d", i);
        c[i].key = aw_ct_key(ns, "dedup", ids[i]);
        c[i].lease_ms = 60000;
    }
    aw_redis_stats s0 = stats_of(ss);
    long long e0 = evalsha_calls(adm);
    assert_int_equal(aw_state_claim_batch(ss, c, N, &err), AW_OK);
    aw_redis_stats s1 = stats_of(ss);
    long long e1 = evalsha_calls(adm);
    assert_int_equal(s1.round_trips - s0.round_trips, 1);
    assert_int_equal(s1.commands - s0.commands, N);
    assert_true(e1 - e0 >= N);
    /* lease_renew_batch of the N leases (plus a stale one): one round trip. */
    aw_lease_renewal *r = calloc(N + 1, sizeof(*r));
    assert_non_null(r);
    for (int i = 0; i < N; i++)
        r[i] = (aw_lease_renewal){.key = c[i].key, .token = c[i].token};
    r[N] = (aw_lease_renewal){.key = c[0].key, .token = c[0].token + 1000}; /* not ours */
    aw_redis_stats r0 = stats_of(ss);
    assert_int_equal(aw_state_lease_renew_batch(ss, r, N + 1, 60000, &err), AW_OK);
    aw_redis_stats r1 = stats_of(ss);
    assert_int_equal(r1.round_trips - r0.round_trips, 1);
    /* The repeat of c[0] with another token is not sent: c[0]'s own token
     * was renewed, so no other can hold that lease. */
    assert_int_equal(r1.commands - r0.commands, N);
    for (int i = 0; i < N; i++)
        assert_false(r[i].stale);
    assert_true(r[N].stale);
    free(r);
    aw_redis_stats r2 = stats_of(ss); /* what complete starts from */
    long long er = evalsha_calls(adm);
    for (int i = 0; i < N; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_ACQUIRED);
        d[i] = (aw_complete){.key = c[i].key,
                             .token = c[i].token,
                             .source = {.topic = "t", .partition = 1, .offset = i},
                             .summary = "{}",
                             .window_ms = 60000};
    }
    assert_int_equal(aw_state_complete_batch(ss, d, N, &err), AW_OK);
    aw_redis_stats s2 = stats_of(ss);
    long long e2 = evalsha_calls(adm);
    assert_int_equal(s2.round_trips - r2.round_trips, 1);
    assert_int_equal(s2.commands - r2.commands, N);
    assert_true(e2 - er >= N);
    for (int i = 0; i < N; i++)
        assert_false(d[i].stale);
    printf("[   INFO   ] claim_batch(%d): 1 round trip, %lld EVALSHA on the server; "
           "lease_renew_batch(%d): 1 round trip, %lld EVALSHA; "
           "complete_batch(%d): 1 round trip, %lld EVALSHA\n",
           N, e1 - e0, N + 1, er - e1, N, e2 - er);
    free(ids);
    free(d);
    free(c);
    redisFree(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* ---- numbers, tokens, TTLs ------------------------------------------------ */

/* Counters are exact int64 (Lua numbers are doubles: the scripts keep them
 * as text), overflow is refused without a change, and non-canonical
 * decimals count as the memory backend counts them. */
static void test_counter_exact(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "ctr-");
    aw_state *st = new_redis();
    aw_state_session *ss = aw_ct_state_session(st);
    aw_error err = {0};
    aw_state_key k = aw_ct_key(ns, "kv", "big"), z = aw_ct_key(ns, "kv", "zeros"),
                 neg = aw_ct_key(ns, "kv", "neg");
    int64_t val = 0;
    aw_state_value v = {0};
    assert_int_equal(aw_state_set(ss, &k, "9223372036854775806", 19, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_increment(ss, &k, 1, 0, &val, &err), AW_OK);
    assert_true(val == INT64_MAX);
    assert_int_equal(aw_state_increment(ss, &k, 1, 0, &val, &err), AW_PERMANENT);
    assert_int_equal(aw_state_get(ss, &k, &v, &err), AW_OK);
    assert_string_equal(v.data, "9223372036854775807");
    assert_int_equal(v.version, 2);
    aw_state_value_clear(&v);
    assert_int_equal(aw_state_set(ss, &z, "007", 3, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_increment(ss, &z, 1, 0, &val, &err), AW_OK);
    assert_int_equal(val, 8);
    assert_int_equal(aw_state_set(ss, &neg, "-0", 2, 0, NULL, &err), AW_OK);
    assert_int_equal(aw_state_increment(ss, &neg, -9223372036854775807LL, 0, &val, &err), AW_OK);
    assert_true(val == -INT64_MAX);
    assert_int_equal(aw_state_increment(ss, &neg, -1, 0, &val, &err), AW_OK);
    assert_true(val == INT64_MIN);
    assert_int_equal(aw_state_increment(ss, &neg, -1, 0, &val, &err), AW_PERMANENT);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* Tokens keep growing when the token counter is lost (a restart without
 * persistence, FLUSHDB, eviction) or goes back (a replica promoted before it
 * got the last increments): each token is at least the server clock in
 * microseconds. */
static void test_tokens_survive_counter_loss(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "tok-");
    aw_state *st = new_redis();
    aw_state_session *ss = aw_ct_state_session(st);
    redisContext *adm = admin_open();
    aw_error err = {0};
    aw_state_key lk = aw_ct_key(ns, "lock", "l"), dk = aw_ct_key(ns, "dedup", "d");
    uint64_t t1 = 0, t2 = 0;
    assert_int_equal(aw_state_lock_acquire(ss, &lk, 60000, &t1, &err), AW_OK);
    aw_claim c = {.key = dk, .lease_ms = 60000};
    assert_int_equal(aw_state_claim_batch(ss, &c, 1, &err), AW_OK);
    assert_true(c.token > t1);
    aw_buf key = {0};
    assert_int_equal(aw_buf_puts(&key, g_prefix), 0);
    assert_int_equal(aw_buf_puts(&key, AW_REDIS_TOKENS_SUFFIX), 0);
    /* The counter never expires... */
    assert_int_equal(admin_pttl(adm, &key), -1);
    /* ...but if it is lost anyway: */
    admin_ok(adm, admin(adm, "DEL", key.data, NULL));
    assert_int_equal(aw_state_lock_release(ss, &lk, t1, &err), AW_OK);
    assert_int_equal(aw_state_lock_acquire(ss, &lk, 60000, &t2, &err), AW_OK);
    assert_true(t2 > c.token);
    /* A counter that went back, as on a replica that missed the last
     * writes before its promotion. */
    char older[32];
    snprintf(older, sizeof(older), "%llu", (unsigned long long)(t1 - 1));
    admin_ok(adm, admin(adm, "SET", key.data, older, NULL));
    uint64_t t3 = 0;
    assert_int_equal(aw_state_lock_release(ss, &lk, t2, &err), AW_OK);
    assert_int_equal(aw_state_lock_acquire(ss, &lk, 60000, &t3, &err), AW_OK);
    assert_true(t3 > t2);
    aw_buf_free(&key);
    redisFree(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* Nothing the dedup and lock paths write lives forever: leases, done
 * records and locks carry the server-side TTL they were given (so Redis
 * drops them; no reaper needed); a value set without TTL has none. */
static void test_records_carry_ttls(void **state)
{
    (void)state;
    char ns[48];
    aw_ct_random_hex(ns, sizeof(ns), "ttl-");
    aw_state *st = new_redis();
    aw_state_session *ss = aw_ct_state_session(st);
    redisContext *adm = admin_open();
    aw_error err = {0};
    aw_buf key = {0};
    aw_state_key dk = aw_ct_key(ns, "ignored", "d"), lk = aw_ct_key(ns, "lock", "l"),
                 vk = aw_ct_key(ns, "kv", "v");
    aw_claim c = {.key = dk, .lease_ms = 30000};
    assert_int_equal(aw_state_claim_batch(ss, &c, 1, &err), AW_OK);
    stored_key(&key, AW_REDIS_SPACE_DEDUP, ns, AW_REDIS_DEDUP_KIND, "d");
    long long p = admin_pttl(adm, &key);
    assert_true(p > 0 && p <= 30000);
    aw_complete d = {.key = dk, .token = c.token, .summary = "{}", .window_ms = 90000000};
    assert_int_equal(aw_state_complete_batch(ss, &d, 1, &err), AW_OK);
    assert_false(d.stale);
    p = admin_pttl(adm, &key);
    assert_true(p > 30000 && p <= 90000000);
    uint64_t t = 0;
    assert_int_equal(aw_state_lock_acquire(ss, &lk, 20000, &t, &err), AW_OK);
    stored_key(&key, AW_REDIS_SPACE_LOCK, ns, "lock", "l");
    p = admin_pttl(adm, &key);
    assert_true(p > 0 && p <= 20000);
    assert_int_equal(aw_state_set(ss, &vk, "x", 1, 5000, NULL, &err), AW_OK);
    stored_key(&key, AW_REDIS_SPACE_VALUE, ns, "kv", "v");
    p = admin_pttl(adm, &key);
    assert_true(p > 0 && p <= 5000);
    assert_int_equal(aw_state_set(ss, &vk, "y", 1, 0, NULL, &err), AW_OK);
    assert_int_equal(admin_pttl(adm, &key), -1); /* PERSIST */
    aw_buf_free(&key);
    redisFree(adm);
    aw_state_session_close(ss);
    aw_state_destroy(st);
}

/* The one mapping of Redis error replies to statuses (by first word). */
static void test_error_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *msg;
        aw_status want;
    } cases[] = {
        {"NOAUTH Authentication required.", AW_CONFIG},
        {"WRONGPASS invalid username-password pair", AW_CONFIG},
        {"NOPERM this user has no permissions", AW_CONFIG},
        {"LOADING Redis is loading the dataset in memory", AW_TRANSIENT},
        {"BUSY Redis is busy running a script", AW_TRANSIENT},
        {"MASTERDOWN Link with MASTER is down", AW_TRANSIENT},
        {"READONLY You can't write against a read only replica.", AW_TRANSIENT},
        {"OOM command not allowed when used memory > 'maxmemory'.", AW_TRANSIENT},
        {"MISCONF Redis is configured to save RDB snapshots", AW_TRANSIENT},
        {"TRYAGAIN Multiple keys request during rehashing", AW_TRANSIENT},
        {"CLUSTERDOWN The cluster is down", AW_TRANSIENT},
        {"NOREPLICAS Not enough good replicas to write.", AW_TRANSIENT},
        {"ERR max number of clients reached", AW_TRANSIENT},
        {"WRONGTYPE Operation against a key holding the wrong kind of value", AW_PERMANENT},
        {"NOTANUMBER increment: the stored value is not a decimal integer", AW_PERMANENT},
        {"ERR unknown command", AW_PERMANENT},
        {"LOADINGX not a known word", AW_PERMANENT},
        {"NOSCRIPT No matching script.", AW_INTERNAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_status got = aw_redis_error_status(cases[i].msg, strlen(cases[i].msg));
        if (got != cases[i].want)
            fail_msg("\"%s\" -> %s, want %s", cases[i].msg, aw_status_name(got),
                     aw_status_name(cases[i].want));
    }
}

int main(void)
{
    g_url = aw_ct_server_url("AW_TEST_REDIS_URL");
    if (!g_url)
        return 77;
    g_unix_url = getenv("AW_TEST_REDIS_UNIX_URL");
    if (g_unix_url && !*g_unix_url)
        g_unix_url = NULL;
    aw_ct_run_prefix(g_prefix, sizeof(g_prefix));

    aw_state_options opts = {.url = g_url, .key_prefix = g_prefix};
    aw_state_conformance_options copts = {.cross_process = true};
    int failed = aw_state_conformance_run_with("redis", NULL, &opts, &copts, NULL);
    if (g_unix_url) {
        opts.url = g_unix_url;
        failed += aw_state_conformance_run_with("redis", NULL, &opts, &copts, NULL);
    } else {
        printf("AW_TEST_REDIS_UNIX_URL not set: the suite runs over TCP only\n");
    }

    const struct CMUnitTest specifics[] = {
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_noscript_recovery),
        cmocka_unit_test(test_reconnect_after_kill),
        cmocka_unit_test(test_no_sigpipe_on_closed_connection),
        cmocka_unit_test(test_command_timeout),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_unreachable_server),
        cmocka_unit_test(test_prefix_isolation),
        cmocka_unit_test(test_db_isolation),
        cmocka_unit_test(test_one_round_trip_per_batch),
        cmocka_unit_test(test_counter_exact),
        cmocka_unit_test(test_tokens_survive_counter_loss),
        cmocka_unit_test(test_records_carry_ttls),
    };
    failed += cmocka_run_group_tests_name("state[redis] specifics", specifics, NULL, NULL);
    cleanup_run(g_url);
    if (g_unix_url)
        cleanup_run(g_unix_url);
    return failed ? 1 : 0;
}

#endif
