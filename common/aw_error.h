/* Status codes and the caller-owned error struct used by every fallible call.
 *
 * Convention: a fallible function returns aw_status and takes `aw_error *err`
 * as its last argument. On failure it fills *err (if err is non-NULL) and
 * returns the same code. Nothing is allocated on the error path. */
#ifndef AW_ERROR_H
#define AW_ERROR_H

#include <stdbool.h>

typedef enum aw_status {
    AW_OK = 0,
    AW_NOT_FOUND,    /* key or record absent (expired counts as absent) */
    AW_CONFLICT,     /* version/token/lock mismatch: the caller lost a race */
    AW_TRANSIENT,    /* connection, timeout, throttling: retry with backoff */
    AW_PERMANENT,    /* the request itself is wrong: retrying will not help */
    AW_CONFIG,       /* invalid configuration */
    AW_NOMEM,        /* allocation failed */
    AW_INTERNAL,     /* a bug or a broken invariant */
    AW_UNSUPPORTED,  /* the backend does not offer this operation/guarantee */
} aw_status;

typedef struct aw_error {
    aw_status code;
    bool retriable;  /* true for AW_TRANSIENT unless the setter says otherwise */
    char msg[256];
} aw_error;

/* Name of a status ("ok", "not_found", ...). Never NULL. */
const char *aw_status_name(aw_status s);

/* Fill err (may be NULL) and return code. retriable = (code == AW_TRANSIENT). */
aw_status aw_error_set(aw_error *err, aw_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void aw_error_clear(aw_error *err);

#endif
