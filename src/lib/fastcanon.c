/*
 * fastcanon.c -- strict JSON in, RFC 8785 bytes out, in one pass, no DOM:
 * the parser of the canonicalizer and its API (fastcanon.h).
 *
 * Why: verifying a signed history costs one SHA-256 over the canonical bytes
 * of every message.  A DOM parser (jansson) runs at 65-80 MB/s, far below
 * SHA-256 (about 1 GB/s with SHA-NI), so it would dominate verification.  The
 * canonicalizer reads the raw bytes once and writes canonical bytes straight
 * into a reusable arena (a cs_buf); only what RFC 8785 reorders (object
 * members) is ever moved.  Its layers are listed in fcpriv.h: strings
 * (jstring.c) and numbers (numfmt.c) below, object members (jobject.c) in
 * between, this parser, and the conversation scan (fcconv.c) on top, which
 * reaches in only through struct fc_hooks.
 *
 * Design of the parser:
 *  - An explicit stack of frames (one per open array/object), so nesting is
 *    bounded by max_depth and never by the C stack.  Runs of brackets where
 *    no hook looks take tight loops (fc_open_arrays, fc_close_arrays,
 *    fc_close_run): deep nesting is one byte per container.
 *  - A parser keeps its buffers between runs; fcpool.c keeps one a thread.
 *  - While no object is open (top-level arrays) the arena is flushed to the
 *    sink in large chunks.
 *  - Numbers: integers of at most 15 digits are already in canonical form
 *    (only "-0" changes); anything else is read as the nearest double
 *    (Eisel-Lemire, strtod when that cannot decide) and written as the
 *    shortest round-tripping digits (Ryu; numfmt.c).
 *  - Errors: the first error in reading order wins, as in a recursive-descent
 *    parser.  Duplicate names are found when an object is sorted; if another
 *    error happens first inside an object, the names read so far are checked
 *    before reporting it, so a duplicate that came earlier still wins.  The
 *    token after a syntax error is lexed first, so that an error inside it
 *    (bad UTF-8, a control character, an overflowing number) wins, as it does
 *    in jansson.
 *
 * Everything that is not plain structure is checked with the same codes the
 * reference (jansson) path returns; tests/unit/test_fastcanon.c and
 * fuzz/fuzz_differential.c compare the two byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcpriv.h"
#include "numfmt.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FC_AVX2 1 /* jstring.c has an AVX2 path, used if the CPU has it */
#else
#define FC_AVX2 0
#endif

/* a member name holding U+0000 (the reference path cannot represent one) */
#define FC_NUL_NAME_ERROR CHATSEAL_E_MALFORMED_JSON

cs_fc *cs_fc_new(void)
{
    cs_fc *fc = calloc(1, sizeof(cs_fc));
#if FC_AVX2
    if (fc && !getenv("CHATSEAL_NO_AVX2"))
        fc->avx2 = __builtin_cpu_supports("avx2") != 0;
#endif
    return fc;
}

void cs_fc_free(cs_fc *fc)
{
    if (!fc)
        return;
    cs_buf_free(&fc->out);
    cs_buf_free(&fc->names);
    cs_buf_free(&fc->memb);
    cs_buf_free(&fc->frb);
    cs_buf_free(&fc->scratch);
    cs_buf_free(&fc->tmpb);
    cs_buf_free(&fc->rkb);
    cs_buf_free(&fc->conv.role);
    cs_buf_free(&fc->conv.rootb);
    cs_buf_free(&fc->conv.msgmb);
    if (fc->cloc)
        freelocale(fc->cloc);
    free(fc);
}

/* ------------------------------------------------------------- tokens -- */

static int fc_isdigit(unsigned c)
{
    return c - '0' < 10;
}

static int fc_isalpha(unsigned c)
{
    return (c | 0x20) - 'a' < 26;
}

static int fc_is_ws(unsigned c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

#define SKIP_WS(p, end)                                                        \
    while ((p) < (end) && fc_is_ws(*(p)))                                      \
    (p)++

/* One byte into the arena (structure: every bracket and comma). */
static inline chatseal_error fc_putc(cs_fc *fc, char c)
{
    if (fc->out.cap - fc->out.n < 1 + FC_SLACK &&
        !fc_reserve(fc, fc->out.p + fc->out.n, 1))
        return CHATSEAL_E_NO_MEMORY;
    fc->out.p[fc->out.n++] = c;
    return CHATSEAL_OK;
}

/*
 * The error for a token that does not fit the grammar at p.  Like jansson,
 * the token is lexed first, and an error inside it wins: bad UTF-8, a string
 * that is itself broken, a number that overflows.  Otherwise `syntax`
 * (malformed_json, or trailing_data after the top-level value).
 */
static chatseal_error fc_token_error(cs_fc *fc, const unsigned char *p,
                                     const unsigned char *end,
                                     chatseal_error syntax)
{
    if (p == end)
        return CHATSEAL_E_MALFORMED_JSON;
    if (*p >= 0x80)
        return cs_js_utf8(p, end) ? syntax : CHATSEAL_E_INVALID_UTF8;
    if (*p == '"') {
        const unsigned char *q = p;
        chatseal_error e = cs_js_string(NULL, 0, &q, end, NULL);
        return e ? e : syntax;
    }
    if (*p == '-' || fc_isdigit(*p)) {
        const unsigned char *q;
        int simple = 0;
        double v;
        chatseal_error e = cs_num_lex(p, end, &q, &simple);
        if (cs_js_bad_lookahead(q, end))
            return CHATSEAL_E_INVALID_UTF8;
        if (!e && !simple &&
            cs_num_read(p, q, &fc->scratch, &fc->cloc, &v) ==
                CHATSEAL_E_INVALID_NUMBER)
            return CHATSEAL_E_INVALID_NUMBER;
        return syntax;
    }
    if (fc_isalpha(*p)) {
        while (p < end && fc_isalpha(*p))
            p++;
        if (cs_js_bad_lookahead(p, end))
            return CHATSEAL_E_INVALID_UTF8;
    }
    return syntax;
}

/* true, false or null at *pp, copied to the arena. */
static chatseal_error fc_literal(cs_fc *fc, const unsigned char **pp,
                                 const unsigned char *end)
{
    const unsigned char *s = *pp, *p = *pp;
    unsigned c = *p;
    const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
    size_t n = c == 'f' ? 5 : 4;
    char *o;
    while (p < end && fc_isalpha(*p))
        p++;
    if (cs_js_bad_lookahead(p, end))
        return CHATSEAL_E_INVALID_UTF8;
    if ((size_t)(p - s) != n || memcmp(s, lit, n) != 0)
        return CHATSEAL_E_MALFORMED_JSON; /* jansson: invalid token */
    o = fc_reserve(fc, fc->out.p + fc->out.n, n);
    if (!o)
        return CHATSEAL_E_NO_MEMORY;
    memcpy(o, lit, n);
    fc->out.n += n;
    *pp = p;
    return CHATSEAL_OK;
}

/* The number at *pp, in canonical form to the arena. */
static chatseal_error fc_number(cs_fc *fc, const unsigned char **pp,
                                const unsigned char *end)
{
    const unsigned char *p = *pp, *q;
    int simple = 0;
    cs_num_dec dec;
    chatseal_error err = cs_num_scan(p, end, &q, &simple, &dec);
    char *o;
    if (cs_js_bad_lookahead(q, end))
        err = CHATSEAL_E_INVALID_UTF8;
    if (err)
        return err;
    o = fc_reserve(fc, fc->out.p + fc->out.n, CS_NUM_MAX + (size_t)(q - p));
    if (!o)
        return CHATSEAL_E_NO_MEMORY;
    if (simple) {
        if (q - p == 2 && p[0] == '-' && p[1] == '0') {
            *o = '0';
            fc->out.n++;
        } else {
            memcpy(o, p, (size_t)(q - p));
            fc->out.n += (size_t)(q - p);
        }
    } else {
        size_t n;
        err = cs_num_canon(&dec, p, q, &fc->scratch, &fc->cloc, o, &n);
        if (err)
            return err;
        fc->out.n += n;
    }
    *pp = q;
    return CHATSEAL_OK;
}

/* ------------------------------------------------------------ structure -- */

static inline chatseal_error fc_push(cs_fc *fc, int kind, unsigned char conv)
{
    struct fc_frame *f;
    size_t depth = fc->nfr + 1;
    if (depth > fc->max_depth)
        return CHATSEAL_E_TOO_DEEP;
    if (depth * sizeof *fc->fr > fc->frb.cap) {
        fc->fr = cs_buf_array(&fc->frb, depth, sizeof *fc->fr);
        if (!fc->fr)
            return CHATSEAL_E_NO_MEMORY;
    }
    f = &fc->fr[fc->nfr++];
    f->start = fc->out.n;
    f->mbase = fc->nmem;
    f->kbase = fc->names.n;
    f->count = 0;
    f->kind = (unsigned char)kind;
    f->conv = conv;
    f->has_role = 0;
    if (kind == FC_OBJ)
        fc->nobj++;
    return CHATSEAL_OK;
}

/* The member name at *pp of the object f, recorded, then the ':'. */
static chatseal_error fc_key(cs_fc *fc, struct fc_frame *f,
                             const unsigned char **pp, const unsigned char *end)
{
    struct fc_member *m;
    size_t s = fc->out.n;
    int esc;
    chatseal_error err;
    const unsigned char *p = *pp;
    if (p == end || *p != '"')
        return fc_token_error(fc, p, end, CHATSEAL_E_MALFORMED_JSON);
    err = cs_js_string(&fc->out, fc->avx2, &p, end, &esc);
    if (err)
        return err;
    if ((fc->nmem + 1) * sizeof *fc->mem > fc->memb.cap) {
        fc->mem = cs_buf_array(&fc->memb, fc->nmem + 1, sizeof *fc->mem);
        if (!fc->mem)
            return CHATSEAL_E_NO_MEMORY;
    }
    m = &fc->mem[fc->nmem++];
    m->start = m->end = s;
    m->kclen = fc->out.n - s;
    m->kesc = esc;
    if (!esc) {
        m->koff = s + 1;
        m->klen = m->kclen - 2;
    } else {
        if (cs_buf_reserve(&fc->names, m->kclen))
            return CHATSEAL_E_NO_MEMORY;
        m->koff = fc->names.n;
        m->klen = cs_js_unescape_canon(fc->names.p + fc->names.n,
                                       fc->out.p + s + 1, m->kclen - 2);
        if (memchr(fc->names.p + fc->names.n, 0, m->klen)) {
            /* jansson cannot hold U+0000 in a member name and refuses it */
            fc->nmem--;
            return FC_NUL_NAME_ERROR;
        }
        fc->names.n += m->klen;
    }
    f->count++;
    if (fc->hooks && f->conv)
        fc->hooks->key(fc, f, m);
    SKIP_WS(p, end);
    if (p == end || *p != ':')
        return fc_token_error(fc, p, end, CHATSEAL_E_MALFORMED_JSON);
    *pp = p + 1;
    return fc_putc(fc, ':');
}

/*
 * Deep nesting is one byte per container, so the general state machine's
 * dispatch per byte (hooks, container kind, white space twice) made a body
 * of nested arrays cost 3-4x text.  Where no hook looks (f->conv 0), runs
 * of '[' and runs of closing ']' and '}' (of objects with at most one
 * member; white space allowed between) take these loops instead; they
 * push, write and pop exactly what the general path would.
 */

/* At p, a '[' whose parent no hook looks at: it and every '[' right after
 * it opened (each counting one element unless a ']' follows); p left on
 * the first other byte.  The depth and the arena's
 * length live in locals: a byte stored through the arena may alias any
 * field of fc, so fields would be read back from memory after each. */
static chatseal_error fc_open_arrays(cs_fc *fc, const unsigned char **pp,
                                     const unsigned char *end)
{
    const unsigned char *p = *pp;
    size_t nfr = fc->nfr, n = fc->out.n, mbase = fc->nmem, kbase = fc->names.n;
    chatseal_error err = CHATSEAL_OK;
    for (;;) {
        struct fc_frame *f;
        if (nfr + 1 > fc->max_depth) {
            err = CHATSEAL_E_TOO_DEEP;
            break;
        }
        if ((nfr + 1) * sizeof *fc->fr > fc->frb.cap) {
            fc->fr = cs_buf_array(&fc->frb, nfr + 1, sizeof *fc->fr);
            if (!fc->fr) {
                err = CHATSEAL_E_NO_MEMORY;
                break;
            }
        }
        if (fc->out.cap - n < 1 + FC_SLACK) {
            fc->out.n = n;
            if (cs_buf_reserve(&fc->out, 1 + FC_SLACK)) {
                err = CHATSEAL_E_NO_MEMORY;
                break;
            }
        }
        f = &fc->fr[nfr++];
        f->start = n;
        f->mbase = mbase;
        f->kbase = kbase;
        f->count = 0;
        f->kind = FC_ARR;
        f->conv = 0;
        f->has_role = 0;
        fc->out.p[n++] = '[';
        p++;
        SKIP_WS(p, end);
        if (p == end || *p != ']')
            f->count = 1; /* an element follows: the next array or other */
        if (p == end || *p != '[')
            break;
    }
    fc->nfr = nfr;
    fc->out.n = n;
    *pp = p;
    return err;
}

/* The innermost frame, an array no hook looks at, closes (its ']' read):
 * it and every such array closed by the ']'s right after it are popped;
 * p left on the first other byte.  Locals as in fc_open_arrays. */
static chatseal_error fc_close_arrays(cs_fc *fc, const unsigned char **pp,
                                      const unsigned char *end)
{
    const unsigned char *p = *pp;
    size_t nfr = fc->nfr, n = fc->out.n;
    const struct fc_frame *fr = fc->fr;
    int hooks = fc->hooks != NULL;
    chatseal_error err = CHATSEAL_OK;
    for (;;) {
        const struct fc_frame *top;
        if (fc->out.cap - n < 1 + FC_SLACK) {
            fc->out.n = n;
            if (cs_buf_reserve(&fc->out, 1 + FC_SLACK)) {
                err = CHATSEAL_E_NO_MEMORY;
                break;
            }
        }
        fc->out.p[n++] = ']';
        nfr--;
        if (!nfr)
            break;
        top = &fr[nfr - 1];
        if (top->kind != FC_ARR || (hooks && top->conv))
            break;
        SKIP_WS(p, end);
        if (p == end || *p != ']')
            break;
        p++;
    }
    fc->nfr = nfr;
    fc->out.n = n;
    *pp = p;
    return err;
}

/* Whether frame t can be closed by fc_close_run: no hook looks at it, and
 * if it is an object, it has at most one member (nothing to sort, no
 * duplicate: its close only writes '}'). */
static inline int fc_quick_close(const cs_fc *fc, const struct fc_frame *t,
                                 size_t nmem)
{
    return !(fc->hooks && t->conv) &&
           (t->kind == FC_ARR || nmem - t->mbase <= 1);
}

/* The innermost frame, an object fc_quick_close accepts, closes (its '}'
 * read): it and every such container (object or array) closed by the bytes
 * right after it are popped, as fc_pop_object and the general path would;
 * p left on the first other byte.  Locals as in fc_open_arrays.  (Runs of
 * arrays alone take fc_close_arrays, which has less to check.) */
static chatseal_error fc_close_run(cs_fc *fc, const unsigned char **pp,
                                   const unsigned char *end)
{
    const unsigned char *p = *pp;
    size_t nfr = fc->nfr, n = fc->out.n, nmem = fc->nmem, nobj = fc->nobj;
    size_t names = fc->names.n;
    const struct fc_frame *fr = fc->fr;
    chatseal_error err = CHATSEAL_OK;
    for (;;) {
        const struct fc_frame *t = &fr[nfr - 1];
        if (fc->out.cap - n < 1 + FC_SLACK) {
            fc->out.n = n;
            if (cs_buf_reserve(&fc->out, 1 + FC_SLACK)) {
                err = CHATSEAL_E_NO_MEMORY;
                break;
            }
        }
        if (t->kind == FC_OBJ) {
            fc->out.p[n++] = '}';
            nmem = t->mbase;
            names = t->kbase;
            nobj--;
        } else {
            fc->out.p[n++] = ']';
        }
        nfr--;
        if (!nfr)
            break;
        t = &fr[nfr - 1];
        if (!fc_quick_close(fc, t, nmem))
            break;
        SKIP_WS(p, end);
        if (p == end || *p != (t->kind == FC_OBJ ? '}' : ']'))
            break;
        if (t->kind == FC_OBJ)
            fc->mem[nmem - 1].end = n; /* its one member's value ended */
        p++;
    }
    fc->nfr = nfr;
    fc->out.n = n;
    fc->nmem = nmem;
    fc->nobj = nobj;
    fc->names.n = names;
    *pp = p;
    return err;
}

static chatseal_error fc_flush(cs_fc *fc)
{
    if (fc->sink && fc->out.n) {
        if (fc->sink(fc->sink_ctx, fc->out.p, fc->out.n))
            return CHATSEAL_E_IO;
        fc->out.n = 0;
    }
    return CHATSEAL_OK;
}

/* Closes the object of the innermost frame f and pops it. */
static chatseal_error fc_pop_object(cs_fc *fc, struct fc_frame *f)
{
    int keep_names = 0;
    chatseal_error err = cs_fc_close_object(fc, f);
    if (!err && fc->hooks && f->conv)
        err = fc->hooks->close_object(fc, f, &keep_names);
    if (err)
        return err;
    fc->nmem = f->mbase;
    if (!keep_names)
        fc->names.n = f->kbase;
    fc->nobj--;
    fc->nfr--;
    return CHATSEAL_OK;
}

/* The array of the innermost frame f closes (its ']' read). */
static chatseal_error fc_close_array(cs_fc *fc, struct fc_frame *f,
                                     const unsigned char **pp,
                                     const unsigned char *end)
{
    chatseal_error err;
    if (!(fc->hooks && f->conv))
        return fc_close_arrays(fc, pp, end);
    err = fc_putc(fc, ']');
    if (err)
        return err;
    fc->hooks->close_array(fc, f);
    fc->nfr--;
    return CHATSEAL_OK;
}

/* The object of the innermost frame f closes (its '}' read). */
static chatseal_error fc_close_object(cs_fc *fc, struct fc_frame *f,
                                      const unsigned char **pp,
                                      const unsigned char *end)
{
    if (fc_quick_close(fc, f, fc->nmem))
        return fc_close_run(fc, pp, end);
    return fc_pop_object(fc, f);
}

/* A run starts: empty arena, no frames; one allocation of about the
 * output's size when it is kept (rarely more than the input and a quarter:
 * numbers such as 1.5e20 grow), instead of a chain of doublings, copies and
 * fresh page faults.  Pages never written cost no memory. */
static chatseal_error fc_reset(cs_fc *fc, size_t len)
{
    fc->out.n = fc->names.n = fc->nmem = fc->nfr = fc->nobj = 0;
    fc->out.oom = fc->names.oom = fc->memb.oom = fc->frb.oom = 0;
    fc->tmpb.oom = fc->rkb.oom = 0;
    fc->done = 0;
    fc->deferred = CHATSEAL_OK;
    fc->conv.nroot = 0;
    if (cs_buf_reserve(&fc->out,
                       (fc->sink || len < 4096 ? 4096 : len + len / 4) +
                           FC_SLACK))
        return CHATSEAL_E_NO_MEMORY;
    return CHATSEAL_OK;
}

/* The end of the top-level value at p: only whitespace may follow. */
static chatseal_error fc_finish(cs_fc *fc, const unsigned char *p,
                                const unsigned char *end)
{
    SKIP_WS(p, end);
    if (p != end)
        return fc_token_error(fc, p, end, CHATSEAL_E_TRAILING_DATA);
    return CHATSEAL_OK;
}

/* A run succeeded as JSON: the hooks' deferred error, else the last chunk
 * to the sink or the text kept. */
static chatseal_error fc_done(cs_fc *fc)
{
    chatseal_error err = fc->deferred;
    if (!err && fc->sink)
        err = fc_flush(fc);
    if (err) {
        fc->out.n = 0;
        fc->conv.nroot = 0;
        return err;
    }
    if (!fc->sink)
        fc->done = 1;
    return CHATSEAL_OK;
}

/* A run failed with err: a duplicate name read before it wins. */
static chatseal_error fc_fail(cs_fc *fc, chatseal_error err)
{
    if (err != CHATSEAL_E_DUPLICATE_KEY && err != CHATSEAL_E_NO_MEMORY &&
        err != CHATSEAL_E_IO && cs_fc_open_duplicates(fc))
        err = CHATSEAL_E_DUPLICATE_KEY;
    fc->out.n = 0;
    fc->conv.nroot = 0;
    return err;
}

/*
 * The parser: a state machine over labels (value, opened, after_value,
 * close_array) with the stack of frames as its only memory.  It stays one
 * function with gotos because a value ends in a different state depending
 * on its container, and splitting it into functions per state would turn
 * every transition into a call through the stack it exists to avoid; each
 * token is read by a helper above.
 */
chatseal_error cs_fc_run(cs_fc *fc, const char *json, size_t len)
{
    const unsigned char *p = (const unsigned char *)json;
    const unsigned char *end = p + len;
    const struct fc_hooks *hk = NULL;
    struct fc_frame *f = NULL;
    chatseal_error err;
    unsigned c;

    if (!json && len)
        return CHATSEAL_E_INVALID_ARGUMENT;
    err = fc_reset(fc, len);
    if (err)
        return err;

value:
    SKIP_WS(p, end);
    if (p == end) {
        err = CHATSEAL_E_MALFORMED_JSON;
        goto fail;
    }
    c = *p;
    /* the hooks see only what lies directly in a tagged container */
    hk = fc->hooks && (!f || f->conv) ? fc->hooks : NULL;
    if (c == '[' && !hk) {
        err = fc_open_arrays(fc, &p, end);
        if (err)
            goto fail;
        f = &fc->fr[fc->nfr - 1];
        if (p < end && *p == ']') {
            p++;
            goto close_array;
        }
        goto value; /* the innermost array's first element */
    }
    if (c == '{' || c == '[') {
        unsigned char tag = hk ? hk->enter(fc, f, c) : 0;
        err = fc_push(fc, c == '{' ? FC_OBJ : FC_ARR, tag);
        if (err)
            goto fail;
        goto opened;
    }
    if (hk)
        hk->enter(fc, f, c);
    if (c == '"') {
        size_t s = fc->out.n;
        int esc;
        err = cs_js_string(&fc->out, fc->avx2, &p, end, &esc);
        if (!err && hk)
            err = hk->string(fc, f, s, esc);
    } else if (c == 't' || c == 'f' || c == 'n') {
        err = fc_literal(fc, &p, end);
    } else if (c == '-' || fc_isdigit(c)) {
        err = fc_number(fc, &p, end);
    } else {
        err = fc_token_error(fc, p, end, CHATSEAL_E_MALFORMED_JSON);
    }
    if (err)
        goto fail;
    goto after_value;

opened:
    /* a container was pushed for the byte at p */
    f = &fc->fr[fc->nfr - 1];
    err = fc_putc(fc, (char)*p++);
    if (err)
        goto fail;
    SKIP_WS(p, end);
    if (f->kind == FC_ARR) {
        if (p < end && *p == ']') {
            p++;
            goto close_array;
        }
        f->count++;
        goto value;
    }
    if (p < end && *p == '}') {
        p++;
        goto close_object;
    }
    err = fc_key(fc, f, &p, end);
    if (err)
        goto fail;
    goto value;

after_value:
    if (!fc->nfr) {
        err = fc_finish(fc, p, end);
        if (err)
            goto fail;
        goto done;
    }
    f = &fc->fr[fc->nfr - 1];
    SKIP_WS(p, end);
    if (f->kind == FC_OBJ) {
        fc->mem[fc->nmem - 1].end = fc->out.n;
        if (p < end && *p == ',') {
            p++;
            err = fc_putc(fc, ',');
            SKIP_WS(p, end);
            if (!err)
                err = fc_key(fc, f, &p, end);
            if (err)
                goto fail;
            goto value;
        }
        if (p < end && *p == '}') {
            p++;
            goto close_object;
        }
    } else {
        if (p < end && *p == ',') {
            p++;
            if (!fc->nobj && fc->out.n >= FC_FLUSH_AT) {
                err = fc_flush(fc);
                if (err)
                    goto fail;
            }
            err = fc_putc(fc, ',');
            if (err)
                goto fail;
            f->count++;
            goto value;
        }
        if (p < end && *p == ']') {
            p++;
            goto close_array;
        }
    }
    err = fc_token_error(fc, p, end, CHATSEAL_E_MALFORMED_JSON);
    goto fail;

close_array:
    err = fc_close_array(fc, f, &p, end);
    goto closed;

close_object:
    err = fc_close_object(fc, f, &p, end);
closed:
    if (err)
        goto fail;
    f = fc->nfr ? &fc->fr[fc->nfr - 1] : NULL;
    goto after_value;

done:
    return fc_done(fc);

fail:
    return fc_fail(fc, err);
}

/* ----------------------------------------------------------------- api -- */

chatseal_error cs_fc_canonicalize(cs_fc *fc, const char *json, size_t len,
                                  size_t max_depth, chatseal_sink sink,
                                  void *ctx)
{
    if (!fc)
        return CHATSEAL_E_INVALID_ARGUMENT;
    fc->max_depth = max_depth ? max_depth : CHATSEAL_MAX_DEPTH_DEFAULT;
    fc->sink = sink;
    fc->sink_ctx = ctx;
    fc->hooks = NULL;
    return cs_fc_run(fc, json, len);
}

int cs_fc_set_simd(cs_fc *fc, int on)
{
    if (!fc)
        return 0;
#if FC_AVX2
    fc->avx2 = on && __builtin_cpu_supports("avx2");
    return fc->avx2;
#else
    (void)on;
    return 0;
#endif
}

const char *cs_fc_output(const cs_fc *fc, size_t *len)
{
    if (!fc || !fc->done) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = fc->out.n;
    return fc->out.p;
}

char *cs_fc_take_output(cs_fc *fc, size_t *len)
{
    char *p;
    if (!fc || !fc->done)
        return NULL;
    p = fc->out.p;
    p[fc->out.n] = 0; /* FC_SLACK keeps room for it */
    if (len)
        *len = fc->out.n;
    memset(&fc->out, 0, sizeof fc->out);
    fc->done = 0;
    /* the root members stay: their names and values are in p (or in the
     * names buffer), which the caller now holds */
    return p;
}

chatseal_error cs_fc_canonicalize_alloc(const char *json, size_t len,
                                        size_t max_depth, char **out,
                                        size_t *out_len)
{
    cs_fc *fc;
    chatseal_error err;
    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    fc = cs_fc_acquire();
    if (!fc)
        return CHATSEAL_E_NO_MEMORY;
    err = cs_fc_canonicalize(fc, json, len, max_depth, NULL, NULL);
    if (!err) {
        size_t n = 0;
        char *s = cs_fc_take_output(fc, &n);
        char *shrunk = realloc(s, n + 1);
        *out = shrunk ? shrunk : s;
        if (out_len)
            *out_len = n;
    }
    cs_fc_release(fc);
    return err;
}

chatseal_error cs_fc_canonicalize_to(const char *json, size_t len,
                                     size_t max_depth, chatseal_sink sink,
                                     void *ctx)
{
    cs_fc *fc;
    chatseal_error err;
    if (!sink)
        return CHATSEAL_E_INVALID_ARGUMENT;
    fc = cs_fc_acquire();
    if (!fc)
        return CHATSEAL_E_NO_MEMORY;
    err = cs_fc_canonicalize(fc, json, len, max_depth, sink, ctx);
    cs_fc_release(fc);
    return err;
}
