/* The session_open of the backend drivers that hold a connection (state:
 * redis, postgres, dynamodb, clickhouse; audit: postgres, clickhouse): one
 * copy of "allocate, point at the backend, connect, release on failure".
 *
 * The session struct's first member must be its backend pointer (any
 * object pointer type): it is set to backend before connect runs. */
#ifndef AW_SESSION_H
#define AW_SESSION_H

#include <stddef.h>

#include "common/aw_error.h"

/* A zeroed session of size bytes, its backend pointer set; then
 * connect(session, err) opens what the session needs (may be NULL). On
 * failure close(session) releases everything (it must accept a session
 * whose connect failed part-way) and *session is NULL. Ownership: the new
 * session is the caller's (the driver's session_close frees it). */
aw_status aw_session_open(void *backend, size_t size, aw_status (*connect)(void *s, aw_error *err),
                          void (*close)(void *s), void **session, aw_error *err);

#endif
