/* Key templates of rules (docs/rules.md): literal text with fields in
 * braces, e.g. "{tenant}:{payload.user.id}". Parsed once, at config load;
 * rendered per action by the worker (worker/rules.c), which knows actions.
 *
 * Fields: {namespace} {tenant} {provider} {action_type} {id} {dedup_key}
 * {payload.a.b...} {metadata.k}. "{{" and "}}" stand for literal braces.
 *
 * Ownership: aw_template_parse() returns a template owned by the caller,
 * freed with aw_template_free(). A parsed template is immutable: any number
 * of threads may read it at once. */
#ifndef AW_TEMPLATE_H
#define AW_TEMPLATE_H

#include <stddef.h>

#include "common/aw_error.h"

typedef enum aw_tpl_field {
    AW_TPL_LITERAL = 0, /* text */
    AW_TPL_NAMESPACE,
    AW_TPL_TENANT,
    AW_TPL_PROVIDER,
    AW_TPL_ACTION_TYPE,
    AW_TPL_ID,
    AW_TPL_DEDUP_KEY,
    AW_TPL_PAYLOAD,  /* path: the member names below payload, at least one */
    AW_TPL_METADATA, /* path: exactly one metadata key */
} aw_tpl_field;

typedef struct aw_tpl_part {
    aw_tpl_field field;
    char *text;     /* LITERAL: the text; other fields: as written ("payload.a.b") */
    char **path;    /* PAYLOAD, METADATA: member names, in order */
    size_t n_path;
} aw_tpl_part;

typedef struct aw_template {
    aw_tpl_part *parts;
    size_t n_parts;
} aw_template;

/* Parse text. On error AW_CONFIG with err->msg saying what is wrong and
 * where (e.g. "unknown field {tenantt} (known: ...)", "unclosed {"), no
 * key name: the caller prefixes it. An empty text is an error. */
aw_status aw_template_parse(const char *text, aw_template **out, aw_error *err);

void aw_template_free(aw_template *t);

#endif
