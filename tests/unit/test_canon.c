/*
 * test_canon.c -- chatseal_canonicalize and chatseal_canonicalize_to through
 * the public API (FORMAT.md section 1).
 *
 * Tables of (input, canonical bytes) and (input, error code) written from
 * RFC 8785 and the strict-input table of FORMAT.md, the RFC 8785 test files
 * in tests/data, the depth limit and its parameter, the streaming sink
 * (chunks concatenate to the same bytes; a refusing sink is io_error) and
 * argument checks.  The fast canonicalizer's internals have their own test
 * (test_fastcanon.c); this one only pins what callers see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tu.h"

static const struct {
    const char *in, *out;
} ACCEPT[] = {
    {"1.0", "1"},
    {"-0", "0"},
    {"-0.0", "0"},
    {"1e21", "1e+21"},
    {"1E21", "1e+21"},
    {"1e20", "100000000000000000000"},
    {"0.000001", "0.000001"},
    {"1e-7", "1e-7"},
    {"1.5e-7", "1.5e-7"},
    {"123e-20", "1.23e-18"},
    {"18446744073709551617", "18446744073709552000"},
    {"9007199254740993", "9007199254740992"},
    {"5e-324", "5e-324"},
    {"1.7976931348623157e308", "1.7976931348623157e+308"},
    {"0.30000000000000004", "0.30000000000000004"},
    {"4.50", "4.5"},
    {"100E-2", "1"},
    {"[1.0,2.50,-3e0]", "[1,2.5,-3]"},
    {" \t\r\n[ 1 , { } , [ ] , \"\" ] \n", "[1,{},[],\"\"]"},
    {"true", "true"},
    {"null", "null"},
    {"\"\\u00e9\"", "\"\xc3\xa9\""},
    {"\"\\u00E9\"", "\"\xc3\xa9\""},
    {"\"\\/\"", "\"/\""},
    {"\"\\u2028\\u007f\"", "\"\xe2\x80\xa8\x7f\""},
    {"\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""},
    {"\"\\b\\f\\n\\r\\t\"", "\"\\b\\f\\n\\r\\t\""},
    {"\"\\u0008\\u000C\"", "\"\\b\\f\""},
    {"\"\\u0000\\u001F\\u000b\"", "\"\\u0000\\u001f\\u000b\""},
    {"\"\\\"\\\\\"", "\"\\\"\\\\\""},
    {"{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}"},
    /* UTF-16 order: U+1F600 (D83D DE00) sorts before U+FB33 */
    {"{\"\\ufb33\":1,\"\\ud83d\\ude00\":2}",
     "{\"\xf0\x9f\x98\x80\":2,\"\xef\xac\xb3\":1}"},
    {"{\"aa\":1,\"a\":2,\"\":3,\"A\":4}", "{\"\":3,\"A\":4,\"a\":2,\"aa\":1}"},
    {"{\"a\":{\"d\":1,\"c\":[{\"f\":1,\"e\":2}]}}",
     "{\"a\":{\"c\":[{\"e\":2,\"f\":1}],\"d\":1}}"},
    /* escaped U+0000 is valid JSON in values (names: see the reject table) */
    {"{\"a\":\"\\u0000\"}", "{\"a\":\"\\u0000\"}"},
};

static const struct {
    const char *in;
    size_t len; /* 0: strlen */
    chatseal_error code;
} REJECT[] = {
    {"{\"a\":1,\"a\":2}", 0, CHATSEAL_E_DUPLICATE_KEY},
    {"{\"a\":1,\"\\u0061\":2}", 0, CHATSEAL_E_DUPLICATE_KEY},
    {"[{\"x\":{\"k\":1,\"k\":1}}]", 0, CHATSEAL_E_DUPLICATE_KEY},
    {"\"\xff\"", 0, CHATSEAL_E_INVALID_UTF8},
    {"\"\xc0\xaf\"", 0, CHATSEAL_E_INVALID_UTF8},
    {"\"\xe0\x80\xaf\"", 0, CHATSEAL_E_INVALID_UTF8},
    {"\"\xed\xa0\x80\"", 0, CHATSEAL_E_INVALID_UTF8},
    {"\"\xf4\x90\x80\x80\"", 0, CHATSEAL_E_INVALID_UTF8},
    {"\"\xe2\x82\"", 0, CHATSEAL_E_INVALID_UTF8},
    {"\"\x80\"", 0, CHATSEAL_E_INVALID_UTF8},
    {"\"\\ud800\"", 0, CHATSEAL_E_LONE_SURROGATE},
    {"\"\\udc00\"", 0, CHATSEAL_E_LONE_SURROGATE},
    {"\"\\udc00\\ud800\"", 0, CHATSEAL_E_LONE_SURROGATE},
    {"\"\\ud800\\u0041\"", 0, CHATSEAL_E_LONE_SURROGATE},
    {"{\"\\ud800\":1}", 0, CHATSEAL_E_LONE_SURROGATE},
    {"\"a\x01\"", 0, CHATSEAL_E_CONTROL_CHARACTER},
    {"\"\x1f\"", 0, CHATSEAL_E_CONTROL_CHARACTER},
    {"\"a\nb\"", 0, CHATSEAL_E_CONTROL_CHARACTER},
    {"\"\0\"", 3, CHATSEAL_E_CONTROL_CHARACTER},
    {"1e400", 0, CHATSEAL_E_INVALID_NUMBER},
    {"-1e999", 0, CHATSEAL_E_INVALID_NUMBER},
    {"[1e309]", 0, CHATSEAL_E_INVALID_NUMBER},
    {"[1] [2]", 0, CHATSEAL_E_TRAILING_DATA},
    {"{} x", 0, CHATSEAL_E_TRAILING_DATA},
    {"null null", 0, CHATSEAL_E_TRAILING_DATA},
    {"", 0, CHATSEAL_E_MALFORMED_JSON},
    /* U+0000 in a member name: a parser differential (FORMAT.md 1) */
    {"{\"\\u0000\":1}", 0, CHATSEAL_E_MALFORMED_JSON},
    {"{\"a\\u0000b\":\"\\u0000\"}", 0, CHATSEAL_E_MALFORMED_JSON},
    {"  ", 0, CHATSEAL_E_MALFORMED_JSON},
    {"[1,]", 0, CHATSEAL_E_MALFORMED_JSON},
    {"{\"a\":1,}", 0, CHATSEAL_E_MALFORMED_JSON},
    {"{\"a\" 1}", 0, CHATSEAL_E_MALFORMED_JSON},
    {"NaN", 0, CHATSEAL_E_MALFORMED_JSON},
    {"[Infinity]", 0, CHATSEAL_E_MALFORMED_JSON},
    {"'a'", 0, CHATSEAL_E_MALFORMED_JSON},
    {"[\"a\"", 0, CHATSEAL_E_MALFORMED_JSON},
    {"{\"a\":tru}", 0, CHATSEAL_E_MALFORMED_JSON},
    {"\"\\x41\"", 0, CHATSEAL_E_MALFORMED_JSON},
    {"\"\\u12\"", 0, CHATSEAL_E_MALFORMED_JSON},
    {"[.5]", 0, CHATSEAL_E_MALFORMED_JSON},
    {"[1.]", 0, CHATSEAL_E_MALFORMED_JSON},
    {"[+1]", 0, CHATSEAL_E_MALFORMED_JSON},
    {"[1e]", 0, CHATSEAL_E_MALFORMED_JSON},
};

static void accepted(void)
{
    for (size_t i = 0; i < sizeof ACCEPT / sizeof *ACCEPT; i++) {
        char *out = NULL;
        size_t n = 99;
        chatseal_error e = chatseal_canonicalize(
            ACCEPT[i].in, strlen(ACCEPT[i].in), 0, &out, &n);
        CHECK(e == CHATSEAL_OK, "%s: %s", ACCEPT[i].in, chatseal_error_name(e));
        if (e)
            continue;
        CHECK(n == strlen(ACCEPT[i].out) && memcmp(out, ACCEPT[i].out, n) == 0,
              "%s: got %.*s, want %s", ACCEPT[i].in, (int)n, out,
              ACCEPT[i].out);
        CHECK(out[n] == '\0', "not NUL-terminated");
        /* canonical text is a fixed point */
        char *again = NULL;
        size_t m = 0;
        CHECK_ERR(chatseal_canonicalize(out, n, 0, &again, &m), CHATSEAL_OK);
        CHECK(again && m == n && memcmp(again, out, n) == 0,
              "not idempotent: %s", out);
        chatseal_free(again);
        chatseal_free(out);
    }
}

static void rejected(void)
{
    for (size_t i = 0; i < sizeof REJECT / sizeof *REJECT; i++) {
        size_t len = REJECT[i].len ? REJECT[i].len : strlen(REJECT[i].in);
        char *out = (char *)"sentinel";
        size_t n = 99;
        chatseal_error e =
            chatseal_canonicalize(REJECT[i].in, len, 0, &out, &n);
        CHECK(e == REJECT[i].code, "case %zu (%.20s): %s, want %s", i,
              REJECT[i].in, chatseal_error_name(e),
              chatseal_error_name(REJECT[i].code));
        CHECK(out == NULL, "case %zu: *out not NULL on error", i);
        if (e == CHATSEAL_OK)
            chatseal_free(out);
    }
}

static char *nest(size_t depth)
{
    char *s = malloc(2 * depth + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    return s;
}

static void depth_limit(void)
{
    char *out = NULL;
    size_t n;
    char *s64 = nest(64), *s65 = nest(65), *s3000 = nest(3000);
    CHECK_ERR(chatseal_canonicalize(s64, 128, 0, &out, &n), CHATSEAL_OK);
    chatseal_free(out);
    out = NULL;
    CHECK_ERR(chatseal_canonicalize(s65, 130, 0, &out, &n),
              CHATSEAL_E_TOO_DEEP);
    CHECK_ERR(chatseal_canonicalize(s3000, 6000, 0, &out, &n),
              CHATSEAL_E_TOO_DEEP);
    CHECK_ERR(chatseal_canonicalize(s65, 130, 65, &out, &n), CHATSEAL_OK);
    chatseal_free(out);
    out = NULL;
    CHECK_ERR(chatseal_canonicalize("[[1]]", 5, 1, &out, &n),
              CHATSEAL_E_TOO_DEEP);
    CHECK_ERR(chatseal_canonicalize("[[1]]", 5, 2, &out, &n), CHATSEAL_OK);
    chatseal_free(out);
    out = NULL;
    CHECK_ERR(chatseal_canonicalize("{\"a\":{\"b\":[1]}}", 15, 2, &out, &n),
              CHATSEAL_E_TOO_DEEP);
    CHECK_ERR(chatseal_canonicalize("1", 1, 1, &out, &n), CHATSEAL_OK);
    chatseal_free(out);
    free(s64);
    free(s65);
    free(s3000);
}

struct acc {
    char buf[4096];
    size_t n, calls;
    int refuse_after;
};

static int sink(void *ctx, const char *bytes, size_t len)
{
    struct acc *a = ctx;
    a->calls++;
    if (a->refuse_after >= 0 && (int)a->calls > a->refuse_after)
        return 1;
    if (a->n + len > sizeof a->buf)
        return 1;
    memcpy(a->buf + a->n, bytes, len);
    a->n += len;
    return 0;
}

static void streamed(void)
{
    for (size_t i = 0; i < sizeof ACCEPT / sizeof *ACCEPT; i++) {
        struct acc a = {.refuse_after = -1};
        CHECK_ERR(chatseal_canonicalize_to(ACCEPT[i].in, strlen(ACCEPT[i].in),
                                           0, sink, &a),
                  CHATSEAL_OK);
        CHECK(a.n == strlen(ACCEPT[i].out) &&
                  memcmp(a.buf, ACCEPT[i].out, a.n) == 0,
              "streamed %s: %.*s", ACCEPT[i].in, (int)a.n, a.buf);
    }
    /* a big array in many chunks */
    size_t len = 200000;
    char *big = malloc(len + 1);
    size_t o = 0;
    big[o++] = '[';
    while (o < len - 10)
        o += (size_t)snprintf(big + o, len + 1 - o, "%s1.0", o > 1 ? ", " : "");
    big[o++] = ']';
    char *flat = NULL;
    size_t flen;
    CHECK_ERR(chatseal_canonicalize(big, o, 0, &flat, &flen), CHATSEAL_OK);
    struct acc *a = calloc(1, sizeof *a);
    a->refuse_after = 0; /* refuse at once */
    CHECK_ERR(chatseal_canonicalize_to(big, o, 0, sink, a), CHATSEAL_E_IO);
    CHECK(a->n == 0, "bytes written after a refusal");
    free(a);
    /* errors are reported, not turned into io_error */
    struct acc b = {.refuse_after = -1};
    CHECK_ERR(chatseal_canonicalize_to("{\"a\":1,\"a\":2}", 13, 0, sink, &b),
              CHATSEAL_E_DUPLICATE_KEY);
    CHECK_ERR(chatseal_canonicalize_to("[1]", 3, 0, NULL, &b),
              CHATSEAL_E_INVALID_ARGUMENT);
    chatseal_free(flat);
    free(big);
}

static void arguments(void)
{
    char *out = NULL;
    size_t n;
    CHECK_ERR(chatseal_canonicalize(NULL, 3, 0, &out, &n),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_canonicalize("[1]", 3, 0, NULL, &n),
              CHATSEAL_E_INVALID_ARGUMENT);
    /* the length is what counts, not a NUL */
    CHECK_ERR(chatseal_canonicalize("[1] garbage", 3, 0, &out, &n),
              CHATSEAL_OK);
    CHECK(out && n == 3 && strcmp(out, "[1]") == 0, "length respected");
    chatseal_free(out);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void rfc8785_files(void)
{
    const char *src = getenv("CHATSEAL_SRC");
    static const char *const names[] = {"arrays",  "french", "structures",
                                        "unicode", "values", "weird"};
    CHECK(src != NULL, "CHATSEAL_SRC not set");
    if (!src)
        return;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char pin[1024], pout[1024];
        snprintf(pin, sizeof pin, "%s/tests/data/jcs-rfc8785/input/%s.json",
                 src, names[i]);
        snprintf(pout, sizeof pout, "%s/tests/data/jcs-rfc8785/output/%s.json",
                 src, names[i]);
        size_t ilen, olen, n;
        char *in = slurp(pin, &ilen), *want = slurp(pout, &olen), *out = NULL;
        CHECK(in && want, "cannot read %s", names[i]);
        if (in && want) {
            CHECK_ERR(chatseal_canonicalize(in, ilen, 0, &out, &n),
                      CHATSEAL_OK);
            CHECK(out && n == olen && memcmp(out, want, n) == 0, "RFC 8785 %s",
                  names[i]);
        }
        chatseal_free(out);
        free(in);
        free(want);
    }
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"accepted", accepted},       {"rejected", rejected},
        {"depth_limit", depth_limit}, {"streamed", streamed},
        {"arguments", arguments},     {"rfc8785_files", rfc8785_files},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
