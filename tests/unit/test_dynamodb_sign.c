/* SigV4 of the DynamoDB backend against AWS's published test vectors
 * (aws-sig-v4-test-suite, credentials AKIDEXAMPLE, 20150830T123600Z,
 * us-east-1, service "service"). This signer signs the production requests
 * (with the day's key cached: aw_sigv4_sign_with_key) and is what
 * test_state_dynamodb uses to check the Authorization header of a captured
 * request, so it must itself be right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#ifdef AW_WITH_STATE_DYNAMODB
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "backends/state/dynamodb/ddb_http.h"
#include "backends/state/dynamodb/ddb_sign.h"

#define KEY_ID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE "20150830T123600Z"

static const aw_sigv4_header vanilla_headers[] = {
    {"Host", "example.amazonaws.com"},
    {"X-Amz-Date", DATE},
};

typedef struct vector {
    const char *name, *method, *query;
    const aw_sigv4_header *headers;
    size_t nheaders;
    const char *payload;
    const char *signature;
} vector;

static const aw_sigv4_header value_trim_headers[] = {
    {"Host", "example.amazonaws.com"},
    {"My-Header1", " value1"},
    {"My-Header2", " \"a   b   c\""},
    {"X-Amz-Date", DATE},
};

static const vector vectors[] = {
    {"get-vanilla", "GET", "", vanilla_headers, 2, "",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    /* The query as the canonical form has it (keys sorted). */
    {"get-vanilla-query-order-key-case", "GET", "Param1=value1&Param2=value2", vanilla_headers,
     2, "", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"post-vanilla", "POST", "", vanilla_headers, 2, "",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
};

static aw_sigv4_input vector_input(const vector *v)
{
    return (aw_sigv4_input){.method = v->method, .path = "/", .query = v->query,
                            .headers = v->headers, .nheaders = v->nheaders,
                            .payload = v->payload, .payload_len = strlen(v->payload),
                            .amz_date = DATE, .region = "us-east-1", .service = "service",
                            .access_key_id = KEY_ID, .secret_access_key = SECRET};
}

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const vector *v = &vectors[i];
        aw_sigv4_input in = vector_input(v);
        aw_sigv4_output out;
        assert_int_equal(aw_sigv4_sign(&in, &out), 0);
        if (strcmp(out.signature, v->signature) != 0)
            fail_msg("%s: signature %s, want %s\ncanonical request:\n%s", v->name, out.signature,
                     v->signature, out.canonical_request.data);
        char want[512];
        snprintf(want, sizeof(want),
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                 "aws4_request, SignedHeaders=host;x-amz-date, Signature=%s",
                 v->signature);
        assert_string_equal(out.authorization.data, want);
        aw_sigv4_output_clear(&out);
    }
}

/* The canonical request of get-vanilla, byte for byte (from the suite's
 * get-vanilla.creq), and the string to sign (.sts). */
static void test_get_vanilla_intermediates(void **state)
{
    (void)state;
    aw_sigv4_input in = {.method = "GET", .path = "/", .query = "", .headers = vanilla_headers,
                         .nheaders = 2, .payload = "", .payload_len = 0, .amz_date = DATE,
                         .region = "us-east-1", .service = "service", .access_key_id = KEY_ID,
                         .secret_access_key = SECRET};
    aw_sigv4_output out;
    assert_int_equal(aw_sigv4_sign(&in, &out), 0);
    assert_string_equal(out.canonical_request.data,
                        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                        "host;x-amz-date\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(out.string_to_sign.data,
                        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/"
                        "aws4_request\n"
                        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    aw_sigv4_output_clear(&out);
}

/* Header values are trimmed and inner runs of spaces folded (get-header-
 * value-trim's rule); names are lowercased and sorted. */
static void test_header_canonical_form(void **state)
{
    (void)state;
    aw_sigv4_input in = {.method = "GET", .path = "/", .query = "",
                         .headers = value_trim_headers, .nheaders = 4, .payload = "",
                         .amz_date = DATE, .region = "us-east-1", .service = "service",
                         .access_key_id = KEY_ID, .secret_access_key = SECRET};
    aw_sigv4_output out;
    assert_int_equal(aw_sigv4_sign(&in, &out), 0);
    assert_non_null(strstr(out.canonical_request.data,
                           "my-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:"));
    assert_non_null(strstr(out.authorization.data,
                           "SignedHeaders=host;my-header1;my-header2;x-amz-date,"));
    aw_sigv4_output_clear(&out);
}

/* The production path: the day's key derived once, then every vector
 * signed with it into one reused output, twice over (the buffers of the
 * first round must not leak into the second). */
static void test_cached_key_and_reused_output(void **state)
{
    (void)state;
    unsigned char key[32];
    assert_int_equal(aw_sigv4_signing_key(SECRET, "20150830", "us-east-1", "service", key), 0);
    aw_sigv4_output out = {0};
    size_t nv = sizeof(vectors) / sizeof(vectors[0]);
    for (size_t round = 0; round < 2; round++)
        for (size_t i = 0; i < nv; i++) {
            aw_sigv4_input in = vector_input(&vectors[nv - 1 - i]); /* longest first */
            in.secret_access_key = NULL;                            /* not read */
            assert_int_equal(aw_sigv4_sign_with_key(&in, key, &out), 0);
            assert_string_equal(out.signature, vectors[nv - 1 - i].signature);
            aw_sigv4_output ref;
            in.secret_access_key = SECRET;
            assert_int_equal(aw_sigv4_sign(&in, &ref), 0);
            assert_string_equal(out.authorization.data, ref.authorization.data);
            assert_string_equal(out.canonical_request.data, ref.canonical_request.data);
            aw_sigv4_output_clear(&ref);
        }
    aw_sigv4_output_clear(&out);
}

/* The signing key against OpenSSL's own HMAC, with a secret long enough
 * that "AWS4" + secret exceeds SHA-256's 64-byte block (hashed first). */
static void test_signing_key_long_secret(void **state)
{
    (void)state;
    const char *secrets[] = {SECRET, "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop"
                                     "qrstuvwxyz0123456789"};
    for (size_t s = 0; s < 2; s++) {
        unsigned char key[32], k[4][32];
        unsigned int len = 32;
        char k0[256];
        snprintf(k0, sizeof(k0), "AWS4%s", secrets[s]);
        HMAC(EVP_sha256(), k0, (int)strlen(k0), (const unsigned char *)"20150830", 8, k[0], &len);
        HMAC(EVP_sha256(), k[0], 32, (const unsigned char *)"eu-west-1", 9, k[1], &len);
        HMAC(EVP_sha256(), k[1], 32, (const unsigned char *)"dynamodb", 8, k[2], &len);
        HMAC(EVP_sha256(), k[2], 32, (const unsigned char *)"aws4_request", 12, k[3], &len);
        assert_int_equal(aw_sigv4_signing_key(secrets[s], "20150830", "eu-west-1", "dynamodb", key),
                         0);
        assert_memory_equal(key, k[3], 32);
    }
}

/* The Host header a session sends and signs, and when libcurl signs
 * instead (an endpoint with a path or query). No request is made. */
static void test_conn_host(void **state)
{
    (void)state;
    static const struct {
        const char *endpoint, *host;
        bool curl_signs;
    } cases[] = {
        {"https://dynamodb.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com", false},
        {"http://127.0.0.1:8000", "127.0.0.1:8000", false},
        {"https://example.com:443/", "example.com", false},
        {"http://example.com:80", "example.com", false},
        {"https://example.com:8443", "example.com:8443", false},
        {"http://[::1]:8000/", "[::1]:8000", false},
        {"http://127.0.0.1:8000/prefix", NULL, true},
        {"http://127.0.0.1:8000/?a=b", NULL, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aw_ddb_url url = {.region = "eu-west-1", .table = "t", .endpoint = (char *)cases[i].endpoint,
                          .access_key_id = KEY_ID, .secret_access_key = SECRET};
        aw_ddb_conn c;
        aw_error err = {0};
        assert_int_equal(aw_ddb_conn_init(&c, &url, 0, 0, &err), AW_OK);
        if (c.curl_signs != cases[i].curl_signs)
            fail_msg("%s: curl_signs %d", cases[i].endpoint, c.curl_signs);
        if (cases[i].host)
            assert_string_equal(c.host, cases[i].host);
        aw_ddb_conn_clear(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_cached_key_and_reused_output),
        cmocka_unit_test(test_signing_key_long_secret),
        cmocka_unit_test(test_conn_host),
        cmocka_unit_test(test_get_vanilla_intermediates),
        cmocka_unit_test(test_header_canonical_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    printf("the dynamodb backend is not compiled in (WITH_STATE_DYNAMODB=OFF)\n");
    return 0;
}
#endif
