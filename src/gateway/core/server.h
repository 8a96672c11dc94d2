/*
 * server.h -- the client-facing HTTP/1.1 server of chatseal serve.
 *
 * A handler receives a complete request (head and body) and answers it, now
 * or later, with exactly one of: cs_req_reply*, cs_req_error*, or
 * cs_req_stream_begin .. cs_req_stream_end.  After answering, the handler must
 * not touch the request again.  If the client goes away first, the server
 * calls r->on_abort (if set) and then frees the request.
 */
#ifndef CS_GATEWAY_SERVER_H
#define CS_GATEWAY_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "chatseal.h"
#include "gw.h"
#include "core/http.h"

struct evbuffer;
struct ssl_ctx_st;
typedef struct cs_server cs_server;
typedef struct cs_conn cs_conn;
typedef struct cs_req cs_req;

struct cs_req {
    cs_conn *conn;
    cs_gw *gw;
    const char *method;
    const char *target; /* as sent: path and query */
    char *path;         /* target before '?' */
    const char *query;  /* after '?', or NULL */
    const cs_headers *headers;
    struct evbuffer *body;
    int minor;        /* HTTP/1.<minor> */
    int head;         /* a HEAD request: no body in the answer */
    const char *peer; /* client address */
    char id[17];      /* request id, also sent as X-Request-Id */

    cs_headers resp_headers; /* extra response headers */

    /* handler hooks */
    void (*on_abort)(cs_req *r); /* client gone before the answer ended */
    void (*on_drain)(cs_req *r); /* output buffer emptied (backpressure) */
    void *hctx;

    /* filled in by handlers, written to the log line and metrics */
    const char *endpoint;
    int style; /* error body shape: CS_STYLE_* (core/errors.h) */
    chatseal_error code;
    double upstream_ms; /* < 0: no upstream call */
    int stream;
    long count; /* messages covered by the token issued, -1: none */
    char kid[CHATSEAL_KID_MAX + 1];

    /* server bookkeeping */
    int status;
    int started;
    int streaming;
    int chunked;
    uint64_t t0_ns;
    size_t in_bytes, out_bytes;
};

typedef void (*cs_handler_fn)(cs_req *r, void *arg);

cs_server *cs_server_new(cs_gw *gw, cs_handler_fn handler, void *arg);
/* A listening socket on HOST:PORT (non-blocking, SO_REUSEADDR), or -1 with
 * the reason in `bound`.  Writes the address actually bound
 * ("127.0.0.1:43125") to `bound`.  workers.c binds once, before forking. */
int cs_listen_socket(const char *addr, char *bound, size_t boundlen);
/* Accepts on a listening socket made by cs_listen_socket (owned from now on:
 * closed when the server stops listening).  0 on success. */
int cs_server_listen_fd(cs_server *s, int fd, struct ssl_ctx_st *tls);
/* Both of the above.  With `tls`, speaks HTTPS.  0 on success. */
int cs_server_listen(cs_server *s, const char *addr, struct ssl_ctx_st *tls,
                     char *bound, size_t boundlen);
/* Stops accepting, closes idle connections; requests in progress finish and
 * their connections close.  `done` is called once no connection is left. */
void cs_server_drain(cs_server *s, void (*done)(void *), void *arg);
size_t cs_server_connections(const cs_server *s);
/* Closes everything at once (aborting requests in progress). */
void cs_server_free(cs_server *s);

/* Adds a response header (before the answer starts). */
void cs_req_header(cs_req *r, const char *name, const char *value);
void cs_req_reply(cs_req *r, int status, const char *ctype, const char *body,
                  size_t len);
/* Moves the whole of `body` into the answer. */
void cs_req_reply_buffer(cs_req *r, int status, const char *ctype,
                         struct evbuffer *body);
/* OpenAI-shaped error with the status of cs_error_status(e). */
void cs_req_error(cs_req *r, chatseal_error e, const char *message);
/* The same with extra members (a JSON object text) in the error object, and
 * an explicit status (0: from the code). */
void cs_req_error_ex(cs_req *r, int status, chatseal_error e,
                     const char *message, const char *extra);
void cs_req_stream_begin(cs_req *r, int status, const char *ctype);
void cs_req_stream_write(cs_req *r, const void *data, size_t len);
/* Ends the stream; `close_conn` also closes the connection afterwards. */
void cs_req_stream_end(cs_req *r, int close_conn);
/* Bytes written but not yet sent to the client. */
size_t cs_req_pending(const cs_req *r);
/* Monotonic clock in nanoseconds. */
uint64_t cs_now_ns(void);

#endif
