/*
 * mock_upstream.c -- the backend of `--upstream mock`: plays the replies of
 * the built-in mock model (mock.c) through the upstream callbacks.
 *
 * A reply is built whole when the request arrives, then played one step per
 * timer tick: the head, each body part (--mock-delay apart, so a stream is
 * visibly a stream), then on_done.  Every step runs from the loop, never
 * inside cs_upstream_request(), and pausing stops the timer, so the chat
 * path sees the same ordering, backpressure and cancellation rules as with a
 * real server (upstream.c).
 */
#include "upstream/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include <event2/event.h>

#include "upstream/mock.h"

typedef struct mock_req mock_req;

typedef struct mock_upstream {
    cs_upstream base;
    cs_gw *gw;
    mock_req *live; /* requests in flight: finished on mock_free */
} mock_upstream;

struct mock_req {
    cs_upreq base;
    mock_upstream *u;
    mock_req *prev, *next;
    cs_upstream_cbs cbs;
    void *ctx;
    struct event *timer;
    cs_mock_reply *reply;
    size_t step;
    int paused, in_cb, cancelled;
};

static void req_free(mock_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (r->u->live == r)
        r->u->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->timer)
        event_free(r->timer);
    cs_mock_reply_free(r->reply);
    free(r);
}

static void play_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    mock_req *r = arg;
    cs_mock_reply *m = r->reply;
    size_t step = r->step++;
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

static cs_upreq *mock_request(cs_upstream *base_u, const char *method,
                              const char *path_query, const cs_headers *headers,
                              char *body, size_t len,
                              const cs_upstream_cbs *cbs, void *ctx)
{
    (void)headers;
    mock_upstream *u = (mock_upstream *)base_u;
    mock_req *r = calloc(1, sizeof *r);
    if (!r) {
        free(body);
        return NULL;
    }
    r->base.ops = base_u->ops;
    r->u = u;
    r->next = u->live;
    if (u->live)
        u->live->prev = r;
    u->live = r;
    r->cbs = *cbs;
    r->ctx = ctx;
    r->timer = event_new(u->gw->base, -1, 0, play_step, r);
    r->reply = cs_mock_reply_build(u->gw, method, path_query, body, len);
    free(body);
    if (!r->timer || !r->reply) {
        req_free(r);
        return NULL;
    }
    struct timeval tv = {0, 0};
    event_add(r->timer, &tv);
    return &r->base;
}

static void mock_cancel(cs_upreq *base_r)
{
    mock_req *r = (mock_req *)base_r;
    r->cancelled = 1;
    if (!r->in_cb) /* else play_step frees it when the callback returns */
        req_free(r);
}

static void mock_pause(cs_upreq *base_r, int paused)
{
    mock_req *r = (mock_req *)base_r;
    if (r->paused == paused)
        return;
    r->paused = paused;
    if (paused) {
        event_del(r->timer);
    } else {
        struct timeval tv = {0, 0};
        event_add(r->timer, &tv);
    }
}

/* As in upstream.c: a request still in flight at exit (its last step, the
 * on_done after [DONE], is one loop turn away) is finished and freed. */
static void mock_free(cs_upstream *base_u)
{
    mock_upstream *u = (mock_upstream *)base_u;
    while (u->live) {
        mock_req *r = u->live;
        if (!r->cancelled) {
            r->in_cb = 1; /* a cancel from on_done only marks it */
            r->cbs.on_done(r->ctx, CHATSEAL_E_SHUTTING_DOWN,
                           "the gateway stopped");
        }
        req_free(r);
    }
    free(u);
}

static const cs_upstream_ops mock_ops = {mock_request, mock_cancel, mock_pause,
                                         mock_free};

cs_upstream *cs_mock_upstream_new(cs_gw *gw, char *err, size_t errlen)
{
    mock_upstream *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->base.ops = &mock_ops;
    u->base.describe = "mock";
    u->gw = gw;
    return &u->base;
}
