/*
 * fuzz_number.c -- the number printer (src/lib/numfmt.c) under libFuzzer.
 *
 * The first 8 bytes of the input (zero-padded) are the bits of a double.
 * Properties: for a finite one, the Ryu printer writes exactly what the old
 * snprintf/strtod printer (tests/support/numfmt_reference.c) writes, and strtod
 * reads it back as the same double (-0 as 0); NaN and infinities are not
 * numbers JSON can hold and are skipped.  The bytes after the first 8, when
 * they are one number token, must read as strtod reads them, and
 * cs_num_canon (whose short path lays out tokens of at most 15 significant
 * digits without a double) must write what cs_num_format writes for that
 * double.  Any difference aborts.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "numfmt.h"
#include "numfmt_reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cs_num_canon (with its short path for <= 15 significant digits) writes
 * what cs_num_format writes for the double cs_num_read gave (e, v), and
 * fails the same way. */
static void check_canon(const unsigned char *s, size_t n, chatseal_error e,
                        double v)
{
    static cs_buf scratch;
    static locale_t cloc;
    const unsigned char *stop;
    char got[CS_NUM_MAX + 1], want[CS_NUM_MAX + 1];
    size_t ng = 0, nw = 0;
    int simple = 0;
    cs_num_dec dec;
    chatseal_error ec;
    if (cs_num_scan(s, s + n, &stop, &simple, &dec) || stop != s + n)
        abort(); /* cs_num_lex took it */
    ec = cs_num_canon(&dec, s, s + n, &scratch, &cloc, got, &ng);
    if (!e)
        nw = cs_num_format(v, want);
    if (ec != e || ng != nw || memcmp(got, want, ng) != 0) {
        fprintf(stderr, "fuzz_number: canon %.*s: %.*s (%s), want %.*s (%s)\n",
                (int)n, (const char *)s, (int)ng, got, chatseal_error_name(ec),
                (int)nw, want, chatseal_error_name(e));
        abort();
    }
}

static void check_reader(const unsigned char *s, size_t n)
{
    static cs_buf scratch;
    static locale_t cloc;
    const unsigned char *stop;
    char text[512];
    int simple = 0;
    double got = 0, want;
    chatseal_error e;
    if (n == 0 || n >= sizeof text || cs_num_lex(s, s + n, &stop, &simple) ||
        stop != s + n)
        return;
    memcpy(text, s, n);
    text[n] = 0;
    e = cs_num_read(s, s + n, &scratch, &cloc, &got);
    want = strtod(text, NULL);
    if (!isfinite(want) ? e != CHATSEAL_E_INVALID_NUMBER
                        : e || memcmp(&got, &want, sizeof got) != 0) {
        fprintf(stderr, "fuzz_number: read %s: got %.17g (%s), strtod %.17g\n",
                text, got, chatseal_error_name(e), want);
        abort();
    }
    check_canon(s, n, e, got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char b[8] = {0};
    char got[CS_NUM_MAX + 1], want[64];
    size_t ng, nw;
    double x;
    memcpy(b, data, size < 8 ? size : 8);
    if (size > 8)
        check_reader(data + 8, size - 8);
    memcpy(&x, b, sizeof x);
    if (!isfinite(x))
        return 0;
    ng = cs_num_format(x, got);
    nw = ref_num_format(x, want);
    got[ng] = 0;
    want[nw] = 0;
    if (ng != nw || memcmp(got, want, ng) != 0) {
        fprintf(stderr, "fuzz_number: %.17g: new %s, reference %s\n", x, got,
                want);
        abort();
    }
    if (strtod(got, NULL) != (x == 0 ? 0.0 : x)) {
        fprintf(stderr, "fuzz_number: %.17g: %s does not read back\n", x, got);
        abort();
    }
    return 0;
}
