/*
 * fuzz_sse.c -- the path a model's stream takes through the gateway: the
 * SSE splitter (src/gateway/upstream/sse.c) and the reply assembly
 * (src/gateway/api/assemble.c), under libFuzzer.
 *
 * The stream comes from the model server, so it is untrusted, and it
 * arrives in whatever pieces the network makes.  Besides "no crash, no
 * leak, no hang" this checks:
 *
 *   - the pieces do not matter: the stream is fed whole, then cut where the
 *     first bytes say (fixed sizes, and sizes varying piece by piece), and
 *     every reading must give the same events (raw bytes, name, data), the
 *     same outcome, the same bytes left pending, and the same assembled
 *     message;
 *   - what is passed on is exactly what came in: the raw bytes of the events
 *     follow each other through the input with no gap and no overlap, and
 *     each event's data is NUL-terminated at its length.
 *
 * Each event with data is handled as chat.c does: "[DONE]" ends the
 * stream, any other data is read with jansson (chat.c's flags) and must be
 * an object that cs_assembly_add takes; the first that is not ends the
 * stream too.
 *
 * Input: bytes 0-2 pick the cuts; the rest is the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "api/assemble.h"
#include "upstream/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reading {
    const uint8_t *in; /* the stream, to check the raw bytes against */
    size_t off;        /* raw bytes handed over so far */
    size_t nevents;
    EVP_MD_CTX *md; /* digest of every event (raw, name, data) in order */
    cs_assembly *as;
    int stopped; /* 1 [DONE], 2 refused by the assembly */
    int rc;      /* last cs_sse_feed result */
    size_t pending;
    unsigned char digest[32];
    char *message;
    int finished;
};

static void put(EVP_MD_CTX *md, const void *p, size_t n)
{
    uint64_t len = n;
    if (!EVP_DigestUpdate(md, &len, sizeof len) || !EVP_DigestUpdate(md, p, n))
        abort();
}

static int on_event(void *ctx, const char *raw, size_t rawlen,
                    const char *event, const char *d, size_t dlen, int has_data)
{
    struct reading *r = ctx;
    if (memcmp(raw, r->in + r->off, rawlen) != 0 || d[dlen] != '\0')
        abort();
    r->off += rawlen;
    r->nevents++;
    /* raw bytes are checked against the input above; where one event's
     * bytes end may move by the LF of a split CRLF (see test_sse.c) */
    put(r->md, event, strlen(event));
    put(r->md, d, dlen);
    put(r->md, &has_data, sizeof has_data);
    if (!has_data)
        return 0;
    if (dlen == 6 && !memcmp(d, "[DONE]", 6)) {
        r->stopped = 1;
        return 1;
    }
    json_t *j = json_loadb(d, dlen,
                           JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
                               JSON_DECODE_INT_AS_REAL,
                           NULL);
    /* chat.c ends the stream at data that is not an object, too */
    int bad = json_is_object(j) ? cs_assembly_add(r->as, j) : 1;
    json_decref(j);
    if (bad) {
        r->stopped = 2;
        return 1;
    }
    return 0;
}

/* Feeds the stream in pieces: cut[k % ncut] bytes each (0: whole). */
static void read_stream(struct reading *r, const uint8_t *s, size_t len,
                        const size_t *cut, size_t ncut)
{
    memset(r, 0, sizeof *r);
    r->in = s;
    r->md = EVP_MD_CTX_new();
    r->as = cs_assembly_new(1 << 20);
    cs_sse p;
    if (!r->md || !r->as || cs_sse_init(&p, 1 << 20) != 0 ||
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
        r->rc = cs_sse_feed(&p, piece, n, on_event, r);
        free(piece);
        off += n;
    }
    r->pending = cs_sse_pending(&p);
    /* with no stop, every byte is either handed over or still pending, but
     * the bytes that would lead an event that never comes: a byte order
     * mark at the start, or the LF of a CRLF split at the very end (up to
     * three bytes, which sse.c does not count as pending: see there) */
    if (r->rc == 0 &&
        (r->off + r->pending > len || r->off + r->pending + 3 < len))
        abort();
    cs_sse_free(&p);
    unsigned int dl = 0;
    if (!EVP_DigestFinal_ex(r->md, r->digest, &dl))
        abort();
    EVP_MD_CTX_free(r->md);
    r->message = cs_assembly_message(r->as);
    r->finished = cs_assembly_finished(r->as);
    cs_assembly_free(r->as);
}

static void compare(const struct reading *a, const struct reading *b)
{
    if (a->rc != b->rc || a->stopped != b->stopped ||
        a->nevents != b->nevents ||
        /* the LF of a split CRLF may be handed over with the next event */
        a->off + 1 < b->off || b->off + 1 < a->off ||
        memcmp(a->digest, b->digest, sizeof a->digest) ||
        a->finished != b->finished || (!a->message != !b->message) ||
        (a->message && strcmp(a->message, b->message)))
        abort();
    /* when both read to the end, every byte is handed over or pending */
    size_t ta = a->off + a->pending, tb = b->off + b->pending;
    if (a->rc == 0 && (ta + 3 < tb || tb + 3 < ta))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const uint8_t *s = data + 3;
    size_t len = size - 3;
    size_t fixed[1] = {(size_t)data[0] % 16 + 1};
    size_t varying[3] = {(size_t)data[1] % 64 + 1, 1, (size_t)data[2] + 1};

    struct reading whole, cut;
    read_stream(&whole, s, len, NULL, 0);
    read_stream(&cut, s, len, fixed, 1);
    compare(&whole, &cut);
    free(cut.message);
    read_stream(&cut, s, len, varying, 3);
    compare(&whole, &cut);
    free(cut.message);
    free(whole.message);
    return 0;
}
