/*
 * tokhdr_ref.c -- the reference token header reader, written from
 * docs/FORMAT.md §4 (and §2, §3 for role codes and key ids), not from
 * src/lib/tokhdr.c.
 *
 * tests/unit/test_token_header.c and fuzz/fuzz_token_header.c hand the same
 * canonical header to both readers and require the same verdict and, on
 * success, the same fields.  That only finds bugs if the two were written
 * apart, so this file shares no code with the library's reader: it parses
 * with jansson, decodes base64url with its own decoder, checks key ids with
 * its own loop, and states the rules as a table of FORMAT.md §4's members
 * (name, JSON type, which token types may or must carry it) plus one check
 * function per member and one for the rules that tie members together.
 * Only the output struct (cs_token) and the public constants are shared.
 *
 * Where FORMAT.md is silent the reference follows the library's documented
 * contract and says so at the rule ("not in FORMAT.md"); such rules are the
 * first place to look when the two readers disagree.  Speed does not
 * matter here; being plainly right does.
 *
 * Contract (the same as cs_token_header_read): the header bytes passed
 * cs_token_header_canonical; t is zeroed; on error t may hold allocations
 * that cs_token_clear frees.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tokhdr_ref.h"

/* FORMAT.md §4: "0 <= iat < 2^53"; every integer member is read within the
 * same bound (not in FORMAT.md for exp and n: the library's contract). */
#define REF_INT_END ((json_int_t)1 << 53)
/* Longest n (not in FORMAT.md: the library refuses a count no token of at
 * most CHATSEAL_TOKEN_MAX bytes could describe message by message). */
#define REF_N_MAX ((json_int_t)CHATSEAL_TOKEN_MAX)

enum ref_type { R_INT, R_STR, R_TRUE };
/* which token types carry a member */
enum ref_when { W_ALL, W_CHAIN, W_OPTIONAL, W_CHAIN_OPTIONAL };

struct ref_member;
typedef int (*ref_check)(json_t *v, cs_token *t);

struct ref_member {
    const char *name;
    enum ref_type type;
    enum ref_when when;
    ref_check check; /* 0 = accepted; fills t */
};

/* ------------------------------------------------------------ base64url -- */

static int ref_b64u_value(char c)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* FORMAT.md §4, last paragraph: no padding, only the url alphabet, unused
 * trailing bits zero.  A malloc'ed copy of the bytes (at least one byte
 * allocated, so an empty text still gives a non-NULL pointer), or NULL. */
static uint8_t *ref_b64u(const char *s, size_t n, size_t *out_len)
{
    if (n % 4 == 1)
        return NULL; /* 6 bits cannot end a byte */
    uint8_t *out = malloc(n * 3 / 4 + 1);
    if (!out)
        return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int x = ref_b64u_value(s[i]);
        if (x < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) { /* the leftover bits of the last character */
        free(out);
        return NULL;
    }
    *out_len = k;
    return out;
}

/* ------------------------------------------------------- member checks -- */

static int ref_int(json_t *v, json_int_t lo, json_int_t end, int64_t *out)
{
    json_int_t x = json_integer_value(v);
    if (x < lo || x >= end)
        return -1;
    *out = (int64_t)x;
    return 0;
}

static int check_v(json_t *v, cs_token *t)
{
    (void)v;
    (void)t; /* read before any member: see cs_token_header_read_reference */
    return 0;
}

static int check_typ(json_t *v, cs_token *t)
{
    static const char *const types[] = {CS_TYP_CONV, CS_TYP_MSG, CS_TYP_STATE,
                                        CS_TYP_SEALED};
    const char *s = json_string_value(v);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(s, types[i]) == 0) {
            memcpy(t->typ, s, strlen(s) + 1);
            return 0;
        }
    return -1;
}

/* FORMAT.md §3: 1 to 64 characters from [A-Za-z0-9._-]. */
static int check_kid(json_t *v, cs_token *t)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < 1 || n > CHATSEAL_KID_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return -1;
    }
    memcpy(t->kid, s, n + 1);
    return 0;
}

static int check_iat(json_t *v, cs_token *t)
{
    return ref_int(v, 0, REF_INT_END, &t->iat);
}

/* exp > iat is a rule between members (ref_together); alone it is a time
 * after the epoch: 0 would read as "no expiry". */
static int check_exp(json_t *v, cs_token *t)
{
    return ref_int(v, 1, REF_INT_END, &t->exp);
}

static int check_n(json_t *v, cs_token *t)
{
    return ref_int(v, 0, REF_N_MAX + 1, &t->n);
}

/* FORMAT.md §4: 1..1024 bytes.  (jansson already refused a U+0000.) */
static int check_pur(json_t *v, cs_token *t)
{
    size_t n = json_string_length(v);
    if (n < 1 || n > CHATSEAL_BINDING_MAX)
        return -1;
    t->pur = strdup(json_string_value(v));
    return t->pur ? 0 : -1;
}

/* FORMAT.md §4.2: b64u of exactly 16 bytes. */
static int check_bnd(json_t *v, cs_token *t)
{
    size_t n = 0;
    uint8_t *b = ref_b64u(json_string_value(v), json_string_length(v), &n);
    int ok = b && n == CHATSEAL_BINDBYTES;
    if (ok) {
        memcpy(t->bnd, b, CHATSEAL_BINDBYTES);
        t->has_bnd = 1;
    }
    free(b);
    return ok ? 0 : -1;
}

/* FORMAT.md §2: the role codes s u a t d f x, one per message. */
static int check_roles(json_t *v, cs_token *t)
{
    const char *s = json_string_value(v);
    for (size_t i = 0; s[i]; i++)
        if (!memchr("suatdfx", s[i], 7))
            return -1;
    t->roles = strdup(s);
    return t->roles ? 0 : -1;
}

/* FORMAT.md §4.3: b64u of whole 8-byte locators. */
static int check_loc(json_t *v, cs_token *t)
{
    size_t n = 0;
    t->loc = ref_b64u(json_string_value(v), json_string_length(v), &n);
    if (!t->loc || n % CHATSEAL_LOCATORBYTES != 0)
        return -1;
    t->nloc = n / CHATSEAL_LOCATORBYTES;
    return 0;
}

/* FORMAT.md §2.2 / §4: b64u of whole 20-byte entries, at least one. */
static int check_rsn(json_t *v, cs_token *t)
{
    size_t n = 0;
    t->rsn = ref_b64u(json_string_value(v), json_string_length(v), &n);
    if (!t->rsn || n == 0 || n % CS_RSN_ENTRY != 0)
        return -1;
    t->nrsn = n / CS_RSN_ENTRY;
    return 0;
}

static int check_ao(json_t *v, cs_token *t)
{
    (void)v; /* the table already required JSON true */
    t->ao = 1;
    return 0;
}

/* FORMAT.md §4's table, in its order. */
static const struct ref_member ref_members[] = {
    {"v", R_INT, W_ALL, check_v},
    {"typ", R_STR, W_ALL, check_typ},
    {"kid", R_STR, W_ALL, check_kid},
    {"iat", R_INT, W_ALL, check_iat},
    {"exp", R_INT, W_OPTIONAL, check_exp},
    {"n", R_INT, W_CHAIN, check_n},
    {"pur", R_STR, W_OPTIONAL, check_pur},
    {"bnd", R_STR, W_OPTIONAL, check_bnd},
    {"roles", R_STR, W_CHAIN_OPTIONAL, check_roles},
    {"loc", R_STR, W_CHAIN_OPTIONAL, check_loc},
    {"ao", R_TRUE, W_CHAIN_OPTIONAL, check_ao},
    {"rsn", R_STR, W_CHAIN_OPTIONAL, check_rsn},
};
#define REF_NMEMBERS (sizeof ref_members / sizeof ref_members[0])

static const struct ref_member *ref_find(const char *name)
{
    for (size_t i = 0; i < REF_NMEMBERS; i++)
        if (strcmp(ref_members[i].name, name) == 0)
            return &ref_members[i];
    return NULL;
}

static int ref_type_ok(enum ref_type type, json_t *v)
{
    switch (type) {
    case R_INT:
        return json_is_integer(v);
    case R_STR:
        return json_is_string(v);
    case R_TRUE:
        return json_is_true(v);
    }
    return 0;
}

/* ------------------------------------------------- rules between members -- */

static int ref_is_chain(const cs_token *t)
{
    return strcmp(t->typ, CS_TYP_CONV) == 0 || strcmp(t->typ, CS_TYP_MSG) == 0;
}

/* The "when" column and the rules that tie members together. */
static int ref_together(json_t *h, const cs_token *t)
{
    int chain = ref_is_chain(t);
    for (size_t i = 0; i < REF_NMEMBERS; i++) {
        const struct ref_member *m = &ref_members[i];
        int present = json_object_get(h, m->name) != NULL;
        if (m->when == W_ALL && !present)
            return -1;
        if (m->when == W_CHAIN && present != chain)
            return -1;
        if (m->when == W_CHAIN_OPTIONAL && present && !chain)
            return -1;
    }
    if (t->exp && t->exp <= t->iat) /* "exp: > iat" */
        return -1;
    if (strcmp(t->typ, CS_TYP_MSG) == 0 && t->n != 1) /* "msg: always 1" */
        return -1;
    /* "unless compact": roles and loc come together; ao qualifies them */
    if ((t->roles == NULL) != (t->loc == NULL) || (t->ao && !t->roles))
        return -1;
    if (t->roles) {
        /* "the n role codes", and a locator per located message (§4.3) */
        size_t codes = strlen(t->roles), located = 0;
        if ((int64_t)codes != t->n)
            return -1;
        for (size_t i = 0; i < codes; i++)
            if (!t->ao || t->roles[i] == 'a')
                located++;
        if (located != t->nloc)
            return -1;
    }
    /* "rsn: v2 ... message indices strictly increasing and below n" */
    if (t->rsn && t->v != 2)
        return -1;
    long long prev = -1;
    for (size_t k = 0; k < t->nrsn; k++) {
        const uint8_t *e = t->rsn + k * CS_RSN_ENTRY;
        long long at = (long long)e[0] << 24 | (long long)e[1] << 16 |
                       (long long)e[2] << 8 | (long long)e[3];
        if (at <= prev || at >= t->n)
            return -1;
        prev = at;
    }
    return 0;
}

/* ---------------------------------------------------------------- reader -- */

chatseal_error cs_token_header_read_reference(const uint8_t *header, size_t len,
                                              cs_token *t)
{
    /* Without JSON_ALLOW_NUL and JSON_DECODE_INT_AS_REAL jansson refuses the
     * whole text for a \u0000 escape or an integer beyond json_int_t: such a
     * header is malformed whatever its "v" says. */
    json_error_t jerr;
    json_t *h =
        json_loadb((const char *)header, len, JSON_REJECT_DUPLICATES, &jerr);
    t->n = -1;
    chatseal_error e = CHATSEAL_E_MALFORMED_TOKEN;
    json_t *v = json_object_get(h, "v");
    if (!json_is_object(h) || !json_is_integer(v))
        goto out;
    /* The version is judged before any other member (not in FORMAT.md's
     * step order: a later version may change every other member, so its
     * headers are "unsupported", never "malformed"). */
    if (json_integer_value(v) != 1 && json_integer_value(v) != 2) {
        e = CHATSEAL_E_UNSUPPORTED_VERSION;
        goto out;
    }
    t->v = (int)json_integer_value(v);
    const char *name;
    json_t *value;
    json_object_foreach(h, name, value)
    {
        const struct ref_member *m = ref_find(name);
        /* "Members not in this table make the token malformed." */
        if (!m || !ref_type_ok(m->type, value) || m->check(value, t) != 0)
            goto out;
    }
    if (ref_together(h, t) == 0)
        e = CHATSEAL_OK;
out:
    json_decref(h);
    return e;
}

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
