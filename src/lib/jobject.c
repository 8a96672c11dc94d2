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
 * whose "content" is 100 KB costs one memmove, not two copies.
 *
 * The sort is an insertion sort up to 16 members and a bottom-up merge sort
 * above (O(n log n) compares in the worst case, stable, no recursion): an
 * object of thousands of members with long shared name prefixes costs its
 * compares, so names are compared a word at a time.  Equal names are the
 * duplicate_key error, found while sorting.
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

/* Sorts m[0..n); returns 1 if two names are equal. */
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
