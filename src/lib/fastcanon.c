/*
 * fastcanon.c -- strict JSON in, RFC 8785 bytes out, in one pass, no DOM.
 *
 * Why: verifying a signed history costs one SHA-256 over the canonical bytes
 * of every message.  A DOM parser (jansson) runs at 65-80 MB/s, far below
 * SHA-256 (about 1 GB/s with SHA-NI), so it would dominate verification.  This
 * file reads the raw bytes once and writes canonical bytes straight into a
 * reusable arena; only what RFC 8785 reorders (object members) is ever moved.
 *
 * Design:
 *  - An explicit stack of frames (one per open array/object), so nesting is
 *    bounded by max_depth and never by the C stack.
 *  - Output goes to one arena.  Each object member is written there as
 *    `"key":value` followed by ',' as it is read; when the object closes, its
 *    members are sorted (UTF-16 code-unit order of the unescaped names) and,
 *    unless they were already in order, reassembled in place: the largest
 *    member is moved once with memmove and only the others go through a
 *    scratch buffer, so a message whose "content" is 100 KB costs one memmove,
 *    not two copies.  While no object is open (top-level arrays) the arena is
 *    flushed to the sink in large chunks.
 *  - Strings: runs of plain ASCII are found 16 bytes at a time (SSE2, which
 *    every x86-64 has; SWAR on 8-byte words elsewhere) and copied as they are
 *    scanned; UTF-8 is validated by the scalar code only where a byte >= 0x80
 *    occurs.  Canonical strings are never longer than their source, except
 *    that numbers can grow (1e20 -> 100000000000000000000), so capacity is
 *    checked per 16-byte step.
 *  - Numbers: integers of at most 15 digits are already in canonical form
 *    (only "-0" changes); anything else is read with strtod (correctly
 *    rounded) and written as the shortest round-tripping digits, the way
 *    ECMAScript's Number.prototype.toString does, both under the "C" locale.
 *  - Errors: the first error in reading order wins, as in a recursive-descent
 *    parser.  Duplicate names are found when an object is sorted; if another
 *    error happens first inside an object, the names read so far are checked
 *    before reporting it, so a duplicate that came earlier still wins.  A
 *    lone surrogate is reported at the end of its string, after the string's
 *    other checks (the order jansson's two-pass string lexer has), and the
 *    token after a syntax error is lexed first, so that an error inside it
 *    (bad UTF-8, a control character, an overflowing number) wins, as it does
 *    in jansson.
 *
 * Everything that is not plain structure is checked here with the same codes
 * the reference (jansson) path returns; tests/unit/test_fastcanon.c and
 * fuzz/fuzz_differential.c compare the two byte for byte.
 */
#include "fastcanon.h"
#include "numfmt.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define FC_SSE2 1
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FC_AVX2 1 /* compiled with target("avx2"), used if the CPU has it */
#else
#define FC_AVX2 0
#endif

#define FC_FLUSH_AT ((size_t)64 << 10) /* stream top-level arrays in chunks */
#define FC_SLACK 64 /* bytes always free in the arena while writing */
/* a member name holding U+0000 (the reference path cannot represent one) */
#define FC_NUL_NAME_ERROR CHATSEAL_E_MALFORMED_JSON

/* frame kinds */
enum { FC_ARR = 0, FC_OBJ = 1 };
/* conversation roles of a frame */
enum { FC_R_NONE = 0, FC_R_ROOT = 1, FC_R_MSGS = 2, FC_R_MSG = 3 };

struct fc_frame {
    size_t start; /* arena offset of '{' or '[' */
    size_t mbase; /* first member record of this object */
    size_t kbase; /* length of the names buffer when opened */
    size_t count; /* members or elements so far */
    unsigned char kind;
    unsigned char conv;     /* FC_R_* */
    unsigned char has_role; /* message: a string "role" was seen */
};

/* One object member in the arena: "key":value at [start, end). */
struct fc_member {
    size_t start, end;
    size_t koff, klen; /* unescaped name: arena (kesc 0) or names buffer */
    size_t kclen;      /* canonical name bytes, quotes included */
    int kesc;
};

struct cs_fc {
    char *out; /* the arena */
    size_t olen, ocap;
    char *names; /* unescaped names that differ from their canonical form */
    size_t nlen, ncap;
    struct fc_member *mem;
    size_t nmem, cmem;
    struct fc_frame *fr;
    size_t nfr, cfr;
    char *scratch;
    size_t scap;
    struct fc_member *tmp; /* merge sort */
    size_t ctmp;
    char *role; /* current message's role, unescaped */
    size_t rlen, rcap;
    cs_fc_member *root; /* top-level members after a conversation scan */
    size_t nroot, croot;
    locale_t cloc;
    int avx2;    /* the CPU has AVX2: fc_string_avx2 */
    size_t nobj; /* open objects */
    size_t max_depth;
    chatseal_sink sink;
    void *sink_ctx;
    int done; /* canonical text complete and kept in out */
    /* conversation scan */
    int conv;
    cs_fc_message_fn on_message;
    void *msg_ctx;
    size_t max_messages, nmessages;
    chatseal_error deferred; /* first conversation-shape error */
    int saw_messages;        /* root object had a "messages" member */
    int want_role;           /* the value being read is a message's role */
    int want_msgs;           /* the value being read is root "messages" */
};

/* ------------------------------------------------------------ buffers -- */

static int fc_grow(char **buf, size_t *cap, size_t need)
{
    size_t n = *cap ? *cap : 4096;
    char *p;
    if (need <= *cap)
        return 0;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -1;
        n *= 2;
    }
    p = realloc(*buf, n);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static int fc_grow_arr(void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 16;
    void *p;
    if (need <= *cap)
        return 0;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return -1;
        n *= 2;
    }
    p = realloc(*buf, n * elem);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

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
    free(fc->out);
    free(fc->names);
    free(fc->mem);
    free(fc->fr);
    free(fc->scratch);
    free(fc->tmp);
    free(fc->role);
    free(fc->root);
    if (fc->cloc)
        freelocale(fc->cloc);
    free(fc);
}

/* ------------------------------------------------------------- output -- */

/* Arena writes go through a cursor `o` kept in a local variable by the hot
 * loops; these helpers take and return it. */
#define FC_O(fc) ((fc)->out + (fc)->olen)

static char *fc_reserve_slow(cs_fc *fc, char *o, size_t n)
{
    size_t used = (size_t)(o - fc->out);
    if (fc_grow(&fc->out, &fc->ocap, used + n + FC_SLACK))
        return NULL;
    return fc->out + used;
}

/* Room for n more bytes (plus the slack) at cursor o; the cursor, moved if
 * the arena moved, or NULL when out of memory. */
static inline char *fc_reserve(cs_fc *fc, char *o, size_t n)
{
    if ((size_t)(fc->out + fc->ocap - o) >= n + FC_SLACK)
        return o;
    return fc_reserve_slow(fc, o, n);
}
/* ------------------------------------------------------------- errors -- */

static int fc_isdigit(unsigned c)
{
    return c - '0' < 10;
}

static int fc_isalpha(unsigned c)
{
    return (c | 0x20) - 'a' < 26;
}

static int fc_hex(unsigned c)
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
static size_t fc_utf8(const unsigned char *p, const unsigned char *end)
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
static int fc_bad_lookahead(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= 0x80 && !fc_utf8(p, end);
}

/* ------------------------------------------------------------ strings -- */

/* Bit i set when byte i of v needs attention inside a string: '"', '\\', a
 * control character or a byte >= 0x80. */
#if FC_SSE2
static unsigned fc_special16(__m128i v)
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
static uint64_t fc_special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    uint64_t zq = (q - ones) & ~q, zb = (b - ones) & ~b;
    uint64_t lt = (v - ones * 0x20) & ~v; /* < 0x20, or >= 0x80 via ~v */
    return (zq | zb | lt | v) & high;
}
#endif

static const char fc_hexdig[] = "0123456789abcdef";

/* Canonical escape of code point c < 0x20 or '"' or '\\'; returns length. */
static size_t fc_escape(char *o, unsigned c)
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
        o[4] = fc_hexdig[c >> 4];
        o[5] = fc_hexdig[c & 15];
        return 6;
    }
}

/* Value of a hex digit, 0x100 for any other byte. */
static const unsigned short fc_hexv[256] = {
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
 * else \u00xx in lowercase hex), NUL-padded; its length is fc_ctllen. */
static const char fc_ctl[32][7] = {
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006",
    "\\u0007", "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",
    "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014",
    "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a", "\\u001b",
    "\\u001c", "\\u001d", "\\u001e", "\\u001f",
};
static const unsigned char fc_ctllen[32] = {6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2,
                                            6, 2, 2, 6, 6, 6, 6, 6, 6, 6, 6,
                                            6, 6, 6, 6, 6, 6, 6, 6, 6, 6};
/* The two-byte escapes \" \\ \b \f \n \r \t are their own canonical
 * form (2) and \/ is '/' (1); 0 marks any other byte after a backslash. */
static const unsigned char fc_esc2len[256] = {
    ['"'] = 2, ['\\'] = 2, ['b'] = 2, ['f'] = 2,
    ['n'] = 2, ['r'] = 2,  ['t'] = 2, ['/'] = 1,
};

/* 4 hex digits at p (caller checked there are 4 bytes), or -1. */
static long fc_hex4(const unsigned char *p)
{
    unsigned a = fc_hexv[p[0]], b = fc_hexv[p[1]], c = fc_hexv[p[2]],
             d = fc_hexv[p[3]];
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
static size_t fc_unescape_one(const unsigned char *p, const unsigned char *end,
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
        *wn = fc_escape(w, p[1]);
        *esc = 1;
        return 2;
    case '/':
        w[0] = '/';
        *wn = 1;
        return 2;
    case 'b':
        *wn = fc_escape(w, '\b');
        *esc = 1;
        return 2;
    case 'f':
        *wn = fc_escape(w, '\f');
        *esc = 1;
        return 2;
    case 'n':
        *wn = fc_escape(w, '\n');
        *esc = 1;
        return 2;
    case 'r':
        *wn = fc_escape(w, '\r');
        *esc = 1;
        return 2;
    case 't':
        *wn = fc_escape(w, '\t');
        *esc = 1;
        return 2;
    case 'u':
        break;
    default:
        return 0; /* invalid escape */
    }
    if (end - p < 6 || (cp = fc_hex4(p + 2)) < 0)
        return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = -1;
        if (end - p >= 12 && p[6] == '\\' && p[7] == 'u')
            lo = fc_hex4(p + 8);
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
        *wn = fc_escape(w, (unsigned)cp);
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

#if FC_AVX2
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
__attribute__((target("avx2"))) static __m256i fc_prev(__m256i in, __m256i prev,
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
static const unsigned char fc_u8_t1[16] = {
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
static const unsigned char fc_u8_t2[16] = {
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
static const unsigned char fc_u8_t3[16] = {
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

__attribute__((target("avx2"))) static __m256i fc_table(const unsigned char *t)
{
    return _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)(const void *)t));
}

/* Non-zero bytes where in (preceded by prev) is not valid UTF-8. */
__attribute__((target("avx2"))) static __m256i fc_utf8_check(__m256i in,
                                                             __m256i prev)
{
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i t1 = fc_table(fc_u8_t1), t2 = fc_table(fc_u8_t2);
    const __m256i t3 = fc_table(fc_u8_t3);
    __m256i p1 = fc_prev(in, prev, 1);
    __m256i b1h = _mm256_shuffle_epi8(
        t1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib));
    __m256i b1l = _mm256_shuffle_epi8(t2, _mm256_and_si256(p1, nib));
    __m256i b2h = _mm256_shuffle_epi8(
        t3, _mm256_and_si256(_mm256_srli_epi16(in, 4), nib));
    __m256i sc = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
    /* positions that must be the 3rd/4th byte of a sequence */
    __m256i p2 = fc_prev(in, prev, 2), p3 = fc_prev(in, prev, 3);
    __m256i m23 = _mm256_or_si256(
        _mm256_subs_epu8(p2, _mm256_set1_epi8((char)(0xE0 - 0x80))),
        _mm256_subs_epu8(p3, _mm256_set1_epi8((char)(0xF0 - 0x80))));
    m23 = _mm256_and_si256(m23, _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(m23, sc);
}

__attribute__((target("avx2"))) static int
fc_string_avx2(cs_fc *fc, const unsigned char **pp, const unsigned char *end,
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
    char *o = fc_reserve(fc, FC_O(fc), 1);
    int has_esc = 0;
    if (!o)
        return -1;
    *o++ = '"';
    for (;;) {
        __m256i v, sp, vv;
        unsigned m, k;
        if ((size_t)(fc->out + fc->ocap - o) < FC_SLACK) {
            o = fc_reserve(fc, o, FC_SLACK);
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
            err = _mm256_or_si256(err, fc_utf8_check(vv, prev));
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
        do {
            unsigned ek = end - p >= 2 ? fc_esc2len[p[1]] : 0;
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
                unsigned a = fc_hexv[p[2]], b = fc_hexv[p[3]];
                unsigned c = fc_hexv[p[4]], d = fc_hexv[p[5]];
                unsigned cp = a << 12 | b << 8 | c << 4 | d;
                if (!((a | b | c | d) & 0x100) && cp < 0x20) {
                    memcpy(o, fc_ctl[cp], 6);
                    o += fc_ctllen[cp];
                    p += 6;
                    has_esc = 1;
                    continue;
                }
                if (!((a | b | c | d) & 0x100) && cp < 0x80) {
                    unsigned e = cp == '"' || cp == '\\';
                    o[0] = e ? '\\' : (char)cp;
                    o[1] = (char)cp;
                    o += 1 + e;
                    p += 6;
                    has_esc |= (int)e;
                    continue;
                }
                if (!((a | b | c | d) & 0x100) &&
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
                chatseal_error pending = CHATSEAL_OK;
                size_t used =
                    fc_unescape_one(p, end, o, &wn, &has_esc, &pending);
                if (!used || pending)
                    return 1;
                p += used;
                o += wn;
            }
        } while (p < end && *p == '\\' &&
                 (size_t)(fc->out + fc->ocap - o) >= FC_SLACK);
    }
    if (!_mm256_testz_si256(err, err))
        return 1;
    *o++ = '"';
    fc->olen = (size_t)(o - fc->out);
    *pp = p;
    if (esc)
        *esc = has_esc;
    return 0;
}
#endif

/*
 * Reads the string whose opening quote is at *pp and writes its canonical
 * form (quotes included) to the arena.  *esc is set when the canonical form
 * holds a backslash (then it differs from the unescaped value).  With
 * fc NULL nothing is written: the string is only checked (error lexing).
 * This is the precise path: first error in reading order, a lone surrogate
 * only once the rest of the string is known to be fine.
 */
static chatseal_error fc_string(cs_fc *fc, const unsigned char **pp,
                                const unsigned char *end, int *esc)
{
    const unsigned char *p = *pp + 1;
    chatseal_error pending = CHATSEAL_OK; /* lone surrogate, reported last */
    char *o = NULL;
    char dummy[16];
    int has_esc = 0;

#if FC_AVX2
    if (fc && fc->avx2) {
        size_t olen = fc->olen;
        int r = fc_string_avx2(fc, pp, end, esc);
        if (r == 0)
            return CHATSEAL_OK;
        if (r < 0)
            return CHATSEAL_E_NO_MEMORY;
        fc->olen = olen; /* start again, precisely */
    }
#endif
    if (fc) {
        o = fc_reserve(fc, FC_O(fc), 1);
        if (!o)
            return CHATSEAL_E_NO_MEMORY;
        *o++ = '"';
    }
    for (;;) {
        unsigned c;
        if (fc && (size_t)(fc->out + fc->ocap - o) < FC_SLACK) {
            o = fc_reserve(fc, o, FC_SLACK);
            if (!o)
                return CHATSEAL_E_NO_MEMORY;
        }
#if FC_SSE2
        if (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned m = fc_special16(v);
            if (fc)
                _mm_storeu_si128((__m128i *)(void *)o, v);
            if (!m) {
                p += 16;
                if (fc)
                    o += 16;
                continue;
            }
            m = (unsigned)__builtin_ctz(m);
            p += m;
            if (fc)
                o += m;
        } else
#else
        if (end - p >= 8) {
            uint64_t v, m;
            memcpy(&v, p, 8);
            m = fc_special8(v);
            if (fc)
                memcpy(o, &v, 8);
            if (!m) {
                p += 8;
                if (fc)
                    o += 8;
                continue;
            }
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            m = (uint64_t)__builtin_ctzll(m) >> 3;
            p += m;
            if (fc)
                o += m;
#else
            while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
                p++;
                if (fc)
                    o++;
            }
#endif
        } else
#endif
        {
            while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' &&
                   *p != '\\') {
                if (fc)
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
                size_t n = fc_utf8(p, end);
                if (!n)
                    return CHATSEAL_E_INVALID_UTF8;
                if (fc) {
                    if ((size_t)(fc->out + fc->ocap - o) < FC_SLACK) {
                        o = fc_reserve(fc, o, FC_SLACK);
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
            size_t used = fc_unescape_one(p, end, fc ? o : dummy, &wn, &has_esc,
                                          &pending);
            if (!used) {
                /* a bad or cut escape; the byte that broke it may itself be
                 * bad UTF-8, which jansson reports first */
                const unsigned char *q = p + 1;
                if (q < end && *q == 'u')
                    for (q++; q < end && q < p + 6 && fc_hex(*q) >= 0; q++)
                        ;
                return fc_bad_lookahead(q, end) ? CHATSEAL_E_INVALID_UTF8
                                                : CHATSEAL_E_MALFORMED_JSON;
            }
            p += used;
            if (fc)
                o += wn;
        }
    }
    if (pending)
        return pending;
    if (fc) {
        *o++ = '"';
        fc->olen = (size_t)(o - fc->out);
    }
    *pp = p;
    if (esc)
        *esc = has_esc;
    return CHATSEAL_OK;
}

/* Unescapes canonical string bytes (between the quotes) into dst, which has
 * room for len bytes; returns the unescaped length. */
static size_t fc_unescape_canon(char *dst, const char *s, size_t len)
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
            dst[n++] = (char)(fc_hex((unsigned char)s[i + 2]) * 16 +
                              fc_hex((unsigned char)s[i + 3]));
            i += 4;
            break;
        default: /* '"' or '\\' */
            dst[n++] = c;
            break;
        }
    }
    return n;
}

/* ------------------------------------------------------------ numbers -- */

/*
 * Lexes the number at p.  Returns CHATSEAL_OK or MALFORMED_JSON for a bad
 * token (jansson's number grammar: "01" and "1." are invalid tokens, not a
 * number followed by something).  *stop is where lexing stopped either way:
 * the end of the token, or the byte that did not fit.  *simple is set for an
 * integer of at most 15 digits.
 */
static chatseal_error fc_number_lex(const unsigned char *p,
                                    const unsigned char *end,
                                    const unsigned char **stop, int *simple)
{
    const unsigned char *s = p;
    int plain = 1;
    *stop = p;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
        if (p < end && fc_isdigit(*p))
            goto bad;
    } else if (p < end && fc_isdigit(*p)) {
        while (p < end && fc_isdigit(*p))
            p++;
    } else {
        goto bad;
    }
    if (p < end && *p == '.') {
        plain = 0;
        p++;
        if (p == end || !fc_isdigit(*p))
            goto bad;
        while (p < end && fc_isdigit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        plain = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !fc_isdigit(*p))
            goto bad;
        while (p < end && fc_isdigit(*p))
            p++;
    }
    *stop = p;
    *simple = plain && (p - s) - (*s == '-') <= 15;
    return CHATSEAL_OK;
bad:
    *stop = p;
    return CHATSEAL_E_MALFORMED_JSON;
}

/* Reads the number token [s, e) as a double under the C locale: OK, or
 * INVALID_NUMBER when it is not finite.  Uses the scratch buffer for the NUL
 * terminated copy. */
static chatseal_error fc_number_value(cs_fc *fc, const unsigned char *s,
                                      const unsigned char *e, double *v)
{
    size_t n = (size_t)(e - s);
    locale_t old;
    if (!fc->cloc) {
        fc->cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (!fc->cloc)
            return CHATSEAL_E_NO_MEMORY;
    }
    if (fc_grow(&fc->scratch, &fc->scap, n + 1))
        return CHATSEAL_E_NO_MEMORY;
    memcpy(fc->scratch, s, n);
    fc->scratch[n] = 0;
    old = uselocale(fc->cloc);
    *v = strtod(fc->scratch, NULL);
    uselocale(old);
    if (isinf(*v) || isnan(*v))
        return CHATSEAL_E_INVALID_NUMBER;
    return CHATSEAL_OK;
}

/* ------------------------------------------------------------ sorting -- */

static const unsigned char *fc_name(const cs_fc *fc, const struct fc_member *m)
{
    return (const unsigned char *)(m->kesc ? fc->names : fc->out) + m->koff;
}

/*
 * Compares two UTF-8 names in UTF-16 code-unit order (RFC 8785 §3.2.3).
 * UTF-8 byte order is code-point order; the two orders differ only where a
 * supplementary character (lead byte F0-F4, a surrogate pair D800-DFFF in
 * UTF-16) meets one of U+E000-U+FFFF (lead byte EE or EF).
 */
static int fc_namecmp(const unsigned char *a, size_t al, const unsigned char *b,
                      size_t bl)
{
    size_t n = al < bl ? al : bl, i = 0;
    unsigned x, y;
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* names of many members often share long prefixes: skip equal bytes a
     * word at a time (the sort's cost is its compares) */
    for (; i + 8 <= n; i += 8) {
        uint64_t u, v;
        memcpy(&u, a + i, 8);
        memcpy(&v, b + i, 8);
        if (u != v) {
            i += (size_t)__builtin_ctzll(u ^ v) >> 3;
            break;
        }
    }
#endif
    while (i < n && a[i] == b[i])
        i++;
    if (i == n)
        return al < bl ? -1 : al > bl;
    x = a[i];
    y = b[i];
    if (x >= 0xEE && y >= 0xEE && (x >= 0xF0) != (y >= 0xF0))
        return x >= 0xF0 ? -1 : 1;
    return x < y ? -1 : 1;
}

static int fc_memcmp(const cs_fc *fc, const struct fc_member *a,
                     const struct fc_member *b)
{
    return fc_namecmp(fc_name(fc, a), a->klen, fc_name(fc, b), b->klen);
}

/* Sorts m[0..n); returns 1 if two names are equal. */
static int fc_sort(cs_fc *fc, struct fc_member *m, size_t n)
{
    size_t i, j, w;
    if (n <= 16) {
        for (i = 1; i < n; i++) {
            struct fc_member t = m[i];
            int c = 1;
            for (j = i; j > 0 && (c = fc_memcmp(fc, &m[j - 1], &t)) > 0; j--)
                m[j] = m[j - 1];
            if (c == 0)
                return 1;
            m[j] = t;
        }
        return 0;
    }
    if (fc_grow_arr((void **)&fc->tmp, &fc->ctmp, n, sizeof(*fc->tmp)))
        return -1;
    /* bottom-up merge sort, ping-ponging between m and tmp */
    {
        struct fc_member *src = m, *dst = fc->tmp, *t;
        for (w = 1; w < n; w *= 2) {
            for (i = 0; i < n; i += 2 * w) {
                size_t a = i, am = i + w < n ? i + w : n;
                size_t b = am, bm = i + 2 * w < n ? i + 2 * w : n, k = i;
                while (a < am && b < bm) {
                    int c = fc_memcmp(fc, &src[a], &src[b]);
                    if (c == 0)
                        return 1;
                    dst[k++] = c < 0 ? src[a++] : src[b++];
                }
                while (a < am)
                    dst[k++] = src[a++];
                while (b < bm)
                    dst[k++] = src[b++];
            }
            t = src;
            src = dst;
            dst = t;
        }
        if (src != m)
            memcpy(m, src, n * sizeof(*m));
    }
    return 0;
}

/*
 * Closes the object of frame f: sorts its members, rejects duplicates, and
 * rewrites [start+1, olen) in sorted order followed by '}'.
 */
static chatseal_error fc_close_object(cs_fc *fc, struct fc_frame *f)
{
    size_t n = fc->nmem - f->mbase, i, big = 0, pos, sc;
    /* an empty object may come before any member array exists: no
     * arithmetic on a NULL fc->mem */
    struct fc_member *m = n ? fc->mem + f->mbase : NULL;
    int sorted = 1, r;
    char *o;

    for (i = 1; i < n; i++) {
        int c = fc_memcmp(fc, &m[i - 1], &m[i]);
        if (c == 0)
            return CHATSEAL_E_DUPLICATE_KEY;
        if (c > 0)
            sorted = 0;
    }
    if (!sorted) {
        size_t total = 0;
        r = fc_sort(fc, m, n);
        if (r < 0)
            return CHATSEAL_E_NO_MEMORY;
        if (r)
            return CHATSEAL_E_DUPLICATE_KEY;
        for (i = 0; i < n; i++) {
            size_t len = m[i].end - m[i].start;
            total += len;
            if (len > m[big].end - m[big].start)
                big = i;
        }
        /* everything but the largest member goes through scratch */
        total -= m[big].end - m[big].start;
        if (fc_grow(&fc->scratch, &fc->scap, total + 1))
            return CHATSEAL_E_NO_MEMORY;
        sc = 0;
        for (i = 0; i < n; i++) {
            if (i == big)
                continue;
            memcpy(fc->scratch + sc, fc->out + m[i].start,
                   m[i].end - m[i].start);
            sc += m[i].end - m[i].start;
        }
        pos = f->start + 1;
        for (i = 0; i < big; i++)
            pos += m[i].end - m[i].start + 1;
        memmove(fc->out + pos, fc->out + m[big].start,
                m[big].end - m[big].start);
        pos = f->start + 1;
        sc = 0;
        for (i = 0; i < n; i++) {
            size_t len = m[i].end - m[i].start;
            if (i != big) {
                memcpy(fc->out + pos, fc->scratch + sc, len);
                sc += len;
            }
            /* where the member now is (used for top-level members) */
            m[i].start = pos;
            m[i].end = pos + len;
            if (!m[i].kesc)
                m[i].koff = pos + 1;
            pos += len;
            if (i + 1 < n)
                fc->out[pos++] = ',';
        }
        fc->olen = pos;
    }
    o = fc_reserve(fc, FC_O(fc), 1);
    if (!o)
        return CHATSEAL_E_NO_MEMORY;
    *o = '}';
    fc->olen++;
    return CHATSEAL_OK;
}

/* After an error: a duplicate name read before it, in any open object, is
 * the earlier error. */
static int fc_open_duplicates(cs_fc *fc)
{
    size_t i;
    for (i = 0; i < fc->nfr; i++) {
        struct fc_frame *f = &fc->fr[i];
        if (f->kind == FC_OBJ && fc->nmem > f->mbase) {
            size_t end = fc->nmem, j;
            /* members of f are [f->mbase, next object's mbase) */
            for (j = i + 1; j < fc->nfr; j++)
                if (fc->fr[j].kind == FC_OBJ) {
                    end = fc->fr[j].mbase;
                    break;
                }
            if (end - f->mbase > 1 &&
                fc_sort(fc, fc->mem + f->mbase, end - f->mbase) == 1)
                return 1;
        }
    }
    return 0;
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
        return fc_utf8(p, end) ? syntax : CHATSEAL_E_INVALID_UTF8;
    if (*p == '"') {
        const unsigned char *q = p;
        chatseal_error e = fc_string(NULL, &q, end, NULL);
        return e ? e : syntax;
    }
    if (*p == '-' || fc_isdigit(*p)) {
        const unsigned char *q;
        int simple = 0;
        double v;
        chatseal_error e = fc_number_lex(p, end, &q, &simple);
        if (fc_bad_lookahead(q, end))
            return CHATSEAL_E_INVALID_UTF8;
        if (!e && !simple &&
            fc_number_value(fc, p, q, &v) == CHATSEAL_E_INVALID_NUMBER)
            return CHATSEAL_E_INVALID_NUMBER;
        return syntax;
    }
    if (fc_isalpha(*p)) {
        while (p < end && fc_isalpha(*p))
            p++;
        if (fc_bad_lookahead(p, end))
            return CHATSEAL_E_INVALID_UTF8;
    }
    return syntax;
}

/* ------------------------------------------------------------- parser -- */

static int fc_is_ws(unsigned c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

#define SKIP_WS(p, end)                                                        \
    while ((p) < (end) && fc_is_ws(*(p)))                                      \
    (p)++

static chatseal_error fc_push(cs_fc *fc, int kind, unsigned char conv)
{
    struct fc_frame *f;
    size_t depth = fc->nfr + 1;
    if (depth > fc->max_depth)
        return CHATSEAL_E_TOO_DEEP;
    if (fc_grow_arr((void **)&fc->fr, &fc->cfr, depth, sizeof(*fc->fr)))
        return CHATSEAL_E_NO_MEMORY;
    f = &fc->fr[fc->nfr++];
    f->start = fc->olen;
    f->mbase = fc->nmem;
    f->kbase = fc->nlen;
    f->count = 0;
    f->kind = (unsigned char)kind;
    f->conv = conv;
    f->has_role = 0;
    if (kind == FC_OBJ)
        fc->nobj++;
    return CHATSEAL_OK;
}

static void fc_defer(cs_fc *fc, chatseal_error e)
{
    if (!fc->deferred)
        fc->deferred = e;
}

static int fc_is_name(const unsigned char *name, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(name, lit, n) == 0;
}

/* Conversation bookkeeping when a value starts inside frame `parent` (NULL
 * at the top).  Returns the conv role the new container gets. */
static unsigned char fc_conv_enter(cs_fc *fc, const struct fc_frame *parent,
                                   unsigned char c)
{
    int is_obj = c == '{', is_arr = c == '[';
    if (!parent) {
        if (is_arr)
            return FC_R_MSGS;
        if (is_obj)
            return FC_R_ROOT;
        fc_defer(fc, CHATSEAL_E_INVALID_REQUEST);
        return FC_R_NONE;
    }
    if (fc->want_msgs) {
        fc->want_msgs = 0;
        if (is_arr)
            return FC_R_MSGS;
        fc_defer(fc, CHATSEAL_E_INVALID_REQUEST);
        return FC_R_NONE;
    }
    if (fc->want_role) {
        if (c != '"') { /* a string role is taken by the string case */
            fc->want_role = 0;
            fc_defer(fc, CHATSEAL_E_INVALID_MESSAGE);
        }
        return FC_R_NONE;
    }
    if (parent->conv == FC_R_MSGS) {
        if (parent->count > fc->max_messages)
            fc_defer(fc, CHATSEAL_E_TOO_MANY_MESSAGES);
        if (is_obj)
            return FC_R_MSG;
        fc_defer(fc, CHATSEAL_E_INVALID_MESSAGE);
    }
    return FC_R_NONE;
}

static chatseal_error fc_flush(cs_fc *fc)
{
    if (fc->sink && fc->olen) {
        if (fc->sink(fc->sink_ctx, fc->out, fc->olen))
            return CHATSEAL_E_IO;
        fc->olen = 0;
    }
    return CHATSEAL_OK;
}

/* Records the top-level members of a conversation object (already sorted in
 * place by fc_close_object). */
static chatseal_error fc_keep_root(cs_fc *fc, const struct fc_frame *f)
{
    size_t n = fc->nmem - f->mbase, i;
    if (fc_grow_arr((void **)&fc->root, &fc->croot, n ? n : 1,
                    sizeof(*fc->root)))
        return CHATSEAL_E_NO_MEMORY;
    for (i = 0; i < n; i++) {
        const struct fc_member *m = &fc->mem[f->mbase + i];
        fc->root[i].name = (const char *)fc_name(fc, m);
        fc->root[i].name_len = m->klen;
        fc->root[i].value_off = m->start + m->kclen + 1;
        fc->root[i].value_len = m->end - m->start - m->kclen - 1;
    }
    fc->nroot = n;
    return CHATSEAL_OK;
}

static chatseal_error fc_run(cs_fc *fc, const char *json, size_t len)
{
    const unsigned char *p = (const unsigned char *)json;
    const unsigned char *end = p + len;
    struct fc_frame *f = NULL;
    chatseal_error err = CHATSEAL_OK;
    char *o;
    unsigned c;

    fc->olen = fc->nlen = fc->nmem = fc->nfr = fc->nobj = 0;
    fc->done = 0;
    fc->nroot = 0;
    fc->deferred = CHATSEAL_OK;
    fc->nmessages = 0;
    fc->saw_messages = fc->want_role = fc->want_msgs = 0;
    if (!json && len)
        return CHATSEAL_E_INVALID_ARGUMENT;
    /* When the canonical text is kept, it is rarely longer than the input:
     * one allocation of about the right size instead of a chain of
     * doublings, copies and fresh page faults.  A sink gets it in pieces. */
    if (fc_grow(&fc->out, &fc->ocap,
                (fc->sink || len < 4096 ? 4096 : len) + FC_SLACK))
        return CHATSEAL_E_NO_MEMORY;

value:
    SKIP_WS(p, end);
    if (p == end) {
        err = CHATSEAL_E_MALFORMED_JSON;
        goto fail;
    }
    c = *p;
    if (fc->conv) {
        unsigned char role = fc_conv_enter(fc, f, c);
        if (c == '{' || c == '[') {
            err = fc_push(fc, c == '{' ? FC_OBJ : FC_ARR, role);
            if (err)
                goto fail;
            goto opened;
        }
    }
    switch (c) {
    case '"': {
        size_t s = fc->olen;
        int esc;
        err = fc_string(fc, &p, end, &esc);
        if (err)
            goto fail;
        if (fc->conv && f && f->conv == FC_R_MSG && fc->want_role) {
            /* the message's role: keep it unescaped for the callback */
            size_t n = fc->olen - s - 2;
            fc->want_role = 0;
            if (fc_grow(&fc->role, &fc->rcap, n + 1)) {
                err = CHATSEAL_E_NO_MEMORY;
                goto fail;
            }
            if (esc)
                fc->rlen = fc_unescape_canon(fc->role, fc->out + s + 1, n);
            else {
                memcpy(fc->role, fc->out + s + 1, n);
                fc->rlen = n;
            }
            f->has_role = 1;
        }
        goto after_value;
    }
    case '{':
    case '[':
        err = fc_push(fc, c == '{' ? FC_OBJ : FC_ARR, FC_R_NONE);
        if (err)
            goto fail;
        goto opened;
    case 't':
    case 'f':
    case 'n': {
        const unsigned char *s = p;
        const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
        size_t n = c == 'f' ? 5 : 4;
        while (p < end && fc_isalpha(*p))
            p++;
        if (fc_bad_lookahead(p, end)) {
            err = CHATSEAL_E_INVALID_UTF8;
            goto fail;
        }
        if ((size_t)(p - s) != n || memcmp(s, lit, n) != 0) {
            err = CHATSEAL_E_MALFORMED_JSON; /* jansson: invalid token */
            goto fail;
        }
        o = fc_reserve(fc, FC_O(fc), n);
        if (!o) {
            err = CHATSEAL_E_NO_MEMORY;
            goto fail;
        }
        memcpy(o, lit, n);
        fc->olen += n;
        goto after_value;
    }
    default:
        if (c == '-' || fc_isdigit(c)) {
            const unsigned char *q;
            int simple = 0;
            err = fc_number_lex(p, end, &q, &simple);
            if (fc_bad_lookahead(q, end))
                err = CHATSEAL_E_INVALID_UTF8;
            if (err)
                goto fail;
            o = fc_reserve(fc, FC_O(fc), 32 + (size_t)(q - p));
            if (!o) {
                err = CHATSEAL_E_NO_MEMORY;
                goto fail;
            }
            if (simple) {
                if (q - p == 2 && p[0] == '-' && p[1] == '0')
                    *o = '0', fc->olen++;
                else {
                    memcpy(o, p, (size_t)(q - p));
                    fc->olen += (size_t)(q - p);
                }
            } else {
                double v;
                err = fc_number_value(fc, p, q, &v);
                if (err)
                    goto fail;
                fc->olen += cs_num_format(v, o);
            }
            p = q;
            goto after_value;
        }
        err = fc_token_error(fc, p, end, CHATSEAL_E_MALFORMED_JSON);
        goto fail;
    }

opened:
    /* a container was pushed for the byte at p */
    f = &fc->fr[fc->nfr - 1];
    o = fc_reserve(fc, FC_O(fc), 1);
    if (!o) {
        err = CHATSEAL_E_NO_MEMORY;
        goto fail;
    }
    *o = (char)*p++;
    fc->olen++;
    SKIP_WS(p, end);
    if (f->kind == FC_ARR) {
        if (p < end && *p == ']') {
            p++;
            goto close_array;
        }
        goto element;
    }
    if (p < end && *p == '}') {
        p++;
        goto close_object;
    }
    goto key;

element:
    /* the next array element; f is the array */
    f->count++;
    goto value;

key : {
    /* the next object member; f is the object, p at the name */
    struct fc_member *m;
    size_t s = fc->olen;
    int esc;
    if (p == end || *p != '"') {
        err = fc_token_error(fc, p, end, CHATSEAL_E_MALFORMED_JSON);
        goto fail;
    }
    err = fc_string(fc, &p, end, &esc);
    if (err)
        goto fail;
    if (fc_grow_arr((void **)&fc->mem, &fc->cmem, fc->nmem + 1,
                    sizeof(*fc->mem))) {
        err = CHATSEAL_E_NO_MEMORY;
        goto fail;
    }
    m = &fc->mem[fc->nmem++];
    m->start = s;
    m->end = s;
    m->kclen = fc->olen - s;
    m->kesc = esc;
    if (!esc) {
        m->koff = s + 1;
        m->klen = m->kclen - 2;
    } else {
        if (fc_grow(&fc->names, &fc->ncap, fc->nlen + m->kclen)) {
            err = CHATSEAL_E_NO_MEMORY;
            goto fail;
        }
        m->koff = fc->nlen;
        m->klen = fc_unescape_canon(fc->names + fc->nlen, fc->out + s + 1,
                                    m->kclen - 2);
        if (memchr(fc->names + fc->nlen, 0, m->klen)) {
            /* jansson cannot hold U+0000 in a member name and refuses it */
            fc->nmem--;
            err = FC_NUL_NAME_ERROR;
            goto fail;
        }
        fc->nlen += m->klen;
    }
    f->count++;
    if (fc->conv) {
        const unsigned char *nm = fc_name(fc, m);
        if (f->conv == FC_R_MSG && fc_is_name(nm, m->klen, "role"))
            fc->want_role = 1;
        else if (f->conv == FC_R_ROOT && fc_is_name(nm, m->klen, "messages")) {
            fc->want_msgs = 1;
            fc->saw_messages = 1;
        }
    }
    SKIP_WS(p, end);
    if (p == end || *p != ':') {
        err = fc_token_error(fc, p, end, CHATSEAL_E_MALFORMED_JSON);
        goto fail;
    }
    p++;
    o = fc_reserve(fc, FC_O(fc), 1);
    if (!o) {
        err = CHATSEAL_E_NO_MEMORY;
        goto fail;
    }
    *o = ':';
    fc->olen++;
    goto value;
}

after_value:
    if (!fc->nfr)
        goto done;
    f = &fc->fr[fc->nfr - 1];
    SKIP_WS(p, end);
    if (f->kind == FC_OBJ) {
        fc->mem[fc->nmem - 1].end = fc->olen;
        if (p < end && *p == ',') {
            p++;
            o = fc_reserve(fc, FC_O(fc), 1);
            if (!o) {
                err = CHATSEAL_E_NO_MEMORY;
                goto fail;
            }
            *o = ',';
            fc->olen++;
            SKIP_WS(p, end);
            goto key;
        }
        if (p < end && *p == '}') {
            p++;
            goto close_object;
        }
    } else {
        if (p < end && *p == ',') {
            p++;
            if (!fc->nobj && fc->olen >= FC_FLUSH_AT) {
                err = fc_flush(fc);
                if (err)
                    goto fail;
            }
            o = fc_reserve(fc, FC_O(fc), 1);
            if (!o) {
                err = CHATSEAL_E_NO_MEMORY;
                goto fail;
            }
            *o = ',';
            fc->olen++;
            goto element;
        }
        if (p < end && *p == ']') {
            p++;
            goto close_array;
        }
    }
    err = fc_token_error(fc, p, end, CHATSEAL_E_MALFORMED_JSON);
    goto fail;

close_array:
    o = fc_reserve(fc, FC_O(fc), 1);
    if (!o) {
        err = CHATSEAL_E_NO_MEMORY;
        goto fail;
    }
    *o = ']';
    fc->olen++;
    if (fc->conv && f->conv == FC_R_MSGS && !fc->deferred)
        fc->nmessages = f->count;
    fc->nfr--;
    f = fc->nfr ? &fc->fr[fc->nfr - 1] : NULL;
    goto after_value;

close_object:
    err = fc_close_object(fc, f);
    if (err)
        goto fail;
    if (fc->conv) {
        if (f->conv == FC_R_MSG) {
            if (!f->has_role)
                fc_defer(fc, CHATSEAL_E_INVALID_MESSAGE);
            if (!fc->deferred && fc->on_message) {
                if (fc->on_message(fc->msg_ctx, fc->fr[fc->nfr - 2].count - 1,
                                   fc->out + f->start, fc->olen - f->start,
                                   fc->role, fc->rlen)) {
                    err = CHATSEAL_E_IO;
                    goto fail;
                }
            }
        } else if (f->conv == FC_R_ROOT) {
            if (!fc->saw_messages)
                fc_defer(fc, CHATSEAL_E_INVALID_REQUEST);
            err = fc_keep_root(fc, f);
            if (err)
                goto fail;
        }
    }
    fc->nmem = f->mbase;
    if (fc->nfr > 1 || !fc->conv)
        fc->nlen = f->kbase; /* top-level names stay for cs_fc_root_members */
    fc->nobj--;
    fc->nfr--;
    f = fc->nfr ? &fc->fr[fc->nfr - 1] : NULL;
    goto after_value;

done:
    SKIP_WS(p, end);
    if (p != end) {
        err = fc_token_error(fc, p, end, CHATSEAL_E_TRAILING_DATA);
        goto fail;
    }
    if (fc->deferred) {
        err = fc->deferred;
        goto fail_plain;
    }
    if (fc->sink) {
        err = fc_flush(fc);
        if (err)
            goto fail_plain;
    } else {
        fc->done = 1;
    }
    return CHATSEAL_OK;

fail:
    if (err != CHATSEAL_E_DUPLICATE_KEY && err != CHATSEAL_E_NO_MEMORY &&
        err != CHATSEAL_E_IO && fc_open_duplicates(fc))
        err = CHATSEAL_E_DUPLICATE_KEY;
fail_plain:
    fc->olen = 0;
    fc->nroot = 0;
    return err;
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
    fc->conv = 0;
    fc->on_message = NULL;
    return fc_run(fc, json, len);
}

chatseal_error cs_fc_conv_scan(cs_fc *fc, const char *json, size_t len,
                               size_t max_depth, size_t max_messages,
                               cs_fc_message_fn on_message, void *ctx,
                               size_t *nmessages)
{
    chatseal_error err;
    if (!fc)
        return CHATSEAL_E_INVALID_ARGUMENT;
    fc->max_depth = max_depth ? max_depth : CHATSEAL_MAX_DEPTH_DEFAULT;
    fc->max_messages =
        max_messages ? max_messages : CHATSEAL_MAX_MESSAGES_DEFAULT;
    fc->sink = NULL;
    fc->sink_ctx = NULL;
    fc->conv = 1;
    fc->on_message = on_message;
    fc->msg_ctx = ctx;
    err = fc_run(fc, json, len);
    fc->conv = 0;
    if (nmessages)
        *nmessages = err ? 0 : fc->nmessages;
    return err;
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
        *len = fc->olen;
    return fc->out;
}

char *cs_fc_take_output(cs_fc *fc, size_t *len)
{
    char *p;
    if (!fc || !fc->done)
        return NULL;
    p = fc->out;
    p[fc->olen] = 0; /* FC_SLACK keeps room for it */
    if (len)
        *len = fc->olen;
    fc->out = NULL;
    fc->ocap = fc->olen = 0;
    fc->done = 0;
    /* the root members stay: their names and values are in p (or in the
     * names buffer), which the caller now holds */
    return p;
}

size_t cs_fc_root_members(const cs_fc *fc, const cs_fc_member **members)
{
    /* nroot is reset when a run starts and when it fails, so it is only
     * non-zero after a successful conversation scan of an object */
    size_t n = fc ? fc->nroot : 0;
    if (members)
        *members = n ? fc->root : NULL;
    return n;
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
    fc = cs_fc_new();
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
    cs_fc_free(fc);
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
    fc = cs_fc_new();
    if (!fc)
        return CHATSEAL_E_NO_MEMORY;
    err = cs_fc_canonicalize(fc, json, len, max_depth, sink, ctx);
    cs_fc_free(fc);
    return err;
}
