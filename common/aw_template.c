#include "common/aw_template.h"

#include <stdlib.h>
#include <string.h>

#include "common/aw_buf.h"

#define AW_TPL_MAX_PATH 16 /* deeper payload paths are surely a mistake */

static const struct {
    const char *name;
    aw_tpl_field field;
} simple_fields[] = {
    {"namespace", AW_TPL_NAMESPACE}, {"tenant", AW_TPL_TENANT},
    {"provider", AW_TPL_PROVIDER},   {"action_type", AW_TPL_ACTION_TYPE},
    {"id", AW_TPL_ID},               {"dedup_key", AW_TPL_DEDUP_KEY},
};

#define KNOWN                                                                             \
    "known: {namespace} {tenant} {provider} {action_type} {id} {dedup_key} "             \
    "{payload.a.b} {metadata.k}"

static void free_part(aw_tpl_part *p)
{
    free(p->text);
    for (size_t i = 0; i < p->n_path; i++)
        free(p->path[i]);
    free(p->path);
}

void aw_template_free(aw_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_parts; i++)
        free_part(&t->parts[i]);
    free(t->parts);
    free(t);
}

static aw_tpl_part *add_part(aw_template *t)
{
    aw_tpl_part *np = realloc(t->parts, (t->n_parts + 1) * sizeof(*np));
    if (!np)
        return NULL;
    t->parts = np;
    memset(&np[t->n_parts], 0, sizeof(*np));
    return &np[t->n_parts++];
}

/* "a.b.c" (after "payload.") -> path segments; empty segments refused. */
static aw_status split_path(aw_tpl_part *p, const char *s, size_t len, aw_error *err)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (i == start)
            return aw_error_set(err, AW_CONFIG, "{%s}: empty member name in the path",
                                p->text);
        if (p->n_path == AW_TPL_MAX_PATH)
            return aw_error_set(err, AW_CONFIG, "{%s}: path deeper than %d members", p->text,
                                AW_TPL_MAX_PATH);
        char **np = realloc(p->path, (p->n_path + 1) * sizeof(*np));
        if (!np)
            return aw_error_set(err, AW_NOMEM, "out of memory");
        p->path = np;
        if (!(p->path[p->n_path] = aw_memdup(s + start, i - start)))
            return aw_error_set(err, AW_NOMEM, "out of memory");
        p->n_path++;
        start = i + 1;
    }
    return AW_OK;
}

/* The field between braces: name[len]. */
static aw_status parse_field(aw_tpl_part *p, const char *name, size_t len, aw_error *err)
{
    if (!(p->text = aw_memdup(name, len)))
        return aw_error_set(err, AW_NOMEM, "out of memory");
    for (size_t i = 0; i < sizeof(simple_fields) / sizeof(simple_fields[0]); i++) {
        if (strlen(simple_fields[i].name) == len &&
            memcmp(simple_fields[i].name, name, len) == 0) {
            p->field = simple_fields[i].field;
            return AW_OK;
        }
    }
    if (len > 8 && memcmp(name, "payload.", 8) == 0) {
        p->field = AW_TPL_PAYLOAD;
        return split_path(p, name + 8, len - 8, err);
    }
    if (len > 9 && memcmp(name, "metadata.", 9) == 0) {
        /* Metadata is a flat object of strings: the rest is one key, dots
         * included. */
        p->field = AW_TPL_METADATA;
        p->path = malloc(sizeof(*p->path));
        if (!p->path || !(p->path[0] = aw_memdup(name + 9, len - 9)))
            return aw_error_set(err, AW_NOMEM, "out of memory");
        p->n_path = 1;
        return AW_OK;
    }
    return aw_error_set(err, AW_CONFIG, "unknown field {%.*s} (" KNOWN ")", (int)len, name);
}

static aw_status flush_literal(aw_template *t, aw_buf *lit, aw_error *err)
{
    if (!lit->len)
        return AW_OK;
    aw_tpl_part *p = add_part(t);
    if (!p || !(p->text = aw_memdup(lit->data, lit->len)))
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_buf_reset(lit);
    return AW_OK;
}

static aw_status parse_into(aw_template *t, const char *text, aw_buf *lit, aw_error *err)
{
    aw_status rc;
    for (const char *s = text; *s;) {
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
            if (aw_buf_append(lit, s, 1))
                return aw_error_set(err, AW_NOMEM, "out of memory");
            s += 2;
        } else if (*s == '}') {
            return aw_error_set(err, AW_CONFIG, "unmatched } at offset %zu (write }} for a "
                                "literal one)", (size_t)(s - text));
        } else if (*s == '{') {
            const char *end = strchr(s, '}');
            if (!end)
                return aw_error_set(err, AW_CONFIG, "unclosed { at offset %zu",
                                    (size_t)(s - text));
            if (end == s + 1)
                return aw_error_set(err, AW_CONFIG, "empty field {} at offset %zu",
                                    (size_t)(s - text));
            if ((rc = flush_literal(t, lit, err)) != AW_OK)
                return rc;
            aw_tpl_part *p = add_part(t);
            if (!p)
                return aw_error_set(err, AW_NOMEM, "out of memory");
            if ((rc = parse_field(p, s + 1, (size_t)(end - s - 1), err)) != AW_OK)
                return rc;
            s = end + 1;
        } else {
            if (aw_buf_append(lit, s, 1))
                return aw_error_set(err, AW_NOMEM, "out of memory");
            s++;
        }
    }
    return flush_literal(t, lit, err);
}

aw_status aw_template_parse(const char *text, aw_template **out, aw_error *err)
{
    *out = NULL;
    if (!text || !*text)
        return aw_error_set(err, AW_CONFIG, "empty template");
    aw_template *t = calloc(1, sizeof(*t));
    if (!t)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    aw_buf lit = {0};
    aw_status rc = parse_into(t, text, &lit, err);
    aw_buf_free(&lit);
    if (rc != AW_OK) {
        aw_template_free(t);
        return rc;
    }
    *out = t;
    return AW_OK;
}
