/*
 * http.h -- HTTP/1.x message parsing shared by the gateway's server side
 * (requests from clients) and client side (responses from the upstream).
 */
#ifndef CS_GATEWAY_HTTP_H
#define CS_GATEWAY_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

typedef struct cs_header {
    char *name;
    char *value;
} cs_header;

typedef struct cs_headers {
    cs_header *v;
    size_t n, cap;
} cs_headers;

void cs_headers_init(cs_headers *h);
void cs_headers_clear(cs_headers *h);
/* Copies name and value; returns 0, or -1 when out of memory. */
int cs_headers_add(cs_headers *h, const char *name, size_t nlen,
                   const char *value, size_t vlen);
int cs_headers_set(cs_headers *h, const char *name, const char *value);
/* First value of a header (names compare case-insensitively), or NULL. */
const char *cs_headers_get(const cs_headers *h, const char *name);
size_t cs_headers_count(const cs_headers *h, const char *name);
/* 1 if the comma-separated list `value` holds `token` (case-insensitive). */
int cs_http_list_has(const char *value, const char *token);
/* 1 if `name` is hop-by-hop: a standard one, or listed in the message's own
 * Connection header(s). */
int cs_http_is_hop_by_hop(const cs_headers *h, const char *name);

enum {
    CS_HTTP_AGAIN = 0,     /* need more bytes */
    CS_HTTP_DONE = 1,      /* head (or body) complete */
    CS_HTTP_ERROR = -1,    /* malformed: 400 / upstream_error */
    CS_HTTP_TOO_LARGE = -2 /* head over the limit: 431 */
};

typedef struct cs_http_msg {
    int response; /* parse a status line instead of a request line */
    size_t max_head;
    size_t head_bytes;
    int got_line; /* start line read */
    /* request line */
    char *method;
    char *target;
    /* status line */
    int status;
    int minor; /* HTTP/1.<minor> */
    cs_headers headers;
    /* body framing (cs_http_frame) */
    int chunked;
    int until_eof;
    int64_t length; /* -1: none */
    uint64_t remaining;
    int body_state;
    size_t trailer_bytes;
    int keep_alive;
    const char *error; /* static description of the last error */
} cs_http_msg;

void cs_http_msg_init(cs_http_msg *m, int response, size_t max_head);
/* Frees what the message holds and makes it ready for the next one. */
void cs_http_msg_reset(cs_http_msg *m);
/* Reads the start line and headers from `in`. */
int cs_http_read_head(cs_http_msg *m, struct evbuffer *in);
/*
 * Decides how the body is delimited once the head is read.  For a request:
 * Content-Length or chunked (both at once, or another coding, is an error).
 * For a response: none for HEAD/1xx/204/304, else chunked, Content-Length or
 * until the connection closes.  Returns CS_HTTP_DONE or CS_HTTP_ERROR.
 */
int cs_http_frame(cs_http_msg *m, int head_request);
/* Moves body bytes (decoded from chunked) from `in` to `out`.  `eof` says the
 * connection closed.  CS_HTTP_DONE once the body is complete. */
int cs_http_read_body(cs_http_msg *m, struct evbuffer *in, struct evbuffer *out,
                      int eof);
/*
 * The same for a request body, with two differences when the body has a
 * Content-Length: the bytes land in one contiguous block of `out` (so that
 * evbuffer_pullup() of the whole body copies nothing), and when fd >= 0 the
 * socket is read here, straight into that block, until it would block.
 * libevent 2.1 reads at most 4 KB per readiness event (EVBUFFER_MAX_READ);
 * a 250 KB body took 66 readv + 66 ioctl + ~80 epoll_wait.  Pass fd = -1 for
 * a TLS connection.  A closed or failed socket just stops the loop: the
 * bufferevent sees the same condition on its next read and reports it.
 */
int cs_http_read_body_direct(cs_http_msg *m, struct evbuffer *in,
                             struct evbuffer *out, int fd);
/* Standard reason phrase ("Not Found"). */
const char *cs_http_reason(int status);

#endif
