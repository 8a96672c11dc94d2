/*
 * state.c -- signed and sealed application state (the ragbits seed, without
 * its holes).
 *
 * Signed state: the client keeps any JSON value and a token whose tag covers
 * SHA256 of the value's canonical form, so re-encoding by the client (key
 * order, 1.0 vs 1, escapes) never breaks it, while any change of value does.
 *
 * Sealed state: the token itself carries the canonical value, encrypted with
 * AES-256-GCM under a key derived from the ring key for this purpose only
 * (FORMAT.md §4.5).  The header, cid and prn are the AEAD's associated data,
 * so a sealed token is bound exactly like a signed one.  The nonce is random
 * (96 bits): safe up to 2^32 seals per key, far beyond any rotation period.
 * A failed open says invalid_signature and releases nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fastcanon.h"
#include "internal.h"

#define CS_NONCEBYTES 12
#define CS_GCMTAGBYTES 16

/* Issue time and expiry for a new state token. */
static chatseal_error cs_state_header(const cs_key *key, const char *typ,
                                      const chatseal_options *opt, cs_mac *m,
                                      cs_buf *header, const char **cid,
                                      const char **prn)
{
    const char *pur;
    /* state tokens did not change in version 2: they stay version 1 */
    cs_header_in h = {.v = 1, .typ = typ, .kid = key->kid, .n = -1};
    uint8_t bnd[CHATSEAL_BINDBYTES];
    chatseal_error e = cs_binding_inputs(opt, cid, prn, &pur);
    if (e)
        return e;
    h.pur = pur;
    h.iat = cs_now(opt);
    int64_t ttl = opt ? opt->ttl : 0;
    if (ttl < 0 || h.iat >= ((int64_t)1 << 53) ||
        ttl >= ((int64_t)1 << 53) - h.iat)
        return CHATSEAL_E_INVALID_ARGUMENT;
    h.exp = ttl ? h.iat + ttl : 0;
    if (**cid || **prn) {
        if ((e = cs_binding_check(m, *cid, *prn, bnd)))
            return e;
        h.bnd = bnd;
    }
    return cs_header_build(&h, header);
}

/* What state_sign and state_seal both start with: arguments, the signing
 * key, and the canonical form of the value. */
static chatseal_error cs_state_begin(const chatseal_keyring *ring,
                                     const char *json, size_t len, char **token,
                                     const cs_key **key, char **canon,
                                     size_t *cl)
{
    if (!token || (!json && len))
        return CHATSEAL_E_INVALID_ARGUMENT;
    *token = NULL;
    if (!(*key = cs_keyring_signer(ring)))
        return CHATSEAL_E_NO_KEY;
    return cs_fc_canonicalize_alloc(json ? json : "", len, 0, canon, cl);
}

chatseal_error chatseal_state_sign(const chatseal_keyring *ring,
                                   const char *json, size_t len,
                                   const chatseal_options *opt, char **token)
{
    const cs_key *key = NULL;
    char *canon = NULL;
    size_t cl = 0;
    chatseal_options o; /* the caller's, at this library's size */
    chatseal_error e =
        cs_state_begin(ring, json, len, token, &key, &canon, &cl);
    if (!e && (e = cs_options_read(opt, &o)))
        free(canon);
    if (e)
        return e;
    opt = &o;
    uint8_t x[CHATSEAL_DIGESTBYTES], tag[CHATSEAL_TAGBYTES_MAX];
    cs_mac m = {0};
    cs_buf header = {0};
    const char *cid, *prn;
    if (!(e = cs_sha256(canon, cl, x)) && !(e = cs_mac_begin(&m, key)) &&
        !(e = cs_state_header(key, CS_TYP_STATE, opt, &m, &header, &cid,
                              &prn)) &&
        !(e = cs_tag(&m, CS_TYP_STATE, (const uint8_t *)header.p, header.n, cid,
                     prn, x, sizeof x, tag)))
        e = cs_token_assemble(&header, tag, m.taglen, token);
    cs_mac_end(&m);
    cs_buf_free(&header);
    free(canon);
    return e;
}

chatseal_error chatseal_state_verify(const chatseal_keyring *ring,
                                     const char *json, size_t len,
                                     const char *token,
                                     const chatseal_options *opt,
                                     chatseal_report *r)
{
    if (r)
        cs_report_reset(r);
    chatseal_options o; /* the caller's, at this library's size */
    if ((!json && len) || cs_options_read(opt, &o))
        return cs_report_set(r, CHATSEAL_E_INVALID_ARGUMENT, -1);
    opt = &o;
    if (!token || !*token)
        return cs_report_set(r, CHATSEAL_E_MISSING_SIGNATURE, -1);
    char *canon = NULL;
    size_t cl = 0;
    chatseal_error e =
        cs_fc_canonicalize_alloc(json ? json : "", len, 0, &canon, &cl);
    if (e)
        return cs_report_set(r, e, -1);
    if (!ring) {
        free(canon);
        return cs_report_set(r, CHATSEAL_E_NO_KEY, -1);
    }
    cs_token t;
    if ((e = cs_token_decode(token, &t))) {
        free(canon);
        return cs_report_set(r, e, -1);
    }
    cs_report_token(r, &t);
    const cs_key *key = NULL;
    cs_mac m = {0};
    const char *cid, *prn, *pur;
    uint8_t x[CHATSEAL_DIGESTBYTES], tag[CHATSEAL_TAGBYTES_MAX];
    if (!(e = cs_token_admit(ring, &t, CS_TYP_STATE, opt, &key, &m, r)) &&
        !(e = cs_binding_inputs(opt, &cid, &prn, &pur)) &&
        !(e = cs_sha256(canon, cl, x)) &&
        !(e = cs_tag(&m, CS_TYP_STATE, t.header, t.header_len, cid, prn, x,
                     sizeof x, tag))) {
        if (CRYPTO_memcmp(tag, t.payload, m.taglen) != 0) /* length: admit */
            e = CHATSEAL_E_INVALID_SIGNATURE;
        else {
            if (r)
                r->chain_valid = 1;
            e = cs_token_times(&t, opt);
        }
    }
    cs_mac_end(&m);
    cs_token_clear(&t);
    free(canon);
    return cs_report_set(r, e, -1);
}

/* Ke = the first 32 bytes of HMAC(K, frame("chatseal/v1/seal-key")): an
 * AES-256 key whatever the key's hash (all of it for hs256 keys). */
static chatseal_error cs_seal_key(cs_mac *m, uint8_t ke[32])
{
    static const char label[] = "chatseal/v1/seal-key";
    uint8_t full[CHATSEAL_TAGBYTES_MAX] = {0};
    chatseal_error e = cs_mac_init(m);
    if (!e)
        e = cs_mac_frame(m, label, sizeof label - 1);
    if (!e)
        e = cs_mac_final(m, full);
    memcpy(ke, full, 32);
    OPENSSL_cleanse(full, sizeof full);
    return e;
}

static void cs_seal_aad(cs_buf *aad, const uint8_t *header, size_t hl,
                        const char *cid, const char *prn)
{
    static const char label[] = "chatseal/v1/sealed";
    cs_buf_frame(aad, label, sizeof label - 1);
    cs_buf_frame(aad, header, hl);
    cs_buf_frame(aad, cid, strlen(cid));
    cs_buf_frame(aad, prn, strlen(prn));
}

/* AES-256-GCM in one direction; enc 1 seals, 0 opens (checks the tag). */
static chatseal_error cs_gcm(int enc, const uint8_t key[32],
                             const uint8_t nonce[CS_NONCEBYTES],
                             const cs_buf *aad, const uint8_t *in, size_t n,
                             uint8_t *out, uint8_t tag[CS_GCMTAGBYTES])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok = 0;
    if (n > INT32_MAX || aad->n > INT32_MAX || !c)
        goto done;
    if (!EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CS_NONCEBYTES, NULL) ||
        !EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) ||
        !EVP_CipherUpdate(c, NULL, &len, (const uint8_t *)aad->p,
                          (int)aad->n) ||
        (n && !EVP_CipherUpdate(c, out, &len, in, (int)n)))
        goto done;
    if (!enc &&
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CS_GCMTAGBYTES, tag))
        goto done;
    if (EVP_CipherFinal_ex(c, out + (n ? len : 0), &len) != 1)
        goto done;
    if (enc &&
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CS_GCMTAGBYTES, tag))
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(c);
    if (ok)
        return CHATSEAL_OK;
    return enc ? CHATSEAL_E_CRYPTO : CHATSEAL_E_INVALID_SIGNATURE;
}

chatseal_error chatseal_state_seal(const chatseal_keyring *ring,
                                   const char *json, size_t len,
                                   const chatseal_options *opt, char **token)
{
    const cs_key *key = NULL;
    char *canon = NULL;
    size_t cl = 0;
    chatseal_options o; /* the caller's, at this library's size */
    chatseal_error e =
        cs_state_begin(ring, json, len, token, &key, &canon, &cl);
    if (!e && (e = cs_options_read(opt, &o)))
        free(canon);
    if (e)
        return e;
    opt = &o;
    if (cl > CHATSEAL_TOKEN_MAX) {
        free(canon);
        return CHATSEAL_E_TOO_LARGE;
    }
    cs_mac m = {0};
    cs_buf header = {0}, aad = {0};
    const char *cid, *prn;
    uint8_t ke[32];
    uint8_t *payload = malloc(CS_NONCEBYTES + cl + CS_GCMTAGBYTES);
    if (!payload)
        e = CHATSEAL_E_NO_MEMORY;
    else if (!(e = cs_mac_begin(&m, key)) &&
             !(e = cs_state_header(key, CS_TYP_SEALED, opt, &m, &header, &cid,
                                   &prn)) &&
             !(e = cs_seal_key(&m, ke))) {
        cs_seal_aad(&aad, (const uint8_t *)header.p, header.n, cid, prn);
        if (aad.oom)
            e = CHATSEAL_E_NO_MEMORY;
        else if (RAND_bytes(payload, CS_NONCEBYTES) != 1)
            e = CHATSEAL_E_CRYPTO;
        else if (!(e = cs_gcm(1, ke, payload, &aad, (const uint8_t *)canon, cl,
                              payload + CS_NONCEBYTES,
                              payload + CS_NONCEBYTES + cl)))
            e = cs_token_assemble(&header, payload,
                                  CS_NONCEBYTES + cl + CS_GCMTAGBYTES, token);
    }
    OPENSSL_cleanse(ke, sizeof ke);
    cs_mac_end(&m);
    cs_buf_free(&header);
    cs_buf_free(&aad);
    free(payload);
    OPENSSL_cleanse(canon, cl);
    free(canon);
    return e;
}

chatseal_error chatseal_state_open(const chatseal_keyring *ring,
                                   const char *token,
                                   const chatseal_options *opt, char **json,
                                   size_t *json_len, chatseal_report *r)
{
    if (r)
        cs_report_reset(r);
    if (!json)
        return cs_report_set(r, CHATSEAL_E_INVALID_ARGUMENT, -1);
    *json = NULL;
    if (json_len)
        *json_len = 0;
    chatseal_options o; /* the caller's, at this library's size */
    if (cs_options_read(opt, &o))
        return cs_report_set(r, CHATSEAL_E_INVALID_ARGUMENT, -1);
    opt = &o;
    if (!token || !*token)
        return cs_report_set(r, CHATSEAL_E_MISSING_SIGNATURE, -1);
    if (!ring)
        return cs_report_set(r, CHATSEAL_E_NO_KEY, -1);
    cs_token t;
    chatseal_error e = cs_token_decode(token, &t);
    if (e)
        return cs_report_set(r, e, -1);
    cs_report_token(r, &t);
    const cs_key *key = NULL;
    cs_mac m = {0};
    cs_buf aad = {0};
    const char *cid, *prn, *pur;
    uint8_t ke[32];
    size_t cl = t.payload_len - CS_NONCEBYTES - CS_GCMTAGBYTES;
    char *plain = malloc(cl + 1);
    if (!plain)
        e = CHATSEAL_E_NO_MEMORY;
    else if (!(e = cs_token_admit(ring, &t, CS_TYP_SEALED, opt, &key, &m, r)) &&
             !(e = cs_binding_inputs(opt, &cid, &prn, &pur)) &&
             !(e = cs_seal_key(&m, ke))) {
        cs_seal_aad(&aad, t.header, t.header_len, cid, prn);
        e = aad.oom
                ? CHATSEAL_E_NO_MEMORY
                : cs_gcm(0, ke, t.payload, &aad, t.payload + CS_NONCEBYTES, cl,
                         (uint8_t *)plain, t.payload + CS_NONCEBYTES + cl);
        OPENSSL_cleanse(ke, sizeof ke);
        if (!e) {
            if (r)
                r->chain_valid = 1;
            e = cs_token_times(&t, opt);
        }
    }
    cs_mac_end(&m);
    cs_buf_free(&aad);
    cs_token_clear(&t);
    if (e) {
        if (plain) {
            OPENSSL_cleanse(plain, cl);
            free(plain);
        }
        return cs_report_set(r, e, -1);
    }
    plain[cl] = '\0';
    *json = plain;
    if (json_len)
        *json_len = cl;
    return cs_report_set(r, CHATSEAL_OK, -1);
}
