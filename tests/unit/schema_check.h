/* A small JSON Schema (draft 2020-12) checker for tests: enough to hold our
 * own documents (golden files, replies) to schemas/<name>.schema.json without a
 * validator dependency. Definitions live in schema_check.inc, which a test
 * #includes once (tests/unit/test_<name>.c are separate programs, so there is no
 * library to put it in).
 *
 * Supported keywords: type (string or array), enum, const, required,
 * properties, additionalProperties (bool or schema), items (schema),
 * minLength/maxLength (code points), minimum/maximum (integers),
 * format "date-time" (asserted with aw_time_parse_rfc3339). Every other
 * keyword ($schema, $id, title, description, examples, pattern, ...) is
 * ignored: the checker may accept what a full validator refuses, never the
 * other way round. */
#ifndef AW_TEST_SCHEMA_CHECK_H
#define AW_TEST_SCHEMA_CHECK_H

#include <stddef.h>

#include <jansson.h>

/* 0 when doc satisfies schema; -1 with the first violation, as
 * "<json path>: <reason>", in err (size errsz). */
int aw_schema_check(const json_t *schema, const json_t *doc, char *err, size_t errsz);

#endif
