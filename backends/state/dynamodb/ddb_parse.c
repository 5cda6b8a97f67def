/* See ddb_parse.h. */
#include "backends/state/dynamodb/ddb_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "backends/state/dynamodb/ddb_attrs.h"

int aw_ddb_parse_i64(const char *s, size_t len, int64_t *out)
{
    char tmp[24];
    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (i == 0 && s[i] == '-' && len > 1)))
            return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

static const struct {
    const char *type;
    aw_status status;
    bool throttled;
} error_types[] = {
    {"ConditionalCheckFailedException", AW_CONFLICT, false},
    {"ResourceInUseException", AW_CONFLICT, false},
    {"ProvisionedThroughputExceededException", AW_TRANSIENT, true},
    {"ThrottlingException", AW_TRANSIENT, true},
    {"RequestLimitExceeded", AW_TRANSIENT, true},
    {"InternalServerError", AW_TRANSIENT, false},
    {"InternalFailure", AW_TRANSIENT, false},
    {"ServiceUnavailable", AW_TRANSIENT, false},
    {"TransactionConflictException", AW_TRANSIENT, false},
    {"ResourceNotFoundException", AW_NOT_FOUND, false},
    {"UnrecognizedClientException", AW_CONFIG, false},
    {"InvalidSignatureException", AW_CONFIG, false},
    {"MissingAuthenticationTokenException", AW_CONFIG, false},
    {"MissingAuthenticationToken", AW_CONFIG, false},
    {"AccessDeniedException", AW_CONFIG, false},
    {"ExpiredTokenException", AW_CONFIG, false},
    {"IncompleteSignatureException", AW_CONFIG, false},
    {"UnknownOperationException", AW_UNSUPPORTED, false},
};

aw_status aw_ddb_classify(long http, const char *body, size_t len, bool *throttled,
                          char *type_out, size_t type_sz, aw_error *err)
{
    char type[64] = "", msg[160] = "";
    if (throttled)
        *throttled = false;
    if (http >= 200 && http < 300) {
        if (type_out && type_sz)
            type_out[0] = '\0';
        return AW_OK;
    }
    json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(j, "__type"));
    const char *m = json_string_value(json_object_get(j, "message"));
    if (!m)
        m = json_string_value(json_object_get(j, "Message"));
    if (t) {
        const char *hash = strrchr(t, '#');
        snprintf(type, sizeof(type), "%s", hash ? hash + 1 : t);
    }
    if (m)
        snprintf(msg, sizeof(msg), "%s", m);
    else if (!j && body && len)
        snprintf(msg, sizeof(msg), "%.*s", (int)(len < 120 ? len : 120), body);
    json_decref(j);
    if (type_out && type_sz)
        snprintf(type_out, type_sz, "%s", type);

    aw_status st = AW_PERMANENT;
    bool thr = false, known = false;
    for (size_t i = 0; i < sizeof(error_types) / sizeof(error_types[0]); i++) {
        if (strcmp(type, error_types[i].type) == 0) {
            st = error_types[i].status;
            thr = error_types[i].throttled;
            known = true;
            break;
        }
    }
    if (!known && (http >= 500 || http == 429)) {
        st = AW_TRANSIENT;
        thr = http == 429;
    }
    if (throttled)
        *throttled = thr;
    return aw_error_set(err, st, "dynamodb: HTTP %ld %s%s%s", http, *type ? type : "error",
                        *msg ? ": " : "", msg);
}

void aw_ddb_record_clear(aw_ddb_record *r)
{
    if (!r)
        return;
    free(r->val);
    free(r->sum);
    free(r->topic);
    free(r->sk);
    memset(r, 0, sizeof(*r));
}

bool aw_ddb_record_live(const aw_ddb_record *r, int64_t now_ms)
{
    return r->present && (!r->has_exp || r->exp_ms > now_ms);
}

/* {"N": "123"} -> text; NULL when absent or not a number attribute. */
static const char *attr_n(const json_t *item, const char *name)
{
    return json_string_value(json_object_get(json_object_get(item, name), "N"));
}

static int attr_i64(const json_t *item, const char *name, bool *has, int64_t *out)
{
    const char *s = attr_n(item, name);
    *has = s != NULL;
    return s ? aw_ddb_parse_i64(s, strlen(s), out) : 0;
}

/* Base64 B attribute -> malloc'd NUL-terminated bytes. 0, 1 absent, -1 bad. */
static int attr_b(const json_t *item, const char *name, char **out, size_t *outlen)
{
    const char *s = json_string_value(json_object_get(json_object_get(item, name), "B"));
    if (!s)
        return 1;
    size_t n = strlen(s);
    if (n % 4)
        return -1;
    char *o = malloc(n / 4 * 3 + 1);
    if (!o)
        return -1;
    int got = n ? EVP_DecodeBlock((unsigned char *)o, (const unsigned char *)s, (int)n) : 0;
    if (got < 0) {
        free(o);
        return -1;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    if (n && s[n - 1] == '=')
        got--;
    if (n > 1 && s[n - 2] == '=')
        got--;
    o[got] = '\0';
    *out = o;
    if (outlen)
        *outlen = (size_t)got;
    return 0;
}

static aw_status record_from(const json_t *item, aw_ddb_record *r, aw_error *err)
{
    bool has;
    int64_t v = 0;
    int bad = 0;
    memset(r, 0, sizeof(*r));
    if (!json_is_object(item))
        return AW_OK;
    r->present = true;
    bad |= attr_i64(item, AW_DDB_A_EXP, &r->has_exp, &r->exp_ms);
    bad |= attr_i64(item, AW_DDB_A_VER, &has, &v);
    r->ver = (uint64_t)v;
    const char *tok = attr_n(item, AW_DDB_A_TOK);
    if (tok) {
        char *end;
        errno = 0;
        r->tok = strtoull(tok, &end, 10);
        bad |= errno || *end;
    }
    const char *st = json_string_value(json_object_get(json_object_get(item, AW_DDB_A_ST), "S"));
    r->st = st && strlen(st) == 1 ? st[0] : 0;
    const char *num = attr_n(item, AW_DDB_A_NUM);
    if (num) {
        r->is_num = true;
        bad |= aw_ddb_parse_i64(num, strlen(num), &r->num);
        r->val = strdup(num);
        r->val_len = strlen(num);
        bad |= !r->val;
    } else {
        int b = attr_b(item, AW_DDB_A_VAL, &r->val, &r->val_len);
        bad |= b < 0;
    }
    bad |= attr_b(item, AW_DDB_A_SUM, &r->sum, NULL) < 0;
    bad |= attr_b(item, AW_DDB_A_TOPIC, &r->topic, NULL) < 0;
    bad |= attr_b(item, "sk", &r->sk, &r->sk_len) < 0;
    bad |= attr_i64(item, AW_DDB_A_PART, &has, &v);
    r->part = (int32_t)v;
    bad |= attr_i64(item, AW_DDB_A_OFF, &has, &r->off);
    bad |= attr_i64(item, AW_DDB_A_DUE, &r->has_due, &r->due_ms);
    if (bad) {
        aw_ddb_record_clear(r);
        return aw_error_set(err, AW_INTERNAL, "dynamodb: malformed item in the answer");
    }
    return AW_OK;
}

aw_status aw_ddb_parse_record(const char *body, size_t len, const char *field,
                              aw_ddb_record *out, aw_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *j = json_loadb(body ? body : "", len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return aw_error_set(err, AW_INTERNAL, "dynamodb: the answer is not a JSON object");
    }
    aw_status rc = record_from(json_object_get(j, field), out, err);
    json_decref(j);
    return rc;
}

aw_status aw_ddb_parse_query(const char *body, size_t len,
                             int (*fn)(void *ud, const aw_ddb_record *r), void *ud,
                             bool *stopped, char **next, aw_error *err)
{
    return aw_ddb_parse_query_scanned(body, len, fn, ud, stopped, next, NULL, err);
}

aw_status aw_ddb_parse_query_scanned(const char *body, size_t len,
                                     int (*fn)(void *ud, const aw_ddb_record *r), void *ud,
                                     bool *stopped, char **next, uint64_t *scanned,
                                     aw_error *err)
{
    *next = NULL;
    *stopped = false;
    json_t *j = json_loadb(body ? body : "", len, 0, NULL);
    json_t *items = json_object_get(j, "Items");
    if (!json_is_array(items)) {
        json_decref(j);
        return aw_error_set(err, AW_INTERNAL, "dynamodb: Query answer without Items");
    }
    if (scanned) {
        json_int_t sc = json_integer_value(json_object_get(j, "ScannedCount"));
        *scanned = sc > 0 ? (uint64_t)sc : 0;
    }
    size_t i;
    json_t *it;
    aw_status rc = AW_OK;
    json_array_foreach(items, i, it)
    {
        aw_ddb_record r;
        if ((rc = record_from(it, &r, err)) != AW_OK)
            break;
        int stop = fn(ud, &r);
        aw_ddb_record_clear(&r);
        if (stop) {
            *stopped = true;
            break;
        }
    }
    json_t *lek = json_object_get(j, "LastEvaluatedKey");
    if (rc == AW_OK && !*stopped && json_is_object(lek)) {
        *next = json_dumps(lek, JSON_COMPACT);
        if (!*next)
            rc = aw_error_set(err, AW_NOMEM, "out of memory");
    }
    json_decref(j);
    return rc;
}

aw_status aw_ddb_parse_table(const char *body, size_t len, const char *table, bool *active,
                             aw_error *err)
{
    json_t *j = json_loadb(body ? body : "", len, 0, NULL);
    json_t *t = json_object_get(j, "Table");
    json_t *ks = json_object_get(t, "KeySchema"), *ad = json_object_get(t, "AttributeDefinitions");
    bool pk = false, sk = false;
    size_t i;
    json_t *e;
    json_array_foreach(ks, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "AttributeName"));
        const char *k = json_string_value(json_object_get(e, "KeyType"));
        if (!n || !k)
            continue;
        const char *type = NULL;
        size_t a;
        json_t *d;
        json_array_foreach(ad, a, d)
        {
            const char *dn = json_string_value(json_object_get(d, "AttributeName"));
            if (dn && strcmp(dn, n) == 0)
                type = json_string_value(json_object_get(d, "AttributeType"));
        }
        bool bin = type && strcmp(type, "B") == 0;
        pk |= strcmp(n, "pk") == 0 && strcmp(k, "HASH") == 0 && bin;
        sk |= strcmp(n, "sk") == 0 && strcmp(k, "RANGE") == 0 && bin;
    }
    const char *status = json_string_value(json_object_get(t, "TableStatus"));
    *active = status && strcmp(status, "ACTIVE") == 0;
    bool two = json_array_size(ks) == 2;
    json_decref(j);
    if (!pk || !sk || !two)
        return aw_error_set(err, AW_CONFIG,
                            "dynamodb: table %s exists but its key is not (pk B HASH, sk B "
                            "RANGE): not this backend's table",
                            table);
    return AW_OK;
}

aw_status aw_ddb_parse_ttl(const char *body, size_t len, const char *attribute, bool *enabled,
                           aw_error *err)
{
    json_t *j = json_loadb(body ? body : "", len, 0, NULL);
    json_t *d = json_object_get(j, "TimeToLiveDescription");
    const char *st = json_string_value(json_object_get(d, "TimeToLiveStatus"));
    const char *a = json_string_value(json_object_get(d, "AttributeName"));
    *enabled = st && (strcmp(st, "ENABLED") == 0 || strcmp(st, "ENABLING") == 0) && a &&
               strcmp(a, attribute) == 0;
    bool ok = json_is_object(d);
    json_decref(j);
    return ok ? AW_OK
              : aw_error_set(err, AW_INTERNAL, "dynamodb: DescribeTimeToLive answer malformed");
}
