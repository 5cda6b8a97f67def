/* Payload templates of chain steps (docs/rules.md, "chain"): JSON text with
 * placeholders {{PATH}}, each replaced by the JSON value found at PATH in
 * the chain's scope, inserted as JSON (a string quoted, an object as an
 * object). PATH is member names (or array indexes) joined by dots, below
 * one of three roots:
 *   action.*                   the triggering action as it came (action.id,
 *                              action.tenant, action.payload.order_id ...)
 *   steps.NAME.result.*        an earlier step's result: the provider's
 *                              answer body (JSON; a body that is not JSON is
 *                              a string, no body is null)
 *   steps.NAME.outcome         an earlier step's outcome ("executed" ...)
 *   chain.id, chain.name
 * Whitespace inside the braces is ignored. A placeholder stands for a whole
 * JSON value: it cannot sit inside a string literal.
 *
 * Parsed once at config load (errors say what and where, no key name: the
 * caller prefixes it); rendered per step by the scheduler. A parsed
 * template is immutable: any number of threads may render it at once.
 * Ownership: parse returns a template owned by the caller, freed with
 * aw_chain_template_free. */
#ifndef AW_CHAIN_TEMPLATE_H
#define AW_CHAIN_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#include "common/aw_buf.h"
#include "common/aw_error.h"

typedef struct aw_chain_tpl_part {
    char *literal;  /* text copied as is, or NULL for a placeholder */
    char **path;    /* placeholder: the names, root first */
    size_t n_path;
    char *text;     /* placeholder: as written between the braces, trimmed */
} aw_chain_tpl_part;

typedef struct aw_chain_template {
    aw_chain_tpl_part *parts;
    size_t n_parts;
} aw_chain_template;

aw_status aw_chain_template_parse(const char *text, aw_chain_template **out, aw_error *err);
void aw_chain_template_free(aw_chain_template *t);

/* Render t with scope {"action": ..., "steps": {NAME: {"outcome", "result"}},
 * "chain": {"id", "name"}} into out (appended): 0; -1 when a path has no
 * value or the text is not a JSON object (why says which); -2 out of
 * memory. */
int aw_chain_template_render(const aw_chain_template *t, const json_t *scope, aw_buf *out,
                             char *why, size_t whysz);

#endif
