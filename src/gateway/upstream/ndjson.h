/*
 * ndjson.h -- splitting a newline-delimited JSON stream (Ollama's
 * application/x-ndjson replies) into lines as bytes arrive.
 */
#ifndef CS_GATEWAY_NDJSON_H
#define CS_GATEWAY_NDJSON_H

#include <stddef.h>

struct evbuffer;

/* One complete line: `raw` is its exact bytes including the LF that ended it
 * (none for the last line handed over by cs_ndjson_finish); `line` the same
 * line without its LF and without one CR right before it, NUL-terminated at
 * `linelen` (the NUL is not counted).  Empty lines are handed over too (the
 * caller decides what they mean).  Return non-zero to stop parsing. */
typedef int (*cs_ndjson_fn)(void *ctx, const char *raw, size_t rawlen,
                            const char *line, size_t linelen);

typedef struct cs_ndjson {
    struct evbuffer *buf; /* bytes of the line being read */
    size_t scan;          /* bytes of buf already searched for an LF */
    size_t max;           /* longest line accepted (raw bytes) */
    char *line;           /* scratch copy of one line, NUL-terminated */
    size_t cap;           /* its size */
} cs_ndjson;

/* 0, or -1 if out of memory (then cs_ndjson_free is still safe). */
int cs_ndjson_init(cs_ndjson *p, size_t max_line);
void cs_ndjson_free(cs_ndjson *p);
/* 0, or -1 when a line exceeds the limit, memory runs out, or fn asked to
 * stop. */
int cs_ndjson_feed(cs_ndjson *p, const char *bytes, size_t n, cs_ndjson_fn fn,
                   void *ctx);
/* Bytes of an unfinished last line still buffered (no LF yet). */
size_t cs_ndjson_pending(const cs_ndjson *p);
/* The stream ended: hands the unfinished last line (if any) over as a line
 * without its LF, as NDJSON readers do (ollama-js parses it).  0 when there
 * was none or fn said go on; -1 when fn asked to stop or memory ran out.
 * Whether a line without its LF is a cut is the caller's call (a half JSON
 * object does not parse). */
int cs_ndjson_finish(cs_ndjson *p, cs_ndjson_fn fn, void *ctx);

#endif
