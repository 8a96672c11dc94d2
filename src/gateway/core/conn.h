/*
 * conn.h -- the client connection record, shared by the two halves of the
 * HTTP server in core/ and by nothing outside it.
 *
 *   server.c  connections: accept, phases and deadlines, reading requests,
 *             dispatch to the handler, keep-alive, linger, drain;
 *   reply.c   the answer API handlers call (cs_req_reply, _error,
 *             _stream_*): writes the status line, headers and body onto
 *             c->bev.
 *
 * reply.c sits below server.c: it reads the connection's state and, when an
 * answer is complete, hands the connection back through srv->answered, a
 * hook server.c installs.  It never calls into server.c, so the answer code
 * can be read (and changed) without the connection state machine.
 */
#ifndef CS_GATEWAY_CONN_H
#define CS_GATEWAY_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "core/http.h"
#include "core/server.h"

struct bufferevent;
struct event;
struct evconnlistener;

enum phase { P_IDLE, P_HEAD, P_BODY, P_HANDLING, P_CLOSING, P_LINGER };

struct listener {
    struct evconnlistener *l;
    SSL_CTX *tls;
    cs_server *srv;
    struct event *retry;
};

struct cs_server {
    cs_gw *gw;
    cs_handler_fn handler;
    void *arg;
    struct listener *ls[4];
    size_t nls;
    cs_conn *conns;
    size_t nconns;
    size_t nrejecting;
    size_t held; /* request body bytes reserved by all connections */
    int draining;
    uint64_t id_base, id_count; /* request ids, see request_id() */
    void (*drained)(void *);
    void *drained_arg;
    /* set by server.c: the answer of r is complete (reply.c calls it) */
    void (*answered)(cs_req *r);
};

struct cs_conn {
    cs_server *srv;
    cs_conn *prev, *next;
    struct bufferevent *bev;
    struct event *timer;
    struct event *kick;
    enum phase phase;
    cs_http_msg msg;
    cs_req *req;
    char peer[64];
    int tls;
    int close_after;
    int rejecting; /* over the connection limit: 503 then close */
    size_t held;   /* request body bytes reserved (budget, server.c) */
    int linger;    /* request bytes may be left unread: linger on close */
    size_t lingered;
};

#endif
