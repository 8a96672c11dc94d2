/*
 * store.c -- the conversation store's front: which engine --store names,
 * and the record key.  The engines are store_lmdb.c (embedded, default) and
 * store_redis.c (shared by replicas); store.h explains the contract.
 *
 * Why keys are digests: whoever reads the store (a Redis shared with other
 * services, a backup of the LMDB file) learns no conversation id and no
 * principal; the id is the only secret of a client that sends no token.
 */
#include "policy/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

void cs_store_key(const char *cid, const char *prn, char key[65])
{
    static const char hex[] = "0123456789abcdef";
    /* length-prefixed, like every MAC input: ("a","bc") != ("ab","c") */
    unsigned char d[32];
    unsigned int len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *parts[2] = {cid ? cid : "", prn ? prn : ""};
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (int i = 0; ok && i < 2; i++) {
        size_t n = strlen(parts[i]);
        unsigned char be[4] = {(unsigned char)(n >> 24),
                               (unsigned char)(n >> 16),
                               (unsigned char)(n >> 8), (unsigned char)n};
        ok = EVP_DigestUpdate(md, be, 4) && EVP_DigestUpdate(md, parts[i], n);
    }
    if (!ok || !EVP_DigestFinal_ex(md, d, &len))
        memset(d, 0, sizeof d); /* never reached with a working OpenSSL */
    EVP_MD_CTX_free(md);
    for (size_t i = 0; i < sizeof d; i++) {
        key[2 * i] = hex[d[i] >> 4];
        key[2 * i + 1] = hex[d[i] & 15];
    }
    key[64] = '\0';
}

cs_store *cs_store_open(const char *spec, struct event_base *base,
                        int timeout_ms, int64_t ttl, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (!spec || !*spec || !strcmp(spec, "none"))
        return NULL;
    cs_store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->ttl = ttl > 0 ? ttl : 30 * 86400;
    int rc;
    if (!strncmp(spec, "redis://", 8) || !strncmp(spec, "unix:", 5))
        rc = cs_store_redis_open(
            st, spec, base, timeout_ms > 0 ? timeout_ms : 100, err, errlen);
    else
        rc = cs_store_lmdb_open(
            st, !strncmp(spec, "lmdb:", 5) ? spec + 5 : spec, err, errlen);
    if (rc != 0) {
        free(st);
        return NULL;
    }
    return st;
}

void cs_store_free(cs_store *st)
{
    if (!st)
        return;
    st->ops->free(st);
    free(st);
}

const char *cs_store_describe(const cs_store *st)
{
    return st ? st->describe : "none";
}

void cs_store_get(cs_store *st, const char *key, cs_store_get_cb cb, void *arg)
{
    st->ops->get(st, key, cb, arg);
}

void cs_store_cas(cs_store *st, const char *key, const char *old_token,
                  const char *token, const char *message, size_t message_len,
                  long count, cs_store_put_cb cb, void *arg)
{
    /* a record stays small whatever the upstream answers: a longer reply
     * is not kept (its recovery gives the token and count, message null) */
    if (message_len > CS_STORE_MESSAGE_MAX)
        message_len = 0;
    st->ops->cas(st, key, old_token, token, message, message_len, count, cb,
                 arg);
}
