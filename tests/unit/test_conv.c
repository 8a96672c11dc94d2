/*
 * test_conv.c -- parsed conversations (FORMAT.md section 2):
 * chatseal_conv_parse / append / count / role / digest / get_string /
 * get_bool / canonical.
 *
 * Message digests are checked against SHA-256 (OpenSSL, computed here) of
 * canonical bytes written out by hand, so a digest of the wrong bytes (a
 * normalized text, a dropped member, the array instead of the message)
 * cannot pass.  Every input error has its exact code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "tu.h"

static chatseal_error parse(const char *json, chatseal_conv **out)
{
    *out = (chatseal_conv *)&parse;
    return chatseal_conv_parse(json, strlen(json), NULL, out);
}

static void check_digest(const chatseal_conv *conv, size_t i,
                         const char *canonical)
{
    uint8_t want[32], got[32];
    SHA256((const unsigned char *)canonical, strlen(canonical), want);
    CHECK_ERR(chatseal_conv_digest(conv, i, got), CHATSEAL_OK);
    CHECK(memcmp(want, got, 32) == 0,
          "digest of message %zu is not SHA-256(%s)", i, canonical);
}

/* chatseal_conv_get_string, asserting it succeeds; the caller frees. */
static char *get_string(const chatseal_conv *conv, const char *key)
{
    char *out = NULL;
    CHECK_ERR(chatseal_conv_get_string(conv, key, &out), CHATSEAL_OK);
    return out;
}

static void array_conversation(void)
{
    chatseal_conv *conv;
    const char *json =
        "[ {\"role\":\"system\", \"content\":\"S\"},\n"
        "  {\"content\":\"caf\\u00e9 1.0\",\"role\":\"user\",\"n\":1.0},\n"
        "  {\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
        "\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{}\"}}]},\n"
        "  {\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"1e21\"},\n"
        "  {\"role\":\"ro\\u006ce-x\",\"content\":[{\"type\":\"text\","
        "\"text\":\"p\"}]} ]";
    CHECK_ERR(parse(json, &conv), CHATSEAL_OK);
    if (!conv)
        return;
    CHECK(chatseal_conv_count(conv) == 5, "count %zu",
          chatseal_conv_count(conv));
    const char *roles[] = {"system", "user", "assistant", "tool", "role-x"};
    for (size_t i = 0; i < 5; i++) {
        const char *r = chatseal_conv_role(conv, i);
        CHECK(r && strcmp(r, roles[i]) == 0, "role %zu: %s", i, r ? r : "-");
    }
    CHECK(chatseal_conv_role(conv, 5) == NULL, "role out of range");
    check_digest(conv, 0, "{\"content\":\"S\",\"role\":\"system\"}");
    check_digest(conv, 1,
                 "{\"content\":\"caf\xc3\xa9 1.0\",\"n\":1,\"role\":\"user\"}");
    /* the signed form (FORMAT.md §2.1): content null is left out */
    check_digest(conv, 2,
                 "{\"role\":\"assistant\",\"tool_calls\":[{"
                 "\"function\":{\"arguments\":\"{}\",\"name\":\"f\"},\"id\":"
                 "\"c\",\"type\":\"function\"}]}");
    check_digest(conv, 3,
                 "{\"content\":\"1e21\",\"role\":\"tool\",\"tool_call_id\":"
                 "\"c\"}");
    check_digest(conv, 4,
                 "{\"content\":[{\"text\":\"p\",\"type\":\"text\"}],\"role\":"
                 "\"role-x\"}");
    uint8_t d[32];
    CHECK_ERR(chatseal_conv_digest(conv, 5, d), CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_conv_digest(conv, 0, NULL), CHATSEAL_E_INVALID_ARGUMENT);
    /* an array has no members */
    CHECK(get_string(conv, "model") == NULL, "get_string");
    CHECK(chatseal_conv_get_bool(conv, "stream") == 0, "get_bool");
    char *canon = NULL;
    size_t n = 0;
    CHECK_ERR(chatseal_conv_canonical(conv, NULL, &canon, &n), CHATSEAL_OK);
    CHECK(canon && n == strlen(canon) && canon[0] == '[' &&
              strstr(canon, "{\"content\":\"S\",\"role\":\"system\"},") ==
                  canon + 1,
          "canonical %s", canon ? canon : "(null)");
    chatseal_free(canon);
    chatseal_conv_free(conv);

    /* empty */
    CHECK_ERR(parse("[]", &conv), CHATSEAL_OK);
    CHECK(conv && chatseal_conv_count(conv) == 0, "empty count");
    chatseal_conv_free(conv);
}

static void object_conversation(void)
{
    chatseal_conv *conv;
    const char *json =
        "{\"model\":\"gpt-x\",\"stream\":true,\"n\":false,\"temperature\":0.50,"
        "\"chatseal_token\":\"cs1.abc.def\",\"messages\":[{\"role\":\"user\","
        "\"content\":\"hi\"}],\"user\":\"\\u00e9\",\"x\":\"true\"}";
    CHECK_ERR(parse(json, &conv), CHATSEAL_OK);
    if (!conv)
        return;
    CHECK(chatseal_conv_count(conv) == 1, "count");
    check_digest(conv, 0, "{\"content\":\"hi\",\"role\":\"user\"}");
    char *t = get_string(conv, "chatseal_token");
    CHECK(t && strcmp(t, "cs1.abc.def") == 0, "token member %s", t ? t : "-");
    /* each call hands out a new copy: the const conv is never written */
    char *t2 = get_string(conv, "chatseal_token");
    CHECK(t2 && t2 != t && strcmp(t2, "cs1.abc.def") == 0, "a fresh copy");
    chatseal_free(t);
    chatseal_free(t2);
    char *u = get_string(conv, "user");
    CHECK(u && strcmp(u, "\xc3\xa9") == 0, "unescaped member");
    chatseal_free(u);
    CHECK(get_string(conv, "temperature") == NULL, "number");
    CHECK(get_string(conv, "missing") == NULL, "missing");
    char *none = (char *)"x";
    CHECK_ERR(chatseal_conv_get_string(conv, "missing", &none), CHATSEAL_OK);
    CHECK(none == NULL, "*out cleared when absent");
    CHECK_ERR(chatseal_conv_get_string(conv, "user", NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK(chatseal_conv_get_bool(conv, "stream") == 1, "stream");
    CHECK(chatseal_conv_get_bool(conv, "n") == 0, "false");
    CHECK(chatseal_conv_get_bool(conv, "x") == 0, "\"true\" is a string");
    CHECK(chatseal_conv_get_bool(conv, "missing") == 0, "missing bool");

    char *canon = NULL;
    size_t n;
    CHECK_ERR(chatseal_conv_canonical(conv, "chatseal_token", &canon, &n),
              CHATSEAL_OK);
    CHECK(canon &&
              strcmp(canon,
                     "{\"messages\":[{\"content\":\"hi\",\"role\":\"user\"}"
                     "],\"model\":\"gpt-x\",\"n\":false,\"stream\":true,"
                     "\"temperature\":0.5,\"user\":\"\xc3\xa9\",\"x\":"
                     "\"true\"}") == 0,
          "canonical without the token: %s", canon ? canon : "(null)");
    chatseal_free(canon);
    canon = NULL;
    CHECK_ERR(chatseal_conv_canonical(conv, NULL, &canon, &n), CHATSEAL_OK);
    CHECK(canon && strstr(canon, "\"chatseal_token\":\"cs1.abc.def\""),
          "canonical with everything");
    chatseal_free(canon);

    /* appended messages appear in the forwarded body */
    const char *reply = "{\"role\":\"assistant\",\"content\":\"yo\"}";
    CHECK_ERR(chatseal_conv_append(conv, reply, strlen(reply)), CHATSEAL_OK);
    CHECK(chatseal_conv_count(conv) == 2, "count after append");
    CHECK(strcmp(chatseal_conv_role(conv, 1), "assistant") == 0, "role");
    check_digest(conv, 1, "{\"content\":\"yo\",\"role\":\"assistant\"}");
    canon = NULL;
    CHECK_ERR(chatseal_conv_canonical(conv, "chatseal_token", &canon, &n),
              CHATSEAL_OK);
    CHECK(canon && strstr(canon, "\"messages\":[{\"content\":\"hi\",\"role\":"
                                 "\"user\"},{\"content\":\"yo\",\"role\":"
                                 "\"assistant\"}]"),
          "appended message in canonical: %s", canon ? canon : "(null)");
    chatseal_free(canon);
    chatseal_conv_free(conv);
}

static void append_errors(void)
{
    chatseal_conv *conv = cs_test_conv("[]");
    static const struct {
        const char *msg;
        chatseal_error code;
    } cases[] = {
        {"[]", CHATSEAL_E_INVALID_MESSAGE},
        {"{\"content\":\"x\"}", CHATSEAL_E_INVALID_MESSAGE},
        {"{\"role\":1}", CHATSEAL_E_INVALID_MESSAGE},
        {"{\"role\":null}", CHATSEAL_E_INVALID_MESSAGE},
        {"\"user\"", CHATSEAL_E_INVALID_MESSAGE},
        {"{\"role\":\"user\"", CHATSEAL_E_MALFORMED_JSON},
        {"{\"role\":\"user\",\"role\":\"user\"}", CHATSEAL_E_DUPLICATE_KEY},
        {"{\"role\":\"user\"} x", CHATSEAL_E_TRAILING_DATA},
        {"{\"role\":\"user\"} {}", CHATSEAL_E_TRAILING_DATA},
        {"", CHATSEAL_E_MALFORMED_JSON},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK_ERR(
            chatseal_conv_append(conv, cases[i].msg, strlen(cases[i].msg)),
            cases[i].code);
    CHECK(chatseal_conv_count(conv) == 0, "a failed append added something");
    CHECK_ERR(chatseal_conv_append(NULL, "{}", 2), CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_conv_append(conv, NULL, 2), CHATSEAL_E_INVALID_ARGUMENT);
    const char *ok = "{\"role\":\"\"}"; /* an empty role is still a string */
    CHECK_ERR(chatseal_conv_append(conv, ok, strlen(ok)), CHATSEAL_OK);
    CHECK(chatseal_conv_count(conv) == 1, "count");
    chatseal_conv_free(conv);
}

static void parse_errors(void)
{
    static const struct {
        const char *json;
        chatseal_error code;
    } cases[] = {
        {"{}", CHATSEAL_E_INVALID_REQUEST},
        {"{\"messages\":{}}", CHATSEAL_E_INVALID_REQUEST},
        {"{\"messages\":\"x\"}", CHATSEAL_E_INVALID_REQUEST},
        {"{\"Messages\":[]}", CHATSEAL_E_INVALID_REQUEST},
        {"\"x\"", CHATSEAL_E_INVALID_REQUEST},
        {"1", CHATSEAL_E_INVALID_REQUEST},
        {"null", CHATSEAL_E_INVALID_REQUEST},
        {"[1]", CHATSEAL_E_INVALID_MESSAGE},
        {"[{}]", CHATSEAL_E_INVALID_MESSAGE},
        {"[{\"role\":\"user\"},{\"role\":2}]", CHATSEAL_E_INVALID_MESSAGE},
        {"[{\"role\":[\"user\"]}]", CHATSEAL_E_INVALID_MESSAGE},
        {"[[{\"role\":\"user\"}]]", CHATSEAL_E_INVALID_MESSAGE},
        {"{\"messages\":[{\"content\":\"x\"}]}", CHATSEAL_E_INVALID_MESSAGE},
        {"[{\"role\":\"user\"}", CHATSEAL_E_MALFORMED_JSON},
        {"", CHATSEAL_E_MALFORMED_JSON},
        {"[{\"role\":\"user\",\"role\":\"assistant\"}]",
         CHATSEAL_E_DUPLICATE_KEY},
        {"{\"messages\":[],\"messages\":[]}", CHATSEAL_E_DUPLICATE_KEY},
        {"[{\"role\":\"\\ud800\"}]", CHATSEAL_E_LONE_SURROGATE},
        {"[{\"role\":\"a\x01\"}]", CHATSEAL_E_CONTROL_CHARACTER},
        {"[{\"role\":\"\xff\"}]", CHATSEAL_E_INVALID_UTF8},
        {"[{\"role\":\"user\",\"n\":1e999}]", CHATSEAL_E_INVALID_NUMBER},
        {"[] []", CHATSEAL_E_TRAILING_DATA},
        /* JSON errors come before message errors, wherever they are */
        {"[1, {\"a\":1,\"a\":2}]", CHATSEAL_E_DUPLICATE_KEY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        chatseal_conv *conv;
        chatseal_error e = parse(cases[i].json, &conv);
        CHECK(e == cases[i].code, "case %zu %s: %s, want %s", i, cases[i].json,
              chatseal_error_name(e), chatseal_error_name(cases[i].code));
        CHECK(conv == NULL, "case %zu: conv not NULL on failure", i);
        if (!e)
            chatseal_conv_free(conv);
    }
    chatseal_conv *conv = NULL;
    CHECK_ERR(chatseal_conv_parse(NULL, 2, NULL, &conv),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_conv_parse("[]", 2, NULL, NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
}

static void limits(void)
{
    const char *three = "[{\"role\":\"a\"},{\"role\":\"b\"},{\"role\":\"c\"}]";
    chatseal_limits l = CHATSEAL_LIMITS_INIT;
    l.max_messages = 2;
    chatseal_conv *conv = (chatseal_conv *)&l;
    CHECK_ERR(chatseal_conv_parse(three, strlen(three), &l, &conv),
              CHATSEAL_E_TOO_MANY_MESSAGES);
    CHECK(conv == NULL, "conv on too_many_messages");
    l.max_messages = 3;
    CHECK_ERR(chatseal_conv_parse(three, strlen(three), &l, &conv),
              CHATSEAL_OK);
    chatseal_conv_free(conv);
    /* the default limit is CHATSEAL_MAX_MESSAGES_DEFAULT */
    size_t n = CHATSEAL_MAX_MESSAGES_DEFAULT + 1, len = 2 + n * 13;
    char *big = malloc(len + 1), *p = big;
    *p++ = '[';
    for (size_t i = 0; i < n; i++)
        p += snprintf(p, len + 1 - (size_t)(p - big), "%s{\"role\":\"u\"}",
                      i ? "," : "");
    *p++ = ']';
    CHECK_ERR(chatseal_conv_parse(big, (size_t)(p - big), NULL, &conv),
              CHATSEAL_E_TOO_MANY_MESSAGES);
    /* exactly the default: fine (drop the first message) */
    big[13] = '[';
    CHECK_ERR(
        chatseal_conv_parse(big + 13, (size_t)(p - big) - 13, NULL, &conv),
        CHATSEAL_OK);
    CHECK(conv && chatseal_conv_count(conv) == CHATSEAL_MAX_MESSAGES_DEFAULT,
          "count at the limit");
    chatseal_conv_free(conv);
    free(big);
    /* nesting: the array is depth 1, the message 2, its content 3 */
    const char *deep = "[{\"role\":\"u\",\"c\":[[1]]}]";
    chatseal_limits d = CHATSEAL_LIMITS_INIT;
    d.max_depth = 3;
    CHECK_ERR(chatseal_conv_parse(deep, strlen(deep), &d, &conv),
              CHATSEAL_E_TOO_DEEP);
    d.max_depth = 4;
    CHECK_ERR(chatseal_conv_parse(deep, strlen(deep), &d, &conv), CHATSEAL_OK);
    chatseal_conv_free(conv);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"array_conversation", array_conversation},
        {"object_conversation", object_conversation},
        {"append_errors", append_errors},
        {"parse_errors", parse_errors},
        {"limits", limits},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
