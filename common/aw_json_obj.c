#include "common/aw_json_obj.h"

#include <string.h>

#include "common/aw_json_out.h"

void aw_json_obj_begin(aw_json_obj *o, aw_buf *out)
{
    *o = (aw_json_obj){.out = out, .start = out->len, .depth = 1};
    o->failed = aw_buf_append(out, "{", 1) != 0;
}

void aw_json_obj_reopen(aw_json_obj *o, aw_buf *out, size_t start)
{
    *o = (aw_json_obj){.out = out, .start = start, .depth = 1};
    if (!out->data || out->len < start + 2 || out->data[out->len - 1] != '}') {
        o->failed = true;
        return;
    }
    out->len--; /* the closing brace comes back at end */
    out->data[out->len] = '\0';
    o->members[0] = out->len - start > 1; /* "{" alone: no member yet */
}

/* `,"name":` (the comma from the second member on). Returns false when
 * failed. */
static bool member(aw_json_obj *o, const char *name)
{
    if (o->failed)
        return false;
    unsigned *n = &o->members[o->depth - 1];
    if ((*n)++ && aw_buf_append(o->out, ",", 1))
        o->failed = true;
    else if (aw_json_out_name(o->out, name))
        o->failed = true;
    return !o->failed;
}

void aw_json_obj_int(aw_json_obj *o, const char *name, int64_t v)
{
    if (member(o, name) && aw_json_out_int(o->out, v))
        o->failed = true;
}

void aw_json_obj_true(aw_json_obj *o, const char *name)
{
    if (member(o, name) && aw_buf_append(o->out, "true", 4))
        o->failed = true;
}

void aw_json_obj_string(aw_json_obj *o, const char *name, const char *s, size_t len)
{
    if (member(o, name) && aw_json_out_string(o->out, s, len))
        o->failed = true;
}

void aw_json_obj_cstr(aw_json_obj *o, const char *name, const char *s)
{
    aw_json_obj_string(o, name, s ? s : "", s ? strlen(s) : 0);
}

void aw_json_obj_cstr_or_skip(aw_json_obj *o, const char *name, const char *s)
{
    if (o->failed || !s || !aw_utf8_valid(s, strlen(s)))
        return;
    aw_json_obj_cstr(o, name, s);
}

void aw_json_obj_raw(aw_json_obj *o, const char *name, const char *json)
{
    if (member(o, name) && aw_buf_puts(o->out, json))
        o->failed = true;
}

void aw_json_obj_open(aw_json_obj *o, const char *name)
{
    if (o->depth >= AW_JSON_OBJ_DEPTH)
        o->failed = true;
    if (!member(o, name))
        return;
    if (aw_buf_append(o->out, "{", 1))
        o->failed = true;
    o->members[o->depth++] = 0;
}

void aw_json_obj_close(aw_json_obj *o)
{
    if (o->failed || o->depth <= 1 || aw_buf_append(o->out, "}", 1))
        o->failed = true;
    else
        o->depth--;
}

int aw_json_obj_end(aw_json_obj *o)
{
    if (!o->failed && (o->depth != 1 || aw_buf_append(o->out, "}", 1)))
        o->failed = true;
    if (!o->failed)
        return 0;
    if (o->out->data) {
        o->out->len = o->start;
        o->out->data[o->start] = '\0';
    }
    return -1;
}
