/*
 * fuzz_ndjson.c -- the NDJSON line splitter (src/gateway/upstream/ndjson.c)
 * that reads Ollama's streamed replies, under libFuzzer.
 *
 * The stream comes from the model server, so it is untrusted, and it
 * arrives in whatever pieces the network makes.  Besides "no crash, no
 * leak, no hang" this checks:
 *
 *   - the pieces do not matter: the stream is fed whole, then cut where the
 *     first bytes say (fixed sizes, and sizes varying piece by piece), and
 *     every reading must give the same lines (raw bytes and text), the same
 *     outcome and the same bytes left pending;
 *   - what is passed on is exactly what came in: the raw bytes of the lines
 *     follow each other through the input with no gap and no overlap, each
 *     raw line but the finished last one ends in its only LF, the text is the
 *     raw bytes less the LF and one CR before it, NUL-terminated; after
 *     cs_ndjson_finish every byte was handed over.
 *
 * Input: bytes 0-2 pick the cuts, byte 3 the line limit; the rest is the
 * stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "upstream/ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reading {
    const uint8_t *in; /* the stream, to check the raw bytes against */
    size_t off;        /* raw bytes handed over so far */
    size_t nlines;
    int finishing;  /* the next line is the unfinished last one */
    EVP_MD_CTX *md; /* digest of every line (raw, text) in order */
    int rc;         /* last cs_ndjson_feed result, then finish's */
    size_t pending;
    unsigned char digest[32];
};

static void put(EVP_MD_CTX *md, const void *p, size_t n)
{
    uint64_t len = n;
    if (!EVP_DigestUpdate(md, &len, sizeof len) || !EVP_DigestUpdate(md, p, n))
        abort();
}

static int on_line(void *ctx, const char *raw, size_t rawlen, const char *line,
                   size_t len)
{
    struct reading *r = ctx;
    if (memcmp(raw, r->in + r->off, rawlen) != 0 || line[len] != '\0')
        abort();
    /* the LF ends the line and is its only LF; finish's line has none */
    const char *lf = memchr(raw, '\n', rawlen);
    if (r->finishing ? lf != NULL : lf != raw + rawlen - 1)
        abort();
    size_t want = rawlen - (r->finishing ? 0 : 1);
    if (!r->finishing && want && raw[want - 1] == '\r')
        want--;
    if (len != want || memcmp(line, raw, len) != 0)
        abort();
    r->off += rawlen;
    r->nlines++;
    put(r->md, raw, rawlen);
    put(r->md, line, len);
    /* a line starting with '!' stops the reading, as a refused line does */
    return len && line[0] == '!';
}

/* Feeds the stream in pieces: cut[k % ncut] bytes each (0: whole). */
static void read_stream(struct reading *r, const uint8_t *s, size_t len,
                        size_t max, const size_t *cut, size_t ncut)
{
    memset(r, 0, sizeof *r);
    r->in = s;
    r->md = EVP_MD_CTX_new();
    cs_ndjson p;
    if (!r->md || cs_ndjson_init(&p, max) != 0 ||
        !EVP_DigestInit_ex(r->md, EVP_sha256(), NULL))
        abort();
    size_t off = 0;
    for (size_t k = 0; off < len && r->rc == 0; k++) {
        size_t n = ncut ? cut[k % ncut] : len;
        if (n > len - off)
            n = len - off;
        /* a block of exactly n bytes, as a socket read would give */
        char *piece = malloc(n);
        if (!piece)
            abort();
        memcpy(piece, s + off, n);
        r->rc = cs_ndjson_feed(&p, piece, n, on_line, r);
        free(piece);
        off += n;
    }
    r->pending = cs_ndjson_pending(&p);
    /* with no stop, every byte is either handed over or pending */
    if (r->rc == 0 && r->off + r->pending != len)
        abort();
    if (r->rc == 0) {
        r->finishing = 1;
        r->rc = cs_ndjson_finish(&p, on_line, r);
        if (cs_ndjson_pending(&p) != 0 || (r->rc == 0 && r->off != len))
            abort();
    }
    cs_ndjson_free(&p);
    unsigned int dl = 0;
    if (!EVP_DigestFinal_ex(r->md, r->digest, &dl))
        abort();
    EVP_MD_CTX_free(r->md);
}

static void compare(const struct reading *a, const struct reading *b)
{
    if (a->rc != b->rc || a->nlines != b->nlines || a->off != b->off ||
        memcmp(a->digest, b->digest, sizeof a->digest))
        abort();
    if (a->rc == 0 && a->pending != b->pending)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    const uint8_t *s = data + 4;
    size_t len = size - 4;
    size_t max = (size_t)data[3] * 4 + 1;
    size_t fixed[1] = {(size_t)data[0] % 16 + 1};
    size_t varying[3] = {(size_t)data[1] % 64 + 1, 1, (size_t)data[2] + 1};

    struct reading whole, cut;
    read_stream(&whole, s, len, max, NULL, 0);
    read_stream(&cut, s, len, max, fixed, 1);
    compare(&whole, &cut);
    read_stream(&cut, s, len, max, varying, 3);
    compare(&whole, &cut);
    return 0;
}
