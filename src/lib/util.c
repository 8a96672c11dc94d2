/*
 * util.c -- small pieces every module needs: strict base64url, role codes
 * and role lists, the clock.  (The growable buffer is buf.c.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "internal.h"

/* ---------------------------------------------------------- base64url -- */

static const char cs_b64u_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t cs_b64u_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void cs_b64u_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = cs_b64u_chars[v >> 18];
        *out++ = cs_b64u_chars[(v >> 12) & 63];
        *out++ = cs_b64u_chars[(v >> 6) & 63];
        *out++ = cs_b64u_chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = cs_b64u_chars[v >> 18];
        *out++ = cs_b64u_chars[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = cs_b64u_chars[v >> 18];
        *out++ = cs_b64u_chars[(v >> 12) & 63];
        *out++ = cs_b64u_chars[(v >> 6) & 63];
    }
    *out = '\0';
}

/* Value of each byte in the base64url alphabet; X (0xff, bit 7 set) for
 * every other byte, so one OR over a group of four tells if any was bad. */
#define X 0xff
/* clang-format off */
static const uint8_t cs_b64u_values[256] = {
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, 62,  X,  X,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61,  X,  X,  X,  X,  X,  X,
     X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,  X,  X,  X,  X, 63,
     X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
     X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
};
/* clang-format on */
#undef X

/*
 * Strict on purpose: a token has exactly one textual form, so two different
 * strings can never carry the same signature (no padding, no other
 * alphabet, and the unused low bits of the last character must be zero).
 * Table-driven, four characters to three bytes per step: the tokens of long
 * conversations carry tens of kilobytes of base64url (roles and locators).
 */
int cs_b64u_decode(const char *in, size_t n, uint8_t *out, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t full = n / 4, rest = n % 4, o = 0;
    unsigned bad = 0;
    if (rest == 1)
        return -1;
    for (size_t i = 0; i < full; i++, s += 4) {
        unsigned a = cs_b64u_values[s[0]], b = cs_b64u_values[s[1]],
                 c = cs_b64u_values[s[2]], d = cs_b64u_values[s[3]];
        bad |= a | b | c | d;
        out[o] = (uint8_t)(a << 2 | b >> 4);
        out[o + 1] = (uint8_t)(b << 4 | c >> 2);
        out[o + 2] = (uint8_t)(c << 6 | d);
        o += 3;
    }
    if (rest) {
        unsigned a = cs_b64u_values[s[0]], b = cs_b64u_values[s[1]];
        unsigned c = rest == 3 ? cs_b64u_values[s[2]] : 0;
        bad |= a | b | c;
        if (bad & 0x80)
            return -1;
        out[o++] = (uint8_t)(a << 2 | b >> 4);
        if (rest == 2) {
            if (b & 0x0f)
                return -1; /* non-zero unused trailing bits */
        } else {
            out[o++] = (uint8_t)(b << 4 | c >> 2);
            if (c & 0x03)
                return -1;
        }
    }
    if (bad & 0x80)
        return -1;
    *out_len = o;
    return 0;
}

/* --------------------------------------------------------------- roles -- */

static int cs_eq(const char *a, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(a, lit, n) == 0;
}

char cs_role_code(const char *role, size_t len)
{
    if (cs_eq(role, len, "system"))
        return 's';
    if (cs_eq(role, len, "user"))
        return 'u';
    if (cs_eq(role, len, "assistant"))
        return 'a';
    if (cs_eq(role, len, "tool"))
        return 't';
    if (cs_eq(role, len, "developer"))
        return 'd';
    if (cs_eq(role, len, "function"))
        return 'f';
    return 'x';
}

int cs_role_in_list(const char *list, const char *role, size_t len)
{
    if (!list)
        return 0;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        /* spaces around names are allowed: "user, tool" */
        const char *s = p;
        while (k && (*s == ' ' || *s == '\t')) {
            s++;
            k--;
        }
        while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        if (k == len && k > 0 && memcmp(s, role, len) == 0)
            return 1;
        if (!e)
            return 0;
        p = e + 1;
    }
}

/* ---------------------------------------------------------------- time -- */

int64_t cs_now(const chatseal_options *opt)
{
    if (opt && opt->now > 0)
        return opt->now;
    return (int64_t)time(NULL);
}
