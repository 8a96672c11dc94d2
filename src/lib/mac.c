/*
 * mac.c -- HMAC-SHA-256/384/512 and SHA-256 through OpenSSL's EVP interfaces.
 *
 * The hash of a key's HMAC is fixed when the key ring is parsed (the entry's
 * algorithm, FORMAT.md §3) and travels with the key into every cs_mac, so no
 * token ever chooses it.  cs_mac_final returns the full HMAC output (32, 48
 * or 64 bytes); callers that need less truncate it themselves.
 *
 * Why templates: keying HMAC costs two SHA-256 compressions plus OpenSSL's
 * provider look-ups, several times the cost of MACing a 64-byte locator.  The
 * key ring keys one EVP_MAC_CTX per key when it is loaded and never touches
 * it again; every operation duplicates that template (a read-only copy, so a
 * ring can be shared by threads) and restarts the copy with EVP_MAC_init(ctx,
 * NULL, 0, NULL), which reuses the precomputed inner and outer pads.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"

static const char *cs_mac_digest(size_t taglen)
{
    switch (taglen) {
    case 32:
        return "SHA256";
    case 48:
        return "SHA384";
    case 64:
        return "SHA512";
    default:
        return NULL;
    }
}

EVP_MAC_CTX *cs_mac_template(const uint8_t *key, size_t len, size_t taglen)
{
    const char *name = cs_mac_digest(taglen);
    if (!name)
        return NULL;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context holds its own reference */
    if (!ctx)
        return NULL;
    char digest[8];
    snprintf(digest, sizeof digest, "%s", name);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    if (!EVP_MAC_init(ctx, key, len, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

chatseal_error cs_mac_begin(cs_mac *m, const cs_key *key)
{
    m->taglen = key->taglen;
    m->ctx = EVP_MAC_CTX_dup(key->tmpl);
    return m->ctx ? CHATSEAL_OK : CHATSEAL_E_CRYPTO;
}

chatseal_error cs_mac_init(cs_mac *m)
{
    return EVP_MAC_init(m->ctx, NULL, 0, NULL) ? CHATSEAL_OK
                                               : CHATSEAL_E_CRYPTO;
}

chatseal_error cs_mac_update(cs_mac *m, const void *p, size_t n)
{
    if (n == 0)
        return CHATSEAL_OK;
    return EVP_MAC_update(m->ctx, p, n) ? CHATSEAL_OK : CHATSEAL_E_CRYPTO;
}

chatseal_error cs_mac_frame(cs_mac *m, const void *p, size_t n)
{
    if (n > UINT32_MAX)
        return CHATSEAL_E_TOO_LARGE;
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                      (uint8_t)n};
    chatseal_error e = cs_mac_update(m, len, 4);
    return e ? e : cs_mac_update(m, p, n);
}

chatseal_error cs_mac_final(cs_mac *m, uint8_t out[CHATSEAL_TAGBYTES_MAX])
{
    size_t len = 0;
    if (m->taglen < CHATSEAL_TAGBYTES || m->taglen > CHATSEAL_TAGBYTES_MAX ||
        !EVP_MAC_final(m->ctx, out, &len, m->taglen) || len != m->taglen)
        return CHATSEAL_E_CRYPTO;
    return CHATSEAL_OK;
}

void cs_mac_end(cs_mac *m)
{
    EVP_MAC_CTX_free(m->ctx); /* OpenSSL cleanses the key copy */
    m->ctx = NULL;
}

chatseal_error cs_sha256(const void *p, size_t n,
                         uint8_t out[CHATSEAL_DIGESTBYTES])
{
    unsigned int len = 0;
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) ||
        len != CHATSEAL_DIGESTBYTES)
        return CHATSEAL_E_CRYPTO;
    return CHATSEAL_OK;
}
