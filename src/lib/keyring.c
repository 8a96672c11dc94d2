/*
 * keyring.c -- key rings: parse, load, generate, free.
 *
 * A ring is an array of keys, immutable once built, so any number of threads
 * may sign and verify with it at once; the gateway replaces a ring as a whole
 * on reload instead of changing one.  The LAST key signs and every key
 * verifies: rotating is appending a line (docs/FORMAT.md §3).
 *
 * An entry may name its HMAC hash ("KID:hs384:KEY"); the hash is bound to the
 * key here and nowhere else, so a token can never pick it (no algorithm
 * confusion) and a ring may mix algorithms while it rotates from one to
 * another.  A key must be at least as long as its hash output.
 *
 * Key bytes live in one place per key and are wiped with OPENSSL_cleanse when
 * the ring is freed; so is every temporary copy (decoded text, file contents,
 * generated lines).  Error codes say what is wrong with an entry, never what
 * the entry was: a key must not reach a log through an error message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

#define CS_KEYFILE_MAX ((size_t)1 << 20)

struct chatseal_keyring {
    cs_key *keys;
    size_t n;
};

int cs_kid_valid(const char *kid, size_t len)
{
    if (len < 1 || len > CHATSEAL_KID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = kid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void chatseal_keyring_free(chatseal_keyring *ring)
{
    if (!ring)
        return;
    for (size_t i = 0; i < ring->n; i++) {
        if (ring->keys[i].bytes) {
            OPENSSL_cleanse(ring->keys[i].bytes, ring->keys[i].len);
            free(ring->keys[i].bytes);
        }
        EVP_MAC_CTX_free(ring->keys[i].tmpl);
    }
    free(ring->keys);
    free(ring);
}

/* Adds one key; the bytes are copied. */
static chatseal_error cs_ring_add(chatseal_keyring *ring, const char *kid,
                                  size_t kid_len, const uint8_t *key,
                                  size_t len, size_t taglen)
{
    for (size_t i = 0; i < ring->n; i++)
        if (strlen(ring->keys[i].kid) == kid_len &&
            memcmp(ring->keys[i].kid, kid, kid_len) == 0)
            return CHATSEAL_E_DUPLICATE_KID;
    cs_key *keys = realloc(ring->keys, (ring->n + 1) * sizeof *keys);
    if (!keys)
        return CHATSEAL_E_NO_MEMORY;
    ring->keys = keys;
    cs_key *k = &keys[ring->n];
    memset(k, 0, sizeof *k);
    memcpy(k->kid, kid, kid_len);
    k->bytes = malloc(len);
    if (!k->bytes)
        return CHATSEAL_E_NO_MEMORY;
    memcpy(k->bytes, key, len);
    k->len = len;
    k->taglen = taglen;
    ring->n++; /* counted now so that free() wipes it on any failure */
    k->tmpl = cs_mac_template(key, len, taglen);
    return k->tmpl ? CHATSEAL_OK : CHATSEAL_E_CRYPTO;
}

static int cs_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The HMAC output length an algorithm name selects; 0 when unknown. */
static size_t cs_alg_taglen(const char *alg, size_t n)
{
    static const struct {
        const char *name;
        size_t taglen;
    } algs[] = {{"hs256", 32}, {"hs384", 48}, {"hs512", 64}};
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (n == strlen(algs[i].name) && memcmp(alg, algs[i].name, n) == 0)
            return algs[i].taglen;
    return 0;
}

/* One "KID:KEY" or "KID:ALG:KEY" entry, already trimmed and non-empty. */
static chatseal_error cs_ring_entry(chatseal_keyring *ring, const char *s,
                                    size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return CHATSEAL_E_INVALID_KEY;
    size_t kid_len = (size_t)(colon - s);
    const char *b64 = colon + 1;
    size_t b64_len = n - kid_len - 1;
    if (!cs_kid_valid(s, kid_len))
        return CHATSEAL_E_INVALID_KEY;
    size_t taglen = 32; /* no algorithm named: HMAC-SHA256 */
    const char *alg_end = memchr(b64, ':', b64_len);
    if (alg_end) {
        taglen = cs_alg_taglen(b64, (size_t)(alg_end - b64));
        if (!taglen)
            return CHATSEAL_E_INVALID_KEY;
        b64_len -= (size_t)(alg_end + 1 - b64);
        b64 = alg_end + 1;
    }
    if (b64_len > cs_b64u_encoded_len(CHATSEAL_KEYBYTES_MAX))
        return CHATSEAL_E_INVALID_KEY;
    uint8_t key[CHATSEAL_KEYBYTES_MAX + 3];
    size_t len = 0;
    chatseal_error e = CHATSEAL_OK;
    if (cs_b64u_decode(b64, b64_len, key, &len) != 0)
        e = CHATSEAL_E_INVALID_KEY;
    else if (len < CHATSEAL_KEYBYTES_MIN || len < taglen)
        e = CHATSEAL_E_WEAK_KEY;
    else
        e = cs_ring_add(ring, s, kid_len, key, len, taglen);
    OPENSSL_cleanse(key, sizeof key);
    return e;
}

chatseal_error chatseal_keyring_parse(const char *text, size_t len,
                                      chatseal_keyring **out)
{
    if (!out || (!text && len))
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    chatseal_keyring *ring = calloc(1, sizeof *ring);
    if (!ring)
        return CHATSEAL_E_NO_MEMORY;
    chatseal_error e = CHATSEAL_OK;
    size_t i = 0;
    while (i < len && e == CHATSEAL_OK) {
        size_t j = i;
        while (j < len && text[j] != '\n' && text[j] != ',')
            j++;
        const char *s = text + i;
        size_t n = j - i;
        while (n && cs_is_blank(*s)) {
            s++;
            n--;
        }
        while (n && cs_is_blank(s[n - 1]))
            n--;
        if (n && memchr(s, '\0', n))
            e = CHATSEAL_E_INVALID_KEY;
        else if (n && *s == '#') {
            /* a comment runs to the end of the line, commas included */
            while (j < len && text[j] != '\n')
                j++;
        } else if (n)
            e = cs_ring_entry(ring, s, n);
        i = j + 1;
    }
    if (e == CHATSEAL_OK && ring->n == 0)
        e = CHATSEAL_E_NO_KEY;
    if (e != CHATSEAL_OK) {
        chatseal_keyring_free(ring);
        return e;
    }
    *out = ring;
    return CHATSEAL_OK;
}

chatseal_error chatseal_keyring_load_file(const char *path,
                                          chatseal_keyring **out)
{
    if (!path || !out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return CHATSEAL_E_IO;
    cs_buf b = {0};
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        cs_buf_put(&b, chunk, k);
        if (b.n > CS_KEYFILE_MAX)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    OPENSSL_cleanse(chunk, sizeof chunk);
    chatseal_error e;
    if (bad)
        e = CHATSEAL_E_IO;
    else if (b.oom)
        e = CHATSEAL_E_NO_MEMORY;
    else if (b.n > CS_KEYFILE_MAX)
        e = CHATSEAL_E_TOO_LARGE;
    else
        e = chatseal_keyring_parse(b.p ? b.p : "", b.n, out);
    cs_buf_wipe(&b);
    return e;
}

chatseal_error chatseal_keyring_load_env(chatseal_keyring **out)
{
    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    const char *keys = getenv("CHATSEAL_KEYS");
    if (keys && *keys)
        return chatseal_keyring_parse(keys, strlen(keys), out);
    const char *path = getenv("CHATSEAL_KEY_FILE");
    if (path && *path)
        return chatseal_keyring_load_file(path, out);
    return CHATSEAL_E_NO_KEY;
}

chatseal_error chatseal_keyring_ephemeral(chatseal_keyring **out)
{
    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    uint8_t key[CHATSEAL_KEYBYTES_DEFAULT], id[4];
    if (RAND_bytes(key, sizeof key) != 1 || RAND_bytes(id, sizeof id) != 1)
        return CHATSEAL_E_CRYPTO;
    char kid[16];
    snprintf(kid, sizeof kid, "dev-%02x%02x%02x%02x", id[0], id[1], id[2],
             id[3]);
    chatseal_keyring *ring = calloc(1, sizeof *ring);
    chatseal_error e =
        ring ? cs_ring_add(ring, kid, strlen(kid), key, sizeof key, 32)
             : CHATSEAL_E_NO_MEMORY;
    OPENSSL_cleanse(key, sizeof key);
    if (e != CHATSEAL_OK) {
        chatseal_keyring_free(ring);
        return e;
    }
    *out = ring;
    return CHATSEAL_OK;
}

const char *chatseal_keyring_signing_kid(const chatseal_keyring *ring)
{
    return ring && ring->n ? ring->keys[ring->n - 1].kid : NULL;
}

size_t chatseal_keyring_size(const chatseal_keyring *ring)
{
    return ring ? ring->n : 0;
}

const cs_key *cs_keyring_signer(const chatseal_keyring *ring)
{
    return ring && ring->n ? &ring->keys[ring->n - 1] : NULL;
}

const cs_key *cs_keyring_find(const chatseal_keyring *ring, const char *kid)
{
    if (!ring)
        return NULL;
    for (size_t i = 0; i < ring->n; i++)
        if (strcmp(ring->keys[i].kid, kid) == 0)
            return &ring->keys[i];
    return NULL;
}

chatseal_error chatseal_key_generate(const char *kid, char **line)
{
    return chatseal_key_generate_alg(kid, NULL, line);
}

chatseal_error chatseal_key_generate_alg(const char *kid, const char *alg,
                                         char **line)
{
    if (!line)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *line = NULL;
    /* hs256 keeps the historical "KID:KEY" form; others name themselves */
    size_t taglen = alg ? cs_alg_taglen(alg, strlen(alg)) : 32;
    if (!taglen)
        return CHATSEAL_E_INVALID_ARGUMENT;
    const char *prefix = taglen == 32 ? "" : alg;
    char auto_kid[32];
    if (!kid) {
        uint8_t r[2];
        if (RAND_bytes(r, sizeof r) != 1)
            return CHATSEAL_E_CRYPTO;
        time_t now = time(NULL);
        struct tm tm;
        if (!gmtime_r(&now, &tm))
            return CHATSEAL_E_INVALID_ARGUMENT;
        snprintf(auto_kid, sizeof auto_kid, "k%04d%02d%02d-%02x%02x",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, r[0], r[1]);
        kid = auto_kid;
    }
    if (!cs_kid_valid(kid, strlen(kid)))
        return CHATSEAL_E_INVALID_KEY;
    /* as many random bytes as the hash output: the shortest key that does
     * not weaken the MAC (RFC 2104 §3) */
    uint8_t key[CHATSEAL_TAGBYTES_MAX];
    if (RAND_bytes(key, (int)taglen) != 1)
        return CHATSEAL_E_CRYPTO;
    size_t kl = strlen(kid), al = strlen(prefix),
           bl = cs_b64u_encoded_len(taglen);
    char *s = malloc(kl + 1 + al + 1 + bl + 2);
    if (!s) {
        OPENSSL_cleanse(key, sizeof key);
        return CHATSEAL_E_NO_MEMORY;
    }
    memcpy(s, kid, kl);
    s[kl] = ':';
    char *p = s + kl + 1;
    if (al) {
        memcpy(p, prefix, al);
        p[al] = ':';
        p += al + 1;
    }
    cs_b64u_encode(key, taglen, p);
    OPENSSL_cleanse(key, sizeof key);
    p[bl] = '\n';
    p[bl + 1] = '\0';
    *line = s;
    return CHATSEAL_OK;
}

void chatseal_free_secret(char *p)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, strlen(p));
    free(p);
}
