/*
 * tokhdr.c -- reading a token header: a small scanner, not a JSON parser.
 *
 * Why: the header of a conv token carries the locators of every message
 * (`loc`, 8 bytes each, base64url), so a 2000-message token has a header of
 * over 20 KB.  Reading it with jansson (a DOM, a copy and a UTF-8 check of
 * every string, a hash table of member names) made cs_token_decode cost
 * ~205 us for 2000 messages and ~22 us for 200, most of a verify's time
 * beyond hashing.  With this scanner the same decodes (canonical check and
 * base64url included) measured ~22 us and ~2.7 us (release build, CPU time,
 * medians; bench_verify's verify of short-2000 went from ~657 to ~457 us).
 *
 * Why it is safe to be this small: cs_token_parse_header (token.c) first
 * requires the header to be byte for byte its own RFC 8785 form, and only
 * then calls cs_token_header_read.  So what this file sees is one object
 * with no whitespace, members sorted and unique, strings that are valid UTF-8
 * with only the mandatory escapes (\" \\ \b \f \n \r \t and \u00xx below
 * 0x20), numbers in their shortest form, nesting at most 4 deep.  The scanner
 * therefore reads exactly that grammar and calls anything else malformed
 * (fail closed; it never reads outside the len bytes it was given).
 *
 * What it must mirror beyond the member checks of FORMAT.md §4: the reader it
 * replaced (jansson; the tests' reference, cs_token_header_read_reference in
 * tests/support/tokhdr_ref.c, reads the same way) refuses the
 * whole text -- malformed_token even when "v" is not 1 -- when any string,
 * nested or not, holds a \u0000 escape (no JSON_ALLOW_NUL) and when an
 * integer literal does not fit in 64 bits (strtoll range).  So the scan
 * checks every value to the end first, and only then looks at the version,
 * then at the member errors it noted on the way.
 *
 * tests/unit/test_token_header.c and fuzz/fuzz_token_header.c hold this file
 * to the reference: same error code, and on success the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TH_INT_LIMIT ((int64_t)1 << 53) /* integers are < 2^53 (§4) */
#define TH_MAX_NEST 8 /* canonical headers nest at most 4 deep */

enum th_type { TH_STRING, TH_INT, TH_REAL, TH_TRUE, TH_OTHER };

typedef struct th_value {
    enum th_type type;
    const char *s; /* TH_STRING: the bytes between the quotes, as written */
    size_t len;
    int escaped; /* TH_STRING: s holds at least one backslash escape */
    int64_t i;   /* TH_INT */
} th_value;

typedef struct th_scan {
    const char *p, *end;
} th_scan;

static int th_expect(th_scan *sc, char c)
{
    if (sc->p >= sc->end || *sc->p != c)
        return -1;
    sc->p++;
    return 0;
}

static int th_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * The escape at p (p[0] is the backslash): the byte it stands for, and in
 * *used its length; -1 for anything canonical JSON does not write, and for
 * \u0000, which jansson refuses.
 */
static int th_escape(const char *p, const char *end, size_t *used)
{
    static const char from[] = "\"\\bfnrt", to[] = "\"\\\b\f\n\r\t";
    if (end - p < 2)
        return -1;
    const char *k = p[1] ? strchr(from, p[1]) : NULL;
    if (k) {
        *used = 2;
        return (unsigned char)to[k - from];
    }
    if (p[1] != 'u' || end - p < 6 || p[2] != '0' || p[3] != '0')
        return -1;
    int hi = th_hex(p[4]), lo = th_hex(p[5]);
    if (hi < 0 || hi > 1 || lo < 0 || (hi == 0 && lo == 0))
        return -1;
    *used = 6;
    return hi << 4 | lo;
}

/* A string whose opening quote has been read.  The common case, no escape
 * at all (loc is tens of kilobytes of base64url), is two memchr calls. */
static int th_string(th_scan *sc, th_value *v)
{
    const char *p = sc->p;
    const char *q = memchr(p, '"', (size_t)(sc->end - p));
    if (!q)
        return -1;
    v->type = TH_STRING;
    v->s = p;
    v->escaped = memchr(p, '\\', (size_t)(q - p)) != NULL;
    if (v->escaped) {
        /* a quote may be escaped: walk escape by escape */
        for (q = p; q < sc->end && *q != '"';) {
            size_t used = 1;
            if (*q == '\\' && th_escape(q, sc->end, &used) < 0)
                return -1;
            q += used;
        }
        if (q >= sc->end)
            return -1;
    }
    v->len = (size_t)(q - p);
    sc->p = q + 1;
    return 0;
}

/* A number: TH_INT when written without fraction or exponent (jansson's
 * rule), TH_REAL otherwise.  An integer outside int64 is -1, as jansson
 * refuses the text. */
static int th_number(th_scan *sc, th_value *v)
{
    const char *p = sc->p, *end = sc->end;
    int neg = p < end && *p == '-', real = 0;
    uint64_t mag = 0, over = 0;
    p += neg;
    const char *digits = p;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        over |= mag > (UINT64_MAX - d) / 10;
        mag = mag * 10 + d;
    }
    if (p == digits)
        return -1;
    if (p < end && *p == '.') {
        real = 1;
        for (digits = ++p; p < end && *p >= '0' && *p <= '9'; p++)
            ;
        if (p == digits)
            return -1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        for (digits = p; p < end && *p >= '0' && *p <= '9'; p++)
            ;
        if (p == digits)
            return -1;
    }
    sc->p = p;
    if (real) {
        v->type = TH_REAL;
        return 0;
    }
    uint64_t limit = (uint64_t)INT64_MAX + (uint64_t)neg;
    if (over || mag > limit)
        return -1;
    v->type = TH_INT;
    v->i = !neg ? (int64_t)mag : mag ? -(int64_t)(mag - 1) - 1 : 0;
    return 0;
}

static int th_value_read(th_scan *sc, th_value *v, int depth);

/* Skips an array or object (no member of §4 is one), checking every string
 * and number in it as jansson would. */
static int th_container(th_scan *sc, int depth)
{
    char close = *sc->p == '{' ? '}' : ']';
    th_value v;
    if (depth > TH_MAX_NEST)
        return -1;
    sc->p++;
    if (th_expect(sc, close) == 0)
        return 0;
    for (;;) {
        if (close == '}' &&
            (th_expect(sc, '"') || th_string(sc, &v) || th_expect(sc, ':')))
            return -1;
        if (th_value_read(sc, &v, depth + 1))
            return -1;
        if (th_expect(sc, close) == 0)
            return 0;
        if (th_expect(sc, ','))
            return -1;
    }
}

static int th_literal(th_scan *sc, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
        return -1;
    sc->p += n;
    return 0;
}

static int th_value_read(th_scan *sc, th_value *v, int depth)
{
    if (sc->p >= sc->end)
        return -1;
    v->type = TH_OTHER;
    switch (*sc->p) {
    case '"':
        sc->p++;
        return th_string(sc, v);
    case '{':
    case '[':
        return th_container(sc, depth);
    case 't':
        v->type = TH_TRUE;
        return th_literal(sc, "true");
    case 'f':
        return th_literal(sc, "false");
    case 'n':
        return th_literal(sc, "null");
    default:
        return th_number(sc, v);
    }
}

/* ------------------------------------------------------------ members -- */

/* The text of a string value: v->s itself, or (escapes) an unescaped copy
 * in *tmp that the caller frees.  NULL if not a string, or out of memory. */
static const char *th_text(const th_value *v, char **tmp, size_t *len)
{
    *tmp = NULL;
    if (v->type != TH_STRING)
        return NULL;
    if (!v->escaped) {
        *len = v->len;
        return v->s;
    }
    char *o = malloc(v->len + 1);
    size_t n = 0;
    if (!o)
        return NULL;
    for (const char *p = v->s, *end = v->s + v->len; p < end;) {
        size_t used = 1;
        o[n++] = *p == '\\' ? (char)th_escape(p, end, &used) : *p;
        p += used;
    }
    o[n] = '\0';
    *tmp = o;
    *len = n;
    return o;
}

static int th_int(const th_value *v, int64_t lo, int64_t *out)
{
    if (v->type != TH_INT || v->i < lo || v->i >= TH_INT_LIMIT)
        return -1;
    *out = v->i;
    return 0;
}

static char *th_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int th_is(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(s, word, n) == 0;
}

static int th_typ_valid(const char *s, size_t n)
{
    return th_is(s, n, CS_TYP_CONV) || th_is(s, n, CS_TYP_MSG) ||
           th_is(s, n, CS_TYP_STATE) || th_is(s, n, CS_TYP_SEALED);
}

static int th_roles_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr("suatdfx", s[i]))
            return 0;
    return 1;
}

/* The members of §4 other than "v", in canonical order. */
enum th_name {
    TH_AO,
    TH_BND,
    TH_EXP,
    TH_IAT,
    TH_KID,
    TH_LOC,
    TH_N,
    TH_PUR,
    TH_ROLES,
    TH_RSN,
    TH_TYP,
    TH_NNAMES
};
static const char *const th_names[TH_NNAMES] = {
    "ao", "bnd", "exp", "iat", "kid", "loc", "n", "pur", "roles", "rsn", "typ"};

/*
 * One member other than "v" (name as written, so an escaped name is
 * unknown): the checks of §4 on its own.  0, or -1 for malformed.  *seen
 * collects the members read: canonical text has no repeated name, and
 * should one reach here anyway it is refused, not read twice (and leaked).
 */
static int th_member(cs_token *t, const char *name, size_t nl,
                     const th_value *v, unsigned *seen)
{
    int k = 0;
    while (k < TH_NNAMES && !th_is(name, nl, th_names[k]))
        k++;
    if (k == TH_NNAMES || (*seen & 1u << k))
        return -1;
    *seen |= 1u << k;
    char *tmp;
    size_t sl = 0;
    const char *s = th_text(v, &tmp, &sl);
    int ok = 0;
    switch ((enum th_name)k) {
    case TH_TYP:
        if ((ok = s && th_typ_valid(s, sl))) {
            memcpy(t->typ, s, sl);
            t->typ[sl] = '\0';
        }
        break;
    case TH_KID:
        if ((ok = s && cs_kid_valid(s, sl))) {
            memcpy(t->kid, s, sl);
            t->kid[sl] = '\0';
        }
        break;
    case TH_IAT:
        ok = th_int(v, 0, &t->iat) == 0;
        break;
    case TH_EXP:
        ok = th_int(v, 1, &t->exp) == 0;
        break;
    case TH_N:
        ok = th_int(v, 0, &t->n) == 0 && t->n <= (int64_t)CHATSEAL_TOKEN_MAX;
        break;
    case TH_PUR:
        ok = s && sl >= 1 && sl <= CHATSEAL_BINDING_MAX &&
             !memchr(s, '\0', sl) && (t->pur = th_dup(s, sl));
        break;
    case TH_BND: {
        uint8_t b[22 / 4 * 3 + 3];
        size_t bl = 0;
        ok = s && sl == 22 && cs_b64u_decode(s, sl, b, &bl) == 0 &&
             bl == CHATSEAL_BINDBYTES;
        if (ok) {
            memcpy(t->bnd, b, CHATSEAL_BINDBYTES);
            t->has_bnd = 1;
        }
        break;
    }
    case TH_ROLES:
        ok = s && th_roles_valid(s, sl) && (t->roles = th_dup(s, sl));
        break;
    case TH_LOC: {
        size_t ll = 0;
        ok = s && (t->loc = malloc(sl / 4 * 3 + 3)) &&
             cs_b64u_decode(s, sl, t->loc, &ll) == 0 &&
             ll % CHATSEAL_LOCATORBYTES == 0;
        t->nloc = ll / CHATSEAL_LOCATORBYTES;
        break;
    }
    case TH_RSN: {
        size_t rl = 0;
        ok = s && sl && (t->rsn = malloc(sl / 4 * 3 + 3)) &&
             cs_b64u_decode(s, sl, t->rsn, &rl) == 0 && rl % CS_RSN_ENTRY == 0;
        t->nrsn = rl / CS_RSN_ENTRY;
        break;
    }
    case TH_AO:
        ok = t->ao = v->type == TH_TRUE;
        break;
    case TH_NNAMES:
        break;
    }
    free(tmp);
    return ok ? 0 : -1;
}

/* What must hold between members (§4), once each passed on its own. */
static chatseal_error th_together(const cs_token *t)
{
    if (t->exp && t->exp <= t->iat)
        return CHATSEAL_E_MALFORMED_TOKEN;
    int chain = !strcmp(t->typ, CS_TYP_CONV) || !strcmp(t->typ, CS_TYP_MSG);
    if (!chain)
        return t->n >= 0 || t->roles || t->loc || t->ao || t->rsn
                   ? CHATSEAL_E_MALFORMED_TOKEN
                   : CHATSEAL_OK;
    if (t->n < 0 || (!strcmp(t->typ, CS_TYP_MSG) && t->n != 1))
        return CHATSEAL_E_MALFORMED_TOKEN;
    /* rsn (version 2): entries in increasing message order, below n */
    if (t->rsn && (t->v < 2 || !t->nrsn))
        return CHATSEAL_E_MALFORMED_TOKEN;
    for (size_t k = 0, prev = 0; k < t->nrsn; k++) {
        const uint8_t *e = t->rsn + k * CS_RSN_ENTRY;
        size_t i =
            (size_t)e[0] << 24 | (size_t)e[1] << 16 | (size_t)e[2] << 8 | e[3];
        if (i >= (size_t)t->n || (k && i <= prev))
            return CHATSEAL_E_MALFORMED_TOKEN;
        prev = i;
    }
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

chatseal_error cs_token_header_read(const uint8_t *header, size_t len,
                                    cs_token *t)
{
    th_scan sc = {(const char *)header, (const char *)header + len};
    th_value name = {0}, v = {0}, version = {.type = TH_OTHER};
    unsigned seen = 0;
    int bad = 0;
    t->n = -1;
    if (th_expect(&sc, '{'))
        return CHATSEAL_E_MALFORMED_TOKEN;
    if (th_expect(&sc, '}'))
        for (;;) {
            if (th_expect(&sc, '"') || th_string(&sc, &name) ||
                th_expect(&sc, ':') || th_value_read(&sc, &v, 2))
                return CHATSEAL_E_MALFORMED_TOKEN;
            if (!name.escaped && th_is(name.s, name.len, "v"))
                version = v;
            else if (!bad)
                bad = th_member(t, name.escaped ? "" : name.s,
                                name.escaped ? 0 : name.len, &v, &seen);
            if (th_expect(&sc, '}') == 0)
                break;
            if (th_expect(&sc, ','))
                return CHATSEAL_E_MALFORMED_TOKEN;
        }
    if (sc.p != sc.end || version.type != TH_INT)
        return CHATSEAL_E_MALFORMED_TOKEN;
    if (version.i != 1 && version.i != 2)
        return CHATSEAL_E_UNSUPPORTED_VERSION;
    t->v = (int)version.i;
    if (bad || !(seen & 1u << TH_IAT) || !t->typ[0] || !t->kid[0])
        return CHATSEAL_E_MALFORMED_TOKEN;
    return th_together(t);
}
