/* Strict JSON checking without building a tree.
 *
 * The worker needs a handful of strings out of each action and the rest of the
 * message only as text (the payload and metadata go to the audit record as
 * the producer wrote them). Building a jansson tree for that cost a third of
 * the worker's CPU per action (hundreds of small allocations and frees), so
 * the decoder checks the bytes in one pass instead and copies out what it
 * needs.
 *
 * aw_json_check() accepts exactly the texts jansson's json_loadb() accepts
 * with JSON_DECODE_ANY | JSON_REJECT_DUPLICATES and without JSON_ALLOW_NUL,
 * which is what the action schema was written against: RFC 8259 JSON in
 * strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF),
 * no \u0000 in any string or key, no duplicate key in any object (compared
 * after unescaping), integers within int64 and reals that do not overflow a
 * double. tests/fuzz/fuzz_action.c holds the decoder built on it to jansson
 * on every input. One difference is deliberate: jansson 2.14 skips a NUL
 * byte that directly follows a number or true/false/null (its reader
 * "ungets" the byte and then takes NUL for "nothing buffered"), so it reads
 * "[1\0]" as [1]; here a NUL byte outside a string is an error, as RFC 8259
 * says.
 *
 * Nothing is allocated unless an object holds more than 64 keys at once
 * (counting the open objects around it) or more than 1 KiB of escaped keys,
 * or a real number is longer than 63 bytes. */
#ifndef AW_JSON_CHECK_H
#define AW_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

typedef enum aw_json_kind {
    AW_JSON_OBJECT = 0,
    AW_JSON_ARRAY,
    AW_JSON_STRING,
    AW_JSON_INTEGER,
    AW_JSON_REAL,
    AW_JSON_TRUE,
    AW_JSON_FALSE,
    AW_JSON_NULL,
} aw_json_kind;

/* One value of a checked text. Borrowed: text points into the checked bytes. */
typedef struct aw_json_value {
    aw_json_kind kind;
    const char *text; /* the value's JSON text (strings with their quotes) */
    size_t len;
    size_t str_len;   /* AW_JSON_STRING: its length once unescaped */
    size_t count;     /* AW_JSON_OBJECT: members; AW_JSON_ARRAY: elements */
} aw_json_value;

typedef struct aw_json_error {
    size_t offset;  /* byte of the input where the problem was found */
    bool nul;       /* the problem is a \u0000 in a string or key */
    bool too_deep;  /* nesting beyond max_depth */
    char text[96];  /* what is wrong, printable ASCII */
} aw_json_error;

/* Called for each member of the top-level object, in document order, once
 * its value is checked. key is the member name unescaped (key_len bytes, not
 * NUL-terminated), valid during the call only. A later error in the text
 * still fails the check: callers use what they were given only on success. */
typedef void (*aw_json_member_fn)(void *ctx, const char *key, size_t key_len,
                                  const aw_json_value *value);

/* Check text (len bytes). Containers may nest max_depth deep (the top-level
 * value counts as one). on_member may be NULL. Return 0 with *root describing
 * the top-level value, or -1 with *err filled. */
int aw_json_check(const char *text, size_t len, unsigned max_depth, aw_json_member_fn on_member,
                  void *ctx, aw_json_value *root, aw_json_error *err);

/* Write the unescaped bytes of the checked string value v (v->str_len of
 * them) and a NUL to out, which holds at least v->str_len + 1 bytes. */
void aw_json_string_copy(const aw_json_value *v, char *out);

/* "an object", "an array", "a string", "an integer", "a number", "true",
 * "false", "null": how rejection texts name what they found. */
const char *aw_json_kind_phrase(aw_json_kind kind);

#endif
