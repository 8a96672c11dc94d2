/*
 * test_numfmt.c -- the Ryu number printer (src/lib/numfmt.c) against the
 * old snprintf/strtod printer (numfmt_reference.c), byte for byte.
 *
 *   test_numfmt                 the suite run: edge cases, the RFC 8785
 *                               number vectors, and 10^6 doubles drawn from
 *                               four families (below), fixed seed
 *   test_numfmt COUNT [SEED]    COUNT doubles (docs/PERFORMANCE.md records
 *                               the 10^8 run); prints the tally
 *
 * Families, in turn: (1) uniformly random bit patterns (every exponent,
 * subnormals included, 15-17 digit results), (2) short decimals read with
 * strtod (1-17 random digits, exponent -330..310: exact ties, trailing
 * zeros, the tracked-exactness paths of Ryu), (3) random integers below
 * 2^64 (the 1e21 switch to exponent form), (4) the neighbours of a power of
 * 2 or of 10 (the narrow gap below a power of two, the 1e-7 and 1e21
 * boundaries).  Every result must also read back as the same double.
 * The reader (cs_num_read: Eisel-Lemire, strtod when unsure) is held to
 * strtod, bit for bit, on a quarter as many number texts: random digit
 * strings with points and exponents, and exact decimals of doubles and of
 * halfway points cut at any length.
 * Exit status 0 only when nothing differed.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "numfmt_reference.h"

static unsigned long long failures;

static uint64_t rng(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* new == reference, and strtod(new) == x; returns 1 when fine */
static int check(double x)
{
    char a[CS_NUM_MAX + 1], b[64];
    size_t na, nb;
    if (!isfinite(x))
        return 1;
    na = cs_num_format(x, a);
    nb = ref_num_format(x, b);
    a[na] = 0;
    b[nb] = 0;
    if (na != nb || memcmp(a, b, na) != 0 ||
        strtod(a, NULL) != (x == 0 ? 0 : x)) {
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        if (failures++ < 20)
            fprintf(stderr, "FAIL %016llx: new %s, reference %s\n",
                    (unsigned long long)bits, a, b);
        return 0;
    }
    return 1;
}

/* exact expectation as well as agreement */
static void expect(double x, const char *want)
{
    char a[CS_NUM_MAX + 1];
    size_t n = cs_num_format(x, a);
    a[n] = 0;
    check(x);
    if (strcmp(a, want) != 0 && failures++ < 20)
        fprintf(stderr, "FAIL %.17g: got %s, want %s\n", x, a, want);
}

static void expect_bits(uint64_t bits, const char *want)
{
    expect(from_bits(bits), want);
}

static void edge_cases(void)
{
    /* RFC 8785 Appendix B (IEEE 754 bits -> canonical text) */
    expect_bits(0x0000000000000000ull, "0");
    expect_bits(0x8000000000000000ull, "0");
    expect_bits(0x0000000000000001ull, "5e-324");
    expect_bits(0x8000000000000001ull, "-5e-324");
    expect_bits(0x7fefffffffffffffull, "1.7976931348623157e+308");
    expect_bits(0xffefffffffffffffull, "-1.7976931348623157e+308");
    expect_bits(0x4340000000000000ull, "9007199254740992");
    expect_bits(0xc340000000000000ull, "-9007199254740992");
    expect_bits(0x4430000000000000ull, "295147905179352830000");
    expect_bits(0x44b52d02c7e14af5ull, "9.999999999999997e+22");
    expect_bits(0x44b52d02c7e14af6ull, "1e+23");
    expect_bits(0x44b52d02c7e14af7ull, "1.0000000000000001e+23");
    expect_bits(0x444b1ae4d6e2ef4eull, "999999999999999700000");
    expect_bits(0x444b1ae4d6e2ef4full, "999999999999999900000");
    expect_bits(0x444b1ae4d6e2ef50ull, "1e+21");
    expect_bits(0x3eb0c6f7a0b5ed8cull, "9.999999999999997e-7");
    expect_bits(0x3eb0c6f7a0b5ed8dull, "0.000001");
    expect_bits(0x41b3de4355555553ull, "333333333.3333332");
    expect_bits(0x41b3de4355555554ull, "333333333.33333325");
    expect_bits(0x41b3de4355555555ull, "333333333.3333333");
    expect_bits(0x41b3de4355555556ull, "333333333.3333334");
    expect_bits(0x41b3de4355555557ull, "333333333.33333343");
    expect_bits(0xbecbf647612f3696ull, "-0.0000033333333333333333");
    expect_bits(0x43143ff3c1cb0959ull, "1424953923781206.2");
    /* tests/data/jcs-rfc8785/input/values.json */
    expect(333333333.33333329, "333333333.3333333");
    expect(1E30, "1e+30");
    expect(4.50, "4.5");
    expect(2e-3, "0.002");
    expect(0.000000000000000000000000001, "1e-27");
    /* boundaries of the layouts */
    expect(1e21, "1e+21");
    expect(1e20, "100000000000000000000");
    expect(1e-7, "1e-7");
    expect(1e-6, "0.000001");
    expect(1.5e-7, "1.5e-7");
    expect(0.1 + 0.2, "0.30000000000000004");
    expect(-1.5, "-1.5");
    expect(2.2250738585072014e-308, "2.2250738585072014e-308"); /* min normal */
    expect(2.225073858507201e-308,
           "2.225073858507201e-308"); /* max subnormal */
    expect(9007199254740993.0, "9007199254740992");
    expect(9007199254740994.0, "9007199254740994");
    expect(9007199254740991.0, "9007199254740991");
    for (int e = -330; e <= 310; e++) {
        char s[16];
        double p;
        snprintf(s, sizeof s, "1e%d", e);
        p = strtod(s, NULL);
        check(p);
        check(nextafter(p, 0));
        check(nextafter(p, INFINITY));
    }
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1, e);
        check(p);
        check(-p);
        check(nextafter(p, 0));
        check(nextafter(p, INFINITY));
    }
    for (uint64_t m = 0; m < 4096; m++) {
        check(from_bits(m));                         /* smallest subnormals */
        check(from_bits(0x000FFFFFFFFFFFFFull - m)); /* largest subnormals */
        check(from_bits(0x7FEFFFFFFFFFFFFFull - m)); /* largest doubles */
        check(from_bits(0x4340000000000000ull + m - 2048)); /* 2^53 */
    }
}

static double draw(uint64_t *s, unsigned family)
{
    uint64_t r = rng(s);
    switch (family % 4) {
    case 0:
        return from_bits(r);
    case 1: {
        char buf[48];
        int nd = (int)(r % 17) + 1, e = (int)((r >> 8) % 641) - 330, n = 0;
        uint64_t d = rng(s);
        if (r & (1ull << 40))
            buf[n++] = '-';
        for (int i = 0; i < nd; i++) {
            buf[n++] = (char)('0' + d % 10);
            d /= 10;
            if (!d)
                d = rng(s);
        }
        snprintf(buf + n, sizeof buf - (size_t)n, "e%d", e);
        return strtod(buf, NULL);
    }
    case 2:
        return (double)(r >> (r & 63));
    default: {
        int e = (int)(r % 2098) - 1074;
        double p = e > 308 || e < -323 ? ldexp(1, e % 1000)
                   : (r >> 20) & 1     ? ldexp(1, e)
                                       : pow(10, e);
        int steps = (int)((r >> 12) % 5);
        for (int i = 0; i < steps; i++)
            p = nextafter(p, (r >> 11) & 1 ? INFINITY : 0);
        return p;
    }
    }
}

/* ------------------------------------------------------------ reading -- */

static cs_buf scratch;
static locale_t cloc;

/* cs_num_read (Eisel-Lemire, strtod when unsure) == strtod, bit for bit */
static void check_read(const char *text)
{
    const unsigned char *s = (const unsigned char *)text, *stop;
    size_t n = strlen(text);
    int simple = 0;
    double got = 0, want;
    chatseal_error e;
    if (cs_num_lex(s, s + n, &stop, &simple) || stop != s + n)
        return; /* not a JSON number token */
    e = cs_num_read(s, s + n, &scratch, &cloc, &got);
    want = strtod(text, NULL);
    if (!isfinite(want) ? e != CHATSEAL_E_INVALID_NUMBER
                        : e || memcmp(&got, &want, sizeof got) != 0) {
        if (failures++ < 20)
            fprintf(stderr, "FAIL read %s: got %.17g (%s), strtod %.17g\n",
                    text, got, chatseal_error_name(e), want);
    }
}

static void read_edge_cases(void)
{
    static const char *const t[] = {
        "0",
        "-0",
        "0.0",
        "-0.0e5",
        "1",
        "1e0",
        "1E+2",
        "0.1",
        "1e-7",
        "1e21",
        "1e23",
        "9007199254740993",
        "9007199254740992.5",
        "2.2250738585072011e-308",
        "2.2250738585072014e-308",
        "4.9406564584124654e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "1e309",
        "-1e400",
        "1e-400",
        "123456789012345678901234567890",
        "0.000000000000000000000000000000000000000001",
        "7.2057594037927933e16",
        "3.0000000000000000000000000000001",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "0.30000000000000004",
        "1e99999999999",
        "1e-99999999999",
        "100000000000000000000000000000000000000000000e-44"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        check_read(t[i]);
}

/* A random number token: 1-30 digits, maybe a point, maybe an exponent;
 * or the exact decimal of a random double, or of a halfway point between
 * two doubles, cut anywhere (the inputs where rounding is hardest). */
static void draw_read(uint64_t *s, char *buf, size_t cap)
{
    uint64_t r = rng(s);
    size_t n = 0;
    if (r % 4 == 0) {
        double x = from_bits(rng(s) & ~(1ull << 63));
        uint64_t b;
        int prec = (int)((r >> 3) % 60) + 1;
        if (!isfinite(x))
            x = 1.5;
        memcpy(&b, &x, sizeof b);
        if ((r >> 2) & 1) {
            /* the halfway point to the next double, exact in long double
             * where it is wider (x86), printed to prec digits */
            long double mid =
                ((long double)x + (long double)from_bits(b + 1)) / 2;
            snprintf(buf, cap, "%.*Le", prec, mid);
        } else {
            snprintf(buf, cap, "%.*e", prec, x);
        }
        return;
    }
    if (r & 16)
        buf[n++] = '-';
    int nd = (int)((r >> 8) % 30) + 1, point = (int)((r >> 16) % 32);
    uint64_t d = rng(s);
    for (int i = 0; i < nd; i++) {
        if (i == point && i > 0)
            buf[n++] = '.';
        buf[n++] = (char)('0' + d % 10);
        d /= 10;
        if (!d)
            d = rng(s);
    }
    if (buf[n - 1] == '.')
        n--;
    if (r & 32)
        snprintf(buf + n, cap - n, "e%d", (int)((r >> 24) % 700) - 350);
    else
        buf[n] = 0;
}

int main(int argc, char **argv)
{
    unsigned long long count =
        argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000ull;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 20261205ull;
    uint64_t s = seed;
    edge_cases();
    read_edge_cases();
    for (unsigned long long i = 0; i < count; i++) {
        char text[128];
        check(draw(&s, (unsigned)i));
        if (i % 4 == 0) { /* the reader: a quarter as many */
            draw_read(&s, text, sizeof text);
            check_read(text);
        }
        if (count > 1000000 && (i + 1) % 1000000 == 0) {
            /* long runs report as they go, so a stopped run still counts */
            fprintf(stderr, "test_numfmt: %llu done, %llu differ\n", i + 1,
                    failures);
            fflush(stderr);
        }
    }
    if (cloc)
        freelocale(cloc);
    cs_buf_free(&scratch);
    printf("test_numfmt: %llu random doubles printed, %llu number texts "
           "read (seed %llu), and the edge cases: %llu differ\n",
           count, (count + 3) / 4, (unsigned long long)seed, failures);
    return failures != 0;
}
