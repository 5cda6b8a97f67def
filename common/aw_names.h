/* Joining the names of a registry ("memory, redis, postgres") for messages
 * that list the valid choices. */
#ifndef AW_NAMES_H
#define AW_NAMES_H

#include <stddef.h>

/* Write "a, b, c" into out: name_at(i) gives the i-th name, NULL after the
 * last. Truncates at a name boundary when out is too small. */
void aw_names_join(char *out, size_t outsz, const char *(*name_at)(size_t i));

#endif
