/*
 * ndjson.c -- the NDJSON line reader (ndjson.h).
 *
 * Bytes are appended to one buffer; each LF ends a line, which is handed
 * out whole (raw, to pass on unchanged, and without its line end, to parse).
 * A line longer than the limit stops the stream: a reply line is one JSON
 * object, bounded like an SSE event.  Frames may split a line or a UTF-8
 * character anywhere: nothing is read before its LF arrives.
 */
#include "upstream/ndjson.h"

#include <string.h>

#include <event2/buffer.h>

int cs_ndjson_init(cs_ndjson *p, size_t max_line)
{
    p->max = max_line;
    p->buf = evbuffer_new();
    return p->buf ? 0 : -1;
}

void cs_ndjson_free(cs_ndjson *p)
{
    if (p->buf)
        evbuffer_free(p->buf);
    p->buf = NULL;
}

size_t cs_ndjson_pending(const cs_ndjson *p)
{
    return p->buf ? evbuffer_get_length(p->buf) : 0;
}

int cs_ndjson_feed(cs_ndjson *p, const char *bytes, size_t n, cs_ndjson_fn fn,
                   void *ctx)
{
    while (n) {
        const char *lf = memchr(bytes, '\n', n);
        size_t take = lf ? (size_t)(lf - bytes) + 1 : n;
        if (evbuffer_get_length(p->buf) + take > p->max + 2)
            return -1;
        if (evbuffer_add(p->buf, bytes, take) != 0)
            return -1;
        bytes += take;
        n -= take;
        if (!lf)
            break;
        size_t len = evbuffer_get_length(p->buf);
        char *raw = (char *)evbuffer_pullup(p->buf, (ssize_t)len);
        if (!raw)
            return -1;
        size_t l = len - 1;
        if (l && raw[l - 1] == '\r')
            l--;
        int stop = l ? fn(ctx, raw, len, raw, l) : 0;
        evbuffer_drain(p->buf, len);
        if (stop)
            return -1;
    }
    return 0;
}
