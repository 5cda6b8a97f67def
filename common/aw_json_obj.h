/* A JSON object written member by member into an aw_buf, with a sticky
 * error: after a failure (out of memory, a string that is not valid UTF-8
 * where one is required) every call is a no-op, and the caller checks once,
 * at aw_json_obj_end. The bytes are jansson's json_dumps(JSON_COMPACT) of
 * the same members in the same order (aw_json_out.h), commas included.
 *
 * Ownership: the buffer is the caller's; the writer only appends to it and,
 * on failure, cuts it back to where the object began. Not thread-safe (one
 * writer, one thread). */
#ifndef AW_JSON_OBJ_H
#define AW_JSON_OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"

#define AW_JSON_OBJ_DEPTH 4

typedef struct aw_json_obj {
    aw_buf *out;                         /* borrowed */
    size_t start;                        /* out->len when the object began */
    int depth;                           /* open objects, 1 = the outer one */
    unsigned members[AW_JSON_OBJ_DEPTH]; /* members written, per open object */
    bool failed;
} aw_json_obj;

/* Start an object at the end of out: writes '{'. */
void aw_json_obj_begin(aw_json_obj *o, aw_buf *out);
/* Reopen the complete object text at the end of out (from `start`, ending
 * in '}') to append members to it. Fails (sticky) when it does not end so. */
void aw_json_obj_reopen(aw_json_obj *o, aw_buf *out, size_t start);

void aw_json_obj_int(aw_json_obj *o, const char *name, int64_t v);
void aw_json_obj_true(aw_json_obj *o, const char *name);
/* A string member; s[0..len) must be valid UTF-8 (else: failed). */
void aw_json_obj_string(aw_json_obj *o, const char *name, const char *s, size_t len);
void aw_json_obj_cstr(aw_json_obj *o, const char *name, const char *s);
/* A string member left out when s is NULL or not valid UTF-8, as
 * json_object_set_new(obj, name, json_string(s)) leaves it out. */
void aw_json_obj_cstr_or_skip(aw_json_obj *o, const char *name, const char *s);
/* A member whose value is JSON text already (trusted, written as is). */
void aw_json_obj_raw(aw_json_obj *o, const char *name, const char *json);
/* A nested object: members until aw_json_obj_close. */
void aw_json_obj_open(aw_json_obj *o, const char *name);
void aw_json_obj_close(aw_json_obj *o);

/* Close the outer object. 0, or -1 after any failure: then out is cut back
 * to its length at begin (reopen: to the complete object it had). */
int aw_json_obj_end(aw_json_obj *o);

#endif
