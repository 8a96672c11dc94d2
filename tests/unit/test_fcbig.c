/*
 * test_fcbig.c -- the canonicalizer's fast paths for costly inputs (issue
 * 10's 3x rule) against the reference (jansson) path, byte for byte and
 * error for error, with the AVX2 and the portable string scanners:
 *
 *  - large objects (64 members and more take jobject.c's radix sort): names
 *    sharing long prefixes, names that are prefixes of others, the
 *    characters whose UTF-8 and UTF-16 orders differ (U+E000-U+FFFF against
 *    supplementary characters), escaped names (held unescaped apart),
 *    duplicates spelled alike or differently, in sorted, reversed and random
 *    order;
 *  - runs of nested arrays (fastcanon.c's bracket loops), with white space,
 *    objects and values between, at and over the depth limit, and broken;
 *  - the conversation scan's member spans: form.c's verdict and forms from
 *    the spans equal those from walking the text;
 *  - the per-thread parser (cs_fc_acquire/cs_fc_release).
 *
 * Deterministic: a fixed-seed PRNG; CHATSEAL_TEST_ITERS scales the random
 * part (default 300 objects and 2000 nestings).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatseal.h"
#include "fastcanon.h"
#include "internal.h"
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

static void show(const char *in, size_t n)
{
    for (size_t i = 0; i < n && i < 300; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

static uint64_t rng_state = 0xD1B54A32D192ED03ull;

static uint32_t below(uint32_t n)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32) % n;
}

/* Reference, AVX2 and portable paths on one input; the reference's verdict. */
static chatseal_error differential(cs_fc *simd, cs_fc *port, const char *in,
                                   size_t n)
{
    char *ref = NULL;
    size_t rl = 0, l1 = 0, l2 = 0;
    chatseal_error er = cs_canonicalize_reference(in, n, 0, &ref, &rl);
    chatseal_error e1 = cs_fc_canonicalize(simd, in, n, 0, NULL, NULL);
    chatseal_error e2 = cs_fc_canonicalize(port, in, n, 0, NULL, NULL);
    const char *o1 = cs_fc_output(simd, &l1), *o2 = cs_fc_output(port, &l2);
    if (e1 != er || e2 != er) {
        failures++;
        fprintf(stderr, "FAIL verdict: reference %s, fast %s, portable %s: ",
                chatseal_error_name(er), chatseal_error_name(e1),
                chatseal_error_name(e2));
        show(in, n);
    } else if (er == CHATSEAL_OK && (l1 != rl || memcmp(o1, ref, rl) ||
                                     l2 != rl || memcmp(o2, ref, rl))) {
        failures++;
        fprintf(stderr, "FAIL bytes differ for: ");
        show(in, n);
    }
    chatseal_free(ref);
    return er;
}

/* ------------------------------------------------------ large objects -- */

/* name pieces: ASCII, escapes, and both sides of the UTF-8/UTF-16 order
 * difference */
static const char *const piece[] = {"a",
                                    "b",
                                    "z",
                                    "0",
                                    "_",
                                    "\\n",
                                    "\\u0061",
                                    "\\u00e9",
                                    "\xc3\xa9",
                                    "\xe4\xb8\xad",
                                    "\xee\x80\x80",
                                    "\xef\xbf\xbf",
                                    "\\uE000",
                                    "\\uffff",
                                    "\xf0\x9f\x98\x80",
                                    "\\ud83d\\ude00",
                                    "\xf4\x8f\xbf\xbf",
                                    "\\udbff\\udfff",
                                    "\x7f",
                                    "conversation_metadata_attribute_"};
#define NPIECE (sizeof piece / sizeof *piece)

/* A name; with uniq (non-zero), unique in its object: uniq - 1 spelled in
 * base NPIECE with the pieces at its end. */
static void gen_name(struct buf *b, const char *prefix, int family, size_t uniq)
{
    size_t k;
    puts_(b, "\"");
    puts_(b, prefix);
    switch (family) {
    case 0: /* a short random suffix: many shared prefixes, some names
               prefixes of others, duplicates */
        for (k = below(4); k > 0; k--)
            puts_(b, piece[below(NPIECE)]);
        break;
    case 1: { /* a unique hex suffix, scrambled order */
        char t[24];
        snprintf(t, sizeof t, "%08x", below(0xFFFFFFFFu));
        puts_(b, t);
        break;
    }
    default: /* long suffixes that share 8-byte blocks */
        for (k = below(6); k > 0; k--)
            puts_(b, below(2) ? "abcdefgh" : piece[below(NPIECE)]);
    }
    for (k = uniq; k > 0; k /= NPIECE)
        puts_(b, piece[(k - 1) % NPIECE]);
    puts_(b, "\"");
}

static void test_objects(cs_fc *simd, cs_fc *port, long iters)
{
    static const char *const prefixes[] = {
        "",
        "p",
        "conversation_metadata_attribute_name_",
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
        "\\u00e9\\u00e9x",
        "\xee\x80\x80"};
    static const size_t sizes[] = {63, 64, 65, 100, 257, 1000, 3000};
    struct buf b = {0};
    long ok = 0, dup = 0;
    for (long it = 0; it < iters; it++) {
        size_t n = sizes[below(sizeof sizes / sizeof *sizes)];
        int family = (int)below(3), uniq = below(3) != 0;
        const char *pre = prefixes[below(sizeof prefixes / sizeof *prefixes)];
        chatseal_error e;
        b.n = 0;
        puts_(&b, "{");
        for (size_t i = 0; i < n; i++) {
            if (i)
                puts_(&b, below(3) ? "," : " ,\n");
            if (i == 7 && below(4) == 0)
                puts_(&b, "\"\""); /* the empty name, once */
            else
                gen_name(&b, below(8) ? pre : "", family, uniq ? i + 1 : 0);
            puts_(&b, ":");
            puts_(&b, below(4) ? "1" : "{\"y\":[2,{\"b\":0,\"a\":1}]}");
        }
        puts_(&b, "}");
        e = differential(simd, port, b.p, b.n);
        ok += e == CHATSEAL_OK;
        dup += e == CHATSEAL_E_DUPLICATE_KEY;
        if (failures > 10)
            break;
    }
    printf("large objects: %ld (%ld canonical, %ld duplicate_key)\n", iters, ok,
           dup);
    CHECK(ok > iters / 4 && dup > iters / 20, "both verdicts exercised");
    free(b.p);
}

/* Hand-made large objects: sorted, reversed, a duplicate spelled
 * differently at either end, one name the prefix of all others. */
static void test_object_cases(cs_fc *simd, cs_fc *port)
{
    struct buf b = {0};
    char t[64];
    for (int c = 0; c < 6; c++) {
        size_t n = 500;
        b.n = 0;
        puts_(&b, "{");
        if (c == 4)
            puts_(&b, "\"k\":0,");
        for (size_t i = 0; i < n; i++) {
            size_t j = c == 1 ? n - 1 - i : i;
            snprintf(t, sizeof t, "%s\"k%06zu\":%zu", i ? "," : "", j, i);
            puts_(&b, t);
        }
        if (c == 2)
            puts_(&b, ",\"\\u006b000007\":1"); /* "k000007" again */
        if (c == 3)
            puts_(&b, ",\"k000499\":1");
        if (c == 5)
            puts_(&b, ",\"k\":1,\"k\\u0000\":2"); /* U+0000 in a name */
        puts_(&b, "}");
        chatseal_error e = differential(simd, port, b.p, b.n);
        CHECK(e == (c == 2 || c == 3 ? CHATSEAL_E_DUPLICATE_KEY
                    : c == 5         ? e
                                     : CHATSEAL_OK),
              "object case %d: %s", c, chatseal_error_name(e));
    }
    /* ever longer repetitions of a block, shuffled: the radix sort's
     * degenerate splits (merge sorted), then the same with one name twice */
    for (int c = 0; c < 2; c++) {
        size_t n = 120, order[120];
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = below((uint32_t)i + 1), t2 = order[i];
            order[i] = order[j];
            order[j] = t2;
        }
        b.n = 0;
        puts_(&b, "{");
        for (size_t i = 0; i < n; i++) {
            puts_(&b, i ? ",\"k" : "\"k");
            for (size_t k = 0; k < order[i]; k++)
                puts_(&b, "abcdefgh");
            puts_(&b, "z\":1");
        }
        if (c == 1) {
            puts_(&b, ",\"k");
            for (size_t k = 0; k < 77; k++)
                puts_(&b, k == 40 ? "abcdefg\\u0068" : "abcdefgh");
            puts_(&b, "z\":2");
        }
        puts_(&b, "}");
        chatseal_error e = differential(simd, port, b.p, b.n);
        CHECK(e == (c ? CHATSEAL_E_DUPLICATE_KEY : CHATSEAL_OK),
              "spine case %d: %s", c, chatseal_error_name(e));
    }
    free(b.p);
}

/* ---------------------------------------------------------- nesting -- */

static void test_nesting(cs_fc *simd, cs_fc *port, long iters)
{
    static const char *const ws[] = {"", "", "", " ", "\n\t"};
    static const char *const leaf[] = {
        "1", "\"s\"", "{}", "[]", "{\"b\":[[1]],\"a\":0}", "-0", "1e2"};
    struct buf b = {0};
    long ok = 0, deep = 0;
    char kind[80]; /* per level: '[' array, '{' object of one member, 'o'
                      object of two (its second member after the value) */
    for (long it = 0; it < iters; it++) {
        size_t d = 1 + below(70), k;
        int mix = (int)below(3); /* arrays only, some objects, all objects */
        b.n = 0;
        for (k = 0; k < d; k++) {
            kind[k] = mix == 0 || (mix == 1 && below(2)) ? '[' : '{';
            if (kind[k] == '{' && below(15) == 0)
                kind[k] = 'o';
            if (kind[k] == '[') {
                puts_(&b, "[");
                puts_(&b, ws[below(5)]);
                if (below(20) == 0)
                    puts_(&b, "0,");
            } else {
                puts_(&b, "{");
                puts_(&b, ws[below(5)]);
                puts_(&b, below(2) ? "\"k\"" : "\"\\u006b\"");
                puts_(&b, ws[below(5)]);
                puts_(&b, ":");
                puts_(&b, ws[below(5)]);
            }
        }
        puts_(&b, leaf[below(sizeof leaf / sizeof *leaf)]);
        for (k = d; k-- > 0;) {
            puts_(&b, ws[below(5)]);
            if (kind[k] == '[') {
                if (below(30) == 0)
                    puts_(&b, ",[]");
                puts_(&b, "]");
            } else {
                if (kind[k] == 'o')
                    puts_(&b, below(2) ? ",\"a\":1" : ",\"k\":1");
                puts_(&b, "}");
            }
        }
        if (below(10) == 0 && b.n) /* broken: cut, or a bracket too many */
            b.n -= 1 + below((uint32_t)(b.n < 5 ? b.n : 5));
        else if (below(10) == 0)
            puts_(&b, "]");
        chatseal_error e = differential(simd, port, b.p, b.n);
        ok += e == CHATSEAL_OK;
        deep += e == CHATSEAL_E_TOO_DEEP;
        if (failures > 10)
            break;
    }
    printf("nestings: %ld (%ld canonical, %ld too_deep)\n", iters, ok, deep);
    CHECK(ok > iters / 4 && deep > iters / 50, "both verdicts exercised");
    free(b.p);
}

/* ------------------------------------------------- member spans (form) -- */

struct spans_ctx {
    cs_fc *fc;
    size_t messages, forms;
};

static int check_spans(void *ctx, size_t index, const char *canon, size_t len,
                       const char *role, size_t role_len)
{
    struct spans_ctx *s = ctx;
    cs_form_members walk = {NULL, 0}, mb = {NULL, 0};
    cs_buf c1 = {0}, f1 = {0}, r1 = {0}, c2 = {0}, f2 = {0}, r2 = {0};
    int assistant = role_len == 9 && !memcmp(role, "assistant", 9);
    (void)index;
    mb.nsp = cs_fc_message_members(s->fc, &mb.sp);
    int need = cs_form_needed(canon, len, assistant, walk);
    CHECK(need == cs_form_needed(canon, len, assistant, mb),
          "form verdict from spans");
    CHECK(
        cs_form_message(canon, len, assistant, walk, 64, &c1, &f1, &r1) ==
                cs_form_message(canon, len, assistant, mb, 64, &c2, &f2, &r2) &&
            c1.n == c2.n && !memcmp(c1.p, c2.p, c1.n) && f1.n == f2.n &&
            !memcmp(f1.p, f2.p, f1.n) && r1.n == r2.n &&
            (!r1.n || !memcmp(r1.p, r2.p, r1.n)),
        "forms from spans");
    s->messages++;
    s->forms += need;
    cs_buf_free(&c1);
    cs_buf_free(&f1);
    cs_buf_free(&r1);
    cs_buf_free(&c2);
    cs_buf_free(&f2);
    cs_buf_free(&r2);
    return 0;
}

static void test_spans(void)
{
    static const char body[] =
        "{\"messages\":["
        "{\"role\":\"user\",\"content\":\"hi\"},"
        "{\"role\":\"assistant\",\"content\":null,\"refusal\":null,"
        "\"tool_calls\":[{\"id\":\"c1\",\"index\":0,\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"b\\\": 1, "
        "\\\"a\\\": [2]}\"}}],\"data\":[[1,2],[{\"x\":[3]}]]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"[1]\"},"
        "{\"r\\u006fle\":\"assistant\",\"reasoning_content\":\"think\","
        "\"content\":\"a,b}\\\"]\",\"annotations\":[]},"
        "{\"role\":\"user\",\"name\":\"\",\"content\":[{\"type\":\"text\","
        "\"text\":\"x\"}]},{\"role\":\"system\"},{\"role\":\"assistant\"}"
        "],\"model\":\"m\"}";
    cs_fc *fc = cs_fc_new();
    struct spans_ctx s = {fc, 0, 0};
    size_t n = 0;
    CHECK(fc && cs_fc_conv_scan(fc, body, sizeof body - 1, 0, 0, check_spans,
                                &s, &n) == CHATSEAL_OK,
          "the spans body scans");
    CHECK(n == 7 && s.messages == 7 && s.forms >= 2,
          "every message checked (%zu, %zu forms)", s.messages, s.forms);
    cs_fc_free(fc);
}

/* ------------------------------------------------- one parser a thread -- */

static void test_thread_parser(void)
{
    cs_fc *a = cs_fc_acquire(), *b = cs_fc_acquire(), *c;
    size_t l = 0;
    CHECK(a && b && a != b, "a parser in use is not handed out twice");
    CHECK(cs_fc_canonicalize(b, "{\"b\":1,\"a\":2}", 13, 0, NULL, NULL) ==
                  CHATSEAL_OK &&
              !strcmp(cs_fc_output(b, &l), "{\"a\":2,\"b\":1}"),
          "a nested parser works");
    cs_fc_release(b);
    cs_fc_release(a);
    c = cs_fc_acquire();
    CHECK(c == a || c == b, "a released parser is kept for the thread");
    /* a large run, then a small one: the buffers are trimmed or reused,
     * never stale */
    struct buf big = {0};
    puts_(&big, "[");
    for (int i = 0; i < 200000; i++)
        puts_(&big, i ? ",{\"k\":\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\"}"
                      : "{\"k\":\"v\"}");
    puts_(&big, "]");
    CHECK(cs_fc_canonicalize(c, big.p, big.n, 0, NULL, NULL) == CHATSEAL_OK,
          "a large run");
    cs_fc_release(c);
    c = cs_fc_acquire();
    CHECK(cs_fc_canonicalize(c, "[1,{\"z\":0,\"y\":[]}]", 18, 0, NULL, NULL) ==
                  CHATSEAL_OK &&
              !strcmp(cs_fc_output(c, &l), "[1,{\"y\":[],\"z\":0}]"),
          "a small run after it");
    cs_fc_release(c);
    free(big.p);
}

int main(void)
{
    cs_fc *simd = cs_fc_new(), *port = cs_fc_new();
    const char *it = getenv("CHATSEAL_TEST_ITERS");
    long iters = it ? strtol(it, NULL, 10) / 60 : 300;
    if (!simd || !port)
        return 1;
    if (iters < 50)
        iters = 50;
    cs_fc_set_simd(simd, 1);
    cs_fc_set_simd(port, 0);
    test_object_cases(simd, port);
    test_objects(simd, port, iters);
    test_nesting(simd, port, iters * 7);
    test_spans();
    test_thread_parser();
    cs_fc_free(simd);
    cs_fc_free(port);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
