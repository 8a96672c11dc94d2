/*
 * test_fastcanon.c -- the fast canonicalizer (src/lib/fastcanon.c) against
 * the RFC 8785 vectors, a table of tricky and malformed inputs, and, as a
 * differential test, against the reference (jansson) path of the library:
 * same accept/reject, same error code, same bytes, on random documents and
 * on random mutations of them.  The AVX2 and portable string scanners are
 * compared with each other the same way, and the conversation scan with
 * the plain canonicalizer.
 *
 * Deterministic: a fixed-seed PRNG; CHATSEAL_TEST_ITERS scales the random
 * part (default 20000 documents + 20000 mutations).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatseal.h"
#include "fastcanon.h"
#include "reference.h"

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);               \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

/* ---------------------------------------------------------------- util -- */

struct buf {
    char *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b = {0};
    char tmp[4096];
    size_t r;
    if (!f)
        return NULL;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
        put(&b, tmp, r);
    fclose(f);
    if (!b.p)
        put(&b, "", 0);
    *len = b.n;
    return b.p;
}

static void show(const char *in, size_t n)
{
    size_t i;
    for (i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static uint32_t below(uint32_t n)
{
    return rnd() % n;
}

/* ------------------------------------------------------- the two paths -- */

/* Fast path, SIMD as configured; returns error, output in *out. */
static chatseal_error fast(cs_fc *fc, const char *in, size_t n,
                           const char **out, size_t *out_len)
{
    chatseal_error e = cs_fc_canonicalize(fc, in, n, 0, NULL, NULL);
    *out = cs_fc_output(fc, out_len);
    return e;
}

/*
 * Compares the reference path, the fast path with AVX2 and the portable fast
 * path on one input.  Returns the reference's verdict.
 */
static chatseal_error differential(cs_fc *simd, cs_fc *port, const char *in,
                                   size_t n)
{
    char *ref = NULL;
    size_t ref_len = 0, l1, l2;
    const char *o1, *o2;
    chatseal_error er = cs_canonicalize_reference(in, n, 0, &ref, &ref_len);
    chatseal_error e1 = fast(simd, in, n, &o1, &l1);
    chatseal_error e2 = fast(port, in, n, &o2, &l2);
    if (e1 != er || e2 != er) {
        failures++;
        fprintf(stderr, "FAIL verdict: reference %s, fast %s, portable %s: ",
                chatseal_error_name(er), chatseal_error_name(e1),
                chatseal_error_name(e2));
        show(in, n);
    } else if (er == CHATSEAL_OK &&
               (l1 != ref_len || memcmp(o1, ref, ref_len) != 0 ||
                l2 != ref_len || memcmp(o2, ref, ref_len) != 0)) {
        failures++;
        fprintf(stderr, "FAIL bytes differ for: ");
        show(in, n);
        fprintf(stderr, "  reference: ");
        show(ref, ref_len);
        fprintf(stderr, "  fast:      ");
        show(o1, l1);
    }
    chatseal_free(ref);
    return er;
}

/* ---------------------------------------------------------- RFC 8785 -- */

static void test_rfc8785(cs_fc *fc)
{
    static const char *names[] = {"arrays",  "french", "structures",
                                  "unicode", "values", "weird"};
    const char *src = getenv("CHATSEAL_SRC");
    size_t i;
    char path[4096];
    if (!src)
        src = ".";
    for (i = 0; i < sizeof names / sizeof *names; i++) {
        size_t in_len, exp_len, out_len;
        char *in, *exp;
        const char *out;
        chatseal_error e;
        snprintf(path, sizeof path, "%s/tests/data/jcs-rfc8785/input/%s.json",
                 src, names[i]);
        in = read_file(path, &in_len);
        snprintf(path, sizeof path, "%s/tests/data/jcs-rfc8785/output/%s.json",
                 src, names[i]);
        exp = read_file(path, &exp_len);
        CHECK(in && exp, "cannot read vector %s", names[i]);
        if (!in || !exp)
            continue;
        e = fast(fc, in, in_len, &out, &out_len);
        CHECK(e == CHATSEAL_OK && out_len == exp_len &&
                  memcmp(out, exp, exp_len) == 0,
              "RFC 8785 vector %s", names[i]);
        {
            char *ref = NULL;
            size_t rl = 0;
            e = cs_canonicalize_reference(in, in_len, 0, &ref, &rl);
            CHECK(e == CHATSEAL_OK && rl == exp_len &&
                      memcmp(ref, exp, exp_len) == 0,
                  "RFC 8785 vector %s (reference)", names[i]);
            chatseal_free(ref);
        }
        free(in);
        free(exp);
    }
}

/* ------------------------------------------------------ tricky cases -- */

struct tcase {
    const char *in;
    size_t len; /* 0: strlen */
    chatseal_error want;
    const char *out; /* expected canonical bytes when want == OK */
};

#define OK CHATSEAL_OK
#define MAL CHATSEAL_E_MALFORMED_JSON
#define DUP CHATSEAL_E_DUPLICATE_KEY
#define UTF CHATSEAL_E_INVALID_UTF8
#define LONE CHATSEAL_E_LONE_SURROGATE
#define CTL CHATSEAL_E_CONTROL_CHARACTER
#define DEEP CHATSEAL_E_TOO_DEEP
#define NUM CHATSEAL_E_INVALID_NUMBER
#define TRAIL CHATSEAL_E_TRAILING_DATA

static const struct tcase cases[] = {
    /* values and numbers (RFC 8785 §3.2.2.3 and ECMAScript) */
    {"[1.0, 1e21, 1e20, 0.000001, 1e-7, -0, -0.0, 0]", 0, OK,
     "[1,1e+21,100000000000000000000,0.000001,1e-7,0,0,0]"},
    {"18446744073709551617", 0, OK, "18446744073709552000"},
    {"9007199254740993", 0, OK, "9007199254740992"},
    {"[5e-324, 1.7976931348623157e308, 2.2250738585072014e-308]", 0, OK,
     "[5e-324,1.7976931348623157e+308,2.2250738585072014e-308]"},
    {"[0.1, 4.35, 100e-2, 1E2, 123456789012345678901234567890]", 0, OK,
     "[0.1,4.35,1,100,1.2345678901234568e+29]"},
    {"[333333333.33333329, 1e-400, -1e-400]", 0, OK, "[333333333.3333333,0,0]"},
    {"[1e400]", 0, NUM, NULL},
    {"-1e999", 0, NUM, NULL},
    {"[01]", 0, MAL, NULL},
    {"[-]", 0, MAL, NULL},
    {"[1.]", 0, MAL, NULL},
    {"[.5]", 0, MAL, NULL},
    {"[+1]", 0, MAL, NULL},
    {"[1e]", 0, MAL, NULL},
    {"[1e+]", 0, MAL, NULL},
    {"[NaN]", 0, MAL, NULL},
    {"[Infinity]", 0, MAL, NULL},
    {"[true, false, null]", 0, OK, "[true,false,null]"},
    {"[truex]", 0, MAL, NULL},
    {"[tru]", 0, MAL, NULL},
    /* strings */
    {"\"\\u00e9\\u20ac\\ud83d\\ude00\"", 0, OK,
     "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
    {"\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"", 0, OK, "\"/\\b\\f\\n\\r\\t\\\"\\\\\""},
    {"\"\\u0000\\u001f\\u007f\\u2028\\u0022\\u005C\"", 0, OK,
     "\"\\u0000\\u001f\x7f\xe2\x80\xa8\\\"\\\\\""},
    {"\"\\ud800\"", 0, LONE, NULL},
    {"\"\\udc00\"", 0, LONE, NULL},
    {"\"\\ud800\\u0041\"", 0, LONE, NULL},
    {"\"\\ud800\\ud800\"", 0, LONE, NULL},
    {"\"a\x01\"", 0, CTL, NULL},
    {"\"a\nb\"", 0, CTL, NULL},
    {"\"a\0b\"", 5, CTL, NULL},
    {"\"\\x\"", 0, MAL, NULL},
    {"\"\\u12G4\"", 0, MAL, NULL},
    {"\"abc", 0, MAL, NULL},
    {"\"\xff\"", 0, UTF, NULL},
    {"\"\xc3\"", 0, UTF, NULL},
    {"\"\xc0\x80\"", 0, UTF, NULL},
    {"\"\xe0\x80\x80\"", 0, UTF, NULL},
    {"\"\xed\xa0\x80\"", 0, UTF, NULL},
    {"\"\xf0\x80\x80\x80\"", 0, UTF, NULL},
    {"\"\xf4\x90\x80\x80\"", 0, UTF, NULL},
    {"\"\xe2\x82\"", 0, UTF, NULL},
    {"\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"", 0, OK,
     "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\""},
    /* objects: order by UTF-16 code units, duplicates after unescaping */
    {"{\"b\":1,\"a\":2,\"\":3}", 0, OK, "{\"\":3,\"a\":2,\"b\":1}"},
    {"{\"\\ufb33\":1,\"\\ud83d\\ude00\":2,\"\\u00e9\":3}", 0, OK,
     "{\"\xc3\xa9\":3,\"\xf0\x9f\x98\x80\":2,\"\xef\xac\xb3\":1}"},
    {"{\"a\":1,\"a\":2}", 0, DUP, NULL},
    {"{\"a\":1,\"\\u0061\":2}", 0, DUP, NULL},
    {"{\"a\\\"\":1,\"a\\u0022\":2}", 0, DUP, NULL},
    {"{\"x\":{\"a\":1,\"a\":2}}", 0, DUP, NULL},
    {"[{\"a\":1},{\"a\":1}]", 0, OK, "[{\"a\":1},{\"a\":1}]"},
    /* structure */
    {"", 0, MAL, NULL},
    {" \t\r\n", 0, MAL, NULL},
    {"{", 0, MAL, NULL},
    {"[1,]", 0, MAL, NULL},
    {"{\"a\":1,}", 0, MAL, NULL},
    {"{\"a\" 1}", 0, MAL, NULL},
    {"{1:2}", 0, MAL, NULL},
    {"[1 2]", 0, MAL, NULL},
    {"\xef\xbb\xbf{}", 0, MAL, NULL},
    {" {\"a\" : [ 1 , { } , [ ] ] } ", 0, OK, "{\"a\":[1,{},[]]}"},
    {"1 2", 0, TRAIL, NULL},
    {"{} {}", 0, TRAIL, NULL},
    {"[]]", 0, TRAIL, NULL},
    {"\"a\"x", 0, TRAIL, NULL},
    /* raw NUL bytes: never dropped (jansson loses one it reads ahead, the
     * reference path works around that) */
    {"[1\0]", 4, MAL, NULL},
    {"1\0", 2, TRAIL, NULL},
    {"[true\0]", 7, MAL, NULL},
    {"\0", 1, MAL, NULL},
    /* U+0000 in a member name: malformed_json (jansson cannot hold it);
     * in a value it is fine */
    {"{\"\\u0000\":1}", 0, MAL, NULL},
    {"{\"a\":1,\"a\":2,\"\\u0000\":3}", 0, DUP, NULL},
    {"{\"a\":\"\\u0000\"}", 0, OK, "{\"a\":\"\\u0000\"}"},
    /* the first error in reading order wins */
    {"[\"\\ud800\", 1e999]", 0, LONE, NULL},
    {"[1e999, \"\\ud800\"]", 0, NUM, NULL},
    {"[\"\\ud800\x01\"]", 0, CTL, NULL},
    {"[\"\\ud800\xff\"]", 0, UTF, NULL},
    {"{\"a\":1,\"a\":\"\x01\"}", 0, DUP, NULL},
    {"[1 \"\\ud800\"]", 0, LONE, NULL},
    {"1 \"abc", 0, MAL, NULL},
    {"1 1e999", 0, NUM, NULL},
    {"1 \xff", 0, UTF, NULL},
    {"[1\xff]", 0, UTF, NULL},
};

static void test_cases(cs_fc *fc, cs_fc *port)
{
    size_t i;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct tcase *t = &cases[i];
        size_t n = t->len ? t->len : strlen(t->in), ol;
        const char *o;
        chatseal_error e = fast(fc, t->in, n, &o, &ol);
        CHECK(e == t->want, "case %zu: want %s, got %s", i,
              chatseal_error_name(t->want), chatseal_error_name(e));
        if (e == OK && t->out)
            CHECK(ol == strlen(t->out) && memcmp(o, t->out, ol) == 0,
                  "case %zu: bytes", i);
        differential(fc, port, t->in, n);
    }
}

static void test_depth(cs_fc *fc, cs_fc *port)
{
    struct buf b = {0};
    int i;
    const char *o;
    size_t ol;
    for (i = 0; i < 64; i++)
        puts_(&b, "[");
    for (i = 0; i < 64; i++)
        puts_(&b, "]");
    CHECK(fast(fc, b.p, b.n, &o, &ol) == OK, "64 levels are fine");
    differential(fc, port, b.p, b.n);
    b.n = 0;
    for (i = 0; i < 65; i++)
        puts_(&b, "[");
    for (i = 0; i < 65; i++)
        puts_(&b, "]");
    CHECK(fast(fc, b.p, b.n, &o, &ol) == DEEP, "65 levels are too deep");
    differential(fc, port, b.p, b.n);
    b.n = 0;
    for (i = 0; i < 65; i++)
        puts_(&b, "{\"a\":");
    puts_(&b, "1");
    for (i = 0; i < 65; i++)
        puts_(&b, "}");
    CHECK(fast(fc, b.p, b.n, &o, &ol) == DEEP, "65 objects are too deep");
    differential(fc, port, b.p, b.n);
    CHECK(cs_fc_canonicalize(fc, b.p, b.n, 65, NULL, NULL) == OK,
          "max_depth 65 allows 65");
    {
        /* too_deep against other errors, in reading order, at depth 2 */
        static const struct {
            const char *in;
            chatseal_error want;
        } dc[] = {
            {"[[1]]", OK},
            {"[[[1]]]", DEEP},
            {"[[[", DEEP},
            {"[[{}]]", DEEP},
            {"[\"\\ud800\",[[1]]]", LONE},
            {"[[1],[[\"\\ud800\"]]]", DEEP},
            {"{\"a\":1,\"a\":[[1]]}", DUP},
            {"{\"a\" [[1]]}", MAL},
            {"[[1 [", MAL},
            {"[] [[[", TRAIL},
            {"[\"[[[\\\"[[\"]", OK},
            {"[\"\\\\\",[[1]]]", DEEP},
        };
        for (i = 0; i < (int)(sizeof dc / sizeof *dc); i++) {
            char *ref = NULL;
            size_t n = strlen(dc[i].in), rl = 0;
            chatseal_error e =
                cs_fc_canonicalize(fc, dc[i].in, n, 2, NULL, NULL);
            chatseal_error er =
                cs_canonicalize_reference(dc[i].in, n, 2, &ref, &rl);
            CHECK(e == dc[i].want && er == dc[i].want,
                  "depth case %d: want %s, fast %s, reference %s", i,
                  chatseal_error_name(dc[i].want), chatseal_error_name(e),
                  chatseal_error_name(er));
            chatseal_free(ref);
        }
    }
    /* 100000 levels: no recursion, a clean too_deep */
    b.n = 0;
    for (i = 0; i < 100000; i++)
        puts_(&b, "[");
    CHECK(fast(fc, b.p, b.n, &o, &ol) == DEEP, "deep input");
    free(b.p);
}

/* ---------------------------------------------------------- random -- */

static void gen_string(struct buf *b)
{
    static const char *pieces[] = {"a",
                                   "Z",
                                   " ",
                                   "0",
                                   "hello",
                                   "\\n",
                                   "\\t",
                                   "\\\"",
                                   "\\\\",
                                   "\\/",
                                   "\\b",
                                   "\\f",
                                   "\\r",
                                   "\\u0000",
                                   "\\u001f",
                                   "\\u0041",
                                   "\\u00e9",
                                   "\\u20AC",
                                   "\\uFFFF",
                                   "\\ud83d\\ude00",
                                   "\\uD800\\uDC00",
                                   "\\udbff\\udfff",
                                   "\xc3\xa9",
                                   "\xe4\xb8\xad",
                                   "\xf0\x9f\x98\x80",
                                   "\xef\xbf\xbf",
                                   "\xee\x80\x80",
                                   "\xed\x9f\xbf",
                                   "\xf4\x8f\xbf\xbf",
                                   "\x7f",
                                   "\xe2\x80\xa8",
                                   "key",
                                   "role",
                                   "content",
                                   "\\u0072ole"};
    size_t n = below(8), i;
    put(b, "\"", 1);
    if (below(10) == 0) {
        /* a long run, to exercise the 16/32-byte scanners */
        size_t k = 20 + below(200);
        for (i = 0; i < k; i++)
            puts_(b, below(5) ? "x"
                              : pieces[below(sizeof pieces / sizeof *pieces)]);
    }
    for (i = 0; i < n; i++)
        puts_(b, pieces[below(sizeof pieces / sizeof *pieces)]);
    put(b, "\"", 1);
}

static void gen_number(struct buf *b)
{
    static const char *special[] = {"0",
                                    "-0",
                                    "0.0",
                                    "-0.0",
                                    "1E2",
                                    "1e-7",
                                    "1e21",
                                    "1e20",
                                    "0.000001",
                                    "5e-324",
                                    "1.7976931348623157e308",
                                    "2.2250738585072014e-308",
                                    "9007199254740993",
                                    "18446744073709551617",
                                    "4.35",
                                    "0.1",
                                    "1e+21",
                                    "100e-2",
                                    "123456789012345678901234567890",
                                    "1e400",
                                    "-1e-400",
                                    "999999999999999",
                                    "9999999999999999",
                                    "0.30000000000000004"};
    char tmp[64];
    switch (below(5)) {
    case 0:
        snprintf(tmp, sizeof tmp, "%d", (int)below(2000000) - 1000000);
        break;
    case 1:
        snprintf(tmp, sizeof tmp, "%s%u.%u", below(2) ? "-" : "", below(1000),
                 below(100000));
        break;
    case 2:
        snprintf(tmp, sizeof tmp, "%u%se%s%u", below(100), below(2) ? ".5" : "",
                 below(2) ? "-" : "+", below(330));
        break;
    case 3: {
        uint64_t bits = ((uint64_t)rnd() << 32) | rnd();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (d != d || d - d != 0)
            d = 1.5;
        snprintf(tmp, sizeof tmp, "%.17g", d);
        break;
    }
    default:
        snprintf(tmp, sizeof tmp, "%s",
                 special[below(sizeof special / sizeof *special)]);
    }
    puts_(b, tmp);
}

static void ws(struct buf *b)
{
    static const char *w[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    puts_(b, w[below(7)]);
}

static void gen_value(struct buf *b, int depth)
{
    uint32_t c = below(10);
    size_t i, n;
    if (depth > 5 || c < 4) {
        c = below(10);
        if (c < 4)
            gen_string(b);
        else if (c < 8)
            gen_number(b);
        else
            puts_(b, c == 8 ? "true" : below(2) ? "false" : "null");
        return;
    }
    n = below(6);
    if (c < 7) {
        put(b, "[", 1);
        for (i = 0; i < n; i++) {
            if (i)
                put(b, ",", 1);
            ws(b);
            gen_value(b, depth + 1);
            ws(b);
        }
        put(b, "]", 1);
        return;
    }
    put(b, "{", 1);
    for (i = 0; i < n; i++) {
        if (i)
            put(b, ",", 1);
        ws(b);
        gen_string(b);
        ws(b);
        put(b, ":", 1);
        ws(b);
        gen_value(b, depth + 1);
        ws(b);
    }
    put(b, "}", 1);
}

static void mutate(struct buf *b)
{
    static const char *tokens[] = {"\"",
                                   "\\",
                                   "{",
                                   "}",
                                   "[",
                                   "]",
                                   ",",
                                   ":",
                                   "\\u",
                                   "\\ud800",
                                   "\\udc00",
                                   "\x00",
                                   "\x01",
                                   "\n",
                                   "\x80",
                                   "\xc3",
                                   "\xed\xa0\x80",
                                   "\xf4\x90",
                                   "\xff",
                                   "0",
                                   "-",
                                   ".",
                                   "e",
                                   "1e999",
                                   "true",
                                   "nul",
                                   " ",
                                   "\"a\":1",
                                   "{\"a\":1,\"a\":2}",
                                   "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["};
    uint32_t ops = 1 + below(3), k;
    for (k = 0; k < ops && b->n; k++) {
        size_t at = below((uint32_t)b->n + 1);
        const char *t = tokens[below(sizeof tokens / sizeof *tokens)];
        size_t tl = strlen(t) ? strlen(t) : 1;
        switch (below(4)) {
        case 0: /* delete a span */
            if (at < b->n) {
                size_t d = 1 + below(4);
                if (at + d > b->n)
                    d = b->n - at;
                memmove(b->p + at, b->p + at + d, b->n - at - d);
                b->n -= d;
            }
            break;
        case 1:            /* insert a token */
            put(b, t, tl); /* grow */
            b->n -= tl;
            memmove(b->p + at + tl, b->p + at, b->n - at);
            memcpy(b->p + at, t, tl);
            b->n += tl;
            break;
        case 2: /* overwrite a byte */
            if (at < b->n)
                b->p[at] = t[0];
            break;
        default: /* truncate */
            b->n = at;
        }
    }
}

static void test_random(cs_fc *fc, cs_fc *port, long iters)
{
    long i, accepted = 0, mutated_ok = 0;
    struct buf b = {0};
    for (i = 0; i < iters; i++) {
        b.n = 0;
        ws(&b);
        gen_value(&b, 0);
        ws(&b);
        if (differential(fc, port, b.p, b.n) == OK)
            accepted++;
        mutate(&b);
        if (differential(fc, port, b.p, b.n) == OK)
            mutated_ok++;
        if (failures > 20)
            break;
    }
    printf("random: %ld documents (%ld accepted), %ld mutations (%ld "
           "accepted)\n",
           i, accepted, i, mutated_ok);
    CHECK(accepted > iters / 4, "the generator makes valid documents");
    free(b.p);
}

/* ------------------------------------------------------ conversations -- */

struct seen {
    size_t n;
    struct buf canon, roles;
};

static int on_msg(void *ctx, size_t index, const char *canon, size_t len,
                  const char *role, size_t role_len)
{
    struct seen *s = ctx;
    if (index != s->n)
        return 1;
    s->n++;
    put(&s->canon, canon, len);
    put(&s->canon, "\n", 1);
    put(&s->roles, role, role_len);
    put(&s->roles, ";", 1);
    return 0;
}

static void test_conv(cs_fc *fc)
{
    static const char body[] =
        "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"system\","
        "\"content\":\"s\"},{\"content\":\"hi\",\"role\":\"\\u0075ser\","
        "\"name\":\"x\"}],\"chatseal_token\":\"cs1.x\"}";
    struct seen s = {0};
    size_t n = 0, nm, i, len;
    const cs_fc_member *m;
    const char *out;
    chatseal_error e =
        cs_fc_conv_scan(fc, body, sizeof body - 1, 0, 0, on_msg, &s, &n);
    CHECK(e == OK && n == 2 && s.n == 2, "conversation object: %s",
          chatseal_error_name(e));
    CHECK(s.canon.p &&
              strcmp(s.canon.p, "{\"content\":\"s\",\"role\":\"system\"}\n"
                                "{\"content\":\"hi\",\"name\":\"x\",\"role\":"
                                "\"user\"}\n") == 0,
          "message canonical bytes");
    CHECK(s.roles.p && strcmp(s.roles.p, "system;user;") == 0, "roles");
    out = cs_fc_output(fc, &len);
    nm = cs_fc_root_members(fc, &m);
    CHECK(nm == 4, "4 top-level members");
    for (i = 0; i < nm; i++) {
        if (m[i].name_len == 6 && memcmp(m[i].name, "stream", 6) == 0)
            CHECK(m[i].value_len == 4 &&
                      memcmp(out + m[i].value_off, "true", 4) == 0,
                  "stream member");
        if (m[i].name_len == 14 && memcmp(m[i].name, "chatseal_token", 14) == 0)
            CHECK(m[i].value_len == 7 &&
                      memcmp(out + m[i].value_off, "\"cs1.x\"", 7) == 0,
                  "token member");
    }
    {
        /* the conversation's canonical text is the plain canonical text */
        char *ref = NULL;
        size_t rl = 0;
        CHECK(cs_canonicalize_reference(body, sizeof body - 1, 0, &ref, &rl) ==
                      OK &&
                  rl == len && memcmp(ref, out, rl) == 0,
              "conversation canonical text");
        chatseal_free(ref);
    }
    {
        /* the root members outlive cs_fc_take_output (what conv.c does:
         * take the text, then read the members out of it) */
        size_t tl = 0;
        char *taken = cs_fc_take_output(fc, &tl);
        const cs_fc_member *tm = NULL;
        size_t tn = cs_fc_root_members(fc, &tm);
        CHECK(taken && tl == len && tn == 4 && tm, "members after take");
        for (i = 0; taken && i < tn; i++)
            if (tm[i].name_len == 5 && memcmp(tm[i].name, "model", 5) == 0)
                CHECK(tm[i].value_len == 3 &&
                          memcmp(taken + tm[i].value_off, "\"m\"", 3) == 0,
                      "model member after take");
        free(taken);
        CHECK(cs_fc_canonicalize(fc, "[]", 2, 0, NULL, NULL) == OK &&
                  cs_fc_root_members(fc, &tm) == 0,
              "no members after the next run");
    }
    free(s.canon.p);
    free(s.roles.p);

    {
        static const struct {
            const char *in;
            chatseal_error want;
            size_t n;
        } cv[] = {
            {"[]", OK, 0},
            {"[{\"role\":\"user\"}]", OK, 1},
            {"{\"messages\":[]}", OK, 0},
            {"{\"model\":\"x\"}", CHATSEAL_E_INVALID_REQUEST, 0},
            {"{\"messages\":{}}", CHATSEAL_E_INVALID_REQUEST, 0},
            {"\"x\"", CHATSEAL_E_INVALID_REQUEST, 0},
            {"[1]", CHATSEAL_E_INVALID_MESSAGE, 0},
            {"[{\"content\":\"x\"}]", CHATSEAL_E_INVALID_MESSAGE, 0},
            {"[{\"role\":1}]", CHATSEAL_E_INVALID_MESSAGE, 0},
            {"[{\"role\":[\"user\"]}]", CHATSEAL_E_INVALID_MESSAGE, 0},
            {"[{\"role\":\"user\"},{\"role\":1}", MAL, 0},
            {"[{\"role\":\"user\",\"role\":\"user\"}]", DUP, 0},
        };
        for (i = 0; i < sizeof cv / sizeof *cv; i++) {
            e = cs_fc_conv_scan(fc, cv[i].in, strlen(cv[i].in), 0, 0, NULL,
                                NULL, &n);
            CHECK(e == cv[i].want && n == cv[i].n, "conv case %zu: %s", i,
                  chatseal_error_name(e));
        }
        {
            static const char two[] = "[{\"role\":\"a\"},{\"role\":\"b\"}]";
            e = cs_fc_conv_scan(fc, two, sizeof two - 1, 0, 1, NULL, NULL, &n);
        }
        CHECK(e == CHATSEAL_E_TOO_MANY_MESSAGES, "max_messages: %s",
              chatseal_error_name(e));
    }
}

/* ------------------------------------------------------ streaming -- */

static int collect(void *ctx, const char *bytes, size_t len)
{
    put(ctx, bytes, len);
    return 0;
}

static int refuse(void *ctx, const char *bytes, size_t len)
{
    (void)ctx;
    (void)bytes;
    (void)len;
    return 1;
}

static void test_stream(cs_fc *fc)
{
    /* a large top-level array is streamed in chunks; same bytes */
    struct buf in = {0}, got = {0};
    const char *o;
    size_t ol, i;
    puts_(&in, "[");
    for (i = 0; i < 20000; i++) {
        if (i)
            puts_(&in, ", ");
        puts_(&in, "{\"b\":1.50,\"a\":\"\\u00e9 text\"}");
    }
    puts_(&in, "]");
    CHECK(cs_fc_canonicalize(fc, in.p, in.n, 0, collect, &got) == OK,
          "streamed");
    CHECK(fast(fc, in.p, in.n, &o, &ol) == OK && ol == got.n &&
              memcmp(o, got.p, ol) == 0,
          "streamed bytes == buffered bytes");
    CHECK(cs_fc_canonicalize(fc, in.p, in.n, 0, refuse, NULL) == CHATSEAL_E_IO,
          "a sink error is io_error");
    free(in.p);
    free(got.p);
}

int main(void)
{
    cs_fc *fc = cs_fc_new(), *port = cs_fc_new();
    const char *it = getenv("CHATSEAL_TEST_ITERS");
    long iters = it ? atol(it) : 20000;
    if (!fc || !port)
        return 1;
    cs_fc_set_simd(port, 0);
    printf("AVX2 string scanner: %s\n",
           cs_fc_set_simd(fc, 1) ? "in use" : "not available");
    test_rfc8785(fc);
    test_cases(fc, port);
    test_depth(fc, port);
    test_conv(fc);
    test_stream(fc);
    test_random(fc, port, iters);
    cs_fc_free(fc);
    cs_fc_free(port);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
