/* The record of one run of a chain (docs/rules.md, "chain"), kept in the
 * shared state backend and changed only by compare-and-swap on its
 * version, so that replicas agree on every step's outcome.
 *
 * Record: ns AW_CHAIN_NS, tenant the chain's name, kind AW_CHAIN_KIND, id
 * the chain id (aw_chain_id: a hash of the trigger's dedup identity and
 * message coordinates, so a redelivered trigger finds its chain). Value, JSON:
 *   {"chain":NAME,"id":ID,"status":"running"|"completed"|"failed",
 *    "next":I,"attempt":A,"trigger":ACTION,"started_ms":T,"updated_ms":T,
 *    "steps":[{"step":NAME,"attempt":A,"outcome":O,"result":R,
 *              "record_id":RID},...]}
 * next/attempt: the step (index in the chain's configuration) and run to
 * execute next while running; steps: every run recorded, in order.
 * Written with a TTL of the chain's retention_s, renewed by every change.
 *
 * Its due item (pool: ns kafka.group_id, kind AW_CHAIN_KIND; tenant the
 * chain, id the chain id) is put due now when the record is created and
 * stays until the chain's end is replied (worker/chain_run.h).
 *
 * Pure but for the state calls: any thread, one session per thread. */
#ifndef AW_CHAIN_STATE_H
#define AW_CHAIN_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/state/state.h"
#include "config/config.h"

#define AW_CHAIN_NS "acteon.chains"
#define AW_CHAIN_KIND "chain"
#define AW_CHAIN_ID_LEN 32 /* hex digits */
#define AW_CHAIN_MAX_RACES 16

/* The chain id of the trigger message `record_id` (its coordinates, the
 * same for every delivery of it) of dedup identity `identity` starting
 * chain `name`: 32 lowercase hex digits (two 64-bit FNV-1a hashes). A
 * redelivery finds its chain; the same identity sent again in a new
 * message (after the dedup window) starts a new one, with new audit
 * record ids. */
void aw_chain_id(const char *identity, const char *record_id, const char *name,
                 char out[AW_CHAIN_ID_LEN + 1]);

/* Create the record of a new run from the trigger's action (its message
 * text) unless it exists, and put its due item due now_ms, unless the run
 * exists and has ended (a redelivered trigger starts nothing). *created
 * says whether this call made the record. */
aw_status aw_chain_start(aw_state_session *s, const aw_chain_config *c, const char *pool,
                         const char *id, const char *trigger, size_t len, int64_t now_ms,
                         bool *created, aw_error *err);

/* Read a record: *doc (owned by the caller) and its version. AW_NOT_FOUND
 * when absent or expired; AW_PERMANENT when it is not a chain record. */
aw_status aw_chain_read(aw_state_session *s, const char *name, const char *id, json_t **doc,
                        uint64_t *version, aw_error *err);

/* Write doc over version (0: must be absent), TTL the chain's retention. */
aw_status aw_chain_write(aw_state_session *s, const aw_chain_config *c, const char *id,
                         json_t *doc, uint64_t version, aw_error *err);

/* Book a run of step `step` (attempt `attempt`) with its outcome and
 * result (NULL: none) in doc, and move doc to what follows (the next step,
 * another run, on_failure's step, or the end: status completed or failed;
 * docs/rules.md says when). Returns the status after it. */
const char *aw_chain_book(const aw_chain_config *c, json_t *doc, int step, int attempt,
                          const char *outcome, const json_t *result, const char *record_id,
                          const char *error, int64_t now_ms);

#endif
