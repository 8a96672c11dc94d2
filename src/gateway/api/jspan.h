/*
 * jspan.h -- find values inside canonical JSON text without re-encoding them.
 */
#ifndef CS_GATEWAY_JSPAN_H
#define CS_GATEWAY_JSPAN_H

#include <stddef.h>

typedef struct cs_span {
    const char *p;
    size_t n;
} cs_span;

/* Skips white space and one value from s[*pos]; -1 if the text ends. */
int cs_json_skip(const char *s, size_t len, size_t *pos);
/* Next member of the object whose text is s: start with *pos = 0.  key is the
 * raw text between the quotes.  1: a member; 0: no more; -1: not an object. */
int cs_json_next_member(const char *s, size_t len, size_t *pos, cs_span *key,
                        cs_span *val);
/* The value of member `name` of an object (1 found, 0 absent, -1 error). */
int cs_json_member(cs_span obj, const char *name, cs_span *val);
/* Element idx of an array (1 found, 0 absent, -1 error). */
int cs_json_element(cs_span arr, size_t idx, cs_span *val);

#endif
