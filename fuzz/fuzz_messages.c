/*
 * fuzz_messages.c -- the Anthropic Messages adapter (src/gateway/api/
 * messages*.c) under libFuzzer: client bodies, replies and streams are all
 * untrusted.
 *
 * Byte 0 picks what the rest is:
 *   even: an upstream SSE stream, read through the SSE splitter into the
 *         adapter's stream assembly whole and cut in pieces (bytes 1-2 pick
 *         the sizes); every reading must give the same verdicts and the same
 *         assembled message (the network's cuts, multi-byte characters split
 *         included, must not matter); the closing and error bytes are built
 *         for every finished stream;
 *   odd:  a JSON text used both as a client body (read_request, then
 *         write_request with the first messages taken as signed, byte 1) and
 *         as a non-streamed reply.  For a reply the adapter takes, the
 *         fidelity property must hold: its signed message, written as the
 *         `output` an app appends to its history and read back as a client
 *         message, is the same internal message (canonical text equal).
 * Besides: no crash, no leak, no hang (ASan/UBSan in build-fuzz).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/adapter.h"
#include "upstream/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const cs_adapter *A = &cs_api_messages;

/* Canonical text of v (NULL if it has none). */
static char *canon(json_t *v)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *c = NULL;
    size_t n = 0;
    if (t && chatseal_canonicalize(t, strlen(t), 0, &c, &n) != CHATSEAL_OK)
        c = NULL;
    free(t);
    return c;
}

struct reading {
    void *st;
    char verdicts[4096];
    size_t n;
    int stop;
    char *message;
};

static int on_event(void *ctx, const char *raw, size_t rawlen,
                    const char *event, const char *d, size_t dlen, int has_data)
{
    (void)raw;
    (void)rawlen;
    struct reading *r = ctx;
    if (!has_data)
        return 0;
    char why[200];
    cs_ev v = A->stream_event(r->st, event, d, dlen, why, sizeof why);
    if (r->n < sizeof r->verdicts)
        r->verdicts[r->n++] = (char)('0' + v);
    if (v == CS_EV_FAIL || v == CS_EV_UPSTREAM || v == CS_EV_FINISH) {
        r->stop = (int)v + 1;
        return 1;
    }
    return 0;
}

static void read_stream(struct reading *r, const uint8_t *s, size_t len,
                        const size_t *cut, size_t ncut)
{
    memset(r, 0, sizeof *r);
    cs_adapter_ctx ctx = {NULL, 1 << 16};
    cs_sse p;
    r->st = A->stream_new(&ctx);
    if (!r->st || cs_sse_init(&p, 1 << 20) != 0)
        abort();
    size_t off = 0;
    int rc = 0;
    for (size_t k = 0; off < len && rc == 0; k++) {
        size_t n = ncut ? cut[k % ncut] : len;
        if (n > len - off)
            n = len - off;
        char *piece = malloc(n);
        if (!piece)
            abort();
        memcpy(piece, s + off, n);
        rc = cs_sse_feed(&p, piece, n, on_event, r);
        free(piece);
        off += n;
    }
    cs_sse_free(&p);
    if (r->stop == CS_EV_FINISH + 1) {
        json_t *m = A->stream_messages(r->st);
        r->message = canon(m);
        json_decref(m);
        size_t n = 0;
        char *close = A->stream_close(r->st, "{}", 2, &n);
        if (!close || n < 2 || memcmp(close + n - 2, "\n\n", 2) != 0)
            abort();
        free(close);
    } else if (r->stop == 0) {
        (void)A->stream_complete(r->st);
    }
    size_t n = 0;
    free(A->stream_error(r->st, CHATSEAL_E_UPSTREAM_ERROR, "x", &n));
    A->stream_free(r->st);
}

static void streams(const uint8_t *data, size_t size)
{
    const uint8_t *s = data + 3;
    size_t len = size - 3;
    size_t fixed[1] = {(size_t)data[1] % 16 + 1};
    size_t varying[3] = {(size_t)data[2] % 64 + 1, 1, (size_t)data[1] + 1};
    struct reading whole, cut;
    read_stream(&whole, s, len, NULL, 0);
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            read_stream(&cut, s, len, fixed, 1);
        else
            read_stream(&cut, s, len, varying, 3);
        if (cut.n != whole.n || memcmp(cut.verdicts, whole.verdicts, cut.n) ||
            cut.stop != whole.stop || !cut.message != !whole.message ||
            (cut.message && strcmp(cut.message, whole.message) != 0))
            abort();
        free(cut.message);
    }
    free(whole.message);
}

/* A reply's message, written as output and read back, is itself. */
static void reply_round_trip(json_t *j)
{
    json_t *msgs = NULL;
    char why[300];
    if (A->reply_messages(j, &msgs, why, sizeof why) != 0) {
        json_decref(msgs);
        return;
    }
    json_t *out = A->output(msgs);
    if (!json_is_object(out))
        abort(); /* every message the adapter reads, it can write */
    json_t *body = json_pack("{s:[O]}", "messages", out);
    json_t *in = NULL;
    if (!body || A->read_request(body, &in, why, sizeof why) != CHATSEAL_OK)
        abort();
    char *a = canon(msgs), *b = canon(json_object_get(in, "messages"));
    if (!a || !b || strcmp(a, b) != 0)
        abort();
    free(a);
    free(b);
    json_decref(in);
    json_decref(body);
    json_decref(out);
    json_decref(msgs);
}

static void bodies(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data + 3, size - 3,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL |
                               JSON_ALLOW_NUL,
                           NULL);
    if (!j)
        return;
    json_t *in = NULL;
    char why[300];
    if (A->read_request(j, &in, why, sizeof why) == CHATSEAL_OK) {
        json_t *up = NULL;
        cs_adapter_ctx ctx = {NULL, 1 << 20};
        size_t n = json_array_size(json_object_get(in, "messages"));
        size_t signed_n = n ? data[1] % (n + 1) : 0;
        if (A->write_request(in, signed_n, &ctx, &up, why, sizeof why) ==
                CHATSEAL_OK &&
            !json_is_object(up))
            abort();
        json_decref(up);
        json_decref(in);
    } else if (in) {
        abort(); /* a refusal hands out nothing */
    }
    reply_round_trip(j);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    if (data[0] % 2 == 0)
        streams(data, size);
    else
        bodies(data, size);
    return 0;
}
