#include "common/aw_chain_template.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aw_chain_template_free(aw_chain_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_parts; i++) {
        aw_chain_tpl_part *p = &t->parts[i];
        free(p->literal);
        free(p->text);
        for (size_t k = 0; k < p->n_path; k++)
            free(p->path[k]);
        free(p->path);
    }
    free(t->parts);
    free(t);
}

static aw_chain_tpl_part *add_part(aw_chain_template *t)
{
    aw_chain_tpl_part *np = realloc(t->parts, (t->n_parts + 1) * sizeof(*np));
    if (!np)
        return NULL;
    t->parts = np;
    memset(&np[t->n_parts], 0, sizeof(*np));
    return &np[t->n_parts++];
}

/* Split "a.b.c" into p->path; -1 on an empty name. */
static int split_path(aw_chain_tpl_part *p, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (i == start)
            return -1;
        char **np = realloc(p->path, (p->n_path + 1) * sizeof(*np));
        if (!np)
            return -2;
        p->path = np;
        if (!(p->path[p->n_path] = strndup(s + start, i - start)))
            return -2;
        p->n_path++;
        start = i + 1;
    }
    return 0;
}

/* What a path may start with (the header lists them). */
static const char *check_root(const aw_chain_tpl_part *p)
{
    const char *r = p->path[0];
    if (strcmp(r, "action") == 0 || strcmp(r, "chain") == 0)
        return p->n_path >= 2 ? NULL : "names nothing below its root";
    if (strcmp(r, "steps") == 0)
        return p->n_path >= 3 && (strcmp(p->path[2], "result") == 0 ||
                                  strcmp(p->path[2], "outcome") == 0)
                   ? NULL
                   : "must be steps.NAME.result[.PATH] or steps.NAME.outcome";
    return "unknown root (known: action, steps, chain)";
}

aw_status aw_chain_template_parse(const char *text, aw_chain_template **out, aw_error *err)
{
    *out = NULL;
    if (!text || !text[0])
        return aw_error_set(err, AW_CONFIG, "empty template");
    aw_chain_template *t = calloc(1, sizeof(*t));
    if (!t)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    const char *s = text;
    while (*s) {
        const char *open = strstr(s, "{{");
        size_t lit = open ? (size_t)(open - s) : strlen(s);
        aw_chain_tpl_part *p;
        if (lit) {
            if (!(p = add_part(t)) || !(p->literal = strndup(s, lit)))
                goto nomem;
        }
        if (!open)
            break;
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            aw_chain_template_free(t);
            return aw_error_set(err, AW_CONFIG, "unclosed {{ at offset %zu",
                                (size_t)(open - text));
        }
        const char *a = open + 2, *b = close;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (!(p = add_part(t)) || !(p->text = strndup(a, (size_t)(b - a))))
            goto nomem;
        int rc = split_path(p, a, (size_t)(b - a));
        if (rc == -2)
            goto nomem;
        const char *bad = rc ? "an empty name" : check_root(p);
        if (bad) {
            aw_status st = aw_error_set(err, AW_CONFIG, "{{%.64s}}: %s", p->text, bad);
            aw_chain_template_free(t);
            return st;
        }
        s = close + 2;
    }
    *out = t;
    return AW_OK;
nomem:
    aw_chain_template_free(t);
    return aw_error_set(err, AW_NOMEM, "out of memory");
}

static const json_t *lookup(const json_t *v, char *const *path, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        if (json_is_object(v)) {
            v = json_object_get(v, path[i]);
        } else if (json_is_array(v)) {
            char *end;
            unsigned long k = strtoul(path[i], &end, 10);
            v = *end || end == path[i] ? NULL : json_array_get(v, k);
        } else {
            v = NULL;
        }
    }
    return v;
}

int aw_chain_template_render(const aw_chain_template *t, const json_t *scope, aw_buf *out,
                             char *why, size_t whysz)
{
    size_t start = out->len;
    for (size_t i = 0; i < t->n_parts; i++) {
        const aw_chain_tpl_part *p = &t->parts[i];
        if (p->literal) {
            if (aw_buf_puts(out, p->literal))
                return -2;
            continue;
        }
        const json_t *v = lookup(scope, p->path, p->n_path);
        if (!v) {
            snprintf(why, whysz, "{{%.128s}}: no such value", p->text);
            return -1;
        }
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        int rc = text ? aw_buf_puts(out, text) : -1;
        free(text);
        if (rc)
            return -2;
    }
    json_error_t e;
    json_t *o = json_loadb(out->data ? out->data + start : "", out->len - start, 0, &e);
    bool object = json_is_object(o);
    json_decref(o);
    if (!object) {
        snprintf(why, whysz, "the rendered payload is not a JSON object (%.96s)",
                 o ? "another JSON value" : e.text);
        return -1;
    }
    return 0;
}
