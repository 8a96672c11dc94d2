/*
 * ndjson.c -- an incremental NDJSON line splitter (application/x-ndjson,
 * the stream format of Ollama's /api/chat).
 *
 * Like sse.c for event streams: the gateway passes a model's stream through
 * line by line, so it must see each line whole (to assemble the reply it
 * signs, and to hold back the `"done": true` line until the token is on it)
 * without waiting for the stream to end.  A line ends at LF; a CR right
 * before the LF is not part of the line (CRLF tolerated, as the NDJSON spec
 * asks); a CR anywhere else is an ordinary byte (JSON whitespace, or a
 * refusal of the JSON reader).  Each line's raw bytes are handed over
 * unchanged, so what the client gets is byte for byte what the upstream
 * sent; the line itself is copied once to be NUL-terminated, the contract
 * stream_event has for SSE data too.
 *
 * Lines are bounded: a line longer than `max` is refused as soon as its
 * bytes exceed the bound, before its LF arrives, so a stream without
 * newlines cannot grow the buffer.  The search for the LF resumes where the
 * last one stopped (`scan`), so a long line arriving in small pieces costs
 * linear time, not quadratic.
 */
#include "upstream/ndjson.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

int cs_ndjson_init(cs_ndjson *p, size_t max_line)
{
    memset(p, 0, sizeof *p);
    p->max = max_line;
    p->buf = evbuffer_new();
    return p->buf ? 0 : -1;
}

void cs_ndjson_free(cs_ndjson *p)
{
    if (p->buf)
        evbuffer_free(p->buf);
    free(p->line);
    memset(p, 0, sizeof *p);
}

size_t cs_ndjson_pending(const cs_ndjson *p)
{
    return p->buf ? evbuffer_get_length(p->buf) : 0;
}

/* The first rawlen bytes of buf are one line (with its LF when lf): copy
 * the line out NUL-terminated, hand it over, drop the bytes.  Returns fn's
 * answer (non-zero: stop), or -1. */
static int emit(cs_ndjson *p, size_t rawlen, int lf, cs_ndjson_fn fn, void *ctx)
{
    const char *raw = (const char *)evbuffer_pullup(p->buf, (ev_ssize_t)rawlen);
    if (!raw)
        return -1;
    size_t n = rawlen - (lf ? 1 : 0);
    if (lf && n && raw[n - 1] == '\r')
        n--; /* CRLF */
    if (n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < n + 1)
            cap *= 2;
        char *l = realloc(p->line, cap);
        if (!l)
            return -1;
        p->line = l;
        p->cap = cap;
    }
    memcpy(p->line, raw, n);
    p->line[n] = '\0';
    int stop = fn(ctx, raw, rawlen, p->line, n);
    evbuffer_drain(p->buf, rawlen);
    p->scan = 0;
    return stop;
}

int cs_ndjson_feed(cs_ndjson *p, const char *bytes, size_t n, cs_ndjson_fn fn,
                   void *ctx)
{
    if (n && evbuffer_add(p->buf, bytes, n) != 0)
        return -1;
    for (;;) {
        size_t len = evbuffer_get_length(p->buf);
        if (p->scan >= len)
            break;
        struct evbuffer_ptr at;
        if (evbuffer_ptr_set(p->buf, &at, p->scan, EVBUFFER_PTR_SET) != 0)
            return -1;
        struct evbuffer_ptr lf = evbuffer_search(p->buf, "\n", 1, &at);
        if (lf.pos < 0) {
            p->scan = len; /* no LF in what came so far */
            break;
        }
        size_t rawlen = (size_t)lf.pos + 1;
        if (rawlen > p->max)
            return -1; /* over the limit even if it arrived in one piece */
        if (emit(p, rawlen, 1, fn, ctx) != 0)
            return -1;
    }
    return evbuffer_get_length(p->buf) > p->max ? -1 : 0;
}

int cs_ndjson_finish(cs_ndjson *p, cs_ndjson_fn fn, void *ctx)
{
    size_t len = cs_ndjson_pending(p);
    if (len == 0)
        return 0;
    if (len > p->max)
        return -1;
    return emit(p, len, 0, fn, ctx) != 0 ? -1 : 0;
}
