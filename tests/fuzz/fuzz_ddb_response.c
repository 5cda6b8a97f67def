/* The DynamoDB answer parsers (backends/state/dynamodb/ddb_parse.c): every
 * byte of an answer comes from the network. The first input byte picks the
 * parser (and the HTTP status for the classifier), the rest is the body. */
#include "backends/state/dynamodb/ddb_parse.h"
#include "tests/fuzz/fuzz_util.h"

static int count_item(void *ud, const aw_ddb_record *r)
{
    size_t *n = ud;
    /* Borrowed for the call: read what a caller reads. */
    if (r->val && r->val_len && r->val[r->val_len] != '\0')
        abort(); /* val is documented NUL-terminated */
    return ++*n >= 50;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    unsigned pick = data[0];
    size_t len;
    char *body = aw_fuzz_body(data, size, &len);
    aw_error err = {0};
    switch (pick % 6) {
    case 0: {
        static const long statuses[] = {200, 400, 403, 404, 413, 429, 500, 503};
        bool throttled = false;
        char type[64];
        (void)aw_ddb_classify(statuses[(pick >> 3) % 8], body, len, &throttled, type,
                              sizeof type, &err);
        if (!memchr(type, '\0', sizeof type))
            abort();
        break;
    }
    case 1: {
        aw_ddb_record r;
        if (aw_ddb_parse_record(body, len, (pick >> 3) & 1 ? "Attributes" : "Item", &r, &err) ==
            AW_OK) {
            (void)aw_ddb_record_live(&r, 1764000000000);
            aw_ddb_record_clear(&r);
        }
        break;
    }
    case 2: {
        size_t n = 0;
        bool stopped = false;
        char *next = NULL;
        (void)aw_ddb_parse_query(body, len, count_item, &n, &stopped, &next, &err);
        free(next);
        break;
    }
    case 3: {
        bool active = false;
        (void)aw_ddb_parse_table(body, len, "acteon_state", &active, &err);
        break;
    }
    case 4: {
        bool enabled = false;
        (void)aw_ddb_parse_ttl(body, len, "aw_exp", &enabled, &err);
        break;
    }
    default: {
        int64_t v;
        (void)aw_ddb_parse_i64(body, len, &v);
        break;
    }
    }
    if (!memchr(err.msg, '\0', sizeof err.msg))
        abort();
    free(body);
    return 0;
}
