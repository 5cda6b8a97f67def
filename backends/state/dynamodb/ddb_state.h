/* The DynamoDB state backend ("dynamodb"), over HTTP with libcurl.
 *
 *   state = { backend = "dynamodb";
 *             url = "dynamodb://eu-west-1/acteon_state";   # see ddb_url.h
 *             key_prefix = "acteon:"; };
 *
 * URL: dynamodb://[ACCESS_KEY_ID:SECRET_ACCESS_KEY@]REGION/TABLE[?endpoint=URL][&token=SESSION_TOKEN]
 * (credentials otherwise from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN). Requests are signed with SigV4 by ddb_sign.c, the
 * day's signing key cached per session (by libcurl's CURLOPT_AWS_SIGV4 for
 * an endpoint with a path or query); the session token goes in
 * X-Amz-Security-Token, signed.
 *
 * Schema: ONE table, key (pk B HASH, sk B RANGE), created by
 * `acteon-worker migrate -c FILE` from migrations/dynamodb/ (embedded),
 * which also enables DynamoDB TTL on expires_at where the server supports
 * it (dynalite does not: reported and skipped). create() refuses a missing
 * table naming that command. Item layout: ddb_request.h.
 *
 * What it guarantees, and how:
 *  - Every write is ONE conditional request, so check and write are atomic
 *    on the server: check_and_set/insert = PutItem "attribute_not_exists(pk)
 *    OR aw_exp_ms <= :now"; set = UpdateItem of a live item (version + 1),
 *    else that insert (version 1), retried while the two race; CAS =
 *    "aw_ver = :expected AND live"; increment = ADD on the number attribute
 *    aw_num with an int64 overflow bound in the condition (a value written
 *    by set is converted once, conditional on its version).
 *  - Locks and leases: acquire/claim = ONE UpdateItem with "attribute_not_
 *    exists(pk) OR aw_exp_ms <= :now" that also draws the fencing token
 *    (aw_tok = if_not_exists(aw_tok, :seed) + 1): of N concurrent claimers
 *    of an absent or expired record exactly one wins, and its token is
 *    above every earlier one of that identity (the counter lives in the
 *    item; release only expires it; see AW_DDB_TOKEN_GRACE_S). A losing
 *    claimer reads the item (ConsistentRead) to report DONE or BUSY.
 *    extend/renew/release/complete are conditional on "aw_tok = :t AND
 *    live" (and aw_st = "L" for leases): a stale holder changes nothing.
 *  - Reads use ConsistentRead; expired items count as absent on every read.
 *  - The due index (ddb_due.c): bucket partitions per pool, a take reads
 *    every bucket and leases with conditional writes; its cost and limits
 *    are stated there and in docs/backends/dynamodb.md.
 *  - Batches: claim_batch, complete_batch and lease_renew_batch send one
 *    request per item, AW_DDB_MAX_INFLIGHT at once on the session's curl
 *    multi handle (conditional writes cannot be batched in BatchWriteItem,
 *    and a TransactWriteItems fails whole on one lost condition; dynalite
 *    has no transactions anyway): a batch of n costs about n / 16 round
 *    trips of wall time, not one.
 *
 * Clock: expiry is judged by the clock of the worker that sends each
 * request (:now in the condition), not by DynamoDB. Worker clocks must agree
 * within a bound well below the shortest lease (NTP: a few ms); a worker
 * whose clock runs ahead by D ms may take over a lease up to D ms early,
 * which the fencing token then exposes to the provider. DynamoDB's own TTL
 * deletion (hours) only keeps the table small; without it (dynalite) expired
 * items stay until overwritten.
 *
 * Errors: aw_ddb_classify (ddb_parse.h): throttling and 5xx are
 * AW_TRANSIENT (throttled requests are resent briefly inside; the caller
 * backs off), ConditionalCheckFailed is the normal lost race, other 4xx
 * AW_PERMANENT with the server's message. A call failing with AW_TRANSIENT
 * after its request was sent may have been applied (a retried claim may
 * then find its own lease: BUSY until it expires).
 *
 * Sessions: one curl multi handle and its easy handles per session (per
 * worker thread); never shared. */
#ifndef AW_DDB_STATE_H
#define AW_DDB_STATE_H

#include "backends/state/dynamodb/ddb_http.h"
#include "backends/state/state_backend.h"

/* The session's connection (tests read its request counters). */
const aw_ddb_conn *aw_state_dynamodb_session_conn(void *session);

#endif
