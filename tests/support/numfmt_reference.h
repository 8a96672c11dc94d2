/*
 * numfmt_reference.h -- the first number printer of fastcanon.c, kept as
 * the definition of correct for src/lib/numfmt.c (test-only).
 */
#ifndef CS_NUMFMT_REFERENCE_H
#define CS_NUMFMT_REFERENCE_H

#include <stddef.h>

/* ECMAScript Number::toString of finite v into buf (>= 32 bytes), by
 * snprintf/strtod under the "C" locale; returns the length. */
size_t ref_num_format(double v, char *buf);

#endif
