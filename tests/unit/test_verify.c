/*
 * test_verify.c -- chatseal_sign / chatseal_verify: the tamper matrix.
 *
 * One signed history of five messages (system, user, assistant, user,
 * assistant) is presented back changed in every way FORMAT.md section 5
 * names, and each verdict is pinned exactly: the code returned, the same
 * code in the report, chatseal_report_index, the tampered indices and
 * chain_valid, as the diagnosis table of section 5.1 gives them.  Then the
 * order of the checks (section 5 steps 1-8), binding, time, tail roles,
 * fresh conversations, compact and assistant-only tokens, key lookup, and a
 * long list of malformed tokens that must each be malformed_token (never a
 * crash, never another code).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tu.h"

#define S0 "{\"role\":\"system\",\"content\":\"Be brief.\"}"
#define U1 "{\"role\":\"user\",\"content\":\"What is 2+2?\"}"
#define A2 "{\"role\":\"assistant\",\"content\":\"4\"}"
#define U3 "{\"role\":\"user\",\"content\":\"And 3+3?\"}"
#define A4 "{\"role\":\"assistant\",\"content\":\"6\"}"
/* the same messages with another content */
#define C0 "{\"role\":\"system\",\"content\":\"Be verbose.\"}"
#define C1 "{\"role\":\"user\",\"content\":\"What is 2+3?\"}"
#define C2 "{\"role\":\"assistant\",\"content\":\"5\"}"
#define C3 "{\"role\":\"user\",\"content\":\"And 3+4?\"}"
#define C4 "{\"role\":\"assistant\",\"content\":\"7\"}"
/* new messages */
#define NU "{\"role\":\"user\",\"content\":\"new question\"}"
#define NT "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"42\"}"
#define NA "{\"role\":\"assistant\",\"content\":\"forged answer\"}"
#define NS "{\"role\":\"system\",\"content\":\"forged rule\"}"

static const char *const BASE[5] = {S0, U1, A2, U3, A4};
static const char *const CHANGED[5] = {C0, C1, C2, C3, C4};

#define RING1 "k1:" TU_K1

static chatseal_options at_now(void)
{
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    return o;
}

static char *sign_base(const chatseal_keyring *ring, const chatseal_options *o)
{
    char *conv = cs_test_join(BASE, 5);
    char *token = cs_test_sign(ring, conv, o);
    free(conv);
    return token;
}

static struct cs_verdict present(const chatseal_keyring *ring,
                                 const char *token, const char *const *msgs,
                                 size_t n, const chatseal_options *o)
{
    char *conv = cs_test_join(msgs, n);
    struct cs_verdict v = cs_test_verify(ring, conv, token, o);
    free(conv);
    return v;
}

/* ------------------------------------------------------------ baseline -- */

static void valid_history(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    CHECK(strncmp(token, CHATSEAL_TOKEN_PREFIX, 4) == 0, "prefix: %s", token);
    struct cs_verdict v = present(ring, token, BASE, 5, &o);
    CHECK_VERDICT(v, CHATSEAL_OK, -1, -1);
    CHECK(v.chain_valid == 1, "chain_valid on a valid history");
    CHECK(v.count == 5, "count %zu", v.count);

    /* the same history spelled differently is the same history */
    const char *respelled[5] = {
        " { \"content\" : \"Be brief.\" , \"role\" : \"system\" } ",
        "{\"content\":\"What is 2+2?\",\"role\":\"user\"}",
        "{\"role\":\"assistant\",\"content\":\"\\u0034\"}", U3,
        "{\"role\":\"ass\\u0069stant\",\"content\":\"6\"}"};
    v = present(ring, token, respelled, 5, &o);
    CHECK_VERDICT(v, CHATSEAL_OK, -1, -1);

    /* an OpenAI request body with other members verifies the same */
    char *arr = cs_test_join(BASE, 5);
    size_t len = strlen(arr) + 64;
    char *body = malloc(len);
    snprintf(body, len, "{\"model\":\"m\",\"messages\":%s,\"stream\":true}",
             arr);
    v = cs_test_verify(ring, body, token, &o);
    CHECK_VERDICT(v, CHATSEAL_OK, -1, -1);
    free(body);
    free(arr);

    /* report NULL is allowed */
    chatseal_conv *conv = cs_test_conv(arr = cs_test_join(BASE, 5));
    CHECK_ERR(chatseal_verify(ring, conv, token, &o, NULL), CHATSEAL_OK);
    /* opt NULL: defaults (current time; iat is in the past) */
    CHECK_ERR(chatseal_verify(ring, conv, token, NULL, NULL), CHATSEAL_OK);
    chatseal_conv_free(conv);
    free(arr);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void sign_arguments(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    char *arr = cs_test_join(BASE, 5);
    chatseal_conv *conv = cs_test_conv(arr);
    chatseal_options o = at_now();
    char *token = NULL;
    /* no ring: no key (fail closed, never a default key) */
    chatseal_error e = chatseal_sign(NULL, conv, 5, &o, &token);
    CHECK(e == CHATSEAL_E_NO_KEY || e == CHATSEAL_E_INVALID_ARGUMENT,
          "sign without ring: %s", chatseal_error_name(e));
    CHECK(token == NULL, "token set on failure");
    CHECK_ERR(chatseal_sign(ring, NULL, 5, &o, &token),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_sign(ring, conv, 5, &o, NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_sign(ring, conv, 6, &o, &token),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(token == NULL, "token set on failure");
    e = chatseal_verify(NULL, conv, "cs1.x.y", &o, NULL);
    CHECK(e == CHATSEAL_E_NO_KEY || e == CHATSEAL_E_INVALID_ARGUMENT,
          "verify without ring: %s", chatseal_error_name(e));
    CHECK_ERR(chatseal_verify(ring, NULL, "cs1.x.y", &o, NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
    /* a binding over 1024 bytes is refused when signing */
    char big[1100];
    memset(big, 'c', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    o.conversation_id = big;
    CHECK_ERR(chatseal_sign(ring, conv, 5, &o, &token),
              CHATSEAL_E_INVALID_ARGUMENT);
    o = at_now();
    o.purpose = big;
    CHECK_ERR(chatseal_sign(ring, conv, 5, &o, &token),
              CHATSEAL_E_INVALID_ARGUMENT);
    big[1024] = '\0'; /* exactly 1024 is fine */
    CHECK_ERR(chatseal_sign(ring, conv, 5, &o, &token), CHATSEAL_OK);
    chatseal_free(token);
    token = NULL;
    /* negative ttl is not an expiry */
    o = at_now();
    o.ttl = -5;
    CHECK_ERR(chatseal_sign(ring, conv, 5, &o, &token),
              CHATSEAL_E_INVALID_ARGUMENT);
    chatseal_free(token);
    /* count 0 and a prefix are allowed */
    o = at_now();
    token = NULL;
    CHECK_ERR(chatseal_sign(ring, conv, 3, &o, &token), CHATSEAL_OK);
    o.tail_roles = "user,assistant";
    struct cs_verdict v = cs_test_verify(ring, arr, token, &o);
    CHECK_VERDICT(v, CHATSEAL_OK, -1, -1);
    CHECK(v.count == 3, "count %zu", v.count);
    chatseal_free(token);
    chatseal_conv_free(conv);
    free(arr);
    chatseal_keyring_free(ring);
}

/* ------------------------------------------------- the tamper matrix -- */

static void content_changed_each_index(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    for (long i = 0; i < 5; i++) {
        const char *msgs[5];
        memcpy(msgs, BASE, sizeof msgs);
        msgs[i] = CHANGED[i];
        struct cs_verdict v = present(ring, token, msgs, 5, &o);
        CHECK_VERDICT(v, CHATSEAL_E_CONTENT_CHANGED, i, i, -1);
        CHECK(v.chain_valid == 0, "chain_valid after a change at %ld", i);
        CHECK(v.count == 5, "count %zu", v.count);
    }
    /* two changes: the first is the index, both are tampered */
    const char *two[5] = {S0, C1, A2, C3, A4};
    CHECK_VERDICT(present(ring, token, two, 5, &o), CHATSEAL_E_CONTENT_CHANGED,
                  1, 1, 3, -1);
    /* a member added, a member removed, a value's type changed */
    const char *added[5] = {
        S0, "{\"role\":\"user\",\"content\":\"What is 2+2?\",\"name\":\"x\"}",
        A2, U3, A4};
    CHECK_VERDICT(present(ring, token, added, 5, &o),
                  CHATSEAL_E_CONTENT_CHANGED, 1, 1, -1);
    const char *removed[5] = {S0, U1, "{\"role\":\"assistant\"}", U3, A4};
    CHECK_VERDICT(present(ring, token, removed, 5, &o),
                  CHATSEAL_E_CONTENT_CHANGED, 2, 2, -1);
    const char *typed[5] = {S0, U1, "{\"role\":\"assistant\",\"content\":4}",
                            U3, A4};
    CHECK_VERDICT(present(ring, token, typed, 5, &o),
                  CHATSEAL_E_CONTENT_CHANGED, 2, 2, -1);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void role_changed(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    const char *r1[5] = {
        S0, "{\"role\":\"system\",\"content\":\"What is 2+2?\"}", A2, U3, A4};
    struct cs_verdict v = present(ring, token, r1, 5, &o);
    CHECK_VERDICT(v, CHATSEAL_E_ROLE_CHANGED, 1, 1, -1);
    CHECK(v.chain_valid == 0, "chain_valid");
    const char *r2[5] = {S0, U1, "{\"role\":\"user\",\"content\":\"4\"}", U3,
                         A4};
    CHECK_VERDICT(present(ring, token, r2, 5, &o), CHATSEAL_E_ROLE_CHANGED, 2,
                  2, -1);
    /* user -> tool */
    const char *r3[5] = {S0, U1, A2,
                         "{\"role\":\"tool\",\"content\":\"And 3+3?\"}", A4};
    CHECK_VERDICT(present(ring, token, r3, 5, &o), CHATSEAL_E_ROLE_CHANGED, 3,
                  3, -1);
    /* a role change and a content change: the role change wins (table) */
    const char *both[5] = {S0, C1, "{\"role\":\"user\",\"content\":\"4\"}", U3,
                           A4};
    CHECK_VERDICT(present(ring, token, both, 5, &o), CHATSEAL_E_ROLE_CHANGED, 2,
                  1, 2, -1);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void inserted(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    /* a user message inserted at 2: six presented, five signed */
    const char *at2[6] = {S0, U1, NU, A2, U3, A4};
    struct cs_verdict v = present(ring, token, at2, 6, &o);
    CHECK_VERDICT(v, CHATSEAL_E_MESSAGE_INSERTED, 2, 2, 3, 4, -1);
    CHECK(v.chain_valid == 0, "chain_valid");
    /* at 0, and an assistant message at 4 */
    const char *at0[6] = {NS, S0, U1, A2, U3, A4};
    CHECK_VERDICT(present(ring, token, at0, 6, &o), CHATSEAL_E_MESSAGE_INSERTED,
                  0, 0, 1, 2, 3, 4, -1);
    const char *at4[6] = {S0, U1, A2, U3, NA, A4};
    CHECK_VERDICT(present(ring, token, at4, 6, &o), CHATSEAL_E_MESSAGE_INSERTED,
                  4, 4, -1);
    /* with tail roles the verdict is the same */
    o.tail_roles = "user,tool";
    CHECK_VERDICT(present(ring, token, at2, 6, &o), CHATSEAL_E_MESSAGE_INSERTED,
                  2, 2, 3, 4, -1);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void deleted_from_the_middle(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    const char *del2[4] = {S0, U1, U3, A4};
    struct cs_verdict v = present(ring, token, del2, 4, &o);
    CHECK_VERDICT(v, CHATSEAL_E_MESSAGE_DELETED, 2, 2, 3, -1);
    CHECK(v.chain_valid == 0, "chain_valid");
    CHECK(v.count == 5, "count %zu", v.count);
    const char *del0[4] = {U1, A2, U3, A4};
    CHECK_VERDICT(present(ring, token, del0, 4, &o), CHATSEAL_E_MESSAGE_DELETED,
                  0, 0, 1, 2, 3, -1);
    /* two removed (1 and 2): the first removed is the index */
    const char *del12[3] = {S0, U3, A4};
    CHECK_VERDICT(present(ring, token, del12, 3, &o),
                  CHATSEAL_E_MESSAGE_DELETED, 1, 1, 2, -1);
    /* deleted at 1 and a new user turn appended: M == n, tail allowed */
    const char *swap_tail[5] = {S0, A2, U3, A4, NU};
    o.tail_roles = "user,tool";
    CHECK_VERDICT(present(ring, token, swap_tail, 5, &o),
                  CHATSEAL_E_MESSAGE_DELETED, 1, 1, 2, 3, 4, -1);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void truncated(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    for (size_t m = 0; m < 5; m++) {
        struct cs_verdict v = present(ring, token, BASE, m, &o);
        CHECK_VERDICT(v, CHATSEAL_E_TRUNCATED, (long)m, -1);
        CHECK(v.chain_valid == 0, "chain_valid when truncated to %zu", m);
        CHECK(v.count == 5, "count %zu", v.count);
    }
    /* tail roles do not make a truncated history valid */
    o.tail_roles = "user,tool,assistant,system";
    CHECK_VERDICT(present(ring, token, BASE, 3, &o), CHATSEAL_E_TRUNCATED, 3,
                  -1);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void reordered(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    const char *swap13[5] = {S0, U3, A2, U1, A4};
    struct cs_verdict v = present(ring, token, swap13, 5, &o);
    CHECK_VERDICT(v, CHATSEAL_E_REORDERED, 1, 1, 3, -1);
    CHECK(v.chain_valid == 0, "chain_valid");
    const char *swap01[5] = {U1, S0, A2, U3, A4};
    CHECK_VERDICT(present(ring, token, swap01, 5, &o), CHATSEAL_E_REORDERED, 0,
                  0, 1, -1);
    /* the last two swapped: a move, not a deletion (see FORMAT.md 5.1) */
    const char *swap34[5] = {S0, U1, A2, A4, U3};
    CHECK_VERDICT(present(ring, token, swap34, 5, &o), CHATSEAL_E_REORDERED, 3,
                  3, 4, -1);
    const char *rotate[5] = {S0, A2, U3, U1, A4};
    CHECK_VERDICT(present(ring, token, rotate, 5, &o), CHATSEAL_E_REORDERED, 1,
                  1, 2, 3, -1);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void forged_header_or_tag(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    char *header = cs_test_token_header(token);
    size_t tlen;
    uint8_t *tag = cs_test_token_payload(token, &tlen);
    CHECK(tlen == CHATSEAL_TAGBYTES, "tag is %zu bytes", tlen);

    /* iat moved by one second: the locators still match every message */
    char *later =
        cs_test_replace(header, "\"iat\":1767225600", "\"iat\":1767225601");
    char *forged = cs_test_token(later, tag, tlen);
    o.now = TU_NOW + 10;
    struct cs_verdict v = present(ring, forged, BASE, 5, &o);
    CHECK_VERDICT(v, CHATSEAL_E_INVALID_SIGNATURE, -1, -1);
    CHECK(v.chain_valid == 0, "chain_valid with a forged header");
    free(later);
    chatseal_free(forged);

    /* every single-bit change of the tag */
    for (size_t byte = 0; byte < tlen; byte++) {
        tag[byte] ^= 0x01;
        forged = cs_test_token(header, tag, tlen);
        v = present(ring, forged, BASE, 5, &o);
        CHECK_VERDICT(v, CHATSEAL_E_INVALID_SIGNATURE, -1, -1);
        free(forged);
        tag[byte] ^= 0x01;
    }
    free(header);
    free(tag);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

/*
 * FORMAT.md 5.1: when the token locates at least two messages and not one
 * presented message carries any of its locators (another key with the same
 * kid, or another history altogether), no index is guessed:
 * invalid_signature at -1, with the compared indices still tampered.  With
 * one located message a single edit is still located.
 */
static void diagnosis_no_locator_matches(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    const char *two[2] = {U1, A2};
    char *conv = cs_test_join(two, 2);
    char *token = cs_test_sign(ring, conv, &o);
    const char *one[1] = {C1};
    CHECK_VERDICT(present(ring, token, one, 1, &o),
                  CHATSEAL_E_INVALID_SIGNATURE, -1, 0, -1);
    const char *both[2] = {C1, C2};
    CHECK_VERDICT(present(ring, token, both, 2, &o),
                  CHATSEAL_E_INVALID_SIGNATURE, -1, 0, 1, -1);
    /* one of the two still matches: the other is located */
    const char *first[2] = {U1, C2};
    CHECK_VERDICT(present(ring, token, first, 2, &o),
                  CHATSEAL_E_CONTENT_CHANGED, 1, 1, -1);
    free(conv);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

/*
 * Diagnosis on long histories goes through a sorted index, not a double
 * loop: 4000 messages, the signed tail from 3000 cut and new user turns
 * sent instead, is "truncated" at 3001; every message replaced is
 * invalid_signature (no index guessed).
 */
static void diagnosis_long_histories(void)
{
    enum { N = 4000, CUT = 3001 };
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char **msgs = calloc(N, sizeof *msgs);
    char **forged = calloc(N, sizeof *forged);
    if (!msgs || !forged)
        abort();
    for (size_t i = 0; i < N; i++) {
        msgs[i] = malloc(80);
        forged[i] = malloc(80);
        if (!msgs[i] || !forged[i])
            abort();
        snprintf(msgs[i], 80, "{\"role\":\"%s\",\"content\":\"m%zu\"}",
                 i % 2 ? "assistant" : "user", i);
        snprintf(forged[i], 80, "{\"role\":\"user\",\"content\":\"f%zu\"}", i);
    }
    char *conv = cs_test_join((const char *const *)msgs, N);
    char *token = cs_test_sign(ring, conv, &o);
    /* m0..m3000, then new user turns where m3001.. (a reply first) were */
    const char **cut = calloc(N, sizeof *cut);
    if (!cut)
        abort();
    for (size_t i = 0; i < N; i++)
        cut[i] = i < CUT ? msgs[i] : forged[i];
    struct cs_verdict v = present(ring, token, cut, N, &o);
    CHECK(v.code == CHATSEAL_E_TRUNCATED && v.index == CUT,
          "cut tail: %s at %ld", chatseal_error_name(v.code), v.index);
    v = present(ring, token, (const char *const *)forged, N, &o);
    CHECK(v.code == CHATSEAL_E_INVALID_SIGNATURE && v.index == -1,
          "all replaced: %s at %ld", chatseal_error_name(v.code), v.index);
    for (size_t i = 0; i < N; i++) {
        free(msgs[i]);
        free(forged[i]);
    }
    free(msgs);
    free(forged);
    free(cut);
    free(conv);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

/* ---------------------------------------------- order of the checks -- */

static void tail_roles_and_count(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *token = sign_base(ring, &o);
    const char *plus_user[6] = {S0, U1, A2, U3, A4, NU};
    const char *plus_tool[6] = {S0, U1, A2, U3, A4, NT};
    const char *plus_asst[6] = {S0, U1, A2, U3, A4, NA};
    const char *plus_two[7] = {S0, U1, A2, U3, A4, NU, NA};
    const char *plus_sys[6] = {S0, U1, A2, U3, A4, NS};

    /* no tail roles: the token must cover every message */
    struct cs_verdict v = present(ring, token, plus_user, 6, &o);
    CHECK_VERDICT(v, CHATSEAL_E_COUNT_MISMATCH, -2, -1);
    CHECK(v.chain_valid == 1, "the signed prefix itself is intact");
    CHECK(v.count == 5, "count %zu", v.count);

    o.tail_roles = "user,tool";
    v = present(ring, token, plus_user, 6, &o);
    CHECK_VERDICT(v, CHATSEAL_OK, -1, -1);
    CHECK(v.count == 5, "the token covers 5, not 6: %zu", v.count);
    CHECK_VERDICT(present(ring, token, plus_tool, 6, &o), CHATSEAL_OK, -1, -1);
    v = present(ring, token, plus_asst, 6, &o);
    CHECK_VERDICT(v, CHATSEAL_E_ROLE_NOT_ALLOWED, 5, -1);
    CHECK(v.chain_valid == 1, "chain_valid with a refused tail");
    CHECK_VERDICT(present(ring, token, plus_two, 7, &o),
                  CHATSEAL_E_ROLE_NOT_ALLOWED, 6, -1);
    CHECK_VERDICT(present(ring, token, plus_sys, 6, &o),
                  CHATSEAL_E_ROLE_NOT_ALLOWED, 5, -1);
    /* list spelling: spaces are not part of a role name */
    o.tail_roles = "tool";
    CHECK_VERDICT(present(ring, token, plus_user, 6, &o),
                  CHATSEAL_E_ROLE_NOT_ALLOWED, 5, -1);
    o.tail_roles = "assistant,user";
    CHECK_VERDICT(present(ring, token, plus_two, 7, &o), CHATSEAL_OK, -1, -1);
    /* "" allows nothing (count_mismatch or role_not_allowed) */
    o.tail_roles = "";
    v = present(ring, token, plus_user, 6, &o);
    CHECK(v.code == CHATSEAL_E_COUNT_MISMATCH ||
              v.code == CHATSEAL_E_ROLE_NOT_ALLOWED,
          "tail roles \"\": %s", chatseal_error_name(v.code));
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void missing_token(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    const char *fresh[2] = {S0, U1};
    const char *old[3] = {S0, U1, A2};
    struct cs_verdict v = present(ring, NULL, fresh, 2, &o);
    CHECK_VERDICT(v, CHATSEAL_E_MISSING_SIGNATURE, -1, -1);
    CHECK(v.chain_valid == 0, "chain_valid without token");
    CHECK_VERDICT(present(ring, "", fresh, 2, &o), CHATSEAL_E_MISSING_SIGNATURE,
                  -1, -1);
    /* tail roles do not stand in for a token */
    o.tail_roles = "system,user,assistant";
    CHECK_VERDICT(present(ring, NULL, fresh, 2, &o),
                  CHATSEAL_E_MISSING_SIGNATURE, -1, -1);
    /* fresh conversations: only the listed roles */
    o = at_now();
    o.fresh_roles = "system,developer,user";
    v = present(ring, NULL, fresh, 2, &o);
    CHECK_VERDICT(v, CHATSEAL_OK, -1, -1);
    CHECK(v.count == 0, "a fresh conversation covers 0 messages: %zu", v.count);
    CHECK_VERDICT(present(ring, "", fresh, 2, &o), CHATSEAL_OK, -1, -1);
    CHECK_VERDICT(present(ring, NULL, fresh, 0, &o), CHATSEAL_OK, -1, -1);
    /* (the index may name the first message the fresh roles refuse) */
    CHECK_VERDICT(present(ring, NULL, old, 3, &o), CHATSEAL_E_MISSING_SIGNATURE,
                  -2, -1);
    o.fresh_roles = "user";
    CHECK_VERDICT(present(ring, NULL, fresh, 2, &o),
                  CHATSEAL_E_MISSING_SIGNATURE, -2, -1);
    /* fresh_roles never excuses a bad token */
    o.fresh_roles = "system,user";
    CHECK_VERDICT(present(ring, "cs1.garbage", fresh, 2, &o),
                  CHATSEAL_E_MALFORMED_TOKEN, -1, -1);
    chatseal_keyring_free(ring);
}

static void binding(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.conversation_id = "conv-1";
    o.principal = "alice";
    o.purpose = "chat";
    char *token = sign_base(ring, &o);
    CHECK_VERDICT(present(ring, token, BASE, 5, &o), CHATSEAL_OK, -1, -1);

    chatseal_options w = o;
    w.conversation_id = "conv-2";
    CHECK_VERDICT(present(ring, token, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    w = o;
    w.conversation_id = NULL;
    CHECK_VERDICT(present(ring, token, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    w = o;
    w.principal = "mallory";
    CHECK_VERDICT(present(ring, token, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    w = o;
    w.principal = NULL;
    CHECK_VERDICT(present(ring, token, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    w = o;
    w.purpose = "cache";
    CHECK_VERDICT(present(ring, token, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    w = o;
    w.purpose = NULL;
    CHECK_VERDICT(present(ring, token, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    /* cid and principal swapped: framing keeps them apart */
    w = o;
    w.conversation_id = "alice";
    w.principal = "conv-1";
    CHECK_VERDICT(present(ring, token, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    /* "" is the same as absent (FORMAT.md 4.1) */
    chatseal_options u = at_now();
    char *unbound = sign_base(ring, &u);
    u.conversation_id = "";
    u.principal = "";
    CHECK_VERDICT(present(ring, unbound, BASE, 5, &u), CHATSEAL_OK, -1, -1);
    /* an unbound token refuses any expected binding */
    w = at_now();
    w.conversation_id = "conv-1";
    CHECK_VERDICT(present(ring, unbound, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    w = at_now();
    w.purpose = "chat";
    CHECK_VERDICT(present(ring, unbound, BASE, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    /* binding is checked before content (step 5 before 6) */
    const char *changed[5] = {S0, C1, A2, U3, A4};
    w = o;
    w.principal = "mallory";
    CHECK_VERDICT(present(ring, token, changed, 5, &w),
                  CHATSEAL_E_BINDING_MISMATCH, -1, -1);
    chatseal_free(unbound);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void time_checks(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.ttl = 60;
    char *token = sign_base(ring, &o);
    chatseal_report *r = NULL;
    CHECK_ERR(chatseal_report_new(&r), CHATSEAL_OK);
    char *arr = cs_test_join(BASE, 5);
    chatseal_conv *conv = cs_test_conv(arr);

    chatseal_options v = at_now();
    struct {
        int64_t now, leeway;
        chatseal_error want;
    } cases[] = {
        {TU_NOW, 0, CHATSEAL_OK},
        {TU_NOW + 59, 0, CHATSEAL_OK},
        {TU_NOW + 60, 0, CHATSEAL_E_EXPIRED},
        {TU_NOW + 100000, 0, CHATSEAL_E_EXPIRED},
        {TU_NOW + 69, 10, CHATSEAL_OK},
        {TU_NOW + 70, 10, CHATSEAL_E_EXPIRED},
        {TU_NOW - 1, 0, CHATSEAL_E_NOT_YET_VALID},
        {TU_NOW - 1, 1, CHATSEAL_OK},
        {TU_NOW - 11, 10, CHATSEAL_E_NOT_YET_VALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        v.now = cases[i].now;
        v.leeway = cases[i].leeway;
        chatseal_error got = chatseal_verify(ring, conv, token, &v, r);
        CHECK(got == cases[i].want, "now %+lld leeway %lld: %s, want %s",
              (long long)(cases[i].now - TU_NOW), (long long)cases[i].leeway,
              chatseal_error_name(got), chatseal_error_name(cases[i].want));
        CHECK(chatseal_report_iat(r) == TU_NOW, "iat %lld",
              (long long)chatseal_report_iat(r));
        CHECK(chatseal_report_exp(r) == TU_NOW + 60, "exp %lld",
              (long long)chatseal_report_exp(r));
    }
    /* content is checked before time (step 6 before 8) */
    const char *changed[5] = {S0, C1, A2, U3, A4};
    v.now = TU_NOW + 1000;
    v.leeway = 0;
    CHECK_VERDICT(present(ring, token, changed, 5, &v),
                  CHATSEAL_E_CONTENT_CHANGED, 1, 1, -1);
    /* a token without ttl never expires */
    chatseal_options plain = at_now();
    char *forever = sign_base(ring, &plain);
    v.now = INT64_C(4000000000);
    CHECK_ERR(chatseal_verify(ring, conv, forever, &v, r), CHATSEAL_OK);
    CHECK(chatseal_report_exp(r) == 0, "no exp");
    chatseal_free(forever);
    chatseal_conv_free(conv);
    free(arr);
    chatseal_report_free(r);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void keys(void)
{
    chatseal_keyring *k1 = cs_test_ring(RING1);
    chatseal_keyring *k2 = cs_test_ring("k2:" TU_K2);
    chatseal_keyring *both = cs_test_ring(RING1 "\nk2:" TU_K2);
    chatseal_keyring *k1_other = cs_test_ring("k1:" TU_K3);
    chatseal_options o = at_now();
    char *token = sign_base(k2, &o);
    CHECK_VERDICT(present(k1, token, BASE, 5, &o), CHATSEAL_E_UNKNOWN_KEY, -1,
                  -1);
    CHECK_VERDICT(present(both, token, BASE, 5, &o), CHATSEAL_OK, -1, -1);
    /* unknown key is decided before binding (step 4 before 5) */
    chatseal_options w = o;
    w.conversation_id = "other";
    CHECK_VERDICT(present(k1, token, BASE, 5, &w), CHATSEAL_E_UNKNOWN_KEY, -1,
                  -1);
    chatseal_free(token);

    /* same kid, another key: the tag fails (and so does every locator) */
    token = sign_base(k1, &o);
    struct cs_verdict v = present(k1_other, token, BASE, 5, &o);
    CHECK(v.code != CHATSEAL_OK && v.chain_valid == 0,
          "a token verified under another key: %s",
          chatseal_error_name(v.code));
    chatseal_free(token);
    chatseal_keyring_free(k1);
    chatseal_keyring_free(k2);
    chatseal_keyring_free(both);
    chatseal_keyring_free(k1_other);
}

/* ------------------------------------------- compact and assistant-only -- */

static void compact_tokens(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.flags = CHATSEAL_COMPACT;
    char *token = sign_base(ring, &o);
    char *header = cs_test_token_header(token);
    CHECK(!strstr(header, "\"loc\"") && !strstr(header, "\"roles\""),
          "compact header carries locators: %s", header);
    CHECK_VERDICT(present(ring, token, BASE, 5, &o), CHATSEAL_OK, -1, -1);
    const char *changed[5] = {S0, U1, C2, U3, A4};
    struct cs_verdict v = present(ring, token, changed, 5, &o);
    CHECK_VERDICT(v, CHATSEAL_E_INVALID_SIGNATURE, -1, -1);
    CHECK(v.chain_valid == 0, "chain_valid");
    CHECK_VERDICT(present(ring, token, BASE, 3, &o), CHATSEAL_E_COUNT_MISMATCH,
                  3, -1);
    const char *swap[5] = {S0, U3, A2, U1, A4};
    CHECK_VERDICT(present(ring, token, swap, 5, &o),
                  CHATSEAL_E_INVALID_SIGNATURE, -1, -1);
    const char *plus[6] = {S0, U1, A2, U3, A4, NA};
    CHECK_VERDICT(present(ring, token, plus, 6, &o), CHATSEAL_E_COUNT_MISMATCH,
                  -2, -1);
    /* compact wins over assistant-only: no locators at all */
    o.flags = CHATSEAL_COMPACT | CHATSEAL_ASSISTANT_ONLY;
    char *t2 = sign_base(ring, &o);
    char *h2 = cs_test_token_header(t2);
    CHECK(!strstr(h2, "\"loc\"") && !strstr(h2, "\"ao\""),
          "compact + assistant-only header: %s", h2);
    CHECK_VERDICT(present(ring, t2, BASE, 5, &o), CHATSEAL_OK, -1, -1);
    free(h2);
    chatseal_free(t2);
    free(header);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

static void assistant_only_tokens(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    o.flags = CHATSEAL_ASSISTANT_ONLY;
    char *token = sign_base(ring, &o);
    char *header = cs_test_token_header(token);
    int has_ao = strstr(header, "\"ao\":true") != NULL;
    int has_roles = strstr(header, "\"roles\":\"suaua\"") != NULL;
    CHECK(has_ao && has_roles, "ao and roles in %s", header);
    /* two assistant messages: 16 bytes of locators, 22 base64url chars */
    json_t *h = json_loads(header, 0, NULL);
    const char *loc = json_string_value(json_object_get(h, "loc"));
    CHECK(loc && strlen(loc) == 22, "loc %s", loc ? loc : "(none)");
    json_decref(h);

    CHECK_VERDICT(present(ring, token, BASE, 5, &o), CHATSEAL_OK, -1, -1);
    /* an assistant message changed: located, so found */
    const char *a2[5] = {S0, U1, C2, U3, A4};
    CHECK_VERDICT(present(ring, token, a2, 5, &o), CHATSEAL_E_CONTENT_CHANGED,
                  2, 2, -1);
    /* a user message changed: still in the chain, not located */
    const char *u1[5] = {S0, C1, A2, U3, A4};
    struct cs_verdict v = present(ring, token, u1, 5, &o);
    CHECK_VERDICT(v, CHATSEAL_E_INVALID_SIGNATURE, -1, -1);
    CHECK(v.chain_valid == 0, "chain_valid after a user change");
    const char *s0[5] = {C0, U1, A2, U3, A4};
    CHECK_VERDICT(present(ring, token, s0, 5, &o), CHATSEAL_E_INVALID_SIGNATURE,
                  -1, -1);
    /* a role change is seen through the role codes */
    const char *r1[5] = {
        S0, "{\"role\":\"system\",\"content\":\"What is 2+2?\"}", A2, U3, A4};
    CHECK_VERDICT(present(ring, token, r1, 5, &o), CHATSEAL_E_ROLE_CHANGED, 1,
                  1, -1);
    /* truncation and deletion are still told apart */
    CHECK_VERDICT(present(ring, token, BASE, 3, &o), CHATSEAL_E_TRUNCATED, 3,
                  -1);
    const char *del2[4] = {S0, U1, U3, A4};
    CHECK_VERDICT(present(ring, token, del2, 4, &o), CHATSEAL_E_MESSAGE_DELETED,
                  2, 2, 3, -1);
    free(header);
    chatseal_free(token);
    chatseal_keyring_free(ring);
}

/* ------------------------------------------------- malformed tokens -- */

static void malformed_tokens(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *good = sign_base(ring, &o);
    char *hdr = cs_test_token_header(good);
    size_t tlen;
    uint8_t *tag = cs_test_token_payload(good, &tlen);
    json_t *hj = json_loads(hdr, 0, NULL);
    const char *loc = json_string_value(json_object_get(hj, "loc"));
    char locbuf[128];
    snprintf(locbuf, sizeof locbuf, "%s", loc ? loc : "");
    json_decref(hj);
    /* the header as signed, member by member, to vary one at a time */
    char headers[64][512];
    size_t nh = 0;
#define ADD(...) snprintf(headers[nh++], sizeof headers[0], __VA_ARGS__)
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* [0] = the real header, sanity */
    ADD("{\"iat\":%d, \"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* white space: not canonical */
    ADD("{\"kid\":\"k1\",\"iat\":%d,\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* members out of order */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2,\"zz\":1}",
        TU_NOW, locbuf); /* unknown member */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\"}",
        TU_NOW, locbuf); /* no v */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":\"1\"}",
        TU_NOW, locbuf); /* v a string */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":1.5}",
        TU_NOW, locbuf); /* v not an integer */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"v\":2}",
        TU_NOW, locbuf); /* no typ */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":7,\"v\":2}",
        TU_NOW, locbuf); /* typ a number */
    ADD("{\"iat\":%d,\"loc\":\"%s\",\"n\":5,\"roles\":\"suaua\",\"typ\":"
        "\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* no kid */
    ADD("{\"iat\":%d,\"kid\":1,\"loc\":\"%s\",\"n\":5,\"roles\":\"suaua\","
        "\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* kid a number */
    ADD("{\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":\"suaua\",\"typ\":"
        "\"conv\",\"v\":2}",
        locbuf); /* no iat */
    ADD("{\"iat\":-1,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        locbuf); /* iat negative */
    ADD("{\"iat\":1.5,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        locbuf); /* iat fraction */
    ADD("{\"iat\":9007199254740992,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        locbuf); /* iat = 2^53 */
    ADD("{\"iat\":\"%d\",\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* iat a string */
    ADD("{\"exp\":%d,\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, TU_NOW, locbuf); /* exp == iat */
    ADD("{\"exp\":%d,\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW - 5, TU_NOW, locbuf); /* exp < iat */
    ADD("{\"exp\":null,\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* exp null */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"roles\":\"suaua\","
        "\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* no n */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":-5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* n negative */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":\"5\",\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* n a string */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":4,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* n != len(roles) */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":"
        "\"suauz\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* unknown role code */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"roles\":5,"
        "\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* roles a number */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%.*s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, 43, locbuf); /* loc: 32 bytes, not 40 */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s=\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* loc padded */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"+%s\",\"n\":5,\"roles\":"
        "\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf + 1); /* loc outside the alphabet */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"n\":5,\"roles\":\"suaua\",\"typ\":"
        "\"conv\",\"v\":2}",
        TU_NOW); /* roles without loc */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"typ\":\"conv\","
        "\"v\":2}",
        TU_NOW, locbuf); /* loc without roles */
    ADD("{\"ao\":false,\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* ao false */
    ADD("{\"ao\":1,\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* ao 1 */
    ADD("{\"ao\":true,\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* ao with 5 locators for 2 assistant messages */
    ADD("{\"bnd\":\"AAAAAAAAAAA\",\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\","
        "\"n\":5,\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* bnd 8 bytes */
    ADD("{\"bnd\":1,\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* bnd a number */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"pur\":\"\","
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* pur empty */
    ADD("{\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,\"pur\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, locbuf); /* pur a number */
    ADD("{\"iat\":%d,\"iat\":%d,\"kid\":\"k1\",\"loc\":\"%s\",\"n\":5,"
        "\"roles\":\"suaua\",\"typ\":\"conv\",\"v\":2}",
        TU_NOW, TU_NOW, locbuf);               /* duplicate member */
    ADD("[1,2]%s", "");                        /* not an object */
    ADD("{\"iat\":%d,\"kid\":\"k1\"", TU_NOW); /* not JSON */
    ADD("%s", "");                             /* empty header */
#undef ADD

    char *real = cs_test_token(headers[0], tag, tlen);
    CHECK(strcmp(real, good) == 0, "header reconstruction: %s vs %s", real,
          good);
    free(real);
    for (size_t i = 1; i < nh; i++) {
        char *t = cs_test_token(headers[i], tag, tlen);
        struct cs_verdict v = present(ring, t, BASE, 5, &o);
        CHECK(v.code == CHATSEAL_E_MALFORMED_TOKEN,
              "header %zu %s: %s, want malformed_token", i, headers[i],
              chatseal_error_name(v.code));
        CHECK(v.report_code == v.code, "report code");
        free(t);
    }

    /* syntax of the token string itself */
    const char *dot = strrchr(good, '.');
    size_t hseg = (size_t)(dot - good); /* "cs1.<header>" */
    char buf[2048];
    const char *bad[32];
    char store[32][1024];
    size_t nb = 0;
#define BAD(...)                                                               \
    (snprintf(store[nb], sizeof store[0], __VA_ARGS__), bad[nb] = store[nb],   \
     nb++)
    BAD("cs1");
    BAD("cs1.");
    BAD("cs1..");
    BAD("cs1...");
    BAD("x");
    BAD("cs2.%s", good + 4);
    BAD("CS1.%s", good + 4);
    BAD("cs1%s", good + 4);
    BAD("%.*s", (int)hseg, good);                 /* no tag segment */
    BAD("%.*s.", (int)hseg, good);                /* empty tag */
    BAD("%s.AAAA", good);                         /* three segments */
    BAD("%s=", good);                             /* padding */
    BAD("%s AAA", good);                          /* space inside */
    BAD(" %s", good);                             /* leading space */
    BAD("%.*s", (int)strlen(good) - 1, good);     /* tag cut by one char */
    BAD("%sA", good);                             /* tag one char longer */
    BAD("%.*s+%s", (int)hseg + 1, good, dot + 2); /* '+' in the tag */
    BAD("%.*s/%s", (int)hseg + 1, good, dot + 2); /* '/' in the tag */
    BAD("cs1.%s", dot + 1);                       /* tag only */
    BAD(".%s", good);
#undef BAD
    for (size_t i = 0; i < nb; i++) {
        struct cs_verdict v = present(ring, bad[i], BASE, 5, &o);
        CHECK(v.code == CHATSEAL_E_MALFORMED_TOKEN,
              "token %zu '%s': %s, want malformed_token", i, bad[i],
              chatseal_error_name(v.code));
    }
    /* non-zero unused bits in the last tag character: 32 bytes leave 2
     * unused bits in the 43rd character */
    snprintf(buf, sizeof buf, "%s", good);
    char *last = buf + strlen(buf) - 1;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t val = (size_t)(strchr(alphabet, *last) - alphabet);
    *last = alphabet[val | 1];
    CHECK(strcmp(buf, good) != 0, "unused bits were already set");
    CHECK_VERDICT(present(ring, buf, BASE, 5, &o), CHATSEAL_E_MALFORMED_TOKEN,
                  -1, -1);
    /* tag of 31 and 33 bytes */
    for (size_t len = 31; len <= 33; len += 2) {
        uint8_t t[33] = {0};
        memcpy(t, tag, 31);
        char *tok = cs_test_token(headers[0], t, len);
        CHECK_VERDICT(present(ring, tok, BASE, 5, &o),
                      CHATSEAL_E_MALFORMED_TOKEN, -1, -1);
        free(tok);
    }
    /* longer than CHATSEAL_TOKEN_MAX */
    size_t huge_len = CHATSEAL_TOKEN_MAX + 16;
    char *huge = malloc(huge_len + 1);
    memcpy(huge, good, strlen(good));
    memset(huge + strlen(good), 'A', huge_len - strlen(good));
    huge[huge_len] = '\0';
    CHECK_VERDICT(present(ring, huge, BASE, 5, &o), CHATSEAL_E_MALFORMED_TOKEN,
                  -1, -1);
    free(huge);

    /* version: well-formed but neither 1 nor 2 */
    char *v2h = cs_test_replace(headers[0], "\"v\":2", "\"v\":3");
    char *v2 = cs_test_token(v2h, tag, tlen);
    CHECK_VERDICT(present(ring, v2, BASE, 5, &o),
                  CHATSEAL_E_UNSUPPORTED_VERSION, -1, -1);
    free(v2);
    free(v2h);
    v2h = cs_test_replace(headers[0], "\"v\":2", "\"v\":0");
    v2 = cs_test_token(v2h, tag, tlen);
    CHECK_VERDICT(present(ring, v2, BASE, 5, &o),
                  CHATSEAL_E_UNSUPPORTED_VERSION, -1, -1);
    free(v2);
    free(v2h);
    free(tag);
    free(hdr);
    chatseal_free(good);
    chatseal_keyring_free(ring);
}

static void wrong_token_types(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = at_now();
    char *state = NULL, *msg = NULL, *sealed = NULL;
    CHECK_ERR(chatseal_state_sign(ring, "[1]", 3, &o, &state), CHATSEAL_OK);
    CHECK_ERR(chatseal_message_sign(ring, S0, strlen(S0), &o, &msg),
              CHATSEAL_OK);
    CHECK_ERR(chatseal_state_seal(ring, "[1]", 3, &o, &sealed), CHATSEAL_OK);
    const char *one[1] = {S0};
    CHECK_VERDICT(present(ring, state, one, 1, &o), CHATSEAL_E_WRONG_TOKEN_TYPE,
                  -1, -1);
    CHECK_VERDICT(present(ring, msg, one, 1, &o), CHATSEAL_E_WRONG_TOKEN_TYPE,
                  -1, -1);
    CHECK_VERDICT(present(ring, sealed, one, 1, &o),
                  CHATSEAL_E_WRONG_TOKEN_TYPE, -1, -1);
    /* wrong type is decided before the key (step 3 before 4) */
    chatseal_keyring *other = cs_test_ring("k2:" TU_K2);
    CHECK_VERDICT(present(other, state, one, 1, &o),
                  CHATSEAL_E_WRONG_TOKEN_TYPE, -1, -1);
    chatseal_keyring_free(other);
    chatseal_free(state);
    chatseal_free(msg);
    chatseal_free(sealed);
    chatseal_keyring_free(ring);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"valid_history", valid_history},
        {"sign_arguments", sign_arguments},
        {"content_changed_each_index", content_changed_each_index},
        {"role_changed", role_changed},
        {"inserted", inserted},
        {"deleted_from_the_middle", deleted_from_the_middle},
        {"truncated", truncated},
        {"reordered", reordered},
        {"forged_header_or_tag", forged_header_or_tag},
        {"diagnosis_no_locator_matches", diagnosis_no_locator_matches},
        {"diagnosis_long_histories", diagnosis_long_histories},
        {"tail_roles_and_count", tail_roles_and_count},
        {"missing_token", missing_token},
        {"binding", binding},
        {"time_checks", time_checks},
        {"keys", keys},
        {"compact_tokens", compact_tokens},
        {"assistant_only_tokens", assistant_only_tokens},
        {"malformed_tokens", malformed_tokens},
        {"wrong_token_types", wrong_token_types},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
