/* A small, pure AWS Signature Version 4 signer.
 *
 * Production requests are signed by libcurl (CURLOPT_AWS_SIGV4, see
 * ddb_http.c). This signer exists so the tests can check, without AWS,
 * that (1) our understanding of SigV4 matches AWS's published test vectors
 * (aws-sig-v4-test-suite: get-vanilla, post-vanilla, ...) and (2) the
 * Authorization header libcurl actually sent on a captured request is the
 * one SigV4 prescribes for exactly the headers it sent. dynalite does not
 * verify signatures, so nothing else would notice a wrong one.
 *
 * Pure: no clock, no environment; all strings borrowed. */
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

#endif
