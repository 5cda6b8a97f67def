/* State backend conformance suite (docs/design.md section 3). See suite_state.h.
 *
 * Timing: TTL tests use short TTLs (CONF_SHORT_TTL_MS) and then wait for a
 * condition (the key is gone, the lock can be taken again) by polling with a
 * bound (CONF_WAIT_MS); nothing sleeps to "let time pass". Where a step only
 * means something if it ran before a short TTL elapsed (renewing a 150 ms
 * lease), the test checks the elapsed time and retries the scenario with
 * fresh keys instead of failing on a slow machine (TSan, loaded CI).
 *
 * Threads: cmocka's assertions longjmp and must only run on the test's own
 * thread, so worker threads record what they saw and the test thread checks
 * it after joining them.
 *
 * Processes: the cross-process group (run only for backends whose state is
 * shared between processes) forks; see its section. */
#include "suite_state.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common/aw_clock.h"

#define CONF_SHORT_TTL_MS 150
#define CONF_LONG_TTL_MS (10 * 60 * 1000)
#define CONF_WAIT_MS 10000        /* bound on every wait for a condition */
#define CONF_POLL_MS 5            /* poll interval inside such a wait */
#define CONF_TIMING_ATTEMPTS 5    /* scenario retries when a short TTL ran out */
#define CONF_TENANT "tenant-1"
#define CONF_KIND "kv"
#define CONF_MAX_HITS 64
#define CONF_MAX_UNSUPPORTED 64

/* ---- fixtures and the run ---------------------------------------------- */

typedef struct conf_fixture conf_fixture;

typedef struct conf_test {
    const char *name;
    void (*fn)(conf_fixture *fx);
    bool needs_atomic; /* relies on AW_STATE_CAP_ATOMIC */
} conf_test;

typedef struct conf_group {
    const char *name;
    const conf_test *tests;
    size_t n;
    bool concurrent; /* its tests race threads or processes */
} conf_group;

/* One test's world: its backend (shared by the group), its own session and
 * namespace, and an error struct for the calls it makes. */
struct conf_fixture {
    const conf_test *test;
    aw_state *st;
    aw_state_session *ss;
    char ns[64];
    aw_error err;
};

/* The run in progress. Only cmocka's thread touches it (see suite_state.h). */
static struct {
    const aw_state_driver *driver;
    aw_state_options opts;
    aw_state_conformance_options copts;
    aw_state *st;      /* the current group's backend */
    const conf_group *group; /* the group running */
    int unsupported;
    const char *unsupported_names[CONF_MAX_UNSUPPORTED]; /* for the summary line */
} g_run;

#define assert_status(fx, call, want)                                                       \
    do {                                                                                    \
        aw_status rc_ = (call);                                                             \
        if (rc_ != (want))                                                                  \
            fail_msg("%s -> %s, want %s (%s)", #call, aw_status_name(rc_),                  \
                     aw_status_name(want), (fx)->err.msg);                                  \
    } while (0)

#define assert_ok(fx, call) assert_status(fx, call, AW_OK)

static void conf_random_hex(char *out, size_t outsz, const char *label)
{
    static atomic_uint_fast64_t fallback;
    uint64_t r[2];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        r[0] = (uint64_t)aw_time_now_ms();
        r[1] = atomic_fetch_add(&fallback, 1) ^ (uint64_t)(uintptr_t)out;
    }
    snprintf(out, outsz, "%s-%016" PRIx64 "%016" PRIx64, label, r[0], r[1]);
}

static aw_state_key conf_key_in(const conf_fixture *fx, const char *kind, const char *id)
{
    return (aw_state_key){.ns = fx->ns, .tenant = CONF_TENANT, .kind = kind, .id = id};
}

static aw_state_key conf_key(const conf_fixture *fx, const char *id)
{
    return conf_key_in(fx, CONF_KIND, id);
}

static bool conf_late(int64_t t0, int64_t ttl_ms) { return aw_mono_now_ms() - t0 >= ttl_ms; }

/* Poll pred until it holds or CONF_WAIT_MS passed. The pause between polls
 * paces the loop; the condition, not the pause, is what the test waits for. */
static bool conf_wait_for(conf_fixture *fx, bool (*pred)(conf_fixture *, void *), void *arg)
{
    int64_t deadline = aw_mono_now_ms() + CONF_WAIT_MS;
    for (;;) {
        if (pred(fx, arg))
            return true;
        if (aw_mono_now_ms() >= deadline)
            return false;
        aw_sleep_ms(CONF_POLL_MS);
    }
}

static bool conf_pred_absent(conf_fixture *fx, void *arg)
{
    aw_state_value v = {0};
    aw_status rc = aw_state_get(fx->ss, arg, &v, &fx->err);
    aw_state_value_clear(&v);
    if (rc != AW_OK && rc != AW_NOT_FOUND)
        fail_msg("get while waiting: %s (%s)", aw_status_name(rc), fx->err.msg);
    return rc == AW_NOT_FOUND;
}

static void conf_wait_absent(conf_fixture *fx, const aw_state_key *k)
{
    if (!conf_wait_for(fx, conf_pred_absent, (void *)k))
        fail_msg("key \"%s\" still present %d ms later", k->id, CONF_WAIT_MS);
}

/* Wait until every key written before this call with a TTL of ttl_ms has
 * expired, without reading those keys: a read may purge an expired key, and
 * the operation under test must treat an expired key nobody has read yet as
 * absent. A marker written now with the same TTL expires last (one clock per
 * backend), so its absence is the proof. */
static void conf_wait_past(conf_fixture *fx, int64_t ttl_ms)
{
    char id[64];
    conf_random_hex(id, sizeof(id), "marker");
    aw_state_key marker = conf_key_in(fx, "marker", id);
    assert_ok(fx, aw_state_set(fx->ss, &marker, "m", 1, ttl_ms, NULL, &fx->err));
    conf_wait_absent(fx, &marker);
}

typedef struct conf_lock_try {
    aw_state_key key;
    int64_t ttl_ms;
    uint64_t token;
} conf_lock_try;

static bool conf_pred_lock(conf_fixture *fx, void *arg)
{
    conf_lock_try *t = arg;
    aw_status rc = aw_state_lock_acquire(fx->ss, &t->key, t->ttl_ms, &t->token, &fx->err);
    if (rc != AW_OK && rc != AW_CONFLICT)
        fail_msg("lock_acquire while waiting: %s (%s)", aw_status_name(rc), fx->err.msg);
    return rc == AW_OK;
}

/* Wait until the lock can be taken again; returns the new token. */
static uint64_t conf_wait_lock(conf_fixture *fx, const aw_state_key *k, int64_t ttl_ms)
{
    conf_lock_try t = {.key = *k, .ttl_ms = ttl_ms};
    if (!conf_wait_for(fx, conf_pred_lock, &t))
        fail_msg("lock \"%s\" still held %d ms later", k->id, CONF_WAIT_MS);
    return t.token;
}

/* Claim one identity; the caller clears c. */
static void conf_claim1(conf_fixture *fx, const aw_state_key *k, int64_t lease_ms, aw_claim *c)
{
    memset(c, 0, sizeof(*c));
    c->key = *k;
    c->lease_ms = lease_ms;
    assert_ok(fx, aw_state_claim_batch(fx->ss, c, 1, &fx->err));
}

static bool conf_pred_claim(conf_fixture *fx, void *arg)
{
    conf_lock_try *t = arg;
    aw_claim c;
    conf_claim1(fx, &t->key, t->ttl_ms, &c);
    bool got = c.result == AW_CLAIM_ACQUIRED;
    t->token = c.token;
    aw_claim_clear(&c);
    return got;
}

/* Wait until the identity can be claimed again; returns the new token. */
static uint64_t conf_wait_claim(conf_fixture *fx, const aw_state_key *k, int64_t lease_ms)
{
    conf_lock_try t = {.key = *k, .ttl_ms = lease_ms};
    if (!conf_wait_for(fx, conf_pred_claim, &t))
        fail_msg("identity \"%s\" not claimable %d ms later", k->id, CONF_WAIT_MS);
    return t.token;
}

/* Complete one identity; returns item.stale. */
static bool conf_complete1(conf_fixture *fx, const aw_state_key *k, uint64_t token,
                           const char *summary, int64_t window_ms)
{
    aw_complete c = {.key = *k,
                     .token = token,
                     .source = {.topic = "actions", .partition = 3, .offset = 42},
                     .summary = summary,
                     .window_ms = window_ms};
    assert_ok(fx, aw_state_complete_batch(fx->ss, &c, 1, &fx->err));
    return c.stale;
}

static void conf_set(conf_fixture *fx, const aw_state_key *k, const char *val, int64_t ttl_ms,
                     uint64_t *version)
{
    assert_ok(fx, aw_state_set(fx->ss, k, val, strlen(val), ttl_ms, version, &fx->err));
}

/* Get a key that must exist and compare its text and (if non-zero) version. */
static void conf_expect(conf_fixture *fx, const aw_state_key *k, const char *val,
                        uint64_t version)
{
    aw_state_value v = {0};
    assert_ok(fx, aw_state_get(fx->ss, k, &v, &fx->err));
    assert_int_equal(v.len, strlen(val));
    assert_memory_equal(v.data, val, v.len);
    if (version)
        assert_int_equal(v.version, version);
    aw_state_value_clear(&v);
}

static void conf_expect_absent(conf_fixture *fx, const aw_state_key *k)
{
    aw_state_value v = {0};
    assert_status(fx, aw_state_get(fx->ss, k, &v, &fx->err), AW_NOT_FOUND);
    assert_null(v.data);
}

/* ---- key/value ----------------------------------------------------------- */

static void test_kv_missing(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "never-written");
    bool existed = true;
    uint64_t cur = 99;
    conf_expect_absent(fx, &k);
    assert_ok(fx, aw_state_delete(fx->ss, &k, &existed, &fx->err));
    assert_false(existed);
    /* A failed CAS on a missing key must not create it. */
    assert_status(fx, aw_state_compare_and_swap(fx->ss, &k, 5, "x", 1, 0, &cur, &fx->err),
                  AW_CONFLICT);
    assert_int_equal(cur, 0);
    conf_expect_absent(fx, &k);
}

static void test_kv_versions(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "versioned");
    uint64_t v = 0;
    conf_set(fx, &k, "one", 0, &v);
    assert_int_equal(v, 1);
    conf_expect(fx, &k, "one", 1);
    conf_set(fx, &k, "two", 0, &v);
    assert_int_equal(v, 2);
    conf_set(fx, &k, "three", 0, NULL);
    conf_expect(fx, &k, "three", 3);
}

static void test_kv_check_and_set(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "cas-once");
    bool written = false;
    assert_ok(fx, aw_state_check_and_set(fx->ss, &k, "first", 5, 0, &written, &fx->err));
    assert_true(written);
    conf_expect(fx, &k, "first", 1);
    assert_ok(fx, aw_state_check_and_set(fx->ss, &k, "second", 6, 0, &written, &fx->err));
    assert_false(written);
    conf_expect(fx, &k, "first", 1);
}

static void test_kv_delete(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "deleted");
    bool existed = false;
    uint64_t v = 0;
    conf_set(fx, &k, "a", 0, NULL);
    conf_set(fx, &k, "b", 0, NULL);
    assert_ok(fx, aw_state_delete(fx->ss, &k, &existed, &fx->err));
    assert_true(existed);
    conf_expect_absent(fx, &k);
    assert_ok(fx, aw_state_delete(fx->ss, &k, &existed, &fx->err));
    assert_false(existed);
    /* Written again after a delete it is a new key: version 1. */
    conf_set(fx, &k, "c", 0, &v);
    assert_int_equal(v, 1);
}

static void test_kv_binary_values(conf_fixture *fx)
{
    static const char bin[] = {'a', '\0', 'b', '\0', '\0', (char)0xff, (char)0x80, '\n', '\0'};
    aw_state_key k = conf_key(fx, "binary"), k2 = conf_key(fx, "binary-cas"),
                 k3 = conf_key(fx, "empty");
    aw_state_value v = {0};
    bool written = false;
    assert_ok(fx, aw_state_set(fx->ss, &k, bin, sizeof(bin), 0, NULL, &fx->err));
    assert_ok(fx, aw_state_get(fx->ss, &k, &v, &fx->err));
    assert_int_equal(v.len, sizeof(bin));
    assert_memory_equal(v.data, bin, sizeof(bin));
    assert_int_equal(v.data[v.len], '\0'); /* NUL-terminated for convenience */
    aw_state_value_clear(&v);

    assert_ok(fx, aw_state_check_and_set(fx->ss, &k2, bin, sizeof(bin), 0, &written, &fx->err));
    assert_true(written);
    assert_ok(fx, aw_state_get(fx->ss, &k2, &v, &fx->err));
    assert_int_equal(v.len, sizeof(bin));
    assert_memory_equal(v.data, bin, sizeof(bin));
    aw_state_value_clear(&v);

    assert_ok(fx, aw_state_set(fx->ss, &k3, "", 0, 0, NULL, &fx->err));
    assert_ok(fx, aw_state_get(fx->ss, &k3, &v, &fx->err));
    assert_int_equal(v.len, 0);
    assert_non_null(v.data);
    aw_state_value_clear(&v);
}

/* Length-prefixed key parts: no separator inside a part can alias another
 * (namespace, tenant, kind, id) tuple. */
static void test_kv_no_key_collisions(conf_fixture *fx)
{
    char ns_a[96], ns_ab[96];
    snprintf(ns_a, sizeof(ns_a), "%s.a", fx->ns);
    snprintf(ns_ab, sizeof(ns_ab), "%s.a:b", fx->ns);
    aw_state_key pairs[][2] = {
        {{ns_a, "b:c", CONF_KIND, "x"}, {ns_ab, "c", CONF_KIND, "x"}},
        {{ns_a, "t", "k:x", "y"}, {ns_a, "t", "k", "x:y"}},
        {{ns_a, "t:k", "x", "y"}, {ns_a, "t", "k:x", "y"}},
        {{ns_a, "1:t", "k", "y"}, {ns_a, "1", "t:k", "y"}},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        bool existed = false;
        conf_set(fx, &pairs[i][0], "left", 0, NULL);
        conf_set(fx, &pairs[i][1], "right", 0, NULL);
        conf_expect(fx, &pairs[i][0], "left", 1);
        conf_expect(fx, &pairs[i][1], "right", 1);
        assert_ok(fx, aw_state_delete(fx->ss, &pairs[i][0], &existed, &fx->err));
        assert_true(existed);
        conf_expect(fx, &pairs[i][1], "right", 1);
    }
}

/* ---- TTL ---------------------------------------------------------------- */

/* A key just written with a short TTL must be live, unless this thread was
 * descheduled for longer than the TTL (then absent is the right answer). */
static void conf_expect_live_or_late(conf_fixture *fx, const aw_state_key *k, const char *val,
                                     int64_t t0)
{
    aw_state_value v = {0};
    aw_status rc = aw_state_get(fx->ss, k, &v, &fx->err);
    if (rc == AW_NOT_FOUND) {
        assert_true(conf_late(t0, CONF_SHORT_TTL_MS));
        return;
    }
    assert_ok(fx, rc);
    assert_int_equal(v.len, strlen(val));
    assert_memory_equal(v.data, val, v.len);
    aw_state_value_clear(&v);
}

static void test_ttl_expiry(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "short-lived"), keep = conf_key(fx, "long-lived"),
                 unread = conf_key(fx, "unread");
    bool existed = true;
    conf_set(fx, &keep, "stays", CONF_LONG_TTL_MS, NULL);
    int64_t t0 = aw_mono_now_ms();
    conf_set(fx, &k, "soon gone", CONF_SHORT_TTL_MS, NULL);
    conf_set(fx, &unread, "soon gone", CONF_SHORT_TTL_MS, NULL);
    conf_expect_live_or_late(fx, &k, "soon gone", t0);
    conf_wait_absent(fx, &k);
    conf_wait_past(fx, CONF_SHORT_TTL_MS);
    /* Expired counts as absent for delete too ("true iff a live key"). */
    assert_ok(fx, aw_state_delete(fx->ss, &unread, &existed, &fx->err));
    assert_false(existed);
    conf_expect(fx, &keep, "stays", 1);
}

static void test_ttl_set_without_ttl_clears_expiry(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "made-permanent");
    uint64_t v = 0;
    int64_t t0 = aw_mono_now_ms();
    conf_set(fx, &k, "expiring", CONF_SHORT_TTL_MS, NULL);
    conf_set(fx, &k, "permanent", 0, &v);
    /* 2 = an update of the live key; 1 only if the first write had already
     * expired (slow machine), which makes this run prove less but not fail. */
    assert_true(v == 2 || (v == 1 && conf_late(t0, CONF_SHORT_TTL_MS)));
    conf_wait_past(fx, CONF_SHORT_TTL_MS); /* k's old deadline is over */
    conf_expect(fx, &k, "permanent", v);
}

static void test_ttl_check_and_set_after_expiry(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "cas-expired");
    bool written = false;
    assert_ok(fx, aw_state_check_and_set(fx->ss, &k, "old", 3, CONF_SHORT_TTL_MS, &written,
                                         &fx->err));
    assert_true(written);
    conf_wait_past(fx, CONF_SHORT_TTL_MS);
    assert_ok(fx, aw_state_check_and_set(fx->ss, &k, "new", 3, 0, &written, &fx->err));
    assert_true(written);
    /* An expired key behaves as absent: the rewrite is an insert. */
    conf_expect(fx, &k, "new", 1);
}

/* ---- counters ----------------------------------------------------------- */

static void test_counter_basics(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "counter");
    int64_t val = 0;
    assert_ok(fx, aw_state_increment(fx->ss, &k, 5, 0, &val, &fx->err));
    assert_int_equal(val, 5);
    assert_ok(fx, aw_state_increment(fx->ss, &k, -7, 0, &val, &fx->err));
    assert_int_equal(val, -2);
    assert_ok(fx, aw_state_increment(fx->ss, &k, 0, 0, &val, &fx->err));
    assert_int_equal(val, -2);
    /* One representation: get returns the decimal text; every increment is
     * a write (versions 1, 2, 3). */
    conf_expect(fx, &k, "-2", 3);
}

static void test_counter_reads_set_value(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "counter-set"), bad = conf_key(fx, "not-a-number");
    int64_t val = 0;
    conf_set(fx, &k, "41", 0, NULL);
    assert_ok(fx, aw_state_increment(fx->ss, &k, 1, 0, &val, &fx->err));
    assert_int_equal(val, 42);
    conf_expect(fx, &k, "42", 2);
    /* Not a number: a permanent error, and nothing changes. */
    conf_set(fx, &bad, "forty", 0, NULL);
    assert_status(fx, aw_state_increment(fx->ss, &bad, 1, 0, &val, &fx->err), AW_PERMANENT);
    conf_expect(fx, &bad, "forty", 1);
}

static void test_counter_ttl_on_create_only(conf_fixture *fx)
{
    for (int attempt = 0;; attempt++) {
        assert_true(attempt < CONF_TIMING_ATTEMPTS);
        char id[32];
        snprintf(id, sizeof(id), "counter-ttl-%d", attempt);
        aw_state_key k = conf_key(fx, id);
        int64_t val = 0;
        int64_t t0 = aw_mono_now_ms();
        assert_ok(fx, aw_state_increment(fx->ss, &k, 1, CONF_SHORT_TTL_MS, &val, &fx->err));
        assert_int_equal(val, 1);
        /* A later TTL does not move the deadline of an existing counter. */
        assert_ok(fx, aw_state_increment(fx->ss, &k, 1, CONF_LONG_TTL_MS, &val, &fx->err));
        if (val == 1 && conf_late(t0, CONF_SHORT_TTL_MS))
            continue; /* expired in between: recreated with the long TTL; retry */
        assert_int_equal(val, 2);
        conf_wait_past(fx, CONF_SHORT_TTL_MS);
        /* After expiry it counts from 0 again (12 would mean the second
         * increment moved the deadline). */
        assert_ok(fx, aw_state_increment(fx->ss, &k, 10, 0, &val, &fx->err));
        assert_int_equal(val, 10);
        return;
    }
}

/* ---- compare-and-swap ----------------------------------------------------- */

static void test_cas_expected_zero(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "cas-create");
    uint64_t cur = 0;
    assert_ok(fx, aw_state_compare_and_swap(fx->ss, &k, 0, "a", 1, 0, &cur, &fx->err));
    conf_expect(fx, &k, "a", 1);
    assert_status(fx, aw_state_compare_and_swap(fx->ss, &k, 0, "b", 1, 0, &cur, &fx->err),
                  AW_CONFLICT);
    assert_int_equal(cur, 1);
    conf_expect(fx, &k, "a", 1);
}

static void test_cas_versions(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "cas-update");
    uint64_t cur = 0;
    conf_set(fx, &k, "v1", 0, NULL);
    assert_ok(fx, aw_state_compare_and_swap(fx->ss, &k, 1, "v2", 2, 0, &cur, &fx->err));
    conf_expect(fx, &k, "v2", 2);
    /* A second writer holding the old version loses and learns the current. */
    assert_status(fx, aw_state_compare_and_swap(fx->ss, &k, 1, "lost", 4, 0, &cur, &fx->err),
                  AW_CONFLICT);
    assert_int_equal(cur, 2);
    assert_status(fx, aw_state_compare_and_swap(fx->ss, &k, 7, "lost", 4, 0, &cur, &fx->err),
                  AW_CONFLICT);
    assert_int_equal(cur, 2);
    conf_expect(fx, &k, "v2", 2);
    assert_ok(fx, aw_state_compare_and_swap(fx->ss, &k, 2, "v3", 2, 0, &cur, &fx->err));
    conf_expect(fx, &k, "v3", 3);
}

static void test_cas_after_expiry(conf_fixture *fx)
{
    aw_state_key k = conf_key(fx, "cas-expiry");
    uint64_t cur = 0;
    conf_set(fx, &k, "old", CONF_SHORT_TTL_MS, NULL);
    conf_wait_past(fx, CONF_SHORT_TTL_MS);
    /* Expired = absent: version 1 no longer matches, 0 does. */
    assert_status(fx, aw_state_compare_and_swap(fx->ss, &k, 1, "x", 1, 0, &cur, &fx->err),
                  AW_CONFLICT);
    assert_int_equal(cur, 0);
    assert_ok(fx, aw_state_compare_and_swap(fx->ss, &k, 0, "new", 3, 0, &cur, &fx->err));
    conf_expect(fx, &k, "new", 1);
}

/* ---- scan ----------------------------------------------------------------- */

typedef struct conf_hit {
    char *id;
    char *val;
    size_t len;
} conf_hit;

typedef struct conf_scan_result {
    conf_hit hits[CONF_MAX_HITS];
    size_t n;
    size_t calls;
    size_t stop_after; /* 0 = never stop */
    bool overflow;
} conf_scan_result;

static int conf_scan_cb(void *ud, const char *id, const char *value, size_t len)
{
    conf_scan_result *r = ud;
    r->calls++;
    if (r->n == CONF_MAX_HITS) {
        r->overflow = true;
        return 1;
    }
    conf_hit *h = &r->hits[r->n++];
    h->id = strdup(id);
    h->val = malloc(len + 1);
    if (h->val) {
        memcpy(h->val, value, len);
        h->val[len] = '\0';
    }
    h->len = len;
    return r->stop_after && r->calls >= r->stop_after;
}

static int conf_hit_cmp(const void *a, const void *b)
{
    return strcmp(((const conf_hit *)a)->id, ((const conf_hit *)b)->id);
}

static void conf_scan_free(conf_scan_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->hits[i].id);
        free(r->hits[i].val);
    }
    memset(r, 0, sizeof(*r));
}

/* Scan and return the ids found, sorted and joined with '|' (order is not
 * part of the contract). */
static void conf_scan_ids(conf_fixture *fx, const char *ns, const char *tenant, const char *kind,
                          const char *prefix, char *out, size_t outsz, conf_scan_result *r)
{
    memset(r, 0, sizeof(*r));
    assert_ok(fx, aw_state_scan(fx->ss, ns, tenant, kind, prefix, conf_scan_cb, r, &fx->err));
    assert_false(r->overflow);
    qsort(r->hits, r->n, sizeof(r->hits[0]), conf_hit_cmp);
    out[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        assert_non_null(r->hits[i].id);
        assert_non_null(r->hits[i].val);
        if (i)
            strncat(out, "|", outsz - strlen(out) - 1);
        strncat(out, r->hits[i].id, outsz - strlen(out) - 1);
    }
}

static void conf_expect_scan(conf_fixture *fx, const char *prefix, const char *want)
{
    char got[512];
    conf_scan_result r;
    conf_scan_ids(fx, fx->ns, CONF_TENANT, CONF_KIND, prefix, got, sizeof(got), &r);
    /* The value of each hit is "v:" + its id (see test_scan_literal_prefix). */
    for (size_t i = 0; i < r.n; i++) {
        char v[128];
        snprintf(v, sizeof(v), "v:%s", r.hits[i].id);
        assert_string_equal(r.hits[i].val, v);
    }
    conf_scan_free(&r);
    if (strcmp(got, want) != 0)
        fail_msg("scan prefix \"%s\": got {%s}, want {%s}", prefix, got, want);
}

static void test_scan_literal_prefix(conf_fixture *fx)
{
    static const char *const ids[] = {
        "50%_off", "50%x", "50abc", "5", "a_b", "axb", "a_", "*star",
        "xstar",   "p:q",  "p:qr",  "pq", "[ab]", "a", "back\\slash", "back\\x",
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char v[128];
        snprintf(v, sizeof(v), "v:%s", ids[i]);
        aw_state_key k = conf_key(fx, ids[i]);
        conf_set(fx, &k, v, 0, NULL);
    }
    /* SQL LIKE would let % and _ match anything, a glob * and [..]: none may. */
    conf_expect_scan(fx, "50%", "50%_off|50%x");
    conf_expect_scan(fx, "50%_", "50%_off");
    conf_expect_scan(fx, "a_", "a_|a_b");
    conf_expect_scan(fx, "*", "*star");
    conf_expect_scan(fx, "[a", "[ab]");
    conf_expect_scan(fx, "p:", "p:q|p:qr");
    conf_expect_scan(fx, "p:q", "p:q|p:qr");
    conf_expect_scan(fx, "back\\s", "back\\slash");
    conf_expect_scan(fx, "nothing", "");
    conf_expect_scan(fx, "",
                     "*star|5|50%_off|50%x|50abc|[ab]|a|a_|a_b|axb|back\\slash|back\\x|p:q|p:qr|"
                     "pq|xstar");
}

static void test_scan_isolation(conf_fixture *fx)
{
    char ns_a[96], ns_ab[96], got[512];
    conf_scan_result r;
    snprintf(ns_a, sizeof(ns_a), "%s.a", fx->ns);
    snprintf(ns_ab, sizeof(ns_ab), "%s.a:b", fx->ns);
    aw_state_key keys[] = {
        {ns_a, "b:c", "k", "id-1"},  /* the one scanned */
        {ns_a, "b:c", "k", "id-2"},
        {ns_ab, "c", "k", "id-3"},   /* naive "a:b:c:k" collision */
        {ns_a, "b:c", "k2", "id-4"}, /* other kind */
        {ns_a, "b:c", "", "kid-5"},  /* kind "" + id "k..." */
        {ns_a, "b", "c:k", "id-6"},  /* tenant/kind split elsewhere */
        {ns_a, "b:c:k", "x", "id-7"},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        conf_set(fx, &keys[i], "v", 0, NULL);
    conf_scan_ids(fx, ns_a, "b:c", "k", "", got, sizeof(got), &r);
    conf_scan_free(&r);
    assert_string_equal(got, "id-1|id-2");
    conf_scan_ids(fx, ns_ab, "c", "k", "id", got, sizeof(got), &r);
    conf_scan_free(&r);
    assert_string_equal(got, "id-3");
    conf_scan_ids(fx, ns_a, "b:c", "", "", got, sizeof(got), &r);
    conf_scan_free(&r);
    assert_string_equal(got, "kid-5");
}

static void test_scan_skips_expired(conf_fixture *fx)
{
    aw_state_key gone = conf_key(fx, "item-gone"), kept = conf_key(fx, "item-kept");
    conf_set(fx, &kept, "v:item-kept", 0, NULL);
    conf_set(fx, &gone, "v:item-gone", CONF_SHORT_TTL_MS, NULL);
    conf_wait_past(fx, CONF_SHORT_TTL_MS); /* gone expired, never read */
    conf_expect_scan(fx, "item-", "item-kept");
}

static void test_scan_values_and_stop(conf_fixture *fx)
{
    static const char bin[] = {'x', '\0', 'y'};
    conf_scan_result r = {0};
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "stop-%d", i);
        aw_state_key k = conf_key(fx, id);
        assert_ok(fx, aw_state_set(fx->ss, &k, bin, sizeof(bin), 0, NULL, &fx->err));
    }
    r.stop_after = 2;
    assert_ok(fx, aw_state_scan(fx->ss, fx->ns, CONF_TENANT, CONF_KIND, "stop-", conf_scan_cb, &r,
                                &fx->err));
    /* A non-zero return stops the scan; values come back with their length. */
    assert_int_equal(r.calls, 2);
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(r.hits[i].len, sizeof(bin));
        assert_memory_equal(r.hits[i].val, bin, sizeof(bin));
    }
    conf_scan_free(&r);
}

/* ---- locks ---------------------------------------------------------------- */

static void test_lock_exclusion(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "lock", "exclusive"), other = conf_key_in(fx, "lock", "other");
    uint64_t t1 = 0, t2 = 0, t3 = 0;
    assert_ok(fx, aw_state_lock_acquire(fx->ss, &k, CONF_LONG_TTL_MS, &t1, &fx->err));
    assert_true(t1 > 0);
    assert_status(fx, aw_state_lock_acquire(fx->ss, &k, CONF_LONG_TTL_MS, &t2, &fx->err),
                  AW_CONFLICT);
    /* Other names are independent. */
    assert_ok(fx, aw_state_lock_acquire(fx->ss, &other, CONF_LONG_TTL_MS, &t3, &fx->err));
    assert_ok(fx, aw_state_lock_release(fx->ss, &k, t1, &fx->err));
    assert_ok(fx, aw_state_lock_acquire(fx->ss, &k, CONF_LONG_TTL_MS, &t2, &fx->err));
    assert_true(t2 > t1);
    assert_ok(fx, aw_state_lock_release(fx->ss, &k, t2, &fx->err));
    assert_ok(fx, aw_state_lock_release(fx->ss, &other, t3, &fx->err));
}

static void test_lock_non_holder(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "lock", "guarded"), never = conf_key_in(fx, "lock", "never");
    uint64_t t = 0, t2 = 0;
    assert_status(fx, aw_state_lock_extend(fx->ss, &never, 1, CONF_LONG_TTL_MS, &fx->err),
                  AW_CONFLICT);
    assert_status(fx, aw_state_lock_release(fx->ss, &never, 1, &fx->err), AW_CONFLICT);
    assert_ok(fx, aw_state_lock_acquire(fx->ss, &k, CONF_LONG_TTL_MS, &t, &fx->err));
    assert_status(fx, aw_state_lock_extend(fx->ss, &k, t + 1000, CONF_LONG_TTL_MS, &fx->err),
                  AW_CONFLICT);
    assert_status(fx, aw_state_lock_release(fx->ss, &k, t + 1000, &fx->err), AW_CONFLICT);
    /* Refused calls changed nothing: still held by t. */
    assert_status(fx, aw_state_lock_acquire(fx->ss, &k, CONF_LONG_TTL_MS, &t2, &fx->err),
                  AW_CONFLICT);
    assert_ok(fx, aw_state_lock_extend(fx->ss, &k, t, CONF_LONG_TTL_MS, &fx->err));
    assert_ok(fx, aw_state_lock_release(fx->ss, &k, t, &fx->err));
    /* Released: the old holder can neither release nor extend again. */
    assert_status(fx, aw_state_lock_release(fx->ss, &k, t, &fx->err), AW_CONFLICT);
    assert_status(fx, aw_state_lock_extend(fx->ss, &k, t, CONF_LONG_TTL_MS, &fx->err),
                  AW_CONFLICT);
}

static void test_lock_expiry(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "lock", "expiring");
    uint64_t t1 = 0, t3 = 0;
    assert_ok(fx, aw_state_lock_acquire(fx->ss, &k, CONF_SHORT_TTL_MS, &t1, &fx->err));
    uint64_t t2 = conf_wait_lock(fx, &k, CONF_LONG_TTL_MS);
    assert_true(t2 > t1);
    /* The expired holder is a non-holder now. */
    assert_status(fx, aw_state_lock_extend(fx->ss, &k, t1, CONF_LONG_TTL_MS, &fx->err),
                  AW_CONFLICT);
    assert_status(fx, aw_state_lock_release(fx->ss, &k, t1, &fx->err), AW_CONFLICT);
    assert_status(fx, aw_state_lock_acquire(fx->ss, &k, CONF_LONG_TTL_MS, &t3, &fx->err),
                  AW_CONFLICT);
    assert_ok(fx, aw_state_lock_release(fx->ss, &k, t2, &fx->err));
}

static void test_lock_extend(conf_fixture *fx)
{
    for (int attempt = 0;; attempt++) {
        assert_true(attempt < CONF_TIMING_ATTEMPTS);
        char id[32], mid[32];
        snprintf(id, sizeof(id), "extended-%d", attempt);
        snprintf(mid, sizeof(mid), "marker-%d", attempt);
        aw_state_key k = conf_key_in(fx, "lock", id), marker = conf_key_in(fx, "lock", mid);
        uint64_t t = 0, tm = 0, t2 = 0;
        int64_t t0 = aw_mono_now_ms();
        assert_ok(fx, aw_state_lock_acquire(fx->ss, &k, CONF_SHORT_TTL_MS, &t, &fx->err));
        assert_ok(fx, aw_state_lock_acquire(fx->ss, &marker, CONF_SHORT_TTL_MS, &tm, &fx->err));
        aw_status rc = aw_state_lock_extend(fx->ss, &k, t, CONF_LONG_TTL_MS, &fx->err);
        if (rc == AW_CONFLICT && conf_late(t0, CONF_SHORT_TTL_MS))
            continue; /* the lease ran out before the extend: retry */
        assert_ok(fx, rc);
        /* The marker taken after k with the same TTL expiring proves k's
         * original deadline passed; the extended lock is still held. */
        uint64_t tm2 = conf_wait_lock(fx, &marker, CONF_LONG_TTL_MS);
        assert_true(tm2 > tm);
        assert_status(fx, aw_state_lock_acquire(fx->ss, &k, CONF_LONG_TTL_MS, &t2, &fx->err),
                      AW_CONFLICT);
        assert_ok(fx, aw_state_lock_release(fx->ss, &k, t, &fx->err));
        return;
    }
}

static void test_lock_tokens_increase(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "lock", "monotonic");
    uint64_t last = 0, t = 0;
    for (int i = 0; i < 20; i++) {
        assert_ok(fx, aw_state_lock_acquire(fx->ss, &k, CONF_LONG_TTL_MS, &t, &fx->err));
        assert_true(t > last);
        last = t;
        assert_ok(fx, aw_state_lock_release(fx->ss, &k, t, &fx->err));
    }
    /* Across expiry (the backend may forget the lock row): still increasing. */
    for (int i = 0; i < 3; i++) {
        assert_ok(fx, aw_state_lock_acquire(fx->ss, &k, CONF_SHORT_TTL_MS, &t, &fx->err));
        assert_true(t > last);
        last = t;
        t = conf_wait_lock(fx, &k, CONF_SHORT_TTL_MS);
        assert_true(t > last);
        last = t;
        t = conf_wait_lock(fx, &k, CONF_LONG_TTL_MS);
        assert_true(t > last);
        last = t;
        assert_ok(fx, aw_state_lock_release(fx->ss, &k, t, &fx->err));
    }
}

/* ---- two-phase dedup ------------------------------------------------------- */

static void test_claim_fresh_and_busy(conf_fixture *fx)
{
    aw_claim c[3];
    const char *ids[3] = {"order-1", "order-2", "order:3"};
    memset(c, 0, sizeof(c));
    for (int i = 0; i < 3; i++) {
        c[i].key = conf_key_in(fx, "dedup", ids[i]);
        c[i].lease_ms = CONF_LONG_TTL_MS;
    }
    assert_ok(fx, aw_state_claim_batch(fx->ss, c, 3, &fx->err));
    uint64_t tokens[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_ACQUIRED);
        assert_true(c[i].token > 0);
        tokens[i] = c[i].token;
        aw_claim_clear(&c[i]);
    }
    /* Claimed again while the leases live: BUSY, with holder and wait. */
    assert_ok(fx, aw_state_claim_batch(fx->ss, c, 3, &fx->err));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_BUSY);
        assert_int_equal(c[i].token, tokens[i]);
        assert_true(c[i].retry_after_ms > 0 && c[i].retry_after_ms <= CONF_LONG_TTL_MS);
        aw_claim_clear(&c[i]);
    }
}

static void test_claim_complete_done(conf_fixture *fx)
{
    aw_claim c[3];
    aw_complete done[3];
    char ids[3][16], summaries[3][64];
    memset(c, 0, sizeof(c));
    memset(done, 0, sizeof(done));
    for (int i = 0; i < 3; i++) {
        snprintf(ids[i], sizeof(ids[i]), "pay-%d", i);
        c[i].key = conf_key_in(fx, "dedup", ids[i]);
        c[i].lease_ms = CONF_LONG_TTL_MS;
        snprintf(summaries[i], sizeof(summaries[i]), "{\"outcome\":\"executed\",\"n\":%d}", i);
    }
    assert_ok(fx, aw_state_claim_batch(fx->ss, c, 3, &fx->err));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_ACQUIRED);
        done[i] = (aw_complete){.key = c[i].key,
                                .token = c[i].token,
                                .source = {.topic = "orders", .partition = i, .offset = 100 + i},
                                .summary = summaries[i],
                                .window_ms = CONF_LONG_TTL_MS};
    }
    assert_ok(fx, aw_state_complete_batch(fx->ss, done, 3, &fx->err));
    for (int i = 0; i < 3; i++)
        assert_false(done[i].stale);
    assert_ok(fx, aw_state_claim_batch(fx->ss, c, 3, &fx->err));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].result, AW_CLAIM_DONE);
        assert_string_equal(c[i].done_summary, summaries[i]);
        assert_string_equal(c[i].done_topic, "orders");
        assert_int_equal(c[i].done_partition, i);
        assert_int_equal(c[i].done_offset, 100 + i);
        assert_int_equal(c[i].done_token, done[i].token);
        aw_claim_clear(&c[i]);
    }
}

static void test_claim_mixed_batch(conf_fixture *fx)
{
    aw_state_key kd = conf_key_in(fx, "dedup", "m-done"), kb = conf_key_in(fx, "dedup", "m-busy"),
                 kn = conf_key_in(fx, "dedup", "m-new");
    aw_claim c[3];
    conf_claim1(fx, &kd, CONF_LONG_TTL_MS, &c[0]);
    uint64_t td = c[0].token;
    assert_false(conf_complete1(fx, &kd, td, "{}", CONF_LONG_TTL_MS));
    conf_claim1(fx, &kb, CONF_LONG_TTL_MS, &c[1]);
    uint64_t tb = c[1].token;
    memset(c, 0, sizeof(c));
    c[0] = (aw_claim){.key = kd, .lease_ms = CONF_LONG_TTL_MS};
    c[1] = (aw_claim){.key = kb, .lease_ms = CONF_LONG_TTL_MS};
    c[2] = (aw_claim){.key = kn, .lease_ms = CONF_LONG_TTL_MS};
    assert_ok(fx, aw_state_claim_batch(fx->ss, c, 3, &fx->err));
    assert_int_equal(c[0].result, AW_CLAIM_DONE);
    assert_int_equal(c[0].done_token, td);
    assert_int_equal(c[1].result, AW_CLAIM_BUSY);
    assert_int_equal(c[1].token, tb);
    assert_int_equal(c[2].result, AW_CLAIM_ACQUIRED);
    for (int i = 0; i < 3; i++)
        aw_claim_clear(&c[i]);
}

static void test_claim_stale_complete(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "dedup", "stale");
    aw_claim c;
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    uint64_t t = c.token;
    assert_true(conf_complete1(fx, &k, t + 1000, "{\"wrong\":1}", CONF_LONG_TTL_MS));
    /* Nothing was written: the lease is still t's. */
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    assert_int_equal(c.result, AW_CLAIM_BUSY);
    assert_int_equal(c.token, t);
    assert_false(conf_complete1(fx, &k, t, "{\"right\":1}", CONF_LONG_TTL_MS));
    /* Completing twice: the lease is gone, so the second is stale. */
    assert_true(conf_complete1(fx, &k, t, "{\"again\":1}", CONF_LONG_TTL_MS));
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    assert_int_equal(c.result, AW_CLAIM_DONE);
    assert_string_equal(c.done_summary, "{\"right\":1}");
    aw_claim_clear(&c);
}

static void test_claim_expired_lease_takeover(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "dedup", "crashed-holder");
    aw_claim c;
    conf_claim1(fx, &k, CONF_SHORT_TTL_MS, &c);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    uint64_t t1 = c.token;
    uint64_t t2 = conf_wait_claim(fx, &k, CONF_LONG_TTL_MS);
    assert_true(t2 > t1);
    /* The old holder finishing late is refused and overwrites nothing. */
    assert_true(conf_complete1(fx, &k, t1, "{\"late\":1}", CONF_LONG_TTL_MS));
    assert_status(fx, aw_state_lease_renew(fx->ss, &k, t1, CONF_LONG_TTL_MS, &fx->err),
                  AW_CONFLICT);
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    assert_int_equal(c.result, AW_CLAIM_BUSY);
    assert_int_equal(c.token, t2);
    assert_false(conf_complete1(fx, &k, t2, "{\"new\":1}", CONF_LONG_TTL_MS));
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    assert_int_equal(c.result, AW_CLAIM_DONE);
    assert_int_equal(c.done_token, t2);
    assert_string_equal(c.done_summary, "{\"new\":1}");
    aw_claim_clear(&c);
}

static void test_claim_lease_renew(conf_fixture *fx)
{
    for (int attempt = 0;; attempt++) {
        assert_true(attempt < CONF_TIMING_ATTEMPTS);
        char id[32], mid[32];
        snprintf(id, sizeof(id), "slow-call-%d", attempt);
        snprintf(mid, sizeof(mid), "renew-marker-%d", attempt);
        aw_state_key k = conf_key_in(fx, "dedup", id), marker = conf_key_in(fx, "dedup", mid);
        aw_claim c, m;
        int64_t t0 = aw_mono_now_ms();
        conf_claim1(fx, &k, CONF_SHORT_TTL_MS, &c);
        conf_claim1(fx, &marker, CONF_SHORT_TTL_MS, &m);
        assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
        uint64_t t = c.token;
        aw_status rc = aw_state_lease_renew(fx->ss, &k, t, CONF_LONG_TTL_MS, &fx->err);
        if (rc == AW_CONFLICT && conf_late(t0, CONF_SHORT_TTL_MS))
            continue; /* lease ran out before the renewal: retry */
        assert_ok(fx, rc);
        assert_status(fx, aw_state_lease_renew(fx->ss, &k, t + 1000, CONF_LONG_TTL_MS, &fx->err),
                      AW_CONFLICT);
        /* Past the original lease (the marker's expired): still ours. */
        assert_true(conf_wait_claim(fx, &marker, CONF_LONG_TTL_MS) > m.token);
        conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
        assert_int_equal(c.result, AW_CLAIM_BUSY);
        assert_int_equal(c.token, t);
        assert_false(conf_complete1(fx, &k, t, "{}", CONF_LONG_TTL_MS));
        /* A done record is not a lease: nothing left to renew, and the
         * refused renewal (the lease keeper's, late) leaves it standing. */
        assert_status(fx, aw_state_lease_renew(fx->ss, &k, t, CONF_LONG_TTL_MS, &fx->err),
                      AW_CONFLICT);
        conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
        assert_int_equal(c.result, AW_CLAIM_DONE);
        assert_int_equal(c.done_token, t);
        aw_claim_clear(&c);
        return;
    }
}

static void test_claim_lease_release(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "dedup", "abandoned"),
                 never = conf_key_in(fx, "dedup", "never-claimed");
    aw_claim c;
    assert_status(fx, aw_state_lease_release(fx->ss, &never, 1, &fx->err), AW_CONFLICT);
    assert_status(fx, aw_state_lease_renew(fx->ss, &never, 1, CONF_LONG_TTL_MS, &fx->err),
                  AW_CONFLICT);
    assert_true(conf_complete1(fx, &never, 1, "{}", CONF_LONG_TTL_MS));
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    uint64_t t1 = c.token;
    assert_status(fx, aw_state_lease_release(fx->ss, &k, t1 + 1000, &fx->err), AW_CONFLICT);
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    assert_int_equal(c.result, AW_CLAIM_BUSY);
    assert_ok(fx, aw_state_lease_release(fx->ss, &k, t1, &fx->err));
    assert_status(fx, aw_state_lease_release(fx->ss, &k, t1, &fx->err), AW_CONFLICT);
    /* Released without a done record: free for the next claimer, higher token. */
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
    assert_true(c.token > t1);
}

static void test_claim_done_expires(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "dedup", "short-window");
    aw_claim c;
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    uint64_t t1 = c.token;
    int64_t t0 = aw_mono_now_ms();
    assert_false(conf_complete1(fx, &k, t1, "{}", CONF_SHORT_TTL_MS));
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    if (c.result == AW_CLAIM_ACQUIRED) {
        assert_true(conf_late(t0, CONF_SHORT_TTL_MS)); /* window already over */
        assert_true(c.token > t1);
        return;
    }
    assert_int_equal(c.result, AW_CLAIM_DONE);
    aw_claim_clear(&c);
    /* After the dedup window the identity may run again, with a new token. */
    assert_true(conf_wait_claim(fx, &k, CONF_LONG_TTL_MS) > t1);
}

static void test_claim_kind_ignored(conf_fixture *fx)
{
    aw_state_key a = conf_key_in(fx, "dedup", "any-kind"), b = a, d = a;
    b.kind = "something-else";
    d.kind = "";
    aw_claim c;
    conf_claim1(fx, &a, CONF_LONG_TTL_MS, &c);
    uint64_t t = c.token;
    assert_ok(fx, aw_state_lease_renew(fx->ss, &b, t, CONF_LONG_TTL_MS, &fx->err));
    assert_false(conf_complete1(fx, &d, t, "{}", CONF_LONG_TTL_MS));
    conf_claim1(fx, &b, CONF_LONG_TTL_MS, &c);
    assert_int_equal(c.result, AW_CLAIM_DONE);
    aw_claim_clear(&c);
}

/* One renewal batch of every kind of item, renewing to CONF_LONG_TTL_MS:
 *   a  ours, live (a 150 ms lease), twice in the batch: both renewed;
 *   e  ours, expired with nobody taking over: stale, and not revived;
 *   o  held with another token (ours is o's token + 1000) and then with
 *      o's own token, in the same batch: stale, then renewed;
 *   n  never claimed: stale, and nothing created;
 *   d  completed: stale, the done record stands.
 * A renewal is seen through a later claim's BUSY retry_after_ms, beyond
 * the lease the item was claimed with. */
static void test_claim_lease_renew_batch(conf_fixture *fx)
{
    const int64_t medium = 60000; /* o's lease: renewed means well beyond it */
    for (int attempt = 0;; attempt++) {
        assert_true(attempt < CONF_TIMING_ATTEMPTS);
        char ids[6][32];
        const char *names[6] = {"rb-a", "rb-e", "rb-o", "rb-n", "rb-d", "rb-marker"};
        for (int i = 0; i < 6; i++)
            snprintf(ids[i], sizeof(ids[i]), "%s-%d", names[i], attempt);
        aw_state_key ka = conf_key_in(fx, "dedup", ids[0]), ke = conf_key_in(fx, "dedup", ids[1]),
                     ko = conf_key_in(fx, "dedup", ids[2]), kn = conf_key_in(fx, "dedup", ids[3]),
                     kd = conf_key_in(fx, "dedup", ids[4]), km = conf_key_in(fx, "dedup", ids[5]);
        aw_claim c;
        /* e expires first: the marker, claimed after it with the same
         * lease, can be claimed again only once e's lease is over too. */
        conf_claim1(fx, &ke, CONF_SHORT_TTL_MS, &c);
        uint64_t te = c.token;
        conf_claim1(fx, &km, CONF_SHORT_TTL_MS, &c);
        conf_wait_claim(fx, &km, CONF_LONG_TTL_MS);
        conf_claim1(fx, &ko, medium, &c);
        uint64_t to = c.token;
        conf_claim1(fx, &kd, CONF_LONG_TTL_MS, &c);
        uint64_t td = c.token;
        assert_false(conf_complete1(fx, &kd, td, "{\"d\":1}", CONF_LONG_TTL_MS));
        int64_t t0 = aw_mono_now_ms();
        conf_claim1(fx, &ka, CONF_SHORT_TTL_MS, &c);
        assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
        uint64_t ta = c.token;

        aw_lease_renewal r[7] = {{.key = ka, .token = ta},        {.key = ke, .token = te},
                                 {.key = ko, .token = to + 1000}, {.key = kn, .token = 1},
                                 {.key = kd, .token = td},        {.key = ka, .token = ta},
                                 {.key = ko, .token = to}};
        assert_ok(fx, aw_state_lease_renew_batch(fx->ss, r, 7, CONF_LONG_TTL_MS, &fx->err));
        if (r[0].stale && conf_late(t0, CONF_SHORT_TTL_MS))
            continue; /* a's lease ran out before the renewal: retry */
        bool want_stale[7] = {false, true, true, true, true, false, false};
        for (int i = 0; i < 7; i++)
            if (r[i].stale != want_stale[i])
                fail_msg("item %d (%s): stale %d, want %d", i, r[i].key.id, (int)r[i].stale,
                         (int)want_stale[i]);

        conf_claim1(fx, &ka, CONF_LONG_TTL_MS, &c); /* renewed past its 150 ms */
        assert_int_equal(c.result, AW_CLAIM_BUSY);
        assert_int_equal(c.token, ta);
        assert_true(c.retry_after_ms > medium);
        conf_claim1(fx, &ko, CONF_LONG_TTL_MS, &c); /* the holder's token renewed it */
        assert_int_equal(c.result, AW_CLAIM_BUSY);
        assert_int_equal(c.token, to);
        assert_true(c.retry_after_ms > medium);
        conf_claim1(fx, &ke, CONF_LONG_TTL_MS, &c); /* not revived */
        assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
        assert_true(c.token > te);
        conf_claim1(fx, &kn, CONF_LONG_TTL_MS, &c); /* nothing was created */
        assert_int_equal(c.result, AW_CLAIM_ACQUIRED);
        conf_claim1(fx, &kd, CONF_LONG_TTL_MS, &c);
        assert_int_equal(c.result, AW_CLAIM_DONE);
        assert_int_equal(c.done_token, td);
        assert_string_equal(c.done_summary, "{\"d\":1}");
        aw_claim_clear(&c);
        /* The old token of e, now held by a newer one: still stale. */
        aw_lease_renewal late = {.key = ke, .token = te};
        assert_ok(fx, aw_state_lease_renew_batch(fx->ss, &late, 1, CONF_LONG_TTL_MS, &fx->err));
        assert_true(late.stale);
        return;
    }
}

/* Arguments are checked before anything is sent, as for claims. */
static void test_claim_lease_renew_batch_refused(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, "dedup", "refused"), bad = k;
    aw_claim c;
    conf_claim1(fx, &k, CONF_LONG_TTL_MS, &c);
    bad.tenant = NULL;
    aw_lease_renewal r[2] = {{.key = k, .token = c.token}, {.key = bad, .token = c.token}};
    assert_status(fx, aw_state_lease_renew_batch(fx->ss, r, 2, CONF_LONG_TTL_MS, &fx->err),
                  AW_PERMANENT);
    assert_true(r[0].stale && r[1].stale);
    r[1].key = k;
    assert_status(fx, aw_state_lease_renew_batch(fx->ss, r, 2, 0, &fx->err), AW_PERMANENT);
    assert_status(fx, aw_state_lease_renew_batch(fx->ss, r, 2, -1, &fx->err), AW_PERMANENT);
    assert_true(r[0].stale && r[1].stale);
    assert_ok(fx, aw_state_lease_renew_batch(fx->ss, r, 0, CONF_LONG_TTL_MS, &fx->err));
    assert_ok(fx, aw_state_lease_renew_batch(fx->ss, r, 2, CONF_LONG_TTL_MS, &fx->err));
    assert_false(r[0].stale || r[1].stale);
}

/* ---- the due-time index --------------------------------------------------------
 *
 * Due times are the caller's clock, so these tests choose them (small
 * numbers, a now_ms of their own): ordering needs no waiting. Leases are
 * the backend's clock: expiry is waited for by polling a take, with a bound. */

#define DUE_KIND "due"
#define DUE_MAX 16
#define DUE_BENCH_ITEMS 1000
#define DUE_BENCH_BATCH 100

/* A backend without a due index must refuse every call with AW_UNSUPPORTED
 * and be one without atomic compare-and-set (ClickHouse): the test then
 * reports it and is skipped. An atomic backend must have it. Probed with a
 * done of an absent item, which writes nothing anywhere. */
static void conf_due_require(conf_fixture *fx)
{
    aw_state_key k = conf_key_in(fx, DUE_KIND, "probe");
    aw_status rc = aw_state_due_done(fx->ss, &k, 1, &fx->err);
    if (rc == AW_CONFLICT)
        return;
    if (rc != AW_UNSUPPORTED)
        fail_msg("due_done of an absent item: %s, want AW_CONFLICT (%s)", aw_status_name(rc),
                 fx->err.msg);
    if (aw_state_is_atomic(fx->st))
        fail_msg("%s is atomic but has no due-time index", g_run.driver->name);
    aw_due_item out[1];
    size_t n = 1;
    assert_status(fx, aw_state_due_put(fx->ss, &k, 1, "v", 1, &fx->err), AW_UNSUPPORTED);
    assert_status(fx, aw_state_due_take(fx->ss, fx->ns, DUE_KIND, 10, 1, 1000, out, &n, &fx->err),
                  AW_UNSUPPORTED);
    assert_int_equal(n, 0);
    assert_status(fx, aw_state_due_release(fx->ss, &k, 1, 0, &fx->err), AW_UNSUPPORTED);
    if (g_run.unsupported < CONF_MAX_UNSUPPORTED)
        g_run.unsupported_names[g_run.unsupported] = fx->test->name;
    g_run.unsupported++;
    printf("UNSUPPORTED: %s (%s refuses the due-time index: not atomic)\n", fx->test->name,
           g_run.driver->name);
    fflush(stdout);
    skip();
}

static void conf_due_put(conf_fixture *fx, const char *id, int64_t due_ms, const char *val)
{
    aw_state_key k = conf_key_in(fx, DUE_KIND, id);
    assert_ok(fx, aw_state_due_put(fx->ss, &k, due_ms, val, strlen(val), &fx->err));
}

/* Take from the test's pool; returns how many, items in out (caller clears). */
static size_t conf_due_take(conf_fixture *fx, int64_t now_ms, size_t limit, int64_t lease_ms,
                            aw_due_item *out)
{
    size_t n = 0;
    assert_ok(fx, aw_state_due_take(fx->ss, fx->ns, DUE_KIND, now_ms, limit, lease_ms, out, &n,
                                    &fx->err));
    assert_true(n <= limit);
    return n;
}

static void conf_due_clear(aw_due_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        aw_due_item_clear(&items[i]);
}

static void conf_due_expect(const aw_due_item *it, const conf_fixture *fx, const char *id,
                            int64_t due_ms, const char *val)
{
    assert_string_equal(it->id, id);
    assert_string_equal(it->ns, fx->ns);
    assert_string_equal(it->tenant, CONF_TENANT);
    assert_string_equal(it->kind, DUE_KIND);
    assert_int_equal(it->due_ms, due_ms);
    assert_int_equal(it->len, strlen(val));
    assert_memory_equal(it->value, val, it->len + 1);
    assert_true(it->token > 0);
}

/* The key of an item taken: borrows it, so use it before clearing the item. */
static aw_state_key conf_due_key(const conf_fixture *fx, const aw_due_item *it)
{
    return (aw_state_key){.ns = fx->ns, .tenant = it->tenant, .kind = DUE_KIND, .id = it->id};
}

static void test_due_order(conf_fixture *fx)
{
    conf_due_require(fx);
    static const int64_t due[] = {50, 10, 40, 20, 30};
    char id[16], val[16];
    for (size_t i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "d%" PRId64, due[i]);
        snprintf(val, sizeof(val), "v%" PRId64, due[i]);
        conf_due_put(fx, id, due[i], val);
    }
    conf_due_put(fx, "later", 100, "not yet");
    aw_due_item out[DUE_MAX];
    assert_int_equal(conf_due_take(fx, 5, DUE_MAX, CONF_LONG_TTL_MS, out), 0);
    size_t n = conf_due_take(fx, 60, 3, CONF_LONG_TTL_MS, out);
    assert_int_equal(n, 3);
    conf_due_expect(&out[0], fx, "d10", 10, "v10");
    conf_due_expect(&out[1], fx, "d20", 20, "v20");
    conf_due_expect(&out[2], fx, "d30", 30, "v30");
    conf_due_clear(out, n);
    n = conf_due_take(fx, 60, DUE_MAX, CONF_LONG_TTL_MS, out);
    assert_int_equal(n, 2);
    conf_due_expect(&out[0], fx, "d40", 40, "v40");
    conf_due_expect(&out[1], fx, "d50", 50, "v50");
    conf_due_clear(out, n);
    /* Not yet due until now reaches its time; due_ms == now is due. */
    assert_int_equal(conf_due_take(fx, 99, DUE_MAX, CONF_LONG_TTL_MS, out), 0);
    n = conf_due_take(fx, 100, DUE_MAX, CONF_LONG_TTL_MS, out);
    assert_int_equal(n, 1);
    conf_due_expect(&out[0], fx, "later", 100, "not yet");
    conf_due_clear(out, n);
}

/* Pools are (ns, kind): another kind or namespace is not taken; tenants
 * share the pool but are distinct items; values are binary. */
static void test_due_isolation_and_values(conf_fixture *fx)
{
    conf_due_require(fx);
    static const char bin[] = {'a', '\0', 'b', '\xff', '\n'};
    aw_state_key other_kind = conf_key_in(fx, "due-other", "x");
    char ns2[64];
    conf_random_hex(ns2, sizeof(ns2), "awconf");
    aw_state_key other_ns = {.ns = ns2, .tenant = CONF_TENANT, .kind = DUE_KIND, .id = "y"};
    aw_state_key t1 = conf_key_in(fx, DUE_KIND, "same-id");
    aw_state_key t2 = {.ns = fx->ns, .tenant = "tenant-2", .kind = DUE_KIND, .id = "same-id"};
    assert_ok(fx, aw_state_due_put(fx->ss, &other_kind, 1, "k", 1, &fx->err));
    assert_ok(fx, aw_state_due_put(fx->ss, &other_ns, 1, "n", 1, &fx->err));
    assert_ok(fx, aw_state_due_put(fx->ss, &t1, 2, bin, sizeof(bin), &fx->err));
    assert_ok(fx, aw_state_due_put(fx->ss, &t2, 3, "", 0, &fx->err));
    aw_due_item out[DUE_MAX];
    size_t n = conf_due_take(fx, 10, DUE_MAX, CONF_LONG_TTL_MS, out);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].tenant, CONF_TENANT);
    assert_int_equal(out[0].len, sizeof(bin));
    assert_memory_equal(out[0].value, bin, sizeof(bin));
    assert_string_equal(out[1].tenant, "tenant-2");
    assert_string_equal(out[1].id, "same-id");
    assert_int_equal(out[1].len, 0);
    assert_string_equal(out[1].value, "");
    /* Tokens are per item (two items may share one: DynamoDB's are). */
    assert_true(out[0].token > 0 && out[1].token > 0);
    conf_due_clear(out, n);
    /* The other pools still hold theirs: take them to leave nothing. */
    n = 0;
    assert_ok(fx, aw_state_due_take(fx->ss, fx->ns, "due-other", 10, DUE_MAX, 1000, out, &n,
                                    &fx->err));
    assert_int_equal(n, 1);
    assert_ok(fx, aw_state_due_done(fx->ss, &other_kind, out[0].token, &fx->err));
    conf_due_clear(out, n);
    n = 0;
    assert_ok(fx, aw_state_due_take(fx->ss, ns2, DUE_KIND, 10, DUE_MAX, 1000, out, &n, &fx->err));
    assert_int_equal(n, 1);
    assert_string_equal(out[0].ns, ns2);
    assert_ok(fx, aw_state_due_done(fx->ss, &other_ns, out[0].token, &fx->err));
    conf_due_clear(out, n);
}

static void test_due_done_stale(conf_fixture *fx)
{
    conf_due_require(fx);
    conf_due_put(fx, "a", 1, "x");
    aw_due_item out[DUE_MAX];
    assert_int_equal(conf_due_take(fx, 1, DUE_MAX, CONF_LONG_TTL_MS, out), 1);
    aw_state_key k = conf_key_in(fx, DUE_KIND, "a");
    uint64_t t = out[0].token;
    assert_status(fx, aw_state_due_done(fx->ss, &k, t + 1, &fx->err), AW_CONFLICT);
    assert_status(fx, aw_state_due_done(fx->ss, &k, t - 1, &fx->err), AW_CONFLICT);
    assert_status(fx, aw_state_due_release(fx->ss, &k, t + 1, 0, &fx->err), AW_CONFLICT);
    assert_ok(fx, aw_state_due_done(fx->ss, &k, t, &fx->err));
    assert_status(fx, aw_state_due_done(fx->ss, &k, t, &fx->err), AW_CONFLICT);
    assert_status(fx, aw_state_due_release(fx->ss, &k, t, 0, &fx->err), AW_CONFLICT);
    conf_due_clear(out, 1);
    assert_int_equal(conf_due_take(fx, 1000, DUE_MAX, CONF_LONG_TTL_MS, out), 0);
    /* Put again after done: a new item whose token still exceeds the old. */
    conf_due_put(fx, "a", 5, "y");
    assert_int_equal(conf_due_take(fx, 5, DUE_MAX, CONF_LONG_TTL_MS, out), 1);
    conf_due_expect(&out[0], fx, "a", 5, "y");
    assert_true(out[0].token > t);
    assert_status(fx, aw_state_due_done(fx->ss, &k, t, &fx->err), AW_CONFLICT);
    assert_ok(fx, aw_state_due_done(fx->ss, &k, out[0].token, &fx->err));
    conf_due_clear(out, 1);
}

/* A put meets a live lease: refused, the holder's item unchanged. Released
 * (rescheduled), the item takes puts again. */
static void test_due_put_while_leased(conf_fixture *fx)
{
    conf_due_require(fx);
    conf_due_put(fx, "p", 10, "first");
    aw_due_item out[DUE_MAX];
    assert_int_equal(conf_due_take(fx, 10, DUE_MAX, CONF_LONG_TTL_MS, out), 1);
    aw_state_key k = conf_key_in(fx, DUE_KIND, "p");
    uint64_t t1 = out[0].token;
    conf_due_clear(out, 1);
    assert_status(fx, aw_state_due_put(fx->ss, &k, 20, "second", 6, &fx->err), AW_CONFLICT);
    /* Released to run at 500: not offered before, offered from then on. */
    assert_ok(fx, aw_state_due_release(fx->ss, &k, t1, 500, &fx->err));
    assert_status(fx, aw_state_due_done(fx->ss, &k, t1, &fx->err), AW_CONFLICT);
    assert_int_equal(conf_due_take(fx, 499, DUE_MAX, CONF_LONG_TTL_MS, out), 0);
    assert_int_equal(conf_due_take(fx, 500, DUE_MAX, CONF_LONG_TTL_MS, out), 1);
    conf_due_expect(&out[0], fx, "p", 500, "first");
    uint64_t t2 = out[0].token;
    assert_true(t2 > t1);
    conf_due_clear(out, 1);
    /* Released without a new time: offered again at once, same due time. */
    assert_ok(fx, aw_state_due_release(fx->ss, &k, t2, 0, &fx->err));
    assert_ok(fx, aw_state_due_put(fx->ss, &k, 30, "third", 5, &fx->err));
    assert_int_equal(conf_due_take(fx, 30, DUE_MAX, CONF_LONG_TTL_MS, out), 1);
    conf_due_expect(&out[0], fx, "p", 30, "third");
    assert_true(out[0].token > t2);
    assert_ok(fx, aw_state_due_done(fx->ss, &k, out[0].token, &fx->err));
    conf_due_clear(out, 1);
}

typedef struct due_wait {
    int64_t lease_ms;
    size_t n;
    aw_due_item out[DUE_MAX];
} due_wait;

static bool conf_pred_due_take(conf_fixture *fx, void *arg)
{
    due_wait *w = arg;
    w->n = conf_due_take(fx, 1000, DUE_MAX, w->lease_ms, w->out);
    return w->n > 0;
}

/* The crash: a holder takes and never finishes. While its lease lives the
 * item is nobody else's; once it expires (polled, bounded) the item is
 * offered again with a higher token, and the old holder is fenced off. */
static void test_due_crash_reoffer(conf_fixture *fx)
{
    conf_due_require(fx);
    for (int attempt = 1;; attempt++) {
        char id[32];
        snprintf(id, sizeof(id), "crash-%d", attempt);
        conf_due_put(fx, id, 1, "job");
        aw_due_item out[DUE_MAX];
        int64_t t0 = aw_mono_now_ms();
        assert_int_equal(conf_due_take(fx, 1000, DUE_MAX, CONF_SHORT_TTL_MS, out), 1);
        uint64_t t1 = out[0].token;
        aw_state_key k = conf_key_in(fx, DUE_KIND, id);
        conf_due_clear(out, 1);
        size_t n = conf_due_take(fx, 1000, DUE_MAX, CONF_SHORT_TTL_MS, out);
        bool late = conf_late(t0, CONF_SHORT_TTL_MS);
        uint64_t again = n ? out[0].token : 0;
        conf_due_clear(out, n);
        if (late) {
            /* The second take may legitimately have seen the lease expired:
             * retry with a fresh item (a done, if it fails, only leaves the
             * old one leased in this test's own pool, past the takes
             * below by its id). */
            assert_true(attempt < CONF_TIMING_ATTEMPTS);
            if (n == 1)
                (void)aw_state_due_done(fx->ss, &k, again, &fx->err);
            continue;
        }
        assert_int_equal(n, 0);
        due_wait w = {.lease_ms = CONF_LONG_TTL_MS};
        if (!conf_wait_for(fx, conf_pred_due_take, &w))
            fail_msg("due item not offered again %d ms after its lease", CONF_WAIT_MS);
        assert_int_equal(w.n, 1);
        conf_due_expect(&w.out[0], fx, id, 1, "job");
        assert_true(w.out[0].token > t1);
        assert_status(fx, aw_state_due_done(fx->ss, &k, t1, &fx->err), AW_CONFLICT);
        assert_ok(fx, aw_state_due_done(fx->ss, &k, w.out[0].token, &fx->err));
        conf_due_clear(w.out, w.n);
        return;
    }
}

/* A lease that ran out is lost even if nobody took the item over. */
static void test_due_done_after_expiry(conf_fixture *fx)
{
    conf_due_require(fx);
    conf_due_put(fx, "e", 1, "x");
    aw_due_item out[DUE_MAX];
    assert_int_equal(conf_due_take(fx, 1, DUE_MAX, CONF_SHORT_TTL_MS, out), 1);
    aw_state_key k = conf_key_in(fx, DUE_KIND, "e");
    uint64_t t = out[0].token;
    conf_due_clear(out, 1);
    conf_wait_past(fx, CONF_SHORT_TTL_MS);
    assert_status(fx, aw_state_due_done(fx->ss, &k, t, &fx->err), AW_CONFLICT);
    assert_status(fx, aw_state_due_release(fx->ss, &k, t, 0, &fx->err), AW_CONFLICT);
    /* Still there, to be taken again. */
    assert_int_equal(conf_due_take(fx, 1, DUE_MAX, CONF_LONG_TTL_MS, out), 1);
    assert_true(out[0].token > t);
    assert_ok(fx, aw_state_due_done(fx->ss, &k, out[0].token, &fx->err));
    conf_due_clear(out, 1);
}

/* due_extend of items of the test's pool: keys borrowed from ids. */
static void conf_due_extend(conf_fixture *fx, aw_due_extension *x, size_t n, int64_t lease_ms)
{
    assert_ok(fx, aw_state_due_extend(fx->ss, x, n, lease_ms, &fx->err));
}

/* An extended lease outlives the one it replaced: the item is not offered
 * again once the first lease's time has passed (a marker taken with the
 * same short lease is), and its holder can still finish it. After done
 * there is nothing left to extend. */
static void test_due_extend(conf_fixture *fx)
{
    conf_due_require(fx);
    for (int attempt = 0;; attempt++) {
        assert_true(attempt < CONF_TIMING_ATTEMPTS);
        char id[32], mid[32];
        snprintf(id, sizeof(id), "slow-%d", attempt);
        snprintf(mid, sizeof(mid), "marker-%d", attempt);
        conf_due_put(fx, id, 1, "job");
        conf_due_put(fx, mid, 2, "marker");
        aw_due_item out[DUE_MAX];
        int64_t t0 = aw_mono_now_ms();
        assert_int_equal(conf_due_take(fx, 2, DUE_MAX, CONF_SHORT_TTL_MS, out), 2);
        conf_due_expect(&out[0], fx, id, 1, "job");
        uint64_t t = out[0].token, tm = out[1].token;
        aw_state_key k = conf_key_in(fx, DUE_KIND, id), km = conf_key_in(fx, DUE_KIND, mid);
        conf_due_clear(out, 2);
        aw_due_extension x = {.key = k, .token = t};
        conf_due_extend(fx, &x, 1, CONF_LONG_TTL_MS);
        if (x.stale && conf_late(t0, CONF_SHORT_TTL_MS)) {
            /* The short lease ran out first: clean up, retry afresh. */
            due_wait w = {.lease_ms = CONF_LONG_TTL_MS};
            while (conf_wait_for(fx, conf_pred_due_take, &w) && w.n < 2) {
                for (size_t i = 0; i < w.n; i++) {
                    aw_state_key ki = conf_due_key(fx, &w.out[i]);
                    assert_ok(fx, aw_state_due_done(fx->ss, &ki, w.out[i].token, &fx->err));
                }
                conf_due_clear(w.out, w.n);
            }
            conf_due_clear(w.out, w.n);
            continue;
        }
        assert_false(x.stale);
        /* Past the first lease (the marker comes back): ours still. */
        due_wait w = {.lease_ms = CONF_LONG_TTL_MS};
        if (!conf_wait_for(fx, conf_pred_due_take, &w))
            fail_msg("marker not offered again %d ms after its lease", CONF_WAIT_MS);
        assert_int_equal(w.n, 1);
        conf_due_expect(&w.out[0], fx, mid, 2, "marker");
        assert_true(w.out[0].token > tm);
        assert_ok(fx, aw_state_due_done(fx->ss, &km, w.out[0].token, &fx->err));
        conf_due_clear(w.out, w.n);
        /* Extending again keeps it (a keeper's next pass). */
        conf_due_extend(fx, &x, 1, CONF_LONG_TTL_MS);
        assert_false(x.stale);
        assert_ok(fx, aw_state_due_done(fx->ss, &k, t, &fx->err));
        conf_due_extend(fx, &x, 1, CONF_LONG_TTL_MS);
        assert_true(x.stale);
        assert_int_equal(conf_due_take(fx, 1000, DUE_MAX, CONF_LONG_TTL_MS, out), 0);
        return;
    }
}

/* A wrong token is refused and changes nothing: had its 1 ms lease been
 * written, the item would be offered once a short TTL has passed. After
 * release the holder's own token is refused too. */
static void test_due_extend_stale(conf_fixture *fx)
{
    conf_due_require(fx);
    conf_due_put(fx, "a", 1, "x");
    aw_due_item out[DUE_MAX];
    assert_int_equal(conf_due_take(fx, 1, DUE_MAX, CONF_LONG_TTL_MS, out), 1);
    uint64_t t = out[0].token;
    conf_due_clear(out, 1);
    aw_state_key k = conf_key_in(fx, DUE_KIND, "a");
    aw_due_extension x[2] = {{.key = k, .token = t + 1}};
    conf_due_extend(fx, x, 1, 1);
    assert_true(x[0].stale);
    x[0].token = t - 1;
    conf_due_extend(fx, x, 1, 1);
    assert_true(x[0].stale);
    conf_wait_past(fx, CONF_SHORT_TTL_MS);
    assert_int_equal(conf_due_take(fx, 1000, DUE_MAX, CONF_LONG_TTL_MS, out), 0);
    /* Released: the item waits again and the old token extends nothing. */
    assert_ok(fx, aw_state_due_release(fx->ss, &k, t, 0, &fx->err));
    x[0].token = t;
    conf_due_extend(fx, x, 1, CONF_LONG_TTL_MS);
    assert_true(x[0].stale);
    assert_int_equal(conf_due_take(fx, 1000, DUE_MAX, CONF_LONG_TTL_MS, out), 1);
    assert_true(out[0].token > t);
    assert_ok(fx, aw_state_due_done(fx->ss, &k, out[0].token, &fx->err));
    conf_due_clear(out, 1);
    /* Refused arguments: nothing sent, every item stale. */
    aw_state_key no_kind = {.ns = fx->ns, .tenant = CONF_TENANT, .id = "a"};
    x[0] = (aw_due_extension){.key = k, .token = t, .stale = false};
    x[1] = (aw_due_extension){.key = k, .token = t + 1, .stale = false};
    assert_status(fx, aw_state_due_extend(fx->ss, x, 2, CONF_LONG_TTL_MS, &fx->err),
                  AW_PERMANENT); /* the same key twice */
    assert_true(x[0].stale && x[1].stale);
    x[1].key = no_kind;
    assert_status(fx, aw_state_due_extend(fx->ss, x, 2, CONF_LONG_TTL_MS, &fx->err),
                  AW_PERMANENT);
    assert_status(fx, aw_state_due_extend(fx->ss, x, 1, 0, &fx->err), AW_PERMANENT);
    assert_status(fx, aw_state_due_extend(fx->ss, x, 0, 1000, &fx->err), AW_PERMANENT);
}

/* One batch of every case, extended to CONF_LONG_TTL_MS:
 *   live  ours, live: extended;
 *   wrong ours, live, with another token: stale (and kept, as it was);
 *   done  finished: stale;
 *   rel   released: stale (and waiting);
 *   gone  expired (nobody took it again): stale, not revived (waiting);
 *   never never put: stale.
 * Then a take offers exactly rel and gone. */
static void test_due_extend_batch(conf_fixture *fx)
{
    conf_due_require(fx);
    static const char *const ids[] = {"live", "wrong", "done", "rel", "gone", "never"};
    for (int i = 0; i < 4; i++)
        conf_due_put(fx, ids[i], 10 + i, "x");
    conf_due_put(fx, "gone", 20, "x");
    aw_due_item out[DUE_MAX];
    aw_state_key k[6];
    for (int i = 0; i < 6; i++)
        k[i] = conf_key_in(fx, DUE_KIND, ids[i]);
    assert_int_equal(conf_due_take(fx, 13, DUE_MAX, CONF_LONG_TTL_MS, out), 4);
    uint64_t tok[6] = {0};
    for (int i = 0; i < 4; i++) {
        conf_due_expect(&out[i], fx, ids[i], 10 + i, "x");
        tok[i] = out[i].token;
    }
    conf_due_clear(out, 4);
    assert_int_equal(conf_due_take(fx, 20, DUE_MAX, CONF_SHORT_TTL_MS, out), 1);
    conf_due_expect(&out[0], fx, "gone", 20, "x");
    tok[4] = out[0].token;
    conf_due_clear(out, 1);
    assert_ok(fx, aw_state_due_done(fx->ss, &k[2], tok[2], &fx->err));
    assert_ok(fx, aw_state_due_release(fx->ss, &k[3], tok[3], 0, &fx->err));
    conf_wait_past(fx, CONF_SHORT_TTL_MS); /* gone's lease has run out */
    aw_due_extension x[6];
    for (int i = 0; i < 6; i++)
        x[i] = (aw_due_extension){.key = k[i], .token = i == 1 ? tok[1] + 1000 : tok[i] + (i == 5)};
    conf_due_extend(fx, x, 6, CONF_LONG_TTL_MS);
    assert_false(x[0].stale);
    for (int i = 1; i < 6; i++)
        if (!x[i].stale)
            fail_msg("due_extend of \"%s\": extended, want stale", ids[i]);
    /* live and wrong are still leased; rel and gone wait, in due order. */
    assert_int_equal(conf_due_take(fx, 100, DUE_MAX, CONF_LONG_TTL_MS, out), 2);
    conf_due_expect(&out[0], fx, "rel", 13, "x");
    conf_due_expect(&out[1], fx, "gone", 20, "x");
    for (int i = 0; i < 2; i++)
        assert_ok(fx, aw_state_due_done(fx->ss, &k[3 + i], out[i].token, &fx->err));
    conf_due_clear(out, 2);
    assert_ok(fx, aw_state_due_done(fx->ss, &k[0], tok[0], &fx->err));
    assert_ok(fx, aw_state_due_done(fx->ss, &k[1], tok[1], &fx->err));
}

static void test_due_refused_arguments(conf_fixture *fx)
{
    conf_due_require(fx);
    aw_due_item out[DUE_MAX];
    size_t n = 7;
    aw_state_key k = conf_key_in(fx, DUE_KIND, "x");
    aw_state_key no_tenant = {.ns = fx->ns, .kind = DUE_KIND, .id = "x"};
    aw_state_key no_kind = {.ns = fx->ns, .tenant = CONF_TENANT, .id = "x"};
    assert_status(fx, aw_state_due_take(fx->ss, fx->ns, DUE_KIND, 1, 0, 1000, out, &n, &fx->err),
                  AW_PERMANENT);
    assert_int_equal(n, 0);
    assert_status(fx, aw_state_due_take(fx->ss, fx->ns, DUE_KIND, 1, AW_DUE_TAKE_MAX + 1, 1000,
                                        out, &n, &fx->err),
                  AW_PERMANENT);
    assert_status(fx, aw_state_due_take(fx->ss, fx->ns, DUE_KIND, 1, 1, 0, out, &n, &fx->err),
                  AW_PERMANENT);
    assert_status(fx, aw_state_due_take(fx->ss, NULL, DUE_KIND, 1, 1, 10, out, &n, &fx->err),
                  AW_PERMANENT);
    assert_status(fx, aw_state_due_put(fx->ss, &no_tenant, 1, "v", 1, &fx->err), AW_PERMANENT);
    assert_status(fx, aw_state_due_put(fx->ss, &no_kind, 1, "v", 1, &fx->err), AW_PERMANENT);
    assert_status(fx, aw_state_due_put(fx->ss, &k, -1, "v", 1, &fx->err), AW_PERMANENT);
    assert_status(fx, aw_state_due_done(fx->ss, &no_tenant, 1, &fx->err), AW_PERMANENT);
    /* Nothing was written by the refused put. */
    assert_int_equal(conf_due_take(fx, INT64_MAX / 2, DUE_MAX, 1000, out), 0);
}

/* due_stats of the test's pool at now_ms. A backend with a due index and
 * atomic compare-and-set must have it (the four drivers that have the one
 * have the other); conf_due_require has already skipped the others. */
static aw_due_stats conf_due_stats(conf_fixture *fx, const char *ns, const char *kind,
                                   int64_t now_ms)
{
    aw_due_stats st;
    memset(&st, 0xa5, sizeof(st)); /* the front must zero it */
    assert_ok(fx, aw_state_due_stats(fx->ss, ns, kind, now_ms, &st, &fx->err));
    assert_false(st.partial); /* every pool here is far below any read bound */
    assert_true(st.has_oldest == (st.waiting > 0));
    return st;
}

static void expect_stats(const aw_due_stats *st, uint64_t items, uint64_t waiting,
                         int64_t oldest_due_ms)
{
    assert_int_equal(st->items, items);
    assert_int_equal(st->waiting, waiting);
    if (waiting)
        assert_int_equal(st->oldest_due_ms, oldest_due_ms);
}

/* Counts of a pool: every item, the due and unleased ones, the oldest of
 * those; only the pool's own. */
static void test_due_stats_counts(conf_fixture *fx)
{
    conf_due_require(fx);
    aw_due_stats st = conf_due_stats(fx, fx->ns, DUE_KIND, 1000);
    expect_stats(&st, 0, 0, 0);
    assert_false(st.has_oldest);
    /* Other kinds and namespaces are other pools: never counted here. */
    aw_state_key other_kind = conf_key_in(fx, "due-other", "x");
    char ns2[64];
    conf_random_hex(ns2, sizeof(ns2), "awconf");
    aw_state_key other_ns = {.ns = ns2, .tenant = CONF_TENANT, .kind = DUE_KIND, .id = "y"};
    assert_ok(fx, aw_state_due_put(fx->ss, &other_kind, 1, "k", 1, &fx->err));
    assert_ok(fx, aw_state_due_put(fx->ss, &other_ns, 2, "n", 1, &fx->err));
    /* Two tenants, due at 30, 10, 20 and two in the future (500, 900). */
    aw_state_key t2 = {.ns = fx->ns, .tenant = "tenant-2", .kind = DUE_KIND, .id = "a"};
    conf_due_put(fx, "a", 30, "x");
    conf_due_put(fx, "b", 10, "x");
    assert_ok(fx, aw_state_due_put(fx->ss, &t2, 20, "x", 1, &fx->err));
    conf_due_put(fx, "later", 500, "x");
    conf_due_put(fx, "much-later", 900, "x");
    st = conf_due_stats(fx, fx->ns, DUE_KIND, 100);
    expect_stats(&st, 5, 3, 10);
    /* due_ms == now_ms is due; before the oldest, nothing is. */
    st = conf_due_stats(fx, fx->ns, DUE_KIND, 500);
    expect_stats(&st, 5, 4, 10);
    st = conf_due_stats(fx, fx->ns, DUE_KIND, 9);
    expect_stats(&st, 5, 0, 0);
    /* The other pools see only their own. */
    st = conf_due_stats(fx, fx->ns, "due-other", 100);
    expect_stats(&st, 1, 1, 1);
    st = conf_due_stats(fx, ns2, DUE_KIND, 100);
    expect_stats(&st, 1, 1, 2);
    /* A put moves an item's due time: the oldest follows. */
    conf_due_put(fx, "b", 700, "x");
    st = conf_due_stats(fx, fx->ns, DUE_KIND, 100);
    expect_stats(&st, 5, 2, 20);
    /* Stats change nothing: a take still finds them all. */
    aw_due_item out[DUE_MAX];
    size_t n = conf_due_take(fx, 100, DUE_MAX, CONF_LONG_TTL_MS, out);
    assert_int_equal(n, 2);
    conf_due_clear(out, n);
}

/* Leased items are in the pool but not waiting, until their lease ends
 * (done removes them, release and expiry make them waiting again). */
static void test_due_stats_leases(conf_fixture *fx)
{
    conf_due_require(fx);
    conf_due_put(fx, "a", 10, "x");
    conf_due_put(fx, "b", 20, "x");
    conf_due_put(fx, "c", 30, "x");
    conf_due_put(fx, "d", 40, "x");
    aw_due_item out[DUE_MAX];
    assert_int_equal(conf_due_take(fx, 100, 2, CONF_LONG_TTL_MS, out), 2);
    aw_due_stats st = conf_due_stats(fx, fx->ns, DUE_KIND, 100);
    expect_stats(&st, 4, 2, 30);
    /* done: gone from the pool; release: waiting again at its due time. */
    aw_state_key ka = conf_due_key(fx, &out[0]), kb = conf_due_key(fx, &out[1]);
    assert_ok(fx, aw_state_due_done(fx->ss, &ka, out[0].token, &fx->err));
    assert_ok(fx, aw_state_due_release(fx->ss, &kb, out[1].token, 0, &fx->err));
    conf_due_clear(out, 2);
    st = conf_due_stats(fx, fx->ns, DUE_KIND, 100);
    expect_stats(&st, 3, 3, 20);
    /* All leased: nothing waiting, no oldest. */
    assert_int_equal(conf_due_take(fx, 100, DUE_MAX, CONF_LONG_TTL_MS, out), 3);
    st = conf_due_stats(fx, fx->ns, DUE_KIND, 100);
    expect_stats(&st, 3, 0, 0);
    assert_false(st.has_oldest);
    conf_due_clear(out, 3);
    /* A lease that ran out, nobody having taken the item again: waiting
     * (as a take would offer it), once due at now_ms. */
    conf_due_put(fx, "e", 50, "x");
    assert_int_equal(conf_due_take(fx, 100, DUE_MAX, CONF_SHORT_TTL_MS, out), 1);
    conf_due_clear(out, 1);
    conf_wait_past(fx, CONF_SHORT_TTL_MS);
    st = conf_due_stats(fx, fx->ns, DUE_KIND, 100);
    expect_stats(&st, 4, 1, 50);
    st = conf_due_stats(fx, fx->ns, DUE_KIND, 49);
    expect_stats(&st, 4, 0, 0);
}

static void test_due_stats_refused_arguments(conf_fixture *fx)
{
    conf_due_require(fx);
    aw_due_stats st;
    memset(&st, 0xa5, sizeof(st));
    assert_status(fx, aw_state_due_stats(fx->ss, NULL, DUE_KIND, 1, &st, &fx->err), AW_PERMANENT);
    assert_int_equal(st.items, 0);
    assert_false(st.has_oldest);
    assert_status(fx, aw_state_due_stats(fx->ss, fx->ns, NULL, 1, &st, &fx->err), AW_PERMANENT);
    assert_status(fx, aw_state_due_stats(fx->ss, fx->ns, DUE_KIND, -1, &st, &fx->err),
                  AW_PERMANENT);
}

/* Throughput of due_take: DUE_BENCH_ITEMS items taken in batches of
 * DUE_BENCH_BATCH (then done one by one), printed; checked for counts only. */
static void test_due_take_throughput(conf_fixture *fx)
{
    conf_due_require(fx);
    char id[16];
    int64_t t0 = aw_mono_now_us();
    for (int i = 0; i < DUE_BENCH_ITEMS; i++) {
        snprintf(id, sizeof(id), "b%04d", i);
        conf_due_put(fx, id, i, "payload-of-a-scheduled-action");
    }
    int64_t t1 = aw_mono_now_us();
    aw_due_item *out = calloc(DUE_BENCH_ITEMS, sizeof(*out));
    assert_non_null(out);
    size_t total = 0;
    for (;;) {
        size_t n = 0;
        assert_ok(fx, aw_state_due_take(fx->ss, fx->ns, DUE_KIND, DUE_BENCH_ITEMS,
                                        DUE_BENCH_BATCH, CONF_LONG_TTL_MS, out + total, &n,
                                        &fx->err));
        if (n == 0)
            break;
        for (size_t i = 1; i < n; i++)
            assert_true(out[total + i - 1].due_ms <= out[total + i].due_ms);
        total += n;
        assert_true(total <= DUE_BENCH_ITEMS);
        if (total == DUE_BENCH_ITEMS)
            break;
    }
    int64_t t2 = aw_mono_now_us();
    assert_int_equal(total, DUE_BENCH_ITEMS);
    for (size_t i = 0; i < total; i++) {
        aw_state_key k = conf_due_key(fx, &out[i]);
        assert_int_equal(out[i].due_ms, (int64_t)i); /* oldest first across batches */
        assert_ok(fx, aw_state_due_done(fx->ss, &k, out[i].token, &fx->err));
        aw_due_item_clear(&out[i]);
    }
    int64_t t3 = aw_mono_now_us();
    free(out);
#define DUE_RATE(us) ((us) > 0 ? DUE_BENCH_ITEMS * 1e6 / (double)(us) : 0.0)
    printf("[   INFO   ] due[%s]: %d items: put %.0f/s, take (batches of %d) %.0f/s, "
           "done %.0f/s\n",
           g_run.driver->name, DUE_BENCH_ITEMS, DUE_RATE(t1 - t0), DUE_BENCH_BATCH,
           DUE_RATE(t2 - t1), DUE_RATE(t3 - t2));
#undef DUE_RATE
    fflush(stdout);
}

/* ---- concurrency ------------------------------------------------------------ */

#define RACE_THREADS 8
#define RACE_IDS 1000
#define RACE_BATCH 50
#define HAMMER_OPS 5000
#define CAS_WINS 100
#define SET_OPS 500
#define LOCK_WINS 50
#define SPIN_LIMIT_MS 60000 /* bound on retry loops inside race threads */
#define RENEW_IDS 32         /* identities of the renew race */
#define RENEW_LEASE_MS 300
#define RENEW_KEEP 3         /* renewals before a holder abandons its lease */
#define RENEW_LATE 32        /* late renewals (all threads) the race waits for */
#define RENEW_MAX_EVENTS 4096

/* What every racing thread shares; read-only once the threads run, except
 * the atomics. */
typedef struct race_shared {
    aw_state *st;
    const char *ns;
    pthread_barrier_t start;
    char ids[RACE_IDS][24];
    _Atomic unsigned char seen[RACE_THREADS * HAMMER_OPS];
    atomic_int holders;
    atomic_int exclusion_broken;
    atomic_int order_broken;
    _Atomic uint64_t last_token;
    struct renew_log *renew; /* the renew race: one log per thread */
    atomic_int late_refused; /* the renew race: late renewals seen stale */
} race_shared;

/* One racing thread: its result and what it observed. */
typedef struct race_thread {
    race_shared *sh;
    int index;
    pthread_t tid;
    aw_status rc;
    char msg[300];
    aw_claim_result result[RACE_IDS];
    uint64_t token[RACE_IDS]; /* ACQUIRED/BUSY: token; DONE: done_token */
    int wins;
} race_thread;

static void race_fail(race_thread *t, aw_status rc, const char *what, const aw_error *err)
{
    if (t->rc != AW_OK)
        return;
    t->rc = rc != AW_OK ? rc : AW_INTERNAL;
    snprintf(t->msg, sizeof(t->msg), "thread %d: %s: %s (%s)", t->index, what, aw_status_name(rc),
             err ? err->msg : "");
}

typedef struct race_start {
    race_thread *t;
    void (*fn)(race_thread *, aw_state_session *);
} race_start;

static void *race_main(void *arg)
{
    race_start *rs = arg;
    race_thread *t = rs->t;
    aw_state_session *ss = NULL;
    aw_error err = {0};
    aw_status rc = aw_state_session_open(t->sh->st, &ss, &err);
    if (rc != AW_OK)
        race_fail(t, rc, "session_open", &err);
    /* Everyone waits at the barrier, even after a failure, so nobody hangs. */
    pthread_barrier_wait(&t->sh->start);
    if (ss)
        rs->fn(t, ss);
    aw_state_session_close(ss);
    return NULL;
}

/* Run fn on RACE_THREADS threads, each with its own session opened before
 * the start barrier; fail the test if any thread reported an error. */
static void race_run(conf_fixture *fx, race_shared *sh, race_thread *ts,
                     void (*fn)(race_thread *, aw_state_session *))
{
    race_start starts[RACE_THREADS];
    sh->st = fx->st;
    sh->ns = fx->ns;
    assert_int_equal(pthread_barrier_init(&sh->start, NULL, RACE_THREADS), 0);
    for (int i = 0; i < RACE_THREADS; i++) {
        ts[i].sh = sh;
        ts[i].index = i;
        starts[i] = (race_start){.t = &ts[i], .fn = fn};
        assert_int_equal(pthread_create(&ts[i].tid, NULL, race_main, &starts[i]), 0);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(ts[i].tid, NULL);
    pthread_barrier_destroy(&sh->start);
    for (int i = 0; i < RACE_THREADS; i++)
        if (ts[i].rc != AW_OK)
            fail_msg("%s", ts[i].msg);
}

static aw_state_key race_key(const race_thread *t, const char *kind, const char *id)
{
    return (aw_state_key){.ns = t->sh->ns, .tenant = CONF_TENANT, .kind = kind, .id = id};
}

/* claim_batch as the worker calls it: a transient failure is retried (the
 * contract allows them under contention, e.g. a PostgreSQL deadlock abort,
 * 40P01, which writes nothing). Bounded; anything else is returned. */
static aw_status claim_batch_retrying(aw_state_session *ss, aw_claim *batch, size_t n,
                                      aw_error *err)
{
    aw_status rc = AW_OK;
    for (int attempt = 1; attempt <= 20; attempt++) {
        rc = aw_state_claim_batch(ss, batch, n, err);
        if (rc != AW_TRANSIENT || !err->retriable)
            break;
        for (size_t i = 0; i < n; i++)
            aw_claim_clear(&batch[i]);
        aw_sleep_ms(attempt * 5);
    }
    return rc;
}

/* The same for complete_batch (the statement is atomic: a transient
 * failure completed nothing, so it is simply sent again). */
static aw_status complete_batch_retrying(aw_state_session *ss, aw_complete *batch, size_t n,
                                         aw_error *err)
{
    aw_status rc = AW_OK;
    for (int attempt = 1; attempt <= 20; attempt++) {
        rc = aw_state_complete_batch(ss, batch, n, err);
        if (rc != AW_TRANSIENT || !err->retriable)
            break;
        aw_sleep_ms(attempt * 5);
    }
    return rc;
}

static void race_claim_all(race_thread *t, aw_state_session *ss)
{
    aw_error err = {0};
    aw_claim batch[RACE_BATCH];
    for (size_t off = 0; off < RACE_IDS && t->rc == AW_OK; off += RACE_BATCH) {
        memset(batch, 0, sizeof(batch));
        for (size_t i = 0; i < RACE_BATCH; i++) {
            batch[i].key = race_key(t, "dedup", t->sh->ids[off + i]);
            batch[i].lease_ms = CONF_LONG_TTL_MS;
        }
        aw_status rc = claim_batch_retrying(ss, batch, RACE_BATCH, &err);
        if (rc != AW_OK)
            race_fail(t, rc, "claim_batch", &err);
        for (size_t i = 0; i < RACE_BATCH; i++) {
            t->result[off + i] = batch[i].result;
            t->token[off + i] =
                batch[i].result == AW_CLAIM_DONE ? batch[i].done_token : batch[i].token;
            aw_claim_clear(&batch[i]);
        }
    }
}

/* Complete what this thread acquired, in batches; summary and partition name
 * the thread so the done records can be traced back to the winner. */
static void race_complete_wins(race_thread *t, aw_state_session *ss)
{
    aw_error err = {0};
    aw_complete batch[RACE_BATCH];
    char summary[32];
    size_t n = 0;
    snprintf(summary, sizeof(summary), "{\"thread\":%d}", t->index);
    for (size_t i = 0; i <= RACE_IDS && t->rc == AW_OK; i++) {
        if (i < RACE_IDS && t->result[i] == AW_CLAIM_ACQUIRED) {
            batch[n++] = (aw_complete){
                .key = race_key(t, "dedup", t->sh->ids[i]),
                .token = t->token[i],
                .source = {.topic = "race", .partition = t->index, .offset = (int64_t)i},
                .summary = summary,
                .window_ms = CONF_LONG_TTL_MS};
        }
        if (n == RACE_BATCH || (i == RACE_IDS && n > 0)) {
            aw_status rc = complete_batch_retrying(ss, batch, n, &err);
            if (rc != AW_OK)
                race_fail(t, rc, "complete_batch", &err);
            for (size_t j = 0; j < n && t->rc == AW_OK; j++)
                if (batch[j].stale)
                    race_fail(t, AW_CONFLICT, "complete of an acquired lease was stale", NULL);
            n = 0;
        }
    }
}

static void race_claim_thread(race_thread *t, aw_state_session *ss)
{
    race_claim_all(t, ss);
    if (t->rc == AW_OK)
        race_complete_wins(t, ss);
}

/* The winner of identity i and its token; fails unless exactly one thread
 * acquired it and every other observation names that same token. */
static int race_winner(const race_thread *ts, size_t i, uint64_t *token)
{
    int winner = -1, acquired = 0;
    for (int t = 0; t < RACE_THREADS; t++) {
        if (ts[t].result[i] == AW_CLAIM_ACQUIRED) {
            acquired++;
            winner = t;
            *token = ts[t].token[i];
        }
    }
    if (acquired != 1)
        fail_msg("identity %zu acquired %d times", i, acquired);
    for (int t = 0; t < RACE_THREADS; t++)
        if (ts[t].token[i] != *token)
            fail_msg("identity %zu: thread %d saw token %" PRIu64 ", winner has %" PRIu64, i, t,
                     ts[t].token[i], *token);
    return winner;
}

static void test_race_claim(conf_fixture *fx)
{
    race_shared *sh = calloc(1, sizeof(*sh));
    race_thread *ts = calloc(RACE_THREADS, sizeof(*ts));
    assert_non_null(sh);
    assert_non_null(ts);
    for (size_t i = 0; i < RACE_IDS; i++)
        snprintf(sh->ids[i], sizeof(sh->ids[i]), "race-%04zu", i);
    race_run(fx, sh, ts, race_claim_thread);

    aw_claim batch[RACE_BATCH];
    for (size_t off = 0; off < RACE_IDS; off += RACE_BATCH) {
        memset(batch, 0, sizeof(batch));
        for (size_t i = 0; i < RACE_BATCH; i++) {
            batch[i].key = conf_key_in(fx, "dedup", sh->ids[off + i]);
            batch[i].lease_ms = CONF_LONG_TTL_MS;
        }
        assert_ok(fx, aw_state_claim_batch(fx->ss, batch, RACE_BATCH, &fx->err));
        for (size_t i = 0; i < RACE_BATCH; i++) {
            uint64_t token = 0;
            int w = race_winner(ts, off + i, &token);
            char summary[32];
            snprintf(summary, sizeof(summary), "{\"thread\":%d}", w);
            assert_int_equal(batch[i].result, AW_CLAIM_DONE);
            assert_int_equal(batch[i].done_token, token);
            assert_int_equal(batch[i].done_partition, w);
            assert_int_equal(batch[i].done_offset, off + i);
            assert_string_equal(batch[i].done_topic, "race");
            assert_string_equal(batch[i].done_summary, summary);
            aw_claim_clear(&batch[i]);
        }
    }
    free(ts);
    free(sh);
}

static void race_increment_thread(race_thread *t, aw_state_session *ss)
{
    aw_error err = {0};
    aw_state_key k = race_key(t, CONF_KIND, "hammered");
    for (int i = 0; i < HAMMER_OPS && t->rc == AW_OK; i++) {
        int64_t v = 0;
        aw_status rc = aw_state_increment(ss, &k, 1, 0, &v, &err);
        if (rc != AW_OK)
            race_fail(t, rc, "increment", &err);
        else if (v < 1 || v > RACE_THREADS * HAMMER_OPS)
            race_fail(t, AW_INTERNAL, "increment returned a value out of range", NULL);
        else
            atomic_fetch_add(&t->sh->seen[v - 1], 1);
    }
}

static void test_race_increment(conf_fixture *fx)
{
    race_shared *sh = calloc(1, sizeof(*sh));
    race_thread *ts = calloc(RACE_THREADS, sizeof(*ts));
    assert_non_null(sh);
    assert_non_null(ts);
    race_run(fx, sh, ts, race_increment_thread);
    /* Atomic adds: every intermediate value was returned exactly once. */
    for (int i = 0; i < RACE_THREADS * HAMMER_OPS; i++)
        if (atomic_load(&sh->seen[i]) != 1)
            fail_msg("value %d returned %d times", i + 1, (int)atomic_load(&sh->seen[i]));
    char want[32];
    snprintf(want, sizeof(want), "%d", RACE_THREADS * HAMMER_OPS);
    aw_state_key k = conf_key(fx, "hammered");
    conf_expect(fx, &k, want, (uint64_t)RACE_THREADS * HAMMER_OPS);
    free(ts);
    free(sh);
}

/* Read-modify-write through compare_and_swap until CAS_WINS updates landed. */
static void race_cas_thread(race_thread *t, aw_state_session *ss)
{
    aw_error err = {0};
    aw_state_key k = race_key(t, CONF_KIND, "cas-counter");
    int64_t deadline = aw_mono_now_ms() + SPIN_LIMIT_MS;
    while (t->wins < CAS_WINS && t->rc == AW_OK) {
        aw_state_value v = {0};
        uint64_t cur = 0;
        long long n = 0;
        aw_status rc = aw_state_get(ss, &k, &v, &err);
        if (rc == AW_OK)
            n = strtoll(v.data, NULL, 10);
        else if (rc != AW_NOT_FOUND)
            race_fail(t, rc, "get", &err);
        char next[32];
        int len = snprintf(next, sizeof(next), "%lld", n + 1);
        rc = aw_state_compare_and_swap(ss, &k, v.version, next, (size_t)len, 0, &cur, &err);
        aw_state_value_clear(&v);
        if (rc == AW_OK)
            t->wins++;
        else if (rc != AW_CONFLICT)
            race_fail(t, rc, "compare_and_swap", &err);
        else if (aw_mono_now_ms() > deadline)
            race_fail(t, AW_INTERNAL, "no CAS progress within the bound", NULL);
    }
}

static void test_race_cas(conf_fixture *fx)
{
    race_shared *sh = calloc(1, sizeof(*sh));
    race_thread *ts = calloc(RACE_THREADS, sizeof(*ts));
    assert_non_null(sh);
    assert_non_null(ts);
    race_run(fx, sh, ts, race_cas_thread);
    char want[32];
    snprintf(want, sizeof(want), "%d", RACE_THREADS * CAS_WINS);
    aw_state_key k = conf_key(fx, "cas-counter");
    /* No lost update: the value and the version both count every win. */
    conf_expect(fx, &k, want, (uint64_t)RACE_THREADS * CAS_WINS);
    free(ts);
    free(sh);
}

/* Concurrent upserts: each write gets its own version (no separate,
 * non-atomic read of the old one). */
static void race_set_thread(race_thread *t, aw_state_session *ss)
{
    aw_error err = {0};
    aw_state_key k = race_key(t, CONF_KIND, "set-race");
    for (int i = 0; i < SET_OPS && t->rc == AW_OK; i++) {
        uint64_t v = 0;
        aw_status rc = aw_state_set(ss, &k, "x", 1, 0, &v, &err);
        if (rc != AW_OK)
            race_fail(t, rc, "set", &err);
        else if (v < 1 || v > RACE_THREADS * SET_OPS)
            race_fail(t, AW_INTERNAL, "set returned a version out of range", NULL);
        else
            atomic_fetch_add(&t->sh->seen[v - 1], 1);
    }
}

static void test_race_set_versions(conf_fixture *fx)
{
    race_shared *sh = calloc(1, sizeof(*sh));
    race_thread *ts = calloc(RACE_THREADS, sizeof(*ts));
    assert_non_null(sh);
    assert_non_null(ts);
    race_run(fx, sh, ts, race_set_thread);
    for (int i = 0; i < RACE_THREADS * SET_OPS; i++)
        if (atomic_load(&sh->seen[i]) != 1)
            fail_msg("version %d returned %d times", i + 1, (int)atomic_load(&sh->seen[i]));
    aw_state_key k = conf_key(fx, "set-race");
    conf_expect(fx, &k, "x", (uint64_t)RACE_THREADS * SET_OPS);
    free(ts);
    free(sh);
}

/* Take the same lock LOCK_WINS times; inside, check nobody else is inside
 * and that tokens grow in the order the lock was held. */
static void race_lock_thread(race_thread *t, aw_state_session *ss)
{
    aw_error err = {0};
    aw_state_key k = race_key(t, "lock", "contended");
    race_shared *sh = t->sh;
    int64_t deadline = aw_mono_now_ms() + SPIN_LIMIT_MS;
    while (t->wins < LOCK_WINS && t->rc == AW_OK) {
        uint64_t tok = 0;
        aw_status rc = aw_state_lock_acquire(ss, &k, CONF_LONG_TTL_MS, &tok, &err);
        if (rc == AW_CONFLICT) {
            if (aw_mono_now_ms() > deadline)
                race_fail(t, AW_INTERNAL, "lock not obtained within the bound", NULL);
            sched_yield();
            continue;
        }
        if (rc != AW_OK) {
            race_fail(t, rc, "lock_acquire", &err);
            break;
        }
        if (atomic_fetch_add(&sh->holders, 1) != 0)
            atomic_fetch_add(&sh->exclusion_broken, 1);
        if (atomic_exchange(&sh->last_token, tok) >= tok)
            atomic_fetch_add(&sh->order_broken, 1);
        atomic_fetch_sub(&sh->holders, 1);
        rc = aw_state_lock_release(ss, &k, tok, &err);
        if (rc != AW_OK)
            race_fail(t, rc, "lock_release by the holder", &err);
        t->wins++;
    }
}

static void test_race_lock(conf_fixture *fx)
{
    race_shared *sh = calloc(1, sizeof(*sh));
    race_thread *ts = calloc(RACE_THREADS, sizeof(*ts));
    assert_non_null(sh);
    assert_non_null(ts);
    race_run(fx, sh, ts, race_lock_thread);
    assert_int_equal(atomic_load(&sh->exclusion_broken), 0);
    assert_int_equal(atomic_load(&sh->order_broken), 0);
    free(ts);
    free(sh);
}

/* ---- claims racing renewals ------------------------------------------------
 *
 * RACE_THREADS threads claim the same RENEW_IDS identities over and over
 * with a short lease and renew what they hold in batches, so claims meet
 * renewals and takeovers happen. A holder gives its lease up after
 * RENEW_KEEP renewals (it stops renewing; the lease expires); a lease whose
 * renewal came back stale is given up too. Once a thread's claim shows a
 * newer token for an identity it gave up, it renews its old token once
 * more, in its next batch: that late renewal must be stale, whatever the
 * timing (tokens only grow, so the old one cannot hold the lease again).
 * Every thread logs its acquisitions (when the answer came) and renewals
 * (when the request left); afterwards no renewal of a token may have
 * succeeded when it was sent after a newer token of the identity had been
 * acquired. */

typedef struct renew_event {
    uint32_t id;
    uint64_t token;
    int64_t at; /* acquired: answer received; renewed: request sent */
} renew_event;

typedef struct renew_log {
    size_t nacq, nren;
    renew_event acq[RENEW_MAX_EVENTS];
    renew_event ren[RENEW_MAX_EVENTS];
} renew_log;

/* The same retry as claim_batch_retrying: a failed renewal batch counts for
 * nothing and is sent again. */
static aw_status renew_batch_retrying(aw_state_session *ss, aw_lease_renewal *r, size_t n,
                                      int64_t lease_ms, aw_error *err)
{
    aw_status rc = AW_OK;
    for (int attempt = 1; attempt <= 20; attempt++) {
        rc = aw_state_lease_renew_batch(ss, r, n, lease_ms, err);
        if (rc != AW_TRANSIENT || !err->retriable)
            break;
        aw_sleep_ms(attempt * 5);
    }
    return rc;
}

static bool renew_log_add(race_thread *t, renew_event *ev, size_t *n, uint32_t id,
                          uint64_t token, int64_t at)
{
    if (*n == RENEW_MAX_EVENTS) {
        race_fail(t, AW_INTERNAL, "renew race: event log full", NULL);
        return false;
    }
    ev[(*n)++] = (renew_event){id, token, at};
    return true;
}

/* What one thread keeps per identity. */
typedef struct renew_hold {
    uint64_t held;      /* our live lease's token, 0 = none */
    int kept;           /* renewals of it so far */
    uint64_t given_up;  /* a token we stopped renewing, 0 = none */
} renew_hold;

/* Claim every identity; book acquisitions, and queue in r the late
 * renewals of given-up tokens that a newer token has replaced. */
static size_t renew_race_claim(race_thread *t, aw_state_session *ss, renew_hold *h,
                               aw_lease_renewal *r, bool *late, aw_error *err)
{
    renew_log *log = &t->sh->renew[t->index];
    aw_claim c[RENEW_IDS];
    memset(c, 0, sizeof(c));
    for (size_t i = 0; i < RENEW_IDS; i++) {
        c[i].key = race_key(t, "dedup", t->sh->ids[i]);
        c[i].lease_ms = RENEW_LEASE_MS;
    }
    aw_status rc = claim_batch_retrying(ss, c, RENEW_IDS, err);
    int64_t at = aw_mono_now_ms();
    size_t m = 0;
    if (rc != AW_OK)
        race_fail(t, rc, "claim_batch", err);
    for (size_t i = 0; i < RENEW_IDS && rc == AW_OK; i++) {
        uint64_t tok = c[i].result == AW_CLAIM_DONE ? c[i].done_token : c[i].token;
        if (c[i].result == AW_CLAIM_ACQUIRED) {
            h[i] = (renew_hold){.held = tok, .given_up = h[i].given_up};
            if (!renew_log_add(t, log->acq, &log->nacq, (uint32_t)i, tok, at))
                break;
        }
        if (h[i].given_up && tok > h[i].given_up) {
            late[m] = true;
            r[m++] = (aw_lease_renewal){.key = c[i].key, .token = h[i].given_up};
            h[i].given_up = 0;
        }
        aw_claim_clear(&c[i]);
    }
    return m;
}

static void race_renew_thread(race_thread *t, aw_state_session *ss)
{
    renew_log *log = &t->sh->renew[t->index];
    renew_hold h[RENEW_IDS] = {{0}};
    aw_lease_renewal r[2 * RENEW_IDS];
    bool late[2 * RENEW_IDS];
    size_t idx[2 * RENEW_IDS];
    aw_error err = {0};
    int64_t deadline = aw_mono_now_ms() + SPIN_LIMIT_MS;
    while (t->rc == AW_OK && atomic_load(&t->sh->late_refused) < RENEW_LATE) {
        if (aw_mono_now_ms() > deadline) {
            race_fail(t, AW_INTERNAL, "too few late renewals within the bound", NULL);
            break;
        }
        size_t m = renew_race_claim(t, ss, h, r, late, &err);
        for (size_t j = 0; j < m; j++)
            idx[j] = SIZE_MAX; /* late ones: their identity is in the key */
        for (size_t i = 0; i < RENEW_IDS && t->rc == AW_OK; i++) {
            if (!h[i].held)
                continue;
            if (h[i].kept == RENEW_KEEP) { /* give it up: let it expire */
                h[i].given_up = h[i].held;
                h[i].held = 0;
                continue;
            }
            late[m] = false;
            idx[m] = i;
            r[m++] = (aw_lease_renewal){.key = race_key(t, "dedup", t->sh->ids[i]),
                                        .token = h[i].held};
        }
        if (t->rc != AW_OK || m == 0) {
            sched_yield();
            continue;
        }
        int64_t sent = aw_mono_now_ms();
        aw_status rc = renew_batch_retrying(ss, r, m, RENEW_LEASE_MS, &err);
        if (rc != AW_OK) {
            race_fail(t, rc, "lease_renew_batch", &err);
            break;
        }
        for (size_t j = 0; j < m && t->rc == AW_OK; j++) {
            if (late[j]) {
                if (!r[j].stale)
                    race_fail(t, AW_INTERNAL, "a late renewal of a replaced token succeeded",
                              NULL);
                atomic_fetch_add(&t->sh->late_refused, 1);
            } else if (r[j].stale) { /* lost (expired): give it up */
                h[idx[j]].given_up = h[idx[j]].held;
                h[idx[j]].held = 0;
            } else {
                h[idx[j]].kept++;
                renew_log_add(t, log->ren, &log->nren, (uint32_t)idx[j], r[j].token, sent);
            }
        }
    }
}

static void test_race_renew(conf_fixture *fx)
{
    race_shared *sh = calloc(1, sizeof(*sh));
    race_thread *ts = calloc(RACE_THREADS, sizeof(*ts));
    renew_log *logs = calloc(RACE_THREADS, sizeof(*logs));
    assert_non_null(sh);
    assert_non_null(ts);
    assert_non_null(logs);
    sh->renew = logs;
    for (size_t i = 0; i < RENEW_IDS; i++)
        snprintf(sh->ids[i], sizeof(sh->ids[i]), "renew-%02zu", i);
    race_run(fx, sh, ts, race_renew_thread);
    size_t nacq = 0, nren = 0;
    for (int a = 0; a < RACE_THREADS; a++) {
        nacq += logs[a].nacq;
        nren += logs[a].nren;
        for (size_t i = 0; i < logs[a].nren; i++) {
            const renew_event *rn = &logs[a].ren[i];
            for (int b = 0; b < RACE_THREADS; b++)
                for (size_t j = 0; j < logs[b].nacq; j++) {
                    const renew_event *ac = &logs[b].acq[j];
                    if (ac->id == rn->id && ac->token > rn->token && ac->at < rn->at)
                        fail_msg("identity %u: token %" PRIu64 " renewed (sent at %" PRId64
                                 ") after token %" PRIu64 " was acquired (at %" PRId64 ")",
                                 rn->id, rn->token, rn->at, ac->token, ac->at);
                }
        }
    }
    printf("[   INFO   ] renew race: %zu acquisitions, %zu renewals, %d late renewals refused\n",
           nacq, nren, atomic_load(&sh->late_refused));
    assert_true(nren > 0);
    free(logs);
    free(ts);
    free(sh);
}

/* The due race: RACE_THREADS threads, each with its own session, take from
 * one pool of DUE_RACE_ITEMS items in small batches under long leases and
 * finish each; every item must be taken exactly once, and every done of
 * one's own lease must succeed. seen[i] counts the takes of item i. */
#define DUE_RACE_ITEMS 500
#define DUE_RACE_BATCH 8

static aw_status due_take_retrying(aw_state_session *ss, const char *ns, aw_due_item *out,
                                   size_t *n, aw_error *err)
{
    aw_status rc = AW_OK;
    for (int attempt = 1; attempt <= 20; attempt++) {
        rc = aw_state_due_take(ss, ns, DUE_KIND, DUE_RACE_ITEMS, DUE_RACE_BATCH,
                               CONF_LONG_TTL_MS, out, n, err);
        if (rc != AW_TRANSIENT || !err->retriable)
            break;
        aw_sleep_ms(attempt * 5);
    }
    return rc;
}

static void race_due_thread(race_thread *t, aw_state_session *ss)
{
    aw_error err = {0};
    aw_due_item out[DUE_RACE_BATCH];
    int64_t deadline = aw_mono_now_ms() + SPIN_LIMIT_MS;
    for (;;) {
        size_t n = 0;
        aw_status rc = due_take_retrying(ss, t->sh->ns, out, &n, &err);
        if (rc != AW_OK) {
            race_fail(t, rc, "due_take", &err);
            return;
        }
        if (n == 0)
            return; /* every item is taken (leases outlive the race) */
        for (size_t i = 0; i < n; i++) {
            int idx = atoi(out[i].id + 4); /* "due-NNNN" */
            if (idx < 0 || idx >= DUE_RACE_ITEMS || strncmp(out[i].id, "due-", 4) != 0)
                race_fail(t, AW_INTERNAL, "due_take returned a foreign item", NULL);
            else
                atomic_fetch_add(&t->sh->seen[idx], 1);
            aw_state_key k = {.ns = t->sh->ns, .tenant = out[i].tenant, .kind = DUE_KIND,
                              .id = out[i].id};
            rc = aw_state_due_done(ss, &k, out[i].token, &err);
            if (rc != AW_OK)
                race_fail(t, rc, "due_done of an item just taken", &err);
            else
                t->wins++;
            aw_due_item_clear(&out[i]);
        }
        if (aw_mono_now_ms() > deadline) {
            race_fail(t, AW_TRANSIENT, "due race still running", NULL);
            return;
        }
    }
}

static void test_race_due(conf_fixture *fx)
{
    conf_due_require(fx);
    race_shared *sh = calloc(1, sizeof(*sh));
    race_thread *ts = calloc(RACE_THREADS, sizeof(*ts));
    assert_non_null(sh);
    assert_non_null(ts);
    char id[24];
    for (int i = 0; i < DUE_RACE_ITEMS; i++) {
        snprintf(id, sizeof(id), "due-%04d", i);
        conf_due_put(fx, id, i % 37, "x");
    }
    int64_t t0 = aw_mono_now_ms();
    race_run(fx, sh, ts, race_due_thread);
    int64_t ms = aw_mono_now_ms() - t0;
    int total = 0, busiest = 0;
    for (int i = 0; i < RACE_THREADS; i++) {
        total += ts[i].wins;
        busiest = ts[i].wins > busiest ? ts[i].wins : busiest;
    }
    for (int i = 0; i < DUE_RACE_ITEMS; i++)
        if (atomic_load(&sh->seen[i]) != 1)
            fail_msg("due item %d taken %d times, want exactly once", i,
                     (int)atomic_load(&sh->seen[i]));
    assert_int_equal(total, DUE_RACE_ITEMS);
    printf("[   INFO   ] due race: %d items by %d threads in %" PRId64 " ms (busiest %d)\n",
           total, RACE_THREADS, ms, busiest);
    aw_due_item out[DUE_MAX];
    assert_int_equal(conf_due_take(fx, INT64_MAX / 2, DUE_MAX, 1000, out), 0);
    free(ts);
    free(sh);
}

/* ---- cross-process ------------------------------------------------------------
 *
 * Scale-out proven: XPROC_CHILDREN forked processes, each creating its own
 * backend from the run's options (as separate worker replicas would), race
 * to claim the same XPROC_IDS identities in batches of XPROC_BATCH, then
 * complete what they won. Exactly one process may get ACQUIRED per
 * identity; every other observation (BUSY or DONE) must name the winner's
 * token; afterwards every identity is DONE with the winner's record.
 *
 * Fork safety: the test process is single-threaded here (every earlier
 * race joined its threads), so no other thread can hold a mutex at fork
 * time. A child never returns into cmocka: it creates its own backend and
 * session (nothing of the parent's is used), writes a binary report to its
 * pipe and leaves with _exit. A start pipe that the parent closes releases
 * all children at once after each said it is ready (no sleeping). */

#define XPROC_CHILDREN 3
#define XPROC_IDS 1000
#define XPROC_BATCH 50
#define XPROC_WAIT_MS 120000 /* bound on the whole race */

typedef struct xproc_report {
    int32_t rc; /* aw_status of the child's first failure, AW_OK if none */
    char msg[300];
    uint8_t result[XPROC_IDS];  /* aw_claim_result */
    uint64_t token[XPROC_IDS];  /* ACQUIRED/BUSY: token; DONE: done_token */
    uint32_t acquired;
    uint32_t busy;              /* identities found leased by another process */
    uint32_t stale;             /* completes of its own leases found stale */
} xproc_report;

/* A backend for the run, as the group setup makes it: through the registry
 * for registered drivers, directly otherwise. */
static aw_status conf_backend_new(aw_state **out, aw_error *err)
{
    const aw_state_driver *d = g_run.driver;
    *out = NULL;
    if (aw_state_driver_find(d->name) == d)
        return aw_state_new(d->name, &g_run.opts, out, err);
    aw_state *st = calloc(1, sizeof(*st));
    if (!st)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    st->driver = d;
    aw_status rc = d->create(&g_run.opts, &st->backend, err);
    if (rc != AW_OK) {
        free(st);
        return rc;
    }
    *out = st;
    return AW_OK;
}

static void xproc_fail(xproc_report *rep, aw_status rc, const char *what, const aw_error *err)
{
    if (rep->rc != AW_OK)
        return;
    rep->rc = rc != AW_OK ? rc : AW_INTERNAL;
    snprintf(rep->msg, sizeof(rep->msg), "%s: %s (%s)", what, aw_status_name(rc),
             err ? err->msg : "");
}

static void xproc_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the parent reports the short read */
        p += n;
        len -= (size_t)n;
    }
}

static aw_state_key xproc_key(const char *ns, const char *id)
{
    return (aw_state_key){.ns = ns, .tenant = CONF_TENANT, .kind = "dedup", .id = id};
}

/* Each process claims the identities in its own shuffled order (seeded by
 * its index): walking them in one shared order, the process that starts
 * first stays ahead and wins whole batches, a relay rather than a race.
 * Shuffled, the processes collide on identities all along, inside batches. */
static void xproc_order(size_t *order, int index)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(index + 1);
    for (size_t i = 0; i < XPROC_IDS; i++)
        order[i] = i;
    for (size_t i = XPROC_IDS - 1; i > 0; i--) {
        x ^= x << 13; /* xorshift64 */
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % (i + 1));
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

static void xproc_claim_all(xproc_report *rep, aw_state_session *ss, const char *ns,
                            char (*ids)[24], int index)
{
    aw_error err = {0};
    aw_claim batch[XPROC_BATCH];
    size_t order[XPROC_IDS];
    xproc_order(order, index);
    for (size_t off = 0; off < XPROC_IDS && rep->rc == AW_OK; off += XPROC_BATCH) {
        memset(batch, 0, sizeof(batch));
        for (size_t i = 0; i < XPROC_BATCH; i++) {
            batch[i].key = xproc_key(ns, ids[order[off + i]]);
            batch[i].lease_ms = CONF_LONG_TTL_MS;
        }
        aw_status rc = claim_batch_retrying(ss, batch, XPROC_BATCH, &err);
        if (rc != AW_OK) {
            xproc_fail(rep, rc, "claim_batch", &err);
            break;
        }
        for (size_t i = 0; i < XPROC_BATCH; i++) {
            size_t id = order[off + i];
            rep->result[id] = (uint8_t)batch[i].result;
            rep->token[id] =
                batch[i].result == AW_CLAIM_DONE ? batch[i].done_token : batch[i].token;
            rep->acquired += batch[i].result == AW_CLAIM_ACQUIRED;
            rep->busy += batch[i].result == AW_CLAIM_BUSY;
            aw_claim_clear(&batch[i]);
        }
    }
}

static void xproc_complete_wins(xproc_report *rep, aw_state_session *ss, const char *ns,
                                char (*ids)[24], int index)
{
    aw_error err = {0};
    aw_complete batch[XPROC_BATCH];
    char summary[32];
    size_t n = 0;
    snprintf(summary, sizeof(summary), "{\"process\":%d}", index);
    for (size_t i = 0; i <= XPROC_IDS && rep->rc == AW_OK; i++) {
        if (i < XPROC_IDS && rep->result[i] == AW_CLAIM_ACQUIRED)
            batch[n++] = (aw_complete){.key = xproc_key(ns, ids[i]),
                                       .token = rep->token[i],
                                       .source = {.topic = "xproc",
                                                  .partition = index,
                                                  .offset = (int64_t)i},
                                       .summary = summary,
                                       .window_ms = CONF_LONG_TTL_MS};
        if (n == XPROC_BATCH || (i == XPROC_IDS && n > 0)) {
            aw_status rc = complete_batch_retrying(ss, batch, n, &err);
            if (rc != AW_OK)
                xproc_fail(rep, rc, "complete_batch", &err);
            for (size_t j = 0; j < n && rc == AW_OK; j++)
                rep->stale += batch[j].stale;
            n = 0;
        }
    }
}

/* The child: never returns. */
/* The due race of a child: take from the pool (ns, DUE_KIND) of items
 * "xproc-NNNN" in batches under long leases until nothing is left, finish
 * each; result[i] counts this process's takes of item i, token[i] the last
 * token, acquired the takes, stale the dones refused. */
static void xproc_due_all(xproc_report *rep, aw_state_session *ss, const char *ns)
{
    aw_error err = {0};
    aw_due_item out[XPROC_BATCH];
    int64_t deadline = aw_mono_now_ms() + XPROC_WAIT_MS;
    for (;;) {
        size_t n = 0;
        aw_status rc = aw_state_due_take(ss, ns, DUE_KIND, XPROC_IDS, XPROC_BATCH,
                                         CONF_LONG_TTL_MS, out, &n, &err);
        if (rc != AW_OK) {
            xproc_fail(rep, rc, "due_take", &err);
            return;
        }
        if (n == 0)
            return;
        for (size_t i = 0; i < n; i++) {
            long idx = strncmp(out[i].id, "xproc-", 6) == 0 ? atol(out[i].id + 6) : -1;
            if (idx < 0 || idx >= XPROC_IDS) {
                xproc_fail(rep, AW_INTERNAL, "due_take returned a foreign item", NULL);
            } else {
                rep->result[idx]++;
                rep->token[idx] = out[i].token;
                rep->acquired++;
            }
            aw_state_key k = {.ns = ns, .tenant = out[i].tenant, .kind = DUE_KIND,
                              .id = out[i].id};
            if (aw_state_due_done(ss, &k, out[i].token, &err) != AW_OK)
                rep->stale++;
            aw_due_item_clear(&out[i]);
        }
        if (aw_mono_now_ms() > deadline) {
            xproc_fail(rep, AW_TRANSIENT, "due race still running", NULL);
            return;
        }
    }
}

static void xproc_child(int index, const char *ns, char (*ids)[24], bool due, int ready_fd,
                        int go_fd, int report_fd)
{
    static xproc_report rep; /* this process's own copy after fork */
    aw_state *st = NULL;
    aw_state_session *ss = NULL;
    aw_error err = {0};
    char go;
    memset(&rep, 0, sizeof(rep));
    aw_status rc = conf_backend_new(&st, &err);
    if (rc != AW_OK)
        xproc_fail(&rep, rc, "create", &err);
    else if ((rc = aw_state_session_open(st, &ss, &err)) != AW_OK)
        xproc_fail(&rep, rc, "session_open", &err);
    /* Ready (or failed: say so anyway, so the parent does not wait). */
    xproc_write_all(ready_fd, "r", 1);
    ssize_t n;
    while ((n = read(go_fd, &go, 1)) < 0 && errno == EINTR)
        ;
    if (rep.rc == AW_OK && due)
        xproc_due_all(&rep, ss, ns);
    if (rep.rc == AW_OK && !due)
        xproc_claim_all(&rep, ss, ns, ids, index);
    if (rep.rc == AW_OK && !due)
        xproc_complete_wins(&rep, ss, ns, ids, index);
    xproc_write_all(report_fd, &rep, sizeof(rep));
    aw_state_session_close(ss);
    aw_state_destroy(st);
    _exit(0);
}

/* Read exactly len bytes before the deadline. */
static bool xproc_read_all(int fd, void *buf, size_t len, int64_t deadline)
{
    char *p = buf;
    while (len > 0) {
        int64_t left = deadline - aw_mono_now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return false;
        if (pr == 0)
            continue;
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false; /* EOF: the child died before reporting */
        p += r;
        len -= (size_t)r;
    }
    return true;
}

/* Reap a child before the deadline; kill it (it is ours) past it.
 * Returns its wait status, or -1 if it had to be killed. */
static int xproc_reap(pid_t pid, int64_t deadline)
{
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (aw_mono_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        /* Poll pacing while a child finishes its last calls. */
        aw_sleep_ms(CONF_POLL_MS);
    }
}

typedef struct xproc_run {
    pid_t pid[XPROC_CHILDREN];
    int report_fd[XPROC_CHILDREN];
    int nstarted;
    xproc_report rep[XPROC_CHILDREN];
    char ids[XPROC_IDS][24];
    bool due; /* the due race instead of the claim race */
} xproc_run;

/* Fork the children; on failure the ones started are killed and reaped. */
static bool xproc_start(conf_fixture *fx, xproc_run *run, char *why, size_t whysz)
{
    int ready[2] = {-1, -1}, go[2] = {-1, -1};
    bool ok = pipe(ready) == 0 && pipe(go) == 0;
    fflush(stdout); /* children must not inherit unflushed output */
    fflush(stderr);
    for (int i = 0; ok && i < XPROC_CHILDREN; i++) {
        int rep[2];
        if (pipe(rep) != 0) {
            ok = false;
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(ready[0]);
            close(go[1]); /* else the start pipe never reaches EOF */
            close(rep[0]);
            xproc_child(i, fx->ns, run->ids, run->due, ready[1], go[0], rep[1]);
        }
        close(rep[1]); /* later children must not hold this child's pipe */
        if (pid < 0) {
            close(rep[0]);
            ok = false;
            break;
        }
        run->pid[i] = pid;
        run->report_fd[i] = rep[0];
        run->nstarted++;
    }
    if (ready[1] >= 0)
        close(ready[1]);
    if (go[0] >= 0)
        close(go[0]);
    /* Wait until every child has its backend and session, then start all. */
    char buf[XPROC_CHILDREN];
    int64_t deadline = aw_mono_now_ms() + CONF_WAIT_MS;
    if (ok && !xproc_read_all(ready[0], buf, XPROC_CHILDREN, deadline)) {
        snprintf(why, whysz, "children not ready within %d ms", CONF_WAIT_MS);
        ok = false;
    } else if (!ok) {
        snprintf(why, whysz, "pipe/fork failed: %s", strerror(errno));
    }
    if (ready[0] >= 0)
        close(ready[0]);
    if (go[1] >= 0)
        close(go[1]); /* EOF on go[0]: every child starts now */
    return ok;
}

/* Start the children, collect their reports and reap them; fails the
 * test (run freed) when any of that went wrong. */
static void xproc_run_children(conf_fixture *fx, xproc_run *run)
{
    char why[200] = "";
    bool ok = xproc_start(fx, run, why, sizeof(why));
    int64_t deadline = aw_mono_now_ms() + XPROC_WAIT_MS;
    for (int i = 0; i < run->nstarted; i++) {
        if (ok && !xproc_read_all(run->report_fd[i], &run->rep[i], sizeof(run->rep[i]), deadline)) {
            snprintf(why, sizeof(why), "no complete report from child %d", i);
            ok = false;
        }
        close(run->report_fd[i]);
    }
    for (int i = 0; i < run->nstarted; i++) {
        int status = xproc_reap(run->pid[i], ok ? deadline : aw_mono_now_ms());
        if (ok && (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
            snprintf(why, sizeof(why), "child %d ended abnormally (status %d)", i, status);
            ok = false;
        }
    }
    if (!ok) {
        free(run);
        fail_msg("cross-process race: %s", why);
    }
}

static void test_xproc_claim(conf_fixture *fx)
{
    xproc_run *run = calloc(1, sizeof(*run));
    assert_non_null(run);
    for (size_t i = 0; i < XPROC_IDS; i++)
        snprintf(run->ids[i], sizeof(run->ids[i]), "xproc-%04zu", i);
    xproc_run_children(fx, run);
    uint32_t total = 0;
    for (int i = 0; i < XPROC_CHILDREN; i++) {
        if (run->rep[i].rc != AW_OK)
            fail_msg("child %d: %s", i, run->rep[i].msg);
        assert_int_equal(run->rep[i].stale, 0);
        total += run->rep[i].acquired;
    }
    /* Exactly one ACQUIRED per identity overall; everyone saw that token. */
    assert_int_equal(total, XPROC_IDS);
    uint64_t winner_token[XPROC_IDS];
    int winner[XPROC_IDS];
    for (size_t id = 0; id < XPROC_IDS; id++) {
        int acquired = 0;
        winner[id] = -1;
        for (int i = 0; i < XPROC_CHILDREN; i++)
            if (run->rep[i].result[id] == AW_CLAIM_ACQUIRED) {
                acquired++;
                winner[id] = i;
            }
        if (acquired != 1)
            fail_msg("identity %zu acquired by %d processes", id, acquired);
        winner_token[id] = run->rep[winner[id]].token[id];
        for (int i = 0; i < XPROC_CHILDREN; i++)
            if (run->rep[i].token[id] != winner_token[id])
                fail_msg("identity %zu: process %d saw token %" PRIu64 ", winner has %" PRIu64,
                         id, i, run->rep[i].token[id], winner_token[id]);
    }
    /* Then every identity is DONE with the winner's record. */
    aw_claim batch[XPROC_BATCH];
    for (size_t off = 0; off < XPROC_IDS; off += XPROC_BATCH) {
        memset(batch, 0, sizeof(batch));
        for (size_t i = 0; i < XPROC_BATCH; i++) {
            batch[i].key = xproc_key(fx->ns, run->ids[off + i]);
            batch[i].lease_ms = CONF_LONG_TTL_MS;
        }
        assert_ok(fx, aw_state_claim_batch(fx->ss, batch, XPROC_BATCH, &fx->err));
        for (size_t i = 0; i < XPROC_BATCH; i++) {
            size_t id = off + i;
            char summary[32];
            snprintf(summary, sizeof(summary), "{\"process\":%d}", winner[id]);
            assert_int_equal(batch[i].result, AW_CLAIM_DONE);
            assert_int_equal(batch[i].done_token, winner_token[id]);
            assert_int_equal(batch[i].done_partition, winner[id]);
            assert_int_equal(batch[i].done_offset, id);
            assert_string_equal(batch[i].done_topic, "xproc");
            assert_string_equal(batch[i].done_summary, summary);
            aw_claim_clear(&batch[i]);
        }
    }
    /* How the race went (printed, not asserted: scheduling decides). */
    printf("[   INFO   ] cross-process: acquired/busy/done per process:");
    for (int i = 0; i < XPROC_CHILDREN; i++)
        printf(" p%d=%u/%u/%u", i, run->rep[i].acquired, run->rep[i].busy,
               XPROC_IDS - run->rep[i].acquired - run->rep[i].busy);
    printf("\n");
    free(run);
}

/* The due race across processes: XPROC_CHILDREN processes, each its own
 * backend and session, take from one pool of XPROC_IDS items; every item is
 * taken by exactly one process, exactly once, and every done succeeds. */
static void test_xproc_due(conf_fixture *fx)
{
    conf_due_require(fx);
    xproc_run *run = calloc(1, sizeof(*run));
    assert_non_null(run);
    run->due = true;
    for (size_t i = 0; i < XPROC_IDS; i++) {
        snprintf(run->ids[i], sizeof(run->ids[i]), "xproc-%04zu", i);
        conf_due_put(fx, run->ids[i], (int64_t)(i % 50), "x");
    }
    xproc_run_children(fx, run);
    uint32_t total = 0;
    for (int i = 0; i < XPROC_CHILDREN; i++) {
        if (run->rep[i].rc != AW_OK)
            fail_msg("child %d: %s", i, run->rep[i].msg);
        assert_int_equal(run->rep[i].stale, 0);
        total += run->rep[i].acquired;
    }
    for (size_t id = 0; id < XPROC_IDS; id++) {
        int takes = 0;
        for (int i = 0; i < XPROC_CHILDREN; i++)
            takes += run->rep[i].result[id];
        if (takes != 1)
            fail_msg("due item %zu taken %d times across processes, want once", id, takes);
    }
    assert_int_equal(total, XPROC_IDS);
    aw_due_item out[DUE_MAX];
    assert_int_equal(conf_due_take(fx, INT64_MAX / 2, DUE_MAX, 1000, out), 0);
    printf("[   INFO   ] cross-process due: taken per process: p0=%u p1=%u p2=%u\n",
           run->rep[0].acquired, run->rep[1].acquired, run->rep[2].acquired);
    free(run);
}

/* ---- the tables and the runner ------------------------------------------------ */

static const conf_test kv_tests[] = {
    {"kv_missing_keys", test_kv_missing, false},
    {"kv_versions", test_kv_versions, false},
    {"kv_check_and_set", test_kv_check_and_set, false},
    {"kv_delete", test_kv_delete, false},
    {"kv_binary_values", test_kv_binary_values, false},
    {"kv_no_key_collisions", test_kv_no_key_collisions, false},
};

static const conf_test ttl_tests[] = {
    {"ttl_expiry", test_ttl_expiry, false},
    {"ttl_set_without_ttl_clears_expiry", test_ttl_set_without_ttl_clears_expiry, false},
    {"ttl_check_and_set_after_expiry", test_ttl_check_and_set_after_expiry, false},
};

static const conf_test counter_tests[] = {
    {"counter_basics", test_counter_basics, false},
    {"counter_reads_set_value", test_counter_reads_set_value, false},
    {"counter_ttl_on_create_only", test_counter_ttl_on_create_only, false},
};

static const conf_test cas_tests[] = {
    {"cas_expected_zero", test_cas_expected_zero, true},
    {"cas_versions", test_cas_versions, true},
    {"cas_after_expiry", test_cas_after_expiry, true},
};

static const conf_test scan_tests[] = {
    {"scan_literal_prefix", test_scan_literal_prefix, false},
    {"scan_isolation", test_scan_isolation, false},
    {"scan_skips_expired", test_scan_skips_expired, false},
    {"scan_values_and_stop", test_scan_values_and_stop, false},
};

static const conf_test lock_tests[] = {
    {"lock_exclusion", test_lock_exclusion, true},
    {"lock_non_holder_refused", test_lock_non_holder, true},
    {"lock_expiry", test_lock_expiry, true},
    {"lock_extend", test_lock_extend, true},
    {"lock_tokens_increase", test_lock_tokens_increase, true},
};

static const conf_test dedup_tests[] = {
    {"claim_fresh_and_busy", test_claim_fresh_and_busy, true},
    {"claim_complete_done", test_claim_complete_done, true},
    {"claim_mixed_batch", test_claim_mixed_batch, true},
    {"claim_stale_complete", test_claim_stale_complete, true},
    {"claim_expired_lease_takeover", test_claim_expired_lease_takeover, true},
    {"claim_lease_renew", test_claim_lease_renew, true},
    {"claim_lease_renew_batch", test_claim_lease_renew_batch, true},
    {"claim_lease_renew_batch_refused", test_claim_lease_renew_batch_refused, true},
    {"claim_lease_release", test_claim_lease_release, true},
    {"claim_done_expires", test_claim_done_expires, true},
    {"claim_kind_ignored", test_claim_kind_ignored, true},
};

static const conf_test due_tests[] = {
    {"due_order_and_not_yet_due", test_due_order, false},
    {"due_isolation_and_values", test_due_isolation_and_values, false},
    {"due_done_stale", test_due_done_stale, false},
    {"due_put_while_leased", test_due_put_while_leased, false},
    {"due_crash_reoffer", test_due_crash_reoffer, false},
    {"due_done_after_expiry", test_due_done_after_expiry, false},
    {"due_refused_arguments", test_due_refused_arguments, false},
    {"due_extend", test_due_extend, false},
    {"due_extend_stale", test_due_extend_stale, false},
    {"due_extend_batch", test_due_extend_batch, false},
    {"due_stats_counts", test_due_stats_counts, false},
    {"due_stats_leases", test_due_stats_leases, false},
    {"due_stats_refused_arguments", test_due_stats_refused_arguments, false},
    {"due_take_throughput", test_due_take_throughput, false},
};

static const conf_test race_tests[] = {
    {"race_claim_8x1000", test_race_claim, true},
    {"race_increment_8_threads", test_race_increment, true},
    {"race_cas_counter", test_race_cas, true},
    {"race_set_versions", test_race_set_versions, true},
    {"race_lock", test_race_lock, true},
    {"race_renew_vs_claim_8_threads", test_race_renew, true},
    {"race_due_take_8x500", test_race_due, true},
};

static const conf_test xproc_tests[] = {
    {"cross_process_claim_3x1000", test_xproc_claim, true},
    {"cross_process_due_3x1000", test_xproc_due, true},
};

#define CONF_GROUP(name, t) {name, t, sizeof(t) / sizeof((t)[0]), false}
#define CONF_RACE_GROUP(name, t) {name, t, sizeof(t) / sizeof((t)[0]), true}

static const conf_group conf_groups[] = {
    CONF_GROUP("kv", kv_tests),         CONF_GROUP("ttl", ttl_tests),
    CONF_GROUP("counters", counter_tests), CONF_GROUP("cas", cas_tests),
    CONF_GROUP("scan", scan_tests),     CONF_GROUP("locks", lock_tests),
    CONF_GROUP("dedup", dedup_tests),   CONF_GROUP("due", due_tests),
    CONF_RACE_GROUP("concurrency", race_tests),
};

/* Run only with aw_state_conformance_options.cross_process. */
static const conf_group conf_xproc_group = CONF_RACE_GROUP("cross-process", xproc_tests);

/* Group setup: a fresh backend. Registered drivers go through aw_state_new
 * (so the registry is exercised too); others are created directly. The
 * backend is kept in g_run, not in *state, because cmocka would hand a group
 * state to every test in place of the per-test initial_state. */
static int conf_group_setup(void **state)
{
    (void)state;
    aw_error err = {0};
    aw_status rc = conf_backend_new(&g_run.st, &err);
    if (rc != AW_OK) {
        print_error("cannot create state backend %s: %s (%s)\n", g_run.driver->name,
                    aw_status_name(rc), err.msg);
        return -1;
    }
    return 0;
}

static int conf_group_teardown(void **state)
{
    (void)state;
    aw_state_destroy(g_run.st);
    g_run.st = NULL;
    return 0;
}

static int conf_setup(void **state)
{
    const conf_test *t = *state;
    conf_fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->test = t;
    fx->st = g_run.st;
    if (aw_state_session_open(fx->st, &fx->ss, &fx->err) != AW_OK) {
        print_error("session_open: %s\n", fx->err.msg);
        free(fx);
        return -1;
    }
    conf_random_hex(fx->ns, sizeof(fx->ns), "awconf");
    *state = fx;
    return 0;
}

static int conf_teardown(void **state)
{
    conf_fixture *fx = *state;
    aw_state_session_close(fx->ss);
    free(fx);
    return 0;
}

/* Every test goes through here: the capability check is declared in the
 * tables, not repeated in each test. */
static void conf_run_test(void **state)
{
    conf_fixture *fx = *state;
    if (fx->test->needs_atomic && !aw_state_is_atomic(fx->st)) {
        if (g_run.unsupported < CONF_MAX_UNSUPPORTED)
            g_run.unsupported_names[g_run.unsupported] = fx->test->name;
        g_run.unsupported++;
        printf("UNSUPPORTED: %s (%s has no atomic compare-and-set)\n", fx->test->name,
               g_run.driver->name);
        fflush(stdout);
        if (!g_run.copts.best_effort_sequential || g_run.group->concurrent)
            skip();
        /* Single-threaded, the best-effort operations must still follow
         * the contract: a failure here is a bug, not eventual consistency. */
        printf("BEST-EFFORT: %s run single-threaded\n", fx->test->name);
        fflush(stdout);
    }
    fx->test->fn(fx);
}

static int conf_run_group(const conf_group *g)
{
    struct CMUnitTest *cm = calloc(g->n, sizeof(*cm));
    char name[128];
    if (!cm) {
        fprintf(stderr, "state conformance: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < g->n; i++) {
        cm[i].name = g->tests[i].name;
        cm[i].test_func = conf_run_test;
        cm[i].setup_func = conf_setup;
        cm[i].teardown_func = conf_teardown;
        cm[i].initial_state = (void *)&g->tests[i];
    }
    snprintf(name, sizeof(name), "state[%s] %s", g_run.driver->name, g->name);
    g_run.group = g;
    /* cmocka's default output does not name groups; say which run this is. */
    printf("[----------] %s\n", name);
    int failed = _cmocka_run_group_tests(name, cm, g->n, conf_group_setup, conf_group_teardown);
    free(cm);
    return failed;
}

/* One summary line naming every test not run for lack of a capability, so
 * a best-effort backend's report says what it does not guarantee. */
static void conf_print_unsupported(void)
{
    if (g_run.unsupported == 0)
        return;
    printf("[UNSUPPORTED] state[%s]: %d test(s) need atomic compare-and-set:", g_run.driver->name,
           g_run.unsupported);
    for (int i = 0; i < g_run.unsupported && i < CONF_MAX_UNSUPPORTED; i++)
        printf("%s %s", i ? "," : "", g_run.unsupported_names[i]);
    printf("\n");
    fflush(stdout);
}

int aw_state_conformance_run_with(const char *backend_name, const aw_state_driver *driver,
                                  const aw_state_options *opts,
                                  const aw_state_conformance_options *copts, int *unsupported)
{
    static const aw_state_options defaults = {.url = "", .key_prefix = ""};
    static const aw_state_conformance_options default_copts = {.cross_process = false};
    int failed = 0;
    if (!driver) {
        driver = aw_state_driver_find(backend_name);
        if (!driver) {
            fprintf(stderr, "state conformance: unknown backend \"%s\" (valid: %s)\n",
                    backend_name ? backend_name : "", aw_state_driver_names());
            return 1;
        }
    }
    g_run.driver = driver;
    g_run.opts = opts ? *opts : defaults;
    g_run.copts = copts ? *copts : default_copts;
    g_run.unsupported = 0;
    for (size_t i = 0; i < sizeof(conf_groups) / sizeof(conf_groups[0]); i++)
        failed += conf_run_group(&conf_groups[i]);
    if (g_run.copts.cross_process) {
        failed += conf_run_group(&conf_xproc_group);
    } else {
        printf("[----------] state[%s] %s: not run (state is not shared between processes)\n",
               driver->name, conf_xproc_group.name);
    }
    conf_print_unsupported();
    if (unsupported)
        *unsupported = g_run.unsupported;
    return failed;
}

int aw_state_conformance_run_driver(const aw_state_driver *driver, const aw_state_options *opts,
                                    int *unsupported)
{
    return aw_state_conformance_run_with(NULL, driver, opts, NULL, unsupported);
}

int aw_state_conformance_run(const char *backend_name, const aw_state_options *opts)
{
    return aw_state_conformance_run_with(backend_name, NULL, opts, NULL, NULL);
}
