/*
 * test_upstream.c -- the upstream interface (src/gateway/upstream/
 * upstream.h) with the mock backend behind it, on a real event loop, and
 * the --upstream URL checks of the HTTP backend (target.c).
 *
 * The chat path relies on the interface's contract, whichever backend
 * answers: no callback runs inside cs_upstream_request(); on_head once,
 * then on_body, then on_done exactly once and last; cs_upstream_cancel()
 * from inside a callback stops every later callback; a paused request
 * delivers nothing until resumed.  These tests hold the mock backend to
 * that contract, and read its streamed reply through the same SSE splitter
 * and assembly chat.c uses, so the message the gateway would sign is
 * checked too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "api/assemble.h"
#include "gw.h"
#include "tu.h"
#include "upstream/sse.h"
#include "upstream/upstream.h"

struct call {
    cs_upreq *req;
    int heads, dones, bodies_after_done, calls_inline;
    int in_request; /* set while cs_upstream_request runs */
    int status;
    char ctype[64];
    chatseal_error err;
    struct evbuffer *body;
    int cancel_at_body; /* cancel inside the n-th on_body (1-based) */
    int nbodies;
    int pause_after_head;
};

static void on_head(void *ctx, int status, const cs_headers *h)
{
    struct call *c = ctx;
    c->calls_inline += c->in_request;
    c->heads++;
    c->status = status;
    const char *ct = cs_headers_get(h, "Content-Type");
    snprintf(c->ctype, sizeof c->ctype, "%s", ct ? ct : "");
    if (c->pause_after_head)
        cs_upstream_pause(c->req, 1);
}

static void on_body(void *ctx, const char *data, size_t len)
{
    struct call *c = ctx;
    c->calls_inline += c->in_request;
    c->bodies_after_done += c->dones;
    c->nbodies++;
    evbuffer_add(c->body, data, len);
    if (c->cancel_at_body && c->nbodies == c->cancel_at_body) {
        cs_upstream_cancel(c->req);
        c->req = NULL;
    }
}

static void on_done(void *ctx, chatseal_error err, const char *detail)
{
    (void)detail;
    struct call *c = ctx;
    c->calls_inline += c->in_request;
    c->dones++;
    c->err = err;
    c->req = NULL;
}

static const cs_upstream_cbs cbs = {on_head, on_body, on_done};

static void gw_init(cs_gw *gw, const char *upstream)
{
    memset(gw, 0, sizeof *gw);
    gw->base = event_base_new();
    if (!gw->base)
        abort();
    gw->cfg.upstream = upstream;
    gw->cfg.upstream_timeout = 5;
    gw->cfg.upstream_connect_timeout = 5;
}

static void start(cs_upstream *u, struct call *c, const char *method,
                  const char *path, const char *body)
{
    c->body = evbuffer_new();
    if (!c->body)
        abort();
    cs_headers h;
    cs_headers_init(&h);
    char *copy = body ? strdup(body) : NULL;
    c->in_request = 1;
    c->req = cs_upstream_request(u, method, path, &h, copy,
                                 body ? strlen(body) : 0, &cbs, c);
    c->in_request = 0;
    cs_headers_clear(&h);
    CHECK(c->req != NULL, "request refused");
}

static char *body_text(struct call *c)
{
    size_t n = evbuffer_get_length(c->body);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    evbuffer_remove(c->body, s, n);
    s[n] = '\0';
    evbuffer_free(c->body);
    c->body = NULL;
    return s;
}

#define CHAT_BODY(stream)                                                      \
    "{\"model\":\"m\",\"stream\":" stream ",\"messages\":[{\"role\":"          \
    "\"user\",\"content\":\"hi there\"}]}"
#define WANT_TEXT                                                              \
    "[mock] Reply 1. You said: \"hi there\". I am the built-in demo model "    \
    "of chatseal serve: I only echo, but the gateway signs every reply I "     \
    "give."

static void test_whole_reply(void)
{
    cs_gw gw;
    gw_init(&gw, "mock");
    char err[200] = "";
    cs_upstream *u = cs_upstream_new(&gw, err, sizeof err);
    CHECK(u != NULL, "mock upstream: %s", err);
    CHECK(!strcmp(cs_upstream_describe(u), "mock"), "describe %s",
          cs_upstream_describe(u));
    struct call c = {0};
    start(u, &c, "POST", "/v1/chat/completions", CHAT_BODY("false"));
    CHECK(c.heads == 0 && c.dones == 0, "a callback ran inside the request");
    event_base_dispatch(gw.base);
    CHECK(c.heads == 1 && c.dones == 1, "head %d, done %d", c.heads, c.dones);
    CHECK(c.calls_inline == 0 && c.bodies_after_done == 0, "order");
    CHECK(c.status == 200 && c.err == CHATSEAL_OK, "status %d err %d", c.status,
          c.err);
    CHECK(!strcmp(c.ctype, "application/json"), "ctype %s", c.ctype);
    char *text = body_text(&c);
    json_t *j = json_loads(text, 0, NULL);
    json_t *msg = json_object_get(
        json_object_get(json_array_get(json_object_get(j, "choices"), 0),
                        "message"),
        "content");
    CHECK(json_is_string(msg) && !strcmp(json_string_value(msg), WANT_TEXT),
          "content: %s", text);
    json_decref(j);
    free(text);
    cs_upstream_free(u);
    event_base_free(gw.base);
}

static int on_sse(void *ctx, const char *raw, size_t rawlen, const char *event,
                  const char *data, size_t datalen, int has_data)
{
    (void)raw;
    (void)rawlen;
    (void)event;
    cs_assembly *a = ctx;
    if (!has_data || (datalen == 6 && !memcmp(data, "[DONE]", 6)))
        return 0;
    json_t *j = json_loadb(data, datalen, JSON_DECODE_INT_AS_REAL, NULL);
    int bad = cs_assembly_add(a, j);
    json_decref(j);
    return bad;
}

/* The streamed reply, split and assembled as chat.c does, is the same
 * message as the whole one. */
static void test_stream_assembles(void)
{
    cs_gw gw;
    gw_init(&gw, "mock");
    char err[200] = "";
    cs_upstream *u = cs_upstream_new(&gw, err, sizeof err);
    struct call c = {0};
    start(u, &c, "POST", "/v1/chat/completions", CHAT_BODY("true"));
    event_base_dispatch(gw.base);
    CHECK(c.heads == 1 && c.dones == 1 && c.err == CHATSEAL_OK, "finished");
    CHECK(!strcmp(c.ctype, "text/event-stream"), "ctype %s", c.ctype);
    CHECK(c.nbodies > 3, "one body piece per event: %d", c.nbodies);
    char *text = body_text(&c);
    size_t n = strlen(text);
    CHECK(n > 14 && !strcmp(text + n - 14, "data: [DONE]\n\n"),
          "ends with [DONE]");
    cs_sse p;
    cs_assembly *a = cs_assembly_new(1 << 20);
    if (cs_sse_init(&p, 1 << 20) != 0 || !a)
        abort();
    CHECK(cs_sse_feed(&p, text, n, on_sse, a) == 0, "stream read");
    CHECK(cs_sse_pending(&p) == 0, "nothing left");
    CHECK(cs_assembly_finished(a), "finish_reason");
    char *m = cs_assembly_message(a);
    json_t *mj = m ? json_loads(m, 0, NULL) : NULL;
    json_t *content = json_object_get(mj, "content");
    CHECK(json_is_string(content) &&
              !strcmp(json_string_value(content), WANT_TEXT) &&
              json_object_size(mj) == 2,
          "message %s", m ? m : "(null)");
    json_decref(mj);
    /* the ids are derived from the request bytes */
    CHECK(!strncmp(cs_assembly_id(a), "chatcmpl-mock-", 14), "id %s",
          cs_assembly_id(a));
    free(m);
    cs_assembly_free(a);
    cs_sse_free(&p);
    free(text);
    cs_upstream_free(u);
    event_base_free(gw.base);
}

/* Cancelled inside on_body: no callback after that (ASan: nothing freed is
 * touched, nothing leaks). */
static void test_cancel_inside_callback(void)
{
    cs_gw gw;
    gw_init(&gw, "mock");
    char err[200] = "";
    cs_upstream *u = cs_upstream_new(&gw, err, sizeof err);
    struct call c = {0};
    c.cancel_at_body = 2;
    start(u, &c, "POST", "/v1/chat/completions", CHAT_BODY("true"));
    event_base_dispatch(gw.base);
    CHECK(c.heads == 1 && c.nbodies == 2 && c.dones == 0,
          "head %d, bodies %d, done %d", c.heads, c.nbodies, c.dones);
    evbuffer_free(c.body);

    /* and cancelled before the loop ran at all */
    struct call d = {0};
    start(u, &d, "POST", "/v1/chat/completions", CHAT_BODY("false"));
    cs_upstream_cancel(d.req);
    event_base_dispatch(gw.base);
    CHECK(d.heads == 0 && d.nbodies == 0 && d.dones == 0, "after cancel");
    evbuffer_free(d.body);
    cs_upstream_cancel(NULL); /* a no-op */
    cs_upstream_free(u);
    event_base_free(gw.base);
}

static void test_pause(void)
{
    cs_gw gw;
    gw_init(&gw, "mock");
    char err[200] = "";
    cs_upstream *u = cs_upstream_new(&gw, err, sizeof err);
    struct call c = {0};
    c.pause_after_head = 1;
    start(u, &c, "POST", "/v1/chat/completions", CHAT_BODY("true"));
    /* the loop ends when nothing is pending: paused, nothing is */
    event_base_dispatch(gw.base);
    CHECK(c.heads == 1 && c.nbodies == 0 && c.dones == 0,
          "paused: head %d, bodies %d, done %d", c.heads, c.nbodies, c.dones);
    cs_upstream_pause(c.req, 0);
    event_base_dispatch(gw.base);
    CHECK(c.nbodies > 3 && c.dones == 1 && c.err == CHATSEAL_OK,
          "resumed: bodies %d, done %d", c.nbodies, c.dones);
    evbuffer_free(c.body);
    cs_upstream_free(u);
    event_base_free(gw.base);
}

static void test_other_paths(void)
{
    cs_gw gw;
    gw_init(&gw, "mock");
    char err[200] = "";
    cs_upstream *u = cs_upstream_new(&gw, err, sizeof err);
    struct call c = {0}, d = {0}, e = {0};
    start(u, &c, "GET", "/v1/models", NULL);
    start(u, &d, "POST", "/v1/completions", "{}");
    start(u, &e, "POST", "/v1/chat/completions", "{\"messages\":1}");
    event_base_dispatch(gw.base);
    CHECK(c.status == 200 && c.dones == 1, "models: %d", c.status);
    char *t = body_text(&c);
    CHECK(strstr(t, "\"chatseal-mock\"") != NULL, "models list: %s", t);
    free(t);
    CHECK(d.status == 404 && d.dones == 1 && d.err == CHATSEAL_OK,
          "unknown path: %d", d.status);
    CHECK(e.status == 400 && e.dones == 1, "no messages array: %d", e.status);
    evbuffer_free(d.body);
    evbuffer_free(e.body);
    cs_upstream_free(u);
    event_base_free(gw.base);
}

static void check_url(int line, const char *url, const char *ca,
                      const char *want)
{
    cs_gw gw;
    gw_init(&gw, url);
    gw.cfg.upstream_ca = ca;
    char err[200] = "";
    cs_upstream *u = cs_upstream_new(&gw, err, sizeof err);
    if (want[0] == '!') { /* an error containing want + 1 */
        if (u || !strstr(err, want + 1))
            cs_test_fail(__FILE__, line, "%s: accepted or \"%s\"", url, err);
    } else if (!u || strcmp(cs_upstream_describe(u), want)) {
        cs_test_fail(__FILE__, line, "%s: %s", url,
                     u ? cs_upstream_describe(u) : err);
    }
    cs_upstream_free(u);
    event_base_free(gw.base);
}

/* --upstream for the HTTP backend: what is accepted, and how it is named in
 * logs (no path beyond the base, the default port left out). */
static void test_urls(void)
{
    check_url(__LINE__, "http://127.0.0.1:8080/v1", NULL,
              "http://127.0.0.1:8080");
    check_url(__LINE__, "http://model.internal/api/v1/", NULL,
              "http://model.internal/api");
    check_url(__LINE__, "https://[::1]:443", NULL, "https://[::1]");
    check_url(__LINE__, "HTTP://h:80", NULL, "http://h");
    check_url(__LINE__, "ftp://h", NULL, "!must start with http://");
    check_url(__LINE__, "http://user:pw@h", NULL, "!must not hold credentials");
    check_url(__LINE__, "http://h:0", NULL, "!bad port");
    check_url(__LINE__, "http://h:65536", NULL, "!bad port");
    check_url(__LINE__, "http://h:8x", NULL, "!bad port");
    check_url(__LINE__, "http://:80", NULL, "!no host");
    check_url(__LINE__, "http://[::1", NULL, "!bad IPv6 address");
    check_url(__LINE__, "http://h?q", NULL, "!no query or fragment");
    check_url(__LINE__, "http://h/?q", NULL, "!no query or fragment");
    check_url(__LINE__, "http://h/base#f", NULL, "!no query or fragment");
    check_url(__LINE__, "http://h/a b", NULL, "!bad character in path");
    check_url(__LINE__, "http://h", "/etc/hostname",
              "!--upstream-ca needs an https:// upstream");
    check_url(__LINE__, "https://h", "/nonexistent/ca.pem",
              "!cannot load CA certificates from /nonexistent/ca.pem");
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"whole_reply", test_whole_reply},
        {"stream_assembles", test_stream_assembles},
        {"cancel_inside_callback", test_cancel_inside_callback},
        {"pause", test_pause},
        {"other_paths", test_other_paths},
        {"urls", test_urls},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
