/*
 * token.c -- token text: build a header, assemble a token, decode one.
 *
 *   token = "cs1." b64u(header) "." b64u(payload)        (FORMAT.md §4)
 *
 * The header is canonical JSON and must be its own RFC 8785 form, and base64url
 * is strict, so every token has exactly one spelling: nothing about a token
 * can be changed without changing the bytes the tag covers.  Decoding checks
 * everything that needs no key (prefix, segments, alphabet, member names and
 * types, ranges, the shape of roles and locators) and stops at the first
 * problem with malformed_token; a version other than 1 is reported as such
 * before any member check, so that a future format is named, not "malformed".
 *
 * The header is read with jansson: it is small, it is parsed once per
 * verification, and a second, independent parser here costs nothing on the
 * hot path while the canonical-form check ties it to fastcanon's bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fastcanon.h"
#include "internal.h"

#define CS_INT_MAX ((int64_t)1 << 53)

static void cs_header_int(cs_buf *b, int *first, const char *name, int64_t v)
{
    cs_buf_puts(b, *first ? "\"" : ",\"");
    *first = 0;
    cs_buf_puts(b, name);
    cs_buf_printf(b, "\":%lld", (long long)v);
}

static void cs_header_str(cs_buf *b, int *first, const char *name,
                          const char *v, size_t n)
{
    cs_buf_puts(b, *first ? "\"" : ",\"");
    *first = 0;
    cs_buf_puts(b, name);
    cs_buf_puts(b, "\":");
    cs_buf_json_string(b, v, n);
}

static void cs_header_b64(cs_buf *b, int *first, const char *name,
                          const uint8_t *v, size_t n)
{
    char *s = malloc(cs_b64u_encoded_len(n) + 1);
    if (!s) {
        b->oom = 1;
        return;
    }
    cs_b64u_encode(v, n, s);
    cs_header_str(b, first, name, s, strlen(s));
    free(s);
}

/* Members in RFC 8785 order: ao bnd exp iat kid loc n pur roles typ v. */
chatseal_error cs_header_build(const cs_header_in *h, cs_buf *out)
{
    int first = 1;
    cs_buf_putc(out, '{');
    if (h->ao) {
        cs_buf_puts(out, "\"ao\":true");
        first = 0;
    }
    if (h->bnd)
        cs_header_b64(out, &first, "bnd", h->bnd, CHATSEAL_BINDBYTES);
    if (h->exp)
        cs_header_int(out, &first, "exp", h->exp);
    cs_header_int(out, &first, "iat", h->iat);
    cs_header_str(out, &first, "kid", h->kid, strlen(h->kid));
    if (h->roles)
        cs_header_b64(out, &first, "loc", h->loc,
                      h->nloc * CHATSEAL_LOCATORBYTES);
    if (h->n >= 0)
        cs_header_int(out, &first, "n", h->n);
    if (h->pur)
        cs_header_str(out, &first, "pur", h->pur, strlen(h->pur));
    if (h->roles)
        cs_header_str(out, &first, "roles", h->roles, strlen(h->roles));
    cs_header_str(out, &first, "typ", h->typ, strlen(h->typ));
    cs_header_int(out, &first, "v", CHATSEAL_FORMAT_VERSION);
    cs_buf_putc(out, '}');
    if (out->oom)
        return CHATSEAL_E_NO_MEMORY;
    /* pur is caller text: make sure the header is what a verifier accepts */
    char *canon = NULL;
    size_t cl = 0;
    chatseal_error e = cs_fc_canonicalize_alloc(out->p, out->n, 0, &canon, &cl);
    if (e == CHATSEAL_OK && (cl != out->n || memcmp(canon, out->p, cl) != 0))
        e = CHATSEAL_E_INVALID_ARGUMENT;
    else if (e != CHATSEAL_OK)
        e = CHATSEAL_E_INVALID_ARGUMENT; /* e.g. pur is not UTF-8 */
    free(canon);
    return e;
}

chatseal_error cs_token_assemble(const cs_buf *header, const uint8_t *payload,
                                 size_t payload_len, char **token)
{
    size_t hl = cs_b64u_encoded_len(header->n);
    size_t pl = cs_b64u_encoded_len(payload_len);
    size_t prefix = strlen(CHATSEAL_TOKEN_PREFIX);
    if (prefix + hl + 1 + pl > CHATSEAL_TOKEN_MAX)
        return CHATSEAL_E_TOO_LARGE;
    char *t = malloc(prefix + hl + 1 + pl + 1);
    if (!t)
        return CHATSEAL_E_NO_MEMORY;
    memcpy(t, CHATSEAL_TOKEN_PREFIX, prefix);
    cs_b64u_encode((const uint8_t *)header->p, header->n, t + prefix);
    t[prefix + hl] = '.';
    cs_b64u_encode(payload, payload_len, t + prefix + hl + 1);
    *token = t;
    return CHATSEAL_OK;
}

void cs_token_clear(cs_token *t)
{
    free(t->pur);
    free(t->roles);
    free(t->loc);
    free(t->header);
    free(t->payload);
    memset(t, 0, sizeof *t);
}

static uint8_t *cs_b64u_alloc(const char *s, size_t n, size_t *len)
{
    uint8_t *p = malloc(n / 4 * 3 + 3);
    if (p && cs_b64u_decode(s, n, p, len) == 0)
        return p;
    free(p);
    return NULL;
}

static int cs_get_int(json_t *v, int64_t lo, int64_t *out)
{
    if (!json_is_integer(v))
        return -1;
    json_int_t x = json_integer_value(v);
    if (x < lo || x >= CS_INT_MAX)
        return -1;
    *out = (int64_t)x;
    return 0;
}

static int cs_roles_valid(const char *s)
{
    for (; *s; s++)
        if (!strchr("suatdfx", *s))
            return 0;
    return 1;
}

/* Member checks of §4 on a parsed, canonical header object. */
static chatseal_error cs_token_members(json_t *h, cs_token *t)
{
    const char *name;
    json_t *v;
    int has_v = 0, has_iat = 0;
    t->n = -1;
    json_object_foreach(h, name, v)
    {
        size_t sl = json_is_string(v) ? json_string_length(v) : 0;
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (strcmp(name, "v") == 0) {
            has_v = 1; /* value checked by the caller */
        } else if (strcmp(name, "typ") == 0) {
            if (!s || (strcmp(s, CS_TYP_CONV) && strcmp(s, CS_TYP_MSG) &&
                       strcmp(s, CS_TYP_STATE) && strcmp(s, CS_TYP_SEALED)))
                return CHATSEAL_E_MALFORMED_TOKEN;
            strcpy(t->typ, s);
        } else if (strcmp(name, "kid") == 0) {
            if (!s || !cs_kid_valid(s, sl))
                return CHATSEAL_E_MALFORMED_TOKEN;
            memcpy(t->kid, s, sl + 1);
        } else if (strcmp(name, "iat") == 0) {
            if (cs_get_int(v, 0, &t->iat))
                return CHATSEAL_E_MALFORMED_TOKEN;
            has_iat = 1;
        } else if (strcmp(name, "exp") == 0) {
            if (cs_get_int(v, 1, &t->exp))
                return CHATSEAL_E_MALFORMED_TOKEN;
        } else if (strcmp(name, "n") == 0) {
            if (cs_get_int(v, 0, &t->n) || t->n > (int64_t)CHATSEAL_TOKEN_MAX)
                return CHATSEAL_E_MALFORMED_TOKEN;
        } else if (strcmp(name, "pur") == 0) {
            if (!s || sl < 1 || sl > CHATSEAL_BINDING_MAX || strlen(s) != sl ||
                !(t->pur = strdup(s)))
                return CHATSEAL_E_MALFORMED_TOKEN;
        } else if (strcmp(name, "bnd") == 0) {
            size_t bl = 0;
            uint8_t *b = s && sl == 22 ? cs_b64u_alloc(s, sl, &bl) : NULL;
            if (!b || bl != CHATSEAL_BINDBYTES) {
                free(b);
                return CHATSEAL_E_MALFORMED_TOKEN;
            }
            memcpy(t->bnd, b, CHATSEAL_BINDBYTES);
            free(b);
            t->has_bnd = 1;
        } else if (strcmp(name, "roles") == 0) {
            if (!s || strlen(s) != sl || !cs_roles_valid(s) ||
                !(t->roles = strdup(s)))
                return CHATSEAL_E_MALFORMED_TOKEN;
        } else if (strcmp(name, "loc") == 0) {
            size_t ll = 0;
            if (!s || !(t->loc = cs_b64u_alloc(s, sl, &ll)) ||
                ll % CHATSEAL_LOCATORBYTES)
                return CHATSEAL_E_MALFORMED_TOKEN;
            t->nloc = ll / CHATSEAL_LOCATORBYTES;
        } else if (strcmp(name, "ao") == 0) {
            if (!json_is_true(v))
                return CHATSEAL_E_MALFORMED_TOKEN;
            t->ao = 1;
        } else {
            return CHATSEAL_E_MALFORMED_TOKEN;
        }
    }
    if (!has_v || !has_iat || !t->typ[0] || !t->kid[0])
        return CHATSEAL_E_MALFORMED_TOKEN;
    if (t->exp && t->exp <= t->iat)
        return CHATSEAL_E_MALFORMED_TOKEN;
    int chain = !strcmp(t->typ, CS_TYP_CONV) || !strcmp(t->typ, CS_TYP_MSG);
    if (!chain)
        return t->n >= 0 || t->roles || t->loc || t->ao
                   ? CHATSEAL_E_MALFORMED_TOKEN
                   : CHATSEAL_OK;
    if (t->n < 0 || (!strcmp(t->typ, CS_TYP_MSG) && t->n != 1))
        return CHATSEAL_E_MALFORMED_TOKEN;
    if (!t->roles != !t->loc || (t->ao && !t->roles))
        return CHATSEAL_E_MALFORMED_TOKEN;
    if (t->roles) {
        if ((int64_t)strlen(t->roles) != t->n)
            return CHATSEAL_E_MALFORMED_TOKEN;
        size_t located = 0;
        for (const char *r = t->roles; *r; r++)
            located += !t->ao || *r == 'a';
        if (located != t->nloc)
            return CHATSEAL_E_MALFORMED_TOKEN;
    }
    return CHATSEAL_OK;
}

static chatseal_error cs_token_parse_header(cs_token *t)
{
    /* the header must be its own canonical form */
    char *canon = NULL;
    size_t cl = 0;
    if (cs_fc_canonicalize_alloc((const char *)t->header, t->header_len, 4,
                                 &canon, &cl) != CHATSEAL_OK)
        return CHATSEAL_E_MALFORMED_TOKEN;
    int same = cl == t->header_len && memcmp(canon, t->header, cl) == 0;
    free(canon);
    if (!same)
        return CHATSEAL_E_MALFORMED_TOKEN;
    json_error_t jerr;
    json_t *h = json_loadb((const char *)t->header, t->header_len,
                           JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(h)) {
        json_decref(h);
        return CHATSEAL_E_MALFORMED_TOKEN;
    }
    json_t *v = json_object_get(h, "v");
    chatseal_error e;
    if (json_is_integer(v) && json_integer_value(v) != CHATSEAL_FORMAT_VERSION)
        e = CHATSEAL_E_UNSUPPORTED_VERSION;
    else if (!json_is_integer(v))
        e = CHATSEAL_E_MALFORMED_TOKEN;
    else
        e = cs_token_members(h, t);
    json_decref(h);
    return e;
}

chatseal_error cs_token_decode(const char *text, cs_token *t)
{
    memset(t, 0, sizeof *t);
    t->n = -1;
    size_t prefix = strlen(CHATSEAL_TOKEN_PREFIX);
    size_t len = strnlen(text, CHATSEAL_TOKEN_MAX + 1);
    if (len > CHATSEAL_TOKEN_MAX || len < prefix ||
        memcmp(text, CHATSEAL_TOKEN_PREFIX, prefix) != 0)
        return CHATSEAL_E_MALFORMED_TOKEN;
    const char *h = text + prefix;
    const char *dot = memchr(h, '.', len - prefix);
    if (!dot || dot == h || !dot[1])
        return CHATSEAL_E_MALFORMED_TOKEN;
    const char *p = dot + 1;
    size_t hl = (size_t)(dot - h), pl = len - prefix - hl - 1;
    chatseal_error e = CHATSEAL_E_MALFORMED_TOKEN;
    if ((t->header = cs_b64u_alloc(h, hl, &t->header_len)) &&
        (t->payload = cs_b64u_alloc(p, pl, &t->payload_len)))
        e = cs_token_parse_header(t);
    if (e == CHATSEAL_OK) {
        int sealed = !strcmp(t->typ, CS_TYP_SEALED);
        if (sealed ? t->payload_len < 12 + 16
                   : t->payload_len != CHATSEAL_TAGBYTES)
            e = CHATSEAL_E_MALFORMED_TOKEN;
    }
    if (e != CHATSEAL_OK)
        cs_token_clear(t);
    return e;
}

chatseal_error chatseal_token_inspect(const char *token, char **header_json)
{
    if (!token || !header_json)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *header_json = NULL;
    if (!*token)
        return CHATSEAL_E_MISSING_SIGNATURE;
    cs_token t;
    chatseal_error e = cs_token_decode(token, &t);
    if (e != CHATSEAL_OK)
        return e;
    char *s = malloc(t.header_len + 1);
    if (s) {
        memcpy(s, t.header, t.header_len);
        s[t.header_len] = '\0';
    }
    cs_token_clear(&t);
    *header_json = s;
    return s ? CHATSEAL_OK : CHATSEAL_E_NO_MEMORY;
}
