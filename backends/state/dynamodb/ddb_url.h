/* The "dynamodb" state backend URL (pure parsing, no I/O).
 *
 *   dynamodb://[ACCESS_KEY_ID:SECRET_ACCESS_KEY@]REGION/TABLE[?endpoint=URL][&token=SESSION_TOKEN]
 *
 *   dynamodb://eu-west-1/acteon_state
 *   dynamodb://AKIA...:wJalr...@eu-west-1/acteon_state?token=FwoG...
 *   dynamodb://test:test@us-east-1/acteon_state?endpoint=http://127.0.0.1:8000
 *
 * REGION signs the requests (SigV4) and picks the default endpoint
 * https://dynamodb.REGION.amazonaws.com; endpoint= overrides it (dynalite,
 * DynamoDB Local, a VPC endpoint). Credentials in the URL win; without them
 * the standard AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN environment variables are read (at create time). The
 * userinfo and the query values are percent-decoded (a secret containing
 * '/' or '+' may be written %2F, %2B). Secrets are never logged: print the
 * URL only through aw_redact_url(), which masks the userinfo password and
 * token=.
 *
 * Ownership: aw_ddb_url_parse() fills a caller-owned struct whose strings
 * are malloc'd; release with aw_ddb_url_clear() (accepts a zeroed struct). */
#ifndef AW_DDB_URL_H
#define AW_DDB_URL_H

#include "common/aw_error.h"

typedef struct aw_ddb_url {
    char *region;
    char *table;
    char *endpoint;      /* always set: the override or the regional default */
    char *access_key_id; /* NULL until found (URL, then environment) */
    char *secret_access_key;
    char *session_token; /* NULL: none */
} aw_ddb_url;

/* Parse url; env_lookup (getenv in production, NULL = no environment) is
 * asked for the AWS_* variables when the URL has no credentials. A missing
 * region, table, or credentials is AW_CONFIG. */
aw_status aw_ddb_url_parse(const char *url, const char *(*env_lookup)(const char *),
                           aw_ddb_url *out, aw_error *err);
void aw_ddb_url_clear(aw_ddb_url *u);

#endif
