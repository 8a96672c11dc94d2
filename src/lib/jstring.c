/*
 * jstring.c -- JSON strings: strict reading, RFC 8785 writing (the string
 * codec of the canonicalizer; fastcanon.c is the parser above it).
 *
 * A string is read once and its canonical form written as it is read, into
 * a cs_buf through a cursor, with CS_JS_SLACK bytes kept free so that the
 * vector loops can store a whole block before they know how much of it
 * counts.
 *  - Runs of plain ASCII are found 16 bytes at a time (SSE2, which every
 *    x86-64 has; SWAR on 8-byte words elsewhere) and copied as they are
 *    scanned; UTF-8 is validated by the scalar code only where a byte >=
 *    0x80 occurs.  On a CPU with AVX2, a 32-byte path copies, scans and
 *    validates UTF-8 in one pass (js_string_avx2, below) and hands anything
 *    irregular back to the precise scalar path.
 *  - Escapes are decoded to their canonical form: the short ones stay,
 *    \u00XX of a control character becomes lowercase, every other \uXXXX
 *    (and surrogate pair) becomes UTF-8, and \/ becomes /.
 *  - Errors: the first in reading order wins, with jansson's codes and
 *    order (a lone surrogate is reported at the end of its string, after
 *    the string's other checks; the byte that breaks an escape is checked
 *    as UTF-8 first), so that the fast and the reference path agree.
 * Canonical strings are never longer than their source, so one reserve per
 * block suffices.
 */
#include "jstring.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define JS_SSE2 1
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define JS_AVX2 1 /* compiled with target("avx2"), used if the CPU has it */
#else
#define JS_AVX2 0
#endif

/* Room for n more bytes (plus the slack) at cursor o in b; the cursor,
 * moved if the buffer moved, or NULL when out of memory. */
static inline char *js_reserve(cs_buf *b, char *o, size_t n)
{
    if ((size_t)(b->p + b->cap - o) >= n + CS_JS_SLACK)
        return o;
    b->n = (size_t)(o - b->p);
    if (cs_buf_reserve(b, n + CS_JS_SLACK))
        return NULL;
    return b->p + b->n;
}

static int js_hex(unsigned c)
{
    if (c - '0' < 10)
        return (int)(c - '0');
    c |= 0x20;
    if (c - 'a' < 6)
        return (int)(c - 'a' + 10);
    return -1;
}

/*
 * Length of the valid UTF-8 sequence at p (2..4), or 0 if it is not one
 * (overlong, surrogate, above U+10FFFF, truncated).  p[0] >= 0x80.
 */
size_t cs_js_utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t avail = (size_t)(end - p);
    if (c < 0xC2)
        return 0;
    if (c < 0xE0) {
        if (avail < 2 || (p[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c < 0xF0) {
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        if (avail < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

/*
 * jansson reads one character past a number or a keyword (and the character
 * that breaks an escape) and checks its UTF-8 as it reads: an invalid
 * sequence there is the first error, before the token's own.  True if the
 * byte at p is such a sequence.
 */
int cs_js_bad_lookahead(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= 0x80 && !cs_js_utf8(p, end);
}

/* ------------------------------------------------------------ strings -- */

/* Bit i set when byte i of v needs attention inside a string: '"', '\\', a
 * control character or a byte >= 0x80. */
#if JS_SSE2
static unsigned js_special16(__m128i v)
{
    const __m128i q = _mm_set1_epi8('"');
    const __m128i b = _mm_set1_epi8('\\');
    const __m128i sp = _mm_set1_epi8(0x20);
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, b));
    /* signed compare: bytes >= 0x80 are negative, so they are "< 0x20" */
    m = _mm_or_si128(m, _mm_cmplt_epi8(v, sp));
    return (unsigned)_mm_movemask_epi8(m);
}
#else
static uint64_t js_special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    uint64_t zq = (q - ones) & ~q, zb = (b - ones) & ~b;
    uint64_t lt = (v - ones * 0x20) & ~v; /* < 0x20, or >= 0x80 via ~v */
    return (zq | zb | lt | v) & high;
}
#endif

static const char js_hexdig[] = "0123456789abcdef";

/* Canonical escape of code point c < 0x20 or '"' or '\\'; returns length. */
static size_t js_escape(char *o, unsigned c)
{
    o[0] = '\\';
    switch (c) {
    case '"':
        o[1] = '"';
        return 2;
    case '\\':
        o[1] = '\\';
        return 2;
    case '\b':
        o[1] = 'b';
        return 2;
    case '\t':
        o[1] = 't';
        return 2;
    case '\n':
        o[1] = 'n';
        return 2;
    case '\f':
        o[1] = 'f';
        return 2;
    case '\r':
        o[1] = 'r';
        return 2;
    default:
        o[1] = 'u';
        o[2] = '0';
        o[3] = '0';
        o[4] = js_hexdig[c >> 4];
        o[5] = js_hexdig[c & 15];
        return 6;
    }
}

/* Value of a hex digit, 0x100 for any other byte. */
static const unsigned short js_hexv[256] = {
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x000, 0x001, 0x002, 0x003, 0x004, 0x005, 0x006,
    0x007, 0x008, 0x009, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x00a,
    0x00b, 0x00c, 0x00d, 0x00e, 0x00f, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x00a, 0x00b,
    0x00c, 0x00d, 0x00e, 0x00f, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100, 0x100,
    0x100, 0x100, 0x100,
};

/* Canonical text of U+0000..U+001F (RFC 8785: the five short escapes,
 * else \u00xx in lowercase hex), NUL-padded; its length is js_ctllen. */
static const char js_ctl[32][7] = {
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006",
    "\\u0007", "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",
    "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014",
    "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a", "\\u001b",
    "\\u001c", "\\u001d", "\\u001e", "\\u001f",
};
static const unsigned char js_ctllen[32] = {6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2,
                                            6, 2, 2, 6, 6, 6, 6, 6, 6, 6, 6,
                                            6, 6, 6, 6, 6, 6, 6, 6, 6, 6};
/* The two-byte escapes \" \\ \b \f \n \r \t are their own canonical
 * form (2) and \/ is '/' (1); 0 marks any other byte after a backslash. */
static const unsigned char js_esc2len[256] = {
    ['"'] = 2, ['\\'] = 2, ['b'] = 2, ['f'] = 2,
    ['n'] = 2, ['r'] = 2,  ['t'] = 2, ['/'] = 1,
};

/* 4 hex digits at p (caller checked there are 4 bytes), or -1. */
static long js_hex4(const unsigned char *p)
{
    unsigned a = js_hexv[p[0]], b = js_hexv[p[1]], c = js_hexv[p[2]],
             d = js_hexv[p[3]];
    if ((a | b | c | d) & 0x100)
        return -1;
    return (long)(a << 12 | b << 8 | c << 4 | d);
}

/*
 * One escape sequence at p (p[0] == '\\'): writes its canonical form to w
 * (room for 6 bytes), sets *wn, and returns the source bytes consumed, or 0
 * for a malformed escape.  A lone surrogate sets *pending and writes nothing
 * useful (the string will be rejected once its other checks are done).
 * *esc is set when the canonical form is itself an escape.
 */
static size_t js_unescape_one(const unsigned char *p, const unsigned char *end,
                              char *w, size_t *wn, int *esc,
                              chatseal_error *pending)
{
    long cp;
    size_t used = 6;
    if (end - p < 2)
        return 0;
    switch (p[1]) {
    case '"':
    case '\\':
        *wn = js_escape(w, p[1]);
        *esc = 1;
        return 2;
    case '/':
        w[0] = '/';
        *wn = 1;
        return 2;
    case 'b':
        *wn = js_escape(w, '\b');
        *esc = 1;
        return 2;
    case 'f':
        *wn = js_escape(w, '\f');
        *esc = 1;
        return 2;
    case 'n':
        *wn = js_escape(w, '\n');
        *esc = 1;
        return 2;
    case 'r':
        *wn = js_escape(w, '\r');
        *esc = 1;
        return 2;
    case 't':
        *wn = js_escape(w, '\t');
        *esc = 1;
        return 2;
    case 'u':
        break;
    default:
        return 0; /* invalid escape */
    }
    if (end - p < 6 || (cp = js_hex4(p + 2)) < 0)
        return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = -1;
        if (end - p >= 12 && p[6] == '\\' && p[7] == 'u')
            lo = js_hex4(p + 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            used = 12;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (!*pending) {
            *pending = CHATSEAL_E_LONE_SURROGATE;
        }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF && !*pending) {
        *pending = CHATSEAL_E_LONE_SURROGATE;
    }
    if (cp < 0x20 || cp == '"' || cp == '\\') {
        *wn = js_escape(w, (unsigned)cp);
        *esc = 1;
    } else if (cp < 0x80) {
        w[0] = (char)cp;
        *wn = 1;
    } else if (cp < 0x800) {
        w[0] = (char)(0xC0 | (cp >> 6));
        w[1] = (char)(0x80 | (cp & 0x3F));
        *wn = 2;
    } else if (cp < 0x10000) {
        w[0] = (char)(0xE0 | (cp >> 12));
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        *wn = 3;
    } else {
        w[0] = (char)(0xF0 | (cp >> 18));
        w[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        w[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[3] = (char)(0x80 | (cp & 0x3F));
        *wn = 4;
    }
    return used;
}

#if JS_AVX2
/*
 * The fast path for one string, AVX2: 32 bytes per step are copied, searched
 * for '"', '\\' and controls, and validated as UTF-8 with the table-lookup
 * method of Keiser and Lemire ("Validating UTF-8 in less than one
 * instruction per byte", 2021): three 16-entry tables indexed by the high
 * and low nibble of the previous byte and the high nibble of the current one
 * flag every invalid 2-byte pattern, and a shift by 2 and 3 bytes checks
 * that exactly the bytes after 3- and 4-byte leads are continuations.  Bytes
 * after a '"', '\\' or control character are masked to zero, so a sequence
 * cut short by one is an error too.  Anything irregular (an error of any
 * kind, a lone surrogate, the end of the input) returns 1 and the caller
 * re-reads the string with the precise scalar code, which finds the first
 * error in reading order.  Returns 0 on success, -1 when out of memory.
 */
__attribute__((target("avx2"))) static __m256i js_prev(__m256i in, __m256i prev,
                                                       int n)
{
    __m256i t = _mm256_permute2x128_si256(prev, in, 0x21);
    switch (n) {
    case 1:
        return _mm256_alignr_epi8(in, t, 15);
    case 2:
        return _mm256_alignr_epi8(in, t, 14);
    default:
        return _mm256_alignr_epi8(in, t, 13);
    }
}

/* error classes of a byte pair (first byte, second byte) */
#define U8_TOO_SHORT 0x01 /* lead then no continuation */
#define U8_TOO_LONG 0x02  /* ASCII then continuation */
#define U8_OVERLONG3 0x04 /* E0 80..9F */
#define U8_TOO_LARGE 0x08 /* F4 90.., F5.. */
#define U8_SURROGATE 0x10 /* ED A0..BF */
#define U8_OVERLONG2 0x20 /* C0, C1 */
#define U8_LARGE1000 0x40 /* F5.. 80..8F; also F0 80..8F (overlong 4) */
#define U8_TWO_CONTS 0x80 /* continuation then continuation */
#define U8_CARRY (U8_TOO_SHORT | U8_TOO_LONG | U8_TWO_CONTS)

/* first byte, high nibble */
static const unsigned char js_u8_t1[16] = {
    U8_TOO_LONG,
    U8_TOO_LONG,
    U8_TOO_LONG,
    U8_TOO_LONG,
    U8_TOO_LONG,
    U8_TOO_LONG,
    U8_TOO_LONG,
    U8_TOO_LONG,
    U8_TWO_CONTS,
    U8_TWO_CONTS,
    U8_TWO_CONTS,
    U8_TWO_CONTS,
    U8_TOO_SHORT | U8_OVERLONG2,
    U8_TOO_SHORT,
    U8_TOO_SHORT | U8_OVERLONG3 | U8_SURROGATE,
    U8_TOO_SHORT | U8_TOO_LARGE | U8_LARGE1000};
/* first byte, low nibble */
static const unsigned char js_u8_t2[16] = {
    U8_CARRY | U8_OVERLONG3 | U8_OVERLONG2 | U8_LARGE1000,
    U8_CARRY | U8_OVERLONG2,
    U8_CARRY,
    U8_CARRY,
    U8_CARRY | U8_TOO_LARGE,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000 | U8_SURROGATE,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000,
    U8_CARRY | U8_TOO_LARGE | U8_LARGE1000};
/* second byte, high nibble */
static const unsigned char js_u8_t3[16] = {
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_LONG | U8_OVERLONG2 | U8_TWO_CONTS | U8_OVERLONG3 | U8_LARGE1000,
    U8_TOO_LONG | U8_OVERLONG2 | U8_TWO_CONTS | U8_OVERLONG3 | U8_TOO_LARGE,
    U8_TOO_LONG | U8_OVERLONG2 | U8_TWO_CONTS | U8_SURROGATE | U8_TOO_LARGE,
    U8_TOO_LONG | U8_OVERLONG2 | U8_TWO_CONTS | U8_SURROGATE | U8_TOO_LARGE,
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_SHORT,
    U8_TOO_SHORT};

__attribute__((target("avx2"))) static __m256i js_table(const unsigned char *t)
{
    return _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)(const void *)t));
}

/* Non-zero bytes where in (preceded by prev) is not valid UTF-8. */
__attribute__((target("avx2"))) static __m256i js_utf8_check(__m256i in,
                                                             __m256i prev)
{
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i t1 = js_table(js_u8_t1), t2 = js_table(js_u8_t2);
    const __m256i t3 = js_table(js_u8_t3);
    __m256i p1 = js_prev(in, prev, 1);
    __m256i b1h = _mm256_shuffle_epi8(
        t1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib));
    __m256i b1l = _mm256_shuffle_epi8(t2, _mm256_and_si256(p1, nib));
    __m256i b2h = _mm256_shuffle_epi8(
        t3, _mm256_and_si256(_mm256_srli_epi16(in, 4), nib));
    __m256i sc = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
    /* positions that must be the 3rd/4th byte of a sequence */
    __m256i p2 = js_prev(in, prev, 2), p3 = js_prev(in, prev, 3);
    __m256i m23 = _mm256_or_si256(
        _mm256_subs_epu8(p2, _mm256_set1_epi8((char)(0xE0 - 0x80))),
        _mm256_subs_epu8(p3, _mm256_set1_epi8((char)(0xF0 - 0x80))));
    m23 = _mm256_and_si256(m23, _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(m23, sc);
}

__attribute__((target("avx2"))) static int
js_string_avx2(cs_buf *b, const unsigned char **pp, const unsigned char *end,
               int *esc)
{
    const __m256i q = _mm256_set1_epi8('"');
    const __m256i bs = _mm256_set1_epi8('\\');
    const __m256i c1f = _mm256_set1_epi8(0x1F);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i idx = _mm256_setr_epi8(
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
        20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    const unsigned char *p = *pp + 1;
    __m256i prev = zero, err = zero;
    char *o = js_reserve(b, b->p + b->n, 1), *lim;
    int has_esc = 0;
    if (!o)
        return -1;
    *o++ = '"';
    for (;;) {
        __m256i v, sp, vv;
        unsigned m, k;
        if ((size_t)(b->p + b->cap - o) < CS_JS_SLACK) {
            o = js_reserve(b, o, CS_JS_SLACK);
            if (!o)
                return -1;
        }
        if (end - p >= 32) {
            v = _mm256_loadu_si256((const __m256i *)(const void *)p);
        } else {
            /* the last bytes, zero padded: a zero is a control character,
             * so the scan stops at the end of the input */
            unsigned char tail[32] = {0};
            memcpy(tail, p, (size_t)(end - p));
            v = _mm256_loadu_si256((const __m256i *)(const void *)tail);
        }
        _mm256_storeu_si256((__m256i *)(void *)o, v);
        sp = _mm256_or_si256(_mm256_cmpeq_epi8(v, q), _mm256_cmpeq_epi8(v, bs));
        sp = _mm256_or_si256(sp,
                             _mm256_cmpeq_epi8(_mm256_max_epu8(v, c1f), c1f));
        m = (unsigned)_mm256_movemask_epi8(sp);
        if (m) {
            k = (unsigned)__builtin_ctz(m);
            /* keep bytes before the special one, zero the rest */
            vv = _mm256_and_si256(
                v, _mm256_cmpgt_epi8(_mm256_set1_epi8((char)k), idx));
        } else {
            k = 32;
            vv = v;
        }
        if (_mm256_movemask_epi8(_mm256_or_si256(vv, prev)))
            err = _mm256_or_si256(err, js_utf8_check(vv, prev));
        p += k;
        o += k;
        if (!m) {
            prev = vv;
            continue;
        }
        prev = zero; /* the special byte is ASCII */
        if (p >= end || *p < 0x20)
            return 1; /* end of input or a control character */
        if (*p == '"') {
            p++;
            break;
        }
        /* a run of escapes: \uXXXX of BMP characters (what ensure_ascii
         * encoders write for every non-ASCII character) decoded without
         * data-dependent branches; anything else one by one */
        /* the arena does not move during a run: its room is checked
         * against a limit computed once (b->p and b->cap would otherwise
         * be read again after every byte written) */
        lim = b->p + b->cap - CS_JS_SLACK;
        do {
            unsigned ek = end - p >= 2 ? js_esc2len[p[1]] : 0;
            if (ek) {
                /* \n, \", \/ ...: table-driven, no branch per kind, as
                 * text of random escapes mispredicts every one */
                o[0] = ek == 1 ? '/' : '\\';
                o[1] = (char)p[1];
                o += ek;
                p += 2;
                has_esc |= ek == 2;
                continue;
            }
            if (end - p >= 6 && p[1] == 'u') {
                unsigned h0 = js_hexv[p[2]], h1 = js_hexv[p[3]];
                unsigned h2 = js_hexv[p[4]], h3 = js_hexv[p[5]];
                unsigned cp = h0 << 12 | h1 << 8 | h2 << 4 | h3;
                if (!((h0 | h1 | h2 | h3) & 0x100) && cp < 0x20) {
                    memcpy(o, js_ctl[cp], 6);
                    o += js_ctllen[cp];
                    p += 6;
                    has_esc = 1;
                    continue;
                }
                if (!((h0 | h1 | h2 | h3) & 0x100) && cp < 0x80) {
                    unsigned e = cp == '"' || cp == '\\';
                    o[0] = e ? '\\' : (char)cp;
                    o[1] = (char)cp;
                    o += 1 + e;
                    p += 6;
                    has_esc |= (int)e;
                    continue;
                }
                if (!((h0 | h1 | h2 | h3) & 0x100) &&
                    (cp < 0xD800 || cp > 0xDFFF)) {
                    /* 2 or 3 UTF-8 bytes, both written, one kept */
                    unsigned three = cp >= 0x800;
                    unsigned char b0 = (unsigned char)(three ? 0xE0 | cp >> 12
                                                             : 0xC0 | cp >> 6);
                    o[0] = (char)b0;
                    o[1] = (char)(0x80 | ((cp >> (three ? 6 : 0)) & 0x3F));
                    o[2] = (char)(0x80 | (cp & 0x3F));
                    o += 2 + three;
                    p += 6;
                    continue;
                }
            }
            {
                size_t wn = 0;
                int e1 = 0; /* has_esc's address is never taken: it stays
                             * in a register across the run */
                chatseal_error pending = CHATSEAL_OK;
                size_t used = js_unescape_one(p, end, o, &wn, &e1, &pending);
                has_esc |= e1;
                if (!used || pending)
                    return 1;
                p += used;
                o += wn;
            }
        } while (p < end && *p == '\\' && o <= lim);
    }
    if (!_mm256_testz_si256(err, err))
        return 1;
    *o++ = '"';
    b->n = (size_t)(o - b->p);
    *pp = p;
    if (esc)
        *esc = has_esc;
    return 0;
}
#endif

#if JS_SSE2
/*
 * A short plain string (a member name, a role, a word): its closing quote
 * among the 16 bytes after the opening one and nothing before it that
 * needs a look, so those bytes are its canonical form, copied with one
 * store.  Names and short values are most of the strings of a body of many
 * small objects or messages, and the general paths cost their setup each
 * time.  Returns 1 when it took the string (or ran out of memory: b->oom),
 * 0 to leave it to the general paths.
 */
static int js_string_short(cs_buf *b, const unsigned char **pp,
                           const unsigned char *end, int *esc)
{
    const unsigned char *p = *pp + 1;
    __m128i v;
    unsigned m;
    size_t k;
    char *o;
    if (end - p < 16)
        return 0;
    v = _mm_loadu_si128((const __m128i *)(const void *)p);
    m = js_special16(v);
    if (!m || p[__builtin_ctz(m)] != '"')
        return 0;
    k = (size_t)__builtin_ctz(m);
    o = js_reserve(b, b->p + b->n, 18);
    if (!o)
        return 1; /* b->oom is set */
    o[0] = '"';
    _mm_storeu_si128((__m128i *)(void *)(o + 1), v);
    o[1 + k] = '"';
    b->n = (size_t)(o - b->p) + k + 2;
    *pp = p + k + 1;
    if (esc)
        *esc = 0;
    return 1;
}
#endif

/*
 * Reads the string whose opening quote is at *pp and writes its canonical
 * form (quotes included) to b.  *esc is set when the canonical form
 * holds a backslash (then it differs from the unescaped value).  With
 * b NULL nothing is written: the string is only checked (error lexing).
 * This is the precise path: first error in reading order, a lone surrogate
 * only once the rest of the string is known to be fine.
 */
chatseal_error cs_js_string(cs_buf *b, int avx2, const unsigned char **pp,
                            const unsigned char *end, int *esc)
{
    const unsigned char *p = *pp + 1;
    chatseal_error pending = CHATSEAL_OK; /* lone surrogate, reported last */
    char *o = NULL;
    char dummy[16];
    int has_esc = 0;

#if JS_SSE2
    if (b && js_string_short(b, pp, end, esc))
        return b->oom ? CHATSEAL_E_NO_MEMORY : CHATSEAL_OK;
#endif
#if JS_AVX2
    if (b && avx2) {
        size_t olen = b->n;
        int r = js_string_avx2(b, pp, end, esc);
        if (r == 0)
            return CHATSEAL_OK;
        if (r < 0)
            return CHATSEAL_E_NO_MEMORY;
        b->n = olen; /* start again, precisely */
    }
#endif
    if (b) {
        o = js_reserve(b, b->p + b->n, 1);
        if (!o)
            return CHATSEAL_E_NO_MEMORY;
        *o++ = '"';
    }
    for (;;) {
        unsigned c;
        if (b && (size_t)(b->p + b->cap - o) < CS_JS_SLACK) {
            o = js_reserve(b, o, CS_JS_SLACK);
            if (!o)
                return CHATSEAL_E_NO_MEMORY;
        }
#if JS_SSE2
        if (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned m = js_special16(v);
            if (b)
                _mm_storeu_si128((__m128i *)(void *)o, v);
            if (!m) {
                p += 16;
                if (b)
                    o += 16;
                continue;
            }
            m = (unsigned)__builtin_ctz(m);
            p += m;
            if (b)
                o += m;
        } else
#else
        if (end - p >= 8) {
            uint64_t v, m;
            memcpy(&v, p, 8);
            m = js_special8(v);
            if (b)
                memcpy(o, &v, 8);
            if (!m) {
                p += 8;
                if (b)
                    o += 8;
                continue;
            }
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            m = (uint64_t)__builtin_ctzll(m) >> 3;
            p += m;
            if (b)
                o += m;
#else
            while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
                p++;
                if (b)
                    o++;
            }
#endif
        } else
#endif
        {
            while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' &&
                   *p != '\\') {
                if (b)
                    *o++ = (char)*p;
                p++;
            }
            if (p == end)
                return CHATSEAL_E_MALFORMED_JSON; /* unterminated */
        }
        c = *p;
        if (c == '"') {
            p++;
            break;
        }
        if (c >= 0x80) {
            /* a run of non-ASCII characters, validated one by one */
            do {
                size_t n = cs_js_utf8(p, end);
                if (!n)
                    return CHATSEAL_E_INVALID_UTF8;
                if (b) {
                    if ((size_t)(b->p + b->cap - o) < CS_JS_SLACK) {
                        o = js_reserve(b, o, CS_JS_SLACK);
                        if (!o)
                            return CHATSEAL_E_NO_MEMORY;
                    }
                    memcpy(o, p, n);
                    o += n;
                }
                p += n;
            } while (p < end && *p >= 0x80);
            continue;
        }
        if (c < 0x20)
            return CHATSEAL_E_CONTROL_CHARACTER;
        {
            /* backslash */
            size_t wn = 0;
            size_t used =
                js_unescape_one(p, end, b ? o : dummy, &wn, &has_esc, &pending);
            if (!used) {
                /* a bad or cut escape; the byte that broke it may itself be
                 * bad UTF-8, which jansson reports first */
                const unsigned char *q = p + 1;
                if (q < end && *q == 'u')
                    for (q++; q < end && q < p + 6 && js_hex(*q) >= 0; q++)
                        ;
                return cs_js_bad_lookahead(q, end) ? CHATSEAL_E_INVALID_UTF8
                                                   : CHATSEAL_E_MALFORMED_JSON;
            }
            p += used;
            if (b)
                o += wn;
        }
    }
    if (pending)
        return pending;
    if (b) {
        *o++ = '"';
        b->n = (size_t)(o - b->p);
    }
    *pp = p;
    if (esc)
        *esc = has_esc;
    return CHATSEAL_OK;
}

/* Unescapes canonical string bytes (between the quotes) into dst, which has
 * room for len bytes; returns the unescaped length. */
size_t cs_js_unescape_canon(char *dst, const char *s, size_t len)
{
    size_t i = 0, n = 0;
    while (i < len) {
        char c = s[i];
        if (c != '\\') {
            dst[n++] = c;
            i++;
            continue;
        }
        c = s[i + 1];
        i += 2;
        switch (c) {
        case 'b':
            dst[n++] = '\b';
            break;
        case 't':
            dst[n++] = '\t';
            break;
        case 'n':
            dst[n++] = '\n';
            break;
        case 'f':
            dst[n++] = '\f';
            break;
        case 'r':
            dst[n++] = '\r';
            break;
        case 'u':
            dst[n++] = (char)(js_hex((unsigned char)s[i + 2]) * 16 +
                              js_hex((unsigned char)s[i + 3]));
            i += 4;
            break;
        default: /* '"' or '\\' */
            dst[n++] = c;
            break;
        }
    }
    return n;
}
