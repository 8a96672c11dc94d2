/*
 * numfmt.h -- numbers as RFC 8785 writes them (internal).
 *
 * The number codec of the canonicalizer: the shortest decimal that reads
 * back as the same double, laid out the way ECMAScript's
 * Number.prototype.toString does.  No locale, no allocation, no libc
 * formatting: see numfmt.c.
 */
#ifndef CS_NUMFMT_H
#define CS_NUMFMT_H

#include <stddef.h>

/* Longest text cs_num_format writes: "-" 17 digits "." "e-" 3 digits. */
#define CS_NUM_MAX 32

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

#endif /* CS_NUMFMT_H */
