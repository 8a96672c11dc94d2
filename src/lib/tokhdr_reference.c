/*
 * tokhdr_reference.c -- the reference token header reader (jansson).
 *
 * This is the header reader cs_token_decode used before tokhdr.c replaced
 * it for speed, kept unchanged in substance as the definition of correct:
 * tests/unit/test_token_header.c and fuzz/fuzz_token_header.c run both on
 * the same canonical headers and require the same error code and, on
 * success, the same fields.  Like reference.c it is built into the static
 * library the tests and fuzzers link, never into the shipped shared
 * library, and nothing in the API calls it.  Speed does not matter here;
 * being obviously right does.
 *
 * Contract (the same as cs_token_header_read): the header bytes have passed
 * cs_token_header_canonical; t is zeroed; on error t may hold partial
 * allocations that cs_token_clear frees.  json_loadb without JSON_ALLOW_NUL
 * or JSON_DECODE_INT_AS_REAL refuses the whole text for a \u0000 escape and
 * for an integer literal outside json_int_t, which is why such headers are
 * malformed_token even when "v" is not 1.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

#define REF_INT_LIMIT ((int64_t)1 << 53)

static uint8_t *ref_b64u_alloc(const char *s, size_t n, size_t *len)
{
    uint8_t *p = malloc(n / 4 * 3 + 3);
    if (p && cs_b64u_decode(s, n, p, len) == 0)
        return p;
    free(p);
    return NULL;
}

static int ref_get_int(json_t *v, int64_t lo, int64_t *out)
{
    if (!json_is_integer(v))
        return -1;
    json_int_t x = json_integer_value(v);
    if (x < lo || x >= REF_INT_LIMIT)
        return -1;
    *out = (int64_t)x;
    return 0;
}

static int ref_roles_valid(const char *s)
{
    for (; *s; s++)
        if (!strchr("suatdfx", *s))
            return 0;
    return 1;
}

/* Member checks of §4 on a parsed, canonical header object. */
static chatseal_error ref_members(json_t *h, cs_token *t)
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
            if (ref_get_int(v, 0, &t->iat))
                return CHATSEAL_E_MALFORMED_TOKEN;
            has_iat = 1;
        } else if (strcmp(name, "exp") == 0) {
            if (ref_get_int(v, 1, &t->exp))
                return CHATSEAL_E_MALFORMED_TOKEN;
        } else if (strcmp(name, "n") == 0) {
            if (ref_get_int(v, 0, &t->n) || t->n > (int64_t)CHATSEAL_TOKEN_MAX)
                return CHATSEAL_E_MALFORMED_TOKEN;
        } else if (strcmp(name, "pur") == 0) {
            if (!s || sl < 1 || sl > CHATSEAL_BINDING_MAX || strlen(s) != sl ||
                !(t->pur = strdup(s)))
                return CHATSEAL_E_MALFORMED_TOKEN;
        } else if (strcmp(name, "bnd") == 0) {
            size_t bl = 0;
            uint8_t *b = s && sl == 22 ? ref_b64u_alloc(s, sl, &bl) : NULL;
            if (!b || bl != CHATSEAL_BINDBYTES) {
                free(b);
                return CHATSEAL_E_MALFORMED_TOKEN;
            }
            memcpy(t->bnd, b, CHATSEAL_BINDBYTES);
            free(b);
            t->has_bnd = 1;
        } else if (strcmp(name, "roles") == 0) {
            if (!s || strlen(s) != sl || !ref_roles_valid(s) ||
                !(t->roles = strdup(s)))
                return CHATSEAL_E_MALFORMED_TOKEN;
        } else if (strcmp(name, "loc") == 0) {
            size_t ll = 0;
            if (!s || !(t->loc = ref_b64u_alloc(s, sl, &ll)) ||
                ll % CHATSEAL_LOCATORBYTES)
                return CHATSEAL_E_MALFORMED_TOKEN;
            t->nloc = ll / CHATSEAL_LOCATORBYTES;
        } else if (strcmp(name, "rsn") == 0) {
            size_t rl = 0;
            if (!s || !sl || !(t->rsn = ref_b64u_alloc(s, sl, &rl)) ||
                rl % CS_RSN_ENTRY)
                return CHATSEAL_E_MALFORMED_TOKEN;
            t->nrsn = rl / CS_RSN_ENTRY;
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

chatseal_error cs_token_header_read_reference(const uint8_t *header, size_t len,
                                              cs_token *t)
{
    json_error_t jerr;
    t->n = -1;
    json_t *h =
        json_loadb((const char *)header, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(h)) {
        json_decref(h);
        return CHATSEAL_E_MALFORMED_TOKEN;
    }
    json_t *v = json_object_get(h, "v");
    chatseal_error e;
    if (json_is_integer(v) && json_integer_value(v) != 1 &&
        json_integer_value(v) != 2)
        e = CHATSEAL_E_UNSUPPORTED_VERSION;
    else if (!json_is_integer(v))
        e = CHATSEAL_E_MALFORMED_TOKEN;
    else {
        t->v = (int)json_integer_value(v);
        e = ref_members(h, t);
    }
    if (e == CHATSEAL_OK && t->rsn) {
        /* v2 conv/msg only; entries strictly increasing, each below n */
        long long last = -1;
        if (t->v != 2 || t->n < 0)
            e = CHATSEAL_E_MALFORMED_TOKEN;
        for (size_t k = 0; e == CHATSEAL_OK && k < t->nrsn; k++) {
            const uint8_t *p = t->rsn + k * CS_RSN_ENTRY;
            long long at = ((long long)p[0] << 24) | (p[1] << 16) |
                           (p[2] << 8) | p[3];
            if (at <= last || at >= t->n)
                e = CHATSEAL_E_MALFORMED_TOKEN;
            last = at;
        }
    }
    json_decref(h);
    return e;
}

/* 1 when two decoded headers hold the same fields (the differential
 * test and fuzz target compare the two readers with it). */
int cs_token_fields_equal(const cs_token *a, const cs_token *b)
{
    return strcmp(a->typ, b->typ) == 0 && strcmp(a->kid, b->kid) == 0 &&
           a->iat == b->iat && a->exp == b->exp && a->n == b->n &&
           !a->pur == !b->pur && (!a->pur || strcmp(a->pur, b->pur) == 0) &&
           a->has_bnd == b->has_bnd &&
           (!a->has_bnd || memcmp(a->bnd, b->bnd, sizeof a->bnd) == 0) &&
           !a->roles == !b->roles &&
           (!a->roles || strcmp(a->roles, b->roles) == 0) &&
           !a->loc == !b->loc && a->nloc == b->nloc &&
           (!a->loc ||
            memcmp(a->loc, b->loc, a->nloc * CHATSEAL_LOCATORBYTES) == 0) &&
           a->ao == b->ao && a->v == b->v && a->nrsn == b->nrsn &&
           !a->rsn == !b->rsn &&
           (!a->rsn || memcmp(a->rsn, b->rsn, a->nrsn * CS_RSN_ENTRY) == 0);
}
