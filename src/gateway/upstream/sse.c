/*
 * sse.c -- an incremental Server-Sent Events splitter (WHATWG HTML, 9.2.6).
 *
 * The gateway passes a model's stream through event by event: it must see
 * each event whole (to assemble the reply it will sign, and to hold back
 * `data: [DONE]` until the token is out) but must not wait for the stream to
 * end.  Lines end in CRLF, LF or CR; a CR at the very end of the buffer waits
 * for the next byte, which may be its LF.  An event ends at an empty line.
 * Each event's raw bytes are handed over unchanged, so what the client gets is
 * byte for byte what the upstream sent.  Events are bounded in size.
 */
#include "upstream/sse.h"

#include <stdlib.h>
#include <string.h>

void cs_sse_init(cs_sse *p, size_t max_event)
{
    memset(p, 0, sizeof *p);
    p->max = max_event;
}

void cs_sse_free(cs_sse *p)
{
    free(p->buf);
    free(p->data);
    memset(p, 0, sizeof *p);
}

size_t cs_sse_pending(const cs_sse *p)
{
    return p->len;
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    char *b = realloc(*buf, c);
    if (!b)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
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
        if (grow(&p->data, &p->dcap, p->dlen + vl + 2) != 0)
            return -1;
        if (p->has_data)
            p->data[p->dlen++] = '\n';
        memcpy(p->data + p->dlen, v, vl);
        p->dlen += vl;
        p->data[p->dlen] = '\0';
        p->has_data = 1;
    } else if (fl == 5 && !memcmp(l, "event", 5)) {
        size_t k = vl < sizeof p->event - 1 ? vl : sizeof p->event - 1;
        memcpy(p->event, v, k);
        p->event[k] = '\0';
    }
    return 0;
}

int cs_sse_feed(cs_sse *p, const char *bytes, size_t n, cs_sse_fn fn, void *ctx)
{
    if (grow(&p->buf, &p->cap, p->len + n + 1) != 0)
        return -1;
    memcpy(p->buf + p->len, bytes, n);
    p->len += n;
    for (;;) {
        size_t i = p->scan;
        while (i < p->len && p->buf[i] != '\n' && p->buf[i] != '\r')
            i++;
        if (i >= p->len)
            break;
        size_t eol = 1;
        if (p->buf[i] == '\r') {
            if (i + 1 >= p->len)
                break; /* a CR last: wait for a possible LF */
            if (p->buf[i + 1] == '\n')
                eol = 2;
        }
        const char *line = p->buf + p->scan;
        size_t ll = i - p->scan;
        size_t next = i + eol;
        if (ll == 0) {
            /* end of the event */
            if (!p->data) {
                if (grow(&p->data, &p->dcap, 1) != 0)
                    return -1;
                p->data[0] = '\0';
            }
            int stop =
                fn(ctx, p->buf, next, p->event, p->data, p->dlen, p->has_data);
            memmove(p->buf, p->buf + next, p->len - next);
            p->len -= next;
            p->scan = 0;
            p->dlen = 0;
            if (p->data)
                p->data[0] = '\0';
            p->has_data = 0;
            p->event[0] = '\0';
            if (stop)
                return -1;
            continue;
        }
        if (field(p, line, ll) != 0)
            return -1;
        p->scan = next;
    }
    return p->len > p->max ? -1 : 0;
}
