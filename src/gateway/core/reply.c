/*
 * reply.c -- the answer half of the HTTP server: what a handler calls to
 * answer a request (server.h: cs_req_reply, cs_req_error, cs_req_stream_*).
 *
 * An answer is written straight into the connection's output bufferevent:
 * the head (status, Content-Length or chunked, the handler's headers, CORS,
 * X-Request-Id, Connection), then the body.  Whether the connection stays
 * open is decided here, when the head is written: HTTP/1.0 without
 * keep-alive, a request that asked to close, or a draining server close it.
 * Once an answer is complete the connection code takes over again through
 * srv->answered (see conn.h: this file never calls server.c).
 */
#include "core/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/conn.h"
#include "core/cors.h"
#include "core/errors.h"

uint64_t cs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void write_head(cs_req *r, int status, const char *ctype, int64_t length)
{
    cs_conn *c = r->conn;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    bufferevent_enable(c->bev, EV_WRITE); /* cs_sockio_flush() turns it off */
    r->status = status;
    r->started = 1;
    if (!c->msg.keep_alive || c->srv->draining)
        c->close_after = 1;
    size_t before = evbuffer_get_length(out);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
                        cs_http_reason(status));
    if (ctype)
        evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
    if (status == 204 || status == 304) {
        /* no body, and no Content-Length either (RFC 9110 8.6) */
    } else if (length >= 0) {
        evbuffer_add_printf(out, "Content-Length: %lld\r\n", (long long)length);
    } else if (r->minor >= 1) {
        r->chunked = 1;
        evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
    } else {
        c->close_after = 1; /* HTTP/1.0: the body ends with the connection */
    }
    for (size_t i = 0; i < r->resp_headers.n; i++)
        evbuffer_add_printf(out, "%s: %s\r\n", r->resp_headers.v[i].name,
                            r->resp_headers.v[i].value);
    cs_cors_head(&c->srv->gw->cfg, r->headers, out);
    evbuffer_add_printf(out, "X-Request-Id: %s\r\n", r->id);
    if (c->close_after)
        evbuffer_add_printf(out, "Connection: close\r\n");
    else if (r->minor == 0)
        evbuffer_add_printf(out, "Connection: keep-alive\r\n");
    evbuffer_add(out, "\r\n", 2);
    r->out_bytes += evbuffer_get_length(out) - before;
}

void cs_req_header(cs_req *r, const char *name, const char *value)
{
    if (!r->started)
        cs_headers_add(&r->resp_headers, name, strlen(name), value,
                       strlen(value));
}

void cs_req_reply(cs_req *r, int status, const char *ctype, const char *body,
                  size_t len)
{
    if (r->started)
        return;
    write_head(r, status, ctype, (int64_t)len);
    if (!r->head && len) {
        bufferevent_write(r->conn->bev, body, len);
        r->out_bytes += len;
    }
    r->conn->srv->answered(r);
}

void cs_req_reply_buffer(cs_req *r, int status, const char *ctype,
                         struct evbuffer *body)
{
    if (r->started)
        return;
    size_t len = evbuffer_get_length(body);
    write_head(r, status, ctype, (int64_t)len);
    if (!r->head) {
        bufferevent_write_buffer(r->conn->bev, body);
        r->out_bytes += len;
    } else {
        evbuffer_drain(body, len);
    }
    r->conn->srv->answered(r);
}

void cs_req_error_ex(cs_req *r, int status, chatseal_error e,
                     const char *message, const char *extra)
{
    if (r->started)
        return;
    r->code = e;
    char *body = cs_error_json_style(r->style, e, message, extra);
    static const char fallback[] =
        "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\","
        "\"param\":null,\"code\":\"out_of_memory\"}}";
    if (!status)
        status = cs_error_status(e);
    cs_req_reply(r, status, "application/json", body ? body : fallback,
                 body ? strlen(body) : sizeof fallback - 1);
    free(body);
}

void cs_req_error(cs_req *r, chatseal_error e, const char *message)
{
    cs_req_error_ex(r, 0, e, message, NULL);
}

void cs_req_stream_begin(cs_req *r, int status, const char *ctype)
{
    if (r->started)
        return;
    r->streaming = 1;
    write_head(r, status, ctype, -1);
}

void cs_req_stream_write(cs_req *r, const void *data, size_t len)
{
    if (!r->streaming || !len || r->head)
        return;
    struct bufferevent *bev = r->conn->bev;
    if (r->chunked) {
        char hdr[24];
        int n = snprintf(hdr, sizeof hdr, "%zx\r\n", len);
        bufferevent_write(bev, hdr, (size_t)n);
        bufferevent_write(bev, data, len);
        bufferevent_write(bev, "\r\n", 2);
        r->out_bytes += (size_t)n + len + 2;
    } else {
        bufferevent_write(bev, data, len);
        r->out_bytes += len;
    }
}

void cs_req_stream_end(cs_req *r, int close_conn)
{
    if (!r->streaming)
        return;
    if (r->chunked && !r->head) {
        bufferevent_write(r->conn->bev, "0\r\n\r\n", 5);
        r->out_bytes += 5;
    }
    if (close_conn)
        r->conn->close_after = 1;
    r->conn->srv->answered(r);
}

size_t cs_req_pending(const cs_req *r)
{
    return evbuffer_get_length(bufferevent_get_output(r->conn->bev));
}
