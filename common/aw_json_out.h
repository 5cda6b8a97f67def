/* Writing JSON text straight into an aw_buf, byte for byte as jansson's
 * json_dumps(JSON_COMPACT) would write the same values, without building a
 * tree first. For the hot path (a reply per message): building and dumping
 * a jansson tree costs a few dozen allocations per message.
 *
 * tests/unit/test_json_out.c checks the byte equality against jansson. */
#ifndef AW_JSON_OUT_H
#define AW_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_buf.h"

/* A JSON string of s[0..len): quotes and escapes as jansson writes them.
 * Returns -1 (b unchanged in content up to where it stopped: callers drop
 * the whole buffer) when s is not valid UTF-8, which jansson refuses too, or
 * when out of memory. */
int aw_json_out_string(aw_buf *b, const char *s, size_t len);
/* The bytes at most needed for the JSON string of len bytes: every byte a
 * 6-byte \u00XX escape, and the quotes. */
#define AW_JSON_ESCAPED_MAX(len) ((len) * 6 + 2)
/* Write the JSON string of s[0..len) at o, which has room for
 * AW_JSON_ESCAPED_MAX(len) bytes; return the end (no NUL written), or NULL
 * when s is not valid UTF-8. For writers that reserve once for a whole
 * document. */
char *aw_json_escape_into(char *o, const char *s, size_t len);
/* The same for a C string (NULL writes ""). */
int aw_json_out_cstr(aw_buf *b, const char *s);
/* Whether s[0..len) is valid UTF-8 by the rule above (what jansson accepts):
 * for writers of other formats whose text is read back as JSON. */
bool aw_utf8_valid(const char *s, size_t len);
/* A signed integer. */
int aw_json_out_int(aw_buf *b, int64_t v);
/* Raw bytes: already JSON text, or punctuation. */
int aw_json_out_raw(aw_buf *b, const char *s, size_t len);
/* `"name":` (names are literals of ours: plain ASCII, nothing to escape). */
int aw_json_out_name(aw_buf *b, const char *name);

#endif
