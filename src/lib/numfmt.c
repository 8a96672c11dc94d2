/*
 * numfmt.c -- the number codec of the canonicalizer: JSON number tokens
 * lexed with jansson's grammar and read with strtod, and written as the
 * shortest round-trip digits of the double, ECMAScript layout.
 *
 * Why: RFC 8785 writes every number as ECMAScript's Number.prototype.toString
 * does, which needs the fewest decimal digits that read back as the same
 * double.  Finding them by printing with more and more precision and reading
 * each try back (snprintf/strtod up to 17 times, the first version of this
 * code, now tests/support/numfmt_reference.c) cost microseconds per number: a
 * body of 17-digit numbers cost 30x the CPU of text.  This is Ryu (Ulf Adams,
 * "Ryu: fast float-to-string conversion", PLDI 2018), which computes the
 * digits in a fixed number of 64-bit operations.
 *
 * How: a double is m2 * 2^e2.  The decimals that round to it form an
 * interval around it, whose ends (at a quarter-ulp resolution: mv = 4 m2,
 * mp = mv + 2, mm = mv - 1 or mv - 2 at a power of two, where the gap below
 * is half as wide) are scaled by 2^e2 / 10^e10 with one 64x128-bit multiply
 * by a precomputed power of 5 (numtab.h; gen_numtab.py makes and checks it),
 * giving vm < vr < vp with e10 chosen so that at most a couple of digits too
 * many are kept.  Then digits are dropped from all three while vp and vm
 * still differ in what remains: that is the shortest length with a decimal
 * inside the interval, and vr rounded to it (by the last dropped digit) the
 * closest such decimal.  The scaled values are floors, so the rare cases
 * where exactness matters are tracked: whether the dropped part of vm (an
 * included bound, when m2 is even, since the reader rounds half to even) or
 * of vr was exactly zero, for the bounds and for a tie (exact ...5000,
 * rounded to even).
 *
 * Byte-identical output to the old printer for every double is the contract:
 * tests/unit/test_numfmt.c compares them on a million doubles in the test
 * suite, tests/unit/numfmt_diff.c on 10^8 (docs/PERFORMANCE.md), and
 * fuzz/fuzz_number.c on whatever libFuzzer finds.
 */
#include "numfmt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "numtab.h"

#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                            \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NF_LE 1
#else
#define NF_LE 0
#endif

#if defined(__SIZEOF_INT128__) && !defined(CS_NUMFMT_PORTABLE)
__extension__ typedef unsigned __int128 nf_u128;

/* (m * mul) >> j for the 128-bit mul (low word first), j >= 64. */
static uint64_t nf_mul_shift(uint64_t m, const uint64_t *mul, int j)
{
    nf_u128 b0 = (nf_u128)m * mul[0];
    nf_u128 b2 = (nf_u128)m * mul[1];
    return (uint64_t)(((b0 >> 64) + b2) >> (j - 64));
}
#else
/* The same with 64-bit halves (also built with CS_NUMFMT_PORTABLE by the
 * tests, so that this path is checked on every machine): m < 2^55 and mul <
 * 2^123, so the product has at most 178 bits and the result fits 64 once
 * shifted by j >= 115. */
static void nf_mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *lo = (mid << 32) | (uint32_t)p00;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

static uint64_t nf_mul_shift(uint64_t m, const uint64_t *mul, int j)
{
    uint64_t h0, l0, h1, l1, mid, hi;
    int s = j - 64;
    nf_mul64(m, mul[0], &h0, &l0);
    nf_mul64(m, mul[1], &h1, &l1);
    mid = h0 + l1;
    hi = h1 + (mid < h0);
    (void)l0;
    return s >= 64 ? hi >> (s - 64) : (mid >> s) | (hi << (64 - s));
}
#endif

static int nf_clz64(uint64_t v)
{
#if defined(__GNUC__)
    return __builtin_clzll(v);
#else
    int n = 0;
    while (!(v >> 63)) {
        v <<= 1;
        n++;
    }
    return n;
#endif
}

/* ceil(log2(5^e)), 1 for e = 0; floor(log10(2^e)); floor(log10(5^e)), all
 * for 0 <= e <= 1076 (gen_numtab.py checks them against exact values). */
static int nf_pow5bits(int e)
{
    return (int)(((uint32_t)e * 1217359u) >> 19) + 1;
}

static int nf_log10pow2(int e)
{
    return (int)(((uint32_t)e * 78913u) >> 18);
}

static int nf_log10pow5(int e)
{
    return (int)(((uint32_t)e * 732923u) >> 20);
}

static int nf_pow5_factor(uint64_t v)
{
    int n = 0;
    while (v && v % 5 == 0) {
        v /= 5;
        n++;
    }
    return n;
}

static int nf_multiple_of_pow5(uint64_t v, int p)
{
    return nf_pow5_factor(v) >= p;
}

static int nf_multiple_of_pow2(uint64_t v, int p)
{
    return (v & ((UINT64_C(1) << p) - 1)) == 0;
}

/* The decimal interval of m2 * 2^(e2 + 2) scaled by 10^-e10 (see the
 * opening comment); sets the exactness flags.  mm_shift is 1 unless the
 * gap below is the narrow one. */
struct nf_scaled {
    uint64_t vr, vp, vm;
    int e10;
    int vm_zeros, vr_zeros; /* the dropped part is exactly zero */
};

static void nf_scale(uint64_t m2, int e2, unsigned mm_shift, int accept,
                     struct nf_scaled *s)
{
    uint64_t mv = 4 * m2;
    s->vm_zeros = s->vr_zeros = 0;
    if (e2 >= 0) {
        int q = nf_log10pow2(e2) - 1, k, i;
        if (q < 0)
            q = 0;
        k = CS_POW5INV_BITS + nf_pow5bits(q) - 1;
        i = -e2 + q + k;
        s->e10 = q;
        s->vr = nf_mul_shift(mv, cs_pow5inv[q], i);
        s->vp = nf_mul_shift(mv + 2, cs_pow5inv[q], i);
        s->vm = nf_mul_shift(mv - 1 - mm_shift, cs_pow5inv[q], i);
        if (q <= 21) {
            /* at most one of mm, mv, mp is a multiple of 5 */
            if (mv % 5 == 0)
                s->vr_zeros = nf_multiple_of_pow5(mv, q);
            else if (accept)
                s->vm_zeros = nf_multiple_of_pow5(mv - 1 - mm_shift, q);
            else
                s->vp -= (uint64_t)nf_multiple_of_pow5(mv + 2, q);
        }
    } else {
        int q = nf_log10pow5(-e2) - 1, i, k, j;
        if (q < 0)
            q = 0;
        i = -e2 - q;
        k = nf_pow5bits(i) - CS_POW5_BITS;
        j = q - k;
        s->e10 = q + e2;
        s->vr = nf_mul_shift(mv, cs_pow5[i], j);
        s->vp = nf_mul_shift(mv + 2, cs_pow5[i], j);
        s->vm = nf_mul_shift(mv - 1 - mm_shift, cs_pow5[i], j);
        if (q <= 1) {
            /* mv = 4 m2 has two trailing zero bits, mm has one or none */
            s->vr_zeros = 1;
            if (accept)
                s->vm_zeros = mm_shift == 1 || q == 0;
            else
                s->vp--;
        } else if (q < 63) {
            /* vr = mv * 5^i / 2^q is exact when 2^q divides mv */
            s->vr_zeros = nf_multiple_of_pow2(mv, q);
        }
    }
}

/* Drops digits while the interval still holds a shorter decimal; returns
 * the chosen digits as an integer and adds the dropped count to *e10. */
static uint64_t nf_shorten(struct nf_scaled *s, int accept)
{
    uint64_t vr = s->vr, vp = s->vp, vm = s->vm;
    unsigned last = 0;
    int removed = 0;
    if (s->vm_zeros || s->vr_zeros) {
        /* rare: an exact bound or an exact tie matters */
        int vmz = s->vm_zeros, vrz = s->vr_zeros;
        while (vp / 10 > vm / 10) {
            vmz &= vm % 10 == 0;
            vrz &= last == 0;
            last = (unsigned)(vr % 10);
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        if (vmz) {
            /* the lower bound is included and ends in zeros: drop them */
            while (vm % 10 == 0) {
                vrz &= last == 0;
                last = (unsigned)(vr % 10);
                vr /= 10;
                vp /= 10;
                vm /= 10;
                removed++;
            }
        }
        if (vrz && last == 5 && vr % 2 == 0)
            last = 4; /* an exact tie rounds to even */
        s->e10 += removed;
        return vr + ((vr == vm && (!accept || !vmz)) || last >= 5);
    }
    if (vp / 100 > vm / 100) {
        /* usually two digits go at once: one division instead of two */
        last = (unsigned)(vr % 100) >= 50 ? 5 : 0;
        vr /= 100;
        vp /= 100;
        vm /= 100;
        removed += 2;
    }
    while (vp / 10 > vm / 10) {
        last = (unsigned)(vr % 10);
        vr /= 10;
        vp /= 10;
        vm /= 10;
        removed++;
    }
    s->e10 += removed;
    return vr + (vr == vm || last >= 5);
}

/* Number of decimal digits of v < 10^17 (Ryu's outputs for doubles):
 * floor(log10) estimated from the bit length, corrected by one compare. */
static int nf_len17(uint64_t v)
{
    static const uint64_t p10[] = {UINT64_C(1),
                                   UINT64_C(10),
                                   UINT64_C(100),
                                   UINT64_C(1000),
                                   UINT64_C(10000),
                                   UINT64_C(100000),
                                   UINT64_C(1000000),
                                   UINT64_C(10000000),
                                   UINT64_C(100000000),
                                   UINT64_C(1000000000),
                                   UINT64_C(10000000000),
                                   UINT64_C(100000000000),
                                   UINT64_C(1000000000000),
                                   UINT64_C(10000000000000),
                                   UINT64_C(100000000000000),
                                   UINT64_C(1000000000000000),
                                   UINT64_C(10000000000000000),
                                   UINT64_C(100000000000000000)};
    int t = ((64 - nf_clz64(v | 1)) * 1233) >> 12;
    return t + (v >= p10[t]);
}

/* "00" "01" ... "99": two digits per division when printing */
static const char nf_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536"
    "37383940414243444546474849505152535455565758596061626364656667686970717273"
    "74757677787980818283848586878889909192939495969798990";

/* v < 10^8 as exactly 8 digits */
static void nf_put8(char *d, uint32_t v)
{
    uint32_t a = v / 10000, b = v % 10000;
    memcpy(d, nf_pairs + 2 * (a / 100), 2);
    memcpy(d + 2, nf_pairs + 2 * (a % 100), 2);
    memcpy(d + 4, nf_pairs + 2 * (b / 100), 2);
    memcpy(d + 6, nf_pairs + 2 * (b % 100), 2);
}

/* v < 10^17 as exactly 17 digits in t[0..17): three independent parts (a
 * chain of eight divisions by 100 was a fifth of the printer's time) */
static void nf_put17(char *t, uint64_t v)
{
    uint64_t hi = v / 100000000u;
    t[0] = (char)('0' + hi / 100000000u);
    nf_put8(t + 1, (uint32_t)(hi % 100000000u));
    nf_put8(t + 9, (uint32_t)(v % 100000000u));
}

/*
 * The shortest digits of x (finite, > 0) as 17 digits with leading zeros in
 * t[0..17) (t has NF_T bytes, the rest zero, so that whole blocks can be
 * copied from any digit on); the significant ones are t[*first, *first + k)
 * with k returned (trailing zeros dropped) and x == 0.d1..dk * 10^*point.
 */
#define NF_T 40
static int nf_shortest17(double x, char t[NF_T], int *first, int *point)
{
    uint64_t bits, mant, out;
    unsigned bexp, mm_shift;
    int e2, accept, k;
    struct nf_scaled s;

    memcpy(&bits, &x, sizeof bits);
    mant = bits & ((UINT64_C(1) << 52) - 1);
    bexp = (unsigned)(bits >> 52) & 0x7FF;
    if (bexp == 0) {
        e2 = 1 - 1075 - 2; /* subnormal: no hidden bit */
    } else {
        e2 = (int)bexp - 1075 - 2;
        mant |= UINT64_C(1) << 52;
    }
    accept = (mant & 1) == 0;
    mm_shift = mant != (UINT64_C(1) << 52) || bexp <= 1;
    nf_scale(mant, e2, mm_shift, accept, &s);
    out = nf_shorten(&s, accept);
    /* 17 digits with leading zeros */
    k = nf_len17(out);
    *point = s.e10 + k;
    *first = 17 - k;
    nf_put17(t, out);
    while (k > 1 && t[*first + k - 1] == '0')
        k--; /* trailing zeros dropped */
    return k;
}

int cs_num_shortest(double x, char digits[17], int *point)
{
    char t[NF_T] = {0};
    int first, k = nf_shortest17(x, t, &first, point);
    memcpy(digits, t + first, (size_t)k);
    return k;
}

/* Writes the decimal e (|e| < 1000) and returns its length; may store 4
 * bytes.  Little-endian machines store the three digits as one word
 * shifted past the leading zeros: the exponent's length is random in a body
 * of numbers, and a digit loop mispredicted its end. */
static size_t nf_uint(char *o, unsigned e)
{
#if NF_LE
    unsigned len = 1u + (unsigned)(e >= 10) + (unsigned)(e >= 100);
    uint32_t w = (uint32_t)('0' + e / 100) |
                 (uint32_t)('0' + e / 10 % 10) << 8 |
                 (uint32_t)('0' + e % 10) << 16;
    w >>= 8 * (3 - len);
    memcpy(o, &w, 4);
    return len;
#else
    char t[4];
    size_t n = 0, i;
    do {
        t[n++] = (char)('0' + e % 10);
        e /= 10;
    } while (e);
    for (i = 0; i < n; i++)
        o[i] = t[n - 1 - i];
    return n;
#endif
}

/*
 * ECMAScript's layout of the digits d[0..k) (no trailing zero, k <= 17)
 * with value 0.d1..dk * 10^n at buf + o; returns the new length.  Fixed-size
 * copies (16 or 17 bytes, whatever the digit count) compile to two vector
 * moves instead of a call per piece: d must have 17 readable bytes after
 * it and 16 after d + n, and buf CS_NUM_MAX bytes.
 */
static size_t nf_layout(char *buf, size_t o, const char *d, int k, int n)
{
    if (k <= n && n <= 21) {
        /* an integer: the digits, then zeros */
        memcpy(buf + o, d, 17);
        memset(buf + o + k, '0', (size_t)(n - k));
        o += (size_t)n;
    } else if (0 < n && n <= 21) {
        /* n < k <= 17 */
        memcpy(buf + o, d, 16);
        buf[o + (size_t)n] = '.';
        memcpy(buf + o + (size_t)n + 1, d + n, 16);
        o += (size_t)k + 1;
    } else if (-6 < n && n <= 0) {
        memcpy(buf + o, "0.00000", 8);
        memcpy(buf + o + 2 + (size_t)-n, d, 17);
        o += 2 + (size_t)-n + (size_t)k;
    } else {
        int e = n - 1;
        buf[o] = d[0];
        buf[o + 1] = '.';
        memcpy(buf + o + 2, d + 1, 16);
        o += k > 1 ? (size_t)k + 1 : 1;
        buf[o++] = 'e';
        buf[o++] = e < 0 ? '-' : '+';
        o += nf_uint(buf + o, (unsigned)(e < 0 ? -e : e));
    }
    return o;
}

size_t cs_num_format(double v, char *buf)
{
    char t[NF_T] = {0};
    int k, n, first;
    size_t o = 0;
    if (v == 0) {
        buf[0] = '0';
        return 1;
    }
    if (v < 0) {
        buf[o++] = '-';
        v = -v;
    }
    k = nf_shortest17(v, t, &first, &n);
    return nf_layout(buf, o, t + first, k, n);
}

/* ------------------------------------------------------------ reading -- */

static int nf_isdigit(unsigned c)
{
    return c - '0' < 10;
}

/* ---------------------------------------------- lexing and the digits -- */

/*
 * Lexing and collecting the digits are one pass: the token is read as
 * w * 10^q with its first 19 significant digits in w (trunc set when a
 * non-zero digit was dropped), exponents clamped beyond +-100000 (far
 * outside any double, where the fast path gives up anyway).  Runs of digits
 * are read 8 at a time while w has room: a body of 17-digit numbers spends
 * its time here and in the printer.
 */
struct nf_acc {
    uint64_t m;
    int64_t shift;
    int nd, trunc;
};

#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NF_SWAR 1
/* 1 when the 8 bytes of x (little-endian) are all ASCII digits */
static int nf_eight_digits(uint64_t x)
{
    return (((x + UINT64_C(0x4646464646464646)) |
             (x - UINT64_C(0x3030303030303030))) &
            UINT64_C(0x8080808080808080)) == 0;
}

/* the value of 8 ASCII digits, the first in the low byte: pairs, then
 * quads, then the whole, each step one multiply */
static uint32_t nf_parse_eight(uint64_t x)
{
    x -= UINT64_C(0x3030303030303030);
    x = (x * 10 + (x >> 8)) & UINT64_C(0x00FF00FF00FF00FF);
    x = (x * 100 + (x >> 16)) & UINT64_C(0x0000FFFF0000FFFF);
    return (uint32_t)((x * 10000 + (x >> 32)) & 0xFFFFFFFF);
}
#else
#define NF_SWAR 0
#endif

/* The run of digits at *pp into a (frac: after the point). */
static void nf_digits(const unsigned char **pp, const unsigned char *end,
                      int frac, struct nf_acc *a)
{
    const unsigned char *p = *pp;
    while (a->m == 0 && p < end && *p == '0') {
        a->shift -= frac; /* a leading zero: only its place counts */
        p++;
    }
#if NF_SWAR
    while (a->nd <= 11 && end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        if (!nf_eight_digits(x))
            break;
        a->m = a->m * 100000000u + nf_parse_eight(x);
        a->nd += 8;
        a->shift -= 8 * frac;
        p += 8;
    }
#endif
    for (; p < end && nf_isdigit(*p); p++) {
        unsigned d = (unsigned)*p - '0';
        if (a->m == 0 && d == 0) {
            a->shift -= frac;
        } else if (a->nd < 19) {
            a->m = a->m * 10 + d;
            a->nd++;
            a->shift -= frac;
        } else {
            a->shift += !frac; /* dropped: an integer digit still scales */
            a->trunc |= d != 0;
        }
    }
    *pp = p;
}

chatseal_error cs_num_scan(const unsigned char *p, const unsigned char *end,
                           const unsigned char **stop, int *simple,
                           cs_num_dec *dec)
{
    const unsigned char *s = p;
    struct nf_acc a = {0, 0, 0, 0};
    int plain = 1, eneg = 0;
    int64_t ex = 0;
    *stop = p;
    dec->neg = p < end && *p == '-';
    p += dec->neg;
    if (p < end && *p == '0') {
        p++;
        if (p < end && nf_isdigit(*p))
            goto bad;
    } else if (p < end && nf_isdigit(*p)) {
        nf_digits(&p, end, 0, &a);
    } else {
        goto bad;
    }
    if (p < end && *p == '.') {
        plain = 0;
        p++;
        if (p == end || !nf_isdigit(*p))
            goto bad;
        nf_digits(&p, end, 1, &a);
    }
    if (p < end && (*p | 0x20) == 'e') {
        plain = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end || !nf_isdigit(*p))
            goto bad;
        for (; p < end && nf_isdigit(*p); p++)
            if (ex < 100000)
                ex = ex * 10 + (*p - '0');
    }
    *stop = p;
    *simple = plain && (p - s) - (*s == '-') <= 15;
    dec->w = a.m;
    dec->q = (eneg ? -ex : ex) + a.shift;
    dec->trunc = a.trunc;
    return CHATSEAL_OK;
bad:
    *stop = p;
    return CHATSEAL_E_MALFORMED_JSON;
}

chatseal_error cs_num_lex(const unsigned char *p, const unsigned char *end,
                          const unsigned char **stop, int *simple)
{
    cs_num_dec dec;
    return cs_num_scan(p, end, stop, simple, &dec);
}

/* hi:lo = a * b */
static void nf_mul128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
#if defined(__SIZEOF_INT128__) && !defined(CS_NUMFMT_PORTABLE)
    nf_u128 p = (nf_u128)a * b;
    *hi = (uint64_t)(p >> 64);
    *lo = (uint64_t)p;
#else
    nf_mul64(a, b, hi, lo);
#endif
}

/*
 * w * 10^q as the nearest double, by the Eisel-Lemire method (D. Lemire,
 * "Number parsing at a gigabyte per second", 2021): w normalized times the
 * 128-bit 10^q of numtab.h (rounded down) gives the top bits of the exact
 * product with an error below one unit of the low word; when that error
 * could change the rounding, or the value is subnormal or out of range, it
 * gives up (0) and the caller asks strtod.  1 and *out on success.
 */
static int nf_eisel_lemire(uint64_t w, int64_t q, int neg, double *out)
{
    const uint64_t *t;
    uint64_t hi, lo, m, bits;
    int clz, msb;
    int64_t e2;
    if (w == 0) {
        *out = neg ? -0.0 : 0.0;
        return 1;
    }
    if (q < CS_POW10_MIN || q > CS_POW10_MAX)
        return 0;
    t = cs_pow10[q - CS_POW10_MIN];
    clz = nf_clz64(w);
    w <<= clz;
    nf_mul128(w, t[1], &hi, &lo);
    if ((hi & 0x1FF) == 0x1FF && lo + w < w) {
        /* the low word could carry into the bits kept: widen */
        uint64_t yhi, ylo, mlo, mhi;
        nf_mul128(w, t[0], &yhi, &ylo);
        mlo = lo + yhi;
        mhi = hi + (mlo < lo);
        if ((mhi & 0x1FF) == 0x1FF && mlo + 1 == 0 && ylo + w < w)
            return 0;
        hi = mhi;
        lo = mlo;
    }
    msb = (int)(hi >> 63);
    m = hi >> (msb + 9); /* 54 bits: 53 and a rounding bit */
    e2 = (int64_t)cs_pow10_e2[q - CS_POW10_MIN] + 64 + 1023 - clz - (1 ^ msb);
    if (lo == 0 && (hi & 0x1FF) == 0 && (m & 3) == 1)
        return 0; /* exactly halfway, maybe: the dropped bits are unknown */
    m += m & 1;
    m >>= 1;
    if (m >> 53) {
        m >>= 1;
        e2++;
    }
    if (e2 <= 0 || e2 >= 0x7FF)
        return 0; /* subnormal, infinite: strtod */
    bits = (uint64_t)e2 << 52 | (m & ((UINT64_C(1) << 52) - 1));
    if (neg)
        bits |= UINT64_C(1) << 63;
    memcpy(out, &bits, sizeof *out);
    return 1;
}

chatseal_error cs_num_read_dec(const cs_num_dec *d, const unsigned char *s,
                               const unsigned char *e, cs_buf *scratch,
                               locale_t *cloc, double *v)
{
    size_t n = (size_t)(e - s);
    locale_t old;
    if (nf_eisel_lemire(d->w, d->q, d->neg, v)) {
        double up;
        /* with digits dropped, the value is between w and w + 1 (times
         * 10^q): fine when both ends round to the same double */
        if (!d->trunc ||
            (nf_eisel_lemire(d->w + 1, d->q, d->neg, &up) && up == *v))
            return CHATSEAL_OK;
    }
    if (!*cloc) {
        *cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (!*cloc)
            return CHATSEAL_E_NO_MEMORY;
    }
    scratch->n = 0;
    scratch->oom = 0;
    if (cs_buf_reserve(scratch, n))
        return CHATSEAL_E_NO_MEMORY;
    memcpy(scratch->p, s, n);
    scratch->p[n] = 0;
    old = uselocale(*cloc);
    *v = strtod(scratch->p, NULL);
    uselocale(old);
    if (isinf(*v) || isnan(*v))
        return CHATSEAL_E_INVALID_NUMBER;
    return CHATSEAL_OK;
}

chatseal_error cs_num_read(const unsigned char *s, const unsigned char *e,
                           cs_buf *scratch, locale_t *cloc, double *v)
{
    const unsigned char *stop;
    int simple;
    cs_num_dec d;
    if (cs_num_scan(s, e, &stop, &simple, &d) || stop != e)
        return CHATSEAL_E_MALFORMED_JSON; /* not a lexed token */
    return cs_num_read_dec(&d, s, e, scratch, cloc, v);
}

/* ------------------------------------------- short inputs, no double -- */

/*
 * A token of at most 15 significant digits well inside the normal range is
 * its own canonical form: only the ECMAScript layout of its digits is
 * needed, not the double.  The argument, for D = c * 10^q != 0, c < 10^15
 * with no trailing zero (k <= 15 digits) and 10^-307 <= |D| < 10^308,
 * i.e. -306 <= n <= 308 for D = 0.d1..dk * 10^n:
 *
 * - x, the double nearest D, is normal and finite (2^-1022 < 10^-307 and
 *   10^308 < DBL_MAX), so the decimals that read as x lie in an interval
 *   around x at most one ulp wide, ulp(x) <= 2^-52 |x|.
 * - Two distinct decimals of at most 15 significant digits cannot both lie
 *   in it: if 10^E <= D1 < D2 < 10^(E+1) (or more), both are multiples of
 *   10^(E-14), so D2 - D1 >= 10^-14 * 10^E.  The interval is at most
 *   2^-52 x wide, and x <= D1 + 2^-52 x, so x < 10^(E+1) * (1 + 2^-51)
 *   and the width is under 2.3e-15 * 10^E: less than a quarter of the gap.
 *   (DBL_DIG = 15 is this fact.)
 * - The shortest round-trip digits of x have at most k digits (D's own
 *   digits read as x), and any candidate of at most k <= 15 digits other
 *   than D would be a second such decimal in the interval.  So the printer
 *   must return D's digits, with no choice among several to make.
 *
 * -0 and every zero print "0", as cs_num_format does.  Everything else
 * (16 or more digits, digits cut off by the reader, the edges of the
 * range) takes the full path; tests/unit/test_numtext.c compares the two
 * on random number texts.
 */
size_t cs_num_canon_exact(const cs_num_dec *d, char *buf)
{
    char t[NF_T];
    uint64_t c = d->w;
    int64_t q = d->q, n;
    int k;
    size_t o = 0;
    if (d->trunc)
        return 0; /* more than 19 digits: not short */
    if (c == 0) {
        buf[0] = '0';
        return 1;
    }
    while (c % 10 == 0) {
        c /= 10;
        q++;
    }
    if (c >= UINT64_C(1000000000000000))
        return 0;
    k = nf_len17(c);
    n = q + k;
    if (n < -306 || n > 308)
        return 0;
    if (d->neg)
        buf[o++] = '-';
    memset(t, 0, sizeof t);
    nf_put17(t, c);
    return nf_layout(buf, o, t + 17 - k, k, (int)n);
}

/* One call from the parser instead of two (read, then format), and a token
 * of more than 15 digits with no trailing zero does not try the short path:
 * an unconditional try cost 4-6% of a body of 17-digit numbers. */
chatseal_error cs_num_canon(const cs_num_dec *d, const unsigned char *s,
                            const unsigned char *e, cs_buf *scratch,
                            locale_t *cloc, char *buf, size_t *len)
{
    double v;
    chatseal_error err;
    if (!d->trunc && (d->w < UINT64_C(1000000000000000) || d->w % 10 == 0)) {
        *len = cs_num_canon_exact(d, buf);
        if (*len)
            return CHATSEAL_OK;
    }
    err = cs_num_read_dec(d, s, e, scratch, cloc, &v);
    if (!err)
        *len = cs_num_format(v, buf);
    return err;
}
