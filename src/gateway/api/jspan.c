/*
 * jspan.c -- locate values in JSON text that has already been validated.
 *
 * The gateway signs "the assistant message exactly as returned".  Re-encoding
 * a reply through a JSON library could change what is signed (number
 * formatting, integer range, escapes), so the gateway first puts the reply
 * in canonical form with the strict libchatseal parser and then cuts the
 * message out of that text byte for byte with this scanner.
 *
 * Preconditions: the text is valid JSON (it passed chatseal_canonicalize),
 * so the scanner only has to find boundaries: it skips strings (honouring
 * backslash escapes) and counts brackets, iteratively, with no recursion.
 * Member names are compared as the raw bytes between the quotes, which is
 * exact for canonical text (RFC 8785 escapes nothing but controls, '"' and
 * '\\') when the name looked up is plain ASCII, as all of ours are.
 */
#include "api/jspan.h"

#include <string.h>

static void skip_ws(const char *s, size_t len, size_t *pos)
{
    while (*pos < len && (s[*pos] == ' ' || s[*pos] == '\t' ||
                          s[*pos] == '\n' || s[*pos] == '\r'))
        (*pos)++;
}

static int skip_string(const char *s, size_t len, size_t *pos)
{
    size_t i = *pos + 1; /* after the opening quote */
    while (i < len) {
        if (s[i] == '\\')
            i += 2;
        else if (s[i] == '"') {
            *pos = i + 1;
            return 0;
        } else
            i++;
    }
    return -1;
}

int cs_json_skip(const char *s, size_t len, size_t *pos)
{
    skip_ws(s, len, pos);
    if (*pos >= len)
        return -1;
    char c = s[*pos];
    if (c == '"')
        return skip_string(s, len, pos);
    if (c == '{' || c == '[') {
        size_t depth = 0, i = *pos;
        while (i < len) {
            char d = s[i];
            if (d == '"') {
                if (skip_string(s, len, &i) != 0)
                    return -1;
                continue;
            }
            if (d == '{' || d == '[')
                depth++;
            else if (d == '}' || d == ']') {
                if (--depth == 0) {
                    *pos = i + 1;
                    return 0;
                }
            }
            i++;
        }
        return -1;
    }
    /* number or literal */
    size_t i = *pos;
    while (i < len && !strchr(",]} \t\r\n", s[i]))
        i++;
    if (i == *pos)
        return -1;
    *pos = i;
    return 0;
}

int cs_json_next_member(const char *s, size_t len, size_t *pos, cs_span *key,
                        cs_span *val)
{
    size_t i = *pos;
    skip_ws(s, len, &i);
    if (i >= len)
        return -1;
    if (*pos == 0) {
        if (s[i] != '{')
            return -1;
        i++;
        skip_ws(s, len, &i);
        if (i < len && s[i] == '}') {
            *pos = i;
            return 0;
        }
    } else {
        if (s[i] == '}') {
            *pos = i;
            return 0;
        }
        if (s[i] != ',')
            return -1;
        i++;
        skip_ws(s, len, &i);
    }
    if (i >= len)
        return -1;
    if (s[i] != '"')
        return -1;
    size_t ks = i;
    if (skip_string(s, len, &i) != 0)
        return -1;
    key->p = s + ks + 1;
    key->n = i - ks - 2;
    skip_ws(s, len, &i);
    if (i >= len || s[i] != ':')
        return -1;
    i++;
    skip_ws(s, len, &i);
    size_t vs = i;
    if (cs_json_skip(s, len, &i) != 0)
        return -1;
    val->p = s + vs;
    val->n = i - vs;
    *pos = i;
    return 1;
}

int cs_json_member(cs_span obj, const char *name, cs_span *val)
{
    size_t pos = 0, nl = strlen(name);
    cs_span k, v;
    int rc;
    while ((rc = cs_json_next_member(obj.p, obj.n, &pos, &k, &v)) == 1) {
        if (k.n == nl && memcmp(k.p, name, nl) == 0) {
            *val = v;
            return 1;
        }
    }
    return rc;
}

int cs_json_element(cs_span arr, size_t idx, cs_span *val)
{
    size_t i = 0;
    skip_ws(arr.p, arr.n, &i);
    if (i >= arr.n || arr.p[i] != '[')
        return -1;
    i++;
    for (size_t k = 0;; k++) {
        skip_ws(arr.p, arr.n, &i);
        if (i >= arr.n)
            return -1;
        if (arr.p[i] == ']')
            return 0;
        size_t vs = i;
        if (cs_json_skip(arr.p, arr.n, &i) != 0)
            return -1;
        if (k == idx) {
            val->p = arr.p + vs;
            val->n = i - vs;
            return 1;
        }
        skip_ws(arr.p, arr.n, &i);
        if (i < arr.n && arr.p[i] == ',')
            i++;
    }
}
