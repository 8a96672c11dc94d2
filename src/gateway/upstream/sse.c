/*
 * sse.c -- an incremental Server-Sent Events splitter (WHATWG HTML, 9.2.6).
 *
 * The gateway passes a model's stream through event by event: it must see
 * each event whole (to assemble the reply it will sign, and to hold back
 * `data: [DONE]` until the token is out) but must not wait for the stream to
 * end.  Lines end in CRLF, LF or CR.  A CR ends its line at once (a stream
 * whose lines end in CR alone must complete its last event without waiting
 * for a byte that never comes); an LF right after it, even in the next
 * bytes, is the rest of that CRLF and is skipped.  A byte order mark at the
 * very start of the stream is not part of the first field name (the spec
 * strips it, and so does every conforming client).  An event ends at an
 * empty line.
 * Each event's raw bytes are handed over unchanged, so what the client gets is
 * byte for byte what the upstream sent.  Events are bounded in size.
 */
#include "upstream/sse.h"

#include <string.h>

#include <event2/buffer.h>

int cs_sse_init(cs_sse *p, size_t max_event)
{
    memset(p, 0, sizeof *p);
    p->max = max_event;
    p->buf = evbuffer_new();
    p->data = evbuffer_new();
    return p->buf && p->data ? 0 : -1;
}

void cs_sse_free(cs_sse *p)
{
    if (p->buf)
        evbuffer_free(p->buf);
    if (p->data)
        evbuffer_free(p->data);
    memset(p, 0, sizeof *p);
}

size_t cs_sse_pending(const cs_sse *p)
{
    return p->buf ? evbuffer_get_length(p->buf) - p->lead : 0;
}

static int field(cs_sse *p, const char *l, size_t n)
{
    if (n == 0 || l[0] == ':')
        return 0; /* comment */
    const char *colon = memchr(l, ':', n);
    size_t fl = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vl = (size_t)(l + n - v);
    if (vl && v[0] == ' ') {
        v++;
        vl--;
    }
    if (fl == 4 && !memcmp(l, "data", 4)) {
        if ((p->has_data && evbuffer_add(p->data, "\n", 1) != 0) ||
            evbuffer_add(p->data, v, vl) != 0)
            return -1;
        p->has_data = 1;
    } else if (fl == 5 && !memcmp(l, "event", 5)) {
        size_t k = vl < sizeof p->event - 1 ? vl : sizeof p->event - 1;
        memcpy(p->event, v, k);
        p->event[k] = '\0';
    }
    return 0;
}

/* The event that ends at offset `next` of buf is complete: hand it over and
 * start the next one.  Returns fn's answer (non-zero: stop), or -1. */
static int emit(cs_sse *p, const char *buf, size_t next, cs_sse_fn fn,
                void *ctx)
{
    if (next > p->max)
        return -1; /* over the limit even if it arrived in one piece */
    size_t dlen = evbuffer_get_length(p->data);
    /* NUL-terminated for the callback; the NUL is not counted */
    if (evbuffer_add(p->data, "", 1) != 0)
        return -1;
    const char *data = (const char *)evbuffer_pullup(p->data, -1);
    if (!data)
        return -1;
    int stop = fn(ctx, buf, next, p->event, data, dlen, p->has_data);
    evbuffer_drain(p->data, dlen + 1);
    evbuffer_drain(p->buf, next);
    p->scan = 0;
    p->lead = 0;
    p->has_data = 0;
    p->event[0] = '\0';
    return stop;
}

int cs_sse_feed(cs_sse *p, const char *bytes, size_t n, cs_sse_fn fn, void *ctx)
{
    if (evbuffer_add(p->buf, bytes, n) != 0)
        return -1;
    for (;;) {
        size_t len = evbuffer_get_length(p->buf);
        /* one contiguous block: a no-op unless the event spans pieces */
        const char *buf = (const char *)evbuffer_pullup(p->buf, -1);
        if (!buf)
            break; /* empty */
        if (!p->started) {
            static const char bom[3] = {'\xef', '\xbb', '\xbf'};
            size_t k = len < 3 ? len : 3;
            if (k < 3 && memcmp(buf, bom, k) == 0)
                break; /* maybe a BOM: wait for its end */
            p->started = 1;
            if (k == 3 && memcmp(buf, bom, 3) == 0)
                p->scan = p->lead = 3; /* passed on in the raw bytes */
        }
        if (p->cr && p->scan < len) {
            p->cr = 0;
            if (buf[p->scan] == '\n') { /* the LF of a CRLF, split */
                if (p->scan == 0)
                    p->lead = 1;
                p->scan++;
            }
        }
        size_t i = p->scan;
        while (i < len && buf[i] != '\n' && buf[i] != '\r')
            i++;
        if (i >= len)
            break;
        size_t eol = 1;
        if (buf[i] == '\r') {
            if (i + 1 >= len)
                p->cr = 1; /* its LF may come with the next bytes */
            else if (buf[i + 1] == '\n')
                eol = 2;
        }
        size_t next = i + eol;
        if (i == p->scan) { /* an empty line ends the event */
            if (emit(p, buf, next, fn, ctx) != 0)
                return -1;
            continue;
        }
        if (field(p, buf + p->scan, i - p->scan) != 0)
            return -1;
        p->scan = next;
    }
    return evbuffer_get_length(p->buf) > p->max ? -1 : 0;
}
