/*
 * server.c -- HTTP/1.1 server on libevent bufferevents (plain or OpenSSL).
 *
 * Why not evhttp: libevent 2.1's evhttp answers an oversized body with an HTML
 * page, drops slow clients without a 408, and has no connection limit.  The
 * gateway promises an OpenAI-shaped JSON error with a stable code for each of
 * those, so it drives the connections itself and parses with http.c.
 *
 * Each connection moves through phases:
 *
 *   IDLE     keep-alive, waiting for the next request   (idle timeout: close)
 *   HEAD     reading the request head                   (header timeout: 408)
 *   BODY     reading the body                           (body timeout: 408)
 *   HANDLING a handler owns the request; input is buffered (pipelining) but
 *            not parsed; an EOF from the client aborts the request
 *   CLOSING  answer written, close once it is flushed
 *   LINGER   after an error answer: the write side is shut down and unread
 *            input is discarded for a moment, so that a client still sending
 *            its body reads our 413/408 instead of a connection reset
 *
 * Timeouts are deadlines from the start of the phase, not inactivity timers,
 * so a client trickling one byte a second cannot hold a connection forever.
 * A client that stops reading our answer is dropped by the bufferevent write
 * timeout.  Connections over --max-connections get a 503 and are closed.
 *
 * Nothing is freed from inside a handler's call chain: when an answer ends,
 * the connection is "kicked" (an event made active) and the next step
 * (parse a pipelined request, close) runs from the loop.  That keeps handler
 * code free of use-after-free hazards and bounds recursion.
 *
 * The answer API handlers call lives in reply.c, below this file (conn.h
 * says how they share the connection record); the per-request log line in
 * access_log.c; listening sockets in listen.c.
 */
#include "core/server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "core/access_log.h"
#include "core/conn.h"
#include "core/errors.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "core/sockio.h"

#define READ_HIGH_WATERMARK (1024 * 1024)
#define MAX_SINGLE_WRITE (4 * 1024 * 1024)
#define LINGER_SECONDS 2
#define RETRY_AFTER "2" /* seconds, on 429 and 503 refusals */
#define LINGER_MAX_BYTES (64u * 1024 * 1024)

static void conn_process(cs_conn *c);
static void conn_free(cs_conn *c);

static void set_timer(cs_conn *c, double seconds)
{
    if (seconds <= 0) {
        event_del(c->timer);
        return;
    }
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    event_add(c->timer, &tv);
}

static void kick(cs_conn *c)
{
    event_active(c->kick, EV_TIMEOUT, 0);
}

/* ------------------------------------------------------------ answers -- */

static void req_free(cs_req *r)
{
    if (!r)
        return;
    if (r->body)
        evbuffer_free(r->body);
    free(r->path);
    cs_headers_clear(&r->resp_headers);
    free(r);
}

/* The answer is complete: log it, then move the connection on. */
/* The request's body bytes leave the budget (see budget_take). */
static void budget_release(cs_conn *c)
{
    c->srv->held -= c->held;
    c->held = 0;
}

static void req_finish(cs_req *r)
{
    cs_conn *c = r->conn;
    cs_access_log(r, 0);
    budget_release(c);
    c->req = NULL;
    req_free(r);
    cs_http_msg_reset(&c->msg);
    if (c->close_after || c->srv->draining) {
        c->phase = P_CLOSING;
    } else {
        c->phase = P_IDLE;
        set_timer(c, c->srv->gw->cfg.idle_timeout);
    }
    cs_sockio_flush(c->bev, c->tls); /* the answer leaves now, see sockio.c */
    kick(c);
}

/* An error answer from the server itself (no handler involved): the request
 * could not be read, so the connection closes after it. */
static void conn_error(cs_conn *c, int status, chatseal_error e,
                       const char *message)
{
    cs_req *r = c->req;
    c->close_after = 1;
    c->linger = 1;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) {
            conn_free(c);
            return;
        }
        r->conn = c;
        r->gw = c->srv->gw;
        r->method = c->msg.method ? c->msg.method : "-";
        r->path = strdup(c->msg.target ? c->msg.target : "-");
        r->peer = c->peer;
        r->t0_ns = cs_now_ns();
        r->upstream_ms = -1;
        r->count = -1;
        r->minor = 1;
        cs_headers_init(&r->resp_headers);
        snprintf(r->id, sizeof r->id, "%016llx", 0ull);
        c->req = r;
    }
    r->endpoint = "other";
    r->style = cs_error_style_for_path(r->path); /* a 408 in the API's shape */
    r->head = 0;
    if (status == 429 || status == 503)
        cs_req_header(r, "Retry-After", RETRY_AFTER);
    cs_req_error_ex(r, status, e, message, NULL);
}

/* ------------------------------------------------------------ budget -- */

/*
 * Request bodies are held in memory from their head until the answer ends.
 * Without a budget, 300 stalled 8 MB bodies held 2.3 GB: the connection cap
 * times --max-body is no bound anyone would choose.  So each request reserves
 * its body (the declared Content-Length at once, before a byte of it is read;
 * a chunked body as it grows) against --max-inflight (the worker) and
 * --max-inflight-per-client (one address); over either it is refused, 503
 * overloaded or 429 rate_limited with Retry-After, and its connection closes.
 * Connections per address are capped the same way at accept, so one client
 * cannot take every connection slot.  Per-address sums scan the open
 * connections: at most --max-connections of them, and only when a request
 * starts, cheaper than keeping a table in step.
 */
static size_t peer_held(const cs_server *s, const char *peer, size_t *conns)
{
    size_t sum = 0, n = 0;
    for (const cs_conn *o = s->conns; o; o = o->next)
        if (!strcmp(o->peer, peer)) {
            sum += o->held;
            n += !o->rejecting;
        }
    if (conns)
        *conns = n;
    return sum;
}

/* Reserves n more body bytes for c: 0, or the status to refuse with. */
static int budget_take(cs_conn *c, size_t n)
{
    cs_server *s = c->srv;
    const cs_config *cfg = &s->gw->cfg;
    if (cfg->max_inflight && s->held + n > (size_t)cfg->max_inflight)
        return 503;
    if (cfg->max_inflight_per_client &&
        peer_held(s, c->peer, NULL) + n > (size_t)cfg->max_inflight_per_client)
        return 429;
    c->held += n;
    s->held += n;
    return 0;
}

static void budget_refuse(cs_conn *c, int status)
{
    if (status == 503)
        conn_error(c, 503, CHATSEAL_E_OVERLOADED,
                   "too many request bytes in flight, try again later "
                   "(--max-inflight)");
    else
        conn_error(c, 429, CHATSEAL_E_RATE_LIMITED,
                   "this client has too many request bytes in flight "
                   "(--max-inflight-per-client)");
}

/* ------------------------------------------------------- connections -- */

static void conn_free(cs_conn *c)
{
    cs_server *s = c->srv;
    if (c->req) {
        cs_req *r = c->req;
        c->req = NULL;
        if (r->on_abort)
            r->on_abort(r);
        cs_access_log(r, 1);
        req_free(r);
    }
    budget_release(c);
    if (c->prev)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->rejecting)
        s->nrejecting--;
    else {
        s->nconns--;
        if (s->gw->metrics)
            cs_metrics_connections(s->gw->metrics, -1);
    }
    event_free(c->timer);
    event_free(c->kick);
    bufferevent_free(c->bev);
    cs_http_msg_reset(&c->msg);
    free(c);
    if (s->draining && s->nconns == 0 && s->nrejecting == 0 && s->drained) {
        void (*done)(void *) = s->drained;
        s->drained = NULL;
        done(s->drained_arg);
    }
}

static void start_linger(cs_conn *c)
{
    c->phase = P_LINGER;
    c->lingered = 0;
    if (!c->tls) {
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        if (fd >= 0)
            shutdown(fd, SHUT_WR);
    }
    evbuffer_drain(bufferevent_get_input(c->bev),
                   evbuffer_get_length(bufferevent_get_input(c->bev)));
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    bufferevent_enable(c->bev, EV_READ);
    set_timer(c, LINGER_SECONDS);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cs_conn *c = arg;
    if (c->phase == P_CLOSING) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
            /* unread request bytes (an error answer): linger; else close */
            if (c->linger)
                start_linger(c);
            else
                conn_free(c);
        }
        return; /* else on_write closes once flushed */
    }
    if (c->phase == P_IDLE || c->phase == P_HEAD || c->phase == P_BODY)
        conn_process(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cs_conn *c = arg;
    switch (c->phase) {
    case P_HEAD:
    case P_BODY:
        conn_error(c, 408, CHATSEAL_E_TIMEOUT,
                   c->phase == P_HEAD ? "request head not received in time"
                                      : "request body not received in time");
        break;
    case P_HANDLING:
        break;
    default:
        conn_free(c);
        break;
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    cs_conn *c = arg;
    if (c->phase == P_LINGER) {
        struct evbuffer *in = bufferevent_get_input(bev);
        c->lingered += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->lingered > LINGER_MAX_BYTES)
            conn_free(c);
        return;
    }
    conn_process(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    cs_conn *c = arg;
    if (c->phase == P_CLOSING) {
        kick(c);
        return;
    }
    if (c->req && c->req->on_drain)
        c->req->on_drain(c->req);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    cs_conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_free(c);
}

static const char *media_type_ok(const char *ct)
{
    /* application/json, optionally with parameters; also +json types */
    if (!ct)
        return "";
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return ct;
    if (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0)
        return ct;
    return NULL;
}

/* Any Content-Encoding but identity: the body would be read (and forwarded)
 * as plain JSON while the upstream may decode it into something else. */
static int encoded(const cs_headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, "Content-Encoding") != 0)
            continue;
        const char *v = h->v[i].value;
        v += strspn(v, " \t");
        size_t n = strcspn(v, " \t");
        if (n != 8 || strncasecmp(v, "identity", 8) != 0 ||
            v[n + strspn(v + n, " \t")])
            return 1;
    }
    return 0;
}

static void dispatch(cs_conn *c)
{
    cs_req *r = c->req;
    cs_server *s = c->srv;
    c->phase = P_HANDLING;
    event_del(c->timer);
    r->in_bytes += evbuffer_get_length(r->body);
    r->style = cs_error_style_for_path(r->path);
    if (s->draining) {
        r->endpoint = "other";
        cs_req_error(r, CHATSEAL_E_SHUTTING_DOWN,
                     "the gateway is shutting down");
        return;
    }
    if (encoded(r->headers)) {
        r->endpoint = "other";
        cs_req_error(r, CHATSEAL_E_UNSUPPORTED_MEDIA,
                     "the request body must not be compressed "
                     "(Content-Encoding other than identity)");
        return;
    }
    if (!strcmp(r->method, "POST") &&
        !media_type_ok(cs_headers_get(r->headers, "Content-Type"))) {
        r->endpoint = "other";
        cs_req_error(r, CHATSEAL_E_UNSUPPORTED_MEDIA,
                     "the request body must be application/json");
        return;
    }
    s->handler(r, s->arg);
}

/*
 * Request ids need to be unique, not secret: a random 64-bit start drawn once
 * per server, plus a counter, through a bijective mix (so ids stay unique and
 * do not reveal how many requests came before).  One RAND_bytes per request
 * cost 2% of a small request's CPU time (OpenSSL checks getpid() each call).
 */
static void request_id(cs_server *s, char out[17])
{
    uint64_t x = s->id_base + ++s->id_count;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, x >>= 4)
        out[i] = hex[x & 15];
    out[16] = '\0';
}

static int start_request(cs_conn *c)
{
    cs_server *s = c->srv;
    cs_req *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->conn = c;
    r->gw = s->gw;
    r->method = c->msg.method;
    r->target = c->msg.target;
    r->headers = &c->msg.headers;
    r->minor = c->msg.minor;
    r->head = !strcmp(r->method, "HEAD");
    r->peer = c->peer;
    r->upstream_ms = -1;
    r->count = -1;
    r->t0_ns = cs_now_ns();
    r->in_bytes = c->msg.head_bytes;
    cs_headers_init(&r->resp_headers);
    request_id(s, r->id);
    const char *q = strchr(r->target, '?');
    r->path =
        q ? strndup(r->target, (size_t)(q - r->target)) : strdup(r->target);
    r->query = q ? q + 1 : NULL;
    r->body = evbuffer_new();
    c->req = r;
    if (!r->path || !r->body)
        return -1;
    return 0;
}

static void conn_process(cs_conn *c)
{
    cs_server *s = c->srv;
    const cs_config *cfg = &s->gw->cfg;
    struct evbuffer *in = bufferevent_get_input(c->bev);

    if (c->phase == P_IDLE) {
        if (evbuffer_get_length(in) == 0)
            return;
        c->phase = P_HEAD;
        set_timer(c, cfg->header_timeout);
    }
    if (c->phase == P_HEAD) {
        int rc = cs_http_read_head(&c->msg, in);
        if (rc == CS_HTTP_AGAIN)
            return;
        if (rc == CS_HTTP_TOO_LARGE) {
            conn_error(c, 431, CHATSEAL_E_TOO_LARGE, c->msg.error);
            return;
        }
        if (rc == CS_HTTP_ERROR || cs_http_frame(&c->msg, 0) != CS_HTTP_DONE) {
            conn_error(c, 400, CHATSEAL_E_INVALID_REQUEST, c->msg.error);
            return;
        }
        if (start_request(c) != 0) {
            conn_error(c, 500, CHATSEAL_E_NO_MEMORY, "out of memory");
            return;
        }
        if (c->msg.target[0] != '/') {
            conn_error(c, 400, CHATSEAL_E_INVALID_REQUEST,
                       "the request target must be a path");
            return;
        }
        if (c->msg.length > cfg->max_body) {
            conn_error(c, 413, CHATSEAL_E_TOO_LARGE,
                       "request body over the size limit");
            return;
        }
        int over =
            c->msg.length > 0 ? budget_take(c, (size_t)c->msg.length) : 0;
        if (over) {
            budget_refuse(c, over);
            return;
        }
        const char *expect = cs_headers_get(&c->msg.headers, "Expect");
        if (expect && c->msg.minor >= 1 &&
            strcasecmp(expect, "100-continue") == 0 && c->msg.length != 0) {
            bufferevent_enable(c->bev, EV_WRITE);
            bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
        c->phase = P_BODY;
        set_timer(c, cfg->body_timeout);
    }
    if (c->phase == P_BODY) {
        int rc = cs_http_read_body_direct(
            &c->msg, in, c->req->body, c->tls ? -1 : bufferevent_getfd(c->bev));
        size_t got = evbuffer_get_length(c->req->body);
        if (got > (size_t)cfg->max_body) {
            conn_error(c, 413, CHATSEAL_E_TOO_LARGE,
                       "request body over the size limit");
            return;
        }
        int over = got > c->held ? budget_take(c, got - c->held) : 0;
        if (over) { /* a chunked body, reserved as it grows */
            budget_refuse(c, over);
            return;
        }
        if (rc == CS_HTTP_AGAIN)
            return;
        if (rc != CS_HTTP_DONE) {
            conn_error(c, 400, CHATSEAL_E_INVALID_REQUEST, c->msg.error);
            return;
        }
        dispatch(c);
    }
}

static void conn_new(cs_server *s, evutil_socket_t fd, struct sockaddr *sa,
                     SSL_CTX *tls)
{
    struct event_base *base = s->gw->base;
    int reject = s->nconns >= (size_t)s->gw->cfg.max_connections;
    if (reject && s->nrejecting >= (size_t)s->gw->cfg.max_connections) {
        evutil_closesocket(fd); /* a flood: no answer at all */
        return;
    }
    cs_conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = s;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evutil_make_socket_nonblocking(fd);
    if (tls) {
        SSL *ssl = SSL_new(tls);
        c->bev = ssl ? bufferevent_openssl_socket_new(base, fd, ssl,
                                                      BUFFEREVENT_SSL_ACCEPTING,
                                                      BEV_OPT_CLOSE_ON_FREE)
                     : NULL;
        if (!c->bev && ssl)
            SSL_free(ssl);
        c->tls = 1;
    } else {
        c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    /* libevent 2.1 writes at most 16 KB per writev by default: a large
     * answer then costs one syscall and one loopback/NIC push per 16 KB */
    if (c->bev)
        bufferevent_set_max_single_write(c->bev, MAX_SINGLE_WRITE);
    c->timer = event_new(base, -1, 0, on_timer, c);
    c->kick = event_new(base, -1, 0, on_kick, c);
    if (!c->bev || !c->timer || !c->kick) {
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c->timer)
            event_free(c->timer);
        if (c->kick)
            event_free(c->kick);
        free(c);
        return;
    }
    if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
        char host[INET6_ADDRSTRLEN] = "?";
        const void *a =
            sa->sa_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)(void *)sa)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)(void *)sa)->sin6_addr;
        evutil_inet_ntop(sa->sa_family, a, host, sizeof host);
        snprintf(c->peer, sizeof c->peer, "%s", host);
    } else {
        snprintf(c->peer, sizeof c->peer, "local");
    }
    cs_http_msg_init(&c->msg, 0, (size_t)s->gw->cfg.max_header);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, READ_HIGH_WATERMARK);
    struct timeval wt;
    wt.tv_sec = (time_t)s->gw->cfg.write_timeout;
    wt.tv_usec =
        (suseconds_t)((s->gw->cfg.write_timeout - (double)wt.tv_sec) * 1e6);
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    size_t mine = 0;
    if (!reject && s->gw->cfg.max_connections_per_client) {
        peer_held(s, c->peer, &mine);
        /* c is already on the list, counted in mine */
        reject = mine > (size_t)s->gw->cfg.max_connections_per_client ? 2 : 0;
    }
    if (reject) {
        c->rejecting = 1;
        s->nrejecting++;
        if (s->gw->metrics)
            cs_metrics_rejected_connection(s->gw->metrics);
        if (reject == 2)
            conn_error(c, 429, CHATSEAL_E_RATE_LIMITED,
                       "this client has too many connections open "
                       "(--max-connections-per-client)");
        else
            conn_error(c, 503, CHATSEAL_E_OVERLOADED,
                       "too many connections, try again later");
        return;
    }
    s->nconns++;
    if (s->gw->metrics)
        cs_metrics_connections(s->gw->metrics, 1);
    c->phase = P_HEAD;
    set_timer(c, s->gw->cfg.header_timeout);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    (void)l;
    (void)salen;
    struct listener *li = arg;
    conn_new(li->srv, fd, sa, li->tls);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct listener *li = arg;
    if (li->l)
        evconnlistener_enable(li->l);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct listener *li = arg;
    int err = EVUTIL_SOCKET_ERROR();
    json_t *f = json_object();
    json_object_set_new(f, "message",
                        json_string(evutil_socket_error_to_string(err)));
    cs_log("error", "accept_failed", f);
    /* e.g. EMFILE: pause accepting briefly instead of spinning */
    evconnlistener_disable(l);
    struct timeval tv = {0, 200000};
    event_add(li->retry, &tv);
}

cs_server *cs_server_new(cs_gw *gw, cs_handler_fn handler, void *arg)
{
    cs_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->gw = gw;
    s->handler = handler;
    s->answered = req_finish;
    s->arg = arg;
    if (RAND_bytes((unsigned char *)&s->id_base, sizeof s->id_base) != 1) {
        free(s);
        return NULL;
    }
    return s;
}

int cs_server_listen_fd(cs_server *s, int fd, SSL_CTX *tls)
{
    if (s->nls >= sizeof s->ls / sizeof s->ls[0])
        return -1;
    struct listener *li = calloc(1, sizeof *li);
    if (!li)
        return -1;
    li->srv = s;
    li->tls = tls;
    li->retry = event_new(s->gw->base, -1, 0, on_retry, li);
    if (li->retry)
        li->l = evconnlistener_new(
            s->gw->base, on_accept, li,
            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!li->l) { /* fd stays open: the caller still owns it */
        if (li->retry)
            event_free(li->retry);
        free(li);
        return -1;
    }
    evconnlistener_set_error_cb(li->l, on_accept_error);
    s->ls[s->nls++] = li;
    return 0;
}

int cs_server_listen(cs_server *s, const char *addr, SSL_CTX *tls, char *bound,
                     size_t boundlen)
{
    int fd = cs_listen_socket(addr, bound, boundlen);
    if (fd < 0)
        return -1;
    if (cs_server_listen_fd(s, fd, tls) != 0) {
        close(fd);
        snprintf(bound, boundlen, "cannot listen on %s: out of memory", addr);
        return -1;
    }
    return 0;
}

static void free_listeners(cs_server *s)
{
    for (size_t i = 0; i < s->nls; i++) {
        evconnlistener_free(s->ls[i]->l);
        event_free(s->ls[i]->retry);
        free(s->ls[i]);
    }
    s->nls = 0;
}

void cs_server_drain(cs_server *s, void (*done)(void *), void *arg)
{
    s->draining = 1;
    s->drained = done;
    s->drained_arg = arg;
    free_listeners(s);
    cs_conn *c = s->conns;
    while (c) {
        cs_conn *next = c->next;
        if (c->phase == P_IDLE ||
            (c->phase == P_HEAD && !c->msg.got_line &&
             evbuffer_get_length(bufferevent_get_input(c->bev)) == 0))
            conn_free(c); /* may call done() when it was the last one */
        c = next;
    }
    if (s->nconns == 0 && s->nrejecting == 0 && s->drained) {
        s->drained = NULL;
        done(arg);
    }
}

size_t cs_server_connections(const cs_server *s)
{
    return s->nconns;
}

void cs_server_free(cs_server *s)
{
    if (!s)
        return;
    free_listeners(s);
    s->drained = NULL;
    while (s->conns)
        conn_free(s->conns);
    free(s);
}
