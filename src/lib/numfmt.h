/*
 * numfmt.h -- the number codec of the canonicalizer (internal).
 *
 * Reading: a JSON number token lexed with jansson's grammar and read as the
 * nearest double (Eisel-Lemire, strtod under the "C" locale when that
 * cannot decide).  Writing: the shortest decimal that reads back as the
 * same double (Ryu), laid out the way ECMAScript's Number.prototype.toString
 * does, with no locale, allocation or libc formatting.  See numfmt.c.
 */
#ifndef CS_NUMFMT_H
#define CS_NUMFMT_H

#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#include "chatseal.h"
#include "internal.h"

/* Room cs_num_format needs in buf: its longest text is 24 bytes ("-" 17
 * digits "." "e-" 3 digits), but it stores whole blocks of digits and may
 * write up to 35 bytes. */
#define CS_NUM_MAX 40

/*
 * The shortest digits of x (finite, > 0): digits[0..k) with no trailing
 * zero, the first non-zero, and x == 0.d1d2..dk * 10^*point after rounding
 * to the nearest double; of several such k-digit strings, the one closest
 * to x.  Returns k (1..17).
 */
int cs_num_shortest(double x, char digits[17], int *point);

/* ECMAScript Number::toString(v) of a finite v into buf (CS_NUM_MAX bytes,
 * not NUL-terminated); returns the length.  -0 is "0". */
size_t cs_num_format(double v, char *buf);

/*
 * Lexes the number at p.  Returns CHATSEAL_OK or MALFORMED_JSON for a bad
 * token (jansson's number grammar: "01" and "1." are invalid tokens, not a
 * number followed by something).  *stop is where lexing stopped either way:
 * the end of the token, or the byte that did not fit.  *simple is set for an
 * integer of at most 15 digits (already canonical, except "-0").
 */
chatseal_error cs_num_lex(const unsigned char *p, const unsigned char *end,
                          const unsigned char **stop, int *simple);

/* A lexed number token as w * 10^q: w its first 19 significant digits,
 * trunc set when a non-zero digit was dropped. */
typedef struct cs_num_dec {
    uint64_t w;
    int64_t q;
    int neg, trunc;
} cs_num_dec;

/* cs_num_lex that also collects the token's digits into *dec (the same
 * pass), for cs_num_read_dec. */
chatseal_error cs_num_scan(const unsigned char *p, const unsigned char *end,
                           const unsigned char **stop, int *simple,
                           cs_num_dec *dec);

/* cs_num_read of the token [s, e) that cs_num_scan read into *dec. */
chatseal_error cs_num_read_dec(const cs_num_dec *dec, const unsigned char *s,
                               const unsigned char *e, cs_buf *scratch,
                               locale_t *cloc, double *v);

/* Reads the number token [s, e) as a double (strtod under the "C" locale,
 * *cloc created on first use, freed by the caller; scratch holds the
 * NUL-terminated copy): OK, INVALID_NUMBER when it is not finite, or
 * NO_MEMORY. */
chatseal_error cs_num_read(const unsigned char *s, const unsigned char *e,
                           cs_buf *scratch, locale_t *cloc, double *v);

/* The short path of cs_num_canon alone (also for the tests): the length,
 * or 0 when the token must go through the double. */
size_t cs_num_canon_exact(const cs_num_dec *dec, char *buf);

/*
 * The canonical text (cs_num_format of the nearest double) of the token
 * [s, e) that cs_num_scan read into *dec, into buf (CS_NUM_MAX bytes), its
 * length in *len; the errors of cs_num_read_dec.  A token of at most 15
 * significant digits inside the normal range is laid out from its own
 * digits without reading or printing a double (see numfmt.c).
 */
chatseal_error cs_num_canon(const cs_num_dec *dec, const unsigned char *s,
                            const unsigned char *e, cs_buf *scratch,
                            locale_t *cloc, char *buf, size_t *len);

#endif /* CS_NUMFMT_H */
