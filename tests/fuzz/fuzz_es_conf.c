/* The Elasticsearch audit URL and its options (audit.url), then the dated
 * index names derived from the parsed prefix: the first 8 bytes are a
 * completed_at (ms) as a record from the reply topic could carry. */
#include "backends/audit/elasticsearch/es_conf.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8 || size > 8192)
        return 0;
    uint64_t raw = 0;
    for (int i = 0; i < 8; i++)
        raw = raw << 8 | data[i];
    int64_t ms = (int64_t)raw;
    char *url = aw_fuzz_cstr(data + 8, size - 8);
    es_conf c;
    aw_error err = {0};
    if (aw_es_conf_parse(url, &c, &err) == AW_OK) {
        if (!c.base || strlen(c.index) == 0 || strlen(c.index) > ES_INDEX_MAX)
            abort();
        char name[ES_INDEX_MAX + 12];
        aw_es_index_for(&c, ms, name, sizeof name);
        int64_t day;
        /* A name aw_es_index_for made must be recognised as one of ours. */
        if (aw_es_index_day(&c, name, &day) == 0 && (ms < day || ms - day >= 86400000))
            abort();
        (void)aw_es_index_day(&c, url, &day);
        aw_es_conf_clear(&c);
    }
    free(url);
    return 0;
}
