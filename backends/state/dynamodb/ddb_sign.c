/* See ddb_sign.h. SHA-256 from OpenSSL's libcrypto (libcurl's TLS library
 * here, so no new dependency), HMAC on top of it (RFC 2104). The digest is
 * fetched from the provider once: OpenSSL 3's one-shot SHA256() and HMAC()
 * look it up again on every call, which cost more than the hashing of a
 * request (and was most of libcurl's own signing cost). */
#include "backends/state/dynamodb/ddb_sign.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Fetched once, kept for the life of the process (never freed: other
 * threads may be signing). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

/* SHA-256 of a then b (b may be empty): 0 or -1. */
static int sha256(const void *a, size_t an, const void *b, size_t bn, unsigned char out[32])
{
    pthread_once(&sha256_once, sha256_fetch);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, sha256_md ? sha256_md : EVP_sha256(), NULL) &&
             EVP_DigestUpdate(c, a, an) && (bn == 0 || EVP_DigestUpdate(c, b, bn)) &&
             EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

static int sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    if (sha256(p, n, NULL, 0, md))
        return -1;
    hex(md, sizeof(md), out);
    return 0;
}

/* HMAC-SHA256 (RFC 2104, block size 64): 0 or -1. */
static int hmac(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
    unsigned char k0[64] = {0}, pad[64], inner[32];
    int rc = 0;
    if (klen > sizeof(k0))
        rc = sha256(key, klen, NULL, 0, k0);
    else
        memcpy(k0, key, klen);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k0[i] ^ 0x36;
    rc = rc || sha256(pad, sizeof(pad), msg, mlen, inner);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k0[i] ^ 0x5c;
    rc = rc || sha256(pad, sizeof(pad), inner, sizeof(inner), out);
    OPENSSL_cleanse(k0, sizeof(k0));
    OPENSSL_cleanse(pad, sizeof(pad));
    return rc ? -1 : 0;
}

static int hmac_str(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    return hmac(key, klen, msg, strlen(msg), out);
}

typedef struct hdr {
    char name[64];
    const char *value;
} hdr;

static int hdr_cmp(const void *a, const void *b)
{
    return strcmp(((const hdr *)a)->name, ((const hdr *)b)->name);
}

/* Header value as SigV4 wants it: trimmed, runs of spaces folded to one. */
static int put_value(aw_buf *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < n; i++) {
        bool sp = v[i] == ' ' || v[i] == '\t';
        if (sp && i > 0 && (v[i - 1] == ' ' || v[i - 1] == '\t'))
            continue;
        if (aw_buf_append(b, sp ? " " : &v[i], 1))
            return -1;
    }
    return 0;
}

void aw_sigv4_output_clear(aw_sigv4_output *out)
{
    aw_buf_free(&out->canonical_request);
    aw_buf_free(&out->string_to_sign);
    aw_buf_free(&out->authorization);
}

int aw_sigv4_signing_key(const char *secret_access_key, const char *date8, const char *region,
                         const char *service, unsigned char key[32])
{
    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    aw_buf k = {0};
    unsigned char k1[32], k2[32], k3[32];
    int rc = aw_buf_printf(&k, "AWS4%s", secret_access_key) ||
             hmac_str(k.data, k.len, date8, k1) || hmac_str(k1, 32, region, k2) ||
             hmac_str(k2, 32, service, k3) || hmac_str(k3, 32, "aws4_request", key);
    if (k.data)
        OPENSSL_cleanse(k.data, k.len);
    aw_buf_free(&k);
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    OPENSSL_cleanse(k3, sizeof(k3));
    return rc ? -1 : 0;
}

int aw_sigv4_sign(const aw_sigv4_input *in, aw_sigv4_output *out)
{
    unsigned char key[32];
    char date[9] = {0};
    memset(out, 0, sizeof(*out));
    if (!in->amz_date || strlen(in->amz_date) < 8)
        return -1;
    memcpy(date, in->amz_date, 8);
    int rc = aw_sigv4_signing_key(in->secret_access_key, date, in->region, in->service, key) ||
             aw_sigv4_sign_with_key(in, key, out);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc)
        aw_sigv4_output_clear(out);
    return rc ? -1 : 0;
}

int aw_sigv4_sign_with_key(const aw_sigv4_input *in, const unsigned char key[32],
                           aw_sigv4_output *out)
{
    hdr h[64];
    char payload_hash[65], cr_hash[65], date[9];
    char signed_names[64 * 65];
    size_t sn = 0;
    if (in->nheaders > 64 || strlen(in->amz_date) < 8)
        return -1;
    for (size_t i = 0; i < in->nheaders; i++) {
        size_t n = strlen(in->headers[i].name);
        if (n >= sizeof(h[i].name))
            return -1;
        for (size_t j = 0; j <= n; j++)
            h[i].name[j] = (char)tolower((unsigned char)in->headers[i].name[j]);
        h[i].value = in->headers[i].value;
    }
    qsort(h, in->nheaders, sizeof(h[0]), hdr_cmp);
    memcpy(date, in->amz_date, 8);
    date[8] = '\0';
    if (sha256_hex(in->payload ? in->payload : "", in->payload_len, payload_hash))
        return -1;

    aw_buf *cr = &out->canonical_request;
    aw_buf_reset(cr);
    aw_buf_reset(&out->string_to_sign);
    aw_buf_reset(&out->authorization);
    if (aw_buf_printf(cr, "%s\n%s\n%s\n", in->method, in->path, in->query ? in->query : ""))
        return -1;
    signed_names[0] = '\0';
    for (size_t i = 0; i < in->nheaders; i++) {
        size_t n = strlen(h[i].name);
        if (aw_buf_puts(cr, h[i].name) || aw_buf_puts(cr, ":") || put_value(cr, h[i].value) ||
            aw_buf_puts(cr, "\n"))
            return -1;
        if (i)
            signed_names[sn++] = ';';
        memcpy(signed_names + sn, h[i].name, n + 1); /* names < 64 bytes: always fits */
        sn += n;
    }
    if (aw_buf_printf(cr, "\n%s\n%s", signed_names, payload_hash) ||
        sha256_hex(cr->data, cr->len, cr_hash) ||
        aw_buf_printf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                      in->amz_date, date, in->region, in->service, cr_hash))
        return -1;
    unsigned char sig[32];
    if (hmac(key, 32, out->string_to_sign.data, out->string_to_sign.len, sig))
        return -1;
    hex(sig, 32, out->signature);
    if (aw_buf_printf(&out->authorization,
                      "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                      "SignedHeaders=%s, Signature=%s",
                      in->access_key_id, date, in->region, in->service, signed_names,
                      out->signature))
        return -1;
    return 0;
}
