/* Storage key layout shared by all state backends (docs/design.md section 3).
 *
 *   <len>:<namespace><len>:<tenant><len>:<kind><id>
 *
 * The first three parts are length-prefixed, so a tenant containing ':' (or any
 * byte) cannot make two different (namespace, tenant, kind, id) tuples encode
 * to the same key. The id comes last and raw, so the encoding of
 * (ns, tenant, kind, P) is a byte prefix of the encoding of every id starting
 * with P: a scan by id prefix is a scan by key prefix. */
#ifndef AW_KEY_H
#define AW_KEY_H

#include <stddef.h>

#include "common/aw_buf.h"

/* Append the encoded key to out. Return 0, or -1 when out of memory. */
int aw_key_encode(aw_buf *out, const char *ns, const char *tenant, const char *kind,
                  const char *id);

/* Split an encoded key. Pointers point into key; lengths are set.
 * Return 0, or -1 when key is not a valid encoding. */
int aw_key_decode(const char *key, size_t keylen, const char **ns, size_t *ns_len,
                  const char **tenant, size_t *tenant_len, const char **kind,
                  size_t *kind_len, const char **id, size_t *id_len);

#endif
