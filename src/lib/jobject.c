/*
 * jobject.c -- object members in RFC 8785 order (the canonicalizer's layer
 * between the codecs and the parser; fcpriv.h shows the layers).
 *
 * The parser writes each member as `"key":value` followed by ',' straight
 * into the arena as it is read and records where it is (struct fc_member).
 * When the object closes, its members are sorted by the UTF-16 code units of
 * their unescaped names (RFC 8785 §3.2.3) and, unless they were already in
 * order, reassembled in place: the largest member is moved once with
 * memmove and only the others go through a scratch buffer, so a message
 * whose "content" is 100 KB costs one memmove, not two copies; two members
 * (a chat message's role and content) are simply swapped.
 *
 * The sort is an insertion sort up to 16 members, a bottom-up merge sort up
 * to 63 (O(n log n) compares in the worst case, stable, no recursion; names
 * compared a word at a time) and a radix sort on the names' bytes from 64 on
 * (below: an object of thousands of members with long shared name prefixes
 * cost 10x text in compares).  Equal names are the duplicate_key error,
 * found while sorting.
 */
#include <stdint.h>
#include <string.h>

#include "fcpriv.h"

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

/* ---------------------------------------------------- the radix sort -- */

/*
 * Large objects (FC_RADIX_MIN members or more) are sorted by the names'
 * bytes instead of by compares: with 20000 members whose names share a
 * 40-byte prefix, the merge sort's 300000 compares each read that prefix
 * again and cost 10x text.  Here each name is read about once:
 *
 *  - a group of members (at first, all) is given the longest prefix its
 *    names share (L), then an 8-byte key each: its bytes L..L+7, mapped so
 *    that byte order is the UTF-16 order of fc_namecmp (see fc_rmap), packed
 *    big-endian, zero past the name's end (a name holds no zero byte: the
 *    parser refuses U+0000 in names);
 *  - the group is sorted by key with an LSD radix sort (8 passes of a byte,
 *    a pass skipped when all keys share that byte);
 *  - members with equal keys share 8 more bytes: such a subgroup is either
 *    names that all ended (key's last byte 0: equal names, the
 *    duplicate_key error), or is sorted the same way from L + 8 on (a work
 *    list, no recursion), or, when small, by insertion with fc_namecmp;
 *  - when a pass tells only a few names from the rest (names that are ever
 *    longer repetitions of a block would need one pass per name), the rest
 *    is merge sorted with fc_namecmp, as every object was before.
 *
 * The order is the one fc_namecmp defines, so the result is the merge
 * sort's, byte for byte (tests/unit/test_fcbig.c, test_fastcanon.c and
 * fuzz_differential compare it with the reference canonicalizer).
 */
#define FC_RADIX_MIN 64
#define FC_RADIX_SMALL 24 /* groups this small: insertion sort */

struct fc_rkey {
    uint64_t key;
    size_t i; /* member index */
};

/* fc_radix keeps the keys' second array in the members' buffer */
_Static_assert(sizeof(struct fc_member) >= sizeof(struct fc_rkey),
               "a member record holds a radix key");

/* fc_namecmp's order as a byte map: F0-FF (supplementary characters, a
 * surrogate pair in UTF-16) before EE-EF (U+E000-U+FFFF), the rest as is. */
static unsigned char fc_rmap(unsigned char b)
{
    if (b < 0xEE)
        return b;
    return (unsigned char)(b >= 0xF0 ? b - 2 : b + 0x10);
}

static uint64_t fc_rkey_at(const unsigned char *s, size_t len, size_t off)
{
    uint64_t k = 0, u;
    size_t j;
    if (len >= off + 8) {
        memcpy(&u, s + off, 8);
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (!(u & UINT64_C(0x8080808080808080)))
            return __builtin_bswap64(u); /* ASCII: no byte to map */
#endif
    }
    for (j = 0; j < 8; j++)
        k = k << 8 | (off + j < len ? fc_rmap(s[off + j]) : 0);
    return k;
}

/* Length of the prefix that the names of r[0..n) share beyond off (they
 * share off bytes already). */
static size_t fc_rprefix(const cs_fc *fc, const struct fc_member *m,
                         const struct fc_rkey *r, size_t n, size_t off)
{
    const struct fc_member *a = &m[r[0].i];
    const unsigned char *s = fc_name(fc, a);
    size_t l = a->klen, k;
    for (k = 1; k < n && l > off; k++) {
        const struct fc_member *b = &m[r[k].i];
        const unsigned char *t = fc_name(fc, b);
        size_t i = off, lim = b->klen < l ? b->klen : l;
        for (; i + 8 <= lim; i += 8) {
            uint64_t u, v;
            memcpy(&u, s + i, 8);
            memcpy(&v, t + i, 8);
            if (u != v)
                break;
        }
        while (i < lim && s[i] == t[i])
            i++;
        l = i;
    }
    return l;
}

/* LSD radix sort of r[0..n) by key, through tmp[0..n). */
static void fc_rsort(struct fc_rkey *r, struct fc_rkey *tmp, size_t n)
{
    size_t cnt[8][256], k;
    struct fc_rkey *src = r, *dst = tmp, *t;
    int d;
    memset(cnt, 0, sizeof cnt);
    for (k = 0; k < n; k++)
        for (d = 0; d < 8; d++)
            cnt[d][(r[k].key >> (8 * d)) & 0xFF]++;
    for (d = 0; d < 8; d++) {
        size_t sum = 0, b;
        if (cnt[d][(r[0].key >> (8 * d)) & 0xFF] == n)
            continue; /* every key has this byte */
        for (b = 0; b < 256; b++) {
            size_t c = cnt[d][b];
            cnt[d][b] = sum;
            sum += c;
        }
        for (k = 0; k < n; k++)
            dst[cnt[d][(src[k].key >> (8 * d)) & 0xFF]++] = src[k];
        t = src;
        src = dst;
        dst = t;
    }
    if (src != r)
        memcpy(r, src, n * sizeof *r);
}

/* Insertion sort of r[0..n) by name; 1 if two names are equal. */
static int fc_rinsert(const cs_fc *fc, const struct fc_member *m,
                      struct fc_rkey *r, size_t n)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        struct fc_rkey t = r[i];
        int c = 1;
        for (j = i; j > 0 && (c = fc_memcmp(fc, &m[r[j - 1].i], &m[t.i])) > 0;
             j--)
            r[j] = r[j - 1];
        if (c == 0)
            return 1;
        r[j] = t;
    }
    return 0;
}

/* Merge sort of r[0..n) by name, through tmp[0..n); 1 if two names are
 * equal. */
static int fc_rmerge(const cs_fc *fc, const struct fc_member *m,
                     struct fc_rkey *r, struct fc_rkey *tmp, size_t n)
{
    struct fc_rkey *src = r, *dst = tmp, *t;
    size_t w, i;
    for (w = 1; w < n; w *= 2) {
        for (i = 0; i < n; i += 2 * w) {
            size_t a = i, am = i + w < n ? i + w : n;
            size_t b = am, bm = i + 2 * w < n ? i + 2 * w : n, k = i;
            while (a < am && b < bm) {
                int c = fc_memcmp(fc, &m[src[a].i], &m[src[b].i]);
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
    if (src != r)
        memcpy(r, src, n * sizeof *r);
    return 0;
}

/* A group still to sort: r[start, start+n), names sharing off bytes. */
struct fc_rgroup {
    size_t start, n, off;
};

/* Sorts m[0..n) (n >= FC_RADIX_MIN); 1 if two names are equal, -1 when out
 * of memory. */
static int fc_radix(cs_fc *fc, struct fc_member *m, size_t n)
{
    struct fc_rkey *r, *tmp;
    struct fc_rgroup *work;
    struct fc_member *out;
    size_t nwork = 1, k;
    /* the keys and the work list (at most one group per member) in rkb;
     * the keys' second array in tmpb, which then takes the sorted members
     * (fewer bytes kept per member: a parser keeps its buffers) */
    size_t unit = sizeof *r + sizeof *work;
    r = cs_buf_array(&fc->rkb, n, unit);
    out = cs_buf_array(&fc->tmpb, n, sizeof *out);
    if (!r || !out)
        return -1;
    tmp = (struct fc_rkey *)(void *)out; /* sizeof *out >= sizeof *tmp */
    work = (struct fc_rgroup *)(void *)(r + n);
    for (k = 0; k < n; k++)
        r[k].i = k;
    work[0].start = 0;
    work[0].n = n;
    work[0].off = 0;
    while (nwork) {
        struct fc_rgroup g = work[--nwork];
        struct fc_rkey *gr = r + g.start;
        size_t off, a, b;
        if (g.n <= FC_RADIX_SMALL) {
            if (fc_rinsert(fc, m, gr, g.n))
                return 1;
            continue;
        }
        off = fc_rprefix(fc, m, gr, g.n, g.off);
        for (k = 0; k < g.n; k++) {
            const struct fc_member *x = &m[gr[k].i];
            gr[k].key = fc_rkey_at(fc_name(fc, x), x->klen, off);
        }
        fc_rsort(gr, tmp, g.n);
        for (a = 0; a < g.n; a = b) {
            for (b = a + 1; b < g.n && gr[b].key == gr[a].key; b++)
                ;
            if (b - a < 2)
                continue;
            if (!(gr[a].key & 0xFF))
                return 1; /* the names ended, all equal */
            if (b - a > FC_RADIX_SMALL && b - a + FC_RADIX_SMALL > g.n) {
                /* the pass told only a few names from the rest: names
                 * that are ever longer repetitions would take one pass per
                 * name; compares cost no more than they ever did */
                if (fc_rmerge(fc, m, gr + a, tmp, b - a))
                    return 1;
                continue;
            }
            work[nwork].start = g.start + a;
            work[nwork].n = b - a;
            work[nwork].off = off + 8;
            nwork++;
        }
    }
    for (k = 0; k < n; k++)
        out[k] = m[r[k].i];
    memcpy(m, out, n * sizeof *m);
    return 0;
}

/* ------------------------------------------------------------ sorting -- */

/* Sorts m[0..n); returns 1 if two names are equal, -1 when out of memory. */
static int fc_sort(cs_fc *fc, struct fc_member *m, size_t n)
{
    size_t i, j, w;
    struct fc_member *tmp;
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
    if (n >= FC_RADIX_MIN)
        return fc_radix(fc, m, n);
    tmp = cs_buf_array(&fc->tmpb, n, sizeof *tmp);
    if (!tmp)
        return -1;
    /* bottom-up merge sort, ping-ponging between m and tmp */
    {
        struct fc_member *src = m, *dst = tmp, *t;
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
 * Two members in the wrong order (names known to differ): the shorter goes
 * through a buffer on the stack, the other moves once.  Every chat message
 * comes as {"role":..,"content":..}, so this is the reordering most often
 * done; the general path below costs a sort call, a scratch buffer and
 * three loops for it.  0 (nothing done) when both are longer than the
 * buffer.
 */
static int fc_swap2(cs_fc *fc, const struct fc_frame *f, struct fc_member *m)
{
    char tmp[256];
    char *base = fc->out.p + f->start + 1; /* m[0] starts here */
    size_t la = m[0].end - m[0].start, lb = m[1].end - m[1].start;
    struct fc_member t;
    if (la <= sizeof tmp) {
        memcpy(tmp, base, la);
        memmove(base, base + la + 1, lb);
        base[lb] = ',';
        memcpy(base + lb + 1, tmp, la);
    } else if (lb <= sizeof tmp) {
        memcpy(tmp, base + la + 1, lb);
        memmove(base + lb + 1, base, la);
        base[lb] = ',';
        memcpy(base, tmp, lb);
    } else {
        return 0;
    }
    t = m[0];
    m[0] = m[1];
    m[1] = t;
    /* where the members now are (used for top-level members) */
    m[0].start = f->start + 1;
    m[0].end = m[0].start + lb;
    m[1].start = m[0].end + 1;
    m[1].end = m[1].start + la;
    if (!m[0].kesc)
        m[0].koff = m[0].start + 1;
    if (!m[1].kesc)
        m[1].koff = m[1].start + 1;
    return 1;
}

/*
 * Closes the object of frame f: sorts its members, rejects duplicates, and
 * rewrites [start+1, olen) in sorted order followed by '}'.
 */
chatseal_error cs_fc_close_object(cs_fc *fc, struct fc_frame *f)
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
        if (c > 0) {
            sorted = 0; /* the sort finds any duplicate */
            break;
        }
    }
    if (!sorted && n == 2 && fc_swap2(fc, f, m)) {
        /* done: the common message, "role" written before "content" */
    } else if (!sorted) {
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
        fc->scratch.n = 0;
        fc->scratch.oom = 0;
        if (cs_buf_reserve(&fc->scratch, total))
            return CHATSEAL_E_NO_MEMORY;
        sc = 0;
        for (i = 0; i < n; i++) {
            if (i == big)
                continue;
            memcpy(fc->scratch.p + sc, fc->out.p + m[i].start,
                   m[i].end - m[i].start);
            sc += m[i].end - m[i].start;
        }
        pos = f->start + 1;
        for (i = 0; i < big; i++)
            pos += m[i].end - m[i].start + 1;
        memmove(fc->out.p + pos, fc->out.p + m[big].start,
                m[big].end - m[big].start);
        pos = f->start + 1;
        sc = 0;
        for (i = 0; i < n; i++) {
            size_t len = m[i].end - m[i].start;
            if (i != big) {
                memcpy(fc->out.p + pos, fc->scratch.p + sc, len);
                sc += len;
            }
            /* where the member now is (used for top-level members) */
            m[i].start = pos;
            m[i].end = pos + len;
            if (!m[i].kesc)
                m[i].koff = pos + 1;
            pos += len;
            if (i + 1 < n)
                fc->out.p[pos++] = ',';
        }
        fc->out.n = pos;
    }
    o = fc_reserve(fc, fc->out.p + fc->out.n, 1);
    if (!o)
        return CHATSEAL_E_NO_MEMORY;
    *o = '}';
    fc->out.n++;
    return CHATSEAL_OK;
}

/* After an error: a duplicate name read before it, in any open object, is
 * the earlier error. */
int cs_fc_open_duplicates(cs_fc *fc)
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
