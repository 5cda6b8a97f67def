/* Attribute names of the "dynamodb" state backend's items (see
 * ddb_request.h for the layout). All prefixed, so none is one of
 * DynamoDB's reserved words and expressions need no #name aliases. */
#ifndef AW_DDB_ATTRS_H
#define AW_DDB_ATTRS_H

#define AW_DDB_A_VAL "aw_val"     /* B: a value's bytes */
#define AW_DDB_A_NUM "aw_num"     /* N: a counter's value (instead of aw_val) */
#define AW_DDB_A_VER "aw_ver"     /* N: version, 1 on insert, +1 per write */
#define AW_DDB_A_EXP "aw_exp_ms"  /* N: exact expiry, ms since the epoch */
#define AW_DDB_A_TTL "expires_at" /* N: epoch seconds, the table's TTL attribute */
#define AW_DDB_A_TOK "aw_tok"     /* N: fencing-token counter of a lock/dedup item */
#define AW_DDB_A_ST "aw_st"       /* S: "L" lease or "D" done */
#define AW_DDB_A_SUM "aw_sum"     /* B: done summary */
#define AW_DDB_A_TOPIC "aw_topic" /* B: done source topic */
#define AW_DDB_A_PART "aw_part"   /* N: done source partition */
#define AW_DDB_A_OFF "aw_off"     /* N: done source offset */
#define AW_DDB_A_DUE "aw_due"     /* N: a due item's due time (caller's ms) */

#endif
