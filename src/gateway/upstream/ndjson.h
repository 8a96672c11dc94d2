/*
 * ndjson.h -- splitting a newline-delimited JSON stream (Ollama's
 * application/x-ndjson) into lines as bytes arrive.
 */
#ifndef CS_GATEWAY_NDJSON_H
#define CS_GATEWAY_NDJSON_H

#include <stddef.h>

struct evbuffer;

/* One complete line: `raw` its bytes with the line end, `line` without it
 * (a CR before the LF is removed; not NUL-terminated).  Empty lines are not
 * reported.  Return non-zero to stop. */
typedef int (*cs_ndjson_fn)(void *ctx, const char *raw, size_t rawlen,
                            const char *line, size_t len);

typedef struct cs_ndjson {
    struct evbuffer *buf; /* bytes of the line being read */
    size_t max;           /* longest line accepted */
} cs_ndjson;

/* 0, or -1 if out of memory (then cs_ndjson_free is still safe). */
int cs_ndjson_init(cs_ndjson *p, size_t max_line);
void cs_ndjson_free(cs_ndjson *p);
/* 0, or -1 when a line exceeds the limit, memory runs out, or fn asked to
 * stop. */
int cs_ndjson_feed(cs_ndjson *p, const char *bytes, size_t n, cs_ndjson_fn fn,
                   void *ctx);
/* Bytes of an unfinished line still buffered (the stream was cut, or its
 * last line has no newline). */
size_t cs_ndjson_pending(const cs_ndjson *p);

#endif
