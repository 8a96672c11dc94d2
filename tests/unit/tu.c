/*
 * tu.c -- the shared unit-test harness (see tu.h).
 *
 * Setup helpers exit with status 99 (meson's "hard error") instead of
 * recording a failure: when a key ring or a conversation that every later
 * check depends on cannot be built, continuing would only print noise.
 * The base64url helpers are deliberately independent of the library, so
 * that crafted tokens do not inherit a library bug.
 */
#include "tu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cs_test_failures;

void cs_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    cs_test_failures++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void hard(const char *what, chatseal_error err)
{
    fprintf(stderr, "SETUP FAILED: %s: %s\n", what, chatseal_error_name(err));
    exit(99);
}

int cs_test_run(const struct cs_test *tests, size_t n)
{
    const char *filter = getenv("CS_TEST_FILTER");
    size_t ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        int before = cs_test_failures;
        tests[i].fn();
        ran++;
        printf("%s %s\n", cs_test_failures == before ? "ok  " : "FAIL",
               tests[i].name);
    }
    printf("%zu tests, %d failed checks\n", ran, cs_test_failures);
    fflush(stdout);
    return cs_test_failures ? 1 : 0;
}

chatseal_keyring *cs_test_ring(const char *text)
{
    chatseal_keyring *ring = NULL;
    chatseal_error err = chatseal_keyring_parse(text, strlen(text), &ring);
    if (err || !ring)
        hard(text, err);
    return ring;
}

chatseal_conv *cs_test_conv(const char *json)
{
    chatseal_conv *conv = NULL;
    chatseal_error err = chatseal_conv_parse(json, strlen(json), NULL, &conv);
    if (err || !conv)
        hard(json, err);
    return conv;
}

char *cs_test_sign(const chatseal_keyring *ring, const char *conv_json,
                   const chatseal_options *opt)
{
    chatseal_conv *conv = cs_test_conv(conv_json);
    char *token = NULL;
    chatseal_error err =
        chatseal_sign(ring, conv, chatseal_conv_count(conv), opt, &token);
    if (err || !token)
        hard(conv_json, err);
    chatseal_conv_free(conv);
    return token;
}

struct cs_verdict cs_test_verify(const chatseal_keyring *ring,
                                 const char *conv_json, const char *token,
                                 const chatseal_options *opt)
{
    struct cs_verdict v;
    memset(&v, 0, sizeof v);
    chatseal_conv *conv = cs_test_conv(conv_json);
    chatseal_report *r = NULL;
    chatseal_error err = chatseal_report_new(&r);
    if (err)
        hard("report", err);
    v.code = chatseal_verify(ring, conv, token, opt, r);
    v.report_code = chatseal_report_code(r);
    v.index = chatseal_report_index(r);
    v.chain_valid = chatseal_report_chain_valid(r);
    v.count = chatseal_report_count(r);
    const size_t *idx = NULL;
    size_t n = chatseal_report_tampered(r, &idx);
    v.ntampered = n;
    for (size_t i = 0; i < n && i < 16; i++)
        v.tampered[i] = idx[i];
    chatseal_report_free(r);
    chatseal_conv_free(conv);
    return v;
}

void cs_test_check_verdict(const char *file, int line, struct cs_verdict v,
                           chatseal_error code, long index,
                           const long *tampered)
{
    if (v.code != code)
        cs_test_fail(file, line, "code %s, want %s",
                     chatseal_error_name(v.code), chatseal_error_name(code));
    if (v.report_code != v.code)
        cs_test_fail(file, line, "report code %s != returned %s",
                     chatseal_error_name(v.report_code),
                     chatseal_error_name(v.code));
    if (index != -2 && v.index != index)
        cs_test_fail(file, line, "index %ld, want %ld (code %s)", v.index,
                     index, chatseal_error_name(v.code));
    if (tampered[0] == TU_ANY_TAMPERED)
        return;
    size_t n = 0;
    while (tampered[n] >= 0)
        n++;
    int same = n == v.ntampered;
    for (size_t i = 0; same && i < n; i++)
        same = (long)v.tampered[i] == tampered[i];
    if (!same) {
        char got[128] = "", want[128] = "";
        for (size_t i = 0; i < v.ntampered && i < 16; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " %zu",
                     v.tampered[i]);
        for (size_t i = 0; i < n; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), " %ld",
                     tampered[i]);
        cs_test_fail(file, line, "tampered [%s ], want [%s ] (code %s)", got,
                     want, chatseal_error_name(v.code));
    }
}

static const char B64U[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *cs_test_b64u(const void *data, size_t len)
{
    const uint8_t *p = data;
    char *out = malloc(len / 3 * 4 + 5);
    size_t o = 0, i = 0;
    if (!out)
        hard("malloc", CHATSEAL_E_NO_MEMORY);
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = B64U[v >> 18];
        out[o++] = B64U[(v >> 12) & 63];
        out[o++] = B64U[(v >> 6) & 63];
        out[o++] = B64U[v & 63];
    }
    if (len - i == 1) {
        out[o++] = B64U[p[i] >> 2];
        out[o++] = B64U[(p[i] & 3) << 4];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
        out[o++] = B64U[v >> 10];
        out[o++] = B64U[(v >> 4) & 63];
        out[o++] = B64U[(v & 15) << 2];
    }
    out[o] = '\0';
    return out;
}

uint8_t *cs_test_unb64u(const char *text, size_t text_len, size_t *len)
{
    uint8_t *out = malloc(text_len + 1);
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    if (!out)
        hard("malloc", CHATSEAL_E_NO_MEMORY);
    for (size_t i = 0; i < text_len; i++) {
        const char *c = strchr(B64U, text[i]);
        if (!c || !text[i])
            hard("unb64u: not base64url", CHATSEAL_E_MALFORMED_TOKEN);
        acc = acc << 6 | (uint32_t)(c - B64U);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    out[n] = '\0';
    *len = n;
    return out;
}

char *cs_test_token(const char *header, const void *payload, size_t plen)
{
    char *h = cs_test_b64u(header, strlen(header));
    char *p = cs_test_b64u(payload, plen);
    size_t n = strlen(h) + strlen(p) + 6;
    char *t = malloc(n);
    if (!t)
        hard("malloc", CHATSEAL_E_NO_MEMORY);
    snprintf(t, n, "cs1.%s.%s", h, p);
    free(h);
    free(p);
    return t;
}

char *cs_test_token_header(const char *token)
{
    const char *h = token + 4;
    const char *dot = strchr(h, '.');
    size_t n;
    if (strncmp(token, "cs1.", 4) != 0 || !dot)
        hard("token_header", CHATSEAL_E_MALFORMED_TOKEN);
    return (char *)cs_test_unb64u(h, (size_t)(dot - h), &n);
}

uint8_t *cs_test_token_payload(const char *token, size_t *len)
{
    const char *dot = strrchr(token, '.');
    if (!dot)
        hard("token_payload", CHATSEAL_E_MALFORMED_TOKEN);
    return cs_test_unb64u(dot + 1, strlen(dot + 1), len);
}

char *cs_test_replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at) {
        fprintf(stderr, "SETUP FAILED: '%s' not in '%s'\n", from, s);
        exit(99);
    }
    size_t head = (size_t)(at - s), tl = strlen(to);
    const char *rest = at + strlen(from);
    size_t rl = strlen(rest);
    char *out = malloc(head + tl + rl + 1);
    if (!out)
        hard("malloc", CHATSEAL_E_NO_MEMORY);
    memcpy(out, s, head);
    memcpy(out + head, to, tl);
    memcpy(out + head + tl, rest, rl + 1);
    return out;
}

char *cs_test_join(const char *const *msgs, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(msgs[i]) + 1;
    char *s = malloc(len);
    if (!s)
        hard("malloc", CHATSEAL_E_NO_MEMORY);
    size_t o = 0;
    s[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            s[o++] = ',';
        size_t ml = strlen(msgs[i]);
        memcpy(s + o, msgs[i], ml);
        o += ml;
    }
    s[o++] = ']';
    s[o] = '\0';
    return s;
}
