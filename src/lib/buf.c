/*
 * buf.c -- the one growable byte buffer of libchatseal (cs_buf, declared in
 * internal.h): token and header builders, the canonicalizer's arena and its
 * member, frame and name arrays, the CLI's generated bodies.
 *
 * Builders get a sticky out-of-memory flag instead of a return value on
 * every append: they append freely and check once at the end, which keeps
 * the header and token code short without ever losing an allocation failure.
 * Hot loops (fastcanon.c) reserve once with cs_buf_reserve and write through
 * a cursor.  Growth doubles, so n appends cost O(n) copies in all.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

/* ------------------------------------------------------------- buffers -- */

/* Capacity of at least need bytes (need <= SIZE_MAX / 2), doubling; sets
 * oom and returns -1 when realloc fails. */
static int buf_grow(cs_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 64;
    char *p;
    if (need <= b->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int cs_buf_reserve(cs_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (extra > SIZE_MAX / 2 - b->n) {
        b->oom = 1;
        return -1;
    }
    return buf_grow(b, b->n + extra + 1);
}

void *cs_buf_array(cs_buf *b, size_t count, size_t elem)
{
    if (elem && count > SIZE_MAX / 2 / elem) {
        b->oom = 1;
        return NULL;
    }
    if (buf_grow(b, count && elem ? count * elem : 1))
        return NULL;
    return b->p;
}

void cs_buf_put(cs_buf *b, const void *s, size_t n)
{
    if (cs_buf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void cs_buf_puts(cs_buf *b, const char *s)
{
    cs_buf_put(b, s, strlen(s));
}

void cs_buf_putc(cs_buf *b, char c)
{
    cs_buf_put(b, &c, 1);
}

void cs_buf_printf(cs_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof tmp) {
        b->oom = 1; /* only ever used for short numeric text */
        return;
    }
    cs_buf_put(b, tmp, (size_t)k);
}

void cs_buf_frame(cs_buf *b, const void *s, size_t n)
{
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                      (uint8_t)n};
    cs_buf_put(b, len, 4);
    cs_buf_put(b, s, n);
}

void cs_buf_json_string(cs_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    cs_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        cs_buf_put(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t k = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        cs_buf_put(b, esc, k);
    }
    cs_buf_put(b, s + run, n - run);
    cs_buf_putc(b, '"');
}

char *cs_buf_take(cs_buf *b, size_t *len)
{
    if (b->oom) {
        cs_buf_free(b);
        return NULL;
    }
    if (!b->p && cs_buf_reserve(b, 0) != 0)
        return NULL;
    b->p[b->n] = '\0';
    char *p = b->p;
    if (len)
        *len = b->n;
    memset(b, 0, sizeof *b);
    return p;
}

void cs_buf_wipe(cs_buf *b)
{
    if (b->p)
        OPENSSL_cleanse(b->p, b->cap);
    cs_buf_free(b);
}

void cs_buf_free(cs_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
