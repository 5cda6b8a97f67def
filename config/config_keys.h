/* Private to config/: the key table that drives parsing, defaults,
 * validation, printing and the reference (config_keys.c).
 *
 * Every key of aw_config has exactly one row. A row locates its field by
 * offsetof(), so the loader, the printer and the reference are generic loops
 * over the table: adding a key is adding a row (and a field). */
#ifndef AW_CONFIG_KEYS_H
#define AW_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aw_error.h"

typedef enum aw_key_type {
    AW_KEY_STRING,     /* char *                                         */
    AW_KEY_INT,        /* int                                            */
    AW_KEY_INT64,      /* int64_t                                        */
    AW_KEY_BOOL,       /* bool                                           */
    AW_KEY_STR_LIST,   /* char ** + size_t count at count_offset         */
    AW_KEY_GROUP_LIST, /* elem_size-byte structs + size_t count; rows in sub */
    AW_KEY_GROUP,      /* a nested group { ... }: rows in sub, their offsets in
                          the same struct as this row's (no storage itself) */
    AW_KEY_STR_MAP,    /* a group { k = "v"; ... } of strings: char ** holding
                          key, value, key, value ... + size_t pair count */
} aw_key_type;

enum {
    AW_KEY_REQUIRED = 1u << 0, /* must appear in the file (or the environment) */
    AW_KEY_SECRET = 1u << 1,   /* strings: URL password masked; lists of
                                  "k=v": values of sensitive keys masked */
    AW_KEY_NONEMPTY = 1u << 2, /* strings: "" rejected; lists: >= 1 element */
    AW_KEY_DYNAMIC = 1u << 3,  /* default computed at load time (see dyn_default) */
    AW_KEY_UNIQUE = 1u << 4,   /* sub-table rows: no two elements share the value */
};

/* Checks one string value (or one list element) beyond type and bounds.
 * Returns NULL when valid, else writes the reason into why. */
typedef const char *(*aw_key_check_fn)(const char *value, char *why, size_t whysz);

/* Checks one element of a GROUP_LIST once all its keys are read (rules that
 * span keys). Returns NULL when valid, else the reason, and sets *key to the
 * sub-key the reason is about. */
typedef const char *(*aw_elem_check_fn)(const void *elem, const char **key, char *why,
                                        size_t whysz);

/* Does sub-key `key` mean anything for this element of a GROUP_LIST (a
 * rule's max_count does not for a lock)? The printer leaves out those that
 * do not: they hold their defaults, so the text still loads the same. */
typedef bool (*aw_elem_applies_fn)(const void *elem, const char *key);

typedef struct aw_config_key {
    const char *path;     /* "workers.threads"; rows of a sub table: "url" */
    aw_key_type type;
    unsigned flags;       /* AW_KEY_* */
    size_t offset;        /* of the field in aw_config (sub table: in the element) */
    size_t count_offset;  /* lists: of the size_t element count */
    const char *def_str;  /* STRING default (NULL only for required keys) */
    int64_t def_num;      /* INT, INT64, BOOL default */
    int64_t min, max;     /* INT, INT64 bounds (inclusive) */
    const char *const *allowed; /* STRING enum: NULL-terminated, or NULL */
    aw_key_check_fn check;      /* STRING and STR_LIST elements, or NULL */
    const char *dyn_default;    /* AW_KEY_DYNAMIC: the default, as documented */
    void (*dyn_fn)(char *buf, size_t bufsz); /* AW_KEY_DYNAMIC: computes it */
    const struct aw_config_key *sub; /* GROUP_LIST: element rows */
    size_t n_sub;
    size_t elem_size;            /* GROUP_LIST: sizeof the element struct */
    aw_elem_check_fn elem_check; /* GROUP_LIST: cross-key rule, or NULL */
    aw_elem_applies_fn elem_applies; /* GROUP_LIST: keys to print, NULL: all */
    const char *def_text;        /* GROUP_LIST / STR_LIST: default, as printed */
    const char *help;
} aw_config_key;

/* The table, in printing order: top-level keys and sections as the
 * reference lists them. n receives the row count. */
const aw_config_key *aw_config_keys(size_t *n);

/* Row for a full path ("kafka.brokers") of the main table, or NULL. */
const aw_config_key *aw_config_key_find(const char *path);

/* Row named name in a sub table, or NULL. */
const aw_config_key *aw_config_sub_key_find(const aw_config_key *list, const char *name);

/* Rules spanning sections, checked once the file and the environment are
 * applied. Returns NULL when valid, else the reason, and sets *key to the
 * full path of the key it is about. */
struct aw_config;
const char *aw_config_check_all(const struct aw_config *cfg, const char **key, char *why,
                                size_t whysz);

/* Parse the key templates of cfg's rules into rule->key_template (once
 * loaded and valid: check_rule in config_keys.c vetted them already), and
 * free them (config_rules.c). */
aw_status aw_config_compile_rules(struct aw_config *cfg, aw_error *err);
void aw_config_free_rule_templates(struct aw_config *cfg);

/* Property names whose values are never printed ("sasl.password" ...). */
bool aw_config_property_is_secret(const char *key, size_t keylen);

#endif
