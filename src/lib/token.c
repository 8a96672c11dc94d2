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
 * The header's members are read by the scanner in tokhdr.c, which relies on
 * the canonical-form check here coming first (see there for why and how it
 * is held to the jansson reader it replaced).
 */
#include <stdlib.h>
#include <string.h>

#include "fastcanon.h"
#include "internal.h"

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

/* Members in RFC 8785 order: ao bnd exp iat kid loc n pur roles rsn typ v. */
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
    if (h->rsn)
        cs_header_b64(out, &first, "rsn", h->rsn, h->nrsn * CS_RSN_ENTRY);
    cs_header_str(out, &first, "typ", h->typ, strlen(h->typ));
    cs_header_int(out, &first, "v", h->v ? h->v : CHATSEAL_FORMAT_VERSION);
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
    free(t->rsn);
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

/* Every header must be its own canonical form (at most 4 deep): the one
 * spelling the tag covers, and the only grammar tokhdr.c reads. */
chatseal_error cs_token_header_canonical(const uint8_t *header, size_t len)
{
    char *canon = NULL;
    size_t cl = 0;
    if (cs_fc_canonicalize_alloc((const char *)header, len, 4, &canon, &cl) !=
        CHATSEAL_OK)
        return CHATSEAL_E_MALFORMED_TOKEN;
    int same = cl == len && memcmp(canon, header, cl) == 0;
    free(canon);
    return same ? CHATSEAL_OK : CHATSEAL_E_MALFORMED_TOKEN;
}

static chatseal_error cs_token_parse_header(cs_token *t)
{
    /* first: the scanner may only ever see canonical JSON */
    chatseal_error e = cs_token_header_canonical(t->header, t->header_len);
    if (e == CHATSEAL_OK)
        e = cs_token_header_read(t->header, t->header_len, t);
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
        /* the exact tag length is the key's (cs_token_admit); here only
         * a length some key algorithm has (32, 48, 64) */
        size_t tl = t->payload_len;
        if (sealed ? tl < 12 + 16 : tl != 32 && tl != 48 && tl != 64)
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
