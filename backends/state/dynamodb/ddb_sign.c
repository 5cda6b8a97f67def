/* See ddb_sign.h. HMAC and SHA-256 from OpenSSL's libcrypto (libcurl's TLS
 * library here, so no new dependency). */
#include "backends/state/dynamodb/ddb_sign.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(p, n, md);
    hex(md, sizeof(md), out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
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

int aw_sigv4_sign(const aw_sigv4_input *in, aw_sigv4_output *out)
{
    hdr h[64];
    char payload_hash[65], cr_hash[65], date[9];
    aw_buf signed_names = {0};
    int rc = -1;
    memset(out, 0, sizeof(*out));
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
    sha256_hex(in->payload ? in->payload : "", in->payload_len, payload_hash);

    aw_buf *cr = &out->canonical_request;
    if (aw_buf_printf(cr, "%s\n%s\n%s\n", in->method, in->path, in->query ? in->query : ""))
        goto done;
    for (size_t i = 0; i < in->nheaders; i++) {
        if (aw_buf_printf(cr, "%s:", h[i].name) || put_value(cr, h[i].value) ||
            aw_buf_puts(cr, "\n") ||
            aw_buf_printf(&signed_names, "%s%s", i ? ";" : "", h[i].name))
            goto done;
    }
    if (aw_buf_printf(cr, "\n%s\n%s", signed_names.data ? signed_names.data : "", payload_hash))
        goto done;
    sha256_hex(cr->data, cr->len, cr_hash);
    if (aw_buf_printf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                      in->amz_date, date, in->region, in->service, cr_hash))
        goto done;

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    aw_buf k = {0};
    if (aw_buf_printf(&k, "AWS4%s", in->secret_access_key)) {
        aw_buf_free(&k);
        goto done;
    }
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac(k.data, k.len, date, k1);
    aw_buf_free(&k);
    hmac(k1, 32, in->region, k2);
    hmac(k2, 32, in->service, k3);
    hmac(k3, 32, "aws4_request", k4);
    hmac(k4, 32, out->string_to_sign.data, sig);
    hex(sig, 32, out->signature);
    if (aw_buf_printf(&out->authorization,
                      "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                      "SignedHeaders=%s, Signature=%s",
                      in->access_key_id, date, in->region, in->service,
                      signed_names.data ? signed_names.data : "", out->signature))
        goto done;
    rc = 0;
done:
    aw_buf_free(&signed_names);
    if (rc)
        aw_sigv4_output_clear(out);
    return rc;
}
