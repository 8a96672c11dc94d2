/*
 * upstream.c -- the HTTP/1.1 backend: requests to a real model server, on the
 * gateway's loop.
 *
 * Design:
 *   - bufferevents (plain or OpenSSL) driven by the same event loop as the
 *     client side, so a streamed reply is copied to the client as it arrives;
 *   - keep-alive: a finished connection goes back to the idle pool (pool.c)
 *     and is reused by the next request.  A request that fails on a reused
 *     connection before any byte of the answer arrived is retried once on a
 *     fresh connection (the classic keep-alive race);
 *   - DNS through evdns (asynchronous); every address is tried in turn;
 *   - TLS: set up by target.c (verification cannot be turned off); a failed
 *     handshake is reported with the verification error;
 *   - timeouts: connect (DNS + TCP + TLS) -> upstream_unavailable; silence
 *     before the head or between body bytes -> upstream_timeout;
 *   - the reply is parsed by http.c: a cut or malformed reply is
 *     upstream_error, never passed off as complete.
 *
 * Failures are reported through a deferred event, so no callback ever runs
 * inside cs_upstream_request() and callers need no reentrancy care.
 * The mock model is another backend (mock_upstream.c), not a branch here.
 */
#include "upstream/backend.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/sockio.h"
#include "upstream/pool.h"
#include "upstream/target.h"

#define MAX_RESPONSE_HEAD (64 * 1024)
#define MAX_SINGLE_WRITE (4 * 1024 * 1024)

typedef struct http_upstream {
    cs_upstream base;
    cs_gw *gw;
    cs_target t;
    cs_pool pool;
    struct upreq *live; /* requests in flight: finished on http_free */
} http_upstream;

enum { R_RESOLVE, R_CONNECT, R_WAIT, R_BODY, R_FAILED };

typedef struct upreq {
    cs_upreq base;
    http_upstream *u;
    struct upreq *prev, *next; /* u->live */
    int linked;
    cs_upstream_cbs cbs;
    void *ctx;
    struct evbuffer *wire; /* the serialized request, kept for a retry */
    cs_upconn *c;
    struct evutil_addrinfo *ai, *ai_next;
    struct evdns_getaddrinfo_request *dns;
    int dns_pending;
    int zombie; /* finished, but freed when the DNS callback arrives */
    struct event *timer;
    struct event *defer;
    int phase;
    int paused;
    cs_http_msg msg;
    struct evbuffer *scratch;
    int got_bytes, retried, in_cb, cancelled;
    chatseal_error fail_code;
    char detail[256];
} upreq;

static const cs_upstream_ops http_ops;

static void up_read(struct bufferevent *bev, void *arg);
static void up_event(struct bufferevent *bev, short what, void *arg);
static void start_connect(upreq *r);

/* -------------------------------------------------------------- request -- */

static void set_timer(upreq *r, double seconds)
{
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    event_add(r->timer, &tv);
}

static void unlink_req(upreq *r)
{
    if (!r->linked)
        return;
    r->linked = 0;
    if (r->prev)
        r->prev->next = r->next;
    else
        r->u->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static void req_free(upreq *r)
{
    unlink_req(r);
    if (r->timer)
        event_del(r->timer);
    if (r->defer)
        event_del(r->defer);
    if (r->c) {
        cs_upconn_close(r->c);
        r->c = NULL;
    }
    if (r->dns_pending) {
        r->zombie = 1; /* the DNS callback frees it */
        return;
    }
    if (r->ai)
        evutil_freeaddrinfo(r->ai);
    if (r->timer)
        event_free(r->timer);
    if (r->defer)
        event_free(r->defer);
    if (r->wire)
        evbuffer_free(r->wire);
    if (r->scratch)
        evbuffer_free(r->scratch);
    cs_http_msg_reset(&r->msg);
    free(r);
}

/* Stops everything and reports `code` from the loop (never inline). */
static void fail(upreq *r, chatseal_error code, const char *detail)
{
    if (r->phase == R_FAILED)
        return;
    r->phase = R_FAILED;
    r->fail_code = code;
    snprintf(r->detail, sizeof r->detail, "%s", detail);
    event_del(r->timer);
    if (r->c) {
        cs_upconn_close(r->c);
        r->c = NULL;
    }
    event_active(r->defer, EV_TIMEOUT, 0);
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    upreq *r = arg;
    r->in_cb = 1;
    r->cbs.on_done(r->ctx, r->fail_code, r->detail);
    r->in_cb = 0;
    req_free(r);
}

static void complete(upreq *r)
{
    cs_upconn *c = r->c;
    r->c = NULL;
    event_del(r->timer);
    if (c && r->msg.keep_alive && !r->msg.until_eof && !r->u->gw->draining &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
        cs_pool_put(&r->u->pool, c);
    else
        cs_upconn_close(c);
    r->in_cb = 1;
    r->cbs.on_done(r->ctx, CHATSEAL_OK, "");
    r->in_cb = 0;
    req_free(r);
}

/* Hands the decoded body bytes to on_body.  Returns -1 if the request was
 * cancelled from inside the callback (and has been freed). */
static int deliver(upreq *r)
{
    while (evbuffer_get_length(r->scratch)) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(r->scratch, -1, NULL, &v, 1) < 1)
            break;
        size_t n = v.iov_len;
        r->in_cb = 1;
        r->cbs.on_body(r->ctx, v.iov_base, n);
        r->in_cb = 0;
        if (r->cancelled) {
            req_free(r);
            return -1;
        }
        evbuffer_drain(r->scratch, n);
    }
    return 0;
}

/* Returns 1 while the request is still reading, 0 once it completed, failed
 * or was freed. */
static int process(upreq *r, int eof)
{
    struct evbuffer *in = bufferevent_get_input(r->c->bev);
    if (r->phase == R_WAIT) {
        for (;;) {
            int rc = cs_http_read_head(&r->msg, in);
            if (rc == CS_HTTP_AGAIN) {
                if (!eof)
                    return 1;
                fail(r, CHATSEAL_E_UPSTREAM_ERROR,
                     "the upstream closed the connection during the "
                     "reply head");
                return 0;
            }
            if (rc != CS_HTTP_DONE) {
                fail(r, CHATSEAL_E_UPSTREAM_ERROR,
                     "the upstream sent a malformed reply head");
                return 0;
            }
            if (r->msg.status >= 100 && r->msg.status < 200 &&
                r->msg.status != 101) {
                cs_http_msg_reset(&r->msg); /* 100 Continue etc. */
                continue;
            }
            if (r->msg.status == 101 ||
                cs_http_frame(&r->msg, 0) != CS_HTTP_DONE) {
                fail(r, CHATSEAL_E_UPSTREAM_ERROR,
                     "the upstream sent a reply that cannot be framed");
                return 0;
            }
            break;
        }
        r->phase = R_BODY;
        r->in_cb = 1;
        r->cbs.on_head(r->ctx, r->msg.status, &r->msg.headers);
        r->in_cb = 0;
        if (r->cancelled) {
            req_free(r);
            return 0;
        }
    }
    if (r->phase != R_BODY)
        return 1;
    int rc = cs_http_read_body(&r->msg, in, r->scratch, eof);
    if (deliver(r) != 0)
        return 0;
    if (rc == CS_HTTP_DONE) {
        complete(r);
        return 0;
    }
    if (rc == CS_HTTP_ERROR) {
        fail(r, CHATSEAL_E_UPSTREAM_ERROR,
             eof ? "the upstream closed the connection in the middle of the "
                   "reply"
                 : "the upstream sent a malformed reply body");
        return 0;
    }
    return 1;
}

static void up_read(struct bufferevent *bev, void *arg)
{
    upreq *r = arg;
    if (evbuffer_get_length(bufferevent_get_input(bev)))
        r->got_bytes = 1;
    if (!r->paused)
        set_timer(r, r->u->gw->cfg.upstream_timeout);
    process(r, 0);
}

static void tls_detail(struct bufferevent *bev, char *buf, size_t len)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (vr != X509_V_OK) {
        snprintf(buf, len, "TLS certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
    } else if (e) {
        char es[200];
        ERR_error_string_n(e, es, sizeof es);
        snprintf(buf, len, "TLS handshake failed: %s", es);
    } else {
        int se = EVUTIL_SOCKET_ERROR();
        snprintf(buf, len, "connection failed: %s",
                 se ? evutil_socket_error_to_string(se) : "closed");
    }
    while (bufferevent_get_openssl_error(bev))
        ; /* clear the queue */
}

static void retry_fresh(upreq *r)
{
    cs_upconn_close(r->c);
    r->c = NULL;
    r->retried = 1;
    r->got_bytes = 0;
    cs_http_msg_reset(&r->msg);
    start_connect(r);
}

static void up_event(struct bufferevent *bev, short what, void *arg)
{
    upreq *r = arg;
    if (what & BEV_EVENT_CONNECTED) {
        evutil_socket_t fd = bufferevent_getfd(bev);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        r->phase = R_WAIT;
        set_timer(r, r->u->gw->cfg.upstream_timeout);
        return;
    }
    if (r->phase == R_CONNECT) {
        char d[256];
        if (r->u->t.tls)
            tls_detail(bev, d, sizeof d);
        else
            snprintf(d, sizeof d, "cannot connect to %.160s: %.60s",
                     r->u->t.describe,
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        cs_upconn_close(r->c);
        r->c = NULL;
        if (r->ai_next) {
            start_connect(r);
            return;
        }
        fail(r, CHATSEAL_E_UPSTREAM_UNAVAILABLE, d);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (r->phase == R_WAIT && r->c->nreq > 1 && !r->got_bytes &&
            !r->retried &&
            evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
            retry_fresh(r); /* the server closed a kept-alive connection */
            return;
        }
        if (what & BEV_EVENT_EOF) {
            process(r, 1);
        } else if (process(r, 0)) {
            char d[200];
            snprintf(d, sizeof d, "the upstream connection failed: %s",
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
            fail(r, CHATSEAL_E_UPSTREAM_ERROR, d);
        }
        return;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    upreq *r = arg;
    char d[160];
    if (r->phase == R_RESOLVE || r->phase == R_CONNECT) {
        snprintf(d, sizeof d, "could not connect to the upstream within %gs",
                 r->u->gw->cfg.upstream_connect_timeout);
        fail(r, CHATSEAL_E_UPSTREAM_UNAVAILABLE, d);
    } else if (r->phase == R_WAIT || r->phase == R_BODY) {
        snprintf(d, sizeof d, "the upstream sent nothing for %gs",
                 r->u->gw->cfg.upstream_timeout);
        fail(r, CHATSEAL_E_UPSTREAM_TIMEOUT, d);
    }
}

static void free_body(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    /* the body is ours (malloc'ed); evbuffer's cleanup callback only hands
     * it back as const */
    free((void *)(uintptr_t)data);
}

static void attach(upreq *r, cs_upconn *c)
{
    r->c = c;
    c->nreq++;
    bufferevent_setcb(c->bev, up_read, NULL, up_event, r);
    /* by reference, not a copy: the wire stays intact for a retry, and the
     * body's bytes go from the canonical encoder to the socket untouched */
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    evbuffer_add_buffer_reference(bufferevent_get_output(c->bev), r->wire);
    if (r->phase == R_WAIT) /* a pooled, connected socket: write now */
        cs_sockio_flush(c->bev, r->u->t.tls);
}

static void connect_next(upreq *r)
{
    struct event_base *base = r->u->gw->base;
    char d[256] = "no address";
    while (r->ai_next) {
        struct evutil_addrinfo *ai = r->ai_next;
        r->ai_next = ai->ai_next;
        struct bufferevent *bev = cs_target_bev(&r->u->t, base);
        cs_upconn *c = bev ? cs_upconn_new(&r->u->pool, bev) : NULL;
        if (!c)
            continue;
        /* see server.c: one writev for the whole forwarded body, not 16 KB */
        bufferevent_set_max_single_write(bev, MAX_SINGLE_WRITE);
        bufferevent_setcb(bev, up_read, NULL, up_event, r);
        if (bufferevent_socket_connect(bev, ai->ai_addr, (int)ai->ai_addrlen) !=
            0) {
            snprintf(d, sizeof d, "cannot connect to %.160s: %.60s",
                     r->u->t.describe, strerror(errno));
            cs_upconn_close(c);
            continue;
        }
        r->phase = R_CONNECT;
        attach(r, c);
        return;
    }
    fail(r, CHATSEAL_E_UPSTREAM_UNAVAILABLE, d);
}

static void dns_done(int result, struct evutil_addrinfo *res, void *arg)
{
    upreq *r = arg;
    r->dns = NULL;
    r->dns_pending = 0;
    if (r->zombie || r->cancelled || r->phase != R_RESOLVE) {
        if (res)
            evutil_freeaddrinfo(res);
        if (r->zombie || r->cancelled)
            req_free(r);
        return;
    }
    if (result != 0 || !res) {
        char d[256];
        snprintf(d, sizeof d, "cannot resolve %s: %s", r->u->t.host,
                 evutil_gai_strerror(result));
        if (res)
            evutil_freeaddrinfo(res);
        fail(r, CHATSEAL_E_UPSTREAM_UNAVAILABLE, d);
        return;
    }
    if (r->ai)
        evutil_freeaddrinfo(r->ai);
    r->ai = res;
    r->ai_next = res;
    connect_next(r);
}

static void start_connect(upreq *r)
{
    if (r->ai_next) {
        r->phase = R_CONNECT;
        connect_next(r);
        return;
    }
    r->phase = R_RESOLVE;
    set_timer(r, r->u->gw->cfg.upstream_connect_timeout);
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    if (r->u->t.host_is_ip)
        hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
    if (r->u->gw->dns) {
        r->dns_pending = 1;
        struct evdns_getaddrinfo_request *q = evdns_getaddrinfo(
            r->u->gw->dns, r->u->t.host, r->u->t.port, &hints, dns_done, r);
        if (r->dns_pending)
            r->dns = q;
        return;
    }
    struct evutil_addrinfo *res = NULL;
    int rc = evutil_getaddrinfo(r->u->t.host, r->u->t.port, &hints, &res);
    r->dns_pending = 1;
    dns_done(rc, res, r);
}

static cs_upreq *http_request(cs_upstream *base_u, const char *method,
                              const char *path_query, const cs_headers *headers,
                              char *body, size_t len,
                              const cs_upstream_cbs *cbs, void *ctx)
{
    http_upstream *u = (http_upstream *)base_u;
    struct event_base *base = u->gw->base;
    upreq *r = calloc(1, sizeof *r);
    if (!r) {
        free(body);
        return NULL;
    }
    r->base.ops = &http_ops;
    r->u = u;
    r->next = u->live;
    if (u->live)
        u->live->prev = r;
    u->live = r;
    r->linked = 1;
    r->cbs = *cbs;
    r->ctx = ctx;
    r->timer = event_new(base, -1, 0, on_timer, r);
    r->defer = event_new(base, -1, 0, on_defer, r);
    cs_http_msg_init(&r->msg, 1, MAX_RESPONSE_HEAD);
    if (!r->timer || !r->defer) {
        free(body);
        req_free(r);
        return NULL;
    }
    r->wire = evbuffer_new();
    r->scratch = evbuffer_new();
    if (!r->wire || !r->scratch) {
        free(body);
        req_free(r);
        return NULL;
    }
    evbuffer_add_printf(r->wire, "%s %s%s HTTP/1.1\r\nHost: %s\r\n", method,
                        u->t.base_path, path_query, u->t.host_header);
    for (size_t i = 0; i < headers->n; i++) {
        const char *n = headers->v[i].name;
        if (!strcasecmp(n, "Host") || !strcasecmp(n, "Content-Length") ||
            !strcasecmp(n, "Accept-Encoding") || !strcasecmp(n, "Expect") ||
            cs_http_is_hop_by_hop(headers, n))
            continue;
        evbuffer_add_printf(r->wire, "%s: %s\r\n", n, headers->v[i].value);
    }
    if (len || strcmp(method, "GET"))
        evbuffer_add_printf(r->wire, "Content-Length: %zu\r\n", len);
    evbuffer_add_printf(r->wire, "Accept-Encoding: identity\r\n\r\n");
    if (len && evbuffer_add_reference(r->wire, body, len, free_body, NULL) == 0)
        body = NULL; /* the wire owns it now */
    else if (len && evbuffer_add(r->wire, body, len) != 0) {
        free(body);
        req_free(r);
        return NULL;
    }
    free(body);

    cs_upconn *c = cs_pool_take(&u->pool);
    if (c) {
        r->phase = R_WAIT;
        set_timer(r, u->gw->cfg.upstream_timeout);
        attach(r, c);
    } else {
        start_connect(r);
    }
    return &r->base;
}

static void http_cancel(cs_upreq *base_r)
{
    upreq *r = (upreq *)base_r;
    if (r->in_cb) {
        r->cancelled = 1;
        return;
    }
    r->cancelled = 1;
    req_free(r);
}

static void http_pause(cs_upreq *base_r, int paused)
{
    upreq *r = (upreq *)base_r;
    if (r->paused == paused)
        return;
    r->paused = paused;
    if (!r->c)
        return;
    if (paused) {
        bufferevent_disable(r->c->bev, EV_READ);
        event_del(r->timer);
    } else {
        bufferevent_enable(r->c->bev, EV_READ);
        set_timer(r, r->u->gw->cfg.upstream_timeout);
    }
}

/* At exit, a request may still be in flight whose client is gone (a stream
 * answered in full while the upstream had not closed yet, say): its owner
 * is told, so that it frees what it holds, instead of leaking at exit. */
static void http_free(cs_upstream *base_u)
{
    http_upstream *u = (http_upstream *)base_u;
    while (u->live) {
        upreq *r = u->live;
        unlink_req(r);
        if (!r->cancelled) {
            r->in_cb = 1;
            r->cbs.on_done(r->ctx, CHATSEAL_E_SHUTTING_DOWN,
                           "the gateway stopped");
            r->in_cb = 0;
        }
        req_free(r);
    }
    cs_pool_clear(&u->pool);
    cs_target_clear(&u->t);
    free(u);
}

static const cs_upstream_ops http_ops = {http_request, http_cancel, http_pause,
                                         http_free};

cs_upstream *cs_http_upstream_new(cs_gw *gw, char *err, size_t errlen)
{
    http_upstream *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (cs_target_init(&u->t, gw->cfg.upstream, gw->cfg.upstream_ca, err,
                       errlen) != 0) {
        free(u);
        return NULL;
    }
    u->base.ops = &http_ops;
    u->base.describe = u->t.describe;
    u->gw = gw;
    return &u->base;
}
