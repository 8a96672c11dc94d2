/*
 * test_numtext.c -- the canonical text of number TOKENS: the short path of
 * cs_num_canon (at most 15 significant digits: laid out from the token's
 * own digits, no double; src/lib/numfmt.c says why that is exact) against
 * the full path (cs_num_read, then cs_num_format of the double), byte for
 * byte, and the full path against the old snprintf/strtod printer applied
 * to strtod's double on every 16th text.
 *
 *   test_numtext                 the suite run: the edge cases, the RFC 8785
 *                                number vectors as texts, 300000 random texts
 *   test_numtext COUNT [SEED]    COUNT random texts (docs/PERFORMANCE.md
 *                                records the 10^7 run); prints the tally
 *   test_numtext --bench         ns per token, scan + cs_num_canon against
 *                                scan + read + cs_num_format (the path
 *                                without the short one), per kind of token,
 *                                rounds alternated in one process, medians
 *
 * Random texts: 1-25 significant digits (14-17 twice as often: the edge of
 * the short path), trailing zeros, leading zeros after "0.", the point
 * anywhere, an exponent (e/E, +/-, leading zeros) chosen so that the value
 * lands near 1, at the ECMAScript layout switches (1e21, 1e-7), at the
 * short path's range limits (1e-307, 1e308), in subnormals, beyond the
 * double range, or at an exponent of up to 10^12; zeros and -0.  Every
 * text is checked whichever path it takes; the tally says how many took
 * the short one.  Exit status 0 only when nothing differed.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "numfmt.h"
#include "numfmt_reference.h"

static unsigned long long failures, shortcut, texts;
static cs_buf scratch;
static locale_t cloc;

static uint64_t rng(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fail(const char *text, const char *what, const char *got,
                 const char *want)
{
    if (failures++ < 20)
        fprintf(stderr, "FAIL %s: %s %s, want %s\n", text, what, got, want);
}

/* Checks one token; with want, also the exact canonical text. */
static void check(const char *text, const char *want, int with_ref)
{
    const unsigned char *s = (const unsigned char *)text, *stop;
    size_t n = strlen(text), nf, nc, nr;
    char fast[CS_NUM_MAX + 1], full[CS_NUM_MAX + 1], canon[CS_NUM_MAX + 1];
    char ref[64];
    int simple = 0;
    double v = 0;
    cs_num_dec dec;
    chatseal_error e, ec;
    if (cs_num_scan(s, s + n, &stop, &simple, &dec) || stop != s + n) {
        fail(text, "lex", "error", "a token");
        return;
    }
    texts++;
    e = cs_num_read_dec(&dec, s, s + n, &scratch, &cloc, &v);
    ec = cs_num_canon(&dec, s, s + n, &scratch, &cloc, canon, &nc);
    nf = cs_num_canon_exact(&dec, fast);
    if (e) {
        /* not finite: the short path must not have taken it */
        if (ec != e || nf)
            fail(text, "error", chatseal_error_name(ec),
                 chatseal_error_name(e));
        return;
    }
    full[cs_num_format(v, full)] = 0;
    if (ec) {
        fail(text, "canon", chatseal_error_name(ec), full);
        return;
    }
    canon[nc] = 0;
    if (strcmp(canon, full) != 0)
        fail(text, "canon", canon, full);
    if (nf) {
        shortcut++;
        fast[nf] = 0;
        if (strcmp(fast, full) != 0)
            fail(text, "short path", fast, full);
    }
    if (want && strcmp(canon, want) != 0)
        fail(text, "canon", canon, want);
    if (with_ref) {
        nr = ref_num_format(strtod(text, NULL), ref);
        ref[nr] = 0;
        if (strcmp(full, ref) != 0)
            fail(text, "full path", full, ref);
    }
}

static void edge_cases(void)
{
    static const char *const t[][2] = {
        /* RFC 8785 Appendix B and section 3.2.2.3, as texts */
        {"0", "0"},
        {"-0", "0"},
        {"-0.0e5", "0"},
        {"0.000e-99999", "0"},
        {"5e-324", "5e-324"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"},
        {"9007199254740992", "9007199254740992"},
        {"9007199254740994", "9007199254740994"},
        {"295147905179352830000", "295147905179352830000"},
        {"1e+23", "1e+23"},
        {"1.5e300", "1.5e+300"},
        {"1e-7", "1e-7"},
        {"0.000001", "0.000001"},
        {"1e21", "1e+21"},
        {"999999999999999e6", "999999999999999000000"},
        {"9999999999999999e6", "1e+22"},
        {"0.0000001", "1e-7"},
        {"1E30", "1e+30"},
        {"4.50", "4.5"},
        {"2e-3", "0.002"},
        {"123e18", "123000000000000000000"},
        {"-1.5e-7", "-1.5e-7"},
        {"333333333.33333329", "333333333.3333333"},
        {"1.0e-306", "1e-306"},
        {"1e-307", "1e-307"},
        {"1e-308", "1e-308"},
        {"2.2250738585072014e-308", "2.2250738585072014e-308"},
        {"9.99999999999999e307", "9.99999999999999e+307"},
        {"1e308", "1e+308"},
        {"0.100000000000000000000000000000", "0.1"},
        {"100000000000000000000000000000e-29", "1"},
        {"123456789012345", "123456789012345"},
        {"1234567890123456", "1234567890123456"},
        {"12345678901234567", "12345678901234568"},
        {"0.1234567890123450000", "0.123456789012345"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        check(t[i][0], t[i][1], 1);
    {
        /* "-00" must not lex as one token */
        const unsigned char *s = (const unsigned char *)"-00", *stop;
        int simple;
        cs_num_dec dec;
        if (!cs_num_scan(s, s + 3, &stop, &simple, &dec) && stop == s + 3)
            fail("-00", "lex", "a token", "an error");
    }
}

/* A random number text into buf (DRAW_CAP bytes: at most 25 digits, 7
 * zeros, 12 after "0.", a point, a sign and an exponent of 13 bytes fit
 * with room to spare); see the opening comment. */
#define DRAW_CAP 128
static void draw(uint64_t *s, char *buf)
{
    uint64_t r = rng(s), d = rng(s);
    size_t n = 0, ns;
    int nd, tz, layout, n0, target, ex, i;
    char sig[64];
    if (r % 64 == 0) {
        static const char *const zeros[] = {
            "0",   "-0",      "0.0",   "-0.00",
            "0e5", "-0E-400", "0.0e0", "0.000000000000000000000"};
        const char *z = zeros[(r >> 6) % 8];
        memcpy(buf, z, strlen(z) + 1);
        return;
    }
    r >>= 6;
    nd = (int)(r % 32);
    nd = nd < 25 ? nd + 1 : 14 + nd % 4; /* 1..25, 14..17 more often */
    r >>= 5;
    tz = r % 4 == 0 ? (int)((r >> 2) % 8) : 0;
    r >>= 5;
    /* the significant digits: the first and last non-zero */
    for (i = 0; i < nd; i++) {
        int c = (int)(d % 10);
        d /= 10;
        if (d < 10)
            d = rng(s);
        if ((i == 0 || i == nd - 1) && c == 0)
            c = 1 + (int)(d % 9);
        sig[i] = (char)('0' + c);
    }
    for (i = 0; i < tz; i++)
        sig[nd + i] = '0';
    ns = (size_t)(nd + tz);
    if (r & 1)
        buf[n++] = '-';
    layout = (int)((r >> 1) % 4);
    r >>= 3;
    if (layout == 0) {
        /* integer digits, sometimes ".000" after them */
        memcpy(buf + n, sig, ns);
        n += ns;
        n0 = (int)ns;
        if (r & 1)
            n += (size_t)snprintf(buf + n, DRAW_CAP - n, ".%.*s",
                                  1 + (int)((r >> 1) % 3), "000");
    } else if (layout == 1) {
        /* 0.000ddd */
        int z = (int)((r >> 2) % 12);
        n += (size_t)snprintf(buf + n, DRAW_CAP - n, "0.%.*s", z,
                              "000000000000");
        memcpy(buf + n, sig, ns);
        n += ns;
        n0 = -z;
    } else {
        /* the point inside */
        int at = ns > 1 ? 1 + (int)((r >> 2) % (ns - 1)) : 1;
        memcpy(buf + n, sig, (size_t)at);
        n += (size_t)at;
        if ((size_t)at < ns) {
            buf[n++] = '.';
            memcpy(buf + n, sig + at, ns - (size_t)at);
            n += ns - (size_t)at;
        }
        n0 = at;
    }
    r >>= 6;
    /* where the value's point lands: 0.d1.. * 10^target */
    switch (r % 10) {
    case 0:
        buf[n] = 0; /* no exponent */
        return;
    case 1:
        target = (int)((r >> 4) % 61) - 30;
        break;
    case 2:
        target = 19 + (int)((r >> 4) % 6); /* 1e21 switch */
        break;
    case 3:
        target = -9 + (int)((r >> 4) % 6); /* 1e-7 switch */
        break;
    case 4:
        target = -310 + (int)((r >> 4) % 8); /* 1e-307 limit */
        break;
    case 5:
        target = 304 + (int)((r >> 4) % 8); /* 1e308 limit */
        break;
    case 6:
        target = -330 + (int)((r >> 4) % 24); /* subnormal, underflow */
        break;
    case 7:
        target = (int)((r >> 4) % 1400) - 700; /* across and beyond */
        break;
    default:
        target = (int)((r >> 4) % 680) - 340;
        break;
    }
    r >>= 15;
    ex = target - n0;
    if (r % 64 == 0) {
        /* huge exponents: clamped by the lexer */
        n += (size_t)snprintf(buf + n, DRAW_CAP - n, "e%s%llu",
                              r & 64 ? "-" : "",
                              (unsigned long long)(rng(s) % 1000000000000ull));
        return;
    }
    buf[n++] = r & 2 ? 'E' : 'e';
    if (ex < 0 || r & 4)
        buf[n++] = ex < 0 ? '-' : '+';
    snprintf(buf + n, DRAW_CAP - n, "%s%d", r & 8 ? "00" : "",
             ex < 0 ? -ex : ex);
}

/* ------------------------------------------------------------- bench -- */

#define BN 100000
#define BROUNDS 11
static char btext[BN][48];
static size_t blen[BN];

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ns per token of the BN tokens, with the short path or without */
static double bench_once(int with_short)
{
    char o[CS_NUM_MAX];
    size_t sink = 0;
    double t0 = cpu_now();
    for (int i = 0; i < BN; i++) {
        const unsigned char *s = (const unsigned char *)btext[i], *stop;
        int simple;
        size_t n = 0;
        double v;
        cs_num_dec dec;
        cs_num_scan(s, s + blen[i], &stop, &simple, &dec);
        if (with_short)
            cs_num_canon(&dec, s, stop, &scratch, &cloc, o, &n);
        else if (!cs_num_read_dec(&dec, s, stop, &scratch, &cloc, &v))
            n = cs_num_format(v, o);
        sink += n + (unsigned char)o[0];
    }
    if (sink == 1)
        printf(" ");
    return (cpu_now() - t0) / BN * 1e9;
}

static int bench(void)
{
    static const char *const kinds[] = {"17 digits (bench_classes)",
                                        "16 digits", "1-6 digits, point",
                                        "1-15 digits, exponent"};
    uint64_t s = 7;
    for (int k = 0; k < 4; k++) {
        double a[BROUNDS], b[BROUNDS];
        for (int i = 0; i < BN; i++) {
            uint64_t r = rng(&s), d = rng(&s);
            int e = (int)((r >> 8) % 600) - 300;
            if (k == 0)
                blen[i] = (size_t)snprintf(
                    btext[i], 48, "%d.%016llue%d", (int)(r % 9) + 1,
                    (unsigned long long)(d % 10000000000000000ull), e);
            else if (k == 1)
                blen[i] = (size_t)snprintf(
                    btext[i], 48, "%d.%015llue%d", (int)(r % 9) + 1,
                    (unsigned long long)(d % 1000000000000000ull), e);
            else if (k == 2)
                blen[i] = (size_t)snprintf(btext[i], 48, "%s%d.%0*llu",
                                           r & 1 ? "-" : "", (int)(r % 100),
                                           (int)((r >> 20) % 4) + 1,
                                           (unsigned long long)(d % 10000));
            else
                blen[i] = (size_t)snprintf(
                    btext[i], 48, "%llue%d",
                    (unsigned long long)(d % 1000000000000000ull) >> (r % 50),
                    e);
        }
        for (int round = 0; round < BROUNDS; round++) {
            a[round] = bench_once(1);
            b[round] = bench_once(0);
        }
        qsort(a, BROUNDS, sizeof *a, cmp_double);
        qsort(b, BROUNDS, sizeof *b, cmp_double);
        printf("%-28s with the short path %6.1f ns/token, without %6.1f "
               "(e.g. %s)\n",
               kinds[k], a[BROUNDS / 2], b[BROUNDS / 2], btext[0]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long count =
        argc > 1 ? strtoull(argv[1], NULL, 10) : 300000ull;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 20261205ull;
    uint64_t s = seed;
    if (argc > 1 && strcmp(argv[1], "--bench") == 0)
        return bench();
    edge_cases();
    for (unsigned long long i = 0; i < count; i++) {
        char text[DRAW_CAP];
        draw(&s, text);
        check(text, NULL, i % 16 == 0);
        if (count > 1000000 && (i + 1) % 1000000 == 0) {
            fprintf(stderr, "test_numtext: %llu done, %llu differ\n", i + 1,
                    failures);
            fflush(stderr);
        }
    }
    if (cloc)
        freelocale(cloc);
    cs_buf_free(&scratch);
    printf("test_numtext: %llu number texts (seed %llu, %llu by the short "
           "path) and the edge cases: %llu differ\n",
           texts, (unsigned long long)seed, shortcut, failures);
    return failures != 0 || shortcut == 0;
}
