#include "common/aw_session.h"

#include <stdlib.h>
#include <string.h>

aw_status aw_session_open(void *backend, size_t size, aw_status (*connect)(void *s, aw_error *err),
                          void (*close)(void *s), void **session, aw_error *err)
{
    *session = NULL;
    void *s = calloc(1, size);
    if (!s)
        return aw_error_set(err, AW_NOMEM, "out of memory");
    memcpy(s, &backend, sizeof(backend)); /* the first member (see the header) */
    aw_status rc = connect ? connect(s, err) : AW_OK;
    if (rc != AW_OK) {
        close(s);
        return rc;
    }
    *session = s;
    return AW_OK;
}
