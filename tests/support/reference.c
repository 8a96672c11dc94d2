/*
 * reference.c -- the reference canonicalizer: jansson in, RFC 8785 out.
 *
 * Why it exists: fastcanon.c is a hand-written single-pass parser tuned for
 * speed, which makes it easy to get subtly wrong.  This file is the opposite:
 * the plainest code that is obviously right, sharing nothing with fastcanon
 * but the public error codes, so that tests/unit/test_fastcanon.c and
 * fuzz/fuzz_differential.c can hold the fast path to it byte for byte and
 * error for error.  Speed does not matter here.
 *
 * Design:
 *  - Parsing and the strict checks are jansson's (json_loadb with
 *    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |
 *    JSON_ALLOW_NUL): it validates UTF-8 strictly (overlong forms, encoded
 *    surrogates, > U+10FFFF), rejects lone surrogate escapes, raw control
 *    characters, duplicate names (after unescaping), numbers that overflow a
 *    double and trailing data, and always reports the FIRST error in reading
 *    order (later errors never overwrite it).  ref_map_error turns its error
 *    code, and for the codes jansson shares between several kinds of error
 *    (json_error_invalid_syntax) the fixed start of its message, into ours.
 *  - Two small pre-checks cover what jansson cannot do (see ref_prepare):
 *    a NUL byte is replaced by 0x01 (jansson loses a NUL it reads ahead), and
 *    the nesting limit is applied by re-parsing the text only up to the first
 *    bracket that goes too deep (jansson's own limit is a fixed 2048).
 *  - jansson cannot hold U+0000 in a member name and refuses one
 *    (json_error_null_byte_in_key); that stays malformed_json, which is also
 *    what fastcanon returns.
 *  - Serializing is done here, from the DOM, by RFC 8785 §3.2 directly:
 *    members sorted by their names converted to UTF-16 code units; strings
 *    with only the mandatory escapes (\b \t \n \f \r, other controls
 *    \u00xx in lowercase, '"' and '\\'); numbers (all parsed as doubles)
 *    written by ECMAScript's Number.prototype.toString, using printf and
 *    strtod under the "C" locale to find the shortest digits (ref_shortest).
 */
#include "reference.h"

#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_FLAGS                                                              \
    (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |      \
     JSON_ALLOW_NUL)

/* ------------------------------------------------------------- output -- */

struct ref_buf {
    char *p;
    size_t n, cap;
    int oom;
};

static void ref_put(struct ref_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->n + n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void ref_puts(struct ref_buf *b, const char *s)
{
    ref_put(b, s, strlen(s));
}

/* ------------------------------------------------------------ numbers -- */

/* The double closest to s x 10^q (strtod rounds correctly). */
static double ref_decimal(uint64_t s, int q)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)s, q);
    return strtod(buf, NULL);
}

/*
 * ECMAScript Number::toString step 5 for finite x > 0: the fewest decimal
 * digits s (k of them) such that s x 10^(n-k) reads back as x, and among
 * those the one closest to x.  For k = 1..17, "%.*e" gives the k-digit
 * decimal nearest to x; if it reads back as x it is the answer.  If not, the
 * only other k-digit decimal that can is its neighbour on the other side of
 * x: that happens just above a power of two, where the doubles below are
 * twice as dense as above, so the interval that reads back as x reaches less
 * far down than up.  17 digits always read back.  Writes the digits (no
 * trailing zeros) to digits and returns k; *n is the ECMAScript exponent
 * (x = 0.d1..dk x 10^n).
 */
static int ref_shortest(double x, char digits[24], int *n)
{
    int k;
    for (k = 1; k <= 17; k++) {
        char buf[48], *e;
        uint64_t s = 0, lo = 1;
        int exp10, i;
        const char *c;
        snprintf(buf, sizeof buf, "%.*e", k - 1, x); /* d.ddd e+XX */
        e = strchr(buf, 'e');
        for (c = buf; c < e; c++)
            if (*c >= '0' && *c <= '9')
                s = s * 10 + (uint64_t)(*c - '0');
        exp10 = atoi(e + 1); /* exponent of the first digit */
        for (i = 1; i < k; i++)
            lo *= 10; /* 10^(k-1) <= s < 10^k */
        if (ref_decimal(s, exp10 - k + 1) != x) {
            if (ref_decimal(s, exp10 - k + 1) < x) {
                if (++s == lo * 10) { /* 9.99 -> 10.0 = 1.00 x 10 */
                    s = lo;
                    exp10++;
                }
            } else {
                if (--s < lo) { /* 1.00 -> 0.999 = 9.99 x 10^-1 */
                    s = lo * 10 - 1;
                    exp10--;
                }
            }
            if (ref_decimal(s, exp10 - k + 1) != x)
                continue;
        }
        while (s % 10 == 0)
            s /= 10;
        *n = exp10 + 1;
        return snprintf(digits, 24, "%llu", (unsigned long long)s);
    }
    abort(); /* unreachable: 17 significant digits always read back */
}

/* ECMAScript Number::toString(x) for a finite double (RFC 8785 §3.2.2.3). */
static void ref_number(struct ref_buf *b, double x)
{
    char d[24], tail[16];
    int k, n, i;
    if (x == 0) { /* +0 and -0 */
        ref_puts(b, "0");
        return;
    }
    if (x < 0) {
        ref_puts(b, "-");
        x = -x;
    }
    k = ref_shortest(x, d, &n);
    if (k <= n && n <= 21) { /* integer: digits, then n-k zeros */
        ref_put(b, d, (size_t)k);
        for (i = k; i < n; i++)
            ref_puts(b, "0");
    } else if (0 < n && n <= 21) { /* point inside the digits */
        ref_put(b, d, (size_t)n);
        ref_puts(b, ".");
        ref_put(b, d + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) { /* 0.000ddd */
        ref_puts(b, "0.");
        for (i = n; i < 0; i++)
            ref_puts(b, "0");
        ref_put(b, d, (size_t)k);
    } else { /* d.ddde+XX */
        ref_put(b, d, 1);
        if (k > 1) {
            ref_puts(b, ".");
            ref_put(b, d + 1, (size_t)(k - 1));
        }
        snprintf(tail, sizeof tail, "e%c%d", n - 1 < 0 ? '-' : '+',
                 n - 1 < 0 ? 1 - n : n - 1);
        ref_puts(b, tail);
    }
}

/* ------------------------------------------------------------ strings -- */

/* RFC 8785 §3.2.2.2: '"' and '\\' escaped, controls as \b \t \n \f \r or
 * \u00xx (lowercase), every other character as itself. */
static void ref_string(struct ref_buf *b, const char *s, size_t len)
{
    size_t i;
    ref_puts(b, "\"");
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        switch (c) {
        case '"':
            ref_puts(b, "\\\"");
            break;
        case '\\':
            ref_puts(b, "\\\\");
            break;
        case '\b':
            ref_puts(b, "\\b");
            break;
        case '\t':
            ref_puts(b, "\\t");
            break;
        case '\n':
            ref_puts(b, "\\n");
            break;
        case '\f':
            ref_puts(b, "\\f");
            break;
        case '\r':
            ref_puts(b, "\\r");
            break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
                ref_puts(b, esc);
            } else {
                ref_put(b, s + i, 1);
            }
        }
    }
    ref_puts(b, "\"");
}

/* ------------------------------------------------------------ objects -- */

struct ref_member {
    const char *key;
    size_t klen;
    uint16_t *u16; /* the name as UTF-16 code units */
    size_t n16;
    json_t *value;
};

/* UTF-16 code units of a name (valid UTF-8: jansson checked it). Returns
 * NULL when out of memory. */
static uint16_t *ref_utf16(const char *s, size_t len, size_t *n16)
{
    uint16_t *u = malloc((len + 1) * sizeof *u); /* never more units */
    size_t i = 0, n = 0;
    if (!u)
        return NULL;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t extra, j;
        if (c < 0x80) {
            cp = c;
            extra = 0;
        } else if (c < 0xE0) {
            cp = c & 0x1F;
            extra = 1;
        } else if (c < 0xF0) {
            cp = c & 0x0F;
            extra = 2;
        } else {
            cp = c & 0x07;
            extra = 3;
        }
        for (j = 1; j <= extra && i + j < len; j++)
            cp = cp << 6 | ((unsigned char)s[i + j] & 0x3F);
        i += extra + 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[n++] = (uint16_t)(0xD800 | cp >> 10);
            u[n++] = (uint16_t)(0xDC00 | (cp & 0x3FF));
        } else {
            u[n++] = (uint16_t)cp;
        }
    }
    *n16 = n;
    return u;
}

/* RFC 8785 §3.2.3: names compared as arrays of UTF-16 code units. */
static int ref_member_cmp(const void *pa, const void *pb)
{
    const struct ref_member *a = pa, *b = pb;
    size_t i;
    for (i = 0; i < a->n16 && i < b->n16; i++)
        if (a->u16[i] != b->u16[i])
            return a->u16[i] < b->u16[i] ? -1 : 1;
    return a->n16 < b->n16 ? -1 : a->n16 > b->n16;
}

static void ref_value(struct ref_buf *b, json_t *v);

static void ref_object(struct ref_buf *b, json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    struct ref_member *m = calloc(n ? n : 1, sizeof *m);
    void *it;
    if (!m) {
        b->oom = 1;
        return;
    }
    for (it = json_object_iter(obj); it && i < n;
         it = json_object_iter_next(obj, it), i++) {
        m[i].key = json_object_iter_key(it);
        m[i].klen = json_object_iter_key_len(it);
        m[i].value = json_object_iter_value(it);
        m[i].u16 = ref_utf16(m[i].key, m[i].klen, &m[i].n16);
        if (!m[i].u16)
            b->oom = 1;
    }
    if (!b->oom) {
        qsort(m, n, sizeof *m, ref_member_cmp);
        ref_puts(b, "{");
        for (i = 0; i < n; i++) {
            if (i)
                ref_puts(b, ",");
            ref_string(b, m[i].key, m[i].klen);
            ref_puts(b, ":");
            ref_value(b, m[i].value);
        }
        ref_puts(b, "}");
    }
    for (i = 0; i < n; i++)
        free(m[i].u16);
    free(m);
}

static void ref_value(struct ref_buf *b, json_t *v)
{
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        ref_object(b, v);
        break;
    case JSON_ARRAY:
        ref_puts(b, "[");
        for (i = 0; i < json_array_size(v); i++) {
            if (i)
                ref_puts(b, ",");
            ref_value(b, json_array_get(v, i));
        }
        ref_puts(b, "]");
        break;
    case JSON_STRING:
        ref_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_REAL:
        ref_number(b, json_real_value(v));
        break;
    case JSON_INTEGER: /* not produced with JSON_DECODE_INT_AS_REAL */
        ref_number(b, (double)json_integer_value(v));
        break;
    case JSON_TRUE:
        ref_puts(b, "true");
        break;
    case JSON_FALSE:
        ref_puts(b, "false");
        break;
    case JSON_NULL:
        ref_puts(b, "null");
        break;
    }
}

/* ------------------------------------------------------------- errors -- */

static int ref_starts(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/*
 * jansson's error to ours.  json_error_invalid_syntax covers several of our
 * codes, told apart by the fixed start of jansson's message: "control
 * character 0x.." and "unexpected newline" come from a raw byte < 0x20 in a
 * string; "invalid Unicode '\uXXXX..." from a lone or broken surrogate pair
 * (a bad hex digit was "invalid escape" earlier).  Everything else there is
 * a syntax error.
 */
static chatseal_error ref_map_error(const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_out_of_memory:
        return CHATSEAL_E_NO_MEMORY;
    case json_error_stack_overflow:
        return CHATSEAL_E_TOO_DEEP;
    case json_error_invalid_utf8:
        return CHATSEAL_E_INVALID_UTF8;
    case json_error_end_of_input_expected:
        return CHATSEAL_E_TRAILING_DATA;
    case json_error_duplicate_key:
        return CHATSEAL_E_DUPLICATE_KEY;
    case json_error_numeric_overflow:
        return CHATSEAL_E_INVALID_NUMBER;
    case json_error_invalid_syntax:
        if (ref_starts(je->text, "control character ") ||
            ref_starts(je->text, "unexpected newline"))
            return CHATSEAL_E_CONTROL_CHARACTER;
        if (ref_starts(je->text, "invalid Unicode '\\u"))
            return CHATSEAL_E_LONE_SURROGATE;
        return CHATSEAL_E_MALFORMED_JSON;
    case json_error_null_byte_in_key: /* U+0000 in a name: see the top */
    case json_error_premature_end_of_input:
    default:
        return CHATSEAL_E_MALFORMED_JSON;
    }
}

/*
 * The pre-checks, on a private copy of the text:
 *
 * 1. Every NUL byte becomes 0x01.  jansson's reader marks an empty
 *    look-ahead buffer with NUL, so a NUL byte it reads ahead and puts back
 *    (after a number or a literal) is silently dropped: it accepts "[1\0]"
 *    as [1].  0x01 is refused everywhere a NUL byte is (a control character
 *    inside a string, an invalid token or bad UTF-8 continuation elsewhere)
 *    and with the same error code, and is never dropped.
 *
 * 2. Returns the offset of the first '[' or '{' (outside strings) that
 *    opens a container deeper than max_depth, or len if there is none.
 *    jansson's depth limit is a compile-time 2048 and counts scalars, so the
 *    limit is applied by parsing only text[0 .. offset]: jansson then either
 *    finds an error that comes earlier in reading order (including that
 *    bracket being out of place), or opens the bracket and runs into the end
 *    of the input, which is our too_deep.  Counting brackets outside strings
 *    is exact for any text jansson reads without error up to that bracket,
 *    and for any other text jansson reports the earlier error itself.
 */
static size_t ref_prepare(char *s, size_t len, size_t max_depth)
{
    size_t i, depth = 0, deep = len;
    int in_string = 0;
    for (i = 0; i < len; i++)
        if (s[i] == '\0')
            s[i] = '\x01';
    for (i = 0; i < len && deep == len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped byte cannot end the string */
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                deep = i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return deep;
}

/* ---------------------------------------------------------------- api -- */

chatseal_error cs_canonicalize_reference(const char *json, size_t len,
                                         size_t max_depth, char **out,
                                         size_t *out_len)
{
    struct ref_buf b = {0};
    json_error_t je;
    json_t *root;
    char *text;
    size_t deep;
    chatseal_error err = CHATSEAL_OK;
    locale_t cloc, old;

    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!json && len)
        return CHATSEAL_E_INVALID_ARGUMENT;
    if (!max_depth)
        max_depth = CHATSEAL_MAX_DEPTH_DEFAULT;
    if (max_depth > CS_REFERENCE_MAX_DEPTH)
        return CHATSEAL_E_INVALID_ARGUMENT;

    text = malloc(len + 1);
    if (!text)
        return CHATSEAL_E_NO_MEMORY;
    if (len)
        memcpy(text, json, len);
    text[len] = '\0';
    deep = ref_prepare(text, len, max_depth);

    root = json_loadb(text, deep < len ? deep + 1 : len, REF_FLAGS, &je);
    free(text);
    if (!root) {
        err = ref_map_error(&je);
        if (deep < len &&
            json_error_code(&je) == json_error_premature_end_of_input)
            err = CHATSEAL_E_TOO_DEEP;
        return err;
    }
    if (deep < len) {
        /* text[0 .. deep] ends inside an open container: cannot parse */
        json_decref(root);
        return CHATSEAL_E_MALFORMED_JSON;
    }

    /* printf and strtod must not see a decimal comma */
    cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!cloc) {
        json_decref(root);
        return CHATSEAL_E_NO_MEMORY;
    }
    old = uselocale(cloc);
    ref_value(&b, root);
    uselocale(old);
    freelocale(cloc);
    json_decref(root);

    if (!b.oom && !b.p)
        ref_put(&b, "", 0);
    if (b.oom) {
        free(b.p);
        return CHATSEAL_E_NO_MEMORY;
    }
    *out = b.p;
    if (out_len)
        *out_len = b.n;
    return CHATSEAL_OK;
}
