/* A small, pure AWS Signature Version 4 signer.
 *
 * It signs the production requests (ddb_http.c: the day's signing key is
 * derived once per session and day, not four HMACs per request as
 * libcurl's CURLOPT_AWS_SIGV4 does, which showed in our CPU per request:
 * docs/performance.md). The tests check, without AWS, that (1) it matches AWS's
 * published test vectors (aws-sig-v4-test-suite: get-vanilla,
 * post-vanilla, ...) and (2) the Authorization header actually sent on a
 * captured request is the one SigV4 prescribes for exactly the headers
 * sent. dynalite does not verify signatures, so nothing else would notice
 * a wrong one.
 *
 * Pure: no clock, no environment; all strings borrowed. Thread-safe. */
#ifndef AW_DDB_SIGN_H
#define AW_DDB_SIGN_H

#include <stddef.h>

#include "common/aw_buf.h"

typedef struct aw_sigv4_header {
    const char *name;  /* any case; lowercased and sorted by the signer */
    const char *value; /* leading/trailing spaces trimmed, inner runs folded */
} aw_sigv4_header;

typedef struct aw_sigv4_input {
    const char *method;        /* "GET", "POST" */
    const char *path;          /* canonical URI, e.g. "/" */
    const char *query;         /* canonical query string ("" if none) */
    const aw_sigv4_header *headers; /* every signed header, host and x-amz-date included */
    size_t nheaders;
    const void *payload;
    size_t payload_len;
    const char *amz_date;      /* "20150830T123600Z" */
    const char *region;        /* "us-east-1" */
    const char *service;       /* "dynamodb" */
    const char *access_key_id;
    const char *secret_access_key;
} aw_sigv4_input;

typedef struct aw_sigv4_output {
    aw_buf canonical_request;
    aw_buf string_to_sign;
    aw_buf authorization; /* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
    char signature[65];
} aw_sigv4_output;

/* Return 0, or -1 (out of memory, more than 64 headers). The caller frees
 * the output's buffers with aw_sigv4_output_clear(). */
int aw_sigv4_sign(const aw_sigv4_input *in, aw_sigv4_output *out);
void aw_sigv4_output_clear(aw_sigv4_output *out);

/* The signing key of one day (date8 "YYYYMMDD"), region and service: the
 * HMAC chain over "AWS4" + secret. 0 or -1 (out of memory). */
int aw_sigv4_signing_key(const char *secret_access_key, const char *date8, const char *region,
                         const char *service, unsigned char key[32]);

/* aw_sigv4_sign() with the key of aw_sigv4_signing_key() for in's day,
 * region and service (in->secret_access_key is not read). out's buffers are
 * reused from call to call: zero it before the first call, release it with
 * aw_sigv4_output_clear(). 0 or -1 (out of memory, more than 64 headers;
 * out is then unspecified but still valid to reuse or clear). */
int aw_sigv4_sign_with_key(const aw_sigv4_input *in, const unsigned char key[32],
                           aw_sigv4_output *out);

#endif
