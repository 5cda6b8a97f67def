/* The reply message (docs/design.md section 5) and record comparison, on top of
 * the audit record functions declared in audit_types.h.
 *
 * The reply JSON is the audit-record JSON (schemas/audit-record.schema.json)
 * minus "payload" (schemas/reply.schema.json): replaying the reply topic
 * rebuilds every audit record exactly, except the payload, which a reply
 * never carries (it may be large and holds the producer's data). */
#ifndef AW_AUDIT_RECORD_H
#define AW_AUDIT_RECORD_H

#include <stdbool.h>

#include "backends/audit/audit_types.h"
#include "common/aw_buf.h"

/* Kafka header on DLQ copies holding the reply JSON of the message's
 * outcome, so the DLQ topic replays like a reply topic. */
#define AW_AUDIT_RECORD_HEADER "acteon.audit_record"

/* The reply value for r: a new reference, or NULL when out of memory or when
 * r breaks its own invariants (details/metadata not JSON object text, a
 * string that is not UTF-8, fencing_token above INT64_MAX). */
json_t *aw_reply_from_record(const aw_audit_record *r);

/* The same reply appended to b as JSON text, without building a tree (the
 * worker writes one per message). details and metadata are copied as they
 * are (JSON object text: the worker's details are jansson's compact dumps,
 * its metadata the producer's own bytes); when they are compact, the result
 * is byte for byte json_dumps(aw_reply_from_record(r), JSON_COMPACT).
 * Returns -1 when r breaks an invariant or out of memory (b then holds
 * a partial text: discard it). */
int aw_reply_write(const aw_audit_record *r, aw_buf *b);

/* Parse a reply into *out (overwritten, not cleared first), payload = NULL.
 * Unknown members, "payload" included, are ignored so that newer replies
 * still replay. On failure *out is left zeroed and err names the bad field
 * (AW_PERMANENT) or says out of memory (AW_NOMEM). */
aw_status aw_record_from_reply(const json_t *reply, aw_audit_record *out, aw_error *err);

/* True when a and b hold the same record. details, payload and metadata are
 * compared as JSON values, not text: a backend may re-serialise them
 * (PostgreSQL jsonb reorders keys, Elasticsearch drops whitespace). */
bool aw_audit_record_equal(const aw_audit_record *a, const aw_audit_record *b);

#endif
