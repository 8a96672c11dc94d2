/*
 * numfmt_reference.c -- the number printer fastcanon.c had before Ryu
 * (src/lib/numfmt.c), moved here unchanged in substance to be the reference
 * the new one is compared with byte for byte (test_numfmt.c,
 * fuzz/fuzz_number.c).
 *
 * It is slow but simple to trust: for each length from 1 to 17 digits it
 * prints the correctly rounded candidate with snprintf("%.*e") and reads it
 * back with strtod (both exact in glibc), and also tries the candidate's
 * neighbour on the other side of x; the first length where one of them
 * reads back as x wins.
 */
#include "numfmt_reference.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses "d.ddde[+-]x" from printf into digits (no dot) and exponent. */
static int sci_parse(const char *s, char *digits, int *exp10)
{
    int k = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[k++] = *s;
    *exp10 = *s ? atoi(s + 1) : 0;
    digits[k] = 0;
    return k;
}

/* Value of digits d[0..k) as d0.d1d2.. x 10^e, read back with strtod. */
static double sci_value(const char *d, int k, int e)
{
    char buf[48];
    int i, n = 0;
    buf[n++] = d[0];
    if (k > 1) {
        buf[n++] = '.';
        for (i = 1; i < k; i++)
            buf[n++] = d[i];
    }
    snprintf(buf + n, sizeof(buf) - (size_t)n, "e%d", e);
    return strtod(buf, NULL);
}

/* One unit in the last of the k digits c[] towards x from y; adjusts *ce. */
static void neighbour(char *c, int k, int *ce, int up)
{
    int i;
    if (up) {
        for (i = k - 1; i >= 0 && c[i] == '9'; i--)
            c[i] = '0';
        if (i < 0) {
            c[0] = '1'; /* 9.99 -> 10.0: same digits, next exponent */
            (*ce)++;
        } else {
            c[i]++;
        }
        return;
    }
    for (i = k - 1; i > 0 && c[i] == '0'; i--)
        c[i] = '9';
    c[i]--; /* c[0] is never 0 */
    if (c[0] == '0') {
        /* 1.00 -> 0.99: shift to 9.9(9) with one more 9 */
        memmove(c, c + 1, (size_t)k);
        c[k - 1] = '9';
        c[k] = 0;
        (*ce)--;
    }
}

/* Shortest digits that read back as x (> 0, finite): the fewest digits,
 * and among those the closest to x.  x = 0.d1..dk x 10^n. */
static int shortest(double x, char *digits, int *n)
{
    char buf[64], d[32];
    int prec, k, e;
    for (prec = 1; prec <= 17; prec++) {
        double y;
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
        k = sci_parse(buf, d, &e);
        y = strtod(buf, NULL);
        if (y != x) {
            char c[32];
            int ce = e;
            memcpy(c, d, (size_t)k + 1);
            neighbour(c, k, &ce, y < x);
            if (sci_value(c, k, ce) != x)
                continue;
            memcpy(d, c, (size_t)k + 1);
            e = ce;
        }
        break;
    }
    if (prec > 17) {
        /* unreachable: 17 significant digits always round-trip */
        snprintf(buf, sizeof(buf), "%.16e", x);
        k = sci_parse(buf, d, &e);
    }
    while (k > 1 && d[k - 1] == '0')
        k--;
    memcpy(digits, d, (size_t)k);
    *n = e + 1;
    return k;
}

size_t ref_num_format(double v, char *buf)
{
    static locale_t cloc;
    locale_t old;
    char d[20];
    int k, n, i;
    size_t o = 0;
    if (v == 0) {
        buf[0] = '0';
        return 1;
    }
    if (!cloc)
        cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    old = uselocale(cloc);
    if (v < 0) {
        buf[o++] = '-';
        v = -v;
    }
    k = shortest(v, d, &n);
    if (k <= n && n <= 21) {
        for (i = 0; i < k; i++)
            buf[o++] = d[i];
        for (i = k; i < n; i++)
            buf[o++] = '0';
    } else if (0 < n && n <= 21) {
        for (i = 0; i < n; i++)
            buf[o++] = d[i];
        buf[o++] = '.';
        for (i = n; i < k; i++)
            buf[o++] = d[i];
    } else if (-6 < n && n <= 0) {
        buf[o++] = '0';
        buf[o++] = '.';
        for (i = 0; i < -n; i++)
            buf[o++] = '0';
        for (i = 0; i < k; i++)
            buf[o++] = d[i];
    } else {
        int e = n - 1;
        buf[o++] = d[0];
        if (k > 1) {
            buf[o++] = '.';
            for (i = 1; i < k; i++)
                buf[o++] = d[i];
        }
        buf[o++] = 'e';
        buf[o++] = e < 0 ? '-' : '+';
        o += (size_t)snprintf(buf + o, 8, "%d", e < 0 ? -e : e);
    }
    uselocale(old);
    return o;
}
