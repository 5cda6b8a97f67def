/* Helpers for the ClickHouse test programs (state and audit): the
 * operator's side of the server, through a raw HTTP connection of the
 * shared ClickHouse client. Every failure fails the running cmocka test.
 * Test code only. */
#ifndef AW_SUITE_CH_ADMIN_H
#define AW_SUITE_CH_ADMIN_H

#ifdef AW_WITH_CLICKHOUSE

#include "backends/clickhouse/ch_http.h"

/* Parse url (what names it in messages, e.g. "state.url") into cfg and open
 * c on it; the caller closes c (aw_ch_conn_close). */
void aw_cht_admin_open(const char *what, const char *url, aw_ch_config *cfg, aw_ch_conn *c);
/* Run sql; its answer is left in c->resp. */
void aw_cht_admin_exec(aw_ch_conn *c, const char *sql);

#endif
#endif
