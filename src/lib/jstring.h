/*
 * jstring.h -- the string codec of the canonicalizer (internal): strict
 * JSON strings in, RFC 8785 strings out.  See jstring.c.
 */
#ifndef CS_JSTRING_H
#define CS_JSTRING_H

#include <stddef.h>

#include "chatseal.h"
#include "internal.h"

/* Bytes the codec keeps free past its cursor (block stores). */
#define CS_JS_SLACK 64

/*
 * Reads the string whose opening quote is at *pp (end: end of input) and
 * appends its canonical form, quotes included, to b; moves *pp past it.
 * *esc (may be NULL) is set when the canonical form holds a backslash (then
 * it differs from the unescaped value).  With b NULL the string is only
 * checked (error lexing).  avx2: use the AVX2 path (the CPU must have it).
 * Errors: malformed_json, invalid_utf8, control_character, lone_surrogate,
 * no_memory; on error b->n is unspecified (the caller drops the run).
 */
chatseal_error cs_js_string(cs_buf *b, int avx2, const unsigned char **pp,
                            const unsigned char *end, int *esc);

/* Unescapes canonical string bytes (between the quotes) into dst, which has
 * room for len bytes; returns the unescaped length. */
size_t cs_js_unescape_canon(char *dst, const char *s, size_t len);

/* Length of the valid UTF-8 sequence at p (2..4; p[0] >= 0x80), or 0 if it
 * is not one (overlong, surrogate, above U+10FFFF, truncated). */
size_t cs_js_utf8(const unsigned char *p, const unsigned char *end);

/* jansson checks the UTF-8 of the byte after a number or keyword (and of
 * the byte that breaks an escape) before the token's own error: true if
 * the byte at p is invalid UTF-8 there. */
int cs_js_bad_lookahead(const unsigned char *p, const unsigned char *end);

#endif /* CS_JSTRING_H */
