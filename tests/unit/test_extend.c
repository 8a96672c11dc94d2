/*
 * test_extend.c -- turn extension H0 -> H1 (FORMAT.md section 6).
 *
 * A whole chat is played: turn 0 without a token (fresh roles), then each
 * turn verifies the history against the previous token and signs it with
 * the model's reply.  H1 must verify over exactly the new history, equal
 * what chatseal_sign makes of it, and a failed verification must return
 * the verdict, fill the report and produce no H1 at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tu.h"

#define RING1 "k1:" TU_K1
#define S0 "{\"role\":\"system\",\"content\":\"Be brief.\"}"
#define U1 "{\"role\":\"user\",\"content\":\"2+2?\"}"
#define A2 "{\"role\":\"assistant\",\"content\":\"4\"}"
#define U3 "{\"role\":\"user\",\"content\":\"3+3?\"}"
#define A4 "{\"role\":\"assistant\",\"content\":\"6\"}"
#define T5 "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"ok\"}"
#define A6 "{\"role\":\"assistant\",\"content\":\"done\"}"

static chatseal_options server_opts(void)
{
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    o.conversation_id = "c-1";
    o.tail_roles = "user,tool";
    o.fresh_roles = "system,developer,user";
    return o;
}

/* One server turn: parse the history, extend it with `reply`. */
static chatseal_error turn(const chatseal_keyring *ring, const char *history,
                           const char *h0, const char *reply,
                           const chatseal_options *o, char **h1,
                           size_t *count_after)
{
    chatseal_conv *conv = cs_test_conv(history);
    chatseal_report *r = NULL;
    if (chatseal_report_new(&r))
        return CHATSEAL_E_NO_MEMORY;
    chatseal_error e = chatseal_extend(ring, conv, h0, reply,
                                       reply ? strlen(reply) : 0, o, h1, r);
    CHECK(chatseal_report_code(r) == e, "report code %s != %s",
          chatseal_error_name(chatseal_report_code(r)), chatseal_error_name(e));
    if (count_after)
        *count_after = chatseal_conv_count(conv);
    chatseal_report_free(r);
    chatseal_conv_free(conv);
    return e;
}

static void whole_chat(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = server_opts();
    char *h1 = NULL, *h2 = NULL, *h3 = NULL;
    size_t count = 0;

    /* turn 0: no token, a fresh conversation */
    CHECK_ERR(turn(ring, "[" S0 "," U1 "]", NULL, A2, &o, &h1, &count),
              CHATSEAL_OK);
    CHECK(count == 3, "conv holds %zu after extend", count);
    if (!h1)
        return;
    chatseal_options exact = o;
    exact.tail_roles = NULL;
    CHECK_VERDICT(cs_test_verify(ring, "[" S0 "," U1 "," A2 "]", h1, &exact),
                  CHATSEAL_OK, -1, -1);
    /* H1 is exactly chatseal_sign over the new history */
    char *direct = cs_test_sign(ring, "[" S0 "," U1 "," A2 "]", &o);
    CHECK(strcmp(direct, h1) == 0, "extend != sign:\n %s\n %s", h1, direct);
    chatseal_free(direct);

    /* turn 1: the client adds a user turn */
    CHECK_ERR(
        turn(ring, "[" S0 "," U1 "," A2 "," U3 "]", h1, A4, &o, &h2, &count),
        CHATSEAL_OK);
    CHECK(count == 5, "count %zu", count);
    CHECK_VERDICT(cs_test_verify(ring, "[" S0 "," U1 "," A2 "," U3 "," A4 "]",
                                 h2, &exact),
                  CHATSEAL_OK, -1, -1);
    /* H1 no longer covers the new history */
    CHECK_VERDICT(cs_test_verify(ring, "[" S0 "," U1 "," A2 "," U3 "," A4 "]",
                                 h1, &exact),
                  CHATSEAL_E_COUNT_MISMATCH, -2, -1);

    /* turn 2: a tool result and two new messages as an array */
    CHECK_ERR(turn(ring, "[" S0 "," U1 "," A2 "," U3 "," A4 "," T5 "]", h2,
                   " [" A6 "," U1 "]", &o, &h3, &count),
              CHATSEAL_OK);
    CHECK(count == 8, "count %zu", count);
    struct cs_verdict v = cs_test_verify(
        ring, "[" S0 "," U1 "," A2 "," U3 "," A4 "," T5 "," A6 "," U1 "]", h3,
        &exact);
    CHECK_VERDICT(v, CHATSEAL_OK, -1, -1);
    CHECK(v.count == 8, "H3 covers %zu", v.count);

    chatseal_free(h1);
    chatseal_free(h2);
    chatseal_free(h3);
    chatseal_keyring_free(ring);
}

static void failure_makes_no_token(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = server_opts();
    char *h0 = cs_test_sign(ring, "[" S0 "," U1 "," A2 "]", &o);
    static const struct {
        const char *history;
        chatseal_error code;
    } cases[] = {
        {"[" S0 "," U1 "," A4 "," U3 "]", CHATSEAL_E_CONTENT_CHANGED},
        {"[" S0 "," U1 "]", CHATSEAL_E_TRUNCATED},
        {"[" S0 "," U1 "," A2 "," A4 "]", CHATSEAL_E_ROLE_NOT_ALLOWED},
        {"[" S0 "," A2 "," U1 "]", CHATSEAL_E_REORDERED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *h1 = (char *)"sentinel";
        chatseal_error e = turn(ring, cases[i].history, h0, A4, &o, &h1, NULL);
        CHECK(e == cases[i].code, "case %zu: %s, want %s", i,
              chatseal_error_name(e), chatseal_error_name(cases[i].code));
        CHECK(h1 == NULL, "case %zu: H1 on failure", i);
    }
    /* no token and an assistant turn: not a fresh conversation */
    char *h1 = (char *)"sentinel";
    CHECK_ERR(turn(ring, "[" S0 "," U1 "," A2 "]", NULL, A4, &o, &h1, NULL),
              CHATSEAL_E_MISSING_SIGNATURE);
    CHECK(h1 == NULL, "H1 without a token");
    /* another conversation id */
    chatseal_options other = o;
    other.conversation_id = "c-2";
    h1 = (char *)"sentinel";
    CHECK_ERR(turn(ring, "[" S0 "," U1 "," A2 "]", h0, A4, &other, &h1, NULL),
              CHATSEAL_E_BINDING_MISMATCH);
    CHECK(h1 == NULL, "H1 for another conversation");
    /* a bad new message is an input error; nothing signed */
    h1 = (char *)"sentinel";
    CHECK_ERR(turn(ring, "[" S0 "," U1 "," A2 "]", h0, "{\"content\":\"x\"}",
                   &o, &h1, NULL),
              CHATSEAL_E_INVALID_MESSAGE);
    CHECK(h1 == NULL, "H1 with an invalid reply");
    h1 = (char *)"sentinel";
    CHECK_ERR(
        turn(ring, "[" S0 "," U1 "," A2 "]", h0, "{\"role\":", &o, &h1, NULL),
        CHATSEAL_E_MALFORMED_JSON);
    CHECK(h1 == NULL, "H1 with malformed reply");
    chatseal_free(h0);
    chatseal_keyring_free(ring);
}

static void options_of_h1(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1 "\nk2:" TU_K2);
    chatseal_options o = server_opts();
    o.ttl = 300;
    o.purpose = "chat";
    o.flags = CHATSEAL_COMPACT;
    char *h1 = NULL;
    CHECK_ERR(turn(ring, "[" U1 "]", NULL, A2, &o, &h1, NULL), CHATSEAL_OK);
    if (h1) {
        char *hdr = cs_test_token_header(h1);
        CHECK(strstr(hdr, "\"exp\":1767225900") &&
                  strstr(hdr, "\"kid\":\"k2\"") &&
                  strstr(hdr, "\"pur\":\"chat\"") && strstr(hdr, "\"n\":2") &&
                  !strstr(hdr, "\"loc\""),
              "H1 header %s", hdr);
        free(hdr);
    }
    /* new_json NULL: re-sign what was verified, with the user tail */
    char *h2 = NULL;
    o.flags = 0;
    o.ttl = 0;
    CHECK_ERR(turn(ring, "[" U1 "," A2 "," U3 "]", h1, NULL, &o, &h2, NULL),
              CHATSEAL_OK);
    if (h2) {
        chatseal_options exact = o;
        exact.tail_roles = NULL;
        CHECK_VERDICT(
            cs_test_verify(ring, "[" U1 "," A2 "," U3 "]", h2, &exact),
            CHATSEAL_OK, -1, -1);
    }
    chatseal_free(h1);
    chatseal_free(h2);
    /* argument checks */
    chatseal_conv *conv = cs_test_conv("[" U1 "]");
    CHECK_ERR(chatseal_extend(ring, conv, NULL, A2, strlen(A2), &o, NULL, NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
    char *h = NULL;
    CHECK_ERR(chatseal_extend(ring, NULL, NULL, A2, strlen(A2), &o, &h, NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(h == NULL, "h1 on invalid argument");
    chatseal_conv_free(conv);
    chatseal_keyring_free(ring);
}

/* "[m0,...,m(n-1)]": a history whose roles follow `pattern` (s u a t),
 * every content distinct; a static buffer. */
static const char *history(const char *pattern, size_t n, size_t salt)
{
    static char buf[16384];
    size_t len = 0;
    buf[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        char c = pattern[i % strlen(pattern)];
        const char *role = c == 's'   ? "system"
                           : c == 'a' ? "assistant"
                           : c == 't' ? "tool"
                                      : "user";
        len += (size_t)snprintf(buf + len, sizeof buf - len,
                                "%s{\"role\":\"%s\",\"content\":\"m%zu-%zu\"}",
                                i ? "," : "", role, i, salt);
    }
    snprintf(buf + len, sizeof buf - len, "]");
    return buf;
}

/*
 * chatseal_extend reuses the locators of the H0 it has just verified when
 * the same key signs H1 (sign.c, cs_reusable_locators).  Whatever it reuses
 * or recomputes, H1 must be byte for byte the token chatseal_sign makes of
 * the new history: over many histories, with the same key and after a
 * rotation, with H0 and H1 in every locator mode.
 */
static void extend_equals_sign(void)
{
    chatseal_keyring *r1 = cs_test_ring(RING1);
    chatseal_keyring *r12 = cs_test_ring(RING1 "\nk2:" TU_K2);
    static const char *patterns[] = {"suaua", "ua", "uat", "suuaa", "a"};
    static const unsigned modes[] = {0, CHATSEAL_ASSISTANT_ONLY,
                                     CHATSEAL_COMPACT};
    size_t checked = 0;
    for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
        for (size_t n = 1; n <= 41; n += 4) {
            for (size_t m0 = 0; m0 < 3; m0++) {
                for (size_t m1 = 0; m1 < 3; m1++) {
                    for (int rot = 0; rot < 2; rot++) {
                        chatseal_options o0 = server_opts(), o1 = o0;
                        o0.flags = modes[m0];
                        o1.flags = modes[m1];
                        o1.tail_roles = "user,tool,assistant,system";
                        /* H0 over the first n messages */
                        char *h0 =
                            cs_test_sign(r1, history(patterns[p], n, p), &o0);
                        /* the client adds a user turn; the reply follows */
                        const char *hist =
                            history(patterns[p], n, p); /* same bytes */
                        char *with_user = malloc(strlen(hist) + 64);
                        char *full = malloc(strlen(hist) + 128);
                        if (!with_user || !full) {
                            CHECK(0, "out of memory");
                            return;
                        }
                        /* hist is "[...]": drop its "]", add the rest */
                        size_t hl = strlen(hist) - 1;
                        memcpy(with_user, hist, hl);
                        memcpy(with_user + hl, "," U3 "]", sizeof("," U3 "]"));
                        memcpy(full, hist, hl);
                        memcpy(full + hl, "," U3 "," A4 "]",
                               sizeof("," U3 "," A4 "]"));
                        chatseal_keyring *ring = rot ? r12 : r1;
                        char *h1 = NULL;
                        size_t count = 0;
                        CHECK_ERR(
                            turn(ring, with_user, h0, A4, &o1, &h1, &count),
                            CHATSEAL_OK);
                        char *direct = cs_test_sign(ring, full, &o1);
                        CHECK(h1 && strcmp(direct, h1) == 0,
                              "pattern %s n %zu modes %zu/%zu rot %d: extend "
                              "!= sign",
                              patterns[p], n, m0, m1, rot);
                        checked++;
                        chatseal_free(direct);
                        chatseal_free(h1);
                        chatseal_free(h0);
                        free(with_user);
                        free(full);
                    }
                }
            }
        }
    }
    CHECK(checked == 5 * 11 * 3 * 3 * 2, "checked %zu", checked);
    chatseal_keyring_free(r1);
    chatseal_keyring_free(r12);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"whole_chat", whole_chat},
        {"failure_makes_no_token", failure_makes_no_token},
        {"options_of_h1", options_of_h1},
        {"extend_equals_sign", extend_equals_sign},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
