/*
 * test_alg.c -- HMAC-SHA-384/512 keys (FORMAT.md §3): the algorithm is bound
 * to the key ring entry, never read from a token.
 *
 * What must hold: every token kind signs and verifies with hs384 and hs512
 * keys, with a tag of the hash's full length (48 / 64 bytes); a ring may mix
 * algorithms while it rotates (the old hs256 key verifies, the new hs512 key
 * signs, extend re-signs with it); and no token can make a verifier use
 * another algorithm than the one its kid's entry names.  A tag whose length
 * is not the named key's (an hs256 token whose kid is re-bound to an hs512
 * key of the same bytes, a truncated hs512 tag) is malformed_token, decided
 * before any MAC is computed; a tag of the right length but another hash is
 * plain invalid_signature.  The RFC 4231 vectors live in test_hmac.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tu.h"

/* the bytes 0x40..0x6f (48) and 0x80..0xbf (64) */
#define K48 "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5v"
#define K64                                                                    \
    "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp-goaKjpKWmp6ipqqusra6vsLGys7S1" \
    "tre4ubq7vL2-vw"

#define S0 "{\"role\":\"system\",\"content\":\"Be brief.\"}"
#define U1 "{\"role\":\"user\",\"content\":\"2+2?\"}"
#define A2 "{\"role\":\"assistant\",\"content\":\"4\"}"
#define U3 "{\"role\":\"user\",\"content\":\"3+3?\"}"
#define A4 "{\"role\":\"assistant\",\"content\":\"6\"}"
#define CONV "[" S0 "," U1 "," A2 "]"
#define CONV_EDITED "[" S0 "," U1 ",{\"role\":\"assistant\",\"content\":\"5\"}]"
#define STATE "{\"step\":3,\"cart\":[\"A-1\"]}"

static chatseal_options opts(void)
{
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    o.conversation_id = "c-alg";
    o.tail_roles = "user";
    return o;
}

static size_t tag_len(const char *token)
{
    size_t n = 0;
    free(cs_test_token_payload(token, &n));
    return n;
}

static chatseal_error parse_code(const char *text)
{
    chatseal_keyring *ring = NULL;
    chatseal_error e = chatseal_keyring_parse(text, strlen(text), &ring);
    chatseal_keyring_free(ring);
    return e;
}

static void ring_syntax(void)
{
    CHECK_ERR(parse_code("a:" TU_K1), CHATSEAL_OK);
    CHECK_ERR(parse_code("a:hs256:" TU_K1), CHATSEAL_OK);
    CHECK_ERR(parse_code("a:hs384:" K48), CHATSEAL_OK);
    CHECK_ERR(parse_code("a:hs512:" K64), CHATSEAL_OK);
    CHECK_ERR(parse_code("a:hs384:" K64 ", b:hs512:" K64 "\nc:" TU_K1),
              CHATSEAL_OK);
    /* shorter than the hash output: weak */
    CHECK_ERR(parse_code("a:hs384:" TU_K1), CHATSEAL_E_WEAK_KEY);
    CHECK_ERR(parse_code("a:hs512:" K48), CHATSEAL_E_WEAK_KEY);
    /* names are exact; anything else is not a key entry */
    CHECK_ERR(parse_code("a:HS384:" K48), CHATSEAL_E_INVALID_KEY);
    CHECK_ERR(parse_code("a:hs1024:" K64), CHATSEAL_E_INVALID_KEY);
    CHECK_ERR(parse_code("a:sha512:" K64), CHATSEAL_E_INVALID_KEY);
    CHECK_ERR(parse_code("a::" TU_K1), CHATSEAL_E_INVALID_KEY);
    CHECK_ERR(parse_code("a:hs384:hs384:" K48), CHATSEAL_E_INVALID_KEY);
    /* one bad entry fails the whole ring */
    CHECK_ERR(parse_code("a:" TU_K1 "\nb:hs999:" K64), CHATSEAL_E_INVALID_KEY);
}

/* Every token kind with one ring; want = the tag length of its signer. */
static void all_kinds(const char *ring_text, size_t want)
{
    chatseal_keyring *ring = cs_test_ring(ring_text);
    chatseal_options o = opts();

    char *t = cs_test_sign(ring, CONV, &o);
    CHECK(tag_len(t) == want, "conv tag %zu, want %zu", tag_len(t), want);
    CHECK_VERDICT(cs_test_verify(ring, CONV, t, &o), CHATSEAL_OK, -1, -1);
    /* locators are still 8-byte truncations: the edited message is found */
    CHECK_VERDICT(cs_test_verify(ring, CONV_EDITED, t, &o),
                  CHATSEAL_E_CONTENT_CHANGED, 2, 2, -1);

    /* extend: one more turn, signed by the same key */
    chatseal_conv *conv = cs_test_conv("[" S0 "," U1 "," A2 "," U3 "]");
    char *h1 = NULL;
    CHECK_ERR(chatseal_extend(ring, conv, t, A4, strlen(A4), &o, &h1, NULL),
              CHATSEAL_OK);
    chatseal_conv_free(conv);
    if (h1) {
        CHECK(tag_len(h1) == want, "extended tag %zu", tag_len(h1));
        CHECK_VERDICT(cs_test_verify(
                          ring, "[" S0 "," U1 "," A2 "," U3 "," A4 "]", h1, &o),
                      CHATSEAL_OK, -1, -1);
    }
    chatseal_free(h1);
    chatseal_free(t);

    char *m = NULL;
    CHECK_ERR(chatseal_message_sign(ring, A2, strlen(A2), &o, &m), CHATSEAL_OK);
    if (m) {
        CHECK(tag_len(m) == want, "msg tag %zu", tag_len(m));
        CHECK_ERR(chatseal_message_verify(ring, A2, strlen(A2), m, &o, NULL),
                  CHATSEAL_OK);
        /* another message under the same token: refused */
        CHECK(chatseal_message_verify(ring, A4, strlen(A4), m, &o, NULL) !=
                  CHATSEAL_OK,
              "msg token verifies another message");
    }
    chatseal_free(m);

    char *s = NULL;
    CHECK_ERR(chatseal_state_sign(ring, STATE, strlen(STATE), &o, &s),
              CHATSEAL_OK);
    if (s) {
        CHECK(tag_len(s) == want, "state tag %zu", tag_len(s));
        CHECK_ERR(
            chatseal_state_verify(ring, STATE, strlen(STATE), s, &o, NULL),
            CHATSEAL_OK);
        CHECK_ERR(chatseal_state_verify(ring, "{}", 2, s, &o, NULL),
                  CHATSEAL_E_INVALID_SIGNATURE);
    }
    chatseal_free(s);

    char *sealed = NULL, *json = NULL;
    size_t jl = 0;
    CHECK_ERR(chatseal_state_seal(ring, STATE, strlen(STATE), &o, &sealed),
              CHATSEAL_OK);
    if (sealed) {
        CHECK_ERR(chatseal_state_open(ring, sealed, &o, &json, &jl, NULL),
                  CHATSEAL_OK);
        CHECK(json && strcmp(json, "{\"cart\":[\"A-1\"],\"step\":3}") == 0,
              "opened '%s'", json ? json : "(null)");
    }
    chatseal_free(json);
    chatseal_free(sealed);
    chatseal_keyring_free(ring);
}

static void hs384_all_kinds(void)
{
    all_kinds("k384:hs384:" K48, 48);
}

static void hs512_all_kinds(void)
{
    all_kinds("k512:hs512:" K64, 64);
}

static void hs256_explicit_is_default(void)
{
    all_kinds("k:hs256:" TU_K1, 32);
    /* "k:hs256:KEY" and "k:KEY" are the same key: the same token */
    chatseal_keyring *a = cs_test_ring("k:" TU_K1);
    chatseal_keyring *b = cs_test_ring("k:hs256:" TU_K1);
    chatseal_options o = opts();
    char *ta = cs_test_sign(a, CONV, &o), *tb = cs_test_sign(b, CONV, &o);
    CHECK(strcmp(ta, tb) == 0, "hs256 spelled two ways signs differently");
    chatseal_free(ta);
    chatseal_free(tb);
    chatseal_keyring_free(a);
    chatseal_keyring_free(b);
}

/* Rotation across algorithms: append an hs512 key to an hs256 ring. */
static void mixed_rotation(void)
{
    chatseal_keyring *old = cs_test_ring("old:" TU_K1);
    chatseal_keyring *ring = cs_test_ring("old:" TU_K1 "\nnew:hs512:" K64);
    CHECK(strcmp(chatseal_keyring_signing_kid(ring), "new") == 0, "signer");
    chatseal_options o = opts();
    char *h0 = cs_test_sign(old, CONV, &o);
    CHECK(tag_len(h0) == 32, "old tag");
    CHECK_VERDICT(cs_test_verify(ring, CONV, h0, &o), CHATSEAL_OK, -1, -1);

    chatseal_conv *conv = cs_test_conv("[" S0 "," U1 "," A2 "," U3 "]");
    char *h1 = NULL;
    CHECK_ERR(chatseal_extend(ring, conv, h0, A4, strlen(A4), &o, &h1, NULL),
              CHATSEAL_OK);
    chatseal_conv_free(conv);
    const char *all = "[" S0 "," U1 "," A2 "," U3 "," A4 "]";
    if (h1) {
        char *hdr = cs_test_token_header(h1);
        CHECK(strstr(hdr, "\"kid\":\"new\"") != NULL, "h1 header %s", hdr);
        free(hdr);
        CHECK(tag_len(h1) == 64, "h1 tag %zu", tag_len(h1));
        CHECK_VERDICT(cs_test_verify(ring, all, h1, &o), CHATSEAL_OK, -1, -1);
        /* a verifier that has not rotated yet does not know the new key */
        CHECK_VERDICT(cs_test_verify(old, all, h1, &o), CHATSEAL_E_UNKNOWN_KEY,
                      -2, TU_ANY_TAMPERED);
        /* extend's byte-for-byte promise holds across algorithms */
        char *direct = cs_test_sign(ring, all, &o);
        CHECK(strcmp(direct, h1) == 0, "extend != sign after rotation");
        chatseal_free(direct);
    }
    chatseal_free(h1);
    chatseal_free(h0);
    chatseal_keyring_free(old);
    chatseal_keyring_free(ring);
}

/*
 * Algorithm confusion.  The same 64 key bytes under kid "k", once as an
 * hs256 entry and once as an hs512 entry: a token of one is malformed_token
 * under the other (tag length of another algorithm), whatever its type.
 */
static void confusion(void)
{
    chatseal_keyring *r256 = cs_test_ring("k:" K64);
    chatseal_keyring *r512 = cs_test_ring("k:hs512:" K64);
    chatseal_options o = opts();

    char *t256 = cs_test_sign(r256, CONV, &o);
    char *t512 = cs_test_sign(r512, CONV, &o);
    CHECK(tag_len(t256) == 32 && tag_len(t512) == 64, "tag lengths");
    CHECK_VERDICT(cs_test_verify(r512, CONV, t256, &o),
                  CHATSEAL_E_MALFORMED_TOKEN, -2, TU_ANY_TAMPERED);
    CHECK_VERDICT(cs_test_verify(r256, CONV, t512, &o),
                  CHATSEAL_E_MALFORMED_TOKEN, -2, TU_ANY_TAMPERED);

    /* a truncated hs512 tag: malformed for the hs512 key; for an hs256 key
     * of the same bytes the length fits, but nothing else does (the
     * binding check, itself an HMAC of the key, is the first to differ) */
    char *hdr = cs_test_token_header(t512);
    size_t n = 0;
    uint8_t *tag = cs_test_token_payload(t512, &n);
    char *cut = cs_test_token(hdr, tag, 32);
    CHECK_VERDICT(cs_test_verify(r512, CONV, cut, &o),
                  CHATSEAL_E_MALFORMED_TOKEN, -2, TU_ANY_TAMPERED);
    CHECK_VERDICT(cs_test_verify(r256, CONV, cut, &o),
                  CHATSEAL_E_BINDING_MISMATCH, -2, TU_ANY_TAMPERED);
    /* without a binding, the same cut token reaches the tag: wrong MAC */
    chatseal_options plain = opts();
    plain.conversation_id = NULL;
    char *p512 = cs_test_sign(r512, CONV, &plain), *phdr = NULL;
    size_t pn = 0;
    uint8_t *ptag = cs_test_token_payload(p512, &pn);
    phdr = cs_test_token_header(p512);
    char *pcut = cs_test_token(phdr, ptag, 32);
    CHECK_VERDICT(cs_test_verify(r256, CONV, pcut, &plain),
                  CHATSEAL_E_INVALID_SIGNATURE, -2, TU_ANY_TAMPERED);
    free(pcut);
    free(phdr);
    free(ptag);
    chatseal_free(p512);
    /* a length no algorithm has is refused at decode */
    char *odd = cs_test_token(hdr, tag, 40), *json = NULL;
    CHECK_ERR(chatseal_token_inspect(odd, &json), CHATSEAL_E_MALFORMED_TOKEN);
    chatseal_free(json);
    free(odd);
    free(cut);
    free(tag);
    free(hdr);

    /* state and msg tokens follow the same rule */
    char *s = NULL;
    CHECK_ERR(chatseal_state_sign(r256, STATE, strlen(STATE), &o, &s),
              CHATSEAL_OK);
    CHECK_ERR(chatseal_state_verify(r512, STATE, strlen(STATE), s, &o, NULL),
              CHATSEAL_E_MALFORMED_TOKEN);
    chatseal_free(s);
    char *m = NULL;
    CHECK_ERR(chatseal_message_sign(r512, A2, strlen(A2), &o, &m), CHATSEAL_OK);
    CHECK_ERR(chatseal_message_verify(r256, A2, strlen(A2), m, &o, NULL),
              CHATSEAL_E_MALFORMED_TOKEN);
    chatseal_free(m);

    /* sealed: the seal key is the key's own HMAC, so another algorithm
     * derives another AES key and nothing opens */
    char *sealed = NULL, *out = NULL;
    size_t ol = 0;
    CHECK_ERR(chatseal_state_seal(r256, STATE, strlen(STATE), &o, &sealed),
              CHATSEAL_OK);
    chatseal_error e = chatseal_state_open(r512, sealed, &o, &out, &ol, NULL);
    CHECK(e != CHATSEAL_OK && out == NULL, "sealed opened under hs512: %s",
          chatseal_error_name(e));
    chatseal_free(out);
    chatseal_free(sealed);

    chatseal_free(t256);
    chatseal_free(t512);
    chatseal_keyring_free(r256);
    chatseal_keyring_free(r512);
}

static void check_generated(const char *alg, const char *infix, size_t b64,
                            size_t want_tag)
{
    char *line = NULL;
    CHECK_ERR(chatseal_key_generate_alg("g-1", alg, &line), CHATSEAL_OK);
    if (!line)
        return;
    size_t pl = strlen("g-1:") + strlen(infix);
    CHECK(strncmp(line, "g-1:", 4) == 0 &&
              strncmp(line + 4, infix, strlen(infix)) == 0 &&
              strlen(line) == pl + b64 + 1 && line[pl + b64] == '\n',
          "%s line '%s'", alg ? alg : "NULL", line);
    chatseal_keyring *ring = NULL;
    CHECK_ERR(chatseal_keyring_parse(line, strlen(line), &ring), CHATSEAL_OK);
    if (ring) {
        chatseal_options o = opts();
        char *t = cs_test_sign(ring, CONV, &o);
        CHECK(tag_len(t) == want_tag, "%s: tag %zu, want %zu",
              alg ? alg : "NULL", tag_len(t), want_tag);
        chatseal_free(t);
    }
    chatseal_keyring_free(ring);
    chatseal_free_secret(line);
}

static void generate(void)
{
    check_generated(NULL, "", 43, 32);          /* 32 bytes, historical form */
    check_generated("hs256", "", 43, 32);       /* the same */
    check_generated("hs384", "hs384:", 64, 48); /* 48 bytes */
    check_generated("hs512", "hs512:", 86, 64); /* 64 bytes */
    char *line = (char *)"sentinel";
    CHECK_ERR(chatseal_key_generate_alg("g", "sha384", &line),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(line == NULL, "line on failure");
    CHECK_ERR(chatseal_key_generate_alg("g", "hs384", NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"ring_syntax", ring_syntax},
        {"hs384_all_kinds", hs384_all_kinds},
        {"hs512_all_kinds", hs512_all_kinds},
        {"hs256_explicit_is_default", hs256_explicit_is_default},
        {"mixed_rotation", mixed_rotation},
        {"confusion", confusion},
        {"generate", generate},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
