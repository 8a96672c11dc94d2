/*
 * test_message.c -- one message on its own: chatseal_message_sign /
 * chatseal_message_verify (token type "msg", n = 1, FORMAT.md 4.4).
 *
 * The MessageSigner seed's sign/verify: a changed message is found (with
 * its locator, or as invalid_signature when compact), formatting does not
 * matter, binding and time work as for conversations, and a msg token is
 * never accepted as a conversation token or the other way round.
 */
#include <stdlib.h>
#include <string.h>

#include "tu.h"

#define RING1 "k1:" TU_K1
#define MSG "{\"role\":\"assistant\",\"content\":\"Paris.\",\"n\":1.0}"

static chatseal_options at_now(void)
{
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    return o;
}

static struct cs_verdict mverify(const chatseal_keyring *ring, const char *msg,
                                 const char *token, const chatseal_options *o)
{
    struct cs_verdict v;
    memset(&v, 0, sizeof v);
    chatseal_report *r = NULL;
    if (chatseal_report_new(&r))
        return v;
    v.code = chatseal_message_verify(ring, msg, strlen(msg), token, o, r);
    v.report_code = chatseal_report_code(r);
    v.index = chatseal_report_index(r);
    v.chain_valid = chatseal_report_chain_valid(r);
    v.count = chatseal_report_count(r);
    const size_t *idx;
    v.ntampered = chatseal_report_tampered(r, &idx);
    for (size_t i = 0; i < v.ntampered && i < 16; i++)
        v.tampered[i] = idx[i];
    chatseal_report_free(r);
    return v;
}

/* noinline: gcc 12 at -O3 mistakes the returned token for a pointer to
 * the local `t` once this is inlined (-Wdangling-pointer false positive) */
__attribute__((noinline)) static char *
msign(const chatseal_keyring *ring, const char *msg, const chatseal_options *o)
{
    char *t = NULL;
    CHECK_ERR(chatseal_message_sign(ring, msg, strlen(msg), o, &t),
              CHATSEAL_OK);
    return t;
}

static void sign_and_verify(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *t = msign(ring, MSG, &o);
    if (!t)
        return;
    char *h = cs_test_token_header(t);
    CHECK(strstr(h, "\"typ\":\"msg\"") && strstr(h, "\"n\":1") &&
              strstr(h, "\"roles\":\"a\"") && strstr(h, "\"loc\":"),
          "msg header %s", h);
    free(h);
    struct cs_verdict v = mverify(ring, MSG, t, &o);
    CHECK_VERDICT(v, CHATSEAL_OK, -1, -1);
    CHECK(v.count == 1 && v.chain_valid == 1, "count %zu chain %d", v.count,
          v.chain_valid);
    CHECK_VERDICT(mverify(ring,
                          " { \"n\" : 1 , \"content\" : \"Paris.\" , "
                          "\"role\" : \"assistant\" } ",
                          t, &o),
                  CHATSEAL_OK, -1, -1);
    /* the message token is the conversation token of a one-message list,
     * except for its type: the tags differ */
    char *c = cs_test_sign(ring, "[" MSG "]", &o);
    const char *ctag = strrchr(c, '.'), *mtag = strrchr(t, '.');
    CHECK(ctag && mtag && strcmp(ctag, mtag) != 0,
          "msg and conv tags are equal");
    chatseal_free(c);
    chatseal_free(t);
    chatseal_keyring_free(ring);
}

static void changed_message(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *t = msign(ring, MSG, &o);
    struct cs_verdict v = mverify(
        ring, "{\"role\":\"assistant\",\"content\":\"London.\",\"n\":1}", t,
        &o);
    CHECK_VERDICT(v, CHATSEAL_E_CONTENT_CHANGED, 0, 0, -1);
    CHECK(v.chain_valid == 0, "chain_valid");
    CHECK_VERDICT(mverify(ring,
                          "{\"role\":\"user\",\"content\":\"Paris.\",\"n\":1}",
                          t, &o),
                  CHATSEAL_E_ROLE_CHANGED, 0, 0, -1);
    CHECK_VERDICT(mverify(ring,
                          "{\"role\":\"assistant\",\"content\":\"Paris.\","
                          "\"n\":1,\"name\":\"x\"}",
                          t, &o),
                  CHATSEAL_E_CONTENT_CHANGED, 0, 0, -1);
    chatseal_free(t);
    /* compact: no locator, no index */
    o.flags = CHATSEAL_COMPACT;
    t = msign(ring, MSG, &o);
    char *h = cs_test_token_header(t);
    CHECK(!strstr(h, "\"loc\""), "compact msg header %s", h);
    free(h);
    CHECK_VERDICT(mverify(ring, MSG, t, &o), CHATSEAL_OK, -1, -1);
    CHECK_VERDICT(mverify(ring,
                          "{\"role\":\"assistant\",\"content\":\"London.\"}", t,
                          &o),
                  CHATSEAL_E_INVALID_SIGNATURE, -1, -1);
    chatseal_free(t);
    chatseal_keyring_free(ring);
}

static void binding_time_type(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.conversation_id = "c1";
    o.purpose = "cache";
    o.ttl = 60;
    char *t = msign(ring, MSG, &o);
    CHECK_VERDICT(mverify(ring, MSG, t, &o), CHATSEAL_OK, -1, -1);
    chatseal_options w = o;
    w.conversation_id = "c2";
    CHECK_VERDICT(mverify(ring, MSG, t, &w), CHATSEAL_E_BINDING_MISMATCH, -1,
                  -1);
    w = o;
    w.purpose = NULL;
    CHECK_VERDICT(mverify(ring, MSG, t, &w), CHATSEAL_E_BINDING_MISMATCH, -1,
                  -1);
    w = o;
    w.now = TU_NOW + 60;
    CHECK_VERDICT(mverify(ring, MSG, t, &w), CHATSEAL_E_EXPIRED, -2, -1);
    w.now = TU_NOW - 1;
    CHECK_VERDICT(mverify(ring, MSG, t, &w), CHATSEAL_E_NOT_YET_VALID, -2, -1);
    /* msg token as conversation and conversation token as msg */
    CHECK_VERDICT(cs_test_verify(ring, "[" MSG "]", t, &o),
                  CHATSEAL_E_WRONG_TOKEN_TYPE, -1, -1);
    char *c = cs_test_sign(ring, "[" MSG "]", &o);
    CHECK_VERDICT(mverify(ring, MSG, c, &o), CHATSEAL_E_WRONG_TOKEN_TYPE, -1,
                  -1);
    char *s = NULL;
    CHECK_ERR(chatseal_state_sign(ring, MSG, strlen(MSG), &o, &s), CHATSEAL_OK);
    CHECK_VERDICT(mverify(ring, MSG, s, &o), CHATSEAL_E_WRONG_TOKEN_TYPE, -1,
                  -1);
    CHECK_VERDICT(mverify(ring, MSG, NULL, &o), CHATSEAL_E_MISSING_SIGNATURE,
                  -2, -1);
    CHECK_VERDICT(mverify(ring, MSG, "cs1.x", &o), CHATSEAL_E_MALFORMED_TOKEN,
                  -1, -1);
    chatseal_keyring *other = cs_test_ring("k2:" TU_K2);
    CHECK_VERDICT(mverify(other, MSG, t, &o), CHATSEAL_E_UNKNOWN_KEY, -1, -1);
    chatseal_keyring_free(other);
    chatseal_free(s);
    chatseal_free(c);
    chatseal_free(t);
    chatseal_keyring_free(ring);
}

static void bad_input(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    static const struct {
        const char *msg;
        chatseal_error code;
    } cases[] = {
        {"[" MSG "]", CHATSEAL_E_INVALID_MESSAGE},
        {"{\"content\":\"x\"}", CHATSEAL_E_INVALID_MESSAGE},
        {"{\"role\":7}", CHATSEAL_E_INVALID_MESSAGE},
        {"\"x\"", CHATSEAL_E_INVALID_MESSAGE},
        {"{\"role\":\"user\"", CHATSEAL_E_MALFORMED_JSON},
        {"{\"role\":\"user\",\"role\":\"user\"}", CHATSEAL_E_DUPLICATE_KEY},
        {"{\"role\":\"\\udc00\"}", CHATSEAL_E_LONE_SURROGATE},
        {"{\"role\":\"user\"} {}", CHATSEAL_E_TRAILING_DATA},
    };
    char *t = msign(ring, MSG, &o);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *tok = (char *)"sentinel";
        chatseal_error e = chatseal_message_sign(
            ring, cases[i].msg, strlen(cases[i].msg), &o, &tok);
        CHECK(e == cases[i].code, "sign case %zu: %s, want %s", i,
              chatseal_error_name(e), chatseal_error_name(cases[i].code));
        CHECK(tok == NULL, "token on failure");
        e = chatseal_message_verify(ring, cases[i].msg, strlen(cases[i].msg), t,
                                    &o, NULL);
        CHECK(e == cases[i].code, "verify case %zu: %s, want %s", i,
              chatseal_error_name(e), chatseal_error_name(cases[i].code));
    }
    chatseal_free(t);
    chatseal_keyring_free(ring);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"sign_and_verify", sign_and_verify},
        {"changed_message", changed_message},
        {"binding_time_type", binding_time_type},
        {"bad_input", bad_input},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
