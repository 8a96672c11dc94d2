/*
 * sse.h -- splitting a text/event-stream into events as bytes arrive.
 */
#ifndef CS_GATEWAY_SSE_H
#define CS_GATEWAY_SSE_H

#include <stddef.h>

struct evbuffer;

/* One complete event: `raw` is its exact bytes including the blank line that
 * ended it; `data` the joined data lines (NUL-terminated); `event` the event
 * name or "".  Return non-zero to stop parsing. */
typedef int (*cs_sse_fn)(void *ctx, const char *raw, size_t rawlen,
                         const char *event, const char *data, size_t datalen,
                         int has_data);

typedef struct cs_sse {
    struct evbuffer *buf;  /* bytes of the event being read */
    size_t scan;           /* lines before this offset are already read */
    size_t max;            /* longest event accepted */
    struct evbuffer *data; /* the event's data lines joined so far */
    int has_data;
    char event[64];
    int cr;      /* the last line ended with a CR at the end of the bytes */
    size_t lead; /* bytes at buf's start that belong to no event (an LF) */
    int started; /* the stream's first bytes were checked for a BOM */
} cs_sse;

/* 0, or -1 if out of memory (then cs_sse_free is still safe). */
int cs_sse_init(cs_sse *p, size_t max_event);
void cs_sse_free(cs_sse *p);
/* 0, or -1 when an event exceeds the limit, memory runs out, or fn asked to
 * stop. */
int cs_sse_feed(cs_sse *p, const char *bytes, size_t n, cs_sse_fn fn,
                void *ctx);
/* Bytes of an unfinished event still buffered (the stream was cut). */
size_t cs_sse_pending(const cs_sse *p);

#endif
