/*
 * test_api.c -- the rules chatseal.h promises about the API itself: the
 * version calls agree with the header, and the extensible option structs
 * (chatseal_options, chatseal_limits) follow their `size` rules in every
 * call that reads one.
 *
 * The "newer caller" cases build a struct bigger than this header's, as a
 * program compiled against a future chatseal.h would pass it: the known
 * members first, then bytes this library has never heard of.
 */
#include <stdio.h>
#include <string.h>

#include "tu.h"

static const char *CONV = "[{\"role\":\"user\",\"content\":\"hi\"}]";

/* chatseal_options as a later header might declare it. */
struct newer_options {
    chatseal_options known;
    int64_t future_member;
};

static void version(void)
{
    CHECK(strcmp(chatseal_version(), CHATSEAL_VERSION_STRING) == 0,
          "chatseal_version %s", chatseal_version());
    CHECK(chatseal_version_number() == CHATSEAL_VERSION_NUMBER,
          "version number");
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", CHATSEAL_VERSION_MAJOR,
             CHATSEAL_VERSION_MINOR, CHATSEAL_VERSION_PATCH);
    CHECK(strcmp(want, CHATSEAL_VERSION_STRING) == 0, "macros agree: %s", want);
#ifdef CS_PROJECT_VERSION
    /* meson.build's project version: the two are bumped together */
    CHECK(strcmp(CS_PROJECT_VERSION, CHATSEAL_VERSION_STRING) == 0,
          "chatseal.h says %s, meson.build %s", CHATSEAL_VERSION_STRING,
          CS_PROJECT_VERSION);
#else
#error "tests/unit/meson.build passes CS_PROJECT_VERSION"
#endif
}

/* Every call taking options refuses o: sign, verify, extend, the single
 * message calls and the four state calls. */
static void check_refused(const chatseal_options *o, const char *what)
{
    chatseal_keyring *ring = cs_test_ring("k1:" TU_K1);
    chatseal_conv *conv = cs_test_conv(CONV);
    char *tok = (char *)"x";
    CHECK_ERR(chatseal_sign(ring, conv, 1, o, &tok),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(tok == NULL, "%s: sign leaves *token NULL", what);
    chatseal_options good = CHATSEAL_OPTIONS_INIT;
    good.now = TU_NOW;
    char *valid = cs_test_sign(ring, CONV, &good);
    chatseal_report *r = NULL;
    CHECK_ERR(chatseal_report_new(&r), CHATSEAL_OK);
    CHECK_ERR(chatseal_verify(ring, conv, valid, o, r),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_report_code(r), CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_extend(ring, conv, valid, NULL, 0, o, &tok, r),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(tok == NULL, "%s: extend leaves *h1 NULL", what);
    const char *msg = "{\"role\":\"user\",\"content\":\"hi\"}";
    CHECK_ERR(chatseal_message_sign(ring, msg, strlen(msg), o, &tok),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_message_verify(ring, msg, strlen(msg), valid, o, r),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_state_sign(ring, "{}", 2, o, &tok),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_state_verify(ring, "{}", 2, valid, o, r),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_state_seal(ring, "{}", 2, o, &tok),
              CHATSEAL_E_INVALID_ARGUMENT);
    char *json = NULL;
    CHECK_ERR(chatseal_state_open(ring, valid, o, &json, NULL, r),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(tok == NULL && json == NULL, "%s: outputs stay NULL", what);
    chatseal_report_free(r);
    chatseal_free(valid);
    chatseal_conv_free(conv);
    chatseal_keyring_free(ring);
}

static void options_size(void)
{
    /* a zeroed struct nobody initialized: refused, never "defaults" */
    chatseal_options zero;
    memset(&zero, 0, sizeof zero);
    zero.ttl = 60; /* the caller believes this is honoured */
    check_refused(&zero, "size 0");
    /* a size that cuts into the first published layout */
    chatseal_options cut = CHATSEAL_OPTIONS_INIT;
    cut.size = offsetof(chatseal_options, fresh_roles);
    check_refused(&cut, "short size");
    /* a newer caller that set a member this library does not know */
    struct newer_options newer;
    memset(&newer, 0, sizeof newer);
    newer.known.size = sizeof newer;
    newer.future_member = 1;
    check_refused(&newer.known, "unknown member set");
}

static void options_accepted(void)
{
    chatseal_keyring *ring = cs_test_ring("k1:" TU_K1);
    /* NULL: the defaults */
    chatseal_conv *conv = cs_test_conv(CONV);
    char *tok = NULL;
    CHECK_ERR(chatseal_sign(ring, conv, 1, NULL, &tok), CHATSEAL_OK);
    CHECK_ERR(chatseal_verify(ring, conv, tok, NULL, NULL), CHATSEAL_OK);
    chatseal_free(tok);
    /* a newer caller whose unknown members are all zero: their defaults */
    struct newer_options newer;
    memset(&newer, 0, sizeof newer);
    newer.known.size = sizeof newer;
    newer.known.now = TU_NOW;
    newer.known.ttl = 60;
    CHECK_ERR(chatseal_sign(ring, conv, 1, &newer.known, &tok), CHATSEAL_OK);
    CHECK_ERR(chatseal_verify(ring, conv, tok, &newer.known, NULL),
              CHATSEAL_OK);
    /* and the members it did set were read: 61 s later it has expired */
    chatseal_options later = CHATSEAL_OPTIONS_INIT;
    later.now = TU_NOW + 61;
    CHECK_ERR(chatseal_verify(ring, conv, tok, &later, NULL),
              CHATSEAL_E_EXPIRED);
    chatseal_free(tok);
    chatseal_conv_free(conv);
    chatseal_keyring_free(ring);
}

static void limits_size(void)
{
    const char *two = "[{\"role\":\"a\"},{\"role\":\"b\"}]";
    chatseal_conv *conv = NULL;
    chatseal_limits zero;
    memset(&zero, 0, sizeof zero);
    zero.max_messages = 1;
    CHECK_ERR(chatseal_conv_parse(two, strlen(two), &zero, &conv),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(conv == NULL, "no conv on a refused limits struct");
    struct {
        chatseal_limits known;
        size_t future_member;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.known.size = sizeof newer;
    newer.known.max_messages = 1;
    CHECK_ERR(chatseal_conv_parse(two, strlen(two), &newer.known, &conv),
              CHATSEAL_E_TOO_MANY_MESSAGES);
    newer.future_member = 7;
    CHECK_ERR(chatseal_conv_parse(two, strlen(two), &newer.known, &conv),
              CHATSEAL_E_INVALID_ARGUMENT);
    chatseal_limits lim = CHATSEAL_LIMITS_INIT;
    lim.max_messages = 2;
    CHECK_ERR(chatseal_conv_parse(two, strlen(two), &lim, &conv), CHATSEAL_OK);
    CHECK(chatseal_conv_count(conv) == 2, "parsed within the limit");
    chatseal_conv_free(conv);
}

/* "A call that can fail ... clears its out-parameters first": a stale
 * pointer left in an out-parameter after a failure is a double free
 * waiting for the caller's cleanup path. */
static void outputs_cleared(void)
{
    char *stale = (char *)"stale";
    char *c = stale;
    size_t n = 7;
    chatseal_keyring *k = (chatseal_keyring *)stale;
    chatseal_conv *v = (chatseal_conv *)stale;
    CHECK_ERR(chatseal_canonicalize("[", 1, 0, &c, &n),
              CHATSEAL_E_MALFORMED_JSON);
    CHECK(c == NULL, "canonicalize");
    CHECK(chatseal_keyring_parse("x", 1, &k) != CHATSEAL_OK && k == NULL,
          "keyring_parse");
    k = (chatseal_keyring *)stale;
    CHECK(chatseal_keyring_load_file("/nonexistent/keys", &k) != CHATSEAL_OK &&
              k == NULL,
          "keyring_load_file");
    CHECK(chatseal_conv_parse("[", 1, NULL, &v) != CHATSEAL_OK && v == NULL,
          "conv_parse");
    c = stale;
    CHECK(chatseal_token_inspect("nope", &c) != CHATSEAL_OK && c == NULL,
          "token_inspect");
    c = stale;
    CHECK(chatseal_key_generate("bad kid!", &c) != CHATSEAL_OK && c == NULL,
          "key_generate");
    c = stale;
    CHECK_ERR(chatseal_report_json(NULL, &c), CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(c == NULL, "report_json of NULL");
    c = stale;
    CHECK_ERR(chatseal_conv_canonical(NULL, NULL, &c, &n),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(c == NULL, "conv_canonical of NULL");
    c = stale;
    CHECK_ERR(chatseal_conv_get_string(NULL, "k", &c), CHATSEAL_OK);
    CHECK(c == NULL, "get_string of NULL");
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"version", version},
        {"options_size", options_size},
        {"options_accepted", options_accepted},
        {"limits_size", limits_size},
        {"outputs_cleared", outputs_cleared},
    };
    return cs_test_run(tests, sizeof tests / sizeof tests[0]);
}
