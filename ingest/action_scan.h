/* Finding an action's dedup identity without parsing the message.
 *
 * The polling thread must shard every message by its dedup identity (one
 * identity -> one worker thread, so actions with the same identity are
 * processed in offset order), but parsing and validating the JSON is most of
 * the per-message CPU and belongs on the worker threads, which run in
 * parallel. This scanner reads only the top level of the object, skipping
 * every value it does not need, and allocates nothing.
 *
 * Contract (checked by tests/fuzz/fuzz_action.c on every input): when
 * aw_action_scan_identity() returns 0 AND aw_action_decode() accepts the same
 * bytes, the hash equals aw_action_identity_hash() of the decoded action.
 * When the bytes are not a valid action the hash means nothing (the decoder
 * rejects the message on the worker thread; where it is processed does not
 * matter). Anything the scanner cannot be exact about (an escape sequence in
 * a top-level key or in an identity string, a non-string identity field, a
 * repeated field) makes it return -1: the caller then decodes in full. */
#ifndef AW_ACTION_SCAN_H
#define AW_ACTION_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* 0 with *hash set, or -1 when the caller must decode to know the identity.
 * Reads data[0..len) only; never allocates. */
int aw_action_scan_identity(const void *data, size_t len, uint64_t *hash);

#endif
