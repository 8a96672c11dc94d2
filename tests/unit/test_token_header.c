/*
 * test_token_header.c -- the token header scanner (src/lib/tokhdr.c) against
 * the jansson reader it replaced (tests/support/tokhdr_ref.c).
 *
 * The scanner is only called on headers that passed the canonical-form gate
 * (cs_token_header_canonical), so that is how this test calls both readers:
 * every generated header goes through the gate, and when it passes, the two
 * readers must give the same error code and, on success, the same fields.
 * Headers the gate refuses are still handed to the scanner alone (its
 * result ignored), so that a sanitizer build sees it fail closed on bytes
 * it was never meant to read.  (Internal API: like test_hmac.c, this test
 * includes internal.h on purpose.)
 *
 * Generators, all from one fixed-seed PRNG (deterministic):
 *   built     cs_header_build over random field combinations (ao, bnd,
 *             exp, loc with 0..2000 locators, n, pur, roles, typ, kid of
 *             various lengths and escapes), checked field by field too;
 *   members   consistent member sets, then structural mutations: members
 *             dropped, duplicated, renamed, added (unknown), values replaced
 *             by other types, out-of-range, big, negative and fractional
 *             numbers, strings with escapes (\u0000 included), nested
 *             arrays and objects, "v" other than 1; the text is shuffled
 *             and spaced, then canonicalized so most of it passes the gate;
 *   bytes     byte flips, insertions, deletions and truncations of valid
 *             canonical headers.
 * CHATSEAL_TEST_ITERS scales the random part (default 70000 per generator).
 * Hand-picked cases pin each outcome (ok, unsupported_version, and
 * malformed_token for every member rule) for both readers and through
 * cs_token_decode / chatseal_token_inspect.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastcanon.h"
#include "internal.h"
#include "tokhdr_ref.h"
#include "tu.h"

/* ---------------------------------------------------------------- util -- */

/* Hands over the text of b (never NULL) and empties b. */
static char *take(cs_buf *b)
{
    if (b->oom)
        abort();
    char *p = b->p ? b->p : strdup("");
    if (!p)
        abort();
    memset(b, 0, sizeof *b);
    return p;
}

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint64_t rnd64(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint32_t below(uint32_t n)
{
    return (uint32_t)((rnd64() >> 32) % n);
}

static void show(const char *what, const char *in, size_t n)
{
    fprintf(stderr, "  %s (%zu bytes): ", what, n);
    for (size_t i = 0; i < n && i < 300; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f)
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputs(n > 300 ? "...\n" : "\n", stderr);
}

/* ------------------------------------------------------ the two paths -- */

static struct {
    size_t cases, gated, ok, unsupported, malformed, shown;
} stats;

/*
 * One header through the gate and, if it passes, through both readers.
 * Returns the common verdict (the gate's when it refuses); when fields is
 * not NULL and both accept, the reference's decoded token is left there
 * (the caller clears it).
 */
static chatseal_error check_header(const char *h, size_t len, cs_token *fields)
{
    const uint8_t *u = (const uint8_t *)h;
    cs_token a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    stats.cases++;
    if (cs_token_header_canonical(u, len) != CHATSEAL_OK) {
        stats.gated++;
        (void)cs_token_header_read(u, len, &b); /* must not crash or leak */
        cs_token_clear(&b);
        return CHATSEAL_E_MALFORMED_TOKEN;
    }
    chatseal_error ea = cs_token_header_read_reference(u, len, &a);
    chatseal_error eb = cs_token_header_read(u, len, &b);
    if (ea != eb || (ea == CHATSEAL_OK && !cs_token_fields_equal(&a, &b))) {
        cs_test_fail(__FILE__, __LINE__,
                     "readers differ: reference %s, "
                     "scanner %s%s",
                     chatseal_error_name(ea), chatseal_error_name(eb),
                     ea == eb ? " (fields differ)" : "");
        if (stats.shown++ < 20)
            show("header", h, len);
    }
    stats.ok += ea == CHATSEAL_OK;
    stats.unsupported += ea == CHATSEAL_E_UNSUPPORTED_VERSION;
    stats.malformed += ea == CHATSEAL_E_MALFORMED_TOKEN;
    cs_token_clear(&b);
    if (fields && ea == CHATSEAL_OK)
        *fields = a;
    else
        cs_token_clear(&a);
    return ea;
}

static size_t iterations(void)
{
    const char *s = getenv("CHATSEAL_TEST_ITERS");
    long v = s ? strtol(s, NULL, 10) : 0;
    return v > 0 ? (size_t)v : 70000;
}

/* -------------------------------------------------------- generators -- */

static const char *const TYPS[] = {"conv", "msg", "state", "sealed"};

/* clang-format off */
static const char *const INTS[] = {
    "0", "1", "2", "-1", "-0", "7", "1767225600", "1767225601",
    "9007199254740991", "9007199254740992", "9007199254740993",
    "9007199254740994", "1048576", "1048577", "-9007199254740992",
    "100000000000000000000", "99999999999999999999",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "9223372036854774784", "-9223372036854774784",
    "18446744073709551616", "123456789012345678901234", "1e0", "1E2",
    "10e-1", "1.0", "2000", "4503599627370496"};
static const char *const REALS[] = {
    "1.5", "0.5", "-2.5", "1e+21", "1e21", "1e-7", "1e22", "0.000001",
    "123.45e3", "-0.0", "0.1", "2.000001", "5e-324",
    "1.7976931348623157e308", "-1e+30"};
/* JSON text fragments for strings (escapes left for the canonicalizer) */
static const char *const FRAGS[] = {
    "a", "Z", "0", "-", "_", ".", " ", "\\\"", "\\\\", "\\n", "\\t", "\\b",
    "\\u0001", "\\u001f", "\\u00e9", "\\u0041", "\\/", "\xc3\xa9",
    "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\\u007f", "s", "u",
    "x", "=", "+", "/"};
/* clang-format on */

static const char *pick(const char *const *v, size_t n)
{
    return v[below((uint32_t)n)];
}
#define PICK(a) pick(a, sizeof a / sizeof *a)

static void put_int(cs_buf *b, int64_t v)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)v);
    cs_buf_puts(b, t);
}

/* A random JSON string (text with quotes); \u0000 now and then. */
static void rand_string(cs_buf *b, size_t max)
{
    size_t n = below((uint32_t)max + 1);
    cs_buf_puts(b, "\"");
    for (size_t i = 0; i < n; i++)
        cs_buf_puts(b, below(400) ? PICK(FRAGS) : "\\u0000");
    cs_buf_puts(b, "\"");
}

static void b64_json(cs_buf *b, const uint8_t *p, size_t n)
{
    char *s = malloc(cs_b64u_encoded_len(n) + 1);
    if (!s)
        abort();
    cs_b64u_encode(p, n, s);
    cs_buf_puts(b, "\"");
    cs_buf_puts(b, s);
    cs_buf_puts(b, "\"");
    free(s);
}

static void rand_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd64();
}

static void rand_value(cs_buf *b, int depth)
{
    switch (below(depth < 4 ? 9 : 7)) {
    case 0:
        cs_buf_puts(b, PICK(INTS));
        break;
    case 1: {
        char t[32];
        uint64_t v = rnd64();
        v >>= below(64);
        const char *sign = below(3) ? "" : "-";
        snprintf(t, sizeof t, "%s%llu", sign, (unsigned long long)v);
        cs_buf_puts(b, t);
        break;
    }
    case 2:
        cs_buf_puts(b, PICK(REALS));
        break;
    case 3:
    case 4:
        rand_string(b, 12);
        break;
    case 5: {
        uint8_t r[40];
        size_t n = below(sizeof r);
        rand_bytes(r, n);
        b64_json(b, r, n);
        break;
    }
    case 6: {
        static const char *const lits[] = {"true", "false", "null"};
        cs_buf_puts(b, PICK(lits));
        break;
    }
    case 7: {
        size_t n = below(4);
        cs_buf_puts(b, "[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                cs_buf_puts(b, ",");
            rand_value(b, depth + 1);
        }
        cs_buf_puts(b, "]");
        break;
    }
    default: {
        size_t n = below(4);
        cs_buf_puts(b, "{");
        for (size_t i = 0; i < n; i++) {
            if (i)
                cs_buf_puts(b, ",");
            rand_string(b, 3);
            cs_buf_puts(b, ":");
            rand_value(b, depth + 1);
        }
        cs_buf_puts(b, "}");
    }
    }
}

static int64_t rand_time(void)
{
    switch (below(6)) {
    case 0:
        return 0;
    case 1:
        return (int64_t)below(1000);
    case 2:
        return ((int64_t)1 << 53) - 1 - below(3);
    default:
        return 1767225600 + (int64_t)below(1u << 30);
    }
}

/* kid text: mostly valid, sometimes empty, too long or with escapes */
static void rand_kid(cs_buf *b)
{
    static const char ok[] = "abcXYZ019._-";
    size_t n;
    switch (below(8)) {
    case 0:
        rand_string(b, 6);
        return;
    case 1:
        n = below(3) ? 64 + below(2) : 0;
        break;
    default:
        n = 1 + below(below(4) ? 12 : 64);
    }
    cs_buf_puts(b, "\"");
    for (size_t i = 0; i < n; i++)
        cs_buf_put(b, &ok[below(sizeof ok - 1)], 1);
    cs_buf_puts(b, "\"");
}

static void rand_pur(cs_buf *b)
{
    switch (below(8)) {
    case 0: /* 1024 or 1025 bytes, ASCII or two-byte characters */
    case 1: {
        int two = below(2);
        size_t n = (two ? 512 : 1024) + below(2);
        cs_buf_puts(b, "\"");
        for (size_t i = 0; i < n; i++)
            cs_buf_puts(b, two ? "\xc3\xa9" : "p");
        cs_buf_puts(b, "\"");
        return;
    }
    case 2:
        cs_buf_puts(b, "\"\"");
        return;
    default:
        rand_string(b, 24);
    }
}

/* roles of length n; now and then a code that is not a role */
static char *rand_roles(size_t n, int bad)
{
    static const char codes[] = "suatdfx";
    char *r = malloc(n + 1);
    if (!r)
        abort();
    for (size_t i = 0; i < n; i++)
        r[i] = codes[below(7)];
    if (bad && n) {
        /* one PRNG call per expression: C leaves the order of two open */
        size_t at = below((uint32_t)n);
        r[at] = "bSA!\x7f"[below(5)];
    }
    r[n] = '\0';
    return r;
}

static size_t rand_count(void)
{
    return below(100) == 0 ? below(2001) : below(8) == 0 ? 0 : below(30);
}

/* ---------------------------------------------- 1: cs_header_build -- */

static void gen_built(void)
{
    cs_header_in in;
    uint8_t bnd[CHATSEAL_BINDBYTES];
    char kid[80], pur[1100];
    memset(&in, 0, sizeof in);
    int t = below(10) ? (int)below(4) : -1;
    int chain = t == 0 || t == 1;
    in.typ = t >= 0 ? TYPS[t] : (const char *[]){"CONV", "", "x"}[below(3)];
    {
        static const char ok[] = "abcXYZ019._-";
        size_t kl = below(8)   ? 1 + below(below(4) ? 12 : 64)
                    : below(3) ? 64 + below(2)
                               : 0;
        for (size_t i = 0; i < kl; i++)
            kid[i] = ok[below(sizeof ok - 1)];
        if (kl && below(15) == 0) {
            /* refused by the reader, or not UTF-8 */
            size_t at = below((uint32_t)kl);
            kid[at] = "\"\\\n\x01 /\xc3"[below(7)];
        }
        kid[kl] = '\0';
        in.kid = kid;
    }
    in.iat = rand_time();
    if (below(3) == 0)
        in.exp = below(6) ? in.iat + 1 + below(100000) : in.iat - below(2);
    in.n = -1;
    char *roles = NULL;
    uint8_t *loc = NULL;
    if (chain || below(10) == 0) {
        in.n = t == 1 && below(8) ? 1 : (int64_t)rand_count();
        if (below(15) == 0)
            in.n = (int64_t)CHATSEAL_TOKEN_MAX + below(2);
        if (below(6)) {
            size_t nr = (size_t)in.n <= 2000 ? (size_t)in.n : 3;
            if (below(12) == 0)
                nr += below(2) ? 1 : (nr ? (size_t)-1 : 0);
            roles = rand_roles(nr, below(20) == 0);
            in.ao = below(4) == 0;
            size_t located = 0;
            for (char *r = roles; *r; r++)
                located += !in.ao || *r == 'a';
            if (below(12) == 0)
                located += below(2) ? 1 : (located ? (size_t)-1 : 0);
            loc = malloc(located * CHATSEAL_LOCATORBYTES + 1);
            if (!loc)
                abort();
            rand_bytes(loc, located * CHATSEAL_LOCATORBYTES);
            in.roles = roles;
            in.loc = loc;
            in.nloc = located;
        } else if (below(8) == 0) {
            in.ao = 1; /* ao without roles: malformed */
        }
    }
    if (below(2)) {
        size_t n = below(10) ? 1 + below(30) : 1020 + below(8);
        for (size_t i = 0; i < n; i++)
            pur[i] = below(30) ? (char)('a' + below(26))
                               : "\"\\\n\t\x01\x1f/"[below(7)];
        if (below(40) == 0)
            pur[below((uint32_t)n)] = (char)0xc3; /* not UTF-8: refused */
        pur[n] = '\0';
        in.pur = pur;
    }
    if (below(2)) {
        rand_bytes(bnd, sizeof bnd);
        in.bnd = bnd;
    }
    cs_buf out = {0};
    chatseal_error eb = cs_header_build(&in, &out);
    cs_token got;
    memset(&got, 0, sizeof got);
    chatseal_error e = check_header(out.p, out.n, &got);
    if (eb == CHATSEAL_OK && e == CHATSEAL_OK) {
        /* what was built is what is read */
        CHECK(!strcmp(got.typ, in.typ) && !strcmp(got.kid, in.kid) &&
                  got.iat == in.iat && got.exp == in.exp && got.n == in.n &&
                  !got.pur == !in.pur &&
                  (!in.pur || !strcmp(got.pur, in.pur)) &&
                  got.has_bnd == !!in.bnd &&
                  (!in.bnd || !memcmp(got.bnd, bnd, sizeof bnd)) &&
                  !got.roles == !in.roles &&
                  (!in.roles || !strcmp(got.roles, in.roles)) &&
                  got.nloc == in.nloc && got.ao == in.ao &&
                  (!in.nloc ||
                   !memcmp(got.loc, in.loc, in.nloc * CHATSEAL_LOCATORBYTES)),
              "built header read back differently");
    }
    cs_token_clear(&got);
    cs_buf_free(&out);
    free(roles);
    free(loc);
}

/* ------------------------------------------- 2: members and mutations -- */

#define MAXM 24

struct member {
    char *name;  /* JSON text, with quotes */
    char *value; /* JSON text */
};

struct members {
    struct member m[MAXM];
    size_t n;
};

static void add(struct members *ms, const char *name, cs_buf *value)
{
    if (ms->n == MAXM) {
        free(value->p);
        memset(value, 0, sizeof *value);
        return;
    }
    cs_buf nb = {0};
    cs_buf_puts(&nb, "\"");
    cs_buf_puts(&nb, name);
    cs_buf_puts(&nb, "\"");
    ms->m[ms->n].name = take(&nb);
    ms->m[ms->n].value = take(value);
    ms->n++;
}

static void add_int(struct members *ms, const char *name, int64_t v)
{
    cs_buf b = {0};
    put_int(&b, v);
    add(ms, name, &b);
}

static void add_str(struct members *ms, const char *name, const char *s)
{
    cs_buf b = {0};
    cs_buf_puts(&b, "\"");
    cs_buf_puts(&b, s);
    cs_buf_puts(&b, "\"");
    add(ms, name, &b);
}

/* A consistent (mostly valid) header as separate members. */
static void gen_consistent(struct members *ms)
{
    cs_buf b = {0};
    int t = (int)below(4), chain = t < 2;
    add_str(ms, "typ", TYPS[t]);
    rand_kid(&b);
    add(ms, "kid", &b);
    int64_t iat = rand_time();
    add_int(ms, "iat", iat);
    if (below(3) == 0)
        add_int(ms, "exp", iat + 1 + below(1000));
    if (chain) {
        size_t n = t == 1 ? 1 : rand_count();
        add_int(ms, "n", (int64_t)n);
        if (below(5)) {
            char *roles = rand_roles(n, 0);
            int ao = below(4) == 0;
            size_t located = 0;
            for (char *r = roles; *r; r++)
                located += !ao || *r == 'a';
            uint8_t *loc = malloc(located * CHATSEAL_LOCATORBYTES + 1);
            if (!loc)
                abort();
            rand_bytes(loc, located * CHATSEAL_LOCATORBYTES);
            b64_json(&b, loc, located * CHATSEAL_LOCATORBYTES);
            add(ms, "loc", &b);
            add_str(ms, "roles", roles);
            if (ao) {
                cs_buf_puts(&b, "true");
                add(ms, "ao", &b);
            }
            free(roles);
            free(loc);
        }
    }
    if (below(2)) {
        rand_pur(&b);
        add(ms, "pur", &b);
    }
    if (below(2)) {
        uint8_t bnd[CHATSEAL_BINDBYTES];
        rand_bytes(bnd, sizeof bnd);
        b64_json(&b, bnd, sizeof bnd);
        add(ms, "bnd", &b);
    }
    add_int(ms, "v", 1);
}

static const char *const NAMES[] = {
    "ao",  "bnd", "exp", "iat", "kid", "loc",  "n",       "pur", "roles",
    "typ", "v",   "x",   "V",   "",    "typ2", "\\u0076", "ao ", "\\u0001"};

/* A value that is wrong, or borderline, for member `name`. */
static void odd_value(cs_buf *b, const char *name)
{
    if (!strcmp(name, "\"bnd\"") && below(2)) {
        static const char *const v[] = {
            "\"AAAAAAAAAAAAAAAAAAAAAA\"", "\"AAAAAAAAAAAAAAAAAAAAAB\"",
            "\"AAAAAAAAAAAAAAAAAAAAA\"",  "\"AAAAAAAAAAAAAAAAAAAAAAA\"",
            "\"AAAAAAAAAAAAAAAAAAAA==\"", "\"AAAAAAAAAAAAAAAAAAAA+A\"",
            "\"AAAAAAAAAAAAAAAAAAAAAw\"", "\"AAAAAAAAAAAAAAAAAAAA\\nA\""};
        cs_buf_puts(b, PICK(v));
    } else if (!strcmp(name, "\"loc\"") && below(2)) {
        uint8_t r[24];
        size_t n = below(sizeof r);
        rand_bytes(r, n);
        b64_json(b, r, n);
    } else if (!strcmp(name, "\"roles\"") && below(2)) {
        size_t n = below(6);
        char *r = rand_roles(n, below(2));
        cs_buf_puts(b, "\"");
        cs_buf_puts(b, r);
        cs_buf_puts(b, below(4) ? "" : "\\u0000");
        cs_buf_puts(b, "\"");
        free(r);
    } else if (!strcmp(name, "\"typ\"") && below(2)) {
        static const char *const v[] = {
            "\"conv\"", "\"msg\"", "\"state\"",       "\"sealed\"",
            "\"Conv\"", "\"\"",    "\"conv\\u0001\"", "\"sealed \""};
        cs_buf_puts(b, PICK(v));
    } else if (!strcmp(name, "\"pur\"") && below(2)) {
        rand_pur(b);
    } else if (!strcmp(name, "\"kid\"") && below(2)) {
        rand_kid(b);
    } else {
        rand_value(b, 2);
    }
}

static void mutate_members(struct members *ms)
{
    cs_buf b = {0};
    size_t i = ms->n ? below((uint32_t)ms->n) : 0;
    switch (below(7)) {
    case 0: /* drop */
        if (ms->n) {
            free(ms->m[i].name);
            free(ms->m[i].value);
            ms->m[i] = ms->m[--ms->n];
        }
        break;
    case 1: /* a value of another type, or out of range */
    case 2:
        if (ms->n) {
            odd_value(&b, ms->m[i].name);
            free(ms->m[i].value);
            ms->m[i].value = take(&b);
        }
        break;
    case 3: /* another member, known or not */
        odd_value(&b, "");
        add(ms, PICK(NAMES), &b);
        break;
    case 4: /* the version */
        for (i = 0; i < ms->n && strcmp(ms->m[i].name, "\"v\""); i++)
            ;
        if (i < ms->n) {
            if (below(2))
                cs_buf_puts(&b, PICK(INTS));
            else
                rand_value(&b, 2);
            free(ms->m[i].value);
            ms->m[i].value = take(&b);
        }
        break;
    case 5: /* a duplicate (the gate refuses it) */
        if (ms->n && ms->n < MAXM) {
            cs_buf_puts(&b, ms->m[i].value);
            cs_buf nb = {0};
            cs_buf_puts(&nb, ms->m[i].name);
            ms->m[ms->n].name = take(&nb);
            ms->m[ms->n].value = take(&b);
            ms->n++;
        }
        break;
    default: /* rename */
        if (ms->n) {
            const char *nn = PICK(NAMES);
            cs_buf nb = {0};
            cs_buf_puts(&nb, "\"");
            cs_buf_puts(&nb, nn);
            cs_buf_puts(&nb, "\"");
            free(ms->m[i].name);
            ms->m[i].name = take(&nb);
        }
    }
}

static void gen_members(void)
{
    struct members ms;
    memset(&ms, 0, sizeof ms);
    gen_consistent(&ms);
    size_t nmut = below(4) == 0 ? 0 : 1 + below(3);
    for (size_t k = 0; k < nmut; k++)
        mutate_members(&ms);
    /* shuffle, join (spaced now and then), canonicalize */
    for (size_t i = ms.n; i > 1; i--) {
        size_t j = below((uint32_t)i);
        struct member t = ms.m[i - 1];
        ms.m[i - 1] = ms.m[j];
        ms.m[j] = t;
    }
    cs_buf text = {0};
    const char *sp = below(4) ? "" : " ";
    cs_buf_puts(&text, "{");
    for (size_t i = 0; i < ms.n; i++) {
        if (i)
            cs_buf_puts(&text, ",");
        cs_buf_puts(&text, sp);
        cs_buf_puts(&text, ms.m[i].name);
        cs_buf_puts(&text, ":");
        cs_buf_puts(&text, sp);
        cs_buf_puts(&text, ms.m[i].value);
        free(ms.m[i].name);
        free(ms.m[i].value);
    }
    cs_buf_puts(&text, "}");
    char *canon = NULL;
    size_t cl = 0;
    if (cs_fc_canonicalize_alloc(text.p, text.n, 0, &canon, &cl) ==
            CHATSEAL_OK &&
        below(20))
        check_header(canon, cl, NULL);
    else
        check_header(text.p, text.n, NULL);
    free(canon);
    free(text.p);
}

/* --------------------------------------------------- 3: byte mutations -- */

static void gen_bytes(void)
{
    static const char repl[] = "0123456789abcxyzAQgw-_\"\\,:{}[]etnlfrsu.+ ";
    struct members ms;
    memset(&ms, 0, sizeof ms);
    gen_consistent(&ms);
    cs_buf text = {0};
    cs_buf_puts(&text, "{");
    for (size_t i = 0; i < ms.n; i++) {
        cs_buf_puts(&text, i ? "," : "");
        cs_buf_puts(&text, ms.m[i].name);
        cs_buf_puts(&text, ":");
        cs_buf_puts(&text, ms.m[i].value);
        free(ms.m[i].name);
        free(ms.m[i].value);
    }
    cs_buf_puts(&text, "}");
    char *c = NULL;
    size_t n = 0;
    if (cs_fc_canonicalize_alloc(text.p, text.n, 0, &c, &n) != CHATSEAL_OK) {
        free(text.p);
        return;
    }
    free(text.p);
    char *m = malloc(n + 8);
    if (!m)
        abort();
    memcpy(m, c, n);
    size_t len = n;
    for (size_t k = 1 + below(2); k > 0; k--) {
        size_t at = below((uint32_t)len + 1);
        switch (below(5)) {
        case 0: /* truncate */
            len = at;
            break;
        case 1: /* delete one byte */
            if (at < len) {
                memmove(m + at, m + at + 1, len - at - 1);
                len--;
            }
            break;
        case 2: /* insert one byte */
            if (len < n + 7) {
                memmove(m + at + 1, m + at, len - at);
                m[at] = repl[below(sizeof repl - 1)];
                len++;
            }
            break;
        case 3: /* flip a bit */
            if (at < len)
                m[at] = (char)(m[at] ^ (1 << below(8)));
            break;
        default: /* replace with a likely-canonical byte */
            if (at < len)
                m[at] = repl[below(sizeof repl - 1)];
        }
    }
    check_header(m, len, NULL);
    free(m);
    free(c);
}

static void differential(void)
{
    size_t iters = iterations();
    memset(&stats, 0, sizeof stats);
    for (size_t i = 0; i < iters; i++) {
        gen_built();
        gen_members();
        gen_bytes();
    }
    printf("# %zu headers: %zu refused by the canonical gate, %zu read by "
           "both: %zu ok, %zu unsupported_version, %zu malformed_token\n",
           stats.cases, stats.gated, stats.cases - stats.gated, stats.ok,
           stats.unsupported, stats.malformed);
    /* the generators must reach every outcome, or they prove little */
    size_t read = stats.cases - stats.gated;
    CHECK(read >= stats.cases / 2, "too few headers pass the gate");
    CHECK(stats.ok >= iters / 4, "too few valid headers");
    CHECK(stats.unsupported >= iters / 100, "too few unsupported_version");
    CHECK(stats.malformed >= iters / 4, "too few malformed headers");
}

/* -------------------------------------------------------- hand-picked -- */

struct hcase {
    const char *header;
    chatseal_error want;
};

#define OK CHATSEAL_OK
#define BAD CHATSEAL_E_MALFORMED_TOKEN
#define VER CHATSEAL_E_UNSUPPORTED_VERSION
#define ST "\"kid\":\"k1\",\"typ\":\"state\",\"v\":1}"
/* 2 messages, "ua": two locators; with ao one */
#define L2 "\"AAAAAAAAAAAAAAAAAAAAAA\""
#define L1 "\"AAAAAAAAAAA\""

static const struct hcase HAND[] = {
    /* ok */
    {"{\"iat\":0," ST, OK},
    {"{\"iat\":9007199254740991," ST, OK},
    {"{\"exp\":2,\"iat\":1," ST, OK},
    {"{\"bnd\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"iat\":1,\"kid\":\"k\","
     "\"pur\":\"chat\\n\\\"\\u0001\xc3\xa9\",\"typ\":\"sealed\",\"v\":1}",
     OK},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":2,\"roles\":\"ua\","
     "\"typ\":\"conv\",\"v\":1}",
     OK},
    {"{\"ao\":true,\"iat\":1,\"kid\":\"k\",\"loc\":" L1 ",\"n\":2,"
     "\"roles\":\"ua\",\"typ\":\"conv\",\"v\":1}",
     OK},
    {"{\"iat\":1,\"kid\":\"k\",\"n\":0,\"typ\":\"conv\",\"v\":1}", OK},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":\"\",\"n\":0,\"roles\":\"\","
     "\"typ\":\"conv\",\"v\":1}",
     OK},
    {"{\"iat\":1,\"kid\":\"k\",\"n\":1,\"typ\":\"msg\",\"v\":1}", OK},
    {"{\"iat\":1,\"kid\":\"k\",\"n\":1048576,\"typ\":\"conv\",\"v\":1}", OK},
    /* unsupported_version: any integer v but 1, before any member check */
    {"{\"iat\":1,\"kid\":\"k1\",\"typ\":\"state\",\"v\":3}", VER},
    {"{\"v\":0}", VER},
    {"{\"v\":-1}", VER},
    {"{\"iat\":-1,\"v\":3,\"zz\":[]}", VER},
    {"{\"v\":9223372036854775000}", VER},
    /* ... but jansson refusing the text comes first */
    {"{\"kid\":\"\\u0000\",\"v\":2}", BAD},
    {"{\"v\":2,\"x\":[[{\"a\":\"\\u0000\"}]]}", BAD},
    {"{\"v\":2,\"x\":100000000000000000000}", BAD},
    {"{\"v\":2,\"x\":-9223372036854776000}", BAD},
    {"{\"v\":100000000000000000000}", BAD},
    /* v itself */
    {"{}", BAD},
    {"{\"iat\":1,\"kid\":\"k1\",\"typ\":\"state\"}", BAD},
    {"{\"v\":\"1\"}", BAD},
    {"{\"v\":1.5}", BAD},
    {"{\"v\":1e+21}", BAD},
    {"{\"v\":true}", BAD},
    {"{\"v\":[1]}", BAD},
    {"[1]", BAD},
    {"\"x\"", BAD},
    /* members on their own */
    {"{\"iat\":1," ST "", OK},
    {"{\"iat\":1,\"kid\":\"k1\",\"typ\":\"state\",\"v\":1,\"x\":1}", BAD},
    {"{\"\":1,\"iat\":1," ST, BAD},
    {"{\"iat\":1,\"kid\":\"k1\",\"typ\":\"State\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k1\",\"typ\":1,\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"\",\"typ\":\"state\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k/1\",\"typ\":\"state\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k\\n\",\"typ\":\"state\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":"
     "\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\","
     "\"typ\":\"state\",\"v\":1}",
     BAD},
    {"{\"kid\":\"k1\",\"typ\":\"state\",\"v\":1}", BAD},
    {"{\"iat\":-1," ST, BAD},
    {"{\"iat\":9007199254740992," ST, BAD},
    {"{\"iat\":1.5," ST, BAD},
    {"{\"iat\":\"1\"," ST, BAD},
    {"{\"exp\":0,\"iat\":1," ST, BAD},
    {"{\"exp\":1,\"iat\":1," ST, BAD},
    {"{\"exp\":null,\"iat\":1," ST, BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"n\":1048577,\"typ\":\"conv\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"n\":-1,\"typ\":\"conv\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"typ\":\"conv\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"n\":2,\"typ\":\"msg\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k1\",\"n\":0,\"typ\":\"state\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k1\",\"pur\":\"\",\"typ\":\"state\",\"v\":1}", BAD},
    {"{\"iat\":1,\"kid\":\"k1\",\"pur\":1,\"typ\":\"state\",\"v\":1}", BAD},
    {"{\"bnd\":\"AAAAAAAAAAAAAAAAAAAAAB\",\"iat\":1," ST, BAD},
    {"{\"bnd\":\"AAAAAAAAAAAAAAAAAAAAA\",\"iat\":1," ST, BAD},
    {"{\"bnd\":\"AAAAAAAAAAAAAAAAAAAA==\",\"iat\":1," ST, BAD},
    {"{\"bnd\":true,\"iat\":1," ST, BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":2,\"roles\":\"ub\","
     "\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":3,\"roles\":\"ua\","
     "\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":" L1 ",\"n\":2,\"roles\":\"ua\","
     "\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":\"AAAAAAAAAAA_\",\"n\":2,"
     "\"roles\":\"ua\",\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":\"AAAAAAAAAA\",\"n\":2,"
     "\"roles\":\"ua\",\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"n\":2,\"roles\":\"ua\",\"typ\":\"conv\","
     "\"v\":1}",
     BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":2,\"typ\":\"conv\","
     "\"v\":1}",
     BAD},
    {"{\"ao\":true,\"iat\":1,\"kid\":\"k\",\"n\":2,\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"ao\":false,\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":2,"
     "\"roles\":\"ua\",\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"ao\":true,\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":2,"
     "\"roles\":\"ua\",\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":2,\"roles\":[\"u\"],"
     "\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":2,\"roles\":\"u\\u0000\","
     "\"typ\":\"conv\",\"v\":1}",
     BAD},
    {"{\"ao\":true,\"iat\":1,\"kid\":\"k1\",\"typ\":\"state\",\"v\":1}", BAD},
};

static void hand_picked(void)
{
    for (size_t i = 0; i < sizeof HAND / sizeof *HAND; i++) {
        const char *h = HAND[i].header;
        const uint8_t *u = (const uint8_t *)h;
        size_t n = strlen(h);
        cs_token a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        /* every case is canonical, so it reaches the readers */
        CHECK(cs_token_header_canonical(u, n) == CHATSEAL_OK,
              "case %zu is not canonical: %s", i, h);
        chatseal_error ea = cs_token_header_read_reference(u, n, &a);
        chatseal_error eb = cs_token_header_read(u, n, &b);
        if (ea != HAND[i].want || eb != HAND[i].want)
            cs_test_fail(__FILE__, __LINE__,
                         "case %zu %s: reference %s, "
                         "scanner %s, want %s",
                         i, h, chatseal_error_name(ea), chatseal_error_name(eb),
                         chatseal_error_name(HAND[i].want));
        CHECK(ea != CHATSEAL_OK || cs_token_fields_equal(&a, &b),
              "case %zu fields", i);
        cs_token_clear(&a);
        cs_token_clear(&b);
    }
    /* the gate: not canonical is malformed before anything is read */
    static const char *const noncanon[] = {"{\"v\":2 }",
                                           "{\"v\":2,\"iat\":1}",
                                           "{\"v\":2.0}",
                                           "{\"v\":1,\"v\":2}",
                                           "{\"kid\":\"\\u0041\",\"v\":2}",
                                           "{\"a\":[[[[1]]]],\"v\":2}"};
    for (size_t i = 0; i < sizeof noncanon / sizeof *noncanon; i++)
        CHECK_ERR(cs_token_header_canonical((const uint8_t *)noncanon[i],
                                            strlen(noncanon[i])),
                  CHATSEAL_E_MALFORMED_TOKEN);
}

/* The same through the whole decoder and the public API. */
static void whole_token(void)
{
    static const uint8_t tag[CHATSEAL_TAGBYTES] = {1};
    char *inspected = NULL;
    struct {
        const char *header;
        size_t plen;
        chatseal_error want;
    } cases[] = {
        {"{\"iat\":1,\"kid\":\"k\",\"loc\":" L2 ",\"n\":2,\"roles\":\"ua\","
         "\"typ\":\"conv\",\"v\":1}",
         32, OK},
        {"{\"iat\":1,\"kid\":\"k\",\"n\":2,\"typ\":\"conv\",\"v\":1}", 31, BAD},
        {"{\"iat\":1," ST, 32, OK},
        {"{\"iat\":1,\"kid\":\"k1\",\"typ\":\"state\",\"v\":7}", 32, VER},
        {"{\"kid\":\"\\u0000\",\"v\":7}", 32, BAD},
        {"{\"iat\":1, \"kid\":\"k1\",\"typ\":\"state\",\"v\":1}", 32, BAD},
        {"{\"iat\":1,\"kid\":\"k1\",\"typ\":\"state\",\"v\":1,\"x\":1}", 32,
         BAD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *tok = cs_test_token(cases[i].header, tag, cases[i].plen);
        cs_token t;
        CHECK_ERR(cs_token_decode(tok, &t), cases[i].want);
        if (cases[i].want == OK) {
            CHECK(t.iat == 1 && !strncmp(t.kid, "k", 1), "fields of %zu", i);
            cs_token_clear(&t);
        }
        CHECK_ERR(chatseal_token_inspect(tok, &inspected), cases[i].want);
        CHECK(cases[i].want != OK ||
                  (inspected && !strcmp(inspected, cases[i].header)),
              "inspect %zu", i);
        chatseal_free(inspected);
        inspected = NULL;
        free(tok);
    }
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"hand_picked", hand_picked},
        {"whole_token", whole_token},
        {"differential", differential},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
