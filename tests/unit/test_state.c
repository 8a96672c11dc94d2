/*
 * test_state.c -- client-held state: chatseal_state_sign / state_verify
 * (typ "state") and chatseal_state_seal / state_open (typ "sealed",
 * AES-256-GCM, FORMAT.md 4.5).
 *
 * Signed state: any JSON value; spelling does not matter, any change of
 * value is invalid_signature.  Sealed state: opens to the canonical bytes,
 * every change of the token (header, nonce, ciphertext, GCM tag), another
 * binding or key is refused, and nothing is returned when it is.
 */
#include <stdlib.h>
#include <string.h>

#include "tu.h"

#define RING1 "k1:" TU_K1
#define STATE "{\"step\": 3, \"cart\": [{\"sku\": \"A-1\", \"qty\": 2.0}]}"
#define STATE_CANON "{\"cart\":[{\"qty\":2,\"sku\":\"A-1\"}],\"step\":3}"

static chatseal_options at_now(void)
{
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    return o;
}

static chatseal_error sverify(const chatseal_keyring *ring, const char *json,
                              const char *token, const chatseal_options *o)
{
    chatseal_report *r = NULL;
    if (chatseal_report_new(&r))
        return CHATSEAL_E_NO_MEMORY;
    chatseal_error e =
        chatseal_state_verify(ring, json, strlen(json), token, o, r);
    CHECK(chatseal_report_code(r) == e, "report code");
    CHECK(chatseal_report_index(r) == -1, "state verdict has an index");
    chatseal_report_free(r);
    return e;
}

static void signed_state(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *t = NULL;
    CHECK_ERR(chatseal_state_sign(ring, STATE, strlen(STATE), &o, &t),
              CHATSEAL_OK);
    if (!t)
        return;
    char *h = cs_test_token_header(t);
    CHECK(strcmp(h, "{\"iat\":1767225600,\"kid\":\"k1\",\"typ\":\"state\","
                    "\"v\":1}") == 0,
          "state header %s", h);
    free(h);
    CHECK_ERR(sverify(ring, STATE, t, &o), CHATSEAL_OK);
    CHECK_ERR(sverify(ring, STATE_CANON, t, &o), CHATSEAL_OK);
    CHECK_ERR(sverify(ring,
                      "{\"cart\":[{\"sku\":\"\\u0041-1\",\"qty\":2e0}],"
                      "\"step\":3.0}",
                      t, &o),
              CHATSEAL_OK);
    const char *changed[] = {
        "{\"cart\":[{\"qty\":3,\"sku\":\"A-1\"}],\"step\":3}",
        "{\"cart\":[{\"qty\":2,\"sku\":\"A-1\"}],\"step\":4}",
        "{\"cart\":[],\"step\":3}",
        "{\"cart\":[{\"qty\":2,\"sku\":\"A-1\"}],\"step\":3,\"admin\":true}",
        "{\"cart\":[{\"qty\":2,\"sku\":\"A-1\"}],\"step\":\"3\"}",
        "[]",
        "null",
    };
    for (size_t i = 0; i < sizeof changed / sizeof *changed; i++)
        CHECK(sverify(ring, changed[i], t, &o) == CHATSEAL_E_INVALID_SIGNATURE,
              "changed state %zu accepted or mis-coded", i);
    /* bad JSON is an input error, before the token is looked at */
    CHECK_ERR(sverify(ring, "{\"a\":1,\"a\":2}", t, &o),
              CHATSEAL_E_DUPLICATE_KEY);
    CHECK_ERR(sverify(ring, "{", t, &o), CHATSEAL_E_MALFORMED_JSON);
    char *bad = (char *)"sentinel";
    CHECK_ERR(chatseal_state_sign(ring, "[1e999]", 7, &o, &bad),
              CHATSEAL_E_INVALID_NUMBER);
    CHECK(bad == NULL, "token on failure");
    /* scalars are states too */
    char *s = NULL;
    CHECK_ERR(chatseal_state_sign(ring, "\"x\"", 3, &o, &s), CHATSEAL_OK);
    CHECK_ERR(sverify(ring, "\"x\"", s, &o), CHATSEAL_OK);
    CHECK_ERR(sverify(ring, "\"y\"", s, &o), CHATSEAL_E_INVALID_SIGNATURE);
    chatseal_free(s);
    chatseal_free(t);
    chatseal_keyring_free(ring);
}

static void state_binding_and_time(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.principal = "alice";
    o.purpose = "ragbits";
    o.ttl = 120;
    char *t = NULL;
    CHECK_ERR(chatseal_state_sign(ring, STATE, strlen(STATE), &o, &t),
              CHATSEAL_OK);
    CHECK_ERR(sverify(ring, STATE, t, &o), CHATSEAL_OK);
    chatseal_options w = o;
    w.principal = "bob";
    CHECK_ERR(sverify(ring, STATE, t, &w), CHATSEAL_E_BINDING_MISMATCH);
    w = o;
    w.purpose = "other";
    CHECK_ERR(sverify(ring, STATE, t, &w), CHATSEAL_E_BINDING_MISMATCH);
    w = o;
    w.now = TU_NOW + 120;
    CHECK_ERR(sverify(ring, STATE, t, &w), CHATSEAL_E_EXPIRED);
    w.leeway = 1;
    CHECK_ERR(sverify(ring, STATE, t, &w), CHATSEAL_OK);
    w = o;
    w.now = TU_NOW - 5;
    CHECK_ERR(sverify(ring, STATE, t, &w), CHATSEAL_E_NOT_YET_VALID);
    /* type confusion in every direction */
    char *c = cs_test_sign(ring, "[{\"role\":\"user\"}]", &o);
    CHECK_ERR(sverify(ring, "[{\"role\":\"user\"}]", c, &o),
              CHATSEAL_E_WRONG_TOKEN_TYPE);
    chatseal_free(c);
    char *sealed = NULL;
    CHECK_ERR(chatseal_state_seal(ring, STATE, strlen(STATE), &o, &sealed),
              CHATSEAL_OK);
    CHECK_ERR(sverify(ring, STATE, sealed, &o), CHATSEAL_E_WRONG_TOKEN_TYPE);
    char *out = (char *)"sentinel";
    size_t n = 7;
    CHECK_ERR(chatseal_state_open(ring, t, &o, &out, &n, NULL),
              CHATSEAL_E_WRONG_TOKEN_TYPE);
    CHECK(out == NULL, "open returned a value for a state token");
    CHECK_ERR(sverify(ring, STATE, NULL, &o), CHATSEAL_E_MISSING_SIGNATURE);
    CHECK_ERR(sverify(ring, STATE, "", &o), CHATSEAL_E_MISSING_SIGNATURE);
    chatseal_free(sealed);
    chatseal_free(t);
    chatseal_keyring_free(ring);
}

static chatseal_error sopen(const chatseal_keyring *ring, const char *token,
                            const chatseal_options *o, char **out)
{
    size_t n = 0;
    chatseal_report *r = NULL;
    if (chatseal_report_new(&r))
        return CHATSEAL_E_NO_MEMORY;
    *out = (char *)"sentinel";
    chatseal_error e = chatseal_state_open(ring, token, o, out, &n, r);
    CHECK(chatseal_report_code(r) == e, "report code");
    if (e == CHATSEAL_OK)
        CHECK(*out && n == strlen(*out), "length");
    else
        CHECK(*out == NULL, "value returned with %s", chatseal_error_name(e));
    chatseal_report_free(r);
    return e;
}

static void sealed_state(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.conversation_id = "c-1";
    char *t = NULL, *t2 = NULL, *out = NULL;
    CHECK_ERR(chatseal_state_seal(ring, STATE, strlen(STATE), &o, &t),
              CHATSEAL_OK);
    CHECK_ERR(chatseal_state_seal(ring, STATE, strlen(STATE), &o, &t2),
              CHATSEAL_OK);
    if (!t || !t2)
        return;
    CHECK(strcmp(t, t2) != 0, "two seals are equal (nonce reuse)");
    CHECK(!strstr(t, "A-1") && !strstr(t, "sku"), "plaintext in token");
    char *h = cs_test_token_header(t);
    CHECK(strstr(h, "\"typ\":\"sealed\"") && strstr(h, "\"bnd\":"),
          "sealed header %s", h);
    size_t plen;
    uint8_t *payload = cs_test_token_payload(t, &plen);
    CHECK(plen == 12 + strlen(STATE_CANON) + 16, "payload %zu bytes", plen);

    CHECK_ERR(sopen(ring, t, &o, &out), CHATSEAL_OK);
    CHECK(out && strcmp(out, STATE_CANON) == 0, "opened %s", out ? out : "");
    if (out)
        chatseal_free(out);
    CHECK_ERR(sopen(ring, t2, &o, &out), CHATSEAL_OK);
    if (out)
        chatseal_free(out);

    /* every byte of the payload is authenticated */
    for (size_t i = 0; i < plen; i++) {
        payload[i] ^= 0x04;
        char *forged = cs_test_token(h, payload, plen);
        chatseal_error e = sopen(ring, forged, &o, &out);
        CHECK(e == CHATSEAL_E_INVALID_SIGNATURE, "payload byte %zu: %s", i,
              chatseal_error_name(e));
        free(forged);
        payload[i] ^= 0x04;
    }
    /* so is the header */
    char *later =
        cs_test_replace(h, "\"iat\":1767225600", "\"iat\":1767225601");
    char *forged = cs_test_token(later, payload, plen);
    chatseal_options soon = o;
    soon.now = TU_NOW + 10;
    CHECK_ERR(sopen(ring, forged, &soon, &out), CHATSEAL_E_INVALID_SIGNATURE);
    free(forged);
    free(later);
    /* short payloads are malformed */
    forged = cs_test_token(h, payload, 27);
    CHECK_ERR(sopen(ring, forged, &o, &out), CHATSEAL_E_MALFORMED_TOKEN);
    free(forged);
    /* binding, key, time */
    chatseal_options w = o;
    w.conversation_id = "c-2";
    CHECK_ERR(sopen(ring, t, &w, &out), CHATSEAL_E_BINDING_MISMATCH);
    w.conversation_id = NULL;
    CHECK_ERR(sopen(ring, t, &w, &out), CHATSEAL_E_BINDING_MISMATCH);
    chatseal_keyring *other = cs_test_ring("k2:" TU_K2);
    CHECK_ERR(sopen(other, t, &o, &out), CHATSEAL_E_UNKNOWN_KEY);
    chatseal_keyring *same_kid = cs_test_ring("k1:" TU_K3);
    chatseal_error e = sopen(same_kid, t, &o, &out);
    CHECK(e == CHATSEAL_E_INVALID_SIGNATURE || e == CHATSEAL_E_BINDING_MISMATCH,
          "another key with the same kid: %s", chatseal_error_name(e));
    w = o;
    w.now = TU_NOW - 1;
    CHECK_ERR(sopen(ring, t, &w, &out), CHATSEAL_E_NOT_YET_VALID);
    CHECK_ERR(sopen(ring, NULL, &o, &out), CHATSEAL_E_MISSING_SIGNATURE);
    CHECK_ERR(sopen(ring, "cs1.!.!", &o, &out), CHATSEAL_E_MALFORMED_TOKEN);
    /* a sealed token is not a conversation or state token */
    CHECK_VERDICT(cs_test_verify(ring, "[]", t, &o),
                  CHATSEAL_E_WRONG_TOKEN_TYPE, -1, -1);
    /* rotation: sealed with k1, opened by a ring where k2 signs */
    chatseal_keyring *rotated = cs_test_ring(RING1 "\nk2:" TU_K2);
    CHECK_ERR(sopen(rotated, t, &o, &out), CHATSEAL_OK);
    if (out)
        chatseal_free(out);
    chatseal_keyring_free(rotated);
    chatseal_keyring_free(same_kid);
    chatseal_keyring_free(other);
    free(payload);
    free(h);
    chatseal_free(t);
    chatseal_free(t2);
    chatseal_keyring_free(ring);
}

static void sealed_expiry(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.ttl = 30;
    char *t = NULL, *out = NULL;
    CHECK_ERR(chatseal_state_seal(ring, "[1,2]", 5, &o, &t), CHATSEAL_OK);
    o.now = TU_NOW + 29;
    CHECK_ERR(sopen(ring, t, &o, &out), CHATSEAL_OK);
    if (out)
        chatseal_free(out);
    o.now = TU_NOW + 30;
    CHECK_ERR(sopen(ring, t, &o, &out), CHATSEAL_E_EXPIRED);
    /* argument checks */
    size_t n;
    CHECK_ERR(chatseal_state_open(ring, t, &o, NULL, &n, NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
    char *s = NULL;
    CHECK_ERR(chatseal_state_seal(ring, NULL, 3, &o, &s),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_state_seal(ring, "{", 1, &o, &s),
              CHATSEAL_E_MALFORMED_JSON);
    CHECK(s == NULL, "sealed bad JSON");
    chatseal_free(t);
    chatseal_keyring_free(ring);
}

static void inspect(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.ttl = 5;
    o.purpose = "p";
    char *t = NULL, *hdr = NULL;
    CHECK_ERR(chatseal_state_sign(ring, "1", 1, &o, &t), CHATSEAL_OK);
    CHECK_ERR(chatseal_token_inspect(t, &hdr), CHATSEAL_OK);
    CHECK(hdr && strcmp(hdr,
                        "{\"exp\":1767225605,\"iat\":1767225600,\"kid\":"
                        "\"k1\",\"pur\":\"p\",\"typ\":\"state\",\"v\":1}") == 0,
          "inspect %s", hdr ? hdr : "");
    chatseal_free(hdr);
    hdr = (char *)"sentinel";
    CHECK_ERR(chatseal_token_inspect("cs1.nope", &hdr),
              CHATSEAL_E_MALFORMED_TOKEN);
    CHECK(hdr == NULL, "inspect output on failure");
    CHECK_ERR(chatseal_token_inspect(NULL, &hdr), CHATSEAL_E_INVALID_ARGUMENT);
    chatseal_free(t);
    chatseal_keyring_free(ring);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"signed_state", signed_state},
        {"state_binding_and_time", state_binding_and_time},
        {"sealed_state", sealed_state},
        {"sealed_expiry", sealed_expiry},
        {"inspect", inspect},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
