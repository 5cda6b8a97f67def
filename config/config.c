/* Configuration loader, printer and reference: generic loops over the key
 * table (config_keys.c) applied to a libconfig tree. Rules live in the table;
 * the only key names here are in the text of the dev configuration.
 *
 * Load order: table defaults -> file (or string) -> environment overrides ->
 * required keys -> rules spanning sections. The libconfig tree is destroyed
 * as soon as the file is walked, so every string is copied before
 * (config_destroy() frees libconfig's). Errors stop at the first problem. */
#include "config/config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/aw_log.h"
#include "config/config_keys.h"

/* Upper bound of main-table rows; checked at load (AW_INTERNAL if exceeded). */
#define AW_MAX_KEYS 64
#define AW_MAX_SUB_KEYS 32
#define AW_PATH_MAX 160

typedef struct aw_loader {
    const char *source; /* named in messages when libconfig knows no file */
    const char *include_dir; /* libconfig's, while its tree lives; or NULL */
    aw_config *cfg;
    bool seen[AW_MAX_KEYS]; /* per main-table row: given by file or environment */
    aw_error *err;
} aw_loader;

static void *field(void *base, size_t off)
{
    return (char *)base + off;
}

static const void *cfield(const void *base, size_t off)
{
    return (const char *)base + off;
}

static bool is_scalar(aw_key_type t)
{
    return t == AW_KEY_STRING || t == AW_KEY_INT || t == AW_KEY_INT64 || t == AW_KEY_BOOL;
}

/* "kafka.brokers" -> "brokers"; "worker_id" -> "worker_id". */
static const char *leaf_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* Paths in messages ("providers[1].url"): truncated if absurdly long, which
 * only shortens a message (lookups of a truncated path fail as unknown). */
static void make_path(char *buf, size_t bufsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void make_path(char *buf, size_t bufsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, bufsz, fmt, ap);
    va_end(ap);
}

/* ---- errors ------------------------------------------------------------ */

static aw_status nomem(const aw_loader *ld)
{
    return aw_error_set(ld->err, AW_NOMEM, "%s: out of memory while loading", ld->source);
}

/* libconfig names an @included file as written; name it as it was opened,
 * relative to the including file's folder, so the message can be acted on. */
static const char *resolve_include(const aw_loader *ld, const char *file, char *buf,
                                   size_t bufsz)
{
    if (!ld->include_dir || file[0] == '/' || strcmp(file, ld->source) == 0)
        return file;
    make_path(buf, bufsz, "%s/%s", ld->include_dir, file);
    return buf;
}

/* "file:line: path: why", or "file: path: why" when no line is known. The
 * file is the one libconfig read the setting from (@include aware). */
static aw_status fail_at(const aw_loader *ld, const config_setting_t *s, const char *path,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static aw_status fail_at(const aw_loader *ld, const config_setting_t *s, const char *path,
                         const char *fmt, ...)
{
    char why[224];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    char resolved[AW_PATH_MAX * 2];
    const char *file = (s && config_setting_source_file(s)) ? config_setting_source_file(s)
                                                            : ld->source;
    file = resolve_include(ld, file, resolved, sizeof(resolved));
    unsigned line = s ? config_setting_source_line(s) : 0;
    if (line)
        return aw_error_set(ld->err, AW_CONFIG, "%s:%u: %s: %s", file, line, path, why);
    return aw_error_set(ld->err, AW_CONFIG, "%s: %s: %s", file, path, why);
}

static const char *type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT: return "an integer";
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a float";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "nothing";
    }
}

/* ---- "did you mean": the closest known key by edit distance ------------ */

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and transpositions of adjacent characters ("wrokers") cost one each. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t rows[3][AW_PATH_MAX + 1]; /* row i lives in rows[i % 3] */
    if (la > AW_PATH_MAX || lb > AW_PATH_MAX)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        rows[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *prev2 = rows[(i + 1) % 3], *prev = rows[(i + 2) % 3], *cur = rows[i % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
    }
    return rows[la % 3][lb];
}

typedef struct aw_suggest {
    const char *unknown; /* full path as written */
    size_t best;
    char name[AW_PATH_MAX];
} aw_suggest;

/* A key put in the wrong section ("kafka.threads") is as likely as a typo,
 * so the leaf names are compared too, at a cost of one edit. */
static void suggest_consider(aw_suggest *sg, const char *cand)
{
    size_t d = edit_distance(sg->unknown, cand);
    size_t dl = edit_distance(leaf_of(sg->unknown), leaf_of(cand));
    if (dl != (size_t)-1 && dl + 1 < d)
        d = dl + 1;
    if (d < sg->best) {
        sg->best = d;
        snprintf(sg->name, sizeof(sg->name), "%s", cand);
    }
}

static aw_status fail_unknown(const aw_loader *ld, const config_setting_t *s, const char *path,
                              const aw_suggest *sg)
{
    size_t limit = strlen(leaf_of(path)) <= 4 ? 1 : 2;
    if (sg->best <= limit)
        return fail_at(ld, s, path, "unknown key (did you mean %s?)", sg->name);
    return fail_at(ld, s, path, "unknown key");
}

/* Candidates: every key and every section of the main table. */
static aw_status fail_unknown_main(const aw_loader *ld, const config_setting_t *s,
                                   const char *path)
{
    aw_suggest sg = {.unknown = path, .best = (size_t)-1};
    size_t n;
    const aw_config_key *keys = aw_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char section[AW_PATH_MAX];
        const char *dot = strchr(keys[i].path, '.');
        suggest_consider(&sg, keys[i].path);
        if (dot) {
            make_path(section, sizeof(section), "%.*s", (int)(dot - keys[i].path), keys[i].path);
            suggest_consider(&sg, section);
        }
    }
    return fail_unknown(ld, s, path, &sg);
}

/* Candidates: the element keys of a group list, under the element's path. */
static aw_status fail_unknown_sub(const aw_loader *ld, const config_setting_t *s,
                                  const aw_config_key *list, const char *elem_path,
                                  const char *path)
{
    aw_suggest sg = {.unknown = path, .best = (size_t)-1};
    for (size_t i = 0; i < list->n_sub; i++) {
        char cand[AW_PATH_MAX];
        make_path(cand, sizeof(cand), "%s.%s", elem_path, list->sub[i].path);
        suggest_consider(&sg, cand);
    }
    return fail_unknown(ld, s, path, &sg);
}

/* ---- value rules shared by the file and the environment ----------------- */

static const char *check_string(const aw_config_key *k, const char *v, char *why,
                                size_t whysz)
{
    if ((k->flags & AW_KEY_NONEMPTY) && v[0] == '\0') {
        snprintf(why, whysz, "must not be empty");
        return why;
    }
    if (k->allowed) {
        size_t o = 0;
        for (size_t i = 0; k->allowed[i]; i++)
            if (strcmp(v, k->allowed[i]) == 0)
                return NULL;
        o += (size_t)snprintf(why, whysz, "must be one of");
        for (size_t i = 0; k->allowed[i] && o < whysz; i++)
            o += (size_t)snprintf(why + o, whysz - o, "%s %s", i ? "," : "", k->allowed[i]);
        if (o < whysz)
            snprintf(why + o, whysz - o, " (got \"%.64s\")", v);
        return why;
    }
    if (k->check)
        return k->check(v, why, whysz);
    return NULL;
}

static const char *check_number(const aw_config_key *k, long long v, char *why, size_t whysz)
{
    if (k->type == AW_KEY_BOOL || (v >= k->min && v <= k->max))
        return NULL;
    snprintf(why, whysz, "must be between %lld and %lld (got %lld)", (long long)k->min,
             (long long)k->max, v);
    return why;
}

/* ---- storing values into the struct ------------------------------------ */

static int store_string(char **slot, const char *v)
{
    char *copy = strdup(v);
    if (!copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

static void store_number(const aw_config_key *k, void *base, long long v)
{
    switch (k->type) {
    case AW_KEY_INT: *(int *)field(base, k->offset) = (int)v; break;
    case AW_KEY_INT64: *(int64_t *)field(base, k->offset) = (int64_t)v; break;
    case AW_KEY_BOOL: *(bool *)field(base, k->offset) = (v != 0); break;
    default: break;
    }
}

static void free_str_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void free_fields(const aw_config_key *rows, size_t n, void *base);

static void free_elements(const aw_config_key *k, void *arr, size_t n)
{
    for (size_t i = 0; arr && i < n; i++)
        free_fields(k->sub, k->n_sub, (char *)arr + i * k->elem_size);
    free(arr);
}

/* Frees what the rows own in base (strings and lists), not base itself. */
static void free_fields(const aw_config_key *rows, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        const aw_config_key *k = &rows[i];
        size_t *count = field(base, k->count_offset);
        switch (k->type) {
        case AW_KEY_STRING:
            free(*(char **)field(base, k->offset));
            *(char **)field(base, k->offset) = NULL;
            break;
        case AW_KEY_STR_LIST:
            free_str_list(*(char ***)field(base, k->offset), *count);
            *(char ***)field(base, k->offset) = NULL;
            *count = 0;
            break;
        case AW_KEY_GROUP_LIST:
            free_elements(k, *(void **)field(base, k->offset), *count);
            *(void **)field(base, k->offset) = NULL;
            *count = 0;
            break;
        case AW_KEY_GROUP: free_fields(k->sub, k->n_sub, base); break;
        case AW_KEY_STR_MAP:
            free_str_list(*(char ***)field(base, k->offset), 2 * *count);
            *(char ***)field(base, k->offset) = NULL;
            *count = 0;
            break;
        default: break;
        }
    }
}

/* ---- reading settings --------------------------------------------------- */

static aw_status load_key(aw_loader *ld, const aw_config_key *k, const config_setting_t *s,
                          void *base, const char *path);

static aw_status load_scalar(aw_loader *ld, const aw_config_key *k, const config_setting_t *s,
                             void *base, const char *path)
{
    int t = config_setting_type(s);
    char why[200];
    if (k->type == AW_KEY_STRING) {
        if (t != CONFIG_TYPE_STRING)
            return fail_at(ld, s, path, "expected a string (got %s)", type_name(t));
        const char *v = config_setting_get_string(s);
        if (check_string(k, v, why, sizeof(why)))
            return fail_at(ld, s, path, "%s", why);
        return store_string(field(base, k->offset), v) ? nomem(ld) : AW_OK;
    }
    if (k->type == AW_KEY_BOOL) {
        if (t != CONFIG_TYPE_BOOL)
            return fail_at(ld, s, path, "expected true or false (got %s)", type_name(t));
        store_number(k, base, config_setting_get_bool(s));
        return AW_OK;
    }
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return fail_at(ld, s, path, "expected an integer (got %s)", type_name(t));
    long long v = config_setting_get_int64(s);
    if (check_number(k, v, why, sizeof(why)))
        return fail_at(ld, s, path, "%s", why);
    store_number(k, base, v);
    return AW_OK;
}

static aw_status load_str_list(aw_loader *ld, const aw_config_key *k,
                               const config_setting_t *s, void *base, const char *path)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail_at(ld, s, path, "expected a list of strings (got %s)", type_name(t));
    size_t n = (size_t)config_setting_length(s);
    if (n == 0 && (k->flags & AW_KEY_NONEMPTY))
        return fail_at(ld, s, path, "must not be empty");

    aw_status rc = AW_OK;
    char **v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return nomem(ld);
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char epath[AW_PATH_MAX], why[200];
        make_path(epath, sizeof(epath), "%s[%zu]", path, i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            rc = fail_at(ld, e, path, "expected a list of strings (element %zu is %s)", i,
                         type_name(config_setting_type(e)));
            goto fail;
        }
        const char *str = config_setting_get_string(e);
        if (k->check && k->check(str, why, sizeof(why))) {
            rc = fail_at(ld, e, epath, "%s", why);
            goto fail;
        }
        if (store_string(&v[i], str)) {
            rc = nomem(ld);
            goto fail;
        }
    }
    size_t *count = field(base, k->count_offset);
    free_str_list(*(char ***)field(base, k->offset), *count);
    *(char ***)field(base, k->offset) = v;
    *count = n;
    return AW_OK;
fail:
    free_str_list(v, n);
    return rc;
}

static aw_status apply_defaults(aw_loader *ld, const aw_config_key *rows, size_t n,
                                void *base);

/* A group of strings { k = "v"; ... }, kept as key, value pairs in order. */
static aw_status load_str_map(aw_loader *ld, const aw_config_key *k, const config_setting_t *s,
                              void *base, const char *path)
{
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return fail_at(ld, s, path, "expected a group { key = \"value\"; ... } (got %s)",
                       type_name(config_setting_type(s)));
    size_t n = (size_t)config_setting_length(s);
    char **v = calloc(2 * n + 1, sizeof(*v));
    if (!v)
        return nomem(ld);
    aw_status rc = AW_OK;
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(m) != CONFIG_TYPE_STRING) {
            char epath[AW_PATH_MAX];
            make_path(epath, sizeof(epath), "%s.%s", path, config_setting_name(m));
            rc = fail_at(ld, m, epath, "expected a string (got %s)",
                         type_name(config_setting_type(m)));
            goto fail;
        }
        if (store_string(&v[2 * i], config_setting_name(m)) ||
            store_string(&v[2 * i + 1], config_setting_get_string(m))) {
            rc = nomem(ld);
            goto fail;
        }
    }
    size_t *count = field(base, k->count_offset);
    free_str_list(*(char ***)field(base, k->offset), 2 * *count);
    *(char ***)field(base, k->offset) = v;
    *count = n;
    return AW_OK;
fail:
    free_str_list(v, 2 * n);
    return rc;
}

/* A nested group: its rows live in the same struct as the group's row. */
static aw_status load_group(aw_loader *ld, const aw_config_key *k, const config_setting_t *g,
                            void *base, const char *gpath)
{
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(ld, g, gpath, "expected a group { ... } (got %s)",
                       type_name(config_setting_type(g)));
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        char path[AW_PATH_MAX];
        make_path(path, sizeof(path), "%s.%s", gpath, config_setting_name(m));
        const aw_config_key *sk = aw_config_sub_key_find(k, config_setting_name(m));
        if (!sk)
            return fail_unknown_sub(ld, m, k, gpath, path);
        aw_status rc = load_key(ld, sk, m, base, path);
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

/* One element of a group list: defaults, its keys, required keys, then the
 * row's cross-key rule. */
static aw_status load_element(aw_loader *ld, const aw_config_key *list,
                              const config_setting_t *g, void *elem, const char *epath)
{
    bool seen[AW_MAX_SUB_KEYS] = {false};
    char path[AW_PATH_MAX], why[200];
    aw_status rc;

    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(ld, g, epath, "expected a group { ... } (got %s)",
                       type_name(config_setting_type(g)));
    if (list->n_sub > AW_MAX_SUB_KEYS)
        return aw_error_set(ld->err, AW_INTERNAL, "%s: too many keys", list->path);
    if ((rc = apply_defaults(ld, list->sub, list->n_sub, elem)) != AW_OK)
        return rc;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        make_path(path, sizeof(path), "%s.%s", epath, config_setting_name(m));
        const aw_config_key *sk = aw_config_sub_key_find(list, config_setting_name(m));
        if (!sk)
            return fail_unknown_sub(ld, m, list, epath, path);
        if ((rc = load_key(ld, sk, m, elem, path)) != AW_OK)
            return rc;
        seen[sk - list->sub] = true;
    }
    for (size_t i = 0; i < list->n_sub; i++) {
        if ((list->sub[i].flags & AW_KEY_REQUIRED) && !seen[i]) {
            make_path(path, sizeof(path), "%s.%s", epath, list->sub[i].path);
            return fail_at(ld, g, path, "required key missing");
        }
    }
    const char *key = NULL;
    if (list->elem_check && list->elem_check(elem, &key, why, sizeof(why))) {
        const config_setting_t *m = config_setting_get_member(g, key);
        make_path(path, sizeof(path), "%s.%s", epath, key);
        return fail_at(ld, m ? m : g, path, "%s", why);
    }
    return AW_OK;
}

/* AW_KEY_UNIQUE rows: element j may not repeat the value of an earlier one. */
static aw_status check_unique(aw_loader *ld, const aw_config_key *list,
                              const config_setting_t *s, const void *arr, size_t n,
                              const char *path)
{
    for (size_t r = 0; r < list->n_sub; r++) {
        const aw_config_key *sk = &list->sub[r];
        if (!(sk->flags & AW_KEY_UNIQUE) || sk->type != AW_KEY_STRING)
            continue;
        for (size_t j = 1; j < n; j++) {
            const char *vj = *(char *const *)cfield((const char *)arr + j * list->elem_size,
                                                    sk->offset);
            for (size_t i = 0; i < j; i++) {
                const char *vi = *(char *const *)cfield(
                    (const char *)arr + i * list->elem_size, sk->offset);
                if (!vi || !vj || strcmp(vi, vj) != 0)
                    continue;
                char epath[AW_PATH_MAX];
                const config_setting_t *g = config_setting_get_elem(s, (unsigned)j);
                const config_setting_t *m = config_setting_get_member(g, sk->path);
                make_path(epath, sizeof(epath), "%s[%zu].%s", path, j, sk->path);
                return fail_at(ld, m ? m : g, epath, "\"%.64s\" is already used by %s[%zu]",
                               vj, path, i);
            }
        }
    }
    return AW_OK;
}

static aw_status load_group_list(aw_loader *ld, const aw_config_key *k,
                                 const config_setting_t *s, void *base, const char *path)
{
    int t = config_setting_type(s);
    /* "[ ]" is an empty array to libconfig; accept it as an empty list. */
    if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
        return fail_at(ld, s, path, "expected a list of groups ( { ... }, ... ) (got %s)",
                       type_name(t));
    size_t n = (size_t)config_setting_length(s);
    if (n == 0 && (k->flags & AW_KEY_NONEMPTY))
        return fail_at(ld, s, path, "must not be empty");

    aw_status rc;
    void *arr = calloc(n ? n : 1, k->elem_size);
    if (!arr)
        return nomem(ld);
    for (size_t i = 0; i < n; i++) {
        char epath[AW_PATH_MAX];
        make_path(epath, sizeof(epath), "%s[%zu]", path, i);
        rc = load_element(ld, k, config_setting_get_elem(s, (unsigned)i),
                          (char *)arr + i * k->elem_size, epath);
        if (rc != AW_OK)
            goto fail;
    }
    if ((rc = check_unique(ld, k, s, arr, n, path)) != AW_OK)
        goto fail;
    size_t *count = field(base, k->count_offset);
    free_elements(k, *(void **)field(base, k->offset), *count);
    *(void **)field(base, k->offset) = arr;
    *count = n;
    return AW_OK;
fail:
    free_elements(k, arr, n);
    return rc;
}

static aw_status load_key(aw_loader *ld, const aw_config_key *k, const config_setting_t *s,
                          void *base, const char *path)
{
    switch (k->type) {
    case AW_KEY_STR_LIST: return load_str_list(ld, k, s, base, path);
    case AW_KEY_GROUP_LIST: return load_group_list(ld, k, s, base, path);
    case AW_KEY_GROUP: return load_group(ld, k, s, base, path);
    case AW_KEY_STR_MAP: return load_str_map(ld, k, s, base, path);
    default: return load_scalar(ld, k, s, base, path);
    }
}

/* A list default is written as libconfig text in the table and read by the
 * same code as the file, so it obeys the same rules. */
static aw_status load_default_list(aw_loader *ld, const aw_config_key *k, void *base)
{
    config_t lc;
    char text[512];
    aw_status rc;
    const char *saved = ld->source;

    snprintf(text, sizeof(text), "v = %s;", k->def_text);
    config_init(&lc);
    if (!config_read_string(&lc, text)) {
        rc = aw_error_set(ld->err, AW_INTERNAL, "default of %s: %s", k->path,
                          config_error_text(&lc));
        goto done;
    }
    ld->source = "<default>";
    rc = load_key(ld, k, config_lookup(&lc, "v"), base, k->path);
    ld->source = saved;
done:
    config_destroy(&lc);
    return rc;
}

static aw_status apply_defaults(aw_loader *ld, const aw_config_key *rows, size_t n,
                                void *base)
{
    for (size_t i = 0; i < n; i++) {
        const aw_config_key *k = &rows[i];
        aw_status rc = AW_OK;
        switch (k->type) {
        case AW_KEY_STRING: {
            char dyn[256];
            const char *def = k->def_str;
            if ((k->flags & AW_KEY_DYNAMIC) && k->dyn_fn) {
                k->dyn_fn(dyn, sizeof(dyn));
                def = dyn;
            }
            if (def && store_string(field(base, k->offset), def))
                rc = nomem(ld);
            break;
        }
        case AW_KEY_GROUP: rc = apply_defaults(ld, k->sub, k->n_sub, base); break;
        case AW_KEY_STR_LIST:
        case AW_KEY_GROUP_LIST:
        case AW_KEY_STR_MAP:
            if (k->def_text)
                rc = load_default_list(ld, k, base);
            break;
        default: store_number(k, base, k->def_num); break;
        }
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

/* Defaults that depend on the backend chosen, for keys neither the file nor
 * the environment gave. ClickHouse writes a new part per INSERT, at a
 * server cost that hardly depends on its size, so its audit batches are
 * larger than the other backends' (figures: docs/backends/clickhouse-audit.md). */
static void apply_backend_defaults(aw_loader *ld)
{
    size_t n;
    const aw_config_key *keys = aw_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        bool clickhouse = ld->cfg->audit.backend && strcmp(ld->cfg->audit.backend, "clickhouse") == 0;
        if (!clickhouse || ld->seen[i])
            continue;
        if (strcmp(keys[i].path, "audit.batch_size") == 0)
            ld->cfg->audit.batch_size = AW_CLICKHOUSE_AUDIT_BATCH_SIZE;
        else if (strcmp(keys[i].path, "audit.flush_interval_ms") == 0)
            ld->cfg->audit.flush_interval_ms = AW_CLICKHOUSE_AUDIT_FLUSH_MS;
    }
}

static void mark_seen(aw_loader *ld, const aw_config_key *k)
{
    size_t n;
    const aw_config_key *keys = aw_config_keys(&n);
    ld->seen[k - keys] = true;
}

/* A section is a group of the file named by the prefix of some key path. */
static bool is_section(const char *name)
{
    size_t n, len = strlen(name);
    const aw_config_key *keys = aw_config_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (strncmp(keys[i].path, name, len) == 0 && keys[i].path[len] == '.')
            return true;
    return false;
}

static aw_status load_section(aw_loader *ld, const config_setting_t *g, const char *name)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
        char path[AW_PATH_MAX];
        make_path(path, sizeof(path), "%s.%s", name, config_setting_name(m));
        const aw_config_key *k = aw_config_key_find(path);
        if (!k)
            return fail_unknown_main(ld, m, path);
        aw_status rc = load_key(ld, k, m, ld->cfg, path);
        if (rc != AW_OK)
            return rc;
        mark_seen(ld, k);
    }
    return AW_OK;
}

static aw_status load_tree(aw_loader *ld, const config_setting_t *root)
{
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        const aw_config_key *k = aw_config_key_find(name);
        aw_status rc;
        if (k) {
            rc = load_key(ld, k, s, ld->cfg, name);
            mark_seen(ld, k);
        } else if (is_section(name)) {
            if (config_setting_type(s) != CONFIG_TYPE_GROUP)
                return fail_at(ld, s, name, "expected a group { ... } (got %s)",
                               type_name(config_setting_type(s)));
            rc = load_section(ld, s, name);
        } else {
            rc = fail_unknown_main(ld, s, name);
        }
        if (rc != AW_OK)
            return rc;
    }
    return AW_OK;
}

/* ---- environment overrides --------------------------------------------- */

/* "state.url" -> "ACTEON_STATE_URL". */
static void env_name(const char *path, char *buf, size_t bufsz)
{
    size_t o = (size_t)snprintf(buf, bufsz, "ACTEON_");
    for (const char *p = path; *p && o + 1 < bufsz; p++) {
        char c = *p;
        buf[o++] = (c == '.') ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    buf[o] = '\0';
}

static int parse_env_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int parse_env_bool(const char *s, long long *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* One variable: validate, and store when commit is set. */
static aw_status env_one(aw_loader *ld, const aw_config_key *k, const char *var,
                         const char *v, bool commit)
{
    char why[200];
    long long num = 0;
    if (k->type == AW_KEY_STRING) {
        if (check_string(k, v, why, sizeof(why)))
            goto invalid;
        if (commit && store_string(field(ld->cfg, k->offset), v))
            return nomem(ld);
        return AW_OK;
    }
    if (k->type == AW_KEY_BOOL ? parse_env_bool(v, &num) : parse_env_int(v, &num)) {
        snprintf(why, sizeof(why), "expected %s (got \"%.32s\")",
                 k->type == AW_KEY_BOOL ? "true or false" : "an integer", v);
        goto invalid;
    }
    if (check_number(k, num, why, sizeof(why)))
        goto invalid;
    if (commit)
        store_number(k, ld->cfg, num);
    return AW_OK;
invalid:
    return aw_error_set(ld->err, AW_CONFIG, "env %s: %s: %s", var, k->path, why);
}

/* Two passes (validate all, then store) so that a bad variable leaves the
 * configuration untouched. */
static aw_status env_apply(aw_loader *ld)
{
    size_t n;
    const aw_config_key *keys = aw_config_keys(&n);
    for (int commit = 0; commit < 2; commit++) {
        for (size_t i = 0; i < n; i++) {
            char var[AW_PATH_MAX];
            if (!is_scalar(keys[i].type))
                continue;
            env_name(keys[i].path, var, sizeof(var));
            const char *v = getenv(var);
            if (!v)
                continue;
            aw_status rc = env_one(ld, &keys[i], var, v, commit);
            if (rc != AW_OK)
                return rc;
            if (commit)
                ld->seen[i] = true;
        }
    }
    return AW_OK;
}

aw_status aw_config_apply_env(aw_config *cfg, aw_error *err)
{
    aw_loader ld = {.source = cfg->source ? cfg->source : "<config>", .cfg = cfg, .err = err};
    return env_apply(&ld);
}

/* ---- loading ------------------------------------------------------------ */

static aw_status check_required(const aw_loader *ld)
{
    size_t n;
    const aw_config_key *keys = aw_config_keys(&n);
    for (size_t i = 0; i < n; i++)
        if ((keys[i].flags & AW_KEY_REQUIRED) && !ld->seen[i])
            return aw_error_set(ld->err, AW_CONFIG, "%s: %s: required key missing",
                                ld->source, keys[i].path);
    return AW_OK;
}

/* No line here: the rule spans keys, and the environment may have set one. */
static aw_status check_all(const aw_loader *ld)
{
    char why[200];
    const char *key = "";
    if (aw_config_check_all(ld->cfg, &key, why, sizeof(why)))
        return aw_error_set(ld->err, AW_CONFIG, "%s: %s: %s", ld->source, key, why);
    return AW_OK;
}

static aw_status fail_parse(const aw_loader *ld, const config_t *lc)
{
    char resolved[AW_PATH_MAX * 2];
    const char *file = config_error_file(lc) ? config_error_file(lc) : ld->source;
    file = resolve_include(ld, file, resolved, sizeof(resolved));
    if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
        return aw_error_set(ld->err, AW_CONFIG, "%s: cannot read file", file);
    return aw_error_set(ld->err, AW_CONFIG, "%s:%d: %s", file, config_error_line(lc),
                        config_error_text(lc));
}

/* @include "x.conf" resolves next to the including file. */
static void set_include_dir(config_t *lc, const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash || (size_t)(slash - path) >= sizeof(dir))
        return;
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    config_set_include_dir(lc, dir[0] ? dir : "/");
}

/* Exactly one of path and text is set; source names it in messages. */
static aw_status load(const char *source, const char *path, const char *text,
                      aw_config **out, aw_error *err)
{
    aw_loader ld = {.source = source, .err = err};
    config_t lc;
    bool lc_live = false;
    aw_status rc;
    size_t n;

    *out = NULL;
    aw_config_keys(&n);
    if (n > AW_MAX_KEYS)
        return aw_error_set(err, AW_INTERNAL, "config: key table larger than AW_MAX_KEYS");
    if (!(ld.cfg = calloc(1, sizeof(*ld.cfg))) || !(ld.cfg->source = strdup(source))) {
        rc = nomem(&ld);
        goto fail;
    }
    if ((rc = apply_defaults(&ld, aw_config_keys(&n), n, ld.cfg)) != AW_OK)
        goto fail;

    config_init(&lc);
    lc_live = true;
    if (path) {
        set_include_dir(&lc, path);
        ld.include_dir = config_get_include_dir(&lc);
    }
    if (!(path ? config_read_file(&lc, path) : config_read_string(&lc, text))) {
        rc = fail_parse(&ld, &lc);
        goto fail;
    }
    if ((rc = load_tree(&ld, config_root_setting(&lc))) != AW_OK)
        goto fail;
    config_destroy(&lc); /* every string is a copy by now */
    lc_live = false;
    ld.include_dir = NULL;

    if ((rc = env_apply(&ld)) != AW_OK || (rc = check_required(&ld)) != AW_OK)
        goto fail;
    apply_backend_defaults(&ld);
    if ((rc = check_all(&ld)) != AW_OK || (rc = aw_config_compile_rules(ld.cfg, err)) != AW_OK)
        goto fail;
    *out = ld.cfg;
    return AW_OK;
fail:
    if (lc_live)
        config_destroy(&lc);
    aw_config_destroy(ld.cfg);
    return rc;
}

aw_status aw_config_load_file(const char *path, aw_config **out, aw_error *err)
{
    /* libconfig only says "file I/O error"; the errno says why. */
    FILE *f = fopen(path, "r");
    if (!f) {
        *out = NULL;
        return aw_error_set(err, AW_CONFIG, "%s: cannot open: %s", path, strerror(errno));
    }
    fclose(f);
    return load(path, path, NULL, out, err);
}

aw_status aw_config_load_string(const char *text, aw_config **out, aw_error *err)
{
    return load("<string>", NULL, text, out, err);
}

static const char dev_config[] =
    "kafka = { brokers = \"embedded\"; group_id = \"acteon-dev\";\n"
    "          topics = [ \"acteon.actions\" ];\n"
    "          reply_to_allow = [ \"*.replies\" ]; };\n"
    "state = { backend = \"memory\"; url = \"\"; };\n"
    "audit = { enabled = true; backend = \"memory\"; url = \"\"; };\n"
    "http = { listen = \"127.0.0.1:9464\"; };\n"
    /* The demo's stdout is its outcome lines; logs go to stderr, quiet
     * unless asked (--log-level info). */
    "log = { level = \"warn\"; };\n"
    "providers = ( { name = \"log\"; type = \"log\"; },\n"
    "              { name = \"noop\"; type = \"noop\"; } );\n";

aw_status aw_config_dev_default(aw_config **out, aw_error *err)
{
    return load("<dev>", NULL, dev_config, out, err);
}

void aw_config_destroy(aw_config *cfg)
{
    size_t n;
    if (!cfg)
        return;
    const aw_config_key *keys = aw_config_keys(&n);
    aw_config_free_rule_templates(cfg);
    free_fields(keys, n, cfg);
    free(cfg->source);
    free(cfg);
}

const aw_provider_config *aw_config_find_provider(const aw_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_providers; i++)
        if (cfg->providers[i].name && strcmp(cfg->providers[i].name, name) == 0)
            return &cfg->providers[i];
    return NULL;
}

bool aw_config_dispatch_by_key(const aw_config *cfg)
{
    const char *d = cfg->workers.dispatch ? cfg->workers.dispatch : "auto";
    if (strcmp(d, "auto") != 0)
        return strcmp(d, "key") == 0;
    for (size_t i = 0; i < cfg->n_rules; i++)
        if (cfg->rules[i].enabled && cfg->rules[i].machine_cfg)
            return true;
    return false;
}

/* ---- printing ---------------------------------------------------------- */

/* The body of a libconfig string literal: the escapes its scanner knows. */
static void print_escaped(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; s && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\x%02X", c);
            else
                fputc(c, out);
        }
    }
}

static void print_str(FILE *out, const char *s)
{
    fputc('"', out);
    print_escaped(out, s, s ? strlen(s) : 0);
    fputc('"', out);
}

static void print_secret_url(FILE *out, const char *url)
{
    /* Each mask adds at most 3 bytes per userinfo or query parameter. */
    size_t len = url ? strlen(url) : 0;
    size_t sz = 4 * len + 16;
    char *masked = malloc(sz);
    if (!masked) {
        print_str(out, "***");
        return;
    }
    aw_redact_url(url, masked, sz);
    print_str(out, masked);
    free(masked);
}

/* "sasl.password=x" -> "sasl.password=***"; other properties as they are. */
static void print_property(FILE *out, const char *p, bool secret)
{
    const char *eq = p ? strchr(p, '=') : NULL;
    if (!secret || !eq || !aw_config_property_is_secret(p, (size_t)(eq - p))) {
        print_str(out, p);
        return;
    }
    fputc('"', out);
    print_escaped(out, p, (size_t)(eq - p));
    fputs("=***\"", out);
}

static void print_value(FILE *out, const aw_config_key *k, const void *base, int indent);

/* GROUP: { key = value; ... } on one line; STR_MAP: { k = "v"; ... }. */
static void print_group(FILE *out, const aw_config_key *k, const void *base, int indent)
{
    fputs("{", out);
    if (k->type == AW_KEY_STR_MAP) {
        size_t n = *(const size_t *)cfield(base, k->count_offset);
        char *const *v = *(char *const *const *)cfield(base, k->offset);
        for (size_t i = 0; i < n; i++) {
            fprintf(out, " %s = ", v[2 * i]);
            print_str(out, v[2 * i + 1]);
            fputs(";", out);
        }
    } else {
        for (size_t r = 0; r < k->n_sub; r++) {
            fprintf(out, " %s = ", k->sub[r].path);
            print_value(out, &k->sub[r], base, indent);
            fputs(";", out);
        }
    }
    fputs(" }", out);
}

static void print_list(FILE *out, const aw_config_key *k, const void *base, int indent)
{
    size_t n = *(const size_t *)cfield(base, k->count_offset);
    if (k->type == AW_KEY_STR_LIST) {
        char *const *v = *(char *const *const *)cfield(base, k->offset);
        fputs("[", out);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ", " : " ", out);
            print_property(out, v[i], (k->flags & AW_KEY_SECRET) != 0);
        }
        fputs(" ]", out);
        return;
    }
    const char *arr = *(const char *const *)cfield(base, k->offset);
    fputs("(", out);
    for (size_t i = 0; i < n; i++) {
        const void *elem = arr + i * k->elem_size;
        fprintf(out, "%s\n%*s{\n", i ? "," : "", indent + 2, "");
        for (size_t r = 0; r < k->n_sub; r++) {
            if (k->elem_applies && !k->elem_applies(elem, k->sub[r].path))
                continue;
            fprintf(out, "%*s%s = ", indent + 4, "", k->sub[r].path);
            print_value(out, &k->sub[r], elem, indent + 4);
            fputs(";\n", out);
        }
        fprintf(out, "%*s}", indent + 2, "");
    }
    fprintf(out, "\n%*s)", indent, "");
}

static void print_value(FILE *out, const aw_config_key *k, const void *base, int indent)
{
    switch (k->type) {
    case AW_KEY_STRING: {
        const char *s = *(char *const *)cfield(base, k->offset);
        if (k->flags & AW_KEY_SECRET)
            print_secret_url(out, s);
        else
            print_str(out, s);
        break;
    }
    case AW_KEY_INT: fprintf(out, "%d", *(const int *)cfield(base, k->offset)); break;
    case AW_KEY_INT64: {
        /* Beyond int range libconfig needs the L suffix to read it back. */
        long long v = *(const int64_t *)cfield(base, k->offset);
        fprintf(out, "%lld%s", v, (v > 2147483647LL || v < -2147483648LL) ? "L" : "");
        break;
    }
    case AW_KEY_BOOL:
        fputs(*(const bool *)cfield(base, k->offset) ? "true" : "false", out);
        break;
    case AW_KEY_GROUP:
    case AW_KEY_STR_MAP: print_group(out, k, base, indent); break;
    default: print_list(out, k, base, indent); break;
    }
}

/* The source is a path: keep the comment on one line whatever it holds. */
static void print_comment_text(FILE *out, const char *s)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 ? '?' : *s, out);
}

void aw_config_print(const aw_config *cfg, FILE *out)
{
    size_t n;
    const aw_config_key *keys = aw_config_keys(&n);
    const char *open = NULL; /* path of the first key of the open section */
    size_t open_len = 0;

    fputs("# acteon-worker configuration (from ", out);
    print_comment_text(out, cfg->source);
    fputs("); secrets masked\n", out);
    for (size_t i = 0; i < n; i++) {
        const char *path = keys[i].path;
        const char *dot = strchr(path, '.');
        size_t sec_len = dot ? (size_t)(dot - path) : 0;
        if (open && (sec_len != open_len || strncmp(open, path, sec_len) != 0)) {
            fputs("};\n", out);
            open = NULL;
        }
        if (dot && !open) {
            fprintf(out, "\n%.*s = {\n", (int)sec_len, path);
            open = path;
            open_len = sec_len;
        }
        if (!dot)
            fputc('\n', out);
        fprintf(out, "%*s%s = ", open ? 2 : 0, "", leaf_of(path));
        print_value(out, &keys[i], cfg, open ? 2 : 0);
        fputs(";\n", out);
    }
    if (open)
        fputs("};\n", out);
}

/* ---- reference ---------------------------------------------------------- */

static const char *type_label(aw_key_type t)
{
    switch (t) {
    case AW_KEY_STRING: return "string";
    case AW_KEY_INT: return "integer";
    case AW_KEY_INT64: return "integer (64-bit)";
    case AW_KEY_BOOL: return "boolean";
    case AW_KEY_STR_LIST: return "list of strings";
    case AW_KEY_GROUP_LIST: return "list of groups";
    case AW_KEY_GROUP: return "group";
    case AW_KEY_STR_MAP: return "group of strings";
    }
    return "?";
}

static void print_default(FILE *out, const aw_config_key *k)
{
    fputs("default ", out);
    if (k->flags & AW_KEY_DYNAMIC)
        fputs(k->dyn_default, out);
    else if (k->type == AW_KEY_STRING)
        print_str(out, k->def_str);
    else if (k->type == AW_KEY_BOOL)
        fputs(k->def_num ? "true" : "false", out);
    else if (k->type == AW_KEY_INT || k->type == AW_KEY_INT64)
        fprintf(out, "%lld", (long long)k->def_num);
    else
        fputs(k->def_text, out);
}

static void print_key_reference(FILE *out, const aw_config_key *k, const char *prefix,
                                bool env)
{
    fprintf(out, "%s%s\n    %s", prefix, k->path, type_label(k->type));
    if (k->flags & AW_KEY_REQUIRED)
        fputs(", required", out);
    else if (k->def_str || k->def_text || k->type == AW_KEY_INT ||
             k->type == AW_KEY_INT64 || k->type == AW_KEY_BOOL || (k->flags & AW_KEY_DYNAMIC)) {
        fputs(", ", out);
        print_default(out, k);
    }
    if (k->type == AW_KEY_INT || k->type == AW_KEY_INT64)
        fprintf(out, ", %lld..%lld", (long long)k->min, (long long)k->max);
    if (k->allowed) {
        fputs(", one of", out);
        for (size_t i = 0; k->allowed[i]; i++)
            fprintf(out, "%s %s", i ? "," : "", k->allowed[i]);
    }
    if (k->flags & AW_KEY_NONEMPTY)
        fputs(", not empty", out);
    if (k->flags & AW_KEY_UNIQUE)
        fputs(", unique", out);
    if (k->flags & AW_KEY_SECRET)
        fputs(", secret (masked when printed)", out);
    if (env && is_scalar(k->type)) {
        char var[AW_PATH_MAX];
        env_name(k->path, var, sizeof(var));
        fprintf(out, ", env %s", var);
    }
    fprintf(out, "\n    %s\n\n", k->help);
}

/* The rows under a list or group, each with its full prefix
 * ("state_machines[].transitions[].from"), nested lists and groups too. */
static void print_sub_reference(FILE *out, const aw_config_key *k, const char *prefix)
{
    char sub[AW_PATH_MAX];
    snprintf(sub, sizeof(sub), "%s%s%s.", prefix, k->path,
             k->type == AW_KEY_GROUP_LIST ? "[]" : "");
    for (size_t j = 0; j < k->n_sub; j++) {
        const aw_config_key *sk = &k->sub[j];
        print_key_reference(out, sk, sub, false);
        if (sk->type == AW_KEY_GROUP || sk->type == AW_KEY_GROUP_LIST)
            print_sub_reference(out, sk, sub);
    }
}

void aw_config_print_reference(FILE *out)
{
    size_t n;
    const aw_config_key *keys = aw_config_keys(&n);
    fputs("# acteon-worker configuration keys (libconfig syntax: section = { key = value; };)\n"
          "# Scalar keys can be overridden by the environment variable shown;\n"
          "# unknown keys are errors.\n\n",
          out);
    for (size_t i = 0; i < n; i++) {
        print_key_reference(out, &keys[i], "", true);
        if (keys[i].type == AW_KEY_GROUP_LIST)
            print_sub_reference(out, &keys[i], "");
    }
}
