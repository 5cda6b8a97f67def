/* The Elasticsearch response parsers: every byte of an answer comes from the
 * network. The first input byte picks the parser, the rest is the body. */
#include "backends/audit/elasticsearch/es_response.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    unsigned pick = data[0];
    size_t len;
    char *body = aw_fuzz_body(data, size, &len);
    aw_error err = {0};
    switch (pick % 7) {
    case 0: {
        char out[160];
        aw_es_error_reason(body, len, out, (pick >> 3) % sizeof out + 1);
        break;
    }
    case 1: {
        es_bulk_item items[8];
        (void)aw_es_parse_bulk(body, len, (pick >> 3) % 9, items, &err);
        break;
    }
    case 2: {
        aw_audit_page page;
        if (aw_es_parse_search(body, len, (pick >> 3) % 5 + 1, &page, &err) == AW_OK &&
            page.count > (pick >> 3) % 5 + 1)
            abort();
        /* The cursor of a page must take the caller to the next one. */
        int64_t ms;
        char id[1100];
        if (page.next_cursor &&
            aw_audit_cursor_decode(page.next_cursor, &ms, id, sizeof id) != 0) {
            fprintf(stderr, "next_cursor does not decode\n");
            abort();
        }
        aw_audit_page_clear(&page);
        break;
    }
    case 3: {
        json_t *found = NULL;
        if (aw_es_parse_id_hits(body, len, &found, &err) == AW_OK && !json_is_object(found))
            abort();
        json_decref(found);
        break;
    }
    case 4: {
        size_t deleted = 0;
        (void)aw_es_parse_deleted(body, len, &deleted, &err);
        break;
    }
    case 5: {
        char names[4][ES_INDEX_NAME_MAX];
        size_t n = aw_es_parse_empty_indices(body, len, names, 4);
        if (n > 4)
            abort();
        for (size_t i = 0; i < n; i++)
            if (!memchr(names[i], '\0', ES_INDEX_NAME_MAX))
                abort();
        break;
    }
    case 6:
        (void)aw_es_parse_template_version(body, len, "acteon-audit");
        (void)aw_es_parse_policy_hash(body, len, "acteon-audit-retention");
        break;
    }
    free(body);
    return 0;
}
