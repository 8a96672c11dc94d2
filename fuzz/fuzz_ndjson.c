/*
 * fuzz_ndjson.c -- the path of an Ollama streamed reply through the gateway:
 * the NDJSON line splitter (src/gateway/upstream/ndjson.c) and the Ollama
 * adapter's stream assembly (src/gateway/api/ollama_stream.c), under
 * libFuzzer.
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
 *     cs_ndjson_finish every byte was handed over;
 *   - every line goes to the adapter (as chat.c does) and its verdicts,
 *     the assembled message and the rewritten done line are the same
 *     whatever the cuts; a FINISH, FAIL or UPSTREAM verdict stops the
 *     reading; the done line with the chatseal member added is one JSON
 *     object that has it.
 *
 * Input: bytes 0-2 pick the cuts, byte 3 the line limit; the rest is the
 * stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "api/ollama_int.h"
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
    void *st;      /* the adapter's stream state */
    char *message; /* the assembled message (sorted JSON text) */
    char *close;   /* the done line rewritten, when it finished */
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
    char why[200];
    cs_ev ev =
        cs_api_ollama.stream_event(r->st, NULL, line, len, why, sizeof why);
    put(r->md, &ev, sizeof ev);
    return ev == CS_EV_FINISH || ev == CS_EV_FAIL || ev == CS_EV_UPSTREAM;
}

/* The assembly's result, and the done line with a member added. */
static void assembled(struct reading *r)
{
    json_t *m = cs_api_ollama.stream_messages(r->st);
    r->message = m ? json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(m);
    if (!r->message)
        abort();
    static const char member[] = "{\"t\":1}";
    size_t n = 0;
    r->close = cs_api_ollama.stream_close(r->st, member, sizeof member - 1, &n);
    if (!r->close)
        return; /* no done line */
    json_t *j =
        json_loadb(r->close, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    if (!json_is_object(j) || !json_object_get(j, "chatseal") ||
        r->close[n - 1] != '\n')
        abort();
    json_decref(j);
}

/* Feeds the stream in pieces: cut[k % ncut] bytes each (0: whole). */
static void read_stream(struct reading *r, const uint8_t *s, size_t len,
                        size_t max, const size_t *cut, size_t ncut)
{
    memset(r, 0, sizeof *r);
    r->in = s;
    r->md = EVP_MD_CTX_new();
    cs_adapter_ctx ctx = {NULL, 4096};
    r->st = cs_api_ollama.stream_new(&ctx);
    cs_ndjson p;
    if (!r->md || !r->st || cs_ndjson_init(&p, max) != 0 ||
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
    assembled(r);
    cs_api_ollama.stream_free(r->st);
    unsigned int dl = 0;
    if (!EVP_DigestFinal_ex(r->md, r->digest, &dl))
        abort();
    EVP_MD_CTX_free(r->md);
}

static void release(struct reading *r)
{
    free(r->message);
    free(r->close);
}

static void compare(const struct reading *a, const struct reading *b)
{
    if (a->rc != b->rc || a->nlines != b->nlines || a->off != b->off ||
        memcmp(a->digest, b->digest, sizeof a->digest) ||
        strcmp(a->message, b->message) || !a->close != !b->close ||
        (a->close && strcmp(a->close, b->close)))
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
    release(&cut);
    read_stream(&cut, s, len, max, varying, 3);
    compare(&whole, &cut);
    release(&cut);
    release(&whole);
    return 0;
}
