/* The due-index item of a scheduled action (docs/scheduling.md): its key
 * and its value, written by the pipeline (due_put) and read back by the
 * scheduler (due_take). Pure functions: any thread, nothing kept.
 *
 * Key: namespace = kafka.group_id (the pool one deployment's replicas take
 * from: another consumer group sharing the state backend never runs our
 * actions), tenant = the action's namespace, kind = AW_SCHEDULE_KIND,
 * id = "<bytes of tenant>:<tenant><key>" (the action's tenant and dedup key,
 * length-prefixed so no tenant containing ':' can collide with another).
 * One item per dedup identity: a redelivered message puts the same item
 * again (an idempotent upsert).
 *
 * Value: "aw1 <partition> <offset> <topic>\n" then the original message
 * value, byte for byte. Kafka topic names have no space or newline. */
#ifndef AW_SCHEDULE_ITEM_H
#define AW_SCHEDULE_ITEM_H

#include <stddef.h>
#include <stdint.h>

#include "backends/state/state_types.h"
#include "common/aw_buf.h"
#include "ingest/action.h"

#define AW_SCHEDULE_KIND "scheduled"

/* The key of a's item; the id is written to id_buf (reset first), which
 * the key borrows, as it borrows pool and a's strings. -1: out of memory. */
int aw_schedule_key(const char *pool, const aw_action *a, aw_buf *id_buf, aw_state_key *out);

/* The value: header and the message bytes. -1: out of memory. */
int aw_schedule_value_write(aw_buf *out, const char *topic, int32_t partition, int64_t offset,
                            const void *msg, size_t len);

/* Parse a value: topic (NUL-terminated, at most topic_size - 1 bytes),
 * partition, offset, and the message bytes (borrowed from v). -1 when it is
 * not one of ours. */
int aw_schedule_value_read(const void *v, size_t len, char *topic, size_t topic_size,
                           int32_t *partition, int64_t *offset, const void **msg,
                           size_t *msg_len);

#endif
