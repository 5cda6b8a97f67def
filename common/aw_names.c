#include "common/aw_names.h"

#include <string.h>

void aw_names_join(char *out, size_t outsz, const char *(*name_at)(size_t i))
{
    size_t o = 0;
    if (!outsz)
        return;
    for (size_t i = 0; name_at(i); i++) {
        size_t n = strlen(name_at(i));
        if (o + n + 3 >= outsz)
            break;
        if (i) {
            memcpy(out + o, ", ", 2);
            o += 2;
        }
        memcpy(out + o, name_at(i), n);
        o += n;
    }
    out[o] = '\0';
}
