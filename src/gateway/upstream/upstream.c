/*
 * upstream.c -- HTTP/1.1 client to the model server, on the gateway's loop.
 *
 * Design:
 *   - bufferevents (plain or OpenSSL) driven by the same event loop as the
 *     client side, so a streamed reply is copied to the client as it arrives;
 *   - keep-alive: a finished connection goes back to a small idle pool (LIFO)
 *     and is reused by the next request; an idle connection that the server
 *     closes, or that sends anything, is dropped.  A request that fails on a
 *     reused connection before any byte of the answer arrived is retried once
 *     on a fresh connection (the classic keep-alive race);
 *   - DNS through evdns (asynchronous); every address is tried in turn;
 *   - TLS: certificate and host name (or IP address) verification against the
 *     system store or --upstream-ca, SNI, TLS 1.2 minimum.  There is no way to
 *     turn verification off;
 *   - timeouts: connect (DNS + TCP + TLS) -> upstream_unavailable; silence
 *     before the head or between body bytes -> upstream_timeout;
 *   - the reply is parsed by http.c: a cut or malformed reply is
 *     upstream_error, never passed off as complete.
 *
 * Failures are reported through a deferred event, so no callback ever runs
 * inside cs_upstream_request() and callers need no reentrancy care.
 * `--upstream mock` routes requests to mock.c through the same callbacks.
 */
#include "upstream/upstream.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <openssl/x509v3.h>

#include "upstream/mock.h"
#include "core/sockio.h"

#define MAX_IDLE 32
#define IDLE_SECONDS 30
#define MAX_RESPONSE_HEAD (64 * 1024)
#define MAX_SINGLE_WRITE (4 * 1024 * 1024)

struct upconn {
    cs_upstream *u;
    struct upconn *next;
    struct bufferevent *bev;
    unsigned nreq;
};

struct cs_upstream {
    cs_gw *gw;
    int mock;
    int tls;
    int host_is_ip;
    char *host; /* without brackets */
    char port[8];
    char *base_path; /* "" or "/prefix" */
    char *host_header;
    char describe[300];
    SSL_CTX *ctx;
    struct upconn *idle;
    size_t nidle;
};

enum { R_RESOLVE, R_CONNECT, R_WAIT, R_BODY, R_FAILED, R_MOCK };

struct cs_upreq {
    cs_upstream *u;
    cs_upstream_cbs cbs;
    void *ctx;
    struct evbuffer *wire; /* the serialized request, kept for a retry */
    struct upconn *c;
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
    cs_mock_reply *mock; /* --upstream mock: the reply being played */
    size_t mock_step;
};

static void up_read(struct bufferevent *bev, void *arg);
static void up_event(struct bufferevent *bev, short what, void *arg);
static void start_connect(cs_upreq *r);

/* ---------------------------------------------------------------- setup -- */

static int parse_url(cs_upstream *u, const char *url, char *err, size_t errlen)
{
    const char *p;
    if (!strncasecmp(url, "http://", 7)) {
        p = url + 7;
    } else if (!strncasecmp(url, "https://", 8)) {
        u->tls = 1;
        p = url + 8;
    } else {
        snprintf(err, errlen,
                 "--upstream must start with http:// or "
                 "https:// (or be \"mock\")");
        return -1;
    }
    size_t alen = strcspn(p, "/?#");
    const char *path = p + alen;
    if (memchr(p, '@', alen)) {
        snprintf(err, errlen,
                 "--upstream must not hold credentials; the "
                 "client's Authorization header is passed on");
        return -1;
    }
    const char *hs = p, *he, *portp = NULL;
    if (*p == '[') {
        he = memchr(p, ']', alen);
        if (!he) {
            snprintf(err, errlen, "--upstream: bad IPv6 address");
            return -1;
        }
        hs = p + 1;
        if (he + 1 < p + alen) {
            if (he[1] != ':') {
                snprintf(err, errlen, "--upstream: bad address");
                return -1;
            }
            portp = he + 2;
        }
        u->host_is_ip = 1;
    } else {
        he = memchr(p, ':', alen);
        if (he)
            portp = he + 1;
        else
            he = p + alen;
    }
    if (he == hs) {
        snprintf(err, errlen, "--upstream: no host");
        return -1;
    }
    u->host = strndup(hs, (size_t)(he - hs));
    if (portp) {
        size_t pl = (size_t)(p + alen - portp);
        if (pl == 0 || pl > 5) {
            snprintf(err, errlen, "--upstream: bad port");
            return -1;
        }
        long port = 0;
        for (size_t i = 0; i < pl; i++) {
            if (!isdigit((unsigned char)portp[i])) {
                snprintf(err, errlen, "--upstream: bad port");
                return -1;
            }
            port = port * 10 + (portp[i] - '0');
        }
        if (port < 1 || port > 65535) {
            snprintf(err, errlen, "--upstream: bad port");
            return -1;
        }
        snprintf(u->port, sizeof u->port, "%ld", port);
    } else {
        snprintf(u->port, sizeof u->port, "%s", u->tls ? "443" : "80");
    }
    if (*path == '?' || *path == '#') {
        snprintf(err, errlen, "--upstream: no query or fragment allowed");
        return -1;
    }
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    /* a trailing "/v1" is the API root the client already addresses */
    if (plen >= 3 && !strncmp(path + plen - 3, "/v1", 3))
        plen -= 3;
    u->base_path = strndup(path, plen);
    for (size_t i = 0; u->base_path && i < plen; i++) {
        unsigned char ch = (unsigned char)u->base_path[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            snprintf(err, errlen, "--upstream: bad character in path");
            return -1;
        }
    }
    if (!u->host_is_ip) {
        struct in_addr a4;
        u->host_is_ip = evutil_inet_pton(AF_INET, u->host, &a4) == 1;
    }
    int default_port = !strcmp(u->port, u->tls ? "443" : "80");
    char hh[300];
    int ipv6 = strchr(u->host, ':') != NULL;
    snprintf(hh, sizeof hh, "%s%s%s%s%s", ipv6 ? "[" : "", u->host,
             ipv6 ? "]" : "", default_port ? "" : ":",
             default_port ? "" : u->port);
    u->host_header = strdup(hh);
    snprintf(u->describe, sizeof u->describe, "%s://%.150s%.120s",
             u->tls ? "https" : "http", hh, u->base_path ? u->base_path : "");
    if (!u->host || !u->base_path || !u->host_header) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (const char *h = u->host; *h; h++)
        if ((unsigned char)*h <= 0x20 || *h == '/' || *h == '\\') {
            snprintf(err, errlen, "--upstream: bad host");
            return -1;
        }
    return 0;
}

cs_upstream *cs_upstream_new(cs_gw *gw, char *err, size_t errlen)
{
    cs_upstream *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->gw = gw;
    if (!strcmp(gw->cfg.upstream, "mock")) {
        u->mock = 1;
        snprintf(u->describe, sizeof u->describe, "mock");
        return u;
    }
    if (parse_url(u, gw->cfg.upstream, err, errlen) != 0) {
        cs_upstream_free(u);
        return NULL;
    }
    if (u->tls) {
        u->ctx = SSL_CTX_new(TLS_client_method());
        if (!u->ctx) {
            snprintf(err, errlen, "TLS setup failed");
            cs_upstream_free(u);
            return NULL;
        }
        SSL_CTX_set_min_proto_version(u->ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(u->ctx, SSL_VERIFY_PEER, NULL);
        int ok = gw->cfg.upstream_ca ? SSL_CTX_load_verify_locations(
                                           u->ctx, gw->cfg.upstream_ca, NULL)
                                     : SSL_CTX_set_default_verify_paths(u->ctx);
        if (ok != 1) {
            snprintf(err, errlen, "cannot load CA certificates%s%s",
                     gw->cfg.upstream_ca ? " from " : "",
                     gw->cfg.upstream_ca ? gw->cfg.upstream_ca : "");
            cs_upstream_free(u);
            return NULL;
        }
    } else if (gw->cfg.upstream_ca) {
        snprintf(err, errlen, "--upstream-ca needs an https:// upstream");
        cs_upstream_free(u);
        return NULL;
    }
    return u;
}

static void conn_close(struct upconn *c)
{
    if (c) {
        bufferevent_free(c->bev);
        free(c);
    }
}

void cs_upstream_free(cs_upstream *u)
{
    if (!u)
        return;
    while (u->idle) {
        struct upconn *c = u->idle;
        u->idle = c->next;
        conn_close(c);
    }
    SSL_CTX_free(u->ctx);
    free(u->host);
    free(u->base_path);
    free(u->host_header);
    free(u);
}

const char *cs_upstream_describe(const cs_upstream *u)
{
    return u->describe;
}

/* ----------------------------------------------------------------- pool -- */

static void idle_drop(cs_upstream *u, struct upconn *c)
{
    struct upconn **pp = &u->idle;
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = c->next;
        u->nidle--;
    }
    conn_close(c);
}

static void idle_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct upconn *c = arg;
    idle_drop(c->u, c); /* unexpected bytes: the connection is unusable */
}

static void idle_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    struct upconn *c = arg;
    idle_drop(c->u, c);
}

static void pool_put(cs_upstream *u, struct upconn *c)
{
    if (u->nidle >= MAX_IDLE || u->gw->draining) {
        conn_close(c);
        return;
    }
    struct timeval tv = {IDLE_SECONDS, 0};
    bufferevent_setcb(c->bev, idle_read, NULL, idle_event, c);
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ);
    c->next = u->idle;
    u->idle = c;
    u->nidle++;
}

static struct upconn *pool_take(cs_upstream *u)
{
    struct upconn *c = u->idle;
    if (!c)
        return NULL;
    u->idle = c->next;
    u->nidle--;
    c->next = NULL;
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    return c;
}

/* -------------------------------------------------------------- request -- */

static void set_timer(cs_upreq *r, double seconds)
{
    struct timeval tv;
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    event_add(r->timer, &tv);
}

static void req_free(cs_upreq *r)
{
    if (r->timer)
        event_del(r->timer);
    if (r->defer)
        event_del(r->defer);
    if (r->c) {
        conn_close(r->c);
        r->c = NULL;
    }
    if (r->dns_pending) {
        r->zombie = 1; /* the DNS callback frees it */
        return;
    }
    cs_mock_reply_free(r->mock);
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
static void fail(cs_upreq *r, chatseal_error code, const char *detail)
{
    if (r->phase == R_FAILED)
        return;
    r->phase = R_FAILED;
    r->fail_code = code;
    snprintf(r->detail, sizeof r->detail, "%s", detail);
    event_del(r->timer);
    if (r->c) {
        conn_close(r->c);
        r->c = NULL;
    }
    event_active(r->defer, EV_TIMEOUT, 0);
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cs_upreq *r = arg;
    r->in_cb = 1;
    r->cbs.on_done(r->ctx, r->fail_code, r->detail);
    r->in_cb = 0;
    req_free(r);
}

static void complete(cs_upreq *r)
{
    struct upconn *c = r->c;
    r->c = NULL;
    event_del(r->timer);
    if (c && r->msg.keep_alive && !r->msg.until_eof &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
        pool_put(r->u, c);
    else
        conn_close(c);
    r->in_cb = 1;
    r->cbs.on_done(r->ctx, CHATSEAL_OK, "");
    r->in_cb = 0;
    req_free(r);
}

/* Hands the decoded body bytes to on_body.  Returns -1 if the request was
 * cancelled from inside the callback (and has been freed). */
static int deliver(cs_upreq *r)
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
static int process(cs_upreq *r, int eof)
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
    cs_upreq *r = arg;
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

static void retry_fresh(cs_upreq *r)
{
    conn_close(r->c);
    r->c = NULL;
    r->retried = 1;
    r->got_bytes = 0;
    cs_http_msg_reset(&r->msg);
    start_connect(r);
}

static void up_event(struct bufferevent *bev, short what, void *arg)
{
    cs_upreq *r = arg;
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
        if (r->u->tls)
            tls_detail(bev, d, sizeof d);
        else
            snprintf(d, sizeof d, "cannot connect to %.160s: %.60s",
                     r->u->describe,
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        conn_close(r->c);
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
    cs_upreq *r = arg;
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
    free((void *)data);
}

static void attach(cs_upreq *r, struct upconn *c)
{
    r->c = c;
    c->nreq++;
    bufferevent_setcb(c->bev, up_read, NULL, up_event, r);
    /* by reference, not a copy: the wire stays intact for a retry, and the
     * body's bytes go from the canonical encoder to the socket untouched */
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    evbuffer_add_buffer_reference(bufferevent_get_output(c->bev), r->wire);
    if (r->phase == R_WAIT) /* a pooled, connected socket: write now */
        cs_sockio_flush(c->bev, r->u->tls);
}

static void connect_next(cs_upreq *r)
{
    struct event_base *base = r->u->gw->base;
    char d[256] = "no address";
    while (r->ai_next) {
        struct evutil_addrinfo *ai = r->ai_next;
        r->ai_next = ai->ai_next;
        struct bufferevent *bev;
        if (r->u->tls) {
            SSL *ssl = SSL_new(r->u->ctx);
            if (!ssl)
                continue;
            if (r->u->host_is_ip) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), r->u->host);
            } else {
                SSL_set_tlsext_host_name(ssl, r->u->host);
                SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
                SSL_set1_host(ssl, r->u->host);
            }
            bev = bufferevent_openssl_socket_new(base, -1, ssl,
                                                 BUFFEREVENT_SSL_CONNECTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
            if (!bev) {
                SSL_free(ssl);
                continue;
            }
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        } else {
            bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
            if (!bev)
                continue;
        }
        struct upconn *c = calloc(1, sizeof *c);
        if (!c) {
            bufferevent_free(bev);
            continue;
        }
        c->u = r->u;
        c->bev = bev;
        /* see server.c: one writev for the whole forwarded body, not 16 KB */
        bufferevent_set_max_single_write(bev, MAX_SINGLE_WRITE);
        bufferevent_setcb(bev, up_read, NULL, up_event, r);
        if (bufferevent_socket_connect(bev, ai->ai_addr, (int)ai->ai_addrlen) !=
            0) {
            snprintf(d, sizeof d, "cannot connect to %.160s: %.60s",
                     r->u->describe, strerror(errno));
            conn_close(c);
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
    cs_upreq *r = arg;
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
        snprintf(d, sizeof d, "cannot resolve %s: %s", r->u->host,
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

static void start_connect(cs_upreq *r)
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
    if (r->u->host_is_ip)
        hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
    if (r->u->gw->dns) {
        r->dns_pending = 1;
        struct evdns_getaddrinfo_request *q = evdns_getaddrinfo(
            r->u->gw->dns, r->u->host, r->u->port, &hints, dns_done, r);
        if (r->dns_pending)
            r->dns = q;
        return;
    }
    struct evutil_addrinfo *res = NULL;
    int rc = evutil_getaddrinfo(r->u->host, r->u->port, &hints, &res);
    r->dns_pending = 1;
    dns_done(rc, res, r);
}

/* --upstream mock: plays a reply built by mock.c, one step per timer tick:
 * head, then each body piece (--mock-delay apart), then done. */
static void mock_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cs_upreq *r = arg;
    cs_mock_reply *m = r->mock;
    size_t step = r->mock_step++;
    r->in_cb = 1;
    if (step == 0)
        r->cbs.on_head(r->ctx, m->status, &m->headers);
    else if (step <= m->nparts)
        r->cbs.on_body(r->ctx, m->parts[step - 1], m->lens[step - 1]);
    else
        r->cbs.on_done(r->ctx, CHATSEAL_OK, "");
    r->in_cb = 0;
    if (r->cancelled || step > m->nparts) {
        req_free(r);
        return;
    }
    if (!r->paused) {
        struct timeval tv = {0, 0};
        if (step >= 1 && step < m->nparts) {
            tv.tv_sec = m->delay_ms / 1000;
            tv.tv_usec = (suseconds_t)(m->delay_ms % 1000) * 1000;
        }
        event_add(r->timer, &tv);
    }
}

cs_upreq *cs_upstream_request(cs_upstream *u, const char *method,
                              const char *path_query, const cs_headers *headers,
                              char *body, size_t len,
                              const cs_upstream_cbs *cbs, void *ctx)
{
    struct event_base *base = u->gw->base;
    cs_upreq *r = calloc(1, sizeof *r);
    if (!r) {
        free(body);
        return NULL;
    }
    r->u = u;
    r->cbs = *cbs;
    r->ctx = ctx;
    r->timer = event_new(base, -1, 0, u->mock ? mock_step : on_timer, r);
    r->defer = event_new(base, -1, 0, on_defer, r);
    cs_http_msg_init(&r->msg, 1, MAX_RESPONSE_HEAD);
    if (!r->timer || !r->defer) {
        free(body);
        req_free(r);
        return NULL;
    }
    if (u->mock) {
        r->phase = R_MOCK;
        r->mock = cs_mock_reply_build(u->gw, method, path_query, body, len);
        free(body);
        if (!r->mock) {
            req_free(r);
            return NULL;
        }
        struct timeval tv = {0, 0};
        event_add(r->timer, &tv);
        return r;
    }
    r->wire = evbuffer_new();
    r->scratch = evbuffer_new();
    if (!r->wire || !r->scratch) {
        free(body);
        req_free(r);
        return NULL;
    }
    evbuffer_add_printf(r->wire, "%s %s%s HTTP/1.1\r\nHost: %s\r\n", method,
                        u->base_path, path_query, u->host_header);
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

    struct upconn *c = pool_take(u);
    if (c) {
        r->phase = R_WAIT;
        set_timer(r, u->gw->cfg.upstream_timeout);
        attach(r, c);
    } else {
        start_connect(r);
    }
    return r;
}

void cs_upstream_cancel(cs_upreq *r)
{
    if (!r)
        return;
    if (r->in_cb) {
        r->cancelled = 1;
        return;
    }
    r->cancelled = 1;
    req_free(r);
}

void cs_upstream_pause(cs_upreq *r, int paused)
{
    if (!r || r->paused == paused)
        return;
    r->paused = paused;
    if (r->mock) {
        if (paused) {
            event_del(r->timer);
        } else {
            struct timeval tv = {0, 0};
            event_add(r->timer, &tv);
        }
        return;
    }
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
