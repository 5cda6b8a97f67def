#include "suite_ch_admin.h"

#ifdef AW_WITH_CLICKHOUSE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

void aw_cht_admin_open(const char *what, const char *url, aw_ch_config *cfg, aw_ch_conn *c)
{
    aw_error err = {0};
    assert_int_equal(aw_ch_config_parse(what, url, 0, 0, cfg, &err), AW_OK);
    assert_int_equal(aw_ch_conn_open(c, cfg, &err), AW_OK);
}

void aw_cht_admin_exec(aw_ch_conn *c, const char *sql)
{
    aw_error err = {0};
    if (aw_ch_request(c, sql, strlen(sql), "test", &err) != AW_OK)
        fail_msg("%s: %s", sql, err.msg);
}

#endif
